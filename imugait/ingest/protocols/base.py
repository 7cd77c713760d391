"""What every sensor protocol module provides to the ingest layer.

A protocol module (one per sensor family: the reference protocol, later Polar PMD, Movesense)
exports one :class:`ProtocolSpec`. The live BLE path and the recording replay both build a
decoder from the spec and the per-sensor config stored in the recording header, and feed it
``(characteristic_uuid, payload)`` for every notification.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from imugait.types import SensorFrame

#: What a notification payload may arrive as (bleak hands out ``bytearray``).
BytesLike = bytes | bytearray | memoryview


class FrameDecoder(Protocol):
    """Turns notifications of one sensor into :class:`SensorFrame` objects.

    ``decode`` returns ``[]`` for characteristics that carry no samples and raises only
    :class:`imugait.errors.DecodeError` on payloads that break the protocol.
    """

    def decode(self, characteristic_uuid: str, payload: BytesLike) -> list[SensorFrame]:
        """Decode one notification."""
        ...


def normalise_uuid(value: str) -> str:
    """A 128-bit UUID string in the canonical lower-case form (as bleak reports them)."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a 128-bit UUID: {value!r}") from exc


@dataclass(frozen=True, slots=True)
class ProtocolSpec:
    """A sensor protocol as the ingest layer sees it.

    Parameters
    ----------
    name
        Public protocol name stored in recordings, e.g. ``"imugait-ref-1"``.
    service_uuid
        Primary GATT service to look for when scanning/connecting.
    data_uuid
        Characteristic to subscribe to for samples.
    decoder
        Factory: config dict (JSON-able, from the recording header) -> :class:`FrameDecoder`.
        Raises :class:`imugait.errors.ConfigError` on a bad dict.
    """

    name: str
    service_uuid: str
    data_uuid: str
    decoder: Callable[[Mapping[str, object]], FrameDecoder]

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("protocol name must not be empty")
        object.__setattr__(self, "service_uuid", normalise_uuid(self.service_uuid))
        object.__setattr__(self, "data_uuid", normalise_uuid(self.data_uuid))
