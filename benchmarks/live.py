"""Live-session benchmark: N emulated sensors at 200 Hz through bleak + the bumble sim backend.

For each sensor count, one live session of ``--seconds`` (default 60) with the reference
protocol at 200 Hz, 4 samples per notification (MTU 247), everything in one process:

* notifications lost: frames the emulated sensors sent that are not in the recording, plus
  sequence gaps, plus queue overflows;
* CPU: whole process (``resource.getrusage``), the session consumer (write + decode +
  ``on_batch``, measured with ``time.thread_time`` around each item), and the emulator's frame
  production (encode); the rest is the two bumble stacks + the bleak backend;
* latency from notification arrival (notify callback) to processed (``on_batch`` returned),
  p50 / p99 / max.

Run: ``.venv/bin/python benchmarks/live.py [--seconds 60] [--sensors 4 8]``.
"""

from __future__ import annotations

import argparse
import asyncio
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
from imugait.sim import Scenario, simulate
from imugait.types import FrameBatch


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


def run_one(n_sensors: int, seconds: float, out_dir: Path) -> Row:
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
            with _CpuMeter() as meter:
                res = await run_session(
                    cfg, backend=be, duration_s=seconds, processor=_First6(proc)
                )
            wall = time.monotonic() - t0
            ru1 = resource.getrusage(resource.RUSAGE_SELF)
            sent = sum(s.stats.sent for s in be.sensors)
        cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        rec = read_recording(out)
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
        )
        return row, cpu, wall

    row, _, _ = asyncio.run(main())
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--sensors", type=int, nargs="+", default=[4, 8])
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sensors:
            rows.append(run_one(n, args.seconds, Path(tmp)))
    head = (
        f"{'sensors':>7} {'wall s':>7} {'sent':>7} {'recorded':>8} {'lost':>5} {'ovfl':>5} "
        f"{'bad':>4} {'CPU %':>6} {'consumer %':>10} {'encode %':>8} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'p99>2s':>7} {'max ms':>7} {'verdicts':>8} {'FC->verdict p50/max ms':>22}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        lost = (r.sent - r.recorded) + r.lost_by_seq
        print(
            f"{r.n_sensors:>7} {r.seconds:>7.1f} {r.sent:>7} {r.recorded:>8} {lost:>5} "
            f"{r.overflows:>5} {r.bad:>4} {r.cpu_total_pct:>6.1f} {r.cpu_consumer_pct:>10.1f} "
            f"{r.cpu_encode_pct:>8.1f} {r.p50_ms:>7.3f} {r.p99_ms:>7.3f} {r.p99_steady_ms:>7.3f} {r.max_ms:>7.2f} {r.verdicts:>8} "
            f"{r.verdict_p50_ms:>10.0f}/{r.verdict_max_ms:<10.0f}"
        )
    print(
        "\nCPU % = share of one core over the wall time, whole process (emulated sensors, both "
        "bumble stacks, bleak, session); consumer = recording write + decode + on_batch; "
        "encode = emulator frame production; latency = notify callback -> on_batch returned; "
        "p99>2s = notifications after the first 2 s (while the sensors connect one at a time, "
        "the first ones' notifications wait for the recording to open). The session runs the "
        "whole analysis pipeline (clock, strides, knee, hyperextension) on one sensor per location; "
        "FC->verdict = session time of the notification that completed a stride's "
        "hyperextension verdict minus that stride's final contact."
    )


if __name__ == "__main__":
    main()
