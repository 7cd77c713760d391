"""Polar Verity Sense in SDK mode over the Polar Measurement Data (PMD) service, ``"polar-pmd-1"``.

Host-side implementation (pure Python + numpy, no I/O) of what ``firmware_notes/polar_verity_sense.md``
describes, after the official open-source Polar BLE SDK (``polarofficial/polar-ble-sdk``):

* control point (:mod:`._polar_pmd`): UUIDs, enter/leave SDK mode, start ACC/GYRO with settings
  TLVs, stop, and parsing of responses including the FACTOR a start response may return;
* data frames (:mod:`._polar_data`): raw and delta-compressed ACC/GYRO frames, both directions;
* :class:`PolarConfig` (the recording-header dict), :func:`sample_times_ns` (per-sample times
  from the last-sample timestamp), :func:`encode_stream` (frames an emulated sensor sends);
* :class:`PolarDecoder`, which pairs the separate ACC and GYRO notifications into 6-axis
  :class:`~imugait.types.SensorFrame` objects, and :data:`POLAR_PROTOCOL`.

Pairing rule
------------
ACC and GYRO arrive as separate notifications with their own timestamps and are started by
separate commands, so their first samples are not simultaneous and "sample i of each stream"
is not the same instant. The decoder times every sample (:func:`sample_times_ns`), buffers each
stream, and pairs the two buffer heads when their times differ by at most half a sample period;
otherwise the earlier head can never get a partner (both streams are time-ordered) and is
dropped and counted (``unpaired_acc``/``unpaired_gyr``). A paired sample takes the ACC time.
There is no sequence counter: frames carry ``seq=None`` and loss shows as timestamp steps.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Final, TypeGuard

import numpy as np
from numpy.typing import ArrayLike, NDArray

from imugait.errors import ConfigError, DecodeError
from imugait.types import F64, SensorFrame
from imugait.units import G_M_S2, RAD_PER_DEG

from ._polar_data import FORMATS, PmdFrame, encode_frame, parse_frame
from ._polar_pmd import (
    ACC_RANGES_G,
    GYR_RANGES_DPS,
    PMD_CONTROL_UUID,
    PMD_DATA_UUID,
    PMD_SERVICE_UUID,
    SDK_RATES_HZ,
    MeasurementType,
    encode_sdk_mode,
    encode_start,
    encode_stop,
)
from .base import BytesLike, ProtocolSpec

PROTOCOL_NAME: Final = "polar-pmd-1"

__all__ = [
    "FORMATS",
    "PMD_CONTROL_UUID",
    "PMD_DATA_UUID",
    "PMD_SERVICE_UUID",
    "POLAR_PROTOCOL",
    "PROTOCOL_NAME",
    "PmdFrame",
    "PolarConfig",
    "PolarDecoder",
    "encode_frame",
    "encode_stream",
    "parse_frame",
    "quantise",
    "sample_times_ns",
    "start_commands",
    "stop_commands",
]

_KEYS: Final = frozenset(
    {"rate_hz", "acc_range_g", "gyr_range_dps", "acc_factor", "gyr_factor", "max_buffer_s"}
)
I16_MIN, I16_MAX = -32768, 32767
#: Timestamps are kept as int64 ns: 2**63 ns after 2000-01-01 is in the year 2292.
MAX_TIMESTAMP_NS: Final = (1 << 63) - 1


def _is_int(x: object) -> TypeGuard[int]:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_pos_finite(x: object) -> TypeGuard[float]:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return False
    return math.isfinite(x) and x > 0


@dataclass(frozen=True, slots=True)
class PolarConfig:
    """Stream configuration of one Verity Sense in SDK mode (stored in the recording header).

    Parameters
    ----------
    rate_hz
        Sample rate of both ACC and GYRO (pairing needs them equal): 26, 52, 104, 208 or 416.
    acc_range_g, gyr_range_dps
        Ranges requested in the start commands.
    acc_factor, gyr_factor
        FACTOR from each start response (1.0 when the sensor returns none): raw counts times
        factor give milli-g (ACC) and deg/s (GYRO).
    max_buffer_s
        Longest run of one stream kept waiting for the other (oldest samples beyond it are
        dropped and counted), so a stream that never starts cannot grow memory without bound.
    """

    rate_hz: int = 208
    acc_range_g: int = 8
    gyr_range_dps: int = 2000
    acc_factor: float = 1.0
    gyr_factor: float = 1.0
    max_buffer_s: float = 2.0

    def __post_init__(self) -> None:
        if not _is_int(self.rate_hz) or self.rate_hz not in SDK_RATES_HZ:
            raise ValueError(f"rate_hz must be one of {SDK_RATES_HZ}, got {self.rate_hz!r}")
        if not _is_int(self.acc_range_g) or self.acc_range_g not in ACC_RANGES_G:
            raise ValueError(f"acc_range_g must be one of {ACC_RANGES_G}, got {self.acc_range_g!r}")
        if not _is_int(self.gyr_range_dps) or self.gyr_range_dps not in GYR_RANGES_DPS:
            raise ValueError(
                f"gyr_range_dps must be one of {GYR_RANGES_DPS}, got {self.gyr_range_dps!r}"
            )
        for name in ("acc_factor", "gyr_factor", "max_buffer_s"):
            value = getattr(self, name)
            if not _is_pos_finite(value):
                raise ValueError(f"{name} must be a finite positive number, got {value!r}")
            object.__setattr__(self, name, float(value))

    @property
    def period_ns(self) -> float:
        return 1e9 / self.rate_hz

    @property
    def acc_m_s2_per_count(self) -> float:
        return self.acc_factor * 1e-3 * G_M_S2

    @property
    def gyr_rad_s_per_count(self) -> float:
        return self.gyr_factor * RAD_PER_DEG

    def to_dict(self) -> dict[str, object]:
        """JSON-able dict for the recording header."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> PolarConfig:
        """Inverse of :meth:`to_dict`; :class:`ConfigError` on unknown keys or bad values."""
        unknown = set(d) - _KEYS
        if unknown:
            raise ConfigError(f"unknown polar-pmd-1 config keys: {sorted(unknown)}")
        try:
            return cls(**d)  # type: ignore[arg-type]
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"bad polar-pmd-1 config: {exc}") from None


