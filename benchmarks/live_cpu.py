"""Live-session CPU with the emulator measured apart, and a profile of the session consumer.

The emulated sensors (bumble GATT servers, their link and the frame encoder) run in the same
process and the same event loop as the session, so the whole-process CPU of a live benchmark
counts them. This script measures, with 4 (or ``--sensors``) emulated sensors at 200 Hz:

1. **baseline**: the same emulated session with a trivial consumer (the queued notification is
   counted and dropped: no recording, no decoding, no analysis) -> CPU of the emulator, both
   bumble stacks, bleak, the notify callbacks and the queue;
2. **full**: the real consumer (recording write + decode + ``LiveAnalysis.on_batch``, the whole
   analysis pipeline on one sensor per location) -> whole-process CPU;
3. **full - baseline**: the session's own cost, emulator excluded (both runs in one process,
   back to back, ``--repeat`` times alternating; median of each), next to the consumer's thread
   CPU summed around each item (``time.thread_time``);
4. **profile**: the notifications of the full run's recording replayed through the same
   consumer path (write to a new recording, decode, ``on_batch``) without pacing, under
   cProfile: consumer CPU per notification and per second of session, and the top functions.

Run: ``.venv/bin/python benchmarks/live_cpu.py [--seconds 20] [--sensors 4] [--repeat 2]``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import logging
import pstats
import resource
import statistics
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from live import _First6 as _First  # benchmarks/live.py (this script's folder is on sys.path)

from imugait.ble import run_session, sim_backend
from imugait.ble import session as session_mod
from imugait.ble._link import RawNotification
from imugait.ingest.protocols import get_protocol
from imugait.ingest.recording import RecordingWriter, read_recording
from imugait.ingest.replay import nominal_fs_hz
from imugait.live import LiveAnalysis
from imugait.pipeline import SensorSpec
from imugait.sim import Scenario, Simulation, simulate
from imugait.types import FrameBatch, Location


@dataclass
class Run:
    mode: str
    wall_s: float
    cpu_s: float
    consumer_s: float
    notifications: int

    @property
    def cpu_pct(self) -> float:
        return 100.0 * self.cpu_s / self.wall_s

    @property
    def consumer_pct(self) -> float:
        return 100.0 * self.consumer_s / self.wall_s


def _session(sim: Simulation, n_sensors: int, seconds: float, out: Path, *, trivial: bool) -> Run:
    orig = session_mod._Session._handle_notification
    counter = {"n": 0.0, "cpu": 0.0}

    def counted(sess: session_mod._Session, item: RawNotification) -> None:
        t = time.thread_time()
        counter["n"] += 1
        if not trivial:  # the trivial consumer counts and drops the notification
            orig(sess, item)
        counter["cpu"] += time.thread_time() - t

    async def main() -> Run:
        be = sim_backend(simulation=sim, n_sensors=n_sensors, distractors=1)
        async with be:
            cfg = be.session_config(subject_id="BENCH", out=out)
            first: dict[Location, SensorSpec] = {}
            for c in cfg.sensors:
                first.setdefault(c.location, SensorSpec(c.sensor_id, c.location, c.rate_hz))
            proc = _First(LiveAnalysis(list(first.values())))
            ru0 = resource.getrusage(resource.RUSAGE_SELF)
            t0 = time.monotonic()
            session_mod._Session._handle_notification = counted  # type: ignore[method-assign,assignment]
            try:
                await run_session(
                    cfg, backend=be, duration_s=seconds, processor=proc, overwrite=True
                )
            finally:
                session_mod._Session._handle_notification = orig  # type: ignore[method-assign]
            wall = time.monotonic() - t0
            ru1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        mode = "baseline" if trivial else "full"
        return Run(mode, wall, cpu, counter["cpu"], int(counter["n"]))

    return asyncio.run(main())


def _replay_consumer(rec_path: Path, out: Path) -> tuple[float, int, float, str]:
    """Replay the recording's notifications through write + decode + on_batch, profiled.

    Returns (consumer CPU s, notifications, session duration s, cProfile top list).
    """
    rec = read_recording(rec_path)
    hdr = rec.header
    decoders = {e.sensor_id: get_protocol(e.protocol).decoder(e.config) for e in hdr.sensors}
    first: dict[Location, SensorSpec] = {}
    for e in hdr.sensors:
        first.setdefault(e.location, SensorSpec(e.sensor_id, e.location, nominal_fs_hz(e)))
    proc = _First(LiveAnalysis(list(first.values())))
    items = sorted(rec.notifications, key=lambda n: n.host_t_s)
    t0 = hdr.host_t0_s
    prof = cProfile.Profile()
    with RecordingWriter(out, replace(hdr, session_id="replay"), overwrite=True) as writer:
        prof.enable()
        c0 = time.process_time()
        for n in items:
            writer.write_notification(n.sensor_id, n.characteristic, n.host_t_s, n.payload)
            frames = decoders[n.sensor_id].decode(n.characteristic, n.payload)
            if frames:
                batch = FrameBatch.from_frames([n.host_t_s - t0] * len(frames), frames)
                proc.on_batch(n.sensor_id, batch)
            writer.maybe_flush()
        t_cpu = time.process_time() - c0
        prof.disable()
    s = io.StringIO()
    stats = pstats.Stats(prof, stream=s)
    stats.sort_stats("cumulative").print_stats("imugait", 20)  # where the time goes, by stage
    stats.sort_stats("tottime").print_stats(12)  # the hot functions themselves
    dur = items[-1].host_t_s - items[0].host_t_s if items else 0.0
    return t_cpu, len(items), dur, s.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--sensors", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--no-profile", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sim = simulate(Scenario(duration_s=30.0, fs_hz=200.0, locations=Scenario().locations))
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp:
        rec = Path(tmp) / "full.imurec"
        for _ in range(args.repeat):
            runs.append(
                _session(sim, args.sensors, args.seconds, Path(tmp) / "b.imurec", trivial=True)
            )
            runs.append(_session(sim, args.sensors, args.seconds, rec, trivial=False))
        print(f"{args.sensors} emulated sensors at 200 Hz, {args.seconds:g} s sessions")
        print(f"{'mode':>9} {'wall s':>7} {'notif.':>7} {'CPU %':>6} {'consumer thread %':>17}")
        for r in runs:
            print(
                f"{r.mode:>9} {r.wall_s:>7.1f} {r.notifications:>7} {r.cpu_pct:>6.1f} "
                f"{r.consumer_pct:>17.1f}"
            )
        base = statistics.median(r.cpu_pct for r in runs if r.mode == "baseline")
        full = statistics.median(r.cpu_pct for r in runs if r.mode == "full")
        cons = statistics.median(r.consumer_pct for r in runs if r.mode == "full")
        print(
            f"\nmedian whole process: full {full:.1f} %, baseline (emulator + radio + bleak, "
            f"trivial consumer) {base:.1f} %\nsession cost, emulator excluded: full - baseline = "
            f"{full - base:.1f} % of one core; consumer thread time alone {cons:.1f} %"
        )
        if not args.no_profile:
            cpu, n, dur, top = _replay_consumer(rec, Path(tmp) / "replay.imurec")
            print(
                f"\nconsumer replay (write + decode + on_batch, no emulator, unpaced, profiled): "
                f"{n} notifications, {1e6 * cpu / max(n, 1):.0f} us each = "
                f"{100 * cpu / max(dur, 1e-9):.1f} % of one core at the session's rate "
                f"({dur:.1f} s of session; cProfile overhead included)"
            )
            print(top)


if __name__ == "__main__":
    main()
