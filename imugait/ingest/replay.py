"""Replay a recording through the same protocol decoders the live path uses.

Two ways, same decoder, same numbers:

* :func:`decode_recording` decodes every sensor at once (vectorised where the protocol
  offers a bulk decoder) into one :class:`~imugait.types.FrameBatch` per sensor, on the
  session clock (``host_t_s - header.host_t0_s``); :class:`RecordingStream` does the same
  piece by piece with bounded memory (what ``imugait analyze`` uses).
* :func:`iter_paced` yields notifications one by one in arrival order, optionally paced at a
  multiple of real time, decoded one frame at a time exactly as the live BLE callback
  path decodes them.

A notification that does not decode is counted and reported, never fatal.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from imugait.errors import DecodeError
from imugait.ingest.protocols import get_protocol, normalise_uuid
from imugait.ingest.protocols.base import BytesLike
from imugait.ingest.protocols.reference import PROTOCOL_NAME as REF_NAME
from imugait.ingest.protocols.reference import ReferenceConfig, decode_frames_bulk
from imugait.ingest.recording import NotificationColumns, Recording, SensorEntry, read_header
from imugait.ingest.recording_reader import DecodedBlock, _open, _read_header, iter_blocks
from imugait.types import F64, FrameBatch, SensorFrame


@dataclass(frozen=True, slots=True)
class DecodedSensor:
    """One sensor of a recording, decoded: its header entry, frames and decode failures."""

    entry: SensorEntry
    batch: FrameBatch
    notifications: int
    bad_notifications: int
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def nominal_fs_hz(self) -> float:
        """The sensor's configured output data rate, Hz (from the recording header)."""
        return nominal_fs_hz(self.entry)


def nominal_fs_hz(entry: SensorEntry, default: float = 0.0) -> float:
    """A header sensor entry's configured output data rate, Hz (``default`` if absent)."""
    v = entry.config.get("odr_hz")
    return float(v) if isinstance(v, int | float) else default


class SensorDecoder:
    """Decodes one sensor's data notifications, run after run; decoder state carries over.

    The reference protocol uses the vectorised bulk decoder (stateless per notification); the
    others their per-notification decoder object, kept across runs (multi-part frames, delta
    streams), so decoding a recording in pieces gives the same frames as decoding it whole.
    """

    def __init__(self, entry: SensorEntry) -> None:
        self.entry = entry
        self._spec = get_protocol(entry.protocol)
        self._ref = ReferenceConfig.from_dict(entry.config) if entry.protocol == REF_NAME else None
        self._decoder = None if self._ref is not None else self._spec.decoder(entry.config)
        self.notifications = 0
        self.bad_notifications = 0
        self._first_bad_t: float | None = None

    @property
    def problems(self) -> tuple[str, ...]:
        if not self.bad_notifications:
            return ()
        return (
            f"sensor {self.entry.sensor_id}: {self.bad_notifications} notification(s) failed to "
            f"decode (first at {self._first_bad_t:.3f} s)",
        )

    def decode(self, host_t_s: F64, payloads: Sequence[BytesLike]) -> FrameBatch:
        """Frames of the next notifications (``host_t_s`` on the session clock)."""
        self.notifications += len(payloads)
        if self._ref is not None:
            dec = decode_frames_bulk(payloads, self._ref)
            bad = dec.bad_index.tolist()
            batch = dec.to_frame_batch(host_t_s)
        else:
            assert self._decoder is not None
            frames: list[SensorFrame] = []
            times: list[float] = []
            bad = []
            uuid = self._spec.data_uuid
            for i, (t, p) in enumerate(zip(host_t_s.tolist(), payloads, strict=True)):
                try:
                    got = self._decoder.decode(uuid, p)
                except DecodeError:
                    bad.append(i)
                    continue
                frames.extend(got)
                times.extend([t] * len(got))
            batch = FrameBatch.from_frames(times, frames)
        if bad and self._first_bad_t is None:
            self._first_bad_t = float(host_t_s[bad[0]])
        self.bad_notifications += len(bad)
        return batch


def _data_channels(channels: Sequence[tuple[str, str]], entry: SensorEntry) -> list[int]:
    data_uuid = get_protocol(entry.protocol).data_uuid
    return [
        k
        for k, (s, ch) in enumerate(channels)
        if s == entry.sensor_id and normalise_uuid(ch) == data_uuid
    ]


def _sensor_run(c: NotificationColumns, wanted: list[int], t0: float) -> tuple[F64, list[bytes]]:
    m = np.isin(c.channel, np.asarray(wanted, dtype=np.int64))
    host = c.host_t_s[m] - t0
    blob = c.blob
    payloads = [
        blob[s : s + n]
        for s, n in zip(c.payload_start[m].tolist(), c.payload_len[m].tolist(), strict=True)
    ]
    return host, payloads


def decode_sensor(rec: Recording, entry: SensorEntry) -> DecodedSensor:
    """Decode all data notifications of one sensor of ``rec``."""
    dec = SensorDecoder(entry)
    host, payloads = _sensor_run(
        rec.columns, _data_channels(rec.columns.channels, entry), rec.header.host_t0_s
    )
    batch = dec.decode(host, payloads)
    return DecodedSensor(
        entry=entry,
        batch=batch,
        notifications=dec.notifications,
        bad_notifications=dec.bad_notifications,
        problems=dec.problems,
    )


def decode_recording(rec: Recording) -> dict[str, DecodedSensor]:
    """Decode every sensor of ``rec`` (offline path), keyed by sensor id, in header order."""
    return {e.sensor_id: decode_sensor(rec, e) for e in rec.header.sensors}


