"""Gaps in a sensor's sample stream (``Gap``, ``GapDetector``, ``find_gaps``).

A gap is visible in :class:`~imugait.types.SampleBlock` data as a jump of ``first_seq`` between
consecutive blocks (the clock stage counts lost samples, ble.md §3.3) or, for data without a
sample counter, as a time step longer than 1.5 nominal periods. The gap interval is
``[start_s, end_s)`` on the session clock with ``start_s`` the time of the last sample before
the gap and ``end_s`` the time of the first sample after it: no data exists strictly between
them, so a stride ``[a, b)`` with ``a < end_s and b > start_s`` touches missing data.

Gaps of at most ``max_bridge_samples`` lost samples (default 3) may be bridged by linear
interpolation (the resampler does so); longer gaps must never be interpolated.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from imugait.errors import ConfigError
from imugait.types import F64, I64, SampleBlock

#: Default largest number of lost samples that may be bridged by interpolation.
MAX_BRIDGE_SAMPLES = 3


@dataclass(frozen=True, slots=True)
class Gap:
    """Missing data of one sensor between ``start_s`` and ``end_s`` (session clock)."""

    sensor: str
    start_s: float
    end_s: float
    lost_samples: int
    bridgeable: bool

    def overlaps(self, start_s: float, end_s: float) -> bool:
        """True when the interval ``[start_s, end_s)`` touches the missing data."""
        return start_s < self.end_s and end_s > self.start_s


def time_gaps(t_s: F64, fs_hz: float) -> tuple[I64, I64]:
    """Gaps in one time series: indices ``i`` with a step ``t[i] - t[i-1] > 1.5 / fs_hz``.

    Returns ``(cuts, lost)``: sample indices where a new contiguous run starts and the number
    of samples missing before each, ``round(dt fs) - 1``.
    """
    dt = np.diff(t_s)
    cuts = np.flatnonzero(dt > 1.5 / fs_hz) + 1
    lost = np.maximum(np.rint(dt[cuts - 1] * fs_hz).astype(np.int64) - 1, 1)
    return cuts.astype(np.int64), lost


class GapDetector:
    """Streaming gap finder over the blocks of any number of sensors.

    Parameters
    ----------
    max_bridge_samples
        Gaps with at most this many lost samples are marked ``bridgeable``.
    """

    def __init__(self, *, max_bridge_samples: int = MAX_BRIDGE_SAMPLES) -> None:
        if max_bridge_samples < 0:
            raise ConfigError(f"max_bridge_samples must be >= 0, got {max_bridge_samples}")
        self.max_bridge_samples = max_bridge_samples
        self._last: dict[str, tuple[int, float]] = {}  # sensor -> (next first_seq, last t_s)

    def push(self, block: SampleBlock) -> list[Gap]:
        """Gaps before and inside ``block`` (inside: time steps > 1.5 periods)."""
        if block.n == 0:
            return []
        gaps: list[Gap] = []
        prev = self._last.get(block.sensor)
        if prev is not None:
            by_seq = block.first_seq - prev[0]
            by_time = int(np.rint((block.t_s[0] - prev[1]) * block.fs_hz)) - 1
            lost = max(by_seq, by_time)
            if lost > 0:
                gaps.append(self._gap(block.sensor, prev[1], float(block.t_s[0]), lost))
        cuts, lost_in = time_gaps(block.t_s, block.fs_hz)
        gaps += [
            self._gap(block.sensor, float(block.t_s[c - 1]), float(block.t_s[c]), int(n))
            for c, n in zip(cuts, lost_in, strict=True)
        ]
        self._last[block.sensor] = (block.first_seq + block.n, float(block.t_s[-1]))
        return gaps

    def flush(self) -> list[Gap]:
        """Nothing is held back."""
        return []

    def _gap(self, sensor: str, start_s: float, end_s: float, lost: int) -> Gap:
        return Gap(sensor, start_s, end_s, lost, lost <= self.max_bridge_samples)


def find_gaps(
    blocks: Iterable[SampleBlock], *, max_bridge_samples: int = MAX_BRIDGE_SAMPLES
) -> list[Gap]:
    """All gaps in ``blocks`` (time order per sensor), see :class:`GapDetector`."""
    det = GapDetector(max_bridge_samples=max_bridge_samples)
    return [g for b in blocks for g in det.push(b)]
