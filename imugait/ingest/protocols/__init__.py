"""Sensor BLE protocols: one module per protocol, one :class:`ProtocolSpec` each.

``PROTOCOLS`` maps the public protocol name stored in recordings to its spec. To add a
protocol (Polar PMD, Movesense), write one module that builds a ``ProtocolSpec`` and add it
here. Both the live BLE path and the recording replay call::

    decoder = get_protocol(name).decoder(config_dict)
    frames = decoder.decode(characteristic_uuid, payload)   # list[SensorFrame]
"""

from __future__ import annotations

from imugait.errors import ConfigError

from .base import BytesLike, FrameDecoder, ProtocolSpec, normalise_uuid
from .movesense import MOVESENSE_PROTOCOL
from .polar import POLAR_PROTOCOL
from .reference import REFERENCE_PROTOCOL

__all__ = [
    "PROTOCOLS",
    "BytesLike",
    "FrameDecoder",
    "ProtocolSpec",
    "get_protocol",
    "normalise_uuid",
]

PROTOCOLS: dict[str, ProtocolSpec] = {
    REFERENCE_PROTOCOL.name: REFERENCE_PROTOCOL,
    POLAR_PROTOCOL.name: POLAR_PROTOCOL,
    MOVESENSE_PROTOCOL.name: MOVESENSE_PROTOCOL,
}


def get_protocol(name: str) -> ProtocolSpec:
    """The protocol called ``name``; :class:`ConfigError` (listing the known ones) if none."""
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise ConfigError(
            f"unknown sensor protocol {name!r}; known: {', '.join(sorted(PROTOCOLS))}"
        ) from None
