"""Public result/plug-in types of the live session (:mod:`imugait.ble.session` re-exports them)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from imugait.types import FrameBatch

from .stats import LatencyRecorder, SensorStats


class Processor(Protocol):
    """Receives the decoded stream (the analysis pipeline plugs in here)."""

    def on_batch(self, sensor_id: str, batch: FrameBatch) -> None:
        """One notification's frames, sensor clock, host times on the session clock."""
        ...

    def on_reconnect(self, sensor_id: str) -> None:
        """The sensor reconnected: its sequence counter and clock mapping restart."""
        ...


class NullProcessor:
    """A processor that does nothing."""

    def on_batch(self, sensor_id: str, batch: FrameBatch) -> None:
        return None

    def on_reconnect(self, sensor_id: str) -> None:
        return None


@dataclass(frozen=True)
class SessionStatus:
    """A snapshot for live displays."""

    elapsed_s: float
    queue_depth: int
    sensors: tuple[SensorStats, ...]


@dataclass(frozen=True)
class SessionResult:
    """What a session did."""

    path: Path
    duration_s: float
    sensors: dict[str, SensorStats]
    not_found: tuple[str, ...]
    processor_errors: int
    latency: LatencyRecorder

    @property
    def total_notifications(self) -> int:
        return sum(s.notifications for s in self.sensors.values())