def start_commands(config: PolarConfig) -> list[bytes]:
    """Control-point writes, in order, to enter SDK mode and start ACC then GYRO.

    Enable notifications on BOTH the control point and the data characteristic first.
    """
    return [
        encode_sdk_mode(enable=True),
        encode_start(MeasurementType.ACC, rate_hz=config.rate_hz, range_value=config.acc_range_g),
        encode_start(
            MeasurementType.GYRO, rate_hz=config.rate_hz, range_value=config.gyr_range_dps
        ),
    ]


def stop_commands() -> list[bytes]:
    """Control-point writes to stop ACC and GYRO and leave SDK mode."""
    return [
        encode_stop(MeasurementType.ACC),
        encode_stop(MeasurementType.GYRO),
        encode_sdk_mode(enable=False),
    ]


def sample_times_ns(
    timestamp_ns: int, n: int, previous_ns: int | None, period_ns: float
) -> NDArray[np.int64]:
    """Sensor times (ns) of the ``n`` samples of a frame whose LAST sample is at ``timestamp_ns``.

    As ``PmdTimeStampUtils.getTimeStamps``: with the previous frame's timestamp the samples
    split the interval evenly, ``t_k = prev + round((k + 1) (ts - prev) / n)``; for the first
    frame they are spaced at the nominal period back from ``ts``. Unlike the SDK, a step outside
    0.5..1.5 nominal periods per sample (lost frames, a clock step) also falls back to the
    nominal spacing, so a gap stays a gap instead of stretching the samples over it.
    """
    k = np.arange(1, n + 1, dtype=np.float64)
    if previous_ns is not None:
        step = (timestamp_ns - previous_ns) / n
        if 0.5 * period_ns <= step <= 1.5 * period_ns:
            return previous_ns + np.rint(k * step).astype(np.int64)
    return timestamp_ns - np.rint((n - k) * period_ns).astype(np.int64)


