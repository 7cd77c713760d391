"""Scratch evaluation: knee flexion from the NeuRA S02 Walk-1 Xsens thigh/shank IMUs vs Vicon.

Data: ``<repo>/../shared/data/neura_sparse_sample_gaittoolbox`` (see its DATASET.md). The raw
MT Manager exports (25 s, 100 Hz, sensor frame, acc m/s^2, gyr rad/s) are streamed through
``KneeAngleEstimator`` uncalibrated (nothing is tuned on this file); the Vicon reference is
the signed rotation of the shank long axis about the thigh-frame y axis (DATASET.md snippet),
compared on the aligned crop (raw rows 1119..2073). Run: ``.venv/bin/python benchmarks/knee_realdata.py``.

``--sim`` evaluates on the simulator instead (``run_sim``/``main_sim``): knee RMSE and stance-minimum
errors per scenario, uncalibrated and with the in-session pose reference (``KneePose``), whose
"goniometer reading" is the true mean knee angle over the initial standing period.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from imugait.kinematics import KneeAngleEstimator, KneePose
from imugait.types import SampleBlock, Segment, Side

DATA = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "data"
    / "neura_sparse_sample_gaittoolbox"
)
SENSORS = {
    Side.LEFT: ("00B40C45", "00B40BA5", "qLTH", "qLSK"),
    Side.RIGHT: ("00B40C3C", "00B40C35", "qRTH", "qRSK"),
}
CROP = slice(1119, 2074)


def _raw(sid: str) -> pd.DataFrame:
    return pd.read_csv(DATA / "imu" / f"S02-Trial-Walk-1-000_{sid}.txt", comment="/")


def _rotm(q: np.ndarray) -> np.ndarray:
    w, x, y, z = q.T
    return np.stack(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    ).transpose(2, 0, 1)


def vicon_knee_deg(side: Side) -> np.ndarray:
    vic = pd.read_csv(DATA / "vicon" / "S02-Trial-Walk-1.csv", comment="/")
    _, _, qt, qs = SENSORS[side]
    zs = np.einsum(
        "nji,nj->ni",
        _rotm(vic.filter(like=qt).to_numpy()),
        _rotm(vic.filter(like=qs).to_numpy())[:, :, 2],
    )
    return np.asarray(np.degrees(np.arctan2(zs[:, 0], zs[:, 2])), dtype=np.float64)


def estimate(side: Side) -> tuple[np.ndarray, np.ndarray, KneeAngleEstimator, float]:
    th, sh, _, _ = SENSORS[side]
    a, b = _raw(th), _raw(sh)
    n = min(len(a), len(b))
    t = np.arange(n) / 100.0
    cols_a, cols_g = ["Acc_X", "Acc_Y", "Acc_Z"], ["Gyr_X", "Gyr_Y", "Gyr_Z"]
    est = KneeAngleEstimator(side=side, fs_hz=100.0)
    t0 = time.perf_counter()
    out = (
        est.push_arrays(
            t,
            a[cols_a].to_numpy()[:n],
            a[cols_g].to_numpy()[:n],
            b[cols_a].to_numpy()[:n],
            b[cols_g].to_numpy()[:n],
        )
        + est.flush()
    )
    dt = time.perf_counter() - t0
    return (
        np.concatenate([o.t_s for o in out]),
        np.concatenate([o.knee_flexion_rad for o in out]),
        est,
        dt,
    )


def main() -> int:
    if not DATA.exists():
        print("data not found:", DATA)
        return 1
    for side in (Side.LEFT, Side.RIGHT):
        t, k, est, dt = estimate(side)
        ref = vicon_knee_deg(side)
        imu = np.degrees(k[CROP])
        ok = ~np.isnan(imu)
        err = imu[ok] - ref[ok]
        m = est.model
        assert m is not None
        print(
            f"{side.value:5s}: RMSE {np.sqrt(np.mean(err**2)):.2f} deg, bias {err.mean():+.2f}, "
            f"RMSE after bias removal {np.std(err):.2f}, valid {ok.mean():.0%} of crop, "
            f"IMU range {imu[ok].min():.1f}..{imu[ok].max():.1f}, Vicon {ref.min():.1f}..{ref.max():.1f}, "
            f"corr {np.corrcoef(imu[ok], ref[ok])[0, 1]:.3f}; axis rms {m.axis_rms_rad_s:.3f} rad/s, "
            f"levers {m.ref_dist_thigh_m * 100:.1f}/{m.ref_dist_shank_m * 100:.1f} cm, sign corr {m.sign_corr:.2f}, {m.axis_method} (hinge ratio {m.hinge_ratio:.2f}), "
            f"margin {np.degrees(m.sign_margin_rad):.0f} deg, first valid t {t[~np.isnan(k)][0]:.2f} s, {dt * 1e3:.0f} ms"
        )
    return 0


if __name__ == "__main__" and "--sim" not in sys.argv:
    sys.exit(main())


def _aligned(sim: Any, side: Side) -> tuple[SampleBlock, SampleBlock]:
    """Thigh and shank of one leg on the pipeline's common grid (``Resampler``, true times)."""
    from imugait.signal import Resampler
    from imugait.types import Location

    th = sim.sensor(Location.of(side, Segment.THIGH))
    sh = sim.sensor(Location.of(side, Segment.SHANK))
    rs = Resampler(sensors=[th.sensor_id, sh.sensor_id])
    out = rs.push(th.block()) + rs.push(sh.block()) + rs.flush()
    return (
        SampleBlock.concat([b for b in out if b.sensor == th.sensor_id]),
        SampleBlock.concat([b for b in out if b.sensor == sh.sensor_id]),
    )


