"""Stride record types of :mod:`imugait.gait.strides` (single leg) and the detector's segment state."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from imugait.types import Location, Side

F64 = NDArray[np.float64]


class StrideFlag(StrEnum):
    """Quality flags of a single-leg stride (public strings)."""

    BOUT_START = "bout_start"  # first stride of a walking bout of this leg
    AFTER_GAP = "after_gap"  # first stride after a gap in the data


@dataclass(frozen=True, slots=True)
class Stride:
    """One stride of one leg: ``[ic_t_s, end_t_s)`` on the session clock, with toe-off ``fc_t_s``.

    ``ms_t_s`` is the mid-swing inside the stride and ``ms_peak_rad_s`` its sagittal rate;
    ``min_vel_t_s`` is mid-stance (foot sensors only, else ``None``).
    """

    side: Side
    ic_t_s: float
    fc_t_s: float
    end_t_s: float
    bout_id: int
    location: Location
    ms_t_s: float
    ms_peak_rad_s: float
    min_vel_t_s: float | None = None
    flags: frozenset[StrideFlag] = frozenset()

    @property
    def stride_s(self) -> float:
        return self.end_t_s - self.ic_t_s

    @property
    def stance_s(self) -> float:
        return self.fc_t_s - self.ic_t_s


@dataclass
class _Segment:
    """State of one gap-free run of samples (indices count samples from the segment start)."""

    after_gap: bool
    n_raw: int = 0
    base: int = 0  # absolute index of the first buffered sample
    t: F64 = field(default_factory=lambda: np.empty(0))
    gnorm: F64 = field(default_factory=lambda: np.empty(0))
    w_ms: F64 = field(default_factory=lambda: np.empty(0))
    w_ev: F64 = field(default_factory=lambda: np.empty(0))
    zi_ms: F64 | None = None
    zi_ev: F64 | None = None
    last_omega: float = 0.0
    ms_next: int = 0
    pending: list[int] = field(default_factory=list)
    last_ms: int | None = None  # absolute index of the last accepted mid-swing
    last_ms_amp: float = 0.0
    prev_ic: float | None = None  # fractional absolute index of the IC that opens the next stride
    emitted: int = 0
