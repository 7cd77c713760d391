"""Polar PMD data frames: header, raw and delta-compressed sample blocks, both directions.

Frame layout (``PmdDataFrame.kt``; little endian)::

    u8 measurement type | u64 timestamp_ns (LAST sample) | u8 frame type | content

Frame-type bit 7 set = delta-compressed content, bits 0-6 = type. Content:

* raw: ``n x channels`` signed little-endian ints of the type's width (ACC type 0/1/2 = 8/16/24 bit);
* delta-compressed (``BlePMDClient.parseDeltaFramesAll``): a reference sample of ``channels``
  signed values of ``ceil(resolution / 8)`` bytes, then blocks ``u8 bit_width | u8 count |
  ceil(count * channels * bit_width / 8) bytes`` of signed deltas packed LSB first, channel by
  channel, sample by sample; each delta is added to the previous sample.

Pure functions, no I/O; parsers raise only :class:`imugait.errors.DecodeError`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from imugait.errors import DecodeError

from ._polar_pmd import MeasurementType
from .base import BytesLike

I64 = NDArray[np.int64]

HEADER_BYTES: Final = 10
COMPRESSED_BIT: Final = 0x80
FRAME_TYPE_MASK: Final = 0x7F
CHANNELS: Final = 3
_HEADER: Final = struct.Struct("<BQB")
_U64_MAX: Final = (1 << 64) - 1
#: Widest delta accepted: the SDK accumulates in 32-bit ints.
MAX_DELTA_BITS: Final = 32


@dataclass(frozen=True, slots=True)
class ContentFormat:
    """How a (measurement, frame type) pair's content is coded.

    ``width_bits`` is the raw sample width or the delta reference resolution; ``is_float``
    marks IEEE-754 float32 bit patterns (GYRO compressed type 1).
    """

    compressed: bool
    width_bits: int
    is_float: bool = False


#: Supported content formats, keyed by (measurement type, frame-type byte).
#: ACC raw 0/1/2 and compressed 1 are in ``AccData.kt``; GYRO compressed 0/1 in ``GyrData.kt``.
#: GYRO raw type 0 (int16) is an imugait extension for the emulator: Polar sensors do not send it.
FORMATS: Final[dict[tuple[int, int], ContentFormat]] = {
    (MeasurementType.ACC, 0x00): ContentFormat(compressed=False, width_bits=8),
    (MeasurementType.ACC, 0x01): ContentFormat(compressed=False, width_bits=16),
    (MeasurementType.ACC, 0x02): ContentFormat(compressed=False, width_bits=24),
    (MeasurementType.ACC, 0x81): ContentFormat(compressed=True, width_bits=16),
    (MeasurementType.GYRO, 0x80): ContentFormat(compressed=True, width_bits=16),
    (MeasurementType.GYRO, 0x81): ContentFormat(compressed=True, width_bits=32, is_float=True),
    (MeasurementType.GYRO, 0x00): ContentFormat(compressed=False, width_bits=16),
}


@dataclass(frozen=True, slots=True)
class PmdFrame:
    """One parsed data notification: raw sample values, not yet scaled or timed.

    ``values`` is ``(n, 3)`` int64 counts (milli-g for ACC, deg/s for GYRO, before FACTOR), or
    float64 for float-coded frames; ``timestamp_ns`` is the sensor time of the LAST sample.
    """

    measurement_type: int
    timestamp_ns: int
    frame_type: int
    values: NDArray[np.int64] | NDArray[np.float64]

    @property
    def n(self) -> int:
        return len(self.values)


def parse_header(payload: BytesLike) -> tuple[int, int, int]:
    """``(measurement type, timestamp_ns, frame-type byte)``; :class:`DecodeError` if too short."""
    buf = bytes(payload)
    if len(buf) < HEADER_BYTES:
        raise DecodeError(f"PMD data frame of {len(buf)} bytes is shorter than its 10-byte header")
    mtype, ts, ftype = _HEADER.unpack_from(buf)
    return int(mtype), int(ts), int(ftype)


def _sign_extend(v: I64, bits: int) -> I64:
    half = np.int64(1) << np.int64(bits - 1)
    return np.where(v >= half, v - (half << np.int64(1)), v)


def _le_ints(raw: NDArray[np.uint8], nbytes: int) -> I64:
    """Unsigned little-endian ints of ``nbytes`` from a byte array whose length is a multiple."""
    b = raw.reshape(-1, nbytes).astype(np.int64)
    weights = np.int64(1) << (8 * np.arange(nbytes, dtype=np.int64))
    return np.asarray(b @ weights, dtype=np.int64)


def parse_raw_content(content: bytes, width_bits: int) -> I64:
    """Raw frame content to ``(n, 3)`` signed values; the length must be a whole number of samples."""
    nbytes = width_bits // 8
    if len(content) == 0 or len(content) % (nbytes * CHANNELS):
        raise DecodeError(
            f"raw content of {len(content)} bytes is not a whole number of "
            f"{nbytes * CHANNELS}-byte samples"
        )
    arr = np.frombuffer(content, dtype=np.uint8)
    return _sign_extend(_le_ints(arr, nbytes), width_bits).reshape(-1, CHANNELS)


def parse_delta_content(content: bytes, resolution_bits: int, *, wrap32: bool = False) -> I64:
    """Delta-compressed content to ``(n, 3)`` int64 samples (reference sample first).

    Accumulates in int64; ``wrap32`` reduces the sums modulo 2**32 (float bit patterns, as the
    SDK's 32-bit int addition does).

    Raises
    ------
    DecodeError
        Reference sample cut short, a zero or over-wide bit width, or a block past the end.
    """
    ref_bytes = (resolution_bits + 7) // 8
    pos = ref_bytes * CHANNELS
    if len(content) < pos:
        raise DecodeError(f"delta frame of {len(content)} bytes has no full reference sample")
    arr = np.frombuffer(content, dtype=np.uint8)
    ref = _sign_extend(_le_ints(arr[:pos], ref_bytes), resolution_bits)
    blocks: list[I64] = [ref.reshape(1, CHANNELS)]
    while pos < len(content):
        if pos + 2 > len(content):
            raise DecodeError("delta block header cut short")
        width, count = int(arr[pos]), int(arr[pos + 1])
        pos += 2
        if not 1 <= width <= MAX_DELTA_BITS:
            raise DecodeError(f"delta block bit width {width} outside 1..{MAX_DELTA_BITS}")
        n_bits = width * count * CHANNELS
        n_bytes = (n_bits + 7) // 8
        if pos + n_bytes > len(content):
            raise DecodeError(f"delta block of {count} samples x {width} bits runs past the end")
        bits = np.unpackbits(arr[pos : pos + n_bytes], bitorder="little")[:n_bits]
        weights = np.int64(1) << np.arange(width, dtype=np.int64)
        d = np.asarray(bits.reshape(-1, width).astype(np.int64) @ weights, dtype=np.int64)
        blocks.append(_sign_extend(d, width).reshape(count, CHANNELS))
        pos += n_bytes
    samples = np.cumsum(np.concatenate(blocks), axis=0)
    if wrap32:
        samples &= np.int64(0xFFFFFFFF)
    return samples


def _float_bits(u32: I64) -> NDArray[np.float64]:
    """float32 bit patterns to float64; NaN and infinity (exponent all ones) are refused."""
    if np.any((u32 & np.int64(0x7F800000)) == np.int64(0x7F800000)):
        raise DecodeError("float-coded PMD frame holds NaN or infinity")
    return u32.astype(np.uint32).view(np.float32).astype(np.float64)


def parse_frame(payload: BytesLike) -> PmdFrame:
    """Parse an ACC or GYRO data notification into raw values.

    Raises
    ------
    DecodeError
        Short header, a measurement or frame type imugait does not support, or bad content.
    """
    buf = bytes(payload)
    mtype, ts, ftype = parse_header(buf)
    fmt = FORMATS.get((mtype, ftype))
    if fmt is None:
        raise DecodeError(
            f"unsupported PMD frame: measurement type {mtype}, frame type 0x{ftype:02x}"
        )
    content = buf[HEADER_BYTES:]
    values: NDArray[np.int64] | NDArray[np.float64]
    if fmt.compressed:
        ints = parse_delta_content(content, fmt.width_bits, wrap32=fmt.is_float)
        values = _float_bits(ints) if fmt.is_float else ints
    else:
        values = parse_raw_content(content, fmt.width_bits)
    return PmdFrame(measurement_type=mtype, timestamp_ns=ts, frame_type=ftype, values=values)


# ----------------------------------------------------------------------------- encoders


def _as_counts(name: str, a: ArrayLike, width_bits: int) -> I64:
    arr = np.asarray(a)
    if arr.ndim != 2 or arr.shape[1] != CHANNELS or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must be an integer array of shape (n, 3)")
    if len(arr) == 0:
        raise ValueError(f"{name} needs at least one sample")
    lo, hi = -(1 << (width_bits - 1)), (1 << (width_bits - 1)) - 1
    if arr.min() < lo or arr.max() > hi:
        raise ValueError(f"{name} values outside {width_bits}-bit signed range")
    return arr.astype(np.int64)


def _bits_needed(d: I64) -> int:
    """Smallest signed width (>= 1) holding every value of ``d``."""
    lo, hi = int(d.min()), int(d.max())
    width = 1
    while not (-(1 << (width - 1)) <= lo and hi <= (1 << (width - 1)) - 1):
        width += 1
    return width


def encode_delta_content(
    samples: ArrayLike, resolution_bits: int, *, block_samples: int = 32
) -> bytes:
    """Delta-compress ``(n, 3)`` int samples (the inverse of :func:`parse_delta_content`).

    Deltas are cut into blocks of at most ``block_samples`` (1..255) samples, each with the
    smallest bit width that holds its deltas.
    """
    s = _as_counts("samples", samples, resolution_bits)
    if not 1 <= block_samples <= 255:
        raise ValueError(f"block_samples must be in 1..255, got {block_samples}")
    ref_bytes = (resolution_bits + 7) // 8
    mask = (1 << (8 * ref_bytes)) - 1
    out = bytearray(b"".join((int(v) & mask).to_bytes(ref_bytes, "little") for v in s[0]))
    deltas = np.diff(s, axis=0)
    for i0 in range(0, len(deltas), block_samples):
        d = deltas[i0 : i0 + block_samples]
        width = _bits_needed(d)
        u = d.reshape(-1) & np.int64((1 << width) - 1)
        bits = ((u[:, None] >> np.arange(width, dtype=np.int64)) & 1).astype(np.uint8)
        out += bytes([width, len(d)]) + np.packbits(bits.reshape(-1), bitorder="little").tobytes()
    return bytes(out)


def encode_frame(
    measurement: MeasurementType,
    timestamp_ns: int,
    samples: ArrayLike,
    *,
    compressed: bool,
    block_samples: int = 32,
) -> bytes:
    """One ACC or GYRO data notification with int16 samples.

    ACC: raw type 1 (``0x01``) or compressed type 1 (``0x81``); GYRO: compressed type 0
    (``0x80``) or, as an imugait extension, raw int16 (``0x00``).

    Parameters
    ----------
    measurement
        :attr:`MeasurementType.ACC` or :attr:`MeasurementType.GYRO`.
    timestamp_ns
        Sensor time of the LAST sample, ns since 2000-01-01, ``0..2**64-1``.
    samples
        ``(n, 3)`` integer counts in the int16 range: milli-g (ACC) or deg/s (GYRO), before
        FACTOR.
    """
    if not 0 <= timestamp_ns <= _U64_MAX:
        raise ValueError(f"timestamp_ns must fit u64, got {timestamp_ns}")
    mtype = MeasurementType(measurement)
    if mtype is MeasurementType.ACC:
        ftype = 0x81 if compressed else 0x01
    elif mtype is MeasurementType.GYRO:
        ftype = 0x80 if compressed else 0x00
    else:
        raise ValueError(f"encode_frame supports ACC and GYRO, got {mtype.name}")
    s = _as_counts("samples", samples, 16)
    if compressed:
        content = encode_delta_content(s, 16, block_samples=block_samples)
    else:
        content = s.astype("<i2").tobytes()
    return _HEADER.pack(mtype, timestamp_ns, ftype) + content
