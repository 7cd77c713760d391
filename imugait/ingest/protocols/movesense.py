"""Movesense sensors over the GATT SensorData Protocol (GSP), IMU6 stream, ``"movesense-gsp-1"``.

Host-side implementation (pure Python + numpy, no I/O) of ``firmware_notes/movesense.md``:

* UUIDs and commands ``[cmd u8 | ref u8 | payload]``: HELLO (0), SUBSCRIBE (1, payload = ASCII
  resource path such as ``/Meas/IMU6/104``), UNSUBSCRIBE (2) -- official GSP document and the
  ``gatt_sensordata_app`` sample firmware (``GATTSensorDataClient.cpp``);
* notifications ``[type u8 | ref u8 | data]``: COMMAND_RESULT (1), DATA (2), and DATA_PART2 (3,
  the second half of a value too long for one notification -- third-party summaries only);
* the IMU6 value: ``u32 timestamp_ms | N x (ax, ay, az) float32 | N x (gx, gy, gz) float32``,
  little endian, acc in m/s², gyro in deg/s, timestamp of the FIRST sample. The array order and
  the absence of length prefixes come from third-party decoders and are not yet checked against
  a captured packet (see the firmware note);
* :class:`MovesenseDecoder` (reassembles DATA + DATA_PART2) and :data:`MOVESENSE_PROTOCOL`.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import IntEnum
from typing import Final, TypeGuard

import numpy as np
from numpy.typing import ArrayLike

from imugait.errors import ConfigError, DecodeError
from imugait.types import F64, SensorFrame
from imugait.units import DEG_PER_RAD, RAD_PER_DEG

from .base import BytesLike, ProtocolSpec

PROTOCOL_NAME: Final = "movesense-gsp-1"

GSP_SERVICE_UUID: Final = "34802252-7185-4d5d-b431-630e7050e8f0"
WRITE_UUID: Final = "34800001-7185-4d5d-b431-630e7050e8f0"
NOTIFY_UUID: Final = "34800002-7185-4d5d-b431-630e7050e8f0"

#: IMU rates the Movesense API lists for /Meas/IMU6 (third-party summary).
IMU_RATES_HZ: Final = (13, 26, 52, 104, 208, 416, 833, 1666)
TIMESTAMP_MODULO_MS: Final = 1 << 32
SENSOR_T_WRAP_S: Final = TIMESTAMP_MODULO_MS * 1e-3
#: Bytes per IMU6 sample: acc and gyro float32 triplets.
IMU6_SAMPLE_BYTES: Final = 24
_T: Final = struct.Struct("<I")
HTTP_OK: Final = 200


class Command(IntEnum):
    """First byte of a write to the command characteristic."""

    HELLO = 0
    SUBSCRIBE = 1
    UNSUBSCRIBE = 2


class Reply(IntEnum):
    """First byte of a notification."""

    COMMAND_RESULT = 1
    DATA = 2
    DATA_PART2 = 3


def _is_int(x: object) -> TypeGuard[int]:
    return isinstance(x, int) and not isinstance(x, bool)


def _check_ref(ref: int) -> None:
    if not _is_int(ref) or not 1 <= ref <= 255:
        raise ValueError(f"reference must be an int in 1..255 (0 is reserved), got {ref!r}")


def imu6_path(rate_hz: int) -> str:
    """Resource path of the IMU6 stream, e.g. ``/Meas/IMU6/104``."""
    if rate_hz not in IMU_RATES_HZ:
        raise ValueError(f"rate_hz must be one of {IMU_RATES_HZ}, got {rate_hz!r}")
    return f"/Meas/IMU6/{rate_hz}"


def encode_hello(ref: int) -> bytes:
    """HELLO ``00 <ref>``; the sensor answers COMMAND_RESULT ``01 <ref> 'Hello'``."""
    _check_ref(ref)
    return bytes([Command.HELLO, ref])


def encode_subscribe(ref: int, path: str) -> bytes:
    """SUBSCRIBE ``01 <ref> <ASCII path>``; DATA notifications then carry ``ref``."""
    _check_ref(ref)
    raw = path.encode("ascii")
    if not raw or len(raw) > 158:
        raise ValueError("path must be 1..158 ASCII bytes")
    return bytes([Command.SUBSCRIBE, ref]) + raw


def encode_unsubscribe(ref: int) -> bytes:
    """UNSUBSCRIBE ``02 <ref>`` (the reference given at SUBSCRIBE)."""
    _check_ref(ref)
    return bytes([Command.UNSUBSCRIBE, ref])


@dataclass(frozen=True, slots=True)
class CommandWrite:
    """A parsed command write (the sensor/emulator side): ``path`` is ``""`` but for SUBSCRIBE."""

    command: Command
    ref: int
    path: str = ""


def decode_command(payload: BytesLike) -> CommandWrite:
    """Parse a write to the command characteristic; :class:`DecodeError` if malformed."""
    buf = bytes(payload)
    if len(buf) < 2:
        raise DecodeError(f"GSP command of {len(buf)} bytes is shorter than [cmd, ref]")
    try:
        cmd = Command(buf[0])
    except ValueError:
        raise DecodeError(f"unknown GSP command {buf[0]}") from None
    if buf[1] == 0:
        raise DecodeError("GSP reference 0 is reserved")
    if cmd is Command.SUBSCRIBE:
        try:
            path = buf[2:].decode("ascii")
        except UnicodeDecodeError:
            raise DecodeError("SUBSCRIBE path is not ASCII") from None
        if not path:
            raise DecodeError("SUBSCRIBE without a resource path")
        return CommandWrite(cmd, buf[1], path)
    if len(buf) != 2:
        raise DecodeError(f"{cmd.name} takes no payload")
    return CommandWrite(cmd, buf[1])


@dataclass(frozen=True, slots=True)
class CommandResult:
    """COMMAND_RESULT ``01 | ref | data``; ``status`` is the big-endian u16 when data is 2 bytes
    (the sample firmware sends 507 as ``01 fb``), else ``None`` (HELLO answers ``'Hello'``)."""

    ref: int
    data: bytes

    @property
    def status(self) -> int | None:
        return int.from_bytes(self.data, "big") if len(self.data) == 2 else None


@dataclass(frozen=True, slots=True)
class DataPacket:
    """DATA (``part=1``) or DATA_PART2 (``part=2``): ``type | ref | value bytes``."""

    ref: int
    part: int
    body: bytes


def parse_notification(payload: BytesLike) -> CommandResult | DataPacket:
    """Split a notification into its kind, reference and data; :class:`DecodeError` if malformed."""
    buf = bytes(payload)
    if len(buf) < 2:
        raise DecodeError(f"GSP notification of {len(buf)} bytes is shorter than [type, ref]")
    if buf[0] == Reply.COMMAND_RESULT:
        return CommandResult(buf[1], buf[2:])
    if buf[0] in (Reply.DATA, Reply.DATA_PART2):
        return DataPacket(buf[1], 1 if buf[0] == Reply.DATA else 2, buf[2:])
    raise DecodeError(f"unknown GSP notification type {buf[0]}")


def encode_command_result(ref: int, status: int = HTTP_OK) -> bytes:
    """COMMAND_RESULT with a 2-byte big-endian status (emulator side)."""
    _check_ref(ref)
    return bytes([Reply.COMMAND_RESULT, ref]) + int(status).to_bytes(2, "big")


def encode_hello_response(ref: int) -> bytes:
    """The sample firmware's answer to HELLO: ``01 <ref> 'Hello'``."""
    _check_ref(ref)
    return bytes([Reply.COMMAND_RESULT, ref]) + b"Hello"


