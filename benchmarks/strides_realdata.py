"""Scratch evaluation of the stride detector on the real recordings in ../shared/data.

Run: .venv/bin/python benchmarks/strides_realdata.py
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from imugait.gait.scoring import score_events
from imugait.gait.strides import Stride, StrideDetector
from imugait.types import Location, SampleBlock

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FS_GAITMAP = 204.8
RUN_KW: dict[str, float] = {}


def gaitmap_blocks(fname: str) -> list[SampleBlock]:
    imu = pd.read_csv(DATA / "gaitmap_example" / fname, header=[0, 1], index_col=0)
    out = []
    for side in ("left", "right"):
        s = imu[f"{side}_sensor"]
        t = np.arange(len(s)) / FS_GAITMAP
        out.append(
            SampleBlock(
                sensor=f"{side}_foot",
                location=Location(f"{side}_foot"),
                t_s=t,
                acc_m_s2=s[["acc_x", "acc_y", "acc_z"]].to_numpy(),
                gyr_rad_s=np.radians(s[["gyr_x", "gyr_y", "gyr_z"]].to_numpy()),
                fs_hz=FS_GAITMAP,
            )
        )
    return out


def run(block: SampleBlock, **kw: float) -> list[Stride]:
    kw = {**RUN_KW, **kw}
    det = StrideDetector(**kw)  # type: ignore[arg-type]
    return [*det.push(block), *det.flush()]


def stride_events(strides: list[Stride]) -> tuple[np.ndarray, np.ndarray]:
    ic = np.unique(np.array([t for s in strides for t in (s.ic_t_s, s.end_t_s)]))
    fc = np.array([s.fc_t_s for s in strides])
    return ic, fc


def gaitmap_eval() -> None:
    ev = pd.read_csv(DATA / "gaitmap_example" / "stride_events_sample.csv")
    for fname in ("imu_sample.csv", "imu_sample_not_rotated.csv"):
        for block in gaitmap_blocks(fname):
            side = block.location.side.value
            e = ev[ev.foot == side]
            ref_ic = np.unique(np.concatenate([e.ic, e.pre_ic])) / FS_GAITMAP
            ref_tc = np.unique(e.tc) / FS_GAITMAP
            lo, hi = ref_ic.min() - 0.1, ref_ic.max() + 0.1  # the span the reference covers
            strides = run(block)
            ic, fc = stride_events(strides)
            ic = ic[(ic >= lo) & (ic <= hi)]
            fc = fc[(fc >= lo) & (fc <= hi)]
            s_ic, s_fc = score_events(ref_ic, ic), score_events(ref_tc, fc)
            print(f"gaitmap {fname:28s} {side:5s} IC {s_ic.as_ms_row()}")
            print(f"gaitmap {fname:28s} {side:5s} TC {s_fc.as_ms_row()}")


NEURA_IDS = {
    "left_shank": "00B40BA5",
    "right_shank": "00B40C35",
    "left_foot": "00B40C55",
    "right_foot": "00B40C48",
}


def neura_block(location: str) -> SampleBlock:
    d = DATA / "neura_sparse_sample_gaittoolbox"
    raw = pd.read_csv(d / f"imu/S02-Trial-Walk-1-000_{NEURA_IDS[location]}.txt", comment="/")
    t = (np.arange(len(raw)) - 1119) / 100.0  # row 1119 = Vicon frame 0 (DATASET.md)
    return SampleBlock(
        sensor=NEURA_IDS[location],
        location=Location(location),
        t_s=t,
        acc_m_s2=raw[["Acc_X", "Acc_Y", "Acc_Z"]].to_numpy(),
        gyr_rad_s=raw[["Gyr_X", "Gyr_Y", "Gyr_Z"]].to_numpy(),
        fs_hz=100.0,
    )


def zeni_reference(side: str) -> tuple[np.ndarray, np.ndarray]:
    """HS/TO from Vicon joint centres, Zeni et al. 2008 (Gait Posture 27:710) coordinate method.

    HS = maxima of (ankle - pelvis) along the walking direction, TO = minima of (toe - pelvis).
    The ankle joint centre replaces Zeni's heel marker (none in the file): it reaches its most
    anterior position relative to the pelvis before heel strike, so this HS is EARLY by tens of ms.
    Only straight walking (|pelvis speed along y| > 0.4 m/s) is used.
    """
    from scipy.signal import find_peaks

    vic = pd.read_csv(
        DATA / "neura_sparse_sample_gaittoolbox/vicon/S02-Trial-Walk-1.csv", comment="/"
    )
    py = vic["PELV_2"].to_numpy()
    vy = np.gradient(py) * 100.0
    ok = np.abs(vy) > 0.4
    s = side[0].upper()
    dh = (vic[f"{s}TIO_2"].to_numpy() - py) * np.sign(vy)
    dt = (vic[f"{s}TOE_2"].to_numpy() - py) * np.sign(vy)
    hs, _ = find_peaks(dh, distance=50, prominence=0.1)
    to, _ = find_peaks(-dt, distance=50, prominence=0.1)
    return hs[ok[hs]] / 100.0, to[ok[to]] / 100.0


def neura_eval() -> None:
    crop = (0.0, 9.55)  # the Vicon-covered span
    det_ev = {}
    for loc in NEURA_IDS:
        ic, fc = stride_events(run(neura_block(loc)))
        det_ev[loc] = (ic[(ic >= crop[0]) & (ic <= crop[1])], fc[(fc >= crop[0]) & (fc <= crop[1])])
    for side in ("left", "right"):
        hs, to = zeni_reference(side)
        for seg in ("shank", "foot"):
            ic, fc = det_ev[f"{side}_{seg}"]
            print(f"neura {side:5s} {seg:5s} vs Zeni-ankle IC {score_events(hs, ic).as_ms_row()}")
            print(f"neura {side:5s} {seg:5s} vs Zeni-toe   FC {score_events(to, fc).as_ms_row()}")
        ic_s, fc_s = det_ev[f"{side}_shank"]
        ic_f, fc_f = det_ev[f"{side}_foot"]
        print(f"neura {side:5s} shank vs foot-IMU IC {score_events(ic_f, ic_s).as_ms_row()}")
        print(f"neura {side:5s} shank vs foot-IMU FC {score_events(fc_f, fc_s).as_ms_row()}")


def throughput() -> None:
    """Hours of data per second of processing, one shank stream, 100 Hz, blocks of 1 s."""
    b = neura_block("left_shank")
    reps = 60
    t_total = 0.0
    n_samples = 0
    det = StrideDetector()
    dt = 1 / b.fs_hz
    t0 = time.perf_counter()
    for r in range(reps):
        blk = SampleBlock(
            sensor=b.sensor,
            location=b.location,
            t_s=b.t_s - b.t_s[0] + r * b.n * dt,
            acc_m_s2=b.acc_m_s2,
            gyr_rad_s=b.gyr_rad_s,
            fs_hz=b.fs_hz,
            first_seq=r * b.n,
        )
        for part in blk.split(list(range(100, blk.n, 100))):
            det.push(part)
        n_samples += blk.n
    det.flush()
    t_total = time.perf_counter() - t0
    hours = n_samples / b.fs_hz / 3600
    print(
        f"throughput: {hours:.3f} h of 100 Hz data in {t_total:.2f} s = {hours / t_total:.2f} h/s"
    )


def sim_eval(duration_s: float = 60.0) -> None:
    """Against the simulator's exact ground truth (imugait.sim), shank and foot sensors."""
    try:
        from imugait.sim import LEGS_6, PRESETS, simulate
    except ImportError:
        print("imugait.sim not available")
        return
    from imugait.types import Segment

    base = PRESETS["healthy"].with_(duration_s=duration_s, locations=LEGS_6)
    cases = {
        "healthy_1.3": base,
        "speed_0.6": base.with_(speed_m_s=0.6, seed=11),
        "speed_1.0": base.with_(speed_m_s=1.0, seed=12),
        "speed_1.8": base.with_(speed_m_s=1.8, seed=13),
        "mount_25deg": base.with_(mounting_error_deg=25.0, seed=14),
        "noisy_x5": base.with_(gyr_noise_dps_rthz=0.05, gyr_bias_dps=3.0, seed=15),
        "fs_200": base.with_(fs_hz=200.0, seed=16),
        "noise_free": PRESETS["noise_free"].with_(duration_s=duration_s, locations=LEGS_6),
        "left_hyperext": PRESETS["left_hyperextension"].with_(
            duration_s=duration_s, locations=LEGS_6
        ),
        "right_antalgic": PRESETS["right_antalgic"].with_(duration_s=duration_s, locations=LEGS_6),
        "paretic": PRESETS["left_paretic_recurvatum"].with_(
            duration_s=duration_s, locations=LEGS_6
        ),
        "free_living": PRESETS["free_living"],
    }
    tot: dict[str, dict[str, list[float]]] = {}
    for name, sc in cases.items():
        sim = simulate(sc)
        for sensor in sim.sensors:
            seg = sensor.location.segment
            if seg not in (Segment.SHANK, Segment.FOOT):
                continue
            side = sensor.location.side
            strides = run(sensor.block())
            truth = sim.truth.stride_table(side)
            s_str = score_events(truth["ic_t_s"], [x.ic_t_s for x in strides])
            steady = truth["steady"] > 0
            s_std = score_events(truth["ic_t_s"][steady], [x.ic_t_s for x in strides])
            ic, fc = stride_events(strides)
            s_ic = score_events(sim.truth.ic_t_s(side), ic)
            s_fc = score_events(sim.truth.fc_t_s(side), fc)
            acc = tot.setdefault(seg.value, {})
            for k, v in (
                ("ref", s_str.n_ref),
                ("det", s_str.n_det),
                ("tp", s_str.tp),
                ("ref_steady", s_std.n_ref),
                ("tp_steady", s_std.tp),
            ):
                acc.setdefault(k, []).append(float(v))
            ic_err = [s_ic.bias_s] * s_ic.tp
            acc.setdefault("ic_bias", []).extend(ic_err)
            print(
                f"sim {name:14s} {sensor.location.value:11s} strides {s_str.tp}/{s_str.n_ref} "
                f"(det {s_str.n_det}, steady {s_std.tp}/{s_std.n_ref}) "
                f"IC {1e3 * s_ic.bias_s:+6.1f}±{1e3 * s_ic.sd_s:4.1f} ms  "
                f"FC {1e3 * s_fc.bias_s:+6.1f}±{1e3 * s_fc.sd_s:4.1f} ms"
            )
    for seg_name, acc in tot.items():
        ref, det, tp = sum(acc["ref"]), sum(acc["det"]), sum(acc["tp"])
        print(
            f"sim TOTAL {seg_name}: stride sensitivity {tp / ref:.4f} precision {tp / det:.4f} "
            f"(steady strides: {sum(acc['tp_steady']) / sum(acc['ref_steady']):.4f})"
        )


def main() -> None:
    if not DATA.is_dir():
        print("no shared data at", DATA)
        return
    gaitmap_eval()
    neura_eval()
    throughput()
    sim_eval()


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"done in {time.perf_counter() - t0:.2f} s")
