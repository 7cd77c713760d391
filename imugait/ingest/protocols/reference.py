"""The imugait reference BLE sensor protocol, ``"imugait-ref-1"``.

One protocol we control, for DIY nRF52/ESP32 sensors, the BLE emulator and the simulator.
The specification firmware is written from is ``firmware_notes/reference_protocol.md``; this
module is its host-side implementation (pure Python + numpy, no I/O):

* constants and :class:`ReferenceConfig` (ODR, ranges, samples per frame; ``to_dict``/``from_dict``
  for recording headers), :func:`max_samples_per_frame`;
* DATA frames: :func:`quantise`, :func:`encode_frame`, :func:`encode_stream`,
  :func:`decode_frame` and the vectorised :func:`decode_frames_bulk`;
* CONTROL commands (:func:`encode_command`, :func:`decode_command`, :func:`apply_command`) and
  the INFO record (:func:`encode_info`, :func:`decode_info`);
* :class:`ReferenceDecoder` and :data:`REFERENCE_PROTOCOL`, the entry of the protocol registry.
"""

from __future__ import annotations

from collections.abc import Mapping

from imugait.types import SensorFrame

from ._reference_config import (
    ACC_RANGES_G,
    CONTROL_UUID,
    DATA_UUID,
    FRAME_TYPE_IMU6,
    GYR_RANGES_DPS,
    INFO_UUID,
    MAX_SAMPLES_PER_FRAME,
    PROTOCOL_NAME,
    PROTOCOL_VERSION,
    SENSOR_T_WRAP_S,
    SEQ_MODULO,
    SERVICE_UUID,
    ReferenceConfig,
    frame_bytes,
    max_samples_per_frame,
)
from ._reference_control import (
    CommandError,
    ControlCommand,
    ControlStatus,
    Opcode,
    SensorInfo,
    SetOdr,
    SetRanges,
    SetSamplesPerFrame,
    Start,
    Stop,
    apply_command,
    control_error_message,
    decode_command,
    decode_info,
    encode_command,
    encode_info,
)
from ._reference_data import (
    DecodedFrames,
    decode_frame,
    decode_frames_bulk,
    encode_frame,
    encode_raw_stream,
    encode_stream,
    quantise,
)
from .base import BytesLike, ProtocolSpec

__all__ = [
    "ACC_RANGES_G",
    "CONTROL_UUID",
    "DATA_UUID",
    "FRAME_TYPE_IMU6",
    "GYR_RANGES_DPS",
    "INFO_UUID",
    "MAX_SAMPLES_PER_FRAME",
    "PROTOCOL_NAME",
    "PROTOCOL_VERSION",
    "REFERENCE_PROTOCOL",
    "SENSOR_T_WRAP_S",
    "SEQ_MODULO",
    "SERVICE_UUID",
    "CommandError",
    "ControlCommand",
    "ControlStatus",
    "DecodedFrames",
    "Opcode",
    "ReferenceConfig",
    "ReferenceDecoder",
    "SensorInfo",
    "SetOdr",
    "SetRanges",
    "SetSamplesPerFrame",
    "Start",
    "Stop",
    "apply_command",
    "control_error_message",
    "decode_command",
    "decode_frame",
    "decode_frames_bulk",
    "decode_info",
    "encode_command",
    "encode_frame",
    "encode_info",
    "encode_raw_stream",
    "encode_stream",
    "frame_bytes",
    "max_samples_per_frame",
    "quantise",
]


class ReferenceDecoder:
    """:class:`~imugait.ingest.protocols.base.FrameDecoder` of the reference protocol.

    Parameters
    ----------
    config
        The sensor's stream configuration (from INFO, or from the recording header).
    """

    def __init__(self, *, config: ReferenceConfig) -> None:
        if not isinstance(config, ReferenceConfig):
            raise TypeError(f"config must be a ReferenceConfig, got {type(config).__name__}")
        self.config = config

    @classmethod
    def from_dict(cls, config: Mapping[str, object]) -> ReferenceDecoder:
        """Decoder for a recording-header config dict; :class:`ConfigError` on a bad one."""
        return cls(config=ReferenceConfig.from_dict(config))

    def decode(self, characteristic_uuid: str, payload: BytesLike) -> list[SensorFrame]:
        """One frame for a DATA notification, ``[]`` for any other characteristic."""
        if characteristic_uuid.lower() != DATA_UUID:
            return []
        return [decode_frame(payload, self.config)]


REFERENCE_PROTOCOL = ProtocolSpec(
    name=PROTOCOL_NAME,
    service_uuid=SERVICE_UUID,
    data_uuid=DATA_UUID,
    decoder=ReferenceDecoder.from_dict,
)