def _is_complete_imu6(n_body: int) -> bool:
    return n_body > 4 and (n_body - 4) % IMU6_SAMPLE_BYTES == 0


def decode_imu6_body(body: BytesLike, rate_hz: float) -> SensorFrame:
    """IMU6 value to SI: ``t_k = t_ms * 1e-3 + k / rate_hz``; gyro deg/s -> rad/s.

    Raises
    ------
    DecodeError
        A length other than ``4 + 24 N`` (N >= 1) or non-finite values.
    """
    buf = bytes(body)
    if not _is_complete_imu6(len(buf)):
        raise DecodeError(f"IMU6 value of {len(buf)} bytes is not 4 + 24 N (N >= 1)")
    n = (len(buf) - 4) // IMU6_SAMPLE_BYTES
    (t_ms,) = _T.unpack_from(buf)
    bits = np.frombuffer(buf, dtype="<u4", offset=4)
    if np.any((bits & 0x7F800000) == 0x7F800000):  # exponent all ones: NaN or infinity
        raise DecodeError("IMU6 value holds non-finite samples")
    arr = bits.view("<f4").astype(np.float64)
    return SensorFrame(
        seq=None,
        sensor_t_s=np.float64(t_ms) * 1e-3 + np.arange(n, dtype=np.float64) / rate_hz,
        acc_m_s2=arr[: 3 * n].reshape(n, 3),
        gyr_rad_s=arr[3 * n :].reshape(n, 3) * RAD_PER_DEG,
        sensor_t_wrap_s=SENSOR_T_WRAP_S,
    )


