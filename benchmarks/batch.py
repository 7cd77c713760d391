# ruff: noqa: E402  (BLAS thread settings must precede the numpy import)
"""Benchmark of ``imugait batch``: N simulated sessions exported serially vs on a local
dask cluster of 2 worker processes (cluster start-up included in the parallel time).

Run: .venv/bin/python benchmarks/batch.py [--n 50] [--duration-s 30] [--workers 2]
"""

from __future__ import annotations

import os

# single-threaded BLAS in this process too, so that serial and parallel runs compare like for like
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import os
import tempfile
import time
from pathlib import Path

from imugait.batch import run_batch
from imugait.sim import PRESETS, simulate
from imugait.sim.record import write_simulation


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=50, help="sessions")
    ap.add_argument("--duration-s", type=float, default=30.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--distinct", type=int, default=5, help="distinct simulations (re-used)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        sims = [
            simulate(PRESETS["healthy"].with_(duration_s=a.duration_s, seed=100 + k))
            for k in range(min(a.distinct, a.n))
        ]
        paths = []
        for i in range(a.n):  # session id = file stem
            p = d / "in" / f"walk{i:03d}.imurec"
            p.parent.mkdir(exist_ok=True)
            write_simulation(sims[i % len(sims)], p, save_truth=False)
            paths.append(p)
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"{a.n} sessions of {a.duration_s:.0f} s, {os.cpu_count()} CPUs, load avg {load}")
        t0 = time.perf_counter()
        serial = run_batch(paths, d / "serial", n_workers=0)
        t_serial = time.perf_counter() - t0
        assert serial.ok, serial.of("failed")
        t0 = time.perf_counter()
        par = run_batch(paths, d / "parallel", n_workers=a.workers)
        t_par = time.perf_counter() - t0
        assert par.ok, par.of("failed")
        task_s = sum(i.seconds for i in par.items)
        print(f"serial: {t_serial:.1f} s ({t_serial / a.n:.2f} s/session)")
        print(
            f"{a.workers} workers: {t_par:.1f} s (task time sum {task_s:.1f} s, workers busy "
            f"{100 * task_s / (a.workers * t_par):.0f} % of the wall time; a task took "
            f"{task_s / a.n / (t_serial / a.n):.2f}x its serial time)"
        )
        print(
            f"speed-up: {t_serial / t_par:.2f}x (load avg now "
            f"{', '.join(f'{x:.1f}' for x in os.getloadavg())})"
        )


if __name__ == "__main__":
    main()
