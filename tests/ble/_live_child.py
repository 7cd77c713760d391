"""Child process of the SIGKILL test of a live session (not a test module).

Usage: ``python _live_child.py RECORDING TRUTH_LOG MAX_RUN_S``

Runs a live session with four emulated sensors (sim backend, 200 Hz) until killed or until
``MAX_RUN_S``. Its processor appends ``"<sensor_id> <seq> <session_t_s>"`` to TRUTH_LOG with an
unbuffered ``os.write`` for every notification, right after the session handed it to the
recording writer, and prints ``streaming`` on stdout at the first one.
"""

from __future__ import annotations

import asyncio
import os
import sys

from imugait.ble import run_session, sim_backend
from imugait.sim import Scenario, simulate
from imugait.types import FrameBatch


class TruthLog:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.started = False

    def on_batch(self, sensor_id: str, batch: FrameBatch) -> None:
        os.write(
            self.fd, f"{sensor_id} {int(batch.seq[0])} {float(batch.host_t_s[0])!r}\n".encode()
        )
        if not self.started:
            self.started = True
            print("streaming", flush=True)

    def on_reconnect(self, sensor_id: str) -> None:
        return None


async def main(out: str, truth: str, max_run_s: float) -> None:
    sim = simulate(Scenario(duration_s=6.0, fs_hz=200.0, stand_start_s=1.0, seed=3))
    fd = os.open(truth, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    be = sim_backend(simulation=sim, n_sensors=4)
    async with be:
        cfg = be.session_config(subject_id="S01", out=out)
        await run_session(cfg, backend=be, processor=TruthLog(fd), duration_s=max_run_s)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
