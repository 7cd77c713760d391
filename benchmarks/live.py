"""Live-session benchmark: N emulated sensors at 200 Hz through bleak + the bumble sim backend.

For each sensor count, one live session of ``--seconds`` (default 60) with the reference
protocol at 200 Hz, 4 samples per notification (MTU 247), everything in one process:

* notifications lost: frames the emulated sensors sent that are not in the recording, plus
  sequence gaps, plus queue overflows;
* CPU: whole process (``resource.getrusage``), the session consumer (write + decode +
  ``on_batch``, measured with ``time.thread_time`` around each item), and the emulator's frame
  production (encode); the rest is the two bumble stacks + the bleak backend;
* latency from notification arrival (notify callback) to processed (``on_batch`` returned),
  p50 / p99 / max;
* hyperextension verdict delay: for every stride whose result is the verdict given as its stance
  ended, the host wall-clock moment that verdict became available minus the stride's **true**
  final contact (simulator truth, mapped onto the session clock through the emulated sensor's
  sample clock) and minus its detected FC; p50 / p95 over the stances that ended 10 s after the
  first verdict (the first ones wait for the knee-angle identification, a one-off at session
  start, and its backlog);
* CPU with the emulator measured apart: the same session once more with a trivial consumer
  (notifications counted, not recorded, decoded or analysed): session CPU = whole-process CPU
  minus that baseline.

Run: ``.venv/bin/python benchmarks/live.py [--seconds 60] [--sensors 4 8] [--profile FILE]``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imugait.ble import run_session, sim_backend
from imugait.ble import session as session_mod
from imugait.ble._link import RawNotification
from imugait.ble.models import ReferenceModel
from imugait.ingest.protocols import reference as ref
from imugait.ingest.recording import read_recording
from imugait.live import LiveAnalysis
from imugait.pipeline import SensorSpec
from imugait.sim import Scenario, Simulation, simulate
from imugait.types import FrameBatch, Segment


@dataclass
class Row:
    n_sensors: int
    seconds: float
    sent: int
    recorded: int
    lost_by_seq: int
    overflows: int
    bad: int
    cpu_total_pct: float
    cpu_consumer_pct: float
    cpu_encode_pct: float
    p50_ms: float
    p99_ms: float
    p99_steady_ms: float
    max_ms: float
    verdicts: int
    verdict_p50_ms: float
    verdict_max_ms: float
    cpu_baseline_pct: float = float("nan")
    true_fc_p50_ms: float = float("nan")
    true_fc_p95_ms: float = float("nan")
    det_fc_p50_ms: float = float("nan")
    det_fc_p95_ms: float = float("nan")
    n_confirmed: int = 0
    n_strides: int = 0
    n_early: int = 0


class _First6:
    """The analysis pipeline on the first sensor of each body location."""

    def __init__(self, proc: LiveAnalysis) -> None:
        self.proc = proc
        self.ids = {s.sensor_id for s in proc.sensors}

    def on_batch(self, sensor_id: str, batch: FrameBatch) -> None:
        if sensor_id in self.ids:
            self.proc.on_batch(sensor_id, batch)

    def on_reconnect(self, sensor_id: str) -> None:
        if sensor_id in self.ids:
            self.proc.on_reconnect(sensor_id)


class _CpuMeter:
    """Patches the consumer's item handler and the emulator's encoder to sum thread CPU."""

    def __init__(self) -> None:
        self.consumer_s = 0.0
        self.encode_s = 0.0
        self._orig_handle = session_mod._Session._handle_notification
        self._orig_encode = ReferenceModel.encode_frame

    def __enter__(self) -> _CpuMeter:
        meter = self
        orig_handle, orig_encode = self._orig_handle, self._orig_encode

        def handle(sess: session_mod._Session, item: RawNotification) -> None:
            t = time.thread_time()
            orig_handle(sess, item)
            meter.consumer_s += time.thread_time() - t

        def encode(model: ReferenceModel, k0: int, n: int) -> list[bytes]:
            t = time.thread_time()
            out = orig_encode(model, k0, n)
            meter.encode_s += time.thread_time() - t
            return out

        session_mod._Session._handle_notification = handle  # type: ignore[method-assign,assignment]
        ReferenceModel.encode_frame = encode  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        session_mod._Session._handle_notification = self._orig_handle  # type: ignore[method-assign]
        ReferenceModel.encode_frame = self._orig_encode  # type: ignore[method-assign]


WARMUP_S = 10.0


class _Trivial:
    """Baseline consumer: counts notifications; no recording, decoding or analysis."""

    def __init__(self) -> None:
        self.n = 0
        self._orig = session_mod._Session._handle_notification

    def __enter__(self) -> _Trivial:
        me = self

        def handle(sess: session_mod._Session, item: RawNotification) -> None:
            me.n += 1

        session_mod._Session._handle_notification = handle  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        session_mod._Session._handle_notification = self._orig  # type: ignore[method-assign]


class _Null:
    def on_batch(self, sensor_id: str, batch: FrameBatch) -> None:
        pass

    def on_reconnect(self, sensor_id: str) -> None:
        pass


def baseline_cpu(n_sensors: int, seconds: float, sim: Simulation, out_dir: Path) -> float:
    """Whole-process CPU % of the same emulated session with the trivial consumer."""
    out = out_dir / f"base_{n_sensors}.imurec"

    async def main() -> float:
        be = sim_backend(simulation=sim, n_sensors=n_sensors, distractors=1)
        async with be:
            cfg = be.session_config(subject_id="BENCH", out=out)
            ru0 = resource.getrusage(resource.RUSAGE_SELF)
            t0 = time.monotonic()
            with _Trivial():
                await run_session(cfg, backend=be, duration_s=seconds, processor=_Null())
            wall = time.monotonic() - t0
            ru1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        return 100 * cpu / wall

    return asyncio.run(main())


def _true_fc_session(
    sim: Simulation,
    proc: LiveAnalysis,
    be_t0: float,
    host_t0: float,
    src_by_loc: dict[object, object],
) -> dict[object, np.ndarray]:
    """Per side, the true FC times on the session clock (the emulated motion repeats)."""
    out: dict[object, np.ndarray] = {}
    for spec in proc.sensors:
        if spec.location.segment is not Segment.SHANK:
            continue
        side = spec.location.side
        src = src_by_loc[spec.location]
        ss = sim.sensor(spec.location)
        n = ss.n
        fc = sim.truth.fc_t_s(side)
        j = np.interp(fc, ss.true_t_s, np.arange(n, dtype=np.float64))  # motion sample index
        times = []
        for r in range(64):
            for jf in j:
                k = int(np.floor(jf)) + r * n
                tk = src.true_t_s(k)  # type: ignore[attr-defined]
                tk1 = src.true_t_s(k + 1)  # type: ignore[attr-defined]
                times.append(be_t0 + tk + (jf - np.floor(jf)) * (tk1 - tk) - host_t0)
        out[side] = np.sort(np.array(times))
    return out


def run_one(n_sensors: int, seconds: float, out_dir: Path, profile: Path | None = None) -> Row:
    sim = simulate(Scenario(duration_s=30.0, fs_hz=200.0, locations=Scenario().locations))
    out = out_dir / f"live_{n_sensors}.imurec"

    async def main() -> tuple[Row, float, float]:
        be = sim_backend(simulation=sim, n_sensors=n_sensors, distractors=1)
        async with be:
            cfg = be.session_config(subject_id="BENCH", out=out)
            ru0 = resource.getrusage(resource.RUSAGE_SELF)
            t0 = time.monotonic()
            first: dict[object, SensorSpec] = {}
            for c in cfg.sensors:  # one sensor per body location
                first.setdefault(c.location, SensorSpec(c.sensor_id, c.location, c.rate_hz))
            proc = LiveAnalysis(list(first.values()))
            prof = cProfile.Profile() if profile is not None else None
            with _CpuMeter() as meter:
                if prof is not None:
                    prof.enable()
                res = await run_session(
                    cfg, backend=be, duration_s=seconds, processor=_First6(proc)
                )
                if prof is not None:
                    prof.disable()
                    prof.dump_stats(str(profile))
            wall = time.monotonic() - t0
            ru1 = resource.getrusage(resource.RUSAGE_SELF)
            sent = sum(s.stats.sent for s in be.sensors)
            be_t0 = be.t0
            src_by_loc: dict[object, object] = {}
            for s in be.sensors:
                src_by_loc.setdefault(s.location, s.model.source)
        cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        rec = read_recording(out)
        host_t0 = rec.header.host_t0_s
        true_fc = _true_fc_session(sim, proc, be_t0, host_t0, src_by_loc)
        confirmed = {id(h) for h in proc.hyperextension}
        given = {id(v) for v, _ in proc.verdict_times}
        avail = [(v, w) for v, w in proc.verdict_times if id(v) in confirmed]
        d_true: list[float] = []
        d_det: list[float] = []
        if avail:
            # The first verdicts wait for the knee-angle identification (a one-off of ~1 s of
            # CPU per leg at session start) and the backlog it leaves; count stances that
            # ended WARMUP_S after the first verdict was given.
            first_avail = min(w for _, w in proc.verdict_times) - host_t0
            for v, w in avail:
                if v.fc_t_s < first_avail + WARMUP_S:
                    continue
                tf = true_fc[v.side]
                i = int(np.argmin(np.abs(tf - v.fc_t_s)))
                if abs(tf[i] - v.fc_t_s) < 0.2:
                    d_true.append(w - host_t0 - tf[i])
                d_det.append(w - host_t0 - v.fc_t_s)
        recorded = sum(
            len(rec.payloads_by_sensor(s.sensor_id, ref.DATA_UUID)[1]) for s in cfg.sensors
        )
        st = res.sensors.values()
        lat = res.latency
        row = Row(
            n_sensors=n_sensors,
            seconds=wall,
            sent=sent,
            recorded=recorded,
            lost_by_seq=sum(s.lost_frames for s in st),
            overflows=sum(s.queue_overflows for s in st),
            bad=sum(s.bad_packets for s in st),
            cpu_total_pct=100 * cpu / wall,
            cpu_consumer_pct=100 * meter.consumer_s / wall,
            cpu_encode_pct=100 * meter.encode_s / wall,
            p50_ms=1e3 * lat.quantile_s(0.5),
            p99_ms=1e3 * lat.quantile_s(0.99),
            p99_steady_ms=1e3 * lat.quantile_s(0.99, after_t_s=2.0),
            max_ms=1e3 * lat.max_s,
            verdicts=len(proc.flag_latency_s),
            verdict_p50_ms=1e3 * float(np.median(proc.flag_latency_s))
            if proc.flag_latency_s
            else float("nan"),
            verdict_max_ms=1e3 * float(np.max(proc.flag_latency_s))
            if proc.flag_latency_s
            else float("nan"),
            true_fc_p50_ms=_q(d_true, 50),
            true_fc_p95_ms=_q(d_true, 95),
            det_fc_p50_ms=_q(d_det, 50),
            det_fc_p95_ms=_q(d_det, 95),
            n_confirmed=len(d_true),
            n_strides=len(proc.hyperextension),
            n_early=sum(id(h) in given for h in proc.hyperextension),
        )
        return row, cpu, wall

    row, _, _ = asyncio.run(main())
    row.cpu_baseline_pct = baseline_cpu(n_sensors, seconds, sim, out_dir)
    return row


def _q(x: list[float], q: float) -> float:
    return 1e3 * float(np.percentile(x, q)) if x else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--sensors", type=int, nargs="+", default=[4, 8])
    ap.add_argument("--profile", type=Path, help="cProfile the first session into this file")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sensors:
            rows.append(run_one(n, args.seconds, Path(tmp), args.profile if not rows else None))
    head = (
        f"{'sensors':>7} {'wall s':>7} {'sent':>7} {'recorded':>8} {'lost':>5} {'ovfl':>5} "
        f"{'bad':>4} {'CPU %':>6} {'base %':>6} {'CPU-base':>8} {'consumer %':>10} "
        f"{'encode %':>8} {'p50 ms':>7} {'p99 ms':>7} {'p99>2s':>7} {'max ms':>7} "
        f"{'strides':>7} {'early':>5} {'timed':>5} {'trueFC->verdict p50/p95':>23} {'detFC->verdict p50/p95':>22}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        lost = (r.sent - r.recorded) + r.lost_by_seq
        print(
            f"{r.n_sensors:>7} {r.seconds:>7.1f} {r.sent:>7} {r.recorded:>8} {lost:>5} "
            f"{r.overflows:>5} {r.bad:>4} {r.cpu_total_pct:>6.1f} {r.cpu_baseline_pct:>6.1f} "
            f"{r.cpu_total_pct - r.cpu_baseline_pct:>8.1f} {r.cpu_consumer_pct:>10.1f} "
            f"{r.cpu_encode_pct:>8.1f} {r.p50_ms:>7.3f} {r.p99_ms:>7.3f} {r.p99_steady_ms:>7.3f} "
            f"{r.max_ms:>7.2f} {r.n_strides:>7} {r.n_early:>5} {r.n_confirmed:>5} "
            f"{r.true_fc_p50_ms:>11.0f}/{r.true_fc_p95_ms:<11.0f} "
            f"{r.det_fc_p50_ms:>10.0f}/{r.det_fc_p95_ms:<11.0f}"
        )
    print(
        "\nCPU % = share of one core over the wall time, whole process (emulated sensors, both "
        "bumble stacks, bleak, session); base % = the same emulated session with a trivial "
        "consumer (notifications counted, not recorded/decoded/analysed), so CPU-base is the "
        "session's own cost with the emulator excluded; "
        "consumer = recording write + decode + on_batch (thread CPU around each item); "
        "encode = emulator frame production; latency = notify callback -> on_batch returned; "
        "p99>2s = notifications after the first 2 s (while the sensors connect one at a time, "
        "the first ones' notifications wait for the recording to open). The session runs the "
        "whole analysis pipeline (clock, strides, stance ends, knee, hyperextension) on one sensor "
        "per location; strides = stride results; early = those whose result is the verdict given "
        "as the stance ended; timed = early ones in the delay figures: stances ending 10 s after the first verdict (the first "
        "wait for the knee identification and its backlog); trueFC->verdict = host clock when that verdict was "
        "available minus the simulator's true final contact; detFC->verdict = minus the detected "
        "FC."
    )


if __name__ == "__main__":
    main()
