"""The input handling shared by the stride and stance-end detectors: gap-free runs of a block
and the sagittal-axis decision.

Both detectors find a shank's (or foot's) signed sagittal axis from the data with one rule: the
samples arrive in hop-sized runs, the last ``buffer_s`` of runs are kept, and the axis is decided
(:func:`imugait.gait.events.sagittal_axis`) at the first run after which they contain
``moving_s`` of movement (:func:`imugait.gait.events.moving_mask`); the detector then processes
the buffered runs from their start. :class:`AxisBuffer` is that buffer and decision.
"""

from __future__ import annotations

import collections

import numpy as np
from numpy.typing import NDArray

from imugait.errors import InputDataError
from imugait.gait import events as ev
from imugait.types import SampleBlock, Segment

F64 = NDArray[np.float64]

__all__ = ["AxisBuffer", "BufferedRun", "gap_free_runs"]


def gap_free_runs(
    block: SampleBlock, *, last_t_s: float, next_seq: int | None, dt_max_s: float
) -> list[tuple[int, int, bool]]:
    """The gap-free runs ``[a, b)`` of ``block`` and whether a gap precedes each.

    A gap is a time step above ``dt_max_s`` inside the block, or, before its first sample, a
    sequence number other than ``next_seq`` (the one after the previous block's last sample;
    None for the first block) or a step above ``dt_max_s`` from ``last_t_s``. Samples must
    come after ``last_t_s``.
    """
    t = block.t_s
    if t[0] <= last_t_s:
        raise InputDataError(f"sensor {block.sensor!r}: t_s goes back at {t[0]:.6f} s")
    starts = [0, *(np.flatnonzero(np.diff(t) > dt_max_s) + 1).tolist()]
    first_gap = next_seq is not None and (block.first_seq != next_seq or t[0] - last_t_s > dt_max_s)
    ends = [*starts[1:], block.n]
    return [(a, b, i > 0 or first_gap) for i, (a, b) in enumerate(zip(starts, ends, strict=True))]


#: A buffered run: times, angular rates, and whether a gap preceded it.
BufferedRun = tuple[F64, F64, bool]


class AxisBuffer:
    """The last ``buffer_s`` of runs ``(t, gyr, acc)`` until the sagittal axis is decided."""

    def __init__(self, *, moving_s: float, buffer_s: float) -> None:
        self.moving_s, self.buffer_s = moving_s, buffer_s
        # (t, gyr, acc, gap before, moving samples)
        self._runs: collections.deque[tuple[F64, F64, F64, bool, int]] = collections.deque()
        self._n = 0
        self._moving = 0

    def __bool__(self) -> bool:
        return bool(self._runs)

    def add(self, t: F64, gyr: F64, acc: F64, *, gap_before: bool, fs_hz: float) -> None:
        """Buffer one run, dropping the oldest runs beyond ``buffer_s``."""
        moving = int(ev.moving_mask(gyr).sum())
        self._runs.append((t, gyr, acc, gap_before, moving))
        self._n += len(t)
        self._moving += moving
        n_keep = round(self.buffer_s * fs_hz)
        while self._n > n_keep:
            old = self._runs.popleft()
            self._n -= len(old[0])
            self._moving -= old[4]

    def clear(self) -> None:
        self._runs.clear()
        self._n = self._moving = 0

    def decide(
        self, *, fs_hz: float, segment: Segment, force: bool
    ) -> tuple[F64, list[BufferedRun]] | None:
        """The axis and the buffered runs (the buffer is emptied) once ``moving_s`` of the
        buffer moves (1 s when ``force``: the end of the stream); else None (and, when
        ``force``, the buffer is dropped)."""
        need = (1.0 if force else self.moving_s) * fs_hz
        if self._moving < need:
            if force:
                self.clear()
            return None
        g = np.concatenate([r[1] for r in self._runs])
        acc = np.concatenate([r[2] for r in self._runs])
        axis = ev.sagittal_axis(g, acc_m_s2=acc, fs_hz=fs_hz, segment=segment)
        runs = [(t, gyr, gap) for t, gyr, _, gap, _ in self._runs]
        self.clear()
        return axis, runs
