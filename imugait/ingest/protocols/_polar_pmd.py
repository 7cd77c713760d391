"""Polar Measurement Data (PMD) service: constants and the control point.

Host-side description of the PMD control point as the Polar Verity Sense uses it in SDK mode:
command bytes, the settings TLVs, and the parsing of control-point responses (including the
FACTOR setting a start response may carry). Layouts follow the official open-source Polar BLE
SDK (``polarofficial/polar-ble-sdk``, Android sources ``BlePMDClient.kt``,
``PmdControlPointCommand.kt``, ``PmdControlPointResponse.kt``, ``PmdSetting.kt``,
``PmdMeasurementType.kt``); see ``firmware_notes/polar_verity_sense.md``. Pure functions, no I/O.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from imugait.errors import DecodeError

from .base import BytesLike

PMD_SERVICE_UUID: Final = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_UUID: Final = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA_UUID: Final = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

#: First byte of every control-point response (``PmdControlPointResponse``).
CONTROL_RESPONSE_CODE: Final = 0xF0
#: First byte of the control-point value read at connection (feature bitmap follows).
FEATURE_READ_CODE: Final = 0x0F
#: Low 6 bits of a measurement-type byte; bits 6-7 select the recording type (0 = online).
MEASUREMENT_TYPE_MASK: Final = 0x3F


class MeasurementType(IntEnum):
    """PMD measurement types (``PmdMeasurementType.kt``); the ones imugait uses, plus neighbours."""

    ECG = 0
    PPG = 1
    ACC = 2
    PPI = 3
    GYRO = 5
    MAGNETOMETER = 6
    SKIN_TEMP = 7
    SDK_MODE = 9


class Opcode(IntEnum):
    """Client-to-sensor control-point commands (``PmdControlPointCommandClientToService``)."""

    GET_MEASUREMENT_SETTINGS = 1
    REQUEST_MEASUREMENT_START = 2
    STOP_MEASUREMENT = 3
    GET_SDK_MODE_MEASUREMENT_SETTINGS = 4
    GET_MEASUREMENT_STATUS = 5
    GET_SDK_MODE_STATUS = 6


#: Sensor-initiated control-point notification: ``[0x01, type, type, ...]`` streams were stopped.
ONLINE_MEASUREMENT_STOPPED: Final = 0x01


class SettingType(IntEnum):
    """Settings TLV types (``PmdSetting.PmdSettingType``)."""

    SAMPLE_RATE = 0
    RESOLUTION = 1
    RANGE = 2
    RANGE_MILLIUNIT = 3
    CHANNELS = 4
    FACTOR = 5


#: Size in bytes of one value of each setting type (``PmdSetting.typeToFieldSize``).
SETTING_FIELD_BYTES: Final[Mapping[SettingType, int]] = {
    SettingType.SAMPLE_RATE: 2,
    SettingType.RESOLUTION: 2,
    SettingType.RANGE: 2,
    SettingType.RANGE_MILLIUNIT: 4,
    SettingType.CHANNELS: 1,
    SettingType.FACTOR: 4,
}


class ResponseStatus(IntEnum):
    """Status byte of a control-point response (``PmdControlPointResponseCode``)."""

    SUCCESS = 0
    ERROR_INVALID_OP_CODE = 1
    ERROR_INVALID_MEASUREMENT_TYPE = 2
    ERROR_NOT_SUPPORTED = 3
    ERROR_INVALID_LENGTH = 4
    ERROR_INVALID_PARAMETER = 5
    ERROR_ALREADY_IN_STATE = 6
    ERROR_INVALID_RESOLUTION = 7
    ERROR_INVALID_SAMPLE_RATE = 8
    ERROR_INVALID_RANGE = 9
    ERROR_INVALID_MTU = 10
    ERROR_INVALID_NUMBER_OF_CHANNELS = 11
    ERROR_INVALID_STATE = 12
    ERROR_DEVICE_IN_CHARGER = 13
    ERROR_DISK_FULL = 14


#: Verity Sense SDK-mode online streaming capabilities (``documentation/SdkModeExplained.md``).
SDK_RATES_HZ: Final = (26, 52, 104, 208, 416)
ACC_RANGES_G: Final = (2, 4, 8, 16)
GYR_RANGES_DPS: Final = (250, 500, 1000, 2000)
SDK_RESOLUTION_BITS: Final = 16


# ----------------------------------------------------------------------------- commands


def encode_sdk_mode(*, enable: bool) -> bytes:
    """Enter (``02 09``) or leave (``03 09``) SDK mode; no stream may be running."""
    op = Opcode.REQUEST_MEASUREMENT_START if enable else Opcode.STOP_MEASUREMENT
    return bytes([op, MeasurementType.SDK_MODE])


def encode_settings(settings: Mapping[SettingType, int]) -> bytes:
    """Serialise selected settings as TLVs ``type u8 | count u8 (=1) | value LE``.

    FACTOR is never sent (the sensor returns it), as in ``PmdSetting.serializeSelected``.
    """
    out = bytearray()
    for key in sorted(settings):
        stype = SettingType(key)
        if stype is SettingType.FACTOR:
            continue
        size = SETTING_FIELD_BYTES[stype]
        value = settings[key]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 256**size:
            raise ValueError(f"{stype.name} must be an int fitting {size} byte(s), got {value!r}")
        out += bytes([stype, 1]) + value.to_bytes(size, "little")
    return bytes(out)


def encode_start(
    measurement: MeasurementType,
    *,
    rate_hz: int,
    range_value: int,
    resolution_bits: int = SDK_RESOLUTION_BITS,
    channels: int | None = 3,
) -> bytes:
    """``REQUEST_MEASUREMENT_START`` for ACC (range in g) or GYRO (range in deg/s).

    E.g. ACC 208 Hz, 16 bit, ±8 g, 3 channels: ``02 02 00 01 d0 00 01 01 10 00 02 01 08 00 04 01 03``.
    ``channels=None`` leaves the CHANNELS TLV out.
    """
    mtype = MeasurementType(measurement)
    if mtype not in (MeasurementType.ACC, MeasurementType.GYRO):
        raise ValueError(f"encode_start supports ACC and GYRO, got {mtype.name}")
    settings = {
        SettingType.SAMPLE_RATE: rate_hz,
        SettingType.RESOLUTION: resolution_bits,
        SettingType.RANGE: range_value,
    }
    if channels is not None:
        settings[SettingType.CHANNELS] = channels
    return bytes([Opcode.REQUEST_MEASUREMENT_START, mtype]) + encode_settings(settings)


def encode_stop(measurement: MeasurementType) -> bytes:
    """``STOP_MEASUREMENT`` for one stream: ``03 <type>``."""
    return bytes([Opcode.STOP_MEASUREMENT, MeasurementType(measurement)])


def encode_get_settings(measurement: MeasurementType, *, sdk_mode: bool = False) -> bytes:
    """Ask for the available settings (``01 <type>``), or the full SDK-mode set (``04 <type>``)."""
    op = Opcode.GET_SDK_MODE_MEASUREMENT_SETTINGS if sdk_mode else Opcode.GET_MEASUREMENT_SETTINGS
    return bytes([op, MeasurementType(measurement)])


# ---------------------------------------------------------------------------- responses

SettingValues = tuple[int, ...] | tuple[float, ...]


def parse_settings(payload: BytesLike) -> dict[SettingType, SettingValues]:
    """Parse settings TLVs (a settings or start response's parameters).

    Integer settings are unsigned little endian; FACTOR values are IEEE-754 float32.

    Raises
    ------
    DecodeError
        Unknown setting type or a TLV running past the end.
    """
    buf = bytes(payload)
    out: dict[SettingType, SettingValues] = {}
    pos = 0
    while pos < len(buf):
        if pos + 2 > len(buf):
            raise DecodeError("settings TLV header cut short")
        try:
            stype = SettingType(buf[pos])
        except ValueError:
            raise DecodeError(f"unknown PMD setting type {buf[pos]}") from None
        count, size = buf[pos + 1], SETTING_FIELD_BYTES[stype]
        end = pos + 2 + count * size
        if end > len(buf):
            raise DecodeError(f"{stype.name} TLV with {count} values runs past the end")
        raw = buf[pos + 2 : end]
        if stype is SettingType.FACTOR:
            out[stype] = struct.unpack(f"<{count}f", raw)
        else:
            out[stype] = tuple(
                int.from_bytes(raw[i : i + size], "little") for i in range(0, len(raw), size)
            )
        pos = end
    return out


@dataclass(frozen=True, slots=True)
class ControlResponse:
    """A control-point response ``f0 | opcode | type | status | more | parameters``."""

    opcode: int
    measurement_type: int
    status: int
    more: bool
    parameters: bytes

    @property
    def ok(self) -> bool:
        return self.status == ResponseStatus.SUCCESS

    @property
    def status_name(self) -> str:
        try:
            return ResponseStatus(self.status).name
        except ValueError:
            return f"UNKNOWN_STATUS_{self.status}"

    def factor(self) -> float:
        """FACTOR of a successful start response, 1.0 when the sensor sends none."""
        values = parse_settings(self.parameters).get(SettingType.FACTOR, ())
        if not values:
            return 1.0
        value = float(values[0])
        if not math.isfinite(value) or value <= 0:
            raise DecodeError(f"start response carries an unusable FACTOR {value!r}")
        return value


@dataclass(frozen=True, slots=True)
class MeasurementStopped:
    """Sensor-initiated ``ONLINE_MEASUREMENT_STOPPED``: these streams were stopped."""

    measurement_types: tuple[int, ...]


def parse_control_notification(payload: BytesLike) -> ControlResponse | MeasurementStopped:
    """Parse a control-point notification/indication.

    Raises
    ------
    DecodeError
        Empty, too short or of an unknown kind.
    """
    buf = bytes(payload)
    if not buf:
        raise DecodeError("empty PMD control-point notification")
    if buf[0] == ONLINE_MEASUREMENT_STOPPED:
        return MeasurementStopped(tuple(b & MEASUREMENT_TYPE_MASK for b in buf[1:]))
    if buf[0] != CONTROL_RESPONSE_CODE:
        raise DecodeError(f"unknown PMD control-point notification 0x{buf[0]:02x}")
    if len(buf) < 4:
        raise DecodeError(f"PMD control-point response of {len(buf)} bytes is too short")
    ok = buf[3] == ResponseStatus.SUCCESS
    return ControlResponse(
        opcode=buf[1],
        measurement_type=buf[2],
        status=buf[3],
        more=ok and len(buf) > 4 and buf[4] != 0,
        parameters=buf[5:] if ok else b"",
    )


def encode_control_response(
    opcode: int,
    measurement_type: int,
    status: int = ResponseStatus.SUCCESS,
    *,
    parameters: BytesLike = b"",
    more: bool = False,
) -> bytes:
    """A control-point response as a sensor (or the emulator) sends it."""
    for name, v in (("opcode", opcode), ("measurement_type", measurement_type), ("status", status)):
        if not 0 <= v <= 255:
            raise ValueError(f"{name} must fit one byte, got {v}")
    return bytes([CONTROL_RESPONSE_CODE, opcode, measurement_type, status, int(more)]) + bytes(
        parameters
    )


def encode_factor(factor: float) -> bytes:
    """The FACTOR TLV a start response carries: ``05 01 <float32 LE>``."""
    return bytes([SettingType.FACTOR, 1]) + struct.pack("<f", factor)


def parse_features(payload: BytesLike) -> frozenset[MeasurementType]:
    """Measurement types in the control-point feature read (``0f | bitmap byte 1 | byte 2``)."""
    buf = bytes(payload)
    if len(buf) < 3 or buf[0] != FEATURE_READ_CODE:
        raise DecodeError("not a PMD feature read (expected 0x0f and two bitmap bytes)")
    bits = {
        MeasurementType.ECG: (1, 0x01),
        MeasurementType.PPG: (1, 0x02),
        MeasurementType.ACC: (1, 0x04),
        MeasurementType.PPI: (1, 0x08),
        MeasurementType.GYRO: (1, 0x20),
        MeasurementType.MAGNETOMETER: (1, 0x40),
        MeasurementType.SKIN_TEMP: (1, 0x80),
        MeasurementType.SDK_MODE: (2, 0x02),
    }
    return frozenset(t for t, (i, m) in bits.items() if buf[i] & m)