def window_min(t: np.ndarray, x: np.ndarray, w0: float, w1: float) -> float:
    """Minimum of ``x`` over ``[w0, w1]``: samples inside plus linearly interpolated edge values
    (the definition of ``imugait.analysis.hyperextension``); NaN if not covered."""
    if len(t) < 2 or t[0] > w0 or t[-1] < w1:
        return float("nan")
    inner = x[(t > w0) & (t < w1)]
    edges = np.interp([w0, w1], t, x)
    return float(np.min(np.concatenate([inner, edges])))


def _finite(x: list[float]) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    return a[np.isfinite(a)]


def _mean(a: np.ndarray) -> float:
    return float(np.mean(a)) if len(a) else float("nan")


def _absmax(a: np.ndarray) -> float:
    return float(np.max(np.abs(a))) if len(a) else float("nan")


def _estimate(est: KneeAngleEstimator, a: SampleBlock, b: SampleBlock) -> np.ndarray:
    out = est.push(a, b) + est.flush()
    return np.asarray(
        np.degrees(np.concatenate([o.knee_flexion_rad for o in out])), dtype=np.float64
    )


def run_sim(
    preset: str, *, duration_s: float = 120.0, mounting_error_deg: float = 15.0, **changes: Any
) -> dict[str, dict[str, float]]:
    """Evaluate one simulated scenario per leg (``changes`` override ``Scenario`` fields).

    Both sensors go through the pipeline's ``Resampler`` (true sample times). Calibrated =
    ``KneeAngleEstimator(pose=KneePose(initial standing period less ``POSE_MARGIN_S`` at each
    end, true mean knee angle there))``.
    Stance minimum = minimum over IC..FC (edge values interpolated, as the analysis does) vs the
    simulator's 1 kHz truth; mid-stance minimum = the same over 10-55 % of the stride (the
    hyperextension flag window, ``knee_min_midstance_deg``).
    """
    from imugait.sim import PRESETS, simulate

    sim = simulate(
        PRESETS[preset].with_(
            duration_s=duration_s, mounting_error_deg=mounting_error_deg, **changes
        )
    )
    st0, st1 = sim.truth.intervals["standing"][0]
    res: dict[str, dict[str, float]] = {}
    for side in (Side.LEFT, Side.RIGHT):
        th, sh = _aligned(sim, side)
        t = th.t_s
        tt, truth = sim.truth.signal(side)
        ref = np.interp(t, tt, truth)
        pose_w = (max(st0, float(t[0])) + POSE_MARGIN_S, st1 - POSE_MARGIN_S)
        in_pose = (t >= pose_w[0]) & (t < pose_w[1])
        pose = KneePose(pose_w[0], pose_w[1], float(ref[in_pose].mean()))
        est_cal = KneeAngleEstimator(side=side, pose=pose)
        k_cal = _estimate(est_cal, th, sh)
        if est_cal.pose_problem is not None:  # reported, and the calibrated metrics are NaN
            print(f"{preset} {side}: {est_cal.pose_problem}", file=sys.stderr)
            k_cal = np.full_like(k_cal, np.nan)
        est = KneeAngleEstimator(side=side)
        t0 = time.perf_counter()
        k = _estimate(est, th, sh)
        dt = time.perf_counter() - t0
        ok = ~np.isnan(k)
        walk = t >= pose.t_end_s
        err = k[ok] - ref[ok]
        err_cal = k_cal[walk] - ref[walk]
        m = est.model
        assert m is not None
        ax_err = [
            float(np.degrees(np.arccos(min(1.0, abs(float(a @ b))))))
            for a, b in (
                (m.axis_thigh, sim.sensor(th.location).joint_axis_sensor),
                (m.axis_shank, sim.sensor(sh.location).joint_axis_sensor),
            )
        ]
        strides = sim.truth.stride_table(side)
        dmin, dmin_cal, dmid_cal = [], [], []
        for a, f, e, kmin, kmid in zip(
            strides["ic_t_s"],
            strides["fc_t_s"],
            strides["end_t_s"],
            strides["knee_min_stance_deg"],
            strides["knee_min_midstance_deg"],
            strict=True,
        ):
            dmin.append(window_min(t[ok], k[ok], a, f) - kmin)
            dmin_cal.append(window_min(t, k_cal, a, f) - kmin)
            m0, m1 = a + 0.10 * (e - a), min(a + 0.55 * (e - a), f)
            dmid_cal.append(window_min(t, k_cal, m0, m1) - kmid)
        d, dc, dm = (_finite(x) for x in (dmin, dmin_cal, dmid_cal))
        cal = est_cal.pose_calibration
        res[side.value] = {
            "rmse_deg": float(np.sqrt(np.mean(err**2))),
            "bias_deg": float(err.mean()),
            "rmse_debiased_deg": float(np.std(err)),
            "rmse_calibrated_deg": float(np.sqrt(_mean(_finite(list(err_cal**2))))),
            "bias_calibrated_deg": _mean(_finite(list(err_cal))),
            "stance_min_err_cal_mean_deg": _mean(dc),
            "stance_min_err_cal_absmax_deg": _absmax(dc),
            "midstance_min_err_cal_mean_deg": _mean(dm),
            "midstance_min_err_cal_absmax_deg": _absmax(dm),
            "zero_err_cal_pose_deg": (
                cal.known_angle_deg - cal.pose_angle_uncal_deg if cal else float("nan")
            ),
            "pose_used": float(cal is not None),
            "axis_err_thigh_deg": ax_err[0],
            "axis_err_shank_deg": ax_err[1],
            "stance_min_err_mean_deg": _mean(d),
            "stance_min_err_absmax_deg": _absmax(d),
            "stance_min_true_mean_deg": float(np.mean(strides["knee_min_stance_deg"])),
            "n_strides": float(len(dc)),
            "valid_frac": float(ok.mean()),
            "seconds": dt,
            "hinge_ratio": m.hinge_ratio,
            "zero_reliable": float(m.zero_reliable),
        }
    return res


