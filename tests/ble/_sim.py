"""Shared helpers of the BLE tests: a cached simulation and a one-call sim session."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imugait.ble import SensorFaults, SimBackend, run_session, sim_backend
from imugait.ble.session import SessionResult
from imugait.sim import Scenario, Simulation, simulate
from imugait.types import FrameBatch


@functools.cache
def walk(fs_hz: float = 200.0, duration_s: float = 8.0) -> Simulation:
    """A short healthy walk at ``fs_hz`` (the emulator repeats it)."""
    return simulate(Scenario(duration_s=duration_s, fs_hz=fs_hz, stand_start_s=1.0, seed=11))


@dataclass
class RecordingProcessor:
    """Keeps what the session hands over, in order."""

    batches: dict[str, list[FrameBatch]] = field(default_factory=dict)
    log: list[tuple[str, str]] = field(default_factory=list)

    def on_batch(self, sensor_id: str, batch: FrameBatch) -> None:
        self.batches.setdefault(sensor_id, []).append(batch)
        if not self.log or self.log[-1] != ("batch", sensor_id):
            self.log.append(("batch", sensor_id))

    def on_reconnect(self, sensor_id: str) -> None:
        self.log.append(("reconnect", sensor_id))


@dataclass
class SimRun:
    backend: SimBackend
    result: SessionResult
    processor: RecordingProcessor
    path: Path


def run_sim_session(
    out: Path,
    *,
    seconds: float,
    faults: Mapping[str, SensorFaults] | None = None,
    n_sensors: int | None = None,
    discovery_timeout_s: float = 3.0,
    **session_kwargs: Any,
) -> SimRun:
    """Run a live session of ``seconds`` against emulated sensors, through bleak."""
    proc = session_kwargs.pop("processor", None) or RecordingProcessor()

    async def main() -> SimRun:
        be = sim_backend(simulation=walk(), faults=faults, n_sensors=n_sensors)
        async with be:
            cfg = be.session_config(
                subject_id="S01", out=out, discovery_timeout_s=discovery_timeout_s
            )
            res = await run_session(
                cfg, backend=be, processor=proc, duration_s=seconds, **session_kwargs
            )
        return SimRun(be, res, proc, out)

    return asyncio.run(main())
