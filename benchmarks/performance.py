"""Speed and peak memory: imugait vs the gaitmap peer, and the whole offline pipeline.

Run: ``.venv/bin/python benchmarks/performance.py [--gaitmap-python /tmp/gm/bin/python]``

1. Strides and events for 1 hour of two-foot data at 204.8 Hz (gaitmap's example recording
   tiled to one hour): imugait's StrideDetector vs gaitmap BarthDtw + RamppEventDetection,
   each in its own process (peak RSS from ``getrusage``), same machine, same run.
2. The whole offline pipeline (decode, clock mapping, strides, knee, hyperextension,
   impact, asymmetry; ``imugait.analyze.analyze_path``) on simulated recordings of 4 sensors at
   200 Hz of several lengths: CPU time, x real time, and peak RSS (does memory grow with length?).
   The marginal rate between the shortest and the longest recording excludes the one-off costs
   (knee model identification, first-use imports); the peak RSS growth per minute is set against
   the size of the outputs kept in memory (knee angle samples: t_s and angle, float64, per leg).

Every measurement runs in a fresh subprocess so that peak memory is that job's alone: its
``VmHWM`` (Linux), since ``ru_maxrss`` of a child keeps the parent's peak across fork + exec (the
parent simulates the recordings, so earlier versions of this script over-stated the pipeline's
peak on long recordings).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Prologue of every measured child program: imports and its own peak RSS.
_PEAK = r"""
import json, resource, sys, time
def peak_mb():
    # VmHWM: this program's own peak RSS (ru_maxrss keeps the parent's peak across fork+exec)
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

_OURS_STRIDES = (
    _PEAK
    + r"""
import numpy as np, pandas as pd
from imugait.gait import StrideDetector
from imugait.types import Location, SampleBlock
hours = float(sys.argv[1]); fs = 204.8
d = pd.read_csv(sys.argv[2], header=[0, 1], index_col=0)
n = int(hours * 3600 * fs)
t0 = time.process_time()
for side in ("left", "right"):
    s = d[f"{side}_sensor"]
    acc = s[["acc_x", "acc_y", "acc_z"]].to_numpy(); gyr = np.radians(s[["gyr_x", "gyr_y", "gyr_z"]].to_numpy())
    reps = int(np.ceil(n / len(acc)))
    blk = SampleBlock(sensor=side, location=Location(f"{side}_foot"), t_s=np.arange(n) / fs,
                      acc_m_s2=np.tile(acc, (reps, 1))[:n], gyr_rad_s=np.tile(gyr, (reps, 1))[:n], fs_hz=fs)
    det = StrideDetector()
    strides = [*det.push(blk), *det.flush()]
print(json.dumps({"seconds": time.process_time() - t0, "strides_last_side": len(strides),
                  "peak_rss_mb": peak_mb()}))
"""
)

_OURS_STREAM_STRIDES = (
    _PEAK
    + r"""
import numpy as np, pandas as pd
from imugait.gait import StrideDetector
from imugait.types import Location, SampleBlock
hours = float(sys.argv[1]); fs = 204.8
d = pd.read_csv(sys.argv[2], header=[0, 1], index_col=0)
n = int(hours * 3600 * fs)
chunk = int(60 * fs)
t0 = time.process_time(); count = 0
for side in ("left", "right"):
    s = d[f"{side}_sensor"]
    acc = s[["acc_x", "acc_y", "acc_z"]].to_numpy(); gyr = np.radians(s[["gyr_x", "gyr_y", "gyr_z"]].to_numpy())
    det = StrideDetector()
    for a in range(0, n, chunk):
        idx = np.arange(a, min(n, a + chunk))
        blk = SampleBlock(sensor=side, location=Location(f"{side}_foot"), t_s=idx / fs,
                          acc_m_s2=acc[idx % len(acc)], gyr_rad_s=gyr[idx % len(gyr)], fs_hz=fs,
                          first_seq=int(a))
        count += len(det.push(blk))
    count += len(det.flush())
print(json.dumps({"seconds": time.process_time() - t0, "strides": count,
                  "peak_rss_mb": peak_mb()}))
"""
)

