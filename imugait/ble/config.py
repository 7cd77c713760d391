"""Live session configuration: ``session.toml``.

Example::

    [session]
    subject_id = "S01"
    out = "recordings/S01.imurec"        # relative to the TOML file
    discovery_timeout_s = 10.0           # optional

    [[sensor]]
    name = "IMG-A1B2"                    # or: address = "C0:1D:00:00:00:01"
    location = "left_thigh"
    protocol = "imugait-ref-1"
    rate_hz = 200
    # id = "LT"                          # optional, default from the location
    # samples_per_frame = 4              # optional (reference protocol)

Every validation error is a :class:`~imugait.errors.ConfigError` whose message names the file
and the field.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imugait.errors import ConfigError
from imugait.ingest.protocols import PROTOCOLS
from imugait.types import Location

#: Default sensor ids by location (the simulator uses the same).
DEFAULT_SENSOR_IDS: dict[Location, str] = {
    Location.LEFT_THIGH: "LT",
    Location.RIGHT_THIGH: "RT",
    Location.LEFT_SHANK: "LS",
    Location.RIGHT_SHANK: "RS",
    Location.LEFT_FOOT: "LF",
    Location.RIGHT_FOOT: "RF",
}

_SESSION_KEYS = frozenset({"subject_id", "out", "discovery_timeout_s", "session_id"})
_SENSOR_KEYS = frozenset(
    {"id", "name", "address", "location", "protocol", "rate_hz", "samples_per_frame"}
)


@dataclass(frozen=True, kw_only=True)
class SensorConfig:
    """One configured sensor. At least one of ``name`` / ``address`` identifies it."""

    sensor_id: str
    location: Location
    protocol: str
    rate_hz: float
    name: str | None = None
    address: str | None = None
    samples_per_frame: int = 4

    def __post_init__(self) -> None:
        if not self.sensor_id:
            raise ValueError("sensor_id must not be empty")
        if self.name is None and self.address is None:
            raise ValueError(f"sensor {self.sensor_id}: give a name or an address")
        if not (math.isfinite(self.rate_hz) and self.rate_hz > 0):
            raise ValueError(f"sensor {self.sensor_id}: rate_hz must be positive")
        if not 1 <= self.samples_per_frame <= 42:
            raise ValueError(f"sensor {self.sensor_id}: samples_per_frame must be in [1, 42]")
        object.__setattr__(self, "location", Location(self.location))

    @property
    def label(self) -> str:
        """How to name the sensor in messages: id plus name/address."""
        return f"{self.sensor_id} ({self.name or self.address})"

    def matches(self, name: str | None, address: str) -> bool:
        """Does an advertisement with ``name`` / ``address`` come from this sensor?"""
        if self.address is not None:
            return address.upper() == self.address.upper()
        return name is not None and name == self.name


@dataclass(frozen=True, kw_only=True)
class SessionConfig:
    """A live session: subject, output file, sensors."""

    subject_id: str
    out: Path
    sensors: tuple[SensorConfig, ...]
    discovery_timeout_s: float = 10.0
    session_id: str = ""

    def __post_init__(self) -> None:
        if not self.sensors:
            raise ValueError("a session needs at least one sensor")
        ids = [s.sensor_id for s in self.sensors]
        if len(set(ids)) != len(ids):
            raise ValueError(f"sensor ids must be unique, got {ids}")
        if not (math.isfinite(self.discovery_timeout_s) and self.discovery_timeout_s > 0):
            raise ValueError("discovery_timeout_s must be positive")
        object.__setattr__(self, "out", Path(self.out))
        object.__setattr__(self, "sensors", tuple(self.sensors))

    def sensor(self, sensor_id: str) -> SensorConfig:
        for s in self.sensors:
            if s.sensor_id == sensor_id:
                return s
        raise KeyError(sensor_id)


def _fail(source: str, where: str, msg: str) -> ConfigError:
    return ConfigError(f"{source}: {where}: {msg}")


def _str_field(d: Mapping[str, Any], key: str, source: str, where: str) -> str | None:
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, str) or not v.strip():
        raise _fail(source, f"{where} field '{key}'", f"must be a non-empty string, got {v!r}")
    return v.strip()


def _number(d: Mapping[str, Any], key: str, source: str, where: str) -> float | None:
    v = d.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v <= 0:
        raise _fail(source, f"{where} field '{key}'", f"must be a positive number, got {v!r}")
    return float(v)


def _parse_sensor(
    i: int, d: object, source: str, used_locations: dict[Location, str]
) -> SensorConfig:
    where = f"[[sensor]] #{i + 1}"
    if not isinstance(d, Mapping):
        raise _fail(source, where, "must be a table")
    unknown = sorted(set(d) - _SENSOR_KEYS)
    if unknown:
        raise _fail(source, f"{where} field '{unknown[0]}'", "unknown field")
    name = _str_field(d, "name", source, where)
    address = _str_field(d, "address", source, where)
    if name is None and address is None:
        raise _fail(source, f"{where} field 'name'", "give 'name' or 'address'")
    raw_loc = d.get("location")
    try:
        if not isinstance(raw_loc, str):
            raise ValueError(raw_loc)
        location = Location(raw_loc)
    except ValueError:
        known = ", ".join(loc.value for loc in Location)
        raise _fail(
            source, f"{where} field 'location'", f"{raw_loc!r} is not one of {known}"
        ) from None
    if location in used_locations:
        raise _fail(
            source,
            f"{where} field 'location'",
            f"{location.value} is already used by sensor {used_locations[location]}",
        )
    protocol = _str_field(d, "protocol", source, where)
    if protocol is None or protocol not in PROTOCOLS:
        raise _fail(
            source,
            f"{where} field 'protocol'",
            f"{protocol!r} is not a known protocol ({', '.join(sorted(PROTOCOLS))})",
        )
    rate_hz = _number(d, "rate_hz", source, where)
    if rate_hz is None:
        raise _fail(source, f"{where} field 'rate_hz'", "missing")
    spf = d.get("samples_per_frame", 4)
    if isinstance(spf, bool) or not isinstance(spf, int) or not 1 <= spf <= 42:
        raise _fail(source, f"{where} field 'samples_per_frame'", f"must be 1..42, got {spf!r}")
    sensor_id = _str_field(d, "id", source, where) or DEFAULT_SENSOR_IDS[location]
    used_locations[location] = sensor_id
    return SensorConfig(
        sensor_id=sensor_id,
        location=location,
        protocol=protocol,
        rate_hz=rate_hz,
        name=name,
        address=address,
        samples_per_frame=spf,
    )


def parse_config(
    data: Mapping[str, Any], *, source: str = "session.toml", base_dir: Path | None = None
) -> SessionConfig:
    """Validate a parsed ``session.toml``; ``out`` is resolved against ``base_dir``."""
    unknown_top = sorted(set(data) - {"session", "sensor"})
    if unknown_top:
        raise _fail(source, f"[{unknown_top[0]}]", "unknown table")
    sess = data.get("session")
    if not isinstance(sess, Mapping):
        raise _fail(source, "[session]", "missing table")
    unknown = sorted(set(sess) - _SESSION_KEYS)
    if unknown:
        raise _fail(source, f"[session] field '{unknown[0]}'", "unknown field")
    subject_id = _str_field(sess, "subject_id", source, "[session]")
    if subject_id is None:
        raise _fail(source, "[session] field 'subject_id'", "missing")
    out = _str_field(sess, "out", source, "[session]")
    if out is None:
        raise _fail(source, "[session] field 'out'", "missing")
    out_path = Path(out)
    if base_dir is not None and not out_path.is_absolute():
        out_path = base_dir / out_path
    timeout = _number(sess, "discovery_timeout_s", source, "[session]") or 10.0
    session_id = _str_field(sess, "session_id", source, "[session]") or ""
    raw_sensors = data.get("sensor")
    if not isinstance(raw_sensors, list) or not raw_sensors:
        raise _fail(source, "[[sensor]]", "at least one sensor is needed")
    used: dict[Location, str] = {}
    sensors = tuple(_parse_sensor(i, d, source, used) for i, d in enumerate(raw_sensors))
    ids = [s.sensor_id for s in sensors]
    dup = sorted({x for x in ids if ids.count(x) > 1})
    if dup:
        raise _fail(source, "[[sensor]] field 'id'", f"duplicate sensor id {dup[0]!r}")
    return SessionConfig(
        subject_id=subject_id,
        out=out_path,
        sensors=sensors,
        discovery_timeout_s=timeout,
        session_id=session_id,
    )


def load_config(path: str | Path) -> SessionConfig:
    """Read and validate a ``session.toml`` file."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    return parse_config(data, source=str(p), base_dir=p.parent)
