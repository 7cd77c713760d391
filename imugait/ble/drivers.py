"""Host-side protocol drivers: what a live session writes/reads to set up and run a sensor.

The decoding of notifications is the protocol module's job (:mod:`imugait.ingest.protocols`);
a driver adds the *conversation*: the decoder config to store in the recording header, the
configuration sequence after each (re)connection, and the start/stop commands. One small
class per protocol; :data:`DRIVERS` maps protocol names to them.

Everything here goes through the public bleak API (``BleakClient``), whatever the backend.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

from bleak import BleakClient
from bleak.exc import BleakError, BleakGATTProtocolError

from imugait.errors import ConfigError, DecodeError, DeviceError
from imugait.ingest.protocols import reference as ref

from .config import SensorConfig

#: Standard Battery Service / Battery Level characteristic.
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"


class SensorDriver(abc.ABC):
    """Set-up and start/stop of one protocol's sensors over a connected ``BleakClient``."""

    protocol: ClassVar[str]

    @abc.abstractmethod
    def header_config(self, sensor: SensorConfig) -> dict[str, Any]:
        """Decoder config for the recording header (``ConfigError`` if the sensor config
        cannot work with this protocol)."""

    @abc.abstractmethod
    def notify_uuids(self) -> list[str]:
        """Characteristics to subscribe to."""

    @abc.abstractmethod
    async def configure(self, client: BleakClient, sensor: SensorConfig) -> dict[str, Any]:
        """Stop, configure and verify the sensor; returns what it reports (JSON-able).

        Raises :class:`DeviceError` if the sensor refuses or reports another configuration
        than the header's.
        """

    @abc.abstractmethod
    async def start(self, client: BleakClient) -> None:
        """Start streaming (after subscribing)."""

    @abc.abstractmethod
    async def stop(self, client: BleakClient) -> None:
        """Stop streaming."""


async def read_battery_pct(client: BleakClient) -> int | None:
    """Battery level in % from the standard Battery Service, ``None`` if there is none."""
    if client.services.get_characteristic(BATTERY_LEVEL_UUID) is None:
        return None
    raw = await client.read_gatt_char(BATTERY_LEVEL_UUID)
    return int(raw[0]) if raw else None


class ReferenceDriver(SensorDriver):
    """Host sequence of ``imugait-ref-1`` (``firmware_notes/reference_protocol.md`` §5.4).

    STOP, SET_ODR (whole-Hz rates), SET_RANGES, SET_SAMPLES_PER_FRAME (stepping down while
    the sensor answers BAD_VALUE, i.e. the frame does not fit its MTU), then INFO is read and
    checked against the header config: same rate and ranges, at most as many samples per
    frame (the decoder accepts shorter frames).
    """

    protocol: ClassVar[str] = ref.PROTOCOL_NAME

    def __init__(self, *, acc_range_g: int = 16, gyr_range_dps: int = 2000) -> None:
        if acc_range_g not in ref.ACC_RANGES_G or gyr_range_dps not in ref.GYR_RANGES_DPS:
            raise ValueError("unsupported ranges")
        self.acc_range_g = acc_range_g
        self.gyr_range_dps = gyr_range_dps

    def config_for(self, sensor: SensorConfig) -> ref.ReferenceConfig:
        try:
            return ref.ReferenceConfig(
                odr_hz=sensor.rate_hz,
                acc_range_g=self.acc_range_g,
                gyr_range_dps=self.gyr_range_dps,
                samples_per_frame=sensor.samples_per_frame,
            )
        except ValueError as exc:
            raise ConfigError(f"sensor {sensor.label}: {exc}") from None

    def header_config(self, sensor: SensorConfig) -> dict[str, Any]:
        return dict(self.config_for(sensor).to_dict())

    def notify_uuids(self) -> list[str]:
        return [ref.DATA_UUID]

    async def _command(self, client: BleakClient, command: ref.ControlCommand) -> None:
        await client.write_gatt_char(ref.CONTROL_UUID, ref.encode_command(command), response=True)

    async def configure(self, client: BleakClient, sensor: SensorConfig) -> dict[str, Any]:
        want = self.config_for(sensor)
        try:
            await self._command(client, ref.Stop())
            if want.odr_hz.is_integer():
                await self._command(client, ref.SetOdr(odr_hz=int(want.odr_hz)))
            await self._command(
                client,
                ref.SetRanges(acc_range_g=want.acc_range_g, gyr_range_dps=want.gyr_range_dps),
            )
            n = want.samples_per_frame
            while True:
                try:
                    await self._command(client, ref.SetSamplesPerFrame(samples_per_frame=n))
                    break
                except BleakGATTProtocolError as exc:
                    if int(exc.code) != ref.ControlStatus.BAD_VALUE or n == 1:
                        raise
                    n -= 1
            info = ref.decode_info(await client.read_gatt_char(ref.INFO_UUID))
        except BleakGATTProtocolError as exc:
            raise DeviceError(
                f"sensor {sensor.label} refused its configuration: "
                f"{ref.control_error_message(int(exc.code))}"
            ) from None
        except DecodeError as exc:
            raise DeviceError(f"sensor {sensor.label}: bad INFO: {exc}") from None
        got = info.config
        if (got.odr_hz, got.acc_range_g, got.gyr_range_dps) != (
            want.odr_hz,
            want.acc_range_g,
            want.gyr_range_dps,
        ) or got.samples_per_frame > want.samples_per_frame:
            raise DeviceError(
                f"sensor {sensor.label} reports {got.to_dict()}, configured {want.to_dict()}"
            )
        return {
            "firmware_version": info.firmware_version,
            "model": info.model,
            "config": got.to_dict(),
            "att_mtu": client.mtu_size,
        }

    async def start(self, client: BleakClient) -> None:
        await self._command(client, ref.Start())

    async def stop(self, client: BleakClient) -> None:
        await self._command(client, ref.Stop())


DRIVERS: dict[str, type[SensorDriver]] = {ReferenceDriver.protocol: ReferenceDriver}


def driver_for(protocol: str) -> SensorDriver:
    """A driver instance for ``protocol``; :class:`ConfigError` if live streaming of it is
    not implemented."""
    try:
        return DRIVERS[protocol]()
    except KeyError:
        raise ConfigError(
            f"no live driver for protocol {protocol!r}; have {', '.join(sorted(DRIVERS))}"
        ) from None


__all__ = [
    "BATTERY_LEVEL_UUID",
    "DRIVERS",
    "BleakError",
    "ReferenceDriver",
    "SensorDriver",
    "driver_for",
    "read_battery_pct",
]
