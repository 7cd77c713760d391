"""Live statistics of a session: per-sensor counters and the arrival-to-processed latency."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray


class LinkState(StrEnum):
    """Where a sensor's link is."""

    SEARCHING = "searching"
    CONNECTING = "connecting"
    STREAMING = "streaming"
    RECONNECTING = "reconnecting"
    NOT_FOUND = "not_found"
    STOPPED = "stopped"


@dataclass
class SensorStats:
    """Counters of one sensor. ``lost_frames`` counts sequence gaps (protocols with a frame
    counter); ``bad_packets`` notifications that failed to decode; ``queue_overflows``
    notifications dropped because the session queue was full."""

    sensor_id: str
    protocol: str
    state: LinkState = LinkState.SEARCHING
    connected: bool = False
    address: str | None = None
    notifications: int = 0
    frames: int = 0
    samples: int = 0
    lost_frames: int = 0
    bad_packets: int = 0
    queue_overflows: int = 0
    connections: int = 0
    disconnections: int = 0
    battery_pct: int | None = None
    att_mtu: int | None = None
    notification_rate_hz: float = 0.0
    sample_rate_hz: float = 0.0
    last_error: str | None = None
    # rate bookkeeping
    _rate_t_s: float = field(default=0.0, repr=False)
    _rate_notifications: int = field(default=0, repr=False)
    _rate_samples: int = field(default=0, repr=False)

    def update_rates(self, now_s: float) -> None:
        """Recompute the rates over the time since the last call."""
        dt = now_s - self._rate_t_s
        if self._rate_t_s > 0 and dt > 0:
            self.notification_rate_hz = (self.notifications - self._rate_notifications) / dt
            self.sample_rate_hz = (self.samples - self._rate_samples) / dt
        self._rate_t_s = now_s
        self._rate_notifications = self.notifications
        self._rate_samples = self.samples

    def snapshot(self) -> SensorStats:
        """A copy, safe to hand out."""
        return dataclasses.replace(self)

    def to_json(self) -> dict[str, object]:
        """Public fields as a JSON object (for the ``session_end`` event)."""
        out = {k: v for k, v in dataclasses.asdict(self).items() if not k.startswith("_")}
        out["state"] = self.state.value
        return out


class LatencyRecorder:
    """Arrival (notify callback) to processed (``on_batch`` returned) latencies, seconds,
    with the arrival times (session clock).

    Keeps every value up to ``capacity`` (then keeps counting the maximum only).
    """

    def __init__(self, *, capacity: int = 2_000_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self._buf = np.empty(capacity, dtype=np.float64)
        self._t = np.empty(capacity, dtype=np.float64)
        self._n = 0
        self.count = 0
        self.max_s = 0.0

    def add(self, latency_s: float, arrival_t_s: float = 0.0) -> None:
        self.count += 1
        self.max_s = max(self.max_s, latency_s)
        if self._n < len(self._buf):
            self._buf[self._n] = latency_s
            self._t[self._n] = arrival_t_s
            self._n += 1

    @property
    def values_s(self) -> NDArray[np.float64]:
        return self._buf[: self._n].copy()

    def quantile_s(self, q: float, *, after_t_s: float | None = None) -> float:
        """Quantile ``q`` in [0, 1] of the recorded latencies (nan when empty), optionally of
        the notifications that arrived after ``after_t_s`` only (steady state)."""
        v = self._buf[: self._n]
        if after_t_s is not None:
            v = v[self._t[: self._n] > after_t_s]
        return float(np.quantile(v, q)) if len(v) else float("nan")
