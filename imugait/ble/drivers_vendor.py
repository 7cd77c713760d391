"""Live drivers of commodity sensors: Polar Verity Sense (PMD) and Movesense (GSP).

Both answer commands by notification, so these drivers subscribe through a thin wrapper of the
session's record callback: every notification is still recorded first (timestamp + enqueue),
and command responses are also copied to the driver's own response queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, ClassVar

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic

from imugait.errors import ConfigError, DecodeError, DeviceError
from imugait.ingest.protocols import movesense as ms
from imugait.ingest.protocols import polar as pm
from imugait.ingest.protocols._polar_pmd import (
    SDK_RATES_HZ,
    ControlResponse,
    MeasurementType,
    ResponseStatus,
    parse_control_notification,
    parse_features,
)

from .config import SensorConfig
from .drivers import RecordCallback, SensorDriver

#: Seconds to wait for a command response.
RESPONSE_TIMEOUT_S = 3.0


class PolarDriver(SensorDriver):
    """Host sequence of ``polar-pmd-1`` (``firmware_notes/polar_verity_sense.md`` §2.3).

    Reads the features, stops any running stream and leaves SDK mode, then at start enters SDK
    mode and starts ACC and GYRO at the same rate, keeping the FACTOR of each start response.
    """

    protocol: ClassVar[str] = pm.PROTOCOL_NAME

    def __init__(self, *, acc_range_g: int = 8, gyr_range_dps: int = 2000) -> None:
        self.acc_range_g = acc_range_g
        self.gyr_range_dps = gyr_range_dps
        self._responses: asyncio.Queue[bytes] = asyncio.Queue()

    def _config(self, sensor: SensorConfig) -> pm.PolarConfig:
        try:
            return pm.PolarConfig(
                rate_hz=round(sensor.rate_hz),
                acc_range_g=self.acc_range_g,
                gyr_range_dps=self.gyr_range_dps,
            )
        except ValueError as exc:
            raise ConfigError(f"sensor {sensor.label}: {exc}") from None

    def expected_config(self, sensor: SensorConfig) -> dict[str, Any]:
        if not float(sensor.rate_hz).is_integer():
            raise ConfigError(f"sensor {sensor.label}: rate_hz must be one of {SDK_RATES_HZ}")
        return dict(self._config(sensor).to_dict())

    async def subscribe(self, client: BleakClient, record: RecordCallback) -> None:
        def on_control(char: BleakGATTCharacteristic, data: bytearray) -> None:
            record(char, data)
            self._responses.put_nowait(bytes(data))

        await client.start_notify(pm.PMD_CONTROL_UUID, on_control)
        await client.start_notify(pm.PMD_DATA_UUID, record)

    async def _command(self, client: BleakClient, payload: bytes) -> ControlResponse:
        while not self._responses.empty():  # stale answers of an earlier exchange
            self._responses.get_nowait()
        await client.write_gatt_char(pm.PMD_CONTROL_UUID, payload, response=True)
        while True:
            raw = await asyncio.wait_for(self._responses.get(), RESPONSE_TIMEOUT_S)
            try:
                msg = parse_control_notification(raw)
            except DecodeError:
                continue
            if (
                isinstance(msg, ControlResponse)
                and msg.opcode == payload[0]
                and msg.measurement_type == payload[1]
            ):
                return msg

    async def configure(
        self, client: BleakClient, sensor: SensorConfig, *, header: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        try:
            features = parse_features(await client.read_gatt_char(pm.PMD_CONTROL_UUID))
        except DecodeError as exc:
            raise DeviceError(f"sensor {sensor.label}: bad PMD feature read: {exc}") from None
        needed = {MeasurementType.ACC, MeasurementType.GYRO, MeasurementType.SDK_MODE}
        if not needed <= features:
            missing = sorted(t.name for t in needed - features)
            raise DeviceError(f"sensor {sensor.label} lacks PMD features {missing}")
        return {"features": sorted(t.name for t in features), "att_mtu": client.mtu_size}

    async def start(self, client: BleakClient, sensor: SensorConfig) -> dict[str, Any]:
        cfg = self._config(sensor)
        for cmd in pm.stop_commands():  # a sensor left streaming cannot change SDK mode
            await self._command(client, cmd)
        factors: dict[int, float] = {}
        for cmd in pm.start_commands(cfg):
            resp = await self._command(client, cmd)
            if not resp.ok and not (
                resp.measurement_type == MeasurementType.SDK_MODE
                and resp.status == ResponseStatus.ERROR_ALREADY_IN_STATE
            ):
                raise DeviceError(
                    f"sensor {sensor.label}: PMD start of type {resp.measurement_type} failed: "
                    f"{resp.status_name}"
                )
            if resp.ok and resp.measurement_type in (MeasurementType.ACC, MeasurementType.GYRO):
                try:
                    factors[resp.measurement_type] = resp.factor()
                except DecodeError as exc:
                    raise DeviceError(f"sensor {sensor.label}: {exc}") from None
        final = pm.PolarConfig(
            rate_hz=cfg.rate_hz,
            acc_range_g=cfg.acc_range_g,
            gyr_range_dps=cfg.gyr_range_dps,
            acc_factor=factors.get(MeasurementType.ACC, 1.0),
            gyr_factor=factors.get(MeasurementType.GYRO, 1.0),
        )
        return dict(final.to_dict())

    async def stop(self, client: BleakClient) -> None:
        for cmd in pm.stop_commands():
            await self._command(client, cmd)


class MovesenseDriver(SensorDriver):
    """Host sequence of ``movesense-gsp-1``: HELLO, then SUBSCRIBE ``/Meas/IMU6/<rate>``
    (status 200 expected), UNSUBSCRIBE to stop."""

    protocol: ClassVar[str] = ms.PROTOCOL_NAME
    hello_ref: ClassVar[int] = 2

    def __init__(self) -> None:
        self._responses: asyncio.Queue[ms.CommandResult] = asyncio.Queue()
        self._config = ms.MovesenseConfig()

    def expected_config(self, sensor: SensorConfig) -> dict[str, Any]:
        rate = sensor.rate_hz
        if not float(rate).is_integer() or round(rate) not in ms.IMU_RATES_HZ:
            raise ConfigError(f"sensor {sensor.label}: rate_hz must be one of {ms.IMU_RATES_HZ}")
        return dict(ms.MovesenseConfig(rate_hz=round(rate), ref=1).to_dict())

    async def subscribe(self, client: BleakClient, record: RecordCallback) -> None:
        def on_notify(char: BleakGATTCharacteristic, data: bytearray) -> None:
            record(char, data)
            if data and data[0] == ms.Reply.COMMAND_RESULT and len(data) >= 2:
                self._responses.put_nowait(ms.CommandResult(data[1], bytes(data[2:])))

        await client.start_notify(ms.NOTIFY_UUID, on_notify)

    async def _command(self, client: BleakClient, payload: bytes) -> ms.CommandResult:
        while not self._responses.empty():
            self._responses.get_nowait()
        await client.write_gatt_char(ms.WRITE_UUID, payload, response=True)
        while True:
            res = await asyncio.wait_for(self._responses.get(), RESPONSE_TIMEOUT_S)
            if res.ref == payload[1]:
                return res

    async def configure(
        self, client: BleakClient, sensor: SensorConfig, *, header: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        self._config = ms.MovesenseConfig.from_dict(header or self.expected_config(sensor))
        return {"att_mtu": client.mtu_size}

    async def start(self, client: BleakClient, sensor: SensorConfig) -> dict[str, Any]:
        hello = await self._command(client, ms.encode_hello(self.hello_ref))
        if hello.data != b"Hello":
            raise DeviceError(f"sensor {sensor.label}: unexpected HELLO answer {hello.data!r}")
        cfg = self._config
        res = await self._command(client, ms.encode_subscribe(cfg.ref, cfg.path))
        if res.status != ms.HTTP_OK:
            raise DeviceError(f"sensor {sensor.label}: SUBSCRIBE {cfg.path} answered {res.status}")
        return dict(cfg.to_dict())

    async def stop(self, client: BleakClient) -> None:
        await self._command(client, ms.encode_unsubscribe(self._config.ref))
