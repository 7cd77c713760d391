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

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

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

    def _emit(self) -> list[SampleBlock]:
        if len(self._buf) < len(self.sensors):
            return []
        bufs = [self._buf[s] for s in self.sensors]
        fs = self.fs_hz if self.fs_hz is not None else max(b.fs_hz for b in bufs)
        if self._next_k is None:
            self._next_k = math.ceil(max(b.first_t for b in bufs) * fs)
        k_end = math.floor(min(float(b.t[-1]) for b in bufs) * fs)
        if k_end < self._next_k:
            return []
        k = np.arange(self._next_k, k_end + 1, dtype=np.int64)
        tg = k / fs
        ok = np.ones(len(k), dtype=bool)
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
        self._next_k = k_end + 1
        t_keep = self._next_k / fs
        for b in bufs:  # keep the last sample at or before the next grid point, and later ones
            j = max(int(np.searchsorted(b.t, t_keep, side="right")) - 1, 0)
            b.t, b.v, b.seq = b.t[j:], b.v[j:], b.seq[j:]
        out: list[SampleBlock] = []
        edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(np.int8), [0]])))
        for lo, hi in zip(edges[::2], edges[1::2], strict=True):
            for s, b, v in zip(self.sensors, bufs, vals, strict=True):
                out.append(
                    SampleBlock(
                        sensor=s, location=b.location, t_s=tg[lo:hi], acc_m_s2=v[lo:hi, :3],
                        gyr_rad_s=v[lo:hi, 3:], fs_hz=fs, first_seq=int(k[lo]), frame=b.frame,
                    )
                )  # fmt: skip
        return out