_OURS_PIPELINE = (
    _PEAK
    + r"""
from imugait.analyze import analyze_path
t0 = time.process_time()
res = analyze_path(sys.argv[1])
seconds = time.process_time() - t0
peak = peak_mb()
print(json.dumps({"seconds": seconds, "strides": len(res.strides), "knee_rows": len(res.knee),
                  "knee_mb": float(res.knee.memory_usage(deep=False).sum()) / 2**20,
                  "peak_rss_mb": peak}))
"""
)


def _run(py: str, code_or_script: str, *args: str) -> dict[str, float]:
    cmd = (
        [py, "-c", code_or_script, *args] if "\n" in code_or_script else [py, code_or_script, *args]
    )
    r = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-3000:])
    out: dict[str, float] = json.loads(r.stdout.strip().splitlines()[-1])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--gaitmap-python", help="python of a venv with gaitmap + gaitmap_mad")
    ap.add_argument("--hours", type=float, default=1.0, help="length of the strides comparison")
    ap.add_argument(
        "--minutes",
        type=float,
        nargs="*",
        default=[5.0, 20.0, 60.0],
        help="lengths of the simulated pipeline recordings",
    )
    args = ap.parse_args()
    py = sys.executable
    data = ROOT.parent / "shared" / "data" / "gaitmap_example" / "imu_sample.csv"
    print(f"## 1. Strides + events, {args.hours} h of two feet at 204.8 Hz\n")
    if data.exists():
        ours = _run(py, _OURS_STRIDES, str(args.hours), str(data))
        stream = _run(py, _OURS_STREAM_STRIDES, str(args.hours), str(data))
        rt = args.hours * 3600
        print(
            f"imugait, one push per foot: {ours['seconds']:.2f} s CPU ({rt / ours['seconds']:.0f}x "
            f"real time), peak RSS {ours['peak_rss_mb']:.0f} MB"
        )
        print(
            f"imugait, 60 s chunks:       {stream['seconds']:.2f} s CPU "
            f"({rt / stream['seconds']:.0f}x real time), peak RSS {stream['peak_rss_mb']:.0f} MB"
        )
        if args.gaitmap_python:
            peer = _run(
                args.gaitmap_python,
                str(ROOT / "benchmarks" / "gaitmap_peer.py"),
                "--hours",
                str(args.hours),
            )
            print(
                f"gaitmap BarthDtw+Rampp:     {peer['seconds']:.2f} s CPU "
                f"({rt / peer['seconds']:.0f}x real time), peak RSS {peer['peak_rss_mb']:.0f} MB"
            )
            print(
                f"ratio gaitmap/imugait: time {peer['seconds'] / ours['seconds']:.1f}x, "
                f"peak memory {peer['peak_rss_mb'] / stream['peak_rss_mb']:.1f}x (chunked)"
            )
    else:
        print("(../shared/data absent: skipped)")
    print("\n## 2. Whole offline pipeline, 4 sensors at 200 Hz (analyze_path)\n")
    from imugait.sim import PRESETS, simulate
    from imugait.sim.record import write_simulation

    runs: list[tuple[float, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as d:
        for minutes in args.minutes:
            rec = Path(d) / f"perf_{minutes:g}min.imurec"
            sc = PRESETS["healthy"].with_(duration_s=minutes * 60, fs_hz=200.0, seed=5)
            write_simulation(simulate(sc), rec, att_mtu=59)
            r = _run(py, _OURS_PIPELINE, str(rec))
            runs.append((minutes, r))
            print(
                f"{minutes:g} min: {r['seconds']:.2f} s CPU = {minutes * 60 / r['seconds']:.0f}x "
                f"real time, peak RSS {r['peak_rss_mb']:.0f} MB, {r['strides']:.0f} strides, "
                f"knee table {r['knee_mb']:.0f} MB, file {rec.stat().st_size / 1e6:.1f} MB"
            )
    if len(runs) >= 2:
        (m0, r0), (m1, r1) = runs[0], runs[-1]
        dt = r1["seconds"] - r0["seconds"]
        rss = (r1["peak_rss_mb"] - r0["peak_rss_mb"]) / (m1 - m0)
        out = (r1["knee_mb"] - r0["knee_mb"]) / (m1 - m0)
        print(
            f"marginal, {m0:g} -> {m1:g} min: {(m1 - m0) * 60 / dt:.0f}x real time; peak RSS "
            f"+{rss:.2f} MB per minute (the knee table output alone: +{out:.2f} MB per minute)"
        )


if __name__ == "__main__":
    main()
