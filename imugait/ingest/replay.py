"""Replay a recording through the same protocol decoders the live path uses.

Two ways, same decoder, same numbers:

* :func:`decode_recording` decodes every sensor at once (vectorised where the protocol
  offers a bulk decoder) into one :class:`~imugait.types.FrameBatch` per sensor, on the
  session clock (``host_t_s - header.host_t0_s``). This is the offline path.
* :func:`iter_paced` yields notifications one by one in arrival order, optionally paced at a
  multiple of real time, decoded one frame at a time exactly as the live BLE callback
  path decodes them.

A notification that does not decode is counted and reported, never fatal.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np

from imugait.errors import DecodeError
from imugait.ingest.protocols import get_protocol, normalise_uuid
from imugait.ingest.protocols.reference import PROTOCOL_NAME as REF_NAME
from imugait.ingest.protocols.reference import ReferenceConfig, decode_frames_bulk
from imugait.ingest.recording import Recording, SensorEntry
from imugait.types import FrameBatch, SensorFrame


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


def _bulk_reference(
    config: Mapping[str, object], payloads: list[bytes]
) -> tuple[Callable[[np.ndarray], FrameBatch], list[int]]:
    cfg = ReferenceConfig.from_dict(config)
    dec = decode_frames_bulk(payloads, cfg)
    return dec.to_frame_batch, dec.bad_index.tolist()


def _data_mask(rec: Recording, entry: SensorEntry) -> np.ndarray:
    data_uuid = get_protocol(entry.protocol).data_uuid
    wanted = [
        k
        for k, (s, ch) in enumerate(rec.columns.channels)
        if s == entry.sensor_id and normalise_uuid(ch) == data_uuid
    ]
    return np.isin(rec.columns.channel, np.asarray(wanted, dtype=np.int64))


def decode_sensor(rec: Recording, entry: SensorEntry) -> DecodedSensor:
    """Decode all data notifications of one sensor of ``rec``."""
    spec = get_protocol(entry.protocol)
    m = _data_mask(rec, entry)
    c = rec.columns
    host = c.host_t_s[m] - rec.header.host_t0_s
    blob = c.blob
    payloads = [
        blob[s : s + n]
        for s, n in zip(c.payload_start[m].tolist(), c.payload_len[m].tolist(), strict=True)
    ]
    if entry.protocol == REF_NAME:
        to_batch, bad = _bulk_reference(entry.config, payloads)
        batch = to_batch(host)
    else:
        decoder = spec.decoder(entry.config)
        frames: list[SensorFrame] = []
        times: list[float] = []
        bad = []
        for i, (t, p) in enumerate(zip(host.tolist(), payloads, strict=True)):
            try:
                got = decoder.decode(spec.data_uuid, p)
            except DecodeError:
                bad.append(i)
                continue
            frames.extend(got)
            times.extend([t] * len(got))
        batch = FrameBatch.from_frames(times, frames)
    problems = (
        (
            f"sensor {entry.sensor_id}: {len(bad)} notification(s) failed to decode "
            f"(first at {host[bad[0]]:.3f} s)",
        )
        if bad
        else ()
    )
    return DecodedSensor(
        entry=entry,
        batch=batch,
        notifications=len(payloads),
        bad_notifications=len(bad),
        problems=problems,
    )


def decode_recording(rec: Recording) -> dict[str, DecodedSensor]:
    """Decode every sensor of ``rec`` (offline path), keyed by sensor id, in header order."""
    return {e.sensor_id: decode_sensor(rec, e) for e in rec.header.sensors}


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
