"""Emulated BLE IMU peripherals on an in-process bumble ``LocalLink`` (a virtual radio).

A virtual walker wears the sensors: each :class:`EmulatedSensor` is a bumble GATT server whose
frames are produced in real time from a simulated sensor (:func:`imugait.sim.simulate`)
through the real protocol encoder of its :class:`~imugait.ble.models.SensorModel`. Sample
``k`` becomes available at its *true* time; the frame carrying it is notified when its last
sample has been taken, with the sensor's own clock (offset and drift from the simulator) in
its timestamps.

Fault injection (:class:`SensorFaults`): dropped frames (the frame counter still advances, as
firmware does when its TX queue is full), held-back bursts, peripheral-initiated disconnects
with later re-advertising, a lower peripheral MTU (23 vs 247; bumble truncates notifications to
``ATT_MTU - 3`` bytes), firmware that ignores the MTU, slow start, a sensor that never appears.
The LocalLink has no radio timing (``docs/ble.md`` §1.4), so these are the losses there are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import zlib
from dataclasses import dataclass, field

from bumble.controller import Controller
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device
from bumble.gatt import (
    GATT_BATTERY_LEVEL_CHARACTERISTIC,
    GATT_BATTERY_SERVICE,
    Characteristic,
    Service,
)
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from imugait.types import Location

from . import models_vendor  # noqa: F401 - registers the Polar and Movesense models
from .models import MODELS, SampleSource, SensorModel

log = logging.getLogger(__name__)

#: Advertising interval of the emulated sensors, ms (bumble's default 1000 ms slows tests 50x).
ADVERTISING_INTERVAL_MS = 20.0


@dataclass(frozen=True, kw_only=True)
class SensorFaults:
    """Faults one emulated sensor injects. Times are seconds since the radio started.

    Parameters
    ----------
    drop_prob
        Probability that an assembled frame is dropped (seq still advances).
    drop_frames
        Indices of assembled frames (counted from 0 over the sensor's life) that are dropped.
    burst_every_s, burst_len
        Every ``burst_every_s`` the next ``burst_len`` frames are held back and then notified
        back to back (no loss, bursty arrival).
    disconnect_at_s
        Times at which the peripheral drops the connection itself.
    readvertise_after_s
        Delay before advertising again after a peripheral-initiated disconnect.
    advertise_delay_s
        Slow start: first advertisement this late.
    absent
        The sensor never advertises.
    max_mtu
        Largest ATT MTU the peripheral accepts (23 or 247 typically).
    ignore_mtu
        Firmware bug: frames keep their configured size whatever the MTU (they get truncated).
    battery_pct
        Battery Service level (0x180F), or ``None`` for a sensor without one.
    seed
        Seed of the drop draws.
    """

    drop_prob: float = 0.0
    drop_frames: frozenset[int] = frozenset()
    burst_every_s: float | None = None
    burst_len: int = 5
    disconnect_at_s: tuple[float, ...] = ()
    readvertise_after_s: float = 0.5
    advertise_delay_s: float = 0.0
    absent: bool = False
    max_mtu: int = 247
    ignore_mtu: bool = False
    battery_pct: int | None = 87
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.drop_prob < 1.0:
            raise ValueError(f"drop_prob must be in [0, 1), got {self.drop_prob}")
        if self.burst_every_s is not None and not self.burst_every_s > 0:
            raise ValueError("burst_every_s must be positive")
        if self.burst_len < 1:
            raise ValueError("burst_len must be >= 1")
        if not 23 <= self.max_mtu <= 517:
            raise ValueError(f"max_mtu must be in [23, 517], got {self.max_mtu}")
        if self.battery_pct is not None and not 0 <= self.battery_pct <= 100:
            raise ValueError("battery_pct must be in [0, 100]")
        object.__setattr__(self, "drop_frames", frozenset(self.drop_frames))


@dataclass
class EmulatorStats:
    """What one emulated sensor did (the ground truth for loss accounting).

    ``frames_assembled`` / ``dropped`` count frames, ``sent`` notifications (a Polar frame is
    two, a split Movesense packet too). ``dropped_at_end`` counts the drops after the last sent
    frame, which no host can see.
    """

    frames_assembled: int = 0
    sent: int = 0
    dropped: int = 0
    dropped_at_end: int = 0
    connections: int = 0
    peripheral_disconnects: int = 0
    sent_per_connection: list[int] = field(default_factory=list)


def new_bumble_device(name: str, link: LocalLink, address: Address) -> Device:
    """A bumble ``Device`` with its own controller on ``link`` (bumble's test wiring)."""
    controller = Controller(name, link=link, public_address=str(address))
    return Device(name=name, address=address, host=Host(controller, AsyncPipeSink(controller)))


class EmulatedSensor:
    """One emulated BLE IMU: bumble GATT server + protocol model + real-time frame pump.

    Parameters
    ----------
    name, address
        Advertised complete local name and static random address (``"C0:1D:00:00:00:01"``).
    protocol
        Protocol name of the model (a key of :data:`imugait.ble.models.MODELS`).
    source
        The samples the sensor measures.
    location
        Where the virtual walker wears it (for building session configs).
    faults
        Faults to inject.
    label
        Short id used by tests and session configs (default: the name).
    """

    def __init__(
        self,
        *,
        name: str,
        address: str,
        protocol: str,
        source: SampleSource,
        location: Location,
        faults: SensorFaults | None = None,
        label: str | None = None,
    ) -> None:
        if protocol not in MODELS:
            raise ValueError(f"no emulated model for protocol {protocol!r}; have {sorted(MODELS)}")
        self.name = name
        self.address = address
        self.location = location
        self.label = label or name
        self.faults = faults or SensorFaults()
        self.stats = EmulatorStats()
        self.model: SensorModel = MODELS[protocol](source=source, host=self)
        self.protocol = protocol
        self._device: Device | None = None
        self._conn: Connection | None = None
        self._pump: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._rng = random.Random(self.faults.seed * 1_000_003 + zlib.crc32(name.encode()))
        self._t0 = 0.0
        self._readvertise_delay_s = 0.0

    # -- ModelHost -------------------------------------------------------------------------

    @property
    def att_mtu(self) -> int:
        return int(self._conn.att_mtu) if self._conn is not None else 23

    @property
    def ignore_mtu(self) -> bool:
        return self.faults.ignore_mtu

    def start_stream(self) -> None:
        if self._pump is None or self._pump.done():
            self._pump = asyncio.get_running_loop().create_task(self._run_pump())

    def stop_stream(self) -> None:
        pump, self._pump = self._pump, None
        if pump is not None:
            pump.cancel()

    def notify_soon(self, characteristic: Characteristic[bytes], payload: bytes) -> None:
        dev = self._device
        if dev is not None and self._conn is not None:
            task = asyncio.get_running_loop().create_task(
                dev.notify_subscribers(characteristic, payload)
            )
            self._tasks.append(task)
            task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        with contextlib.suppress(ValueError):
            self._tasks.remove(task)

    # -- life cycle ------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._conn is not None

    async def start(self, link: LocalLink, t0: float) -> None:
        """Power on and start advertising (after the slow-start delay)."""
        self._t0 = t0
        if self.faults.absent:
            return
        dev = new_bumble_device(self.name, link, Address(self.address))
        for service in self.model.services():
            dev.add_service(service)
        if self.faults.battery_pct is not None:
            level = Characteristic(
                GATT_BATTERY_LEVEL_CHARACTERISTIC,
                Characteristic.Properties.READ,
                Characteristic.READABLE,
                bytes([self.faults.battery_pct]),
            )
            dev.add_service(Service(GATT_BATTERY_SERVICE, [level]))
        dev.gatt_server.max_mtu = self.faults.max_mtu
        dev.advertising_interval_min = dev.advertising_interval_max = ADVERTISING_INTERVAL_MS
        dev.on("connection", self._on_connection)
        await dev.power_on()
        # The spec puts the name in the scan response; bumble's LocalLink controller does not
        # model scan responses (it repeats the advertising data), so the name goes into the
        # advertising data: 3 + 18 + 2 + len(name) bytes, 31 for an 8-character name.
        dev.advertising_data = bytes(
            AdvertisingData([
                (AdvertisingData.FLAGS, bytes([0x06])),
                (
                    AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                    bytes(UUID(self.model.advertised_service_uuid).to_bytes()),
                ),
                (AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode()),
            ])
        )  # fmt: skip
        self._device = dev
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._advertise_later(self.faults.advertise_delay_s)))
        for t in self.faults.disconnect_at_s:
            self._tasks.append(loop.create_task(self._disconnect_at(t)))

    async def stop(self) -> None:
        """Stop everything and power off."""
        self.stop_stream()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        dev, self._device = self._device, None
        if dev is not None:
            with contextlib.suppress(Exception):
                await dev.stop_advertising()
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    await self._conn.disconnect()
            with contextlib.suppress(Exception):
                await dev.power_off()

    async def _advertise_later(self, delay_s: float) -> None:
        await asyncio.sleep(max(0.0, delay_s))
        if self._device is not None and self._conn is None:
            await self._device.start_advertising(auto_restart=False)

    async def _disconnect_at(self, t_s: float) -> None:
        await asyncio.sleep(max(0.0, self._t0 + t_s - time.monotonic()))
        conn = self._conn
        if conn is None:
            return
        self.stats.peripheral_disconnects += 1
        self._readvertise_delay_s = self.faults.readvertise_after_s
        with contextlib.suppress(Exception):
            await conn.disconnect()

    def _on_connection(self, conn: Connection) -> None:
        self._conn = conn
        self.stats.connections += 1
        self.stats.sent_per_connection.append(0)
        self.model.on_connection()
        conn.on("disconnection", self._on_disconnection)
        conn.on("connection_att_mtu_update", lambda: self.model.on_mtu(int(conn.att_mtu)))

    def _on_disconnection(self, reason: int) -> None:
        self._conn = None
        self.stop_stream()
        self.model.on_disconnection()
        delay, self._readvertise_delay_s = self._readvertise_delay_s, 0.0
        if self._device is not None:
            self._tasks.append(asyncio.get_running_loop().create_task(self._advertise_later(delay)))

    # -- the frame pump --------------------------------------------------------------------

    def _drop(self) -> bool:
        i = self.stats.frames_assembled
        if i in self.faults.drop_frames:
            return True
        return self.faults.drop_prob > 0 and self._rng.random() < self.faults.drop_prob

    async def _run_pump(self) -> None:
        """Assemble and notify frames in real time until cancelled."""
        src, model, dev = self.model.source, self.model, self._device
        assert dev is not None
        char = model.data_characteristic()
        k = src.first_index_after(time.monotonic() - self._t0)
        held: list[list[bytes]] = []
        next_burst = (
            None
            if self.faults.burst_every_s is None
            else time.monotonic() + self.faults.burst_every_s
        )
        hold_left = 0
        while True:
            n = model.samples_per_frame()
            due = self._t0 + src.true_t_s(k + n - 1)
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            payloads = model.encode_frame(k, n)
            k += n
            drop = self._drop()
            self.stats.frames_assembled += 1
            if drop:
                self.stats.dropped += 1
                self.stats.dropped_at_end += 1
                continue
            if next_burst is not None and time.monotonic() >= next_burst:
                hold_left = self.faults.burst_len
                next_burst += self.faults.burst_every_s or 0.0
            if hold_left > 0:
                held.append(payloads)
                hold_left -= 1
                if hold_left > 0:
                    continue
                out, held = [p for frame in held for p in frame], []
            else:
                out = payloads
            for p in out:
                if self._conn is None:
                    return
                # counted first and shielded: a STOP (pump cancelled) never splits the count
                # from the delivery
                self.stats.sent += 1
                self.stats.sent_per_connection[-1] += 1
                self.stats.dropped_at_end = 0
                await asyncio.shield(dev.notify_subscribers(char, p))
