"""Small central data types passed between the pipeline stages.

Conventions: SI units inside, names carry units (``t_s``, ``acc_m_s2``, ``gyr_rad_s``);
arrays are float64, samples along axis 0; time intervals are half-open ``[start, end)``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]


class Side(StrEnum):
    """Body side. Values are the public strings used in files."""

    LEFT = "left"
    RIGHT = "right"

    @property
    def other(self) -> Side:
        return Side.RIGHT if self is Side.LEFT else Side.LEFT


class Segment(StrEnum):
    """Body segment a sensor is strapped to."""

    THIGH = "thigh"
    SHANK = "shank"
    FOOT = "foot"


class Location(StrEnum):
    """Sensor location. Values are the public strings of the samples table."""

    LEFT_THIGH = "left_thigh"
    RIGHT_THIGH = "right_thigh"
    LEFT_SHANK = "left_shank"
    RIGHT_SHANK = "right_shank"
    LEFT_FOOT = "left_foot"
    RIGHT_FOOT = "right_foot"

    @property
    def side(self) -> Side:
        return Side(self.value.split("_", 1)[0])

    @property
    def segment(self) -> Segment:
        return Segment(self.value.split("_", 1)[1])

    @classmethod
    def of(cls, side: Side, segment: Segment) -> Location:
        return cls(f"{side.value}_{segment.value}")


def _as_f64(name: str, a: object, shape_tail: tuple[int, ...]) -> F64:
    arr = np.asarray(a, dtype=np.float64)
    if arr.shape[1:] != shape_tail or arr.ndim != 1 + len(shape_tail):
        raise ValueError(
            f"{name} must have shape (n, {', '.join(map(str, shape_tail))}), got {arr.shape}"
        )
    return arr


@dataclass(frozen=True, slots=True)
class SensorFrame:
    """One decoded notification, still on the sensor's own clock.

    ``sensor_t_s`` are the sensor timestamps of the samples (s, sensor clock; may wrap for
    protocols with short counters: see ``sensor_t_wrap_s``). ``seq`` is the frame sequence
    counter when the protocol has one (``None`` otherwise) and ``seq_modulo`` its wrap.
    """

    seq: int | None
    sensor_t_s: F64
    acc_m_s2: F64
    gyr_rad_s: F64
    seq_modulo: int = 1 << 16
    sensor_t_wrap_s: float | None = None

    def __post_init__(self) -> None:
        t = _as_f64("sensor_t_s", self.sensor_t_s, ())
        object.__setattr__(self, "sensor_t_s", t)
        object.__setattr__(self, "acc_m_s2", _as_f64("acc_m_s2", self.acc_m_s2, (3,)))
        object.__setattr__(self, "gyr_rad_s", _as_f64("gyr_rad_s", self.gyr_rad_s, (3,)))
        if not (len(self.acc_m_s2) == len(self.gyr_rad_s) == len(t)):
            raise ValueError("sensor_t_s, acc_m_s2 and gyr_rad_s must have the same length")

    @property
    def n(self) -> int:
        return len(self.sensor_t_s)


@dataclass(frozen=True, slots=True)
class SampleBlock:
    """A run of samples from one sensor on the session clock.

    ``t_s`` is strictly increasing (session clock, s). ``acc_m_s2`` is specific force and
    ``gyr_rad_s`` angular rate, both ``(n, 3)`` in ``frame`` coordinates. ``fs_hz`` is the
    sensor's nominal rate. ``first_seq`` is the index of the first sample in the sensor's
    sample stream (counts lost samples too), so gaps between blocks are visible.
    """

    sensor: str
    location: Location
    t_s: F64
    acc_m_s2: F64
    gyr_rad_s: F64
    fs_hz: float
    first_seq: int = 0
    frame: Literal["sensor", "segment"] = "sensor"

    def __post_init__(self) -> None:
        t = _as_f64("t_s", self.t_s, ())
        object.__setattr__(self, "t_s", t)
        object.__setattr__(self, "acc_m_s2", _as_f64("acc_m_s2", self.acc_m_s2, (3,)))
        object.__setattr__(self, "gyr_rad_s", _as_f64("gyr_rad_s", self.gyr_rad_s, (3,)))
        if not (len(self.acc_m_s2) == len(self.gyr_rad_s) == len(t)):
            raise ValueError("t_s, acc_m_s2 and gyr_rad_s must have the same length")
        if len(t) > 1 and not bool(np.all(np.diff(t) > 0)):
            raise ValueError(f"t_s of sensor {self.sensor!r} is not strictly increasing")
        if not self.fs_hz > 0:
            raise ValueError("fs_hz must be positive")

    @property
    def n(self) -> int:
        return len(self.t_s)

    def slice(self, start: int, stop: int) -> SampleBlock:
        """Samples ``[start, stop)`` as a new block."""
        return SampleBlock(
            sensor=self.sensor,
            location=self.location,
            t_s=self.t_s[start:stop],
            acc_m_s2=self.acc_m_s2[start:stop],
            gyr_rad_s=self.gyr_rad_s[start:stop],
            fs_hz=self.fs_hz,
            first_seq=self.first_seq + start,
            frame=self.frame,
        )

    def split(self, cuts: list[int]) -> list[SampleBlock]:
        """Split at sample indices ``cuts`` (sorted, within ``(0, n)``)."""
        edges = [0, *[c for c in cuts if 0 < c < self.n], self.n]
        return [self.slice(a, b) for a, b in itertools.pairwise(edges) if b > a]

    @staticmethod
    def concat(blocks: list[SampleBlock]) -> SampleBlock:
        """Concatenate blocks of one sensor, in time order."""
        if not blocks:
            raise ValueError("concat needs at least one block")
        b0 = blocks[0]
        return SampleBlock(
            sensor=b0.sensor,
            location=b0.location,
            t_s=np.concatenate([b.t_s for b in blocks]),
            acc_m_s2=np.concatenate([b.acc_m_s2 for b in blocks]),
            gyr_rad_s=np.concatenate([b.gyr_rad_s for b in blocks]),
            fs_hz=b0.fs_hz,
            first_seq=b0.first_seq,
            frame=b0.frame,
        )


I64 = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class FrameBatch:
    """Decoded notifications of one sensor, in arrival order, still on the sensor's clock.

    The unit the ingest stage hands to the clock stage: one frame live, many frames offline.
    ``host_t_s`` (m,) is each frame's host receive time on the session clock; ``seq`` (m,) its
    sequence counter as received (``-1`` when the protocol has none); ``frame_start`` (m,) the
    index of each frame's first sample in the sample arrays. ``sensor_t_s`` (N,) are the raw
    sensor timestamps of the samples (they wrap at ``sensor_t_wrap_s`` when not ``None``).
    """

    host_t_s: F64
    seq: I64
    frame_start: I64
    sensor_t_s: F64
    acc_m_s2: F64
    gyr_rad_s: F64
    seq_modulo: int = 1 << 16
    sensor_t_wrap_s: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "host_t_s", _as_f64("host_t_s", self.host_t_s, ()))
        object.__setattr__(self, "seq", np.asarray(self.seq, dtype=np.int64))
        object.__setattr__(self, "frame_start", np.asarray(self.frame_start, dtype=np.int64))
        object.__setattr__(self, "sensor_t_s", _as_f64("sensor_t_s", self.sensor_t_s, ()))
        object.__setattr__(self, "acc_m_s2", _as_f64("acc_m_s2", self.acc_m_s2, (3,)))
        object.__setattr__(self, "gyr_rad_s", _as_f64("gyr_rad_s", self.gyr_rad_s, (3,)))
        m, n = len(self.host_t_s), len(self.sensor_t_s)
        if len(self.seq) != m or len(self.frame_start) != m:
            raise ValueError("host_t_s, seq and frame_start must have the same length")
        if len(self.acc_m_s2) != n or len(self.gyr_rad_s) != n:
            raise ValueError("sensor_t_s, acc_m_s2 and gyr_rad_s must have the same length")
        if m and (self.frame_start[0] != 0 or np.any(np.diff(self.frame_start) < 0)):
            raise ValueError("frame_start must start at 0 and be non-decreasing")
        if m and self.frame_start[-1] > n:
            raise ValueError("frame_start beyond the samples")

    @property
    def n_frames(self) -> int:
        return len(self.host_t_s)

    @property
    def n_samples(self) -> int:
        return len(self.sensor_t_s)

    @property
    def frame_len(self) -> I64:
        """Samples per frame, (m,)."""
        return np.diff(np.append(self.frame_start, self.n_samples))

    def take(self, lo: int, hi: int) -> FrameBatch:
        """Frames ``[lo, hi)`` as a new batch."""
        lo, hi = max(0, lo), min(self.n_frames, hi)
        hi = max(lo, hi)
        s0 = int(self.frame_start[lo]) if lo < self.n_frames else self.n_samples
        s1 = int(self.frame_start[hi]) if hi < self.n_frames else self.n_samples
        return FrameBatch(
            host_t_s=self.host_t_s[lo:hi],
            seq=self.seq[lo:hi],
            frame_start=self.frame_start[lo:hi] - s0,
            sensor_t_s=self.sensor_t_s[s0:s1],
            acc_m_s2=self.acc_m_s2[s0:s1],
            gyr_rad_s=self.gyr_rad_s[s0:s1],
            seq_modulo=self.seq_modulo,
            sensor_t_wrap_s=self.sensor_t_wrap_s,
        )

    @staticmethod
    def from_frames(host_t_s: list[float], frames: list[SensorFrame]) -> FrameBatch:
        """Build a batch from single decoded frames (all of one sensor and protocol)."""
        if len(host_t_s) != len(frames):
            raise ValueError("one host time per frame")
        lens = [f.n for f in frames]
        starts: I64 = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
        f0 = frames[0] if frames else None
        return FrameBatch(
            host_t_s=np.asarray(host_t_s, dtype=np.float64),
            seq=np.array([-1 if f.seq is None else f.seq for f in frames], dtype=np.int64),
            frame_start=starts[: len(frames)],
            sensor_t_s=np.concatenate([f.sensor_t_s for f in frames]) if frames else np.empty(0),
            acc_m_s2=np.concatenate([f.acc_m_s2 for f in frames]) if frames else np.empty((0, 3)),
            gyr_rad_s=np.concatenate([f.gyr_rad_s for f in frames]) if frames else np.empty((0, 3)),
            seq_modulo=f0.seq_modulo if f0 else 1 << 16,
            sensor_t_wrap_s=f0.sensor_t_wrap_s if f0 else None,
        )
