"""Reader of raw session recordings: tolerant of truncation and corruption, strict on file kind.

A file that is not an imugait recording (missing, a directory, empty, CSV, random bytes, an
unsupported major version, a damaged header) raises :class:`~imugait.errors.RecordingError`
with one line naming the file. Inside a recording, every intact block is read; a damaged or
truncated block is skipped by searching for the next sync word whose block validates, and is
reported in ``problems`` (byte offsets, bytes skipped, missing block numbers) instead of raised.
"""

from __future__ import annotations

import json
import mmap
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from imugait.errors import RecordingError
from imugait.ingest.recording_format import (
    BLOCK_HEADER_SIZE,
    BLOCK_HEADER_TYPE,
    BLOCK_RECORDS,
    MAGIC,
    PREAMBLE,
    PREAMBLE_SIZE,
    SYNC,
    DecodedRecords,
    decode_records,
    parse_block_header,
)
from imugait.ingest.recording_types import (
    FORMAT_VERSION,
    Event,
    Notification,
    Record,
    RecordingHeader,
)

Buffer = bytes | mmap.mmap


@dataclass(frozen=True, slots=True)
class _Block:
    offset: int
    end: int
    block_type: int
    seq: int
    payload: bytes


def _check_block(buf: Buffer, off: int, size: int) -> _Block | str:
    """The intact block starting at ``off``, or the reason why there is none."""
    if size - off < BLOCK_HEADER_SIZE:
        return f"incomplete block header ({size - off} of {BLOCK_HEADER_SIZE} bytes)"
    head = parse_block_header(bytes(buf[off : off + BLOCK_HEADER_SIZE]))
    if isinstance(head, str):
        return head
    start, end = off + BLOCK_HEADER_SIZE, off + BLOCK_HEADER_SIZE + head.length
    if end > size:
        return f"truncated block ({size - start} of {head.length} payload bytes present)"
    payload = bytes(buf[start:end])
    if zlib.crc32(payload) != head.payload_crc:
        return "bad block payload CRC"
    return _Block(offset=off, end=end, block_type=head.block_type, seq=head.seq, payload=payload)


def _scan_blocks(buf: Buffer, start: int, size: int, problems: list[str]) -> Iterator[_Block]:
    """Yield the intact blocks from ``start``; resynchronise on the sync word after damage."""
    off = start
    while off < size:
        found = _check_block(buf, off, size)
        if isinstance(found, _Block):
            yield found
            off = found.end
            continue
        reason, nxt, block = found, off + 1, None
        while True:
            nxt = buf.find(SYNC, nxt)
            if nxt < 0:
                nxt = size
                break
            cand = _check_block(buf, nxt, size)
            if isinstance(cand, _Block):
                block = cand
                break
            nxt += 1
        where = "to the end of the file" if block is None else f"resumed at byte {nxt}"
        problems.append(f"byte {off}: {reason}; skipped {nxt - off} bytes ({where})")
        if block is None:
            return
        yield block
        off = block.end


