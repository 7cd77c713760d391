"""CONTROL commands and the INFO record of the reference protocol.

CONTROL (write with response) takes ``u8 opcode | parameters``; a refused command is answered
with an ATT application error code (:class:`ControlStatus`) in the Write Response, so the
host's write call fails. INFO (read) describes the sensor and its current stream
configuration. Layouts: ``firmware_notes/reference_protocol.md`` §5 and §6.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace
from enum import IntEnum
from typing import Final

from imugait.errors import DecodeError

from ._reference_config import (
    ACC_RANGES_G,
    GYR_RANGES_DPS,
    MAX_SAMPLES_PER_FRAME,
    ODR_MAX_HZ,
    ODR_MIN_HZ,
    PROTOCOL_VERSION,
    ReferenceConfig,
    max_samples_per_frame,
)
from .base import BytesLike


class Opcode(IntEnum):
    """First byte of a CONTROL write."""

    START = 0x01
    STOP = 0x02
    SET_ODR = 0x03
    SET_RANGES = 0x04
    SET_SAMPLES_PER_FRAME = 0x05


class ControlStatus(IntEnum):
    """ATT application error codes (0x80-0x9F) a sensor answers a refused CONTROL write with."""

    UNKNOWN_COMMAND = 0x80
    BAD_LENGTH = 0x81
    BAD_VALUE = 0x82
    BUSY = 0x83
    HARDWARE_FAULT = 0x84


_STATUS_TEXT: Final = {
    ControlStatus.UNKNOWN_COMMAND: "unknown CONTROL opcode",
    ControlStatus.BAD_LENGTH: "CONTROL write of the wrong length for its opcode",
    ControlStatus.BAD_VALUE: "CONTROL parameter out of range or not supported",
    ControlStatus.BUSY: "configuration cannot change while streaming (send STOP first)",
    ControlStatus.HARDWARE_FAULT: "the sensor's IMU did not accept the setting",
}


def control_error_message(att_error_code: int) -> str:
    """Human-readable meaning of the ATT error code a CONTROL write failed with."""
    try:
        return _STATUS_TEXT[ControlStatus(att_error_code)]
    except ValueError:
        return f"ATT error 0x{att_error_code:02x} (not a reference-protocol CONTROL status)"


class CommandError(DecodeError):
    """A CONTROL write the sensor must refuse; ``status`` is the ATT error code to answer."""

    def __init__(self, status: ControlStatus, detail: str) -> None:
        super().__init__(f"{_STATUS_TEXT[status]}: {detail}")
        self.status = status


@dataclass(frozen=True, slots=True)
class Start:
    """Start streaming DATA; ``seq`` restarts at 0. A no-op while streaming."""


@dataclass(frozen=True, slots=True)
class Stop:
    """Stop streaming (a last, shorter frame may follow). A no-op while stopped."""


@dataclass(frozen=True, slots=True)
class SetOdr:
    """Set the output data rate, whole Hz in 50..400."""

    odr_hz: int

    def __post_init__(self) -> None:
        ok = isinstance(self.odr_hz, int) and not isinstance(self.odr_hz, bool)
        if not ok or not ODR_MIN_HZ <= self.odr_hz <= ODR_MAX_HZ:
            raise ValueError(f"odr_hz must be an int in [50, 400], got {self.odr_hz!r}")


@dataclass(frozen=True, slots=True)
class SetRanges:
    """Set accelerometer (g) and gyroscope (deg/s) full scales."""

    acc_range_g: int
    gyr_range_dps: int

    def __post_init__(self) -> None:
        if self.acc_range_g not in ACC_RANGES_G or isinstance(self.acc_range_g, bool):
            raise ValueError(f"acc_range_g must be one of {ACC_RANGES_G}, got {self.acc_range_g!r}")
        if self.gyr_range_dps not in GYR_RANGES_DPS or isinstance(self.gyr_range_dps, bool):
            raise ValueError(
                f"gyr_range_dps must be one of {GYR_RANGES_DPS}, got {self.gyr_range_dps!r}"
            )


@dataclass(frozen=True, slots=True)
class SetSamplesPerFrame:
    """Set samples per DATA frame, 1..42 (and it must fit the current ATT MTU)."""

    samples_per_frame: int

    def __post_init__(self) -> None:
        n = self.samples_per_frame
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_SAMPLES_PER_FRAME:
            raise ValueError(f"samples_per_frame must be an int in [1, 42], got {n!r}")


ControlCommand = Start | Stop | SetOdr | SetRanges | SetSamplesPerFrame

_U16: Final = struct.Struct("<H")
_RANGES: Final = struct.Struct("<BH")
_LENGTH: Final = {
    Opcode.START: 1,
    Opcode.STOP: 1,
    Opcode.SET_ODR: 3,
    Opcode.SET_RANGES: 4,
    Opcode.SET_SAMPLES_PER_FRAME: 2,
}


def encode_command(command: ControlCommand) -> bytes:
    """Bytes to write to CONTROL for ``command``."""
    match command:
        case Start():
            return bytes([Opcode.START])
        case Stop():
            return bytes([Opcode.STOP])
        case SetOdr(odr_hz=odr):
            return bytes([Opcode.SET_ODR]) + _U16.pack(odr)
        case SetRanges(acc_range_g=acc, gyr_range_dps=gyr):
            return bytes([Opcode.SET_RANGES]) + _RANGES.pack(acc, gyr)
        case SetSamplesPerFrame(samples_per_frame=n):
            return bytes([Opcode.SET_SAMPLES_PER_FRAME, n])
    raise TypeError(f"not a control command: {command!r}")


def decode_command(payload: BytesLike) -> ControlCommand:
    """Parse a CONTROL write (the sensor/emulator side).

    Raises
    ------
    CommandError
        With the :class:`ControlStatus` the sensor must answer.
    """
    buf = bytes(payload)
    if not buf:
        raise CommandError(ControlStatus.BAD_LENGTH, "empty write")
    try:
        op = Opcode(buf[0])
    except ValueError:
        raise CommandError(ControlStatus.UNKNOWN_COMMAND, f"opcode 0x{buf[0]:02x}") from None
    if len(buf) != _LENGTH[op]:
        raise CommandError(ControlStatus.BAD_LENGTH, f"{op.name} takes {_LENGTH[op]} bytes")
    try:
        if op is Opcode.START:
            return Start()
        if op is Opcode.STOP:
            return Stop()
        if op is Opcode.SET_ODR:
            return SetOdr(odr_hz=_U16.unpack_from(buf, 1)[0])
        if op is Opcode.SET_RANGES:
            acc, gyr = _RANGES.unpack_from(buf, 1)
            return SetRanges(acc_range_g=acc, gyr_range_dps=gyr)
        return SetSamplesPerFrame(samples_per_frame=buf[1])
    except ValueError as exc:
        raise CommandError(ControlStatus.BAD_VALUE, str(exc)) from None


def apply_command(
    config: ReferenceConfig, streaming: bool, command: ControlCommand, *, att_mtu: int
) -> tuple[ReferenceConfig, bool]:
    """What a sensor's state becomes after ``command``: ``(config, streaming)``.

    The state machine of §5 for firmware and emulator. Raises :class:`CommandError`
    (``BUSY``) for a setting while streaming and (``BAD_VALUE``) for a frame that would not
    fit one notification at ``att_mtu``.
    """
    if isinstance(command, Start):
        return config, True
    if isinstance(command, Stop):
        return config, False
    if streaming:
        raise CommandError(ControlStatus.BUSY, type(command).__name__)
    if isinstance(command, SetOdr):
        return replace(config, odr_hz=float(command.odr_hz)), False
    if isinstance(command, SetRanges):
        return replace(
            config, acc_range_g=command.acc_range_g, gyr_range_dps=command.gyr_range_dps
        ), False
    limit = max_samples_per_frame(att_mtu)
    if command.samples_per_frame > limit:
        raise CommandError(
            ControlStatus.BAD_VALUE,
            f"{command.samples_per_frame} samples per frame do not fit ATT MTU {att_mtu} "
            f"(at most {limit})",
        )
    return replace(config, samples_per_frame=command.samples_per_frame), False


# ---------------------------------------------------------------------------------- INFO

INFO_MAX_STRING_BYTES: Final = 32
_INFO_FIXED: Final = struct.Struct("<BBIBHB")  # version, flags, odr_mhz, acc_g, gyr_dps, spf
_FLAG_STREAMING: Final = 0x01


@dataclass(frozen=True, slots=True)
class SensorInfo:
    """Contents of the INFO characteristic.

    ``firmware_version`` and ``model`` are UTF-8, at most 32 bytes each.
    """

    firmware_version: str
    model: str
    config: ReferenceConfig
    streaming: bool = False
    protocol_version: int = PROTOCOL_VERSION

    def __post_init__(self) -> None:
        for name in ("firmware_version", "model"):
            if len(getattr(self, name).encode("utf-8")) > INFO_MAX_STRING_BYTES:
                raise ValueError(f"{name} is longer than {INFO_MAX_STRING_BYTES} UTF-8 bytes")
        if self.protocol_version != PROTOCOL_VERSION:
            raise ValueError(f"only protocol version {PROTOCOL_VERSION} is supported")


def encode_info(info: SensorInfo) -> bytes:
    """INFO value: ``u8 version | u8 flags | u32 odr_mhz | u8 acc_g | u16 gyr_dps | u8 spf |
    u8 len, firmware | u8 len, model``, little endian."""
    c = info.config
    out = _INFO_FIXED.pack(
        info.protocol_version,
        _FLAG_STREAMING if info.streaming else 0,
        c.odr_mhz,
        c.acc_range_g,
        c.gyr_range_dps,
        c.samples_per_frame,
    )
    for text in (info.firmware_version, info.model):
        raw = text.encode("utf-8")
        out += bytes([len(raw)]) + raw
    return out


def _take_string(buf: bytes, pos: int, name: str) -> tuple[str, int]:
    if pos >= len(buf):
        raise DecodeError(f"INFO ends before the {name} length byte")
    n = buf[pos]
    if n > INFO_MAX_STRING_BYTES or pos + 1 + n > len(buf):
        raise DecodeError(f"INFO {name} of {n} bytes does not fit")
    try:
        return buf[pos + 1 : pos + 1 + n].decode("utf-8"), pos + 1 + n
    except UnicodeDecodeError:
        raise DecodeError(f"INFO {name} is not UTF-8") from None


def decode_info(payload: BytesLike) -> SensorInfo:
    """Parse an INFO read. Trailing bytes (fields of later minor revisions) are ignored.

    Raises
    ------
    DecodeError
        Too short, another protocol version, an invalid configuration or bad strings.
    """
    buf = bytes(payload)
    if len(buf) < _INFO_FIXED.size + 2:
        raise DecodeError(f"INFO of {len(buf)} bytes is too short")
    version, flags, odr_mhz, acc, gyr, spf = _INFO_FIXED.unpack_from(buf)
    if version != PROTOCOL_VERSION:
        raise DecodeError(f"INFO reports protocol version {version}, expected {PROTOCOL_VERSION}")
    try:
        config = ReferenceConfig(
            odr_hz=odr_mhz / 1000.0, acc_range_g=acc, gyr_range_dps=gyr, samples_per_frame=spf
        )
    except ValueError as exc:
        raise DecodeError(f"INFO configuration: {exc}") from None
    firmware, pos = _take_string(buf, _INFO_FIXED.size, "firmware version")
    model, _ = _take_string(buf, pos, "model")
    return SensorInfo(
        firmware_version=firmware,
        model=model,
        config=config,
        streaming=bool(flags & _FLAG_STREAMING),
    )
