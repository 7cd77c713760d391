"""Discover supported sensors: one scan, matched by the service UUID of each registered protocol."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from imugait.ingest.protocols import PROTOCOLS

from .backends import BleBackend


@dataclass(frozen=True, slots=True)
class FoundSensor:
    """A supported sensor seen while scanning (strongest RSSI seen)."""

    name: str | None
    address: str
    rssi: int | None
    protocol: str


def protocol_of(service_uuids: list[str]) -> str | None:
    """The registered protocol whose service UUID is advertised, if any."""
    wanted = {u.lower() for u in service_uuids}
    for name, spec in PROTOCOLS.items():
        if spec.service_uuid in wanted:
            return name
    return None


async def scan_sensors(*, backend: BleBackend, timeout_s: float = 5.0) -> list[FoundSensor]:
    """Scan for ``timeout_s`` and list the supported sensors, sorted by name then address.

    Devices advertising none of the registered protocols' service UUIDs are ignored.
    """
    if not timeout_s > 0:
        raise ValueError("timeout_s must be positive")
    found: dict[str, FoundSensor] = {}

    def on_adv(device: BLEDevice, adv: AdvertisementData) -> None:
        protocol = protocol_of(adv.service_uuids)
        if protocol is None:
            return
        prev = found.get(device.address)
        rssi = adv.rssi
        if prev is not None and prev.rssi is not None and (rssi is None or prev.rssi >= rssi):
            rssi = prev.rssi
        name = adv.local_name or device.name or (prev.name if prev else None)
        found[device.address] = FoundSensor(name, device.address, rssi, protocol)

    uuids = [spec.service_uuid for spec in PROTOCOLS.values()]
    async with BleakScanner(on_adv, service_uuids=uuids, backend=backend.scanner):
        await asyncio.sleep(timeout_s)
    return sorted(found.values(), key=lambda f: (f.name or "", f.address))
