"""Several sensors onto one common session-clock grid (``Resampler``).

Grid points are the absolute instants ``t_k = k / fs_hz`` (integer ``k``), so the grid never
depends on where a stream or a chunk starts. A grid point is emitted once every sensor has data
up to it (watermark = min over sensors of their last sample time) and is the linear
interpolation between the two samples of each sensor that bracket it (a sample exactly on the
grid point is taken as is). A grid point whose bracketing samples lie across a gap of more than
``max_gap_samples`` lost samples (or a time step longer than ``max_gap_samples + 1.5`` periods)
in ANY sensor is not emitted for any sensor: the output is *split* there, and the jump of
``first_seq`` (= ``k``) between consecutive output blocks shows the gap, as everywhere else in
the pipeline. Grid points before the first sample of a sensor are skipped the same way. No NaN
is ever emitted. Each grid point depends only on its two bracketing samples, so any chunking of
the inputs gives bit-identical output.

A sensor that stops delivering holds the watermark back; the caller must restart the resampler
(or drop the sensor) after a lost connection.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from imugait.errors import ConfigError
from imugait.signal.gaps import MAX_BRIDGE_SAMPLES
from imugait.types import F64, I64, Location, SampleBlock


@dataclass(slots=True)
class _Buf:
    location: Location
    fs_hz: float
    frame: Literal["sensor", "segment"]
    t: F64
    v: F64  # (n, 6): acc, gyr
    seq: I64
    first_t: float


class Resampler:
    """Incremental multi-sensor alignment onto the grid ``k / fs_hz`` (linear interpolation).

    Parameters
    ----------
    sensors
        Ids of all sensors to align; nothing is emitted before each has delivered data.
    fs_hz
        Output rate; default the highest nominal rate among the sensors.
    max_gap_samples
        Largest number of lost samples bridged by interpolation (default 3).
    """

    def __init__(
        self,
        *,
        sensors: Sequence[str],
        fs_hz: float | None = None,
        max_gap_samples: int = MAX_BRIDGE_SAMPLES,
    ) -> None:
        if not sensors or len(set(sensors)) != len(sensors):
            raise ConfigError(f"sensors must be non-empty and unique, got {list(sensors)}")
        if fs_hz is not None and not fs_hz > 0:
            raise ConfigError(f"fs_hz must be positive, got {fs_hz}")
        if max_gap_samples < 0:
            raise ConfigError(f"max_gap_samples must be >= 0, got {max_gap_samples}")
        self.sensors = list(sensors)
        self.fs_hz = fs_hz
        self.max_gap_samples = max_gap_samples
        self._buf: dict[str, _Buf] = {}
        self._next_k: int | None = None

    def push(self, block: SampleBlock) -> list[SampleBlock]:
        """Add one block; returns the aligned blocks (one per sensor per run) now final."""
        if block.sensor not in self.sensors:
            raise ValueError(f"unknown sensor {block.sensor!r}; expected one of {self.sensors}")
        if block.n == 0:
            return []
        v = np.concatenate([block.acc_m_s2, block.gyr_rad_s], axis=1)
        seq = block.first_seq + np.arange(block.n, dtype=np.int64)
        b = self._buf.get(block.sensor)
        if b is None:
            self._buf[block.sensor] = _Buf(
                block.location, block.fs_hz, block.frame, block.t_s, v, seq, float(block.t_s[0])
            )
        else:
            if len(b.t) and not block.t_s[0] > b.t[-1]:
                raise ValueError(f"sensor {block.sensor!r}: block does not follow the previous")
            b.t = np.concatenate([b.t, block.t_s])
            b.v = np.concatenate([b.v, v])
            b.seq = np.concatenate([b.seq, seq])
        return self._emit()

    def flush(self) -> list[SampleBlock]:
        """Everything covered is emitted by ``push``; nothing is left."""
        return []

    #: Emissions of at most this many grid points (live: a notification's worth) take the
    #: per-point path on Python scalars, larger ones the vectorised one; both do the same float
    #: operations, so the output is bit-identical.
    _SMALL = 16

    def _emit(self) -> list[SampleBlock]:
        if len(self._buf) < len(self.sensors):
            return []
        bufs = [self._buf[s] for s in self.sensors]
        fs = self.fs_hz if self.fs_hz is not None else max(b.fs_hz for b in bufs)
        if self._next_k is None:
            self._next_k = math.ceil(max(b.first_t for b in bufs) * fs)
        k_end = math.floor(min(float(b.t[-1]) for b in bufs) * fs)
        k0 = self._next_k
        if k_end < k0:
            return []
        if k_end - k0 < self._SMALL:
            tg_list = [k / fs for k in range(k0, k_end + 1)]
            ok, vals = self._interp_points(bufs, tg_list)
            tg = np.array(tg_list)
        else:
            k = np.arange(k0, k_end + 1, dtype=np.int64)
            tg = k / fs
            ok, vals = self._interp_vectorised(bufs, tg)
        self._next_k = k_end + 1
        t_keep = self._next_k / fs
        for b in bufs:  # keep the last sample at or before the next grid point, and later ones
            j = max(int(np.searchsorted(b.t, t_keep, side="right")) - 1, 0)
            if j:
                b.t, b.v, b.seq = b.t[j:], b.v[j:], b.seq[j:]
        out: list[SampleBlock] = []
        edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(np.int8), [0]])))
        for lo, hi in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
            for s, b, v in zip(self.sensors, bufs, vals, strict=True):
                out.append(
                    SampleBlock(
                        sensor=s, location=b.location, t_s=tg[lo:hi], acc_m_s2=v[lo:hi, :3],
                        gyr_rad_s=v[lo:hi, 3:], fs_hz=fs, first_seq=k0 + lo, frame=b.frame,
                    )
                )  # fmt: skip
        return out

    def _interp_vectorised(self, bufs: list[_Buf], tg: F64) -> tuple[NDArray[np.bool_], list[F64]]:
        """Per grid point: emitted for every sensor (``ok``), and each sensor's values."""
        ok = np.ones(len(tg), dtype=bool)
        vals = []
        for b in bufs:
            n_b = len(b.t)
            i = np.searchsorted(b.t, tg, side="right") - 1
            i0 = np.maximum(i, 0)  # i <= n_b - 1 always
            i1 = np.minimum(i0 + 1, n_b - 1)
            t0, t1 = np.take(b.t, i0), np.take(b.t, i1)
            exact = (i >= 0) & (t0 == tg)
            inner = (i >= 0) & (i + 1 < n_b)
            span_ok = (b.seq[i1] - b.seq[i0] - 1 <= self.max_gap_samples) & (
                t1 - t0 <= (self.max_gap_samples + 1.5) / b.fs_hz
            )
            ok &= exact | (inner & span_ok)
            dt = np.where(i1 > i0, t1 - t0, 1.0)
            w = ((tg - t0) / dt)[:, None]
            v0 = np.take(b.v, i0, axis=0)
            interp = v0 + w * (np.take(b.v, i1, axis=0) - v0)
            if exact.any():
                interp[exact] = v0[exact]
            vals.append(interp)
        return ok, vals

    def _interp_points(
        self, bufs: list[_Buf], tg: list[float]
    ) -> tuple[NDArray[np.bool_], list[F64]]:
        """:meth:`_interp_vectorised` for a few grid points, one at a time on Python scalars."""
        ok = [True] * len(tg)
        vals = []
        mg = self.max_gap_samples
        for b in bufs:
            # Only the samples that bracket the points: [lo, hi) of the buffer (global indices
            # i below; the lists hold samples lo..hi-1).
            n_b, lim = len(b.t), (mg + 1.5) / b.fs_hz
            lo = max(int(b.t.searchsorted(tg[0], "right")) - 1, 0)
            hi = min(int(b.t.searchsorted(tg[-1], "right")) + 1, n_b)
            tl: list[float] = b.t[lo:hi].tolist()
            seq: list[int] = b.seq[lo:hi].tolist()
            v: list[list[float]] = b.v[lo:hi].tolist()
            rows: list[list[float]] = []
            i = lo + bisect.bisect_right(tl, tg[0]) - 1
            for j, t in enumerate(tg):
                while i + 1 < hi and tl[i + 1 - lo] <= t:
                    i += 1
                i0 = max(i, 0)
                i1 = min(i0 + 1, n_b - 1)
                t0, t1 = tl[i0 - lo], tl[i1 - lo]
                exact = i >= 0 and t0 == t
                inner = i >= 0 and i + 1 < n_b
                span_ok = seq[i1 - lo] - seq[i0 - lo] - 1 <= mg and t1 - t0 <= lim
                ok[j] = ok[j] and (exact or (inner and span_ok))
                v0 = v[i0 - lo]
                if exact:
                    rows.append(v0)
                else:
                    w = (t - t0) / (t1 - t0 if i1 > i0 else 1.0)
                    rows.append([a + w * (c - a) for a, c in zip(v0, v[i1 - lo], strict=True)])
            vals.append(np.array(rows))
        return np.array(ok), vals