class RecordingStream:
    """A recording decoded piece by piece, with memory bounded by one piece.

    ``header`` is read at once (``RecordingError`` if the file is not a recording). Iterating
    yields, per piece of at least ``chunk_notifications`` notifications (whole file blocks, in
    file order), each sensor's decoded frames (sensors in header order, empty ones left out).
    ``problems`` (damage found while reading, then decode failures) and ``decoders`` (counts)
    are complete once the iteration has ended. The union of the pieces equals
    :func:`decode_recording` of :func:`~imugait.ingest.recording.read_recording`.

    The default piece (32768 notifications: about 2.7 min of 4 sensors at 200 Hz, ~2 MB of
    payloads, ~6 MB decoded) keeps the per-push costs of the pipeline stages small next to
    their per-sample costs; memory stays bounded by one piece.
    """

    def __init__(self, path: str | os.PathLike[str], *, chunk_notifications: int = 32768) -> None:
        if chunk_notifications < 1:
            raise ValueError("chunk_notifications must be >= 1")
        self.path = Path(path)
        self.header = read_header(self.path)
        self.chunk_notifications = chunk_notifications
        self.decoders = {e.sensor_id: SensorDecoder(e) for e in self.header.sensors}
        self.read_problems: list[str] = []

    @property
    def problems(self) -> list[str]:
        """Damage of the file, then decode failures per sensor."""
        return [*self.read_problems, *(p for d in self.decoders.values() for p in d.problems)]

    def __iter__(self) -> Iterator[list[tuple[str, FrameBatch]]]:
        size, mm = _open(self.path)
        if mm is None:
            return
        try:
            _, start = _read_header(self.path, mm, size)
            chan_index: dict[tuple[str, str], int] = {}
            pending: list[DecodedBlock] = []
            n = 0
            for blk in iter_blocks(self.path, mm, size, start, self.read_problems):
                pending.append(blk)
                n += len(blk.records.host_t_s)
                if n >= self.chunk_notifications:
                    yield self._decode(pending, chan_index)
                    pending, n = [], 0
            if pending:
                yield self._decode(pending, chan_index)
        finally:
            mm.close()

    def _decode(
        self, blocks: list[DecodedBlock], chan_index: dict[tuple[str, str], int]
    ) -> list[tuple[str, FrameBatch]]:
        cols = _columns(blocks, chan_index)
        out: list[tuple[str, FrameBatch]] = []
        for sid, dec in self.decoders.items():
            wanted = _data_channels(cols.channels, dec.entry)
            host, payloads = _sensor_run(cols, wanted, self.header.host_t0_s)
            if len(payloads):
                batch = dec.decode(host, payloads)
                if batch.n_frames:
                    out.append((sid, batch))
        return out


def _columns(
    blocks: list[DecodedBlock], chan_index: dict[tuple[str, str], int]
) -> NotificationColumns:
    """Notification columns of some file blocks (channel numbers shared across calls)."""
    t_parts, ch_parts, start_parts, len_parts, blobs = [], [], [], [], []
    base = 0
    for blk in blocks:
        rec = blk.records
        lut = np.array(
            [chan_index.setdefault(key, len(chan_index)) for key in rec.channels], dtype=np.int64
        )
        t_parts.append(rec.host_t_s)
        ch_parts.append(lut[rec.channel] if len(lut) else rec.channel)
        start_parts.append(rec.payload_start + base)
        len_parts.append(rec.payload_len)
        blobs.append(rec.blob)
        base += len(rec.blob)
    i64 = np.empty(0, dtype=np.int64)
    return NotificationColumns(
        channels=tuple(sorted(chan_index, key=chan_index.__getitem__)),
        host_t_s=np.concatenate([np.empty(0), *t_parts]),
        channel=np.concatenate([i64, *ch_parts]),
        payload_start=np.concatenate([i64, *start_parts]),
        payload_len=np.concatenate([i64, *len_parts]),
        blob=b"".join(blobs),
    )


@dataclass(frozen=True, slots=True)
class ReplayItem:
    """One decoded notification of a paced replay (``frame`` is ``None`` if it failed)."""

    sensor_id: str
    session_t_s: float
    frame: SensorFrame | None
    error: str | None = None


def iter_paced(
    rec: Recording,
    *,
    speed: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[ReplayItem]:
    """Yield the data notifications of ``rec`` in arrival order, decoded one at a time.

    ``speed=None`` runs as fast as possible; ``speed=1.0`` paces by the recorded receive
    times (real time), ``2.0`` twice as fast, and so on.
    """
    if speed is not None and not speed > 0:
        raise ValueError("speed must be positive")
    decoders = {}
    data_uuid = {}
    for e in rec.header.sensors:
        spec = get_protocol(e.protocol)
        decoders[e.sensor_id] = spec.decoder(e.config)
        data_uuid[e.sensor_id] = spec.data_uuid
    c = rec.columns
    chans = [(s, normalise_uuid(ch)) for s, ch in c.channels]
    t0_host = rec.header.host_t0_s
    start_wall: float | None = None
    start_rec = 0.0
    for k, t, s, n in zip(
        c.channel.tolist(),
        c.host_t_s.tolist(),
        c.payload_start.tolist(),
        c.payload_len.tolist(),
        strict=True,
    ):
        sensor_id, ch = chans[k]
        if sensor_id not in decoders or ch != data_uuid[sensor_id]:
            continue
        t_session = t - t0_host
        if speed is not None:
            if start_wall is None:
                start_wall, start_rec = clock(), t_session
            due = start_wall + (t_session - start_rec) / speed
            wait = due - clock()
            if wait > 0:
                sleep(wait)
        try:
            frames = decoders[sensor_id].decode(ch, c.blob[s : s + n])
        except DecodeError as exc:
            yield ReplayItem(sensor_id, t_session, None, str(exc))
            continue
        for f in frames:
            yield ReplayItem(sensor_id, t_session, f)
