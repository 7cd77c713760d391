"""The gaitmap peer, run in its own venv (gaitmap and gaitmap_mad are not imugait dependencies).

    python3 -m venv /tmp/gm && /tmp/gm/bin/pip install gaitmap gaitmap_mad
    /tmp/gm/bin/python benchmarks/gaitmap_peer.py            # accuracy on the example recording
    /tmp/gm/bin/python benchmarks/gaitmap_peer.py --hours 1  # speed and peak memory on 1 h

gaitmap 2.x defaults: BarthDtw stride segmentation + RamppEventDetection on the example
recording (both feet, gaitmap foot sensor frame, 204.8 Hz), scored against the mocap IC/TC with
the same one-to-one +-100 ms matching as imugait (re-implemented here: no imugait import).
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gaitmap_example"
FS = 204.8


def _peak_mb() -> float:
    """This program's own peak RSS: VmHWM (ru_maxrss keeps the parent's peak across exec)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def score(ref_s: np.ndarray, det_s: np.ndarray, tol: float = 0.1) -> dict[str, float]:
    ref, det = np.sort(ref_s), np.sort(det_s)
    pairs = sorted(
        (
            (abs(d - r), i, j)
            for i, r in enumerate(ref)
            for j, d in enumerate(det)
            if abs(d - r) <= tol
        )
    )
    used_r, used_d, err = set(), set(), []
    for _, i, j in pairs:
        if i not in used_r and j not in used_d:
            used_r.add(i)
            used_d.add(j)
            err.append(det[j] - ref[i])
    tp = len(err)
    sens = tp / len(ref) if len(ref) else float("nan")
    prec = tp / len(det) if len(det) else float("nan")
    e = np.asarray(err)
    return {
        "sensitivity": sens,
        "precision": prec,
        "f1": 2 * sens * prec / (sens + prec) if tp else 0.0,
        "bias_ms": float(e.mean() * 1e3) if tp else float("nan"),
        "sd_ms": float(e.std(ddof=1) * 1e3) if tp > 1 else float("nan"),
    }


def run_gaitmap(data: pd.DataFrame) -> tuple[dict[str, pd.DataFrame], float]:
    from gaitmap.event_detection import RamppEventDetection
    from gaitmap.stride_segmentation import BarthDtw
    from gaitmap.utils.coordinate_conversion import convert_to_fbf

    t0 = time.process_time()
    bf = convert_to_fbf(data, left_like="left_", right_like="right_")
    dtw = BarthDtw().segment(data=bf, sampling_rate_hz=FS)
    ed = RamppEventDetection().detect(data=bf, stride_list=dtw.stride_list_, sampling_rate_hz=FS)
    return ed.min_vel_event_list_, time.process_time() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=0.0, help="time the pipeline on this much data")
    args = ap.parse_args()
    data = pd.read_csv(DATA / "imu_sample.csv", header=[0, 1], index_col=0)
    data.columns.names = ["sensor", "axis"]
    if args.hours > 0:
        reps = int(np.ceil(args.hours * 3600 * FS / len(data)))
        big = pd.concat([data] * reps, ignore_index=True).iloc[: int(args.hours * 3600 * FS)]
        _, secs = run_gaitmap(big)
        peak_mb = _peak_mb()
        print(json.dumps({"hours": args.hours, "seconds": secs, "peak_rss_mb": peak_mb}))
        return
    events, secs = run_gaitmap(data)
    ref = pd.read_csv(DATA / "stride_events_sample.csv")
    out: dict[str, object] = {"seconds": secs}
    for side in ("left", "right"):
        ev = events[f"{side}_sensor"]
        r = ref[ref["foot"] == side]
        ic_det = np.unique(ev["ic"].to_numpy(dtype=float)) / FS
        tc_det = ev["tc"].to_numpy(dtype=float) / FS
        # Every mocap IC (each stride's ic and pre_ic); detections scored only within the span
        # the reference covers (the same rule as benchmarks/accuracy.py applies to ours).
        ref_ic = np.unique(np.concatenate([r["ic"].to_numpy(), r["pre_ic"].to_numpy()])) / FS
        ref_tc = r["tc"].to_numpy() / FS
        lo, hi = ref_ic.min() - 0.1, ref_ic.max() + 0.1
        out[side] = {
            "ic": score(ref_ic, ic_det[(ic_det >= lo) & (ic_det <= hi)]),
            "tc": score(ref_tc, tc_det[(tc_det >= lo) & (tc_det <= hi)]),
            "strides": len(ev),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