def quantise(x: ArrayLike, per_count: float) -> NDArray[np.int64]:
    """SI values to the int16 counts a sensor would send (nearest, saturating)."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 3 or not np.all(np.isfinite(arr)):
        raise ValueError("values must be a finite (n, 3) array")
    return np.clip(np.rint(arr / per_count), I16_MIN, I16_MAX).astype(np.int64)


def encode_stream(
    acc_m_s2: ArrayLike,
    gyr_rad_s: ArrayLike,
    config: PolarConfig,
    *,
    t_first_ns: int,
    samples_per_frame: int = 36,
    compressed: bool = True,
    gyr_offset_ns: int = 0,
) -> list[tuple[MeasurementType, bytes]]:
    """Data notifications an emulated Verity Sense sends for these samples, in sending order.

    Sample ``i`` is at ``t_first_ns + round(i * 1e9 / rate_hz)`` (GYRO ``gyr_offset_ns`` later);
    each frame carries the time of its last sample. Returns ``(measurement, payload)`` pairs,
    an ACC frame then the GYRO frame of the same samples.
    """
    acc = quantise(acc_m_s2, config.acc_m_s2_per_count)
    gyr = quantise(gyr_rad_s, config.gyr_rad_s_per_count)
    if len(acc) != len(gyr):
        raise ValueError("acc_m_s2 and gyr_rad_s must have the same length")
    if samples_per_frame < 1:
        raise ValueError("samples_per_frame must be >= 1")
    out: list[tuple[MeasurementType, bytes]] = []
    for i0 in range(0, len(acc), samples_per_frame):
        i1 = min(i0 + samples_per_frame, len(acc))
        t_last = t_first_ns + round((i1 - 1) * 1e9 / config.rate_hz)
        for mtype, s, off in (
            (MeasurementType.ACC, acc, 0),
            (MeasurementType.GYRO, gyr, gyr_offset_ns),
        ):
            payload = encode_frame(mtype, t_last + off, s[i0:i1], compressed=compressed)
            out.append((mtype, payload))
    return out


class _Stream:
    """Buffered, timed samples of one measurement stream."""

    def __init__(self) -> None:
        self.prev_ns: int | None = None
        self.t_ns: NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self.values: F64 = np.empty((0, 3))

    def add(self, t_ns: NDArray[np.int64], values: F64) -> None:
        self.t_ns = np.concatenate([self.t_ns, t_ns])
        self.values = np.concatenate([self.values, values])

    def drop(self, k: int) -> None:
        self.t_ns, self.values = self.t_ns[k:], self.values[k:]


class PolarDecoder:
    """:class:`~imugait.ingest.protocols.base.FrameDecoder` for ``polar-pmd-1`` (stateful).

    Feed every PMD notification in arrival order; ACC and GYRO samples come out paired (module
    docstring). Control-point and other measurement types return ``[]``.
    """

    def __init__(self, *, config: PolarConfig) -> None:
        if not isinstance(config, PolarConfig):
            raise TypeError(f"config must be a PolarConfig, got {type(config).__name__}")
        self.config = config
        self._acc, self._gyr = _Stream(), _Stream()
        self.unpaired_acc = 0
        self.unpaired_gyr = 0

    @classmethod
    def from_dict(cls, config: Mapping[str, object]) -> PolarDecoder:
        return cls(config=PolarConfig.from_dict(config))

    def decode(self, characteristic_uuid: str, payload: BytesLike) -> list[SensorFrame]:
        """Decode one notification; a frame of newly paired samples or ``[]``."""
        if characteristic_uuid.lower() != PMD_DATA_UUID:
            return []
        buf = bytes(payload)
        if len(buf) >= 1 and buf[0] not in (MeasurementType.ACC, MeasurementType.GYRO):
            return []
        frame = parse_frame(buf)
        if frame.timestamp_ns > MAX_TIMESTAMP_NS:
            raise DecodeError(f"PMD timestamp {frame.timestamp_ns} ns is beyond year 2292")
        values = np.asarray(frame.values, dtype=np.float64)
        if frame.measurement_type == MeasurementType.ACC:
            stream, scale = self._acc, self.config.acc_m_s2_per_count
        else:
            stream, scale = self._gyr, self.config.gyr_rad_s_per_count
        scaled = values * scale
        if not np.all(np.isfinite(scaled)):
            raise DecodeError("PMD frame holds non-finite samples")
        t_ns = sample_times_ns(frame.timestamp_ns, frame.n, stream.prev_ns, self.config.period_ns)
        stream.prev_ns = frame.timestamp_ns
        stream.add(t_ns, scaled)
        return self._pair()

    def _pair(self) -> list[SensorFrame]:
        acc, gyr = self._acc, self._gyr
        tol = 0.5 * self.config.period_ns
        ia = ig = 0
        keep_a: list[int] = []
        keep_g: list[int] = []
        while ia < len(acc.t_ns) and ig < len(gyr.t_ns):
            d = int(acc.t_ns[ia]) - int(gyr.t_ns[ig])
            if abs(d) <= tol:
                keep_a.append(ia)
                keep_g.append(ig)
                ia, ig = ia + 1, ig + 1
            elif d < 0:
                ia += 1
                self.unpaired_acc += 1
            else:
                ig += 1
                self.unpaired_gyr += 1
        out: list[SensorFrame] = []
        if keep_a:
            a, g = np.asarray(keep_a), np.asarray(keep_g)
            out.append(
                SensorFrame(
                    seq=None,
                    sensor_t_s=acc.t_ns[a].astype(np.float64) * 1e-9,
                    acc_m_s2=acc.values[a],
                    gyr_rad_s=gyr.values[g],
                )
            )
        acc.drop(ia)
        gyr.drop(ig)
        limit = math.ceil(self.config.max_buffer_s * self.config.rate_hz)
        for s, name in ((acc, "unpaired_acc"), (gyr, "unpaired_gyr")):
            excess = len(s.t_ns) - limit
            if excess > 0:
                s.drop(excess)
                setattr(self, name, getattr(self, name) + excess)
        return out


POLAR_PROTOCOL = ProtocolSpec(
    name=PROTOCOL_NAME,
    service_uuid=PMD_SERVICE_UUID,
    data_uuid=PMD_DATA_UUID,
    decoder=PolarDecoder.from_dict,
)
