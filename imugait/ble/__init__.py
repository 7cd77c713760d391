"""Live BLE ingest: bleak sessions on any backend, a bumble backend and emulated sensors.

* :func:`run_session` (:mod:`.session`) - the live session runner;
* :func:`make_backend` / :func:`sim_backend` (:mod:`.backends`) - ``auto``, ``bumble:<transport>``,
  ``sim`` (emulated sensors on an in-process bumble radio);
* :func:`load_config` (:mod:`.config`) - ``session.toml``;
* :func:`scan_sensors` (:mod:`.scan`) - discover supported sensors.
"""

from __future__ import annotations

from .backends import BleBackend, BumbleHostBackend, SimBackend, make_backend, sim_backend
from .config import SensorConfig, SessionConfig, load_config, parse_config
from .emulator import EmulatedSensor, SensorFaults
from .scan import FoundSensor, scan_sensors
from .session import (
    NullProcessor,
    Processor,
    SessionResult,
    SessionStatus,
    run_session,
)
from .stats import LinkState, SensorStats

__all__ = [
    "BleBackend",
    "BumbleHostBackend",
    "EmulatedSensor",
    "FoundSensor",
    "LinkState",
    "NullProcessor",
    "Processor",
    "SensorConfig",
    "SensorFaults",
    "SensorStats",
    "SessionConfig",
    "SessionResult",
    "SessionStatus",
    "SimBackend",
    "load_config",
    "make_backend",
    "parse_config",
    "run_session",
    "scan_sensors",
    "sim_backend",
]
