"""DATA frames of the reference protocol: quantise, encode, decode (single and vectorised).

Frame layout (little endian, ``8 + 12 n`` bytes; ``firmware_notes/reference_protocol.md`` §4)::

    u8 type (0x01) | u8 n | u16 seq | u32 t0_us | n x (acc_x, acc_y, acc_z, gyr_x, gyr_y, gyr_z: int16)

Pure functions, no I/O. Decoders raise only :class:`imugait.errors.DecodeError` on bad payloads.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from imugait.errors import DecodeError
from imugait.types import F64, I64, FrameBatch, SensorFrame

from ._reference_config import (
    FRAME_HEADER_BYTES,
    FRAME_TYPE_IMU6,
    MAX_SAMPLES_PER_FRAME,
    SAMPLE_BYTES,
    SENSOR_T_WRAP_S,
    SEQ_MODULO,
    T0_MODULO_US,
    ReferenceConfig,
)
from .base import BytesLike

I16 = NDArray[np.int16]

_HEADER: Final = struct.Struct("<BBHI")
_I16_MIN: Final = -32768
_I16_MAX: Final = 32767


def _as_n3(name: str, a: ArrayLike) -> F64:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f"{name} must have shape (n, 3), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite values")
    return arr


def _round_saturate(x: F64) -> I16:
    return np.clip(np.rint(x), _I16_MIN, _I16_MAX).astype(np.int16)


def quantise(acc_m_s2: ArrayLike, gyr_rad_s: ArrayLike, config: ReferenceConfig) -> tuple[I16, I16]:
    """SI samples to the raw int16 counts a reference sensor would send.

    Rounds to the nearest count (ties to even) and saturates at the int16 limits, as the
    IMU's own ADC output does at full scale.

    Parameters
    ----------
    acc_m_s2, gyr_rad_s
        ``(n, 3)`` specific force (m/s²) and angular rate (rad/s), finite.
    config
        Gives the ranges, hence the counts per unit.

    Returns
    -------
    tuple of ndarray
        ``(acc_raw, gyr_raw)``, each ``(n, 3)`` int16.
    """
    acc, gyr = _as_n3("acc_m_s2", acc_m_s2), _as_n3("gyr_rad_s", gyr_rad_s)
    if len(acc) != len(gyr):
        raise ValueError("acc_m_s2 and gyr_rad_s must have the same length")
    return (
        _round_saturate(acc / config.acc_m_s2_per_lsb),
        _round_saturate(gyr / config.gyr_rad_s_per_lsb),
    )


def _as_raw(name: str, a: ArrayLike) -> I16:
    arr = np.asarray(a)
    if arr.ndim != 2 or arr.shape[1] != 3 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must be an integer array of shape (n, 3)")
    if arr.size and (arr.min() < _I16_MIN or arr.max() > _I16_MAX):
        raise ValueError(f"{name} values outside int16")
    return arr.astype(np.int16)


def encode_frame(seq: int, t0_us: int, acc_raw: ArrayLike, gyr_raw: ArrayLike) -> bytes:
    """Encode one DATA frame.

    Parameters
    ----------
    seq
        Frame counter, 0..65535.
    t0_us
        Sensor time of the first sample, µs, 0..2**32-1.
    acc_raw, gyr_raw
        ``(n, 3)`` int16 counts, ``1 <= n <= 42``.
    """
    acc, gyr = _as_raw("acc_raw", acc_raw), _as_raw("gyr_raw", gyr_raw)
    n = len(acc)
    if len(gyr) != n or not 1 <= n <= MAX_SAMPLES_PER_FRAME:
        raise ValueError(f"need 1..{MAX_SAMPLES_PER_FRAME} samples of acc and gyr, got {n}")
    if not 0 <= seq < SEQ_MODULO:
        raise ValueError(f"seq must be in [0, {SEQ_MODULO}), got {seq}")
    if not 0 <= t0_us < T0_MODULO_US:
        raise ValueError(f"t0_us must be in [0, 2**32), got {t0_us}")
    body = np.hstack([acc, gyr]).astype("<i2").tobytes()
    return _HEADER.pack(FRAME_TYPE_IMU6, n, seq, t0_us) + body


def encode_raw_stream(
    acc_raw: ArrayLike,
    gyr_raw: ArrayLike,
    config: ReferenceConfig,
    *,
    first_seq: int = 0,
    t_first_us: int = 0,
) -> list[bytes]:
    """Split raw per-sample counts into DATA frames of ``config.samples_per_frame`` samples.

    Frame ``j`` gets ``seq = (first_seq + j) mod 2**16`` and
    ``t0_us = (t_first_us + round(j * samples_per_frame * 1e6 / odr_hz)) mod 2**32``; the last
    frame is shorter when the sample count is not a multiple (as at a STOP).
    """
    acc, gyr = _as_raw("acc_raw", acc_raw), _as_raw("gyr_raw", gyr_raw)
    if len(acc) != len(gyr):
        raise ValueError("acc_raw and gyr_raw must have the same length")
    spf = config.samples_per_frame
    frames = []
    for j, i0 in enumerate(range(0, len(acc), spf)):
        t0 = (t_first_us + round(i0 * 1e6 / config.odr_hz)) % T0_MODULO_US
        seq = (first_seq + j) % SEQ_MODULO
        frames.append(encode_frame(seq, t0, acc[i0 : i0 + spf], gyr[i0 : i0 + spf]))
    return frames


def encode_stream(
    acc_m_s2: ArrayLike,
    gyr_rad_s: ArrayLike,
    config: ReferenceConfig,
    *,
    first_seq: int = 0,
    t_first_us: int = 0,
) -> list[bytes]:
    """:func:`quantise` then :func:`encode_raw_stream`: SI samples to DATA frames."""
    acc_raw, gyr_raw = quantise(acc_m_s2, gyr_rad_s, config)
    return encode_raw_stream(acc_raw, gyr_raw, config, first_seq=first_seq, t_first_us=t_first_us)


def decode_frame(payload: BytesLike, config: ReferenceConfig) -> SensorFrame:
    """Decode one DATA notification to SI units on the sensor clock.

    ``sensor_t_s[k] = t0_us * 1e-6 + k / odr_hz``; ``acc = raw * 9.80665 / lsb_per_g``;
    ``gyr = raw * (pi / 180) / lsb_per_dps``.

    Raises
    ------
    DecodeError
        Shorter than the header, unknown type, ``n`` outside ``1..samples_per_frame`` or
        a length other than ``8 + 12 n``.
    """
    buf = bytes(payload)
    if len(buf) < FRAME_HEADER_BYTES:
        raise DecodeError(f"DATA frame of {len(buf)} bytes is shorter than its 8-byte header")
    ftype, n, seq, t0_us = _HEADER.unpack_from(buf)
    if ftype != FRAME_TYPE_IMU6:
        raise DecodeError(f"DATA frame of unknown type 0x{ftype:02x}")
    if not 1 <= n <= config.samples_per_frame:
        raise DecodeError(f"DATA frame with n={n}, expected 1..{config.samples_per_frame}")
    if len(buf) != FRAME_HEADER_BYTES + SAMPLE_BYTES * n:
        raise DecodeError(f"DATA frame with n={n} must be {8 + 12 * n} bytes, got {len(buf)}")
    raw = np.frombuffer(buf, dtype="<i2", offset=FRAME_HEADER_BYTES).reshape(n, 6)
    return SensorFrame(
        seq=seq,
        sensor_t_s=np.float64(t0_us) * 1e-6 + np.arange(n, dtype=np.float64) / config.odr_hz,
        acc_m_s2=raw[:, :3].astype(np.float64) * config.acc_m_s2_per_lsb,
        gyr_rad_s=raw[:, 3:].astype(np.float64) * config.gyr_rad_s_per_lsb,
        seq_modulo=SEQ_MODULO,
        sensor_t_wrap_s=SENSOR_T_WRAP_S,
    )


@dataclass(frozen=True, slots=True)
class DecodedFrames:
    """Result of :func:`decode_frames_bulk`: the good frames, flattened, and the bad ones.

    ``frame_index`` (m,) is the position in the input of each good frame; ``seq``, ``t0_us``,
    ``n``, ``frame_start`` (m,) describe them; ``sensor_t_s`` (N,), ``acc_m_s2`` and
    ``gyr_rad_s`` (N, 3) hold their samples in input order; ``bad_index`` (k,) lists the
    payloads that failed to decode (each would raise :class:`DecodeError` in :func:`decode_frame`).
    """

    frame_index: I64
    seq: I64
    t0_us: I64
    n: I64
    frame_start: I64
    sensor_t_s: F64
    acc_m_s2: F64
    gyr_rad_s: F64
    bad_index: I64
    seq_modulo: int = SEQ_MODULO
    sensor_t_wrap_s: float = SENSOR_T_WRAP_S

    def to_frame_batch(self, host_t_s: ArrayLike) -> FrameBatch:
        """The good frames as a :class:`FrameBatch`; ``host_t_s`` has one time per input payload."""
        host = np.asarray(host_t_s, dtype=np.float64)
        if host.ndim != 1 or len(host) != len(self.frame_index) + len(self.bad_index):
            raise ValueError("host_t_s needs one value per input payload")
        return FrameBatch(
            host_t_s=host[self.frame_index],
            seq=self.seq,
            frame_start=self.frame_start,
            sensor_t_s=self.sensor_t_s,
            acc_m_s2=self.acc_m_s2,
            gyr_rad_s=self.gyr_rad_s,
            seq_modulo=self.seq_modulo,
            sensor_t_wrap_s=self.sensor_t_wrap_s,
        )


def _join(payloads: Sequence[BytesLike]) -> tuple[bytes, I64]:
    lens = np.fromiter(map(len, payloads), dtype=np.int64, count=len(payloads))
    joined = b"".join(payloads)
    if len(joined) != int(lens.sum()):  # multi-byte memoryviews: len() counts items
        raw = [bytes(p) for p in payloads]
        lens = np.fromiter(map(len, raw), dtype=np.int64, count=len(raw))
        joined = b"".join(raw)
    return joined, lens


def decode_frames_bulk(payloads: Sequence[BytesLike], config: ReferenceConfig) -> DecodedFrames:
    """Vectorised :func:`decode_frame` over many payloads (a recording, a live backlog).

    Gives bit-identical numbers to decoding one by one, and reports rather than raises bad
    payloads (``bad_index``). Works on one joined byte buffer: header fields are gathered by
    fancy indexing and the sample bytes of all good frames are cut out with one boolean mask.
    """
    joined, lens = _join(payloads)
    buf = np.frombuffer(joined, dtype=np.uint8)
    starts = np.cumsum(lens) - lens
    # 1. headers of payloads long enough to have one
    idx = np.flatnonzero(lens >= FRAME_HEADER_BYTES)
    s = starts[idx]
    b = [buf[s + i].astype(np.int64) for i in range(FRAME_HEADER_BYTES)]
    n = b[1]
    seq = b[2] | (b[3] << 8)
    t0 = b[4] | (b[5] << 8) | (b[6] << 16) | (b[7] << 24)
    # 2. the checks of decode_frame, vectorised
    ok = (b[0] == FRAME_TYPE_IMU6) & (n >= 1) & (n <= config.samples_per_frame)
    ok &= lens[idx] == FRAME_HEADER_BYTES + SAMPLE_BYTES * n
    good = idx[ok]
    is_good = np.zeros(len(lens), dtype=bool)
    is_good[good] = True
    n_good, s_good = n[ok], s[ok]
    # 3. sample bytes of the good frames: +1 at each body start, -1 at each end, cumsum > 0
    edges = np.zeros(len(buf) + 1, dtype=np.int8)
    edges[s_good + FRAME_HEADER_BYTES] += 1
    edges[s_good + lens[good]] -= 1
    body = buf[np.cumsum(edges[:-1], dtype=np.int8) > 0]
    raw = body.view("<i2").reshape(-1, 6)
    # 4. scaling and sample times, with the same float operations as decode_frame
    frame_start = np.cumsum(n_good) - n_good
    k = np.arange(len(raw), dtype=np.int64) - np.repeat(frame_start, n_good)
    t0_s = np.repeat(t0[ok].astype(np.float64) * 1e-6, n_good)
    return DecodedFrames(
        frame_index=good.astype(np.int64),
        seq=seq[ok],
        t0_us=t0[ok],
        n=n_good,
        frame_start=frame_start,
        sensor_t_s=t0_s + k.astype(np.float64) / config.odr_hz,
        acc_m_s2=raw[:, :3].astype(np.float64) * config.acc_m_s2_per_lsb,
        gyr_rad_s=raw[:, 3:].astype(np.float64) * config.gyr_rad_s_per_lsb,
        bad_index=np.flatnonzero(~is_good).astype(np.int64),
    )
