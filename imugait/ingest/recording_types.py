"""Record types of the raw session recording: header, sensor entries, notifications, events.

All types are frozen dataclasses. JSON-valued fields (``metadata``, ``calibration``, sensor
``config`` and event ``data``) are normalised on construction by a JSON round trip, so a value
read back from a file compares equal to the value written (tuples become lists, keys become
strings) and a value that cannot be stored fails at once with ``ValueError``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from imugait import __version__
from imugait.errors import RecordingError
from imugait.types import Location

#: Format version written by this software: (major, minor). See ``docs/recording_format.md``.
FORMAT_VERSION: tuple[int, int] = (1, 0)

JsonDict = dict[str, Any]


def _json_dict(name: str, value: object) -> JsonDict:
    """Validate ``value`` as a JSON object and return its JSON-normalised copy."""
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a dict, got {type(value).__name__}")
    try:
        out: JsonDict = json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} is not JSON-serialisable: {exc}") from exc
    return out


def _utc_now_iso() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True, slots=True)
class SensorEntry:
    """One sensor of a session, as declared in the recording header.

    ``protocol`` names the decoder (e.g. ``"imugait-ref-1"``); ``config`` holds the protocol
    configuration needed to decode the payloads (e.g. ``odr_hz``, ranges, ``samples_per_frame``).
    """

    sensor_id: str
    protocol: str
    location: Location
    address: str | None = None
    name: str | None = None
    config: JsonDict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.sensor_id, str) or not self.sensor_id:
            raise ValueError("sensor_id must be a non-empty string")
        if not isinstance(self.protocol, str) or not self.protocol:
            raise ValueError(f"sensor {self.sensor_id!r}: protocol must be a non-empty string")
        object.__setattr__(self, "location", Location(self.location))
        for opt in ("address", "name"):
            v = getattr(self, opt)
            if v is not None and not isinstance(v, str):
                raise ValueError(f"sensor {self.sensor_id!r}: {opt} must be a string or None")
        object.__setattr__(self, "config", _json_dict("config", self.config))

    def to_json(self) -> JsonDict:
        return {
            "sensor_id": self.sensor_id,
            "protocol": self.protocol,
            "location": self.location.value,
            "address": self.address,
            "name": self.name,
            "config": self.config,
        }


@dataclass(frozen=True, slots=True)
class RecordingHeader:
    """Session header, the first block of every recording.

    ``host_t0_s`` is the session clock origin: the value of the host monotonic clock (the clock
    of every ``host_t_s`` in the file) at session start, so session time is
    ``host_t_s - host_t0_s``. ``created_utc`` is an ISO 8601 UTC time string.
    ``format_version`` is the file format version; the writer always writes its own
    :data:`FORMAT_VERSION` and a reader reports the version found in the file.
    """

    session_id: str
    sensors: tuple[SensorEntry, ...]
    host_t0_s: float
    subject_id: str = ""
    metadata: JsonDict = field(default_factory=dict)
    calibration: JsonDict = field(default_factory=dict)
    created_utc: str = field(default_factory=_utc_now_iso)
    software_version: str = __version__
    format_version: tuple[int, int] = FORMAT_VERSION

    def __post_init__(self) -> None:
        if not isinstance(self.session_id, str):
            raise ValueError("session_id must be a string")
        if not isinstance(self.subject_id, str):
            raise ValueError("subject_id must be a string")
        sensors = tuple(self.sensors)
        if not all(isinstance(s, SensorEntry) for s in sensors):
            raise ValueError("sensors must be SensorEntry objects")
        ids = [s.sensor_id for s in sensors]
        if len(set(ids)) != len(ids):
            raise ValueError(f"sensor ids must be unique, got {ids}")
        object.__setattr__(self, "sensors", sensors)
        t0 = float(self.host_t0_s)
        if not math.isfinite(t0):
            raise ValueError("host_t0_s must be finite")
        object.__setattr__(self, "host_t0_s", t0)
        object.__setattr__(self, "metadata", _json_dict("metadata", self.metadata))
        object.__setattr__(self, "calibration", _json_dict("calibration", self.calibration))
        fv = tuple(int(v) for v in self.format_version)
        if len(fv) != 2:
            raise ValueError("format_version must be (major, minor)")
        object.__setattr__(self, "format_version", fv)

    def sensor(self, sensor_id: str) -> SensorEntry:
        """The entry of ``sensor_id`` (``KeyError`` if the session has no such sensor)."""
        for s in self.sensors:
            if s.sensor_id == sensor_id:
                return s
        raise KeyError(sensor_id)

    @property
    def sensor_ids(self) -> tuple[str, ...]:
        return tuple(s.sensor_id for s in self.sensors)

    def to_json(self) -> JsonDict:
        return {
            "format": "imugait-recording",
            "format_version": list(self.format_version),
            "software_version": self.software_version,
            "created_utc": self.created_utc,
            "session_id": self.session_id,
            "subject_id": self.subject_id,
            "metadata": self.metadata,
            "calibration": self.calibration,
            "host_t0_s": self.host_t0_s,
            "sensors": [s.to_json() for s in self.sensors],
        }

    @staticmethod
    def from_json(obj: object, *, source: str) -> RecordingHeader:
        """Parse a header JSON object; ``RecordingError`` naming ``source`` if it is malformed."""
        try:
            if not isinstance(obj, dict) or obj.get("format") != "imugait-recording":
                raise ValueError("not an imugait recording header")
            sensors = tuple(
                SensorEntry(
                    sensor_id=s["sensor_id"],
                    protocol=s["protocol"],
                    location=Location(s["location"]),
                    address=s.get("address"),
                    name=s.get("name"),
                    config=s.get("config", {}),
                )
                for s in obj["sensors"]
            )
            return RecordingHeader(
                session_id=obj["session_id"],
                sensors=sensors,
                host_t0_s=obj["host_t0_s"],
                subject_id=obj.get("subject_id", ""),
                metadata=obj.get("metadata", {}),
                calibration=obj.get("calibration", {}),
                created_utc=str(obj["created_utc"]),
                software_version=str(obj["software_version"]),
                format_version=tuple(obj["format_version"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            what = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            raise RecordingError(f"{source}: malformed recording header: {what}") from None


@dataclass(frozen=True, slots=True)
class Notification:
    """One BLE notification exactly as received.

    ``host_t_s`` is the host monotonic receive time (s); ``characteristic`` the UUID string of
    the characteristic that notified; ``payload`` the raw bytes.
    """

    sensor_id: str
    characteristic: str
    host_t_s: float
    payload: bytes


@dataclass(frozen=True, slots=True)
class Event:
    """A session event: connect/disconnect/reconnect, sensor info, user marker, drop counts, ...

    ``sensor_id`` is ``None`` for session-wide events; ``data`` is a JSON object.
    """

    host_t_s: float
    sensor_id: str | None
    kind: str
    data: JsonDict = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "host_t_s", float(self.host_t_s))
        if self.sensor_id is not None and not isinstance(self.sensor_id, str):
            raise ValueError("event sensor_id must be a string or None")
        if not isinstance(self.kind, str) or not self.kind:
            raise ValueError("event kind must be a non-empty string")
        object.__setattr__(self, "data", _json_dict("event data", self.data))


Record = Notification | Event