#: Margin (s) cut from both ends of the standing period for the pose window (as a clinician
#: would note it; the walking onset ramps in right at the end of the standing interval).
POSE_MARGIN_S = 0.5

#: (preset, Scenario overrides) evaluated by ``--sim``.
SIM_SCENARIOS: tuple[tuple[str, dict[str, float]], ...] = (
    ("noise_free", {}),
    ("healthy", {}),
    ("healthy", {"speed_m_s": 0.8}),
    ("healthy", {"speed_m_s": 1.6}),
    ("right_antalgic", {}),
    ("left_hyperextension", {"hx_deg": 5.0}),
    ("left_hyperextension", {}),
    ("left_hyperextension", {"hx_deg": 15.0}),
)


def main_sim(duration_s: float = 60.0) -> int:
    print(
        "simulator, mounting error 15 deg, "
        f"{duration_s:.0f} s per scenario. Calibrated = in-session KneePose over the initial "
        f"standing period (truth intervals, less {POSE_MARGIN_S} s at each end); its goniometer reading = the true mean standing "
        "knee angle. Stance min over IC..FC (edges interpolated) and mid-stance min (10-55 % "
        "GC) vs the 1 kHz truth; errors in deg."
    )
    print(
        f"{'scenario':34s} {'leg':5s} {'RMSE':>5s} {'RMSEcal':>7s} {'biascal':>7s} "
        f"{'smin mean':>9s} {'max':>5s} {'mid mean':>8s} {'max':>5s}"
    )
    for name, kw in SIM_SCENARIOS:
        label = name + "".join(f" {k}={v:g}" for k, v in kw.items())
        for sd, r in run_sim(name, duration_s=duration_s, **kw).items():
            print(
                f"{label:34s} {sd:5s} {r['rmse_deg']:5.2f} {r['rmse_calibrated_deg']:7.2f} "
                f"{r['bias_calibrated_deg']:+7.2f} {r['stance_min_err_cal_mean_deg']:+9.2f} "
                f"{r['stance_min_err_cal_absmax_deg']:5.2f} "
                f"{r['midstance_min_err_cal_mean_deg']:+8.2f} "
                f"{r['midstance_min_err_cal_absmax_deg']:5.2f}"
            )
    return 0


if __name__ == "__main__" and "--sim" in sys.argv:
    sys.exit(main_sim())
