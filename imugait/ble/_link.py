"""One sensor's link in a live session: find, connect, configure, stream, reconnect.

Each configured sensor gets a :class:`SensorLink` task. Scanning and connection set-up go
through the session's *radio lock* (one scan or pending connection at a time: concurrent
scans on one adapter stop each other and controllers refuse a second pending LE connection,
``docs/ble.md`` §1.5, §3.5, §3.7); once connected, the links stream concurrently.
Reconnection follows ``docs/ble.md`` §3.6: back off, rescan for a fresh ``BLEDevice``,
``bleak_retry_connector.establish_connection``, re-subscribe, re-send the start commands and
tell the clock stage to re-anchor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError
from bleak_retry_connector import establish_connection

from imugait.errors import DeviceError

from .backends import BleBackend
from .config import SensorConfig
from .drivers import SensorDriver, read_battery_pct
from .stats import LinkState, SensorStats

log = logging.getLogger(__name__)

#: A raw notification as queued by the notify callback: (sensor_id, char_uuid, t, bytes).
RawNotification = tuple[str, str, float, bytearray]


@dataclass(frozen=True)
class SessionEvent:
    """An event to record, in order with the notifications (goes through the queue)."""

    host_t_s: float
    kind: str
    sensor_id: str | None
    data: dict[str, Any] = field(default_factory=dict)


class LinkHost(Protocol):
    """What a link needs from its session."""

    backend: BleBackend
    radio_lock: asyncio.Lock
    stopping: asyncio.Event

    def notify_callback(
        self, sensor_id: str, stats: SensorStats
    ) -> Callable[[BleakGATTCharacteristic, bytearray], None]:
        """The notify callback for one sensor (timestamps and enqueues, nothing else)."""
        ...

    def post_event(self, event: SessionEvent) -> Awaitable[None]:
        """Queue an event behind the notifications already queued."""
        ...

    def header_config(self, sensor_id: str) -> Mapping[str, Any] | None:
        """The sensor's decoder config in the recording header, ``None`` before it is fixed."""
        ...

    def sensor_ready(self, sensor_id: str, config: Mapping[str, Any]) -> None:
        """The sensor streams with decoder ``config``; :class:`DeviceError` if the recording
        header (already written) cannot decode it."""
        ...

    def attempt_done(self, sensor_id: str) -> None:
        """The first connection attempt of the sensor ended (either way)."""
        ...


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Back-off between reconnection attempts and rescan windows, seconds."""

    first_delay_s: float = 0.2
    max_delay_s: float = 5.0
    factor: float = 2.0
    scan_window_s: float = 2.0
    connect_attempts: int = 2
    command_timeout_s: float = 5.0


class SensorLink:
    """The connection life cycle of one configured sensor."""

    def __init__(
        self,
        *,
        sensor: SensorConfig,
        driver: SensorDriver,
        stats: SensorStats,
        host: LinkHost,
        retry: RetryPolicy,
    ) -> None:
        self.sensor = sensor
        self.driver = driver
        self.stats = stats
        self.host = host
        self.retry = retry
        self.client: BleakClient | None = None
        self._lost = asyncio.Event()
        self._battery_read = False

    # -- finding -----------------------------------------------------------------------------

    def _matches(self, device: BLEDevice, adv: AdvertisementData) -> bool:
        return self.sensor.matches(adv.local_name or device.name, device.address)

    async def _rescan(self) -> BLEDevice | None:
        async with self.host.radio_lock:
            if self.host.stopping.is_set():
                return None
            scanner = self.host.backend.scanner
            extra: dict[str, Any] = {} if scanner is None else {"backend": scanner}
            return await BleakScanner.find_device_by_filter(
                self._matches, timeout=self.retry.scan_window_s, **extra
            )

    # -- connecting --------------------------------------------------------------------------

    def _on_disconnect(self, client: BleakClient) -> None:
        if client is self.client:
            self._lost.set()

    async def _connect(self, device: BLEDevice) -> BleakClient:
        async with self.host.radio_lock:
            if self.host.stopping.is_set():
                raise DeviceError("session stopping")
            self.stats.state = (
                LinkState.CONNECTING if self.stats.connections == 0 else LinkState.RECONNECTING
            )
            self._lost.clear()
            client = await establish_connection(
                BleakClient,
                device,
                self.sensor.label,
                disconnected_callback=self._on_disconnect,
                max_attempts=self.retry.connect_attempts,
                backend=self.host.backend.client,
            )
            self.client = client
        return client

    async def _set_up(self, client: BleakClient) -> dict[str, Any]:
        timeout = self.retry.command_timeout_s
        if not self._battery_read:
            with contextlib.suppress(BleakError, TimeoutError):
                self.stats.battery_pct = await asyncio.wait_for(read_battery_pct(client), timeout)
            self._battery_read = True
        header = self.host.header_config(self.sensor.sensor_id)
        info = await asyncio.wait_for(
            self.driver.configure(client, self.sensor, header=header), timeout
        )
        callback = self.host.notify_callback(self.sensor.sensor_id, self.stats)
        await asyncio.wait_for(self.driver.subscribe(client, callback), timeout)
        return info

    async def _announce(self, client: BleakClient, device: BLEDevice, info: dict[str, Any]) -> None:
        sid = self.sensor.sensor_id
        now = time.monotonic()
        reconnect = self.stats.connections > 0
        self.stats.connections += 1
        self.stats.address = device.address
        self.stats.att_mtu = client.mtu_size
        data = {"address": device.address, "name": device.name, "att_mtu": client.mtu_size}
        await self.host.post_event(SessionEvent(now, "connected", sid, data))
        await self.host.post_event(SessionEvent(now, "sensor_info", sid, info))
        if self.stats.battery_pct is not None and not reconnect:
            await self.host.post_event(
                SessionEvent(now, "battery", sid, {"battery_pct": self.stats.battery_pct})
            )
        if reconnect:
            await self.host.post_event(SessionEvent(now, "reanchor", sid, {}))

    async def _disconnect_quietly(self, client: BleakClient) -> None:
        self.client = None
        with contextlib.suppress(BleakError, TimeoutError, OSError):
            await asyncio.wait_for(client.disconnect(), self.retry.command_timeout_s)

    # -- the life cycle ----------------------------------------------------------------------

    async def run(self, device: BLEDevice | None) -> None:
        """Keep the sensor streaming until the session stops."""
        delay = self.retry.first_delay_s
        sid = self.sensor.sensor_id
        while not self.host.stopping.is_set():
            if device is None:
                device = await self._rescan()
                if device is None:
                    await self._sleep(delay)
                    delay = min(delay * self.retry.factor, self.retry.max_delay_s)
                    continue
            client: BleakClient | None = None
            try:
                client = await self._connect(device)
                info = await self._set_up(client)
                await self._announce(client, device, info)
                final = await asyncio.wait_for(
                    self.driver.start(client, self.sensor), self.retry.command_timeout_s
                )
                self.host.sensor_ready(sid, final)
                await self.host.post_event(
                    SessionEvent(time.monotonic(), "streaming", sid, {"config": dict(final)})
                )
            except (BleakError, DeviceError, TimeoutError, OSError) as exc:
                if self.host.stopping.is_set():
                    return
                msg = f"{type(exc).__name__}: {exc}"
                self.stats.last_error = msg
                log.warning("sensor %s: connection failed: %s", self.sensor.label, msg)
                await self.host.post_event(
                    SessionEvent(time.monotonic(), "connect_failed", sid, {"error": msg})
                )
                if client is not None:
                    await self._disconnect_quietly(client)
                self.host.attempt_done(sid)
                device = None
                await self._sleep(delay)
                delay = min(delay * self.retry.factor, self.retry.max_delay_s)
                continue
            self.host.attempt_done(sid)
            self.stats.connected = True
            self.stats.state = LinkState.STREAMING
            delay = self.retry.first_delay_s
            await self._wait_lost()
            if self.host.stopping.is_set():
                return
            self.client = None
            self.stats.connected = False
            self.stats.disconnections += 1
            self.stats.state = LinkState.RECONNECTING
            log.warning("sensor %s: disconnected; reconnecting", self.sensor.label)
            await self.host.post_event(
                SessionEvent(time.monotonic(), "disconnected", sid, {"by": "peer"})
            )
            device = None
            await self._sleep(delay)

    async def _sleep(self, delay_s: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.host.stopping.wait(), delay_s)

    async def _wait_lost(self) -> None:
        lost = asyncio.ensure_future(self._lost.wait())
        stop = asyncio.ensure_future(self.host.stopping.wait())
        try:
            await asyncio.wait({lost, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            stop.cancel()

    async def close(self) -> None:
        """Stop the stream and disconnect (best effort, bounded in time)."""
        client = self.client
        if client is None:
            return
        if client.is_connected:
            with contextlib.suppress(BleakError, TimeoutError, OSError):
                await asyncio.wait_for(self.driver.stop(client), self.retry.command_timeout_s)
        await self._disconnect_quietly(client)
        self.stats.connected = False
