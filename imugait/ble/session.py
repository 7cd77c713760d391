"""The live BLE session runner (asyncio, bleak public API, any backend).

::

    result = await run_session(config, backend=be, processor=pipeline, stop_event=stop)

Data path. The notify callback only stamps ``time.monotonic()`` and ``put_nowait``\\ s the raw
``(sensor_id, char_uuid, t, bytes)`` into a *bounded* queue (a full queue drops and counts the
notification, never blocks, never grows). One consumer task writes every notification to the
crash-safe recording at once (:class:`~imugait.ingest.recording.RecordingWriter`, flushed from
a 0.25 s timer as well), decodes it with the protocol decoder and hands one
:class:`~imugait.types.FrameBatch` per notification (session clock) to
``processor.on_batch(sensor_id, batch)``. Bad packets are counted and logged, never fatal.

Links (:mod:`imugait.ble._link`). One scan finds all configured sensors (other devices are
ignored); they are connected one at a time and then stream concurrently. A sensor not found
within ``discovery_timeout_s`` is reported (``not_found`` event, log message) and looked for
in the background; the session fails with :class:`DeviceError` only if none is found.
On a disconnect the others go on; the link records ``disconnected``, reconnects with back-off,
re-subscribes, re-sends the start commands and records ``connected`` + ``reanchor``, which the
consumer turns into ``processor.on_reconnect(sensor_id)`` before the first batch of the new
connection (so the clock stage can call ``SensorClock.reanchor()``).

Ending: ``stop_event``, ``duration_s`` or cancellation (Ctrl-C) stop the streams, disconnect,
drain the queue and close the recording.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from bleak import BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from imugait.errors import DecodeError, DeviceError
from imugait.ingest.protocols import FrameDecoder, get_protocol
from imugait.ingest.recording import RecordingHeader, RecordingWriter, SensorEntry
from imugait.types import FrameBatch

from ._link import LinkHost, RawNotification, RetryPolicy, SensorLink, SessionEvent
from ._session_types import NullProcessor, Processor, SessionResult, SessionStatus
from .backends import BleBackend
from .config import SessionConfig
from .drivers import SensorDriver, driver_for
from .stats import LatencyRecorder, LinkState, SensorStats

__all__ = [
    "NullProcessor",
    "Processor",
    "SessionResult",
    "SessionStatus",
    "make_notify_callback",
    "run_session",
]

log = logging.getLogger(__name__)


def make_notify_callback(
    sensor_id: str,
    queue: asyncio.Queue[RawNotification | SessionEvent | None],
    stats: SensorStats,
    *,
    max_items: int,
) -> Callable[[BleakGATTCharacteristic, bytearray], None]:
    """The bleak notify callback of one sensor: timestamp, ``put_nowait``, nothing else.

    A queue holding ``max_items`` items drops the notification and counts it in
    ``stats.queue_overflows``: the callback never blocks and notifications never grow the
    queue beyond the bound. (Session events bypass the bound, so a link can always record a
    state change; there are a handful per connection.)
    """
    put, size = queue.put_nowait, queue.qsize

    def on_notify(char: BleakGATTCharacteristic, data: bytearray) -> None:
        t = time.monotonic()
        if size() >= max_items:
            stats.queue_overflows += 1
        else:
            put((sensor_id, char.uuid, t, data))

    return on_notify


class _Session(LinkHost):
    def __init__(
        self,
        config: SessionConfig,
        *,
        backend: BleBackend,
        processor: Processor,
        queue_size: int,
        retry: RetryPolicy,
    ) -> None:
        self.config = config
        self.backend = backend
        self.processor = processor
        self.retry = retry
        self.radio_lock = asyncio.Lock()
        self.stopping = asyncio.Event()
        self.queue_size = queue_size
        self.queue: asyncio.Queue[RawNotification | SessionEvent | None] = asyncio.Queue()
        self.drivers: dict[str, SensorDriver] = {
            s.sensor_id: driver_for(s.protocol) for s in config.sensors
        }
        self.header_configs = {
            s.sensor_id: self.drivers[s.sensor_id].expected_config(s) for s in config.sensors
        }
        self.header_fixed = False
        self.decoders: dict[str, FrameDecoder] = {}
        self.first_round: set[str] = set()
        self.first_round_done = asyncio.Event()
        self.stats = {s.sensor_id: SensorStats(s.sensor_id, s.protocol) for s in config.sensors}
        self.latency = LatencyRecorder()
        self.processor_errors = 0
        self.t0 = time.monotonic()
        self.writer: RecordingWriter | None = None
        # START restarts a frame counter at 0 (reference protocol §5.1): "-1 seen" makes the
        # frames lost before the first one received count too
        self._last_seq: dict[str, int] = dict.fromkeys(self.stats, -1)

    # -- LinkHost ----------------------------------------------------------------------------

    def notify_callback(
        self, sensor_id: str, stats: SensorStats
    ) -> Callable[[BleakGATTCharacteristic, bytearray], None]:
        return make_notify_callback(sensor_id, self.queue, stats, max_items=self.queue_size)

    async def post_event(self, event: SessionEvent) -> None:
        self.queue.put_nowait(event)

    def header_config(self, sensor_id: str) -> dict[str, Any] | None:
        return self.header_configs[sensor_id] if self.header_fixed else None

    def sensor_ready(self, sensor_id: str, config: Mapping[str, Any]) -> None:
        if not self.header_fixed:
            self.header_configs[sensor_id] = dict(config)
            return
        header = self.header_configs[sensor_id]
        if not self.drivers[sensor_id].compatible(header, config):
            raise DeviceError(
                f"sensor {self.config.sensor(sensor_id).label} now streams with {dict(config)}, "
                f"which the recording header's {header} cannot decode"
            )

    def attempt_done(self, sensor_id: str) -> None:
        self.first_round.discard(sensor_id)
        if not self.first_round:
            self.first_round_done.set()

    # -- discovery ---------------------------------------------------------------------------

    async def discover(self) -> dict[str, BLEDevice]:
        """One scan for all configured sensors, until all are found or the timeout."""
        found: dict[str, BLEDevice] = {}
        done = asyncio.Event()

        def on_adv(device: BLEDevice, adv: AdvertisementData) -> None:
            name = adv.local_name or device.name
            for s in self.config.sensors:
                if s.sensor_id not in found and s.matches(name, device.address):
                    found[s.sensor_id] = device
                    self.stats[s.sensor_id].address = device.address
                    if len(found) == len(self.config.sensors):
                        done.set()

        async with self.radio_lock, BleakScanner(on_adv, backend=self.backend.scanner):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), self.config.discovery_timeout_s)
        return found

    # -- recording ---------------------------------------------------------------------------

    def open_recording(
        self,
        *,
        overwrite: bool,
        metadata: dict[str, Any],
        calibration: dict[str, Any] | None = None,
    ) -> RecordingWriter:
        """Fix the decoder configs (as the sensors reported them) and create the file."""
        self.header_fixed = True
        self.decoders = {
            sid: get_protocol(self.config.sensor(sid).protocol).decoder(c)
            for sid, c in self.header_configs.items()
        }
        cfg = self.config
        entries = tuple(
            SensorEntry(
                sensor_id=s.sensor_id,
                protocol=s.protocol,
                location=s.location,
                address=s.address,
                name=s.name,
                config=self.header_configs[s.sensor_id],
            )
            for s in cfg.sensors
        )
        header = RecordingHeader(
            session_id=cfg.session_id or uuid.uuid4().hex,
            sensors=entries,
            host_t0_s=self.t0,
            subject_id=cfg.subject_id,
            metadata={"backend": self.backend.name, **metadata},
            calibration=calibration or {},
        )
        cfg.out.parent.mkdir(parents=True, exist_ok=True)
        self.writer = RecordingWriter(cfg.out, header, flush_interval_s=0.25, overwrite=overwrite)
        return self.writer

    # -- the consumer ------------------------------------------------------------------------

    def _count_seq(self, sensor_id: str, batch: FrameBatch, stats: SensorStats) -> None:
        last = self._last_seq[sensor_id]
        modulo = batch.seq_modulo
        for seq in batch.seq.tolist():
            if seq < 0:
                continue
            gap = (seq - last - 1) % modulo
            if gap < modulo // 2:  # larger: a duplicate or reordering, not a loss
                stats.lost_frames += gap
            last = seq
        self._last_seq[sensor_id] = last

    def _handle_event(self, ev: SessionEvent) -> None:
        assert self.writer is not None
        self.writer.write_event(ev.host_t_s, ev.kind, ev.data, sensor_id=ev.sensor_id)
        if ev.kind == "reanchor" and ev.sensor_id is not None:
            self._last_seq[ev.sensor_id] = -1
            try:
                self.processor.on_reconnect(ev.sensor_id)
            except Exception:
                self.processor_errors += 1
                log.exception("processor.on_reconnect(%s) failed", ev.sensor_id)

    def _handle_notification(self, item: RawNotification) -> None:
        assert self.writer is not None
        sensor_id, char_uuid, t, payload = item
        self.writer.write_notification(sensor_id, char_uuid, t, payload)
        stats = self.stats[sensor_id]
        stats.notifications += 1
        try:
            frames = self.decoders[sensor_id].decode(char_uuid, payload)
        except DecodeError as exc:
            stats.bad_packets += 1
            level = logging.WARNING if stats.bad_packets <= 5 else logging.DEBUG
            log.log(level, "sensor %s: bad packet (%d bytes): %s", sensor_id, len(payload), exc)
            return
        if not frames:
            return
        batch = FrameBatch.from_frames([t - self.t0] * len(frames), frames)
        stats.frames += batch.n_frames
        stats.samples += batch.n_samples
        self._count_seq(sensor_id, batch, stats)
        try:
            self.processor.on_batch(sensor_id, batch)
        except Exception:
            self.processor_errors += 1
            if self.processor_errors <= 5:
                log.exception("processor.on_batch(%s) failed", sensor_id)
        self.latency.add(time.monotonic() - t, t - self.t0)

    async def consume(self) -> None:
        """Write, decode and process queued items until the ``None`` sentinel."""
        while True:
            item = await self.queue.get()
            if item is None:
                return
            if isinstance(item, SessionEvent):
                self._handle_event(item)
            else:
                self._handle_notification(item)

    async def tick(self, on_status: Callable[[SessionStatus], None] | None, every_s: float) -> None:
        """Flush the recording every 0.25 s; report the status every ``every_s``."""
        next_status = time.monotonic()
        while True:
            await asyncio.sleep(0.25)
            if self.writer is not None and not self.writer.closed:
                self.writer.maybe_flush()
            now = time.monotonic()
            if now >= next_status:
                next_status = now + every_s
                for st in self.stats.values():
                    st.update_rates(now)
                if on_status is not None:
                    on_status(self.status(now))

    def status(self, now: float) -> SessionStatus:
        return SessionStatus(
            elapsed_s=now - self.t0,
            queue_depth=self.queue.qsize(),
            sensors=tuple(s.snapshot() for s in self.stats.values()),
        )


async def run_session(
    config: SessionConfig,
    *,
    backend: BleBackend,
    processor: Processor | None = None,
    on_status: Callable[[SessionStatus], None] | None = None,
    stop_event: asyncio.Event | None = None,
    duration_s: float | None = None,
    queue_size: int = 8192,
    status_interval_s: float = 1.0,
    retry: RetryPolicy | None = None,
    overwrite: bool = False,
    metadata: dict[str, Any] | None = None,
    calibration: dict[str, Any] | None = None,
    first_connect_timeout_s: float = 30.0,
) -> SessionResult:
    """Run a live session until ``stop_event`` is set, ``duration_s`` has passed or the task
    is cancelled; the recording is closed in every case.

    ``backend`` must be started (``async with backend:``). Raises :class:`DeviceError` when
    none of the configured sensors is found (no recording is created then) and
    :class:`~imugait.errors.ConfigError` for sensors no live driver supports.
    """
    if queue_size < 1:
        raise ValueError("queue_size must be >= 1")
    sess = _Session(
        config,
        backend=backend,
        processor=processor or NullProcessor(),
        queue_size=queue_size,
        retry=retry or RetryPolicy(),
    )
    found = await sess.discover()
    missing = [s for s in config.sensors if s.sensor_id not in found]
    if len(missing) == len(config.sensors):
        raise DeviceError(
            f"none of the configured sensors was found within {config.discovery_timeout_s:g} s: "
            + ", ".join(s.label for s in missing)
        )
    links = [
        SensorLink(
            sensor=s,
            driver=sess.drivers[s.sensor_id],
            stats=sess.stats[s.sensor_id],
            host=sess,
            retry=sess.retry,
        )
        for s in config.sensors
    ]
    # connect the sensors found (one at a time, in the links), and open the recording once each
    # has been tried, so that the header holds the configurations the sensors report
    sess.first_round = set(found)
    ticker = asyncio.create_task(sess.tick(on_status, status_interval_s))
    link_tasks = [asyncio.create_task(lk.run(found.get(lk.sensor.sensor_id))) for lk in links]
    consumer: asyncio.Task[None] | None = None
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sess.first_round_done.wait(), first_connect_timeout_s)
        writer = sess.open_recording(
            overwrite=overwrite, metadata=metadata or {}, calibration=calibration
        )
        now = time.monotonic()
        writer.write_event(now, "session_start", {"backend": backend.name})
        for s in missing:
            msg = (
                f"sensor {s.label} not found within {config.discovery_timeout_s:g} s; "
                "continuing with the others and still looking for it"
            )
            log.warning("%s", msg)
            sess.stats[s.sensor_id].state = LinkState.NOT_FOUND
            writer.write_event(now, "not_found", {"message": msg}, sensor_id=s.sensor_id)
        consumer = asyncio.create_task(sess.consume())
        waits: list[asyncio.Future[Any]] = [
            asyncio.ensure_future((stop_event or asyncio.Event()).wait())
        ]
        if duration_s is not None:
            waits.append(asyncio.ensure_future(asyncio.sleep(duration_s)))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
    finally:
        await _shut_down(sess, links, link_tasks, consumer, ticker)
    return SessionResult(
        path=config.out,
        duration_s=time.monotonic() - sess.t0,
        sensors={sid: st.snapshot() for sid, st in sess.stats.items()},
        not_found=tuple(s.sensor_id for s in missing),
        processor_errors=sess.processor_errors,
        latency=sess.latency,
    )


async def _shut_down(
    sess: _Session,
    links: list[SensorLink],
    link_tasks: list[asyncio.Task[None]],
    consumer: asyncio.Task[None] | None,
    ticker: asyncio.Task[None],
) -> None:
    """Stop streams, disconnect, drain the queue, close the recording (also on cancel)."""
    sess.stopping.set()
    try:
        for task in link_tasks:
            task.cancel()
        await asyncio.gather(*link_tasks, return_exceptions=True)
        await asyncio.gather(*(lk.close() for lk in links), return_exceptions=True)
        for st in sess.stats.values():
            st.state = LinkState.STOPPED
        if consumer is not None:
            sess.queue.put_nowait(None)
            await consumer
    finally:
        ticker.cancel()
        if consumer is not None:
            consumer.cancel()
        writer = sess.writer
        if writer is not None and not writer.closed:
            # anything still queued (the consumer was interrupted) is written, not processed
            while not sess.queue.empty():
                item = sess.queue.get_nowait()
                if isinstance(item, tuple):
                    writer.write_notification(item[0], item[1], item[2], item[3])
            writer.write_event(
                time.monotonic(),
                "session_end",
                {"sensors": {sid: st.to_json() for sid, st in sess.stats.items()}},
            )
            writer.close()
