"""Stride record types of :mod:`imugait.gait.strides` (single leg)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from imugait.types import Location, Side


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