def _as_n3(name: str, a: ArrayLike) -> F64:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 3 or len(arr) == 0 or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be a finite (n, 3) array with n >= 1")
    return arr


def encode_imu6(ref: int, t_ms: int, acc_m_s2: ArrayLike, gyr_rad_s: ArrayLike) -> bytes:
    """A whole IMU6 DATA notification (before any split): float32, gyro sent in deg/s."""
    _check_ref(ref)
    acc, gyr = _as_n3("acc_m_s2", acc_m_s2), _as_n3("gyr_rad_s", gyr_rad_s)
    if len(acc) != len(gyr):
        raise ValueError("acc_m_s2 and gyr_rad_s must have the same length")
    if not 0 <= t_ms < TIMESTAMP_MODULO_MS:
        raise ValueError(f"t_ms must be in [0, 2**32), got {t_ms}")
    floats = np.concatenate([acc.reshape(-1), (gyr * DEG_PER_RAD).reshape(-1)]).astype("<f4")
    return bytes([Reply.DATA, ref]) + _T.pack(t_ms) + floats.tobytes()


def split_packet(packet: bytes, max_bytes: int) -> list[bytes]:
    """Split a DATA notification longer than ``max_bytes`` into DATA + DATA_PART2.

    Raises ``ValueError`` when two notifications are not enough or when the first part alone
    would look like a complete IMU6 value (a host could not tell it needs a continuation).
    """
    if len(packet) <= max_bytes:
        return [packet]
    if max_bytes < 3 or len(packet) - 2 > 2 * (max_bytes - 2):
        raise ValueError(
            f"a {len(packet)}-byte packet does not fit two {max_bytes}-byte notifications"
        )
    if _is_complete_imu6(max_bytes - 2):
        raise ValueError(f"splitting at {max_bytes} bytes leaves an ambiguous first part")
    head, tail = packet[:max_bytes], packet[max_bytes:]
    return [head, bytes([Reply.DATA_PART2, packet[1]]) + tail]


@dataclass(frozen=True, slots=True)
class MovesenseConfig:
    """Stream configuration (recording header): IMU6 ``rate_hz`` and the subscription ``ref``."""

    rate_hz: int = 104
    ref: int = 1

    def __post_init__(self) -> None:
        if not _is_int(self.rate_hz) or self.rate_hz not in IMU_RATES_HZ:
            raise ValueError(f"rate_hz must be one of {IMU_RATES_HZ}, got {self.rate_hz!r}")
        _check_ref(self.ref)

    @property
    def path(self) -> str:
        return imu6_path(self.rate_hz)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> MovesenseConfig:
        unknown = set(d) - {"rate_hz", "ref"}
        if unknown:
            raise ConfigError(f"unknown movesense-gsp-1 config keys: {sorted(unknown)}")
        try:
            return cls(**d)  # type: ignore[arg-type]
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"bad movesense-gsp-1 config: {exc}") from None


