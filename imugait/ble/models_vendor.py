"""Emulated commodity sensors: Polar Verity Sense (PMD, SDK mode) and Movesense (GSP, IMU6).

Like :class:`~imugait.ble.models.ReferenceModel`, each model is the GATT table, the command
handling and the frame production of one protocol, built on the protocol module's own
encoders (:mod:`imugait.ingest.protocols.polar`, :mod:`imugait.ingest.protocols.movesense`).
Documented deviations from the real devices are listed per class.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from bumble.att import ATT_Error
from bumble.device import Connection
from bumble.gatt import Characteristic, CharacteristicValue, Service

from imugait.errors import DecodeError
from imugait.ingest.protocols import movesense as ms
from imugait.ingest.protocols import polar as pm
from imugait.ingest.protocols._polar_pmd import (
    FEATURE_READ_CODE,
    MeasurementType,
    Opcode,
    ResponseStatus,
    SettingType,
    encode_control_response,
    encode_factor,
    parse_settings,
)

from .models import MODELS, ModelHost, SampleSource, SensorModel

#: Polar timestamps count ns from 2000-01-01; the emulated clock starts 24 years later.
POLAR_EPOCH_OFFSET_NS = 24 * 365 * 86_400 * 10**9
#: Smallest ATT MTU the emulated Verity streams at (real ones fill up to 232-byte packets).
POLAR_MIN_MTU = 70
_ATT_WRITE_NOT_PERMITTED = 0x03


class PolarModel(SensorModel):
    """Emulated Polar Verity Sense in SDK mode (``firmware_notes/polar_verity_sense.md``).

    The control point answers by notification (real devices use indications). ACC and GYRO
    stream together once both are started, ``samples_per_frame`` samples per frame, delta
    compressed; the GYRO start response carries a FACTOR of 2000/32768 deg/s per count and the
    ACC one none (factor 1, milli-g), as public captures show. The rate must be the sample
    source's rate (one of 26, 52, 104, 208, 416 Hz), others get INVALID_SAMPLE_RATE.
    """

    protocol: ClassVar[str] = pm.PROTOCOL_NAME
    gyr_factor: ClassVar[float] = 2000.0 / 32768.0

    def __init__(self, *, source: SampleSource, host: ModelHost, samples_per_frame: int = 12):
        super().__init__(source=source, host=host)
        self.spf = samples_per_frame
        self.sdk_mode = False
        self.started: set[MeasurementType] = set()
        self.config = pm.PolarConfig(rate_hz=208)
        self._data: Characteristic[bytes] = Characteristic(
            pm.PMD_DATA_UUID, Characteristic.Properties.NOTIFY, Characteristic.Permissions(0), b""
        )
        self._control: Characteristic[bytes] = Characteristic(
            pm.PMD_CONTROL_UUID,
            Characteristic.Properties.READ
            | Characteristic.Properties.WRITE
            | Characteristic.Properties.NOTIFY,
            Characteristic.READABLE | Characteristic.WRITEABLE,
            CharacteristicValue(read=self._features, write=self._on_control),
        )
        self._service = Service(pm.PMD_SERVICE_UUID, [self._control, self._data])

    @property
    def advertised_service_uuid(self) -> str:
        return pm.PMD_SERVICE_UUID

    def services(self) -> list[Service]:
        return [self._service]

    def data_characteristic(self) -> Characteristic[bytes]:
        return self._data

    def on_connection(self) -> None:
        self.sdk_mode = False
        self.started.clear()

    def on_disconnection(self) -> None:
        self.started.clear()
        self.host.stop_stream()

    def _features(self, connection: Connection) -> bytes:
        # byte 1: ACC (0x04) and GYRO (0x20); byte 2: SDK mode (0x02)
        return bytes([FEATURE_READ_CODE, 0x04 | 0x20, 0x02])

    def _reply(self, op: int, mtype: int, status: int, params: bytes = b"") -> None:
        payload = encode_control_response(op, mtype, status, parameters=params)
        self.host.notify_soon(self._control, payload)

    def _on_control(self, connection: Connection, value: bytes) -> None:
        if len(value) < 2:
            raise ATT_Error(_ATT_WRITE_NOT_PERMITTED)
        op, mtype = value[0], value[1]
        if op == Opcode.REQUEST_MEASUREMENT_START and mtype == MeasurementType.SDK_MODE:
            status = ResponseStatus.ERROR_INVALID_STATE if self.started else ResponseStatus.SUCCESS
            self.sdk_mode = self.sdk_mode or not self.started
            self._reply(op, mtype, status)
        elif op == Opcode.STOP_MEASUREMENT and mtype == MeasurementType.SDK_MODE:
            status = ResponseStatus.ERROR_INVALID_STATE if self.started else ResponseStatus.SUCCESS
            self.sdk_mode = self.sdk_mode and bool(self.started)
            self._reply(op, mtype, status)
        elif op == Opcode.REQUEST_MEASUREMENT_START and mtype in (
            MeasurementType.ACC,
            MeasurementType.GYRO,
        ):
            self._start(op, MeasurementType(mtype), value[2:])
        elif op == Opcode.STOP_MEASUREMENT and mtype in (MeasurementType.ACC, MeasurementType.GYRO):
            self.started.discard(MeasurementType(mtype))
            self.host.stop_stream()
            self._reply(op, mtype, ResponseStatus.SUCCESS)
        else:
            self._reply(op, mtype, ResponseStatus.ERROR_NOT_SUPPORTED)

    def _start(self, op: int, mtype: MeasurementType, settings_raw: bytes) -> None:
        try:
            settings = parse_settings(settings_raw)
        except DecodeError:
            self._reply(op, mtype, ResponseStatus.ERROR_INVALID_PARAMETER)
            return
        rate = settings.get(SettingType.SAMPLE_RATE, (0,))[0]
        rng = settings.get(SettingType.RANGE, (0,))[0]
        if not self.sdk_mode:
            status = ResponseStatus.ERROR_INVALID_STATE
        elif mtype in self.started:
            status = ResponseStatus.ERROR_ALREADY_IN_STATE
        elif self.host.att_mtu < POLAR_MIN_MTU:
            status = ResponseStatus.ERROR_INVALID_MTU
        elif rate != round(self.source.fs_hz):
            status = ResponseStatus.ERROR_INVALID_SAMPLE_RATE
        else:
            try:
                if mtype is MeasurementType.ACC:
                    self.config = replace(self.config, rate_hz=int(rate), acc_range_g=int(rng))
                else:
                    self.config = replace(self.config, rate_hz=int(rate), gyr_range_dps=int(rng))
                status = ResponseStatus.SUCCESS
            except ValueError:
                status = ResponseStatus.ERROR_INVALID_RANGE
        if status != ResponseStatus.SUCCESS:
            self._reply(op, mtype, status)
            return
        params = encode_factor(self.gyr_factor) if mtype is MeasurementType.GYRO else b""
        self._reply(op, mtype, status, params)
        self.started.add(mtype)
        if len(self.started) == 2:
            self.config = replace(self.config, gyr_factor=self.gyr_factor)
            self.host.start_stream()

    def samples_per_frame(self) -> int:
        return self.spf

    def encode_frame(self, k0: int, n: int) -> list[bytes]:
        acc, gyr = self.source.samples(k0, n)
        t_ns = POLAR_EPOCH_OFFSET_NS + round(self.source.sensor_t_s(k0) * 1e9)
        frames = pm.encode_stream(acc, gyr, self.config, t_first_ns=t_ns, samples_per_frame=n)
        return [payload for _, payload in frames]


class MovesenseModel(SensorModel):
    """Emulated Movesense with the GATT SensorData app (``firmware_notes/movesense.md``).

    HELLO answers ``Hello``; SUBSCRIBE ``/Meas/IMU6/<rate>`` at the source's rate answers 200
    and streams IMU6 packets of 8 samples (fewer when the MTU is small; a packet longer than
    one notification is split into DATA + DATA_PART2), other paths answer 404; UNSUBSCRIBE
    stops. Advertises the GSP service UUID (real sensors are reported to advertise 0xFDF3).
    """

    protocol: ClassVar[str] = ms.PROTOCOL_NAME

    def __init__(self, *, source: SampleSource, host: ModelHost, samples_per_packet: int = 8):
        super().__init__(source=source, host=host)
        self.spp = samples_per_packet
        self.ref: int | None = None
        self.config = ms.MovesenseConfig(rate_hz=104)
        self._notify: Characteristic[bytes] = Characteristic(
            ms.NOTIFY_UUID, Characteristic.Properties.NOTIFY, Characteristic.Permissions(0), b""
        )
        write: Characteristic[bytes] = Characteristic(
            ms.WRITE_UUID,
            Characteristic.Properties.WRITE,
            Characteristic.WRITEABLE,
            CharacteristicValue(write=self._on_command),
        )
        self._service = Service(ms.GSP_SERVICE_UUID, [write, self._notify])

    @property
    def advertised_service_uuid(self) -> str:
        return ms.GSP_SERVICE_UUID

    def services(self) -> list[Service]:
        return [self._service]

    def data_characteristic(self) -> Characteristic[bytes]:
        return self._notify

    def on_connection(self) -> None:
        self.ref = None

    def on_disconnection(self) -> None:
        self.ref = None
        self.host.stop_stream()

    def _on_command(self, connection: Connection, value: bytes) -> None:
        try:
            cmd = ms.decode_command(value)
        except DecodeError:
            raise ATT_Error(_ATT_WRITE_NOT_PERMITTED) from None
        if cmd.command is ms.Command.HELLO:
            self.host.notify_soon(self._notify, ms.encode_hello_response(cmd.ref))
        elif cmd.command is ms.Command.SUBSCRIBE:
            rate = round(self.source.fs_hz)
            if cmd.path != f"/Meas/IMU6/{rate}" or self.ref is not None:
                self.host.notify_soon(self._notify, ms.encode_command_result(cmd.ref, 404))
                return
            self.ref = cmd.ref
            self.config = ms.MovesenseConfig(rate_hz=rate, ref=cmd.ref)
            self.host.notify_soon(self._notify, ms.encode_command_result(cmd.ref, ms.HTTP_OK))
            self.host.start_stream()
        elif cmd.ref == self.ref:
            self.ref = None
            self.host.stop_stream()
            self.host.notify_soon(self._notify, ms.encode_command_result(cmd.ref, ms.HTTP_OK))

    def samples_per_frame(self) -> int:
        room = self.host.att_mtu - 3
        fits = (room - 6) // ms.IMU6_SAMPLE_BYTES
        if fits >= 1 or self.host.ignore_mtu:
            return min(self.spp, max(fits, 1)) if not self.host.ignore_mtu else self.spp
        return 1  # one sample (30 bytes) split over two notifications

    def encode_frame(self, k0: int, n: int) -> list[bytes]:
        acc, gyr = self.source.samples(k0, n)
        t_ms = round(self.source.sensor_t_s(k0) * 1e3) % ms.TIMESTAMP_MODULO_MS
        limit = None if self.host.ignore_mtu else self.host.att_mtu - 3
        return ms.encode_stream(
            acc,
            gyr,
            self.config,
            t_first_ms=t_ms,
            samples_per_packet=n,
            max_notification_bytes=limit,
        )


MODELS[PolarModel.protocol] = PolarModel
MODELS[MovesenseModel.protocol] = MovesenseModel
