"""BLE backends a session can run on: ``auto`` (bleak's platform default), ``bumble:<moniker>``
(bumble host stack on a dedicated controller) and ``sim`` (emulated sensors on an in-process
virtual radio).

A backend is an async context manager exposing the bleak backend classes to pass as
``backend=`` (``None`` = bleak's own platform backend)::

    async with sim_backend(PRESETS["healthy"].with_(fs_hz=200.0)) as be:
        async with BleakScanner(cb, backend=be.scanner): ...
        client = BleakClient(device, backend=be.client)

:func:`make_backend` turns the CLI spelling (``auto``, ``sim``, ``bumble:usb:0``) into one.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner
from bumble.core import AdvertisingData
from bumble.device import Device
from bumble.gatt import GATT_HEART_RATE_SERVICE
from bumble.hci import Address
from bumble.link import LocalLink

from imugait.errors import ConfigError
from imugait.ingest.protocols.reference import PROTOCOL_NAME as REF_PROTOCOL
from imugait.sim import Scenario, Simulation, simulate

from .backend_bumble import (
    DEFAULT_REQUESTED_MTU,
    BumbleAdapter,
    BumbleClient,
    BumbleScanner,
    bind_backend,
)
from .config import SensorConfig, SessionConfig
from .emulator import ADVERTISING_INTERVAL_MS, EmulatedSensor, SensorFaults, new_bumble_device
from .models import SampleSource


class BleBackend:
    """Base: the bleak backend classes of a radio, and its life cycle."""

    name = "auto"

    def __init__(self) -> None:
        self.scanner: type[BaseBleakScanner] | None = None
        self.client: type[BaseBleakClient] | None = None

    async def start(self) -> None:
        """Bring the radio up (no-op for bleak's platform backend)."""

    async def stop(self) -> None:
        """Release the radio."""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


class BumbleHostBackend(BleBackend):
    """bumble as the host stack on a controller reached through a bumble transport moniker
    (``usb:0``, ``serial:/dev/ttyACM0,1000000,rtscts``, ``hci-socket:0``...), bypassing BlueZ.

    Needs hardware; not exercised by the tests (there is no controller on CI machines).
    """

    name = "bumble"
    scanner: type[BumbleScanner]
    client: type[BumbleClient]

    def __init__(self, moniker: str, *, requested_mtu: int = DEFAULT_REQUESTED_MTU) -> None:
        super().__init__()
        if not moniker:
            raise ConfigError("bumble backend: give a transport, e.g. bumble:usb:0")
        self.moniker = moniker
        self._transport: Any = None
        self.adapter = BumbleAdapter(
            open_device=self._open, close_device=self._close, requested_mtu=requested_mtu
        )
        self.scanner, self.client = bind_backend(self.adapter)

    async def _open(self) -> Device:
        from bumble.transport import open_transport

        self._transport = await open_transport(self.moniker)
        device = Device.with_hci(
            "imugait",
            Address.generate_static_address(),
            self._transport.source,
            self._transport.sink,
        )
        await device.power_on()
        return device

    async def _close(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            await transport.close()

    async def stop(self) -> None:
        await self.adapter.close()


def sim_sensor_address(i: int) -> str:
    """Static random address of emulated sensor ``i`` (0-based)."""
    return f"C0:1D:00:00:{(i + 1) >> 8:02X}:{(i + 1) & 0xFF:02X}"


def sim_sensor_name(i: int) -> str:
    """Advertised name of emulated sensor ``i``: ``IMG-`` + last two address bytes."""
    return "IMG-" + sim_sensor_address(i).replace(":", "")[-4:]


class SimBackend(BleBackend):
    """Emulated sensors worn by a simulated walker, on an in-process bumble ``LocalLink``.

    Use :func:`sim_backend` to build one. ``sensors`` are the emulated peripherals (their
    ``stats`` are the ground truth of what was sent and dropped).
    """

    name = "sim"
    scanner: type[BumbleScanner]
    client: type[BumbleClient]

    def __init__(
        self,
        sensors: Sequence[EmulatedSensor],
        *,
        distractors: int = 1,
        requested_mtu: int = DEFAULT_REQUESTED_MTU,
    ) -> None:
        super().__init__()
        self.sensors = list(sensors)
        self.link = LocalLink()  # type: ignore[no-untyped-call]
        self.n_distractors = distractors
        self._distractors: list[Device] = []
        self.adapter = BumbleAdapter(open_device=self._open_central, requested_mtu=requested_mtu)
        self.scanner, self.client = bind_backend(self.adapter)
        self.t0 = 0.0

    async def _open_central(self) -> Device:
        dev = new_bumble_device("imugait-central", self.link, Address("C0:CE:00:00:00:01"))
        await dev.power_on()
        return dev

    async def start(self) -> None:
        self.t0 = time.monotonic()
        await self.adapter.device()
        for s in self.sensors:
            await s.start(self.link, self.t0)
        for i in range(self.n_distractors):
            dev = new_bumble_device(f"HRM-{i}", self.link, Address(f"C0:EE:00:00:00:{i + 1:02X}"))
            dev.advertising_interval_min = dev.advertising_interval_max = ADVERTISING_INTERVAL_MS
            await dev.power_on()
            dev.advertising_data = bytes(
                AdvertisingData([
                    (AdvertisingData.FLAGS, bytes([0x06])),
                    (AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                     bytes(GATT_HEART_RATE_SERVICE.to_bytes())),
                    (AdvertisingData.COMPLETE_LOCAL_NAME, f"HRM-{i}".encode()),
                ])
            )  # fmt: skip
            await dev.start_advertising(auto_restart=True)
            self._distractors.append(dev)

    async def stop(self) -> None:
        for s in self.sensors:
            await s.stop()
        for dev in self._distractors:
            with contextlib.suppress(Exception):
                await dev.power_off()
        self._distractors.clear()
        await self.adapter.close()

    def sensor(self, key: str) -> EmulatedSensor:
        """An emulated sensor by name or label."""
        for s in self.sensors:
            if key in (s.name, s.label):
                return s
        raise KeyError(key)

    def session_config(
        self, *, subject_id: str, out: str | Path, discovery_timeout_s: float = 5.0
    ) -> SessionConfig:
        """A session config naming every emulated sensor (by name, at its location)."""
        return SessionConfig(
            subject_id=subject_id,
            out=Path(out),
            discovery_timeout_s=discovery_timeout_s,
            sensors=tuple(
                SensorConfig(
                    sensor_id=s.label,
                    location=s.location,
                    protocol=s.protocol,
                    rate_hz=s.model.source.fs_hz,
                    name=s.name,
                )
                for s in self.sensors
            ),
        )


def sim_backend(
    scenario: Scenario | None = None,
    *,
    simulation: Simulation | None = None,
    n_sensors: int | None = None,
    protocol: str | Sequence[str] = REF_PROTOCOL,
    faults: Mapping[str, SensorFaults] | None = None,
    distractors: int = 1,
    requested_mtu: int = DEFAULT_REQUESTED_MTU,
) -> SimBackend:
    """Emulated sensors driven by ``simulate(scenario)``.

    Parameters
    ----------
    scenario
        The walk (default: healthy, 30 s, 200 Hz). The motion repeats when a session runs
        longer than the scenario; the sensor clocks (offset, drift) keep running.
    simulation
        A ready ``simulate(...)`` result to use instead of simulating ``scenario``.
    n_sensors
        Number of emulated sensors (default: one per simulated location). Beyond the
        simulated locations the sensors repeat them (label ``LT2``...).
    protocol
        Protocol of the emulated sensors, or one per sensor (cycled). The sample source's
        rate must suit it (Polar and Movesense: 208 Hz, e.g. ``Scenario(fs_hz=208.0)``).
    faults
        Faults by sensor label (``"LT"``) or name (``"IMG-0001"``).
    distractors
        Other BLE devices advertising nearby (a heart-rate monitor), to be ignored.
    """
    if simulation is not None and scenario is not None:
        raise ValueError("give scenario or simulation, not both")
    sim = simulation or simulate(scenario or Scenario(duration_s=30.0, fs_hz=200.0))
    n = len(sim.sensors) if n_sensors is None else n_sensors
    if n < 1:
        raise ValueError("n_sensors must be >= 1")
    faults = dict(faults or {})
    protocols = [protocol] if isinstance(protocol, str) else list(protocol)
    if not protocols:
        raise ValueError("protocol: give at least one")
    sensors: list[EmulatedSensor] = []
    for i in range(n):
        simsensor = sim.sensors[i % len(sim.sensors)]
        cycle = i // len(sim.sensors)
        label = simsensor.sensor_id + (str(cycle + 1) if cycle else "")
        name = sim_sensor_name(i)
        sensors.append(
            EmulatedSensor(
                name=name,
                address=sim_sensor_address(i),
                protocol=protocols[i % len(protocols)],
                source=SampleSource.from_sim(simsensor),
                location=simsensor.location,
                faults=faults.pop(label, None) or faults.pop(name, None),
                label=label,
            )
        )
    if faults:
        raise ValueError(f"faults for unknown sensors: {sorted(faults)}")
    return SimBackend(sensors, distractors=distractors, requested_mtu=requested_mtu)


def make_backend(spec: str, **sim_kwargs: Any) -> BleBackend:
    """A backend from its CLI spelling: ``auto``, ``sim``, ``bumble:<transport moniker>``.

    ``sim_kwargs`` go to :func:`sim_backend` for ``sim``.
    """
    if spec == "auto":
        return BleBackend()
    if spec == "sim":
        return sim_backend(**sim_kwargs)
    if spec.startswith("bumble:"):
        return BumbleHostBackend(spec.removeprefix("bumble:"))
    raise ConfigError(f"unknown BLE backend {spec!r}; use auto, sim or bumble:<transport>")
