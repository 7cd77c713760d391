"""Raw session recordings: every BLE notification exactly as received, plus session events.

A live session writes a recording with :class:`RecordingWriter`; a replay reads it back with
:func:`read_recording` (whole file, columnar access) or :func:`iter_records` (streaming) and
feeds the payloads to the same protocol decoders. The file format (append-only, versioned,
CRC-protected blocks, crash-safe) is described in ``docs/recording_format.md``.

Example
-------
>>> rec = read_recording("session.imurec")                      # doctest: +SKIP
>>> t_s, payloads = rec.payloads_by_sensor("LT")                 # doctest: +SKIP
>>> rec.problems                                                 # doctest: +SKIP
[]
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from imugait.ingest.recording_reader import (
    _open,
    _read_header,
    iter_blocks,
    iter_records,
    read_header,
)
from imugait.ingest.recording_types import (
    FORMAT_VERSION,
    Event,
    Notification,
    Record,
    RecordingHeader,
    SensorEntry,
)
from imugait.ingest.recording_writer import RecordingWriter

__all__ = [
    "FORMAT_VERSION",
    "Event",
    "Notification",
    "NotificationColumns",
    "Record",
    "Recording",
    "RecordingHeader",
    "RecordingWriter",
    "SensorEntry",
    "iter_records",
    "read_header",
    "read_recording",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class NotificationColumns:
    """Notifications as columns, for vectorised decoding of large recordings.

    Notification ``i`` came from channel ``channels[channel[i]]`` (a ``(sensor_id,
    characteristic)`` pair) at ``host_t_s[i]``; its payload is
    ``blob[payload_start[i] : payload_start[i] + payload_len[i]]``.
    """

    channels: tuple[tuple[str, str], ...]
    host_t_s: F64
    channel: I64
    payload_start: I64
    payload_len: I64
    blob: bytes


class Recording:
    """A recording read into memory: ``header``, ``notifications``, ``events``, ``problems``.

    ``problems`` lists, one line each, everything that was not intact (damaged or truncated
    blocks with byte offsets and skipped byte counts, missing block numbers); it is empty for a
    complete, undamaged file.
    """

    def __init__(
        self,
        *,
        path: Path,
        header: RecordingHeader,
        columns: NotificationColumns,
        events: list[Event],
        event_position: list[int],
        problems: list[str],
    ) -> None:
        self.path = path
        self.header = header
        self.columns = columns
        self.events = events
        self.problems = problems
        self._event_position = event_position

    def __repr__(self) -> str:
        return (
            f"Recording({str(self.path)!r}, session={self.header.session_id!r}, "
            f"notifications={self.n_notifications}, events={len(self.events)}, "
            f"problems={len(self.problems)})"
        )

    @property
    def n_notifications(self) -> int:
        return len(self.columns.host_t_s)

    @cached_property
    def notifications(self) -> list[Notification]:
        """All notifications in file order (built on first access; use columns for speed)."""
        c = self.columns
        chans = c.channels
        return [
            Notification(chans[k][0], chans[k][1], t, c.blob[s : s + n])
            for k, t, s, n in zip(
                c.channel.tolist(),
                c.host_t_s.tolist(),
                c.payload_start.tolist(),
                c.payload_len.tolist(),
                strict=True,
            )
        ]

    def records(self) -> Iterator[Record]:
        """Notifications and events merged in the order they were written."""
        notes = self.notifications
        i = 0
        for pos, ev in zip(self._event_position, self.events, strict=True):
            yield from notes[i:pos]
            i = max(i, pos)
            yield ev
        yield from notes[i:]

    def select(self, sensor_id: str, characteristic: str | None = None) -> NDArray[np.bool_]:
        """Boolean mask over the notifications of ``sensor_id`` (and ``characteristic``)."""
        known = set(self.header.sensor_ids) | {s for s, _ in self.columns.channels}
        if sensor_id not in known:
            raise ValueError(f"no sensor {sensor_id!r} in {self.path} (has {sorted(known)})")
        wanted = [
            k
            for k, (s, ch) in enumerate(self.columns.channels)
            if s == sensor_id and (characteristic is None or ch == characteristic)
        ]
        return np.isin(self.columns.channel, np.asarray(wanted, dtype=np.int64))

    def payloads_by_sensor(
        self, sensor_id: str, characteristic: str | None = None
    ) -> tuple[F64, list[bytes]]:
        """Receive times (float64, s) and payloads of one sensor's notifications, in file order.

        With ``characteristic=None`` the notifications of all its characteristics are returned.
        """
        m = self.select(sensor_id, characteristic)
        c = self.columns
        blob = c.blob
        payloads = [
            blob[s : s + n]
            for s, n in zip(c.payload_start[m].tolist(), c.payload_len[m].tolist(), strict=True)
        ]
        return c.host_t_s[m].copy(), payloads

    def events_of(self, kind: str | None = None, sensor_id: str | None = None) -> list[Event]:
        """Events filtered by ``kind`` and/or ``sensor_id`` (``None`` = any)."""
        return [
            e
            for e in self.events
            if (kind is None or e.kind == kind) and (sensor_id is None or e.sensor_id == sensor_id)
        ]


def _cat_i64(parts: list[I64]) -> I64:
    return np.concatenate([np.empty(0, dtype=np.int64), *parts])


def read_recording(path: str | os.PathLike[str]) -> Recording:
    """Read a whole recording.

    Raises ``RecordingError`` (one line naming the file) when the file is not a readable
    imugait recording; damage inside a recording is reported in ``Recording.problems``.
    """
    p = Path(path)
    size, mm = _open(p)
    if mm is None:
        _read_header(p, b"", 0)  # raises "empty file"
        raise AssertionError("unreachable")  # pragma: no cover
    try:
        header, start = _read_header(p, mm, size)
        problems: list[str] = []
        chan_index: dict[tuple[str, str], int] = {}
        t_parts: list[F64] = []
        ch_parts: list[I64] = []
        start_parts: list[I64] = []
        len_parts: list[I64] = []
        blobs: list[bytes] = []
        events: list[Event] = []
        event_pos: list[int] = []
        n_total = base = 0
        for blk in iter_blocks(p, mm, size, start, problems):
            rec = blk.records
            lut = np.array(
                [chan_index.setdefault(key, len(chan_index)) for key in rec.channels],
                dtype=np.int64,
            )
            t_parts.append(rec.host_t_s)
            ch_parts.append(lut[rec.channel] if len(lut) else rec.channel)
            start_parts.append(rec.payload_start + base)
            len_parts.append(rec.payload_len)
            blobs.append(rec.blob)
            for pos, ev in blk.events:
                event_pos.append(n_total + pos)
                events.append(ev)
            n_total += len(rec.host_t_s)
            base += len(rec.blob)
    finally:
        mm.close()

    columns = NotificationColumns(
        channels=tuple(sorted(chan_index, key=chan_index.__getitem__)),
        host_t_s=np.concatenate([np.empty(0), *t_parts]),
        channel=_cat_i64(ch_parts),
        payload_start=_cat_i64(start_parts),
        payload_len=_cat_i64(len_parts),
        blob=b"".join(blobs),
    )
    return Recording(
        path=p,
        header=header,
        columns=columns,
        events=events,
        event_position=event_pos,
        problems=problems,
    )