def _open(path: Path) -> tuple[int, mmap.mmap | None]:
    """Open ``path`` read-only: (size, mmap or None when empty); RecordingError when unreadable."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else None
    except FileNotFoundError:
        raise RecordingError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise RecordingError(f"{path}: is a directory, not a recording file") from None
    except PermissionError:
        raise RecordingError(f"{path}: permission denied") from None
    except (OSError, ValueError) as exc:
        raise RecordingError(f"{path}: cannot read ({exc})") from None
    return size, mm


def _not_a_recording(path: Path, head: bytes) -> RecordingError:
    if not head:
        return RecordingError(f"{path}: empty file, not an imugait recording")
    if MAGIC.startswith(head[: len(MAGIC)]):
        return RecordingError(
            f"{path}: truncated imugait recording ({len(head)} bytes, shorter than its preamble)"
        )
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if text and text.isprintable():
        return RecordingError(
            f"{path}: not an imugait recording (text file starting {text[:40]!r})"
        )
    return RecordingError(
        f"{path}: not an imugait recording (no signature; starts with bytes {head[:8].hex(' ')})"
    )


def _read_header(path: Path, buf: Buffer, size: int) -> tuple[RecordingHeader, int]:
    """Check the preamble and the header block; (header, offset after the header block)."""
    head = bytes(buf[:PREAMBLE_SIZE])
    if size < PREAMBLE_SIZE or not head.startswith(MAGIC):
        raise _not_a_recording(path, bytes(buf[:200]))
    _magic, major, minor = PREAMBLE.unpack(head)
    if major != FORMAT_VERSION[0]:
        raise RecordingError(
            f"{path}: recording format version {major}.{minor} is not supported "
            f"(this imugait reads {FORMAT_VERSION[0]}.x)"
        )
    block = _check_block(buf, PREAMBLE_SIZE, size)
    if isinstance(block, str) or block.block_type != BLOCK_HEADER_TYPE or block.seq != 0:
        why = block if isinstance(block, str) else "first block is not the header"
        raise RecordingError(f"{path}: header block damaged or incomplete ({why})")
    try:
        obj = json.loads(block.payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise RecordingError(f"{path}: malformed recording header (not JSON)") from None
    header = RecordingHeader.from_json(obj, source=str(path))
    return replace(header, format_version=(major, minor)), block.end


def _decode_event(host_t_s: float, js: bytes) -> Event:
    obj = json.loads(js.decode("utf-8"))
    return Event(host_t_s=host_t_s, sensor_id=obj["sensor_id"], kind=obj["kind"], data=obj["data"])


@dataclass(frozen=True, slots=True)
class DecodedBlock:
    """One intact records block: its notifications (columnar) and events with positions."""

    offset: int
    records: DecodedRecords
    events: list[tuple[int, Event]]


def iter_blocks(
    path: Path, buf: Buffer, size: int, start: int, problems: list[str]
) -> Iterator[DecodedBlock]:
    """Decoded records blocks of a file, in order, appending what is not intact to ``problems``."""
    expected, unknown = 1, 0
    for block in _scan_blocks(buf, start, size, problems):
        if block.seq != expected:
            if block.seq > expected:
                n = block.seq - expected
                problems.append(
                    f"byte {block.offset}: {n} block(s) missing (numbers {expected}..{block.seq - 1})"
                )
            else:
                problems.append(f"byte {block.offset}: block number {block.seq} out of order")
        expected = block.seq + 1
        if block.block_type != BLOCK_RECORDS:
            unknown += 1
            continue
        try:
            rec = decode_records(block.payload)
            events = [(pos, _decode_event(t, js)) for pos, t, js in rec.events]
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(f"byte {block.offset}: undecodable records block skipped ({exc})")
            continue
        yield DecodedBlock(offset=block.offset, records=rec, events=events)
    if unknown:
        problems.append(f"{unknown} block(s) of an unknown type skipped (newer minor version?)")


def read_header(path: str | os.PathLike[str]) -> RecordingHeader:
    """Read only the header of a recording."""
    p = Path(path)
    size, mm = _open(p)
    try:
        return _read_header(p, mm if mm is not None else b"", size)[0]
    finally:
        if mm is not None:
            mm.close()


def iter_records(
    path: str | os.PathLike[str], *, problems: list[str] | None = None
) -> Iterator[Record]:
    """Stream the notifications and events of a recording in the order they were written.

    The file kind and header are checked at once (``RecordingError``); damage found while
    streaming is appended to ``problems`` when a list is given. Memory use is one block.
    """
    p = Path(path)
    size, mm = _open(p)
    try:
        _header, start = _read_header(p, mm if mm is not None else b"", size)
    except BaseException:
        if mm is not None:
            mm.close()
        raise
    assert mm is not None
    return _records(p, mm, size, start, [] if problems is None else problems)


def _records(
    path: Path, mm: mmap.mmap, size: int, start: int, problems: list[str]
) -> Iterator[Record]:
    try:
        for blk in iter_blocks(path, mm, size, start, problems):
            rec, events = blk.records, blk.events
            ei = 0
            for i in range(len(rec.host_t_s) + 1):
                while ei < len(events) and events[ei][0] == i:
                    yield events[ei][1]
                    ei += 1
                if i == len(rec.host_t_s):
                    break
                s, n = int(rec.payload_start[i]), int(rec.payload_len[i])
                sensor_id, characteristic = rec.channels[int(rec.channel[i])]
                yield Notification(
                    sensor_id, characteristic, float(rec.host_t_s[i]), rec.blob[s : s + n]
                )
    finally:
        mm.close()
