"""The input handling shared by the stride and stance-end detectors: gap-free runs of a block
and the sagittal-axis decision.

Both detectors find a shank's (or foot's) signed sagittal axis from the data with one rule: the
samples arrive in hop-sized runs, the last ``buffer_s`` of runs are kept, and the axis is decided
(:func:`imugait.gait.events.sagittal_axis`) at the first run after which they contain
``moving_s`` of movement (:func:`imugait.gait.events.moving_mask`); the detector then processes
the buffered runs from their start. :class:`AxisBuffer` is that buffer and decision, and
:class:`GyroRunInput` the input side both detectors inherit (one sensor's blocks split into
gap-free runs, hop-sized runs until the axis is decided).
"""

from __future__ import annotations

import collections
import math
from abc import ABC, abstractmethod
from typing import Generic, TypeVar

import numpy as np
from numpy.typing import NDArray

from imugait.errors import InputDataError
from imugait.gait import events as ev
from imugait.types import Location, SampleBlock, Segment

F64 = NDArray[np.float64]
R = TypeVar("R")

__all__ = ["AxisBuffer", "BufferedRun", "GyroRunInput", "gap_free_runs"]


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


class GyroRunInput(ABC, Generic[R]):
    """Input side of a streaming detector on one shank or foot sensor (results of type ``R``).

    :meth:`push` checks each block against the first one (same sensor, location and rate),
    splits it into gap-free runs (:func:`gap_free_runs`) and hands them to ``_feed`` (after
    ``_gap`` where a gap precedes). Until the sagittal axis is known, ``_buffer_hops`` cuts the
    runs on the hop grid and ``_run`` puts each hop into the :class:`AxisBuffer`, so the axis is
    decided at the same sample whatever the chunking. Subclasses set ``hop_s`` and
    ``gap_factor``, call :meth:`_init_input`, and implement ``_configure`` (checks and filters on
    the first block), ``_feed``, ``_gap``, ``_analyse`` and ``_decide_axis``.
    """

    hop_s: float
    gap_factor: float

    def _init_input(self, *, axis: F64 | None, moving_s: float, buffer_s: float) -> None:
        self._axis: F64 | None = None
        if axis is not None:
            a = np.asarray(axis, dtype=np.float64).reshape(3)
            if not float(np.linalg.norm(a)) > 0:
                raise ValueError("axis must be non-zero")
            self._axis = a / float(np.linalg.norm(a))
        self._sensor: str | None = None
        self._location: Location | None = None
        self._fs = 0.0
        self._hop = 1
        self._next_seq: int | None = None
        self._last_t = -math.inf
        self._parts: list[tuple[F64, F64, F64]] = []
        self._parts_n = 0
        self._cal = AxisBuffer(moving_s=moving_s, buffer_s=buffer_s)
        self._gap_pending = False

    @property
    def axis(self) -> F64 | None:
        """Signed sagittal axis in sensor coordinates, once decided."""
        return None if self._axis is None else self._axis.copy()

    def push(self, block: SampleBlock) -> list[R]:
        """Add samples; return the results that are now final."""
        self._bind(block)
        out: list[R] = []
        if block.n == 0:
            return out
        t = block.t_s
        for a, b, gap in gap_free_runs(
            block,
            last_t_s=self._last_t,
            next_seq=self._next_seq,
            dt_max_s=self.gap_factor / self._fs,
        ):
            if gap:
                out += self._gap()
            out += self._feed(t[a:b], block.gyr_rad_s[a:b], block.acc_m_s2[a:b])
        self._next_seq = block.first_seq + block.n
        self._last_t = float(t[-1])
        return out

    def _bind(self, block: SampleBlock) -> None:
        name = type(self).__name__
        if self._sensor is None:
            self._configure(block)
            self._sensor, self._location, self._fs = block.sensor, block.location, block.fs_hz
            self._hop = max(1, round(self.hop_s * self._fs))
        elif block.sensor != self._sensor or block.location != self._location:
            raise ValueError(f"a {name} serves one sensor; create one per sensor")
        elif block.fs_hz != self._fs:
            raise ValueError("fs_hz changed between blocks")

    def _take(self) -> tuple[F64, F64, F64]:
        """All unprocessed samples, as one run."""
        parts, self._parts, self._parts_n = self._parts, [], 0
        if len(parts) == 1:
            return parts[0]
        return (
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]),
        )

    def _buffer_hops(self, t: F64, g: F64, a: F64, out: list[R]) -> int:
        """While the axis is unknown, buffer the run on the hop grid and process each full
        hop; return the index of the first sample left (the axis was decided before it)."""
        c, n = 0, len(t)
        while self._axis is None and c < n:
            d = min(n, c + self._hop - self._parts_n)
            self._parts.append((t[c:d], g[c:d], a[c:d]))
            self._parts_n += d - c
            c = d
            if self._parts_n == self._hop:
                out += self._run(self._take())
        return c

    def _run(self, run: tuple[F64, F64, F64]) -> list[R]:
        t, g, a = run
        if self._axis is not None:
            return self._analyse(t, g)
        self._cal.add(t, g, a, gap_before=self._gap_pending, fs_hz=self._fs)
        self._gap_pending = False
        return self._decide_axis(force=False)

    # ---- subclass hooks
    @abstractmethod
    def _configure(self, block: SampleBlock) -> None:
        """Check the first block's location and set up what depends on its rate."""

    @abstractmethod
    def _feed(self, t: F64, g: F64, a: F64) -> list[R]:
        """Process one gap-free run (``_buffer_hops`` first while the axis is unknown)."""

    @abstractmethod
    def _gap(self) -> list[R]:
        """A gap before the next run: finish what is buffered and end the segment."""

    @abstractmethod
    def _analyse(self, t: F64, gyr: F64) -> list[R]:
        """Process one gap-free run once the axis is known."""

    @abstractmethod
    def _decide_axis(self, *, force: bool) -> list[R]:
        """Try to decide the axis from the buffer; process the buffered runs if decided."""
