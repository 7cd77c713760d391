"""Host-side protocol drivers: what a live session writes/reads to set up and run a sensor.

The decoding of notifications is the protocol module's job (:mod:`imugait.ingest.protocols`);
a driver adds the *conversation*: the decoder config to store in the recording header, the
configuration sequence after each (re)connection, and the start/stop commands. One small
class per protocol; :data:`DRIVERS` maps protocol names to them.

Everything here goes through the public bleak API (``BleakClient``), whatever the backend.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.exc import BleakGATTProtocolError

from imugait.errors import ConfigError, DecodeError, DeviceError
from imugait.ingest.protocols import get_protocol
from imugait.ingest.protocols import reference as ref

from .config import SensorConfig

#: The session's notify callback: timestamps and enqueues a notification.
RecordCallback = Callable[[BleakGATTCharacteristic, bytearray], None]

#: Standard Battery Service / Battery Level characteristic.
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"


class SensorDriver(abc.ABC):
    """Set-up and start/stop of one sensor over a connected ``BleakClient``.

    One instance per configured sensor (it may keep per-sensor state). The link calls, after
    each (re)connection: :meth:`configure`, :meth:`subscribe`, :meth:`start`.
    """

    protocol: ClassVar[str]

    @abc.abstractmethod
    def expected_config(self, sensor: SensorConfig) -> dict[str, Any]:
        """Decoder config the sensor should end up with (``ConfigError`` if the sensor config
        cannot work with this protocol); the header uses it for sensors never connected."""

    @abc.abstractmethod
    async def configure(
        self, client: BleakClient, sensor: SensorConfig, *, header: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Stop any running stream and configure; returns what the sensor reports (JSON-able).

        ``header`` is the decoder config already in the recording header (``None`` before
        the recording is opened): the new configuration must stay decodable with it.
        Raises :class:`DeviceError` if the sensor refuses.
        """

    async def subscribe(self, client: BleakClient, record: RecordCallback) -> None:
        """Enable notifications; every notification must reach ``record`` (the session's
        timestamp-and-enqueue callback). Default: the protocol's data characteristic."""
        await client.start_notify(get_protocol(self.protocol).data_uuid, record)

    @abc.abstractmethod
    async def start(self, client: BleakClient, sensor: SensorConfig) -> dict[str, Any]:
        """Start streaming; returns the decoder config now in force."""

    @abc.abstractmethod
    async def stop(self, client: BleakClient) -> None:
        """Stop streaming."""

    def compatible(self, header: Mapping[str, Any], actual: Mapping[str, Any]) -> bool:
        """Can notifications made under ``actual`` be decoded with ``header``?"""
        return dict(header) == dict(actual)


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
        self._config = ref.ReferenceConfig()

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

    def expected_config(self, sensor: SensorConfig) -> dict[str, Any]:
        return dict(self.config_for(sensor).to_dict())

    async def _command(self, client: BleakClient, command: ref.ControlCommand) -> None:
        await client.write_gatt_char(ref.CONTROL_UUID, ref.encode_command(command), response=True)

    async def configure(
        self, client: BleakClient, sensor: SensorConfig, *, header: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        want = self.config_for(sensor)
        n = want.samples_per_frame
        if header is not None:
            n = min(n, int(header.get("samples_per_frame", n)))
        try:
            await self._command(client, ref.Stop())
            if want.odr_hz.is_integer():
                await self._command(client, ref.SetOdr(odr_hz=int(want.odr_hz)))
            await self._command(
                client,
                ref.SetRanges(acc_range_g=want.acc_range_g, gyr_range_dps=want.gyr_range_dps),
            )
            while True:
                try:
                    await self._command(client, ref.SetSamplesPerFrame(samples_per_frame=n))
                    break
                except BleakGATTProtocolError as exc:
                    if int(exc.code) != ref.ControlStatus.BAD_VALUE or n == 1:
                        raise
                    n -= 1  # the frame does not fit the MTU (spec §5.4 step 3)
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
        ) or got.samples_per_frame > n:
            raise DeviceError(
                f"sensor {sensor.label} reports {got.to_dict()}, configured {want.to_dict()}"
            )
        self._config = got
        return {
            "firmware_version": info.firmware_version,
            "model": info.model,
            "config": got.to_dict(),
            "att_mtu": client.mtu_size,
        }

    async def start(self, client: BleakClient, sensor: SensorConfig) -> dict[str, Any]:
        await self._command(client, ref.Start())
        return dict(self._config.to_dict())

    async def stop(self, client: BleakClient) -> None:
        await self._command(client, ref.Stop())

    def compatible(self, header: Mapping[str, Any], actual: Mapping[str, Any]) -> bool:
        """Same rate and ranges, at most the header's samples per frame (shorter frames decode)."""
        h, a = dict(header), dict(actual)
        spf_ok = int(a.pop("samples_per_frame", 0)) <= int(h.pop("samples_per_frame", 0))
        return spf_ok and h == a


def _register() -> dict[str, type[SensorDriver]]:
    from .drivers_vendor import MovesenseDriver, PolarDriver

    return {
        ReferenceDriver.protocol: ReferenceDriver,
        PolarDriver.protocol: PolarDriver,
        MovesenseDriver.protocol: MovesenseDriver,
    }


#: Live drivers by protocol name.
DRIVERS: dict[str, type[SensorDriver]] = {}


def driver_for(protocol: str) -> SensorDriver:
    """A driver instance for ``protocol``; :class:`ConfigError` if live streaming of it is
    not implemented."""
    if not DRIVERS:
        DRIVERS.update(_register())
    try:
        return DRIVERS[protocol]()
    except KeyError:
        raise ConfigError(
            f"no live driver for protocol {protocol!r}; have {', '.join(sorted(DRIVERS))}"
        ) from None


__all__ = [
    "BATTERY_LEVEL_UUID",
    "DRIVERS",
    "RecordCallback",
    "ReferenceDriver",
    "SensorDriver",
    "driver_for",
    "read_battery_pct",
]
