"""Byte-level layout of the raw session recording (pure encode/decode, no I/O).

The layout is specified in ``docs/recording_format.md``; in short::

    preamble   MAGIC (12 B) | major u16 | minor u16                               16 bytes
    block      SYNC (4 B) | type u8 | flags u8 | reserved u16 | seq u32 | length u32
               | header_crc u32 (CRC-32 of the 16 bytes before it)
               | payload_crc u32 (CRC-32 of the payload) | payload (length bytes)

All integers and floats are little-endian. Block 0 (type 1) holds the header as UTF-8 JSON;
every later block (type 2) holds a batch of records in columnar form, self-contained (it
carries its own sensor/characteristic table), so each block can be decoded on its own.
The framing with a sync word, a length and a CRC per block follows the usual design of
append-only logs that must survive torn writes (e.g. the record framing of LevelDB's log
format and of the PNG chunk layout, whose signature bytes MAGIC imitates).
"""

from __future__ import annotations

import struct
import sys
import zlib
from array import array
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

MAGIC = b"\x89IMUGAIT\r\n\x1a\n"
PREAMBLE = struct.Struct("<12sHH")
PREAMBLE_SIZE = PREAMBLE.size  # 16

SYNC = b"\xe1IGB"
BLOCK_HEADER = struct.Struct("<4sBBHIIII")
BLOCK_HEADER_SIZE = BLOCK_HEADER.size  # 24
_CRC_SPAN = 16  # the header CRC covers bytes [0, 16) of the block header

BLOCK_HEADER_TYPE = 1
BLOCK_RECORDS = 2

#: Largest payload the writer produces; larger lengths are treated as corruption by the reader.
MAX_BLOCK_PAYLOAD = 64 << 20
#: Largest notification payload (the length field is u16; BLE allows at most 512 bytes).
MAX_NOTIFICATION_PAYLOAD = 0xFFFF

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_EVENT = struct.Struct("<IdI")
_BIG_ENDIAN = sys.byteorder == "big"


def encode_preamble(major: int, minor: int) -> bytes:
    return PREAMBLE.pack(MAGIC, major, minor)


def frame_block(block_type: int, seq: int, payload: bytes) -> bytes:
    """Wrap ``payload`` into a block: sync word, type, sequence number, length, two CRCs."""
    if len(payload) > MAX_BLOCK_PAYLOAD:
        raise ValueError(f"block payload of {len(payload)} bytes exceeds {MAX_BLOCK_PAYLOAD}")
    head = struct.pack("<4sBBHII", SYNC, block_type, 0, 0, seq & 0xFFFFFFFF, len(payload))
    return b"".join((head, _U32.pack(zlib.crc32(head)), _U32.pack(zlib.crc32(payload)), payload))


@dataclass(frozen=True, slots=True)
class BlockHeader:
    block_type: int
    seq: int
    length: int
    payload_crc: int


def parse_block_header(raw: bytes) -> BlockHeader | str:
    """Parse the 24 header bytes of a block; a reason string if they are not a valid header."""
    sync, btype, _flags, _res, seq, length, hcrc, pcrc = BLOCK_HEADER.unpack(raw)
    if sync != SYNC:
        return "no block sync marker"
    if zlib.crc32(raw[:_CRC_SPAN]) != hcrc:
        return "bad block header CRC"
    if length > MAX_BLOCK_PAYLOAD:
        return f"implausible block length {length}"
    return BlockHeader(block_type=btype, seq=seq, length=length, payload_crc=pcrc)


def _le(a: array[int] | array[float]) -> bytes:
    if _BIG_ENDIAN:  # pragma: no cover - the file format is little-endian everywhere
        a = array(a.typecode, a)
        a.byteswap()
    return a.tobytes()


def _put_str(out: list[bytes], s: str) -> None:
    b = s.encode("utf-8")
    if len(b) > 0xFFFF:
        raise ValueError(f"string too long for the recording format: {s[:40]!r}...")
    out += (_U16.pack(len(b)), b)


def encode_records(
    *,
    channels: list[tuple[str, str]],
    host_t_s: array[float],
    channel: array[int],
    length: array[int],
    payloads: bytes | bytearray,
    events: list[tuple[int, float, bytes]],
) -> bytes:
    """Encode one records block payload.

    ``channels`` is the block's (sensor_id, characteristic) table; ``host_t_s``, ``channel``
    (index into ``channels``) and ``length`` are per notification; ``payloads`` their bytes
    back to back. ``events`` are ``(position, host_t_s, json_bytes)``, ``position`` being the
    number of this block's notifications written before the event.
    """
    out: list[bytes] = [_U16.pack(len(channels))]
    for sensor_id, characteristic in channels:
        _put_str(out, sensor_id)
        _put_str(out, characteristic)
    out += (_U32.pack(len(host_t_s)), _le(host_t_s), _le(channel), _le(length), bytes(payloads))
    out.append(_U32.pack(len(events)))
    for pos, t, js in events:
        out += (_EVENT.pack(pos, t, len(js)), js)
    return b"".join(out)


@dataclass(frozen=True, slots=True)
class DecodedRecords:
    """A decoded records block. ``payload_start`` are offsets into ``blob``."""

    channels: list[tuple[str, str]]
    host_t_s: NDArray[np.float64]
    channel: NDArray[np.int64]
    payload_start: NDArray[np.int64]
    payload_len: NDArray[np.int64]
    blob: bytes
    events: list[tuple[int, float, bytes]]


class _Cursor:
    """Bounds-checked reader over a block payload (raises ``ValueError`` on overrun)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError(f"records block ends early (needs {n} bytes at {self.pos})")
        b = self.data[self.pos : self.pos + n]
        self.pos += n
        return b

    def u16(self) -> int:
        v: int = _U16.unpack(self.take(2))[0]
        return v

    def u32(self) -> int:
        v: int = _U32.unpack(self.take(4))[0]
        return v

    def text(self) -> str:
        return self.take(self.u16()).decode("utf-8")


def decode_records(data: bytes) -> DecodedRecords:
    """Decode a records block payload; ``ValueError`` if it is inconsistent."""
    cur = _Cursor(data)
    channels = [(cur.text(), cur.text()) for _ in range(cur.u16())]
    n = cur.u32()
    t = np.frombuffer(cur.take(8 * n), dtype="<f8").astype(np.float64)
    ch = np.frombuffer(cur.take(2 * n), dtype="<u2").astype(np.int64)
    ln = np.frombuffer(cur.take(2 * n), dtype="<u2").astype(np.int64)
    if n and int(ch.max()) >= len(channels):
        raise ValueError("notification refers to an undefined channel")
    ends = np.cumsum(ln)
    total = int(ends[-1]) if n else 0
    blob = cur.take(total)
    events = []
    for _ in range(cur.u32()):
        pos, te, nj = _EVENT.unpack(cur.take(_EVENT.size))
        if pos > n:
            raise ValueError("event position beyond the block's notifications")
        events.append((int(pos), float(te), cur.take(nj)))
    if cur.pos != len(data):
        raise ValueError(f"{len(data) - cur.pos} unexpected trailing bytes in records block")
    return DecodedRecords(
        channels=channels,
        host_t_s=t,
        channel=ch,
        payload_start=ends - ln,
        payload_len=ln,
        blob=blob,
        events=events,
    )