def encode_stream(
    acc_m_s2: ArrayLike,
    gyr_rad_s: ArrayLike,
    config: MovesenseConfig,
    *,
    t_first_ms: int = 0,
    samples_per_packet: int = 8,
    max_notification_bytes: int | None = None,
) -> list[bytes]:
    """Notifications an emulated sensor sends: packet ``j`` stamped with its first sample,
    ``(t_first_ms + round(i0 * 1000 / rate_hz)) mod 2**32``, split when too long."""
    acc, gyr = _as_n3("acc_m_s2", acc_m_s2), _as_n3("gyr_rad_s", gyr_rad_s)
    if len(acc) != len(gyr) or samples_per_packet < 1:
        raise ValueError("acc and gyr need equal lengths and samples_per_packet >= 1")
    out: list[bytes] = []
    for i0 in range(0, len(acc), samples_per_packet):
        t_ms = (t_first_ms + round(i0 * 1000 / config.rate_hz)) % TIMESTAMP_MODULO_MS
        sl = slice(i0, i0 + samples_per_packet)
        packet = encode_imu6(config.ref, t_ms, acc[sl], gyr[sl])
        out += (
            [packet]
            if max_notification_bytes is None
            else split_packet(packet, max_notification_bytes)
        )
    return out


class MovesenseDecoder:
    """:class:`~imugait.ingest.protocols.base.FrameDecoder` for ``movesense-gsp-1``.

    DATA with the configured ``ref`` and a complete IMU6 length decodes at once; a shorter
    DATA waits for its DATA_PART2 (a new DATA replaces it and ``dropped_partial`` counts the
    loss). COMMAND_RESULTs are kept in ``last_result``; other references return ``[]``.
    """

    def __init__(self, *, config: MovesenseConfig) -> None:
        if not isinstance(config, MovesenseConfig):
            raise TypeError(f"config must be a MovesenseConfig, got {type(config).__name__}")
        self.config = config
        self._pending: bytes | None = None
        self.dropped_partial = 0
        self.last_result: CommandResult | None = None

    @classmethod
    def from_dict(cls, config: Mapping[str, object]) -> MovesenseDecoder:
        return cls(config=MovesenseConfig.from_dict(config))

    def decode(self, characteristic_uuid: str, payload: BytesLike) -> list[SensorFrame]:
        """Decode one notification of the GSP notify characteristic."""
        if characteristic_uuid.lower() != NOTIFY_UUID:
            return []
        msg = parse_notification(payload)
        if isinstance(msg, CommandResult):
            self.last_result = msg
            return []
        if msg.ref != self.config.ref:
            return []
        if msg.part == 1:
            if self._pending is not None:
                self.dropped_partial += 1
                self._pending = None
            if not _is_complete_imu6(len(msg.body)):
                if len(msg.body) < 4:
                    raise DecodeError(f"IMU6 DATA of {len(msg.body)} bytes has no timestamp")
                self._pending = msg.body
                return []
            return [decode_imu6_body(msg.body, self.config.rate_hz)]
        if self._pending is None:
            raise DecodeError("DATA_PART2 without a first part")
        body, self._pending = self._pending + msg.body, None
        return [decode_imu6_body(body, self.config.rate_hz)]


MOVESENSE_PROTOCOL = ProtocolSpec(
    name=PROTOCOL_NAME,
    service_uuid=GSP_SERVICE_UUID,
    data_uuid=NOTIFY_UUID,
    decoder=MovesenseDecoder.from_dict,
)
