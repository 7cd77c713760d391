"""Scratch evaluation: knee flexion from the NeuRA S02 Walk-1 Xsens thigh/shank IMUs vs Vicon.

Data: ``<repo>/../shared/data/neura_sparse_sample_gaittoolbox`` (see its DATASET.md). The raw
MT Manager exports (25 s, 100 Hz, sensor frame, acc m/s^2, gyr rad/s) are streamed through
``KneeAngleEstimator`` uncalibrated (nothing is tuned on this file); the Vicon reference is
the signed rotation of the shank long axis about the thigh-frame y axis (DATASET.md snippet),
compared on the aligned crop (raw rows 1119..2073). Run: ``.venv/bin/python benchmarks/knee_realdata.py``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from imugait.kinematics import KneeAngleEstimator, KneeBlock, calibrate
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


def _interp(t: np.ndarray, tp: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.column_stack([np.interp(t, tp, x[:, i]) for i in range(3)])


def _run_arrays(est: KneeAngleEstimator, arrays: tuple[np.ndarray, ...]) -> list[KneeBlock]:
    return est.push_arrays(*arrays) + est.flush()


def run_sim(
    preset: str, *, duration_s: float = 120.0, mounting_error_deg: float = 15.0
) -> dict[str, dict[str, float]]:
    """Evaluate on ``imugait.sim`` (shank resampled linearly onto the thigh's true-time grid)."""
    from imugait.sim import PRESETS, simulate
    from imugait.types import Location

    sim = simulate(
        PRESETS[preset].with_(duration_s=duration_s, mounting_error_deg=mounting_error_deg)
    )
    res: dict[str, dict[str, float]] = {}
    for side in (Side.LEFT, Side.RIGHT):
        th = sim.sensor(Location.of(side, Segment.THIGH))
        sh = sim.sensor(Location.of(side, Segment.SHANK))
        t = th.true_t_s
        keep = (t >= sh.true_t_s[0]) & (t <= sh.true_t_s[-1])
        t = t[keep]
        arrays = (
            t,
            th.acc_m_s2[keep],
            th.gyr_rad_s[keep],
            _interp(t, sh.true_t_s, sh.acc_m_s2),
            _interp(t, sh.true_t_s, sh.gyr_rad_s),
        )
        tt, truth = sim.truth.signal(side)
        ref = np.interp(t, tt, truth)
        # clinician calibration: goniometer reading (here: the truth) during the initial standing
        blk = [
            SampleBlock(
                sensor=str(loc), location=loc, t_s=t, acc_m_s2=a, gyr_rad_s=g, fs_hz=th.fs_hz
            )
            for loc, a, g in (
                (th.location, arrays[1], arrays[2]),
                (sh.location, arrays[3], arrays[4]),
            )
        ]
        pose = (t[0] + 0.5, t[0] + 3.5)
        in_pose = (t >= pose[0]) & (t < pose[1])
        cal = calibrate(
            blk[0], blk[1], pose_window_s=pose, known_angle_deg=float(ref[in_pose].mean())
        )
        k_cal = np.concatenate(
            [
                o.knee_flexion_rad
                for o in _run_arrays(
                    KneeAngleEstimator(side=side, calibration=cal, fs_hz=th.fs_hz), arrays
                )
            ]
        )
        err_cal = np.degrees(k_cal) - ref
        est = KneeAngleEstimator(side=side, fs_hz=th.fs_hz)
        t0 = time.perf_counter()
        out = _run_arrays(est, arrays)
        dt = time.perf_counter() - t0
        k = np.degrees(np.concatenate([o.knee_flexion_rad for o in out]))
        ok = ~np.isnan(k)
        err = k[ok] - ref[ok]
        m = est.model
        assert m is not None
        ax_err = [
            float(np.degrees(np.arccos(min(1.0, abs(float(a @ b))))))
            for a, b in ((m.axis_thigh, th.joint_axis_sensor), (m.axis_shank, sh.joint_axis_sensor))
        ]
        strides = sim.truth.stride_table(side)
        dmin, dmin_cal = [], []
        for a, f, kmin in zip(
            strides["ic_t_s"], strides["fc_t_s"], strides["knee_min_stance_deg"], strict=True
        ):
            w = (t >= a) & (t <= f) & ~np.isnan(k)
            if w.sum() > 5:
                dmin.append(float(np.min(k[w]) - kmin))
                dmin_cal.append(float(np.degrees(np.min(k_cal[w])) - kmin))
        res[side.value] = {
            "rmse_deg": float(np.sqrt(np.mean(err**2))),
            "bias_deg": float(err.mean()),
            "rmse_debiased_deg": float(np.std(err)),
            "rmse_calibrated_deg": float(np.sqrt(np.nanmean(err_cal[t > pose[1]] ** 2))),
            "stance_min_err_cal_mean_deg": float(np.mean(dmin_cal)),
            "stance_min_err_cal_absmax_deg": float(np.max(np.abs(dmin_cal))),
            "zero_err_cal_pose_deg": cal.known_angle_deg - cal.pose_angle_uncal_deg,
            "axis_err_thigh_deg": ax_err[0],
            "axis_err_shank_deg": ax_err[1],
            "stance_min_err_mean_deg": float(np.mean(dmin)),
            "stance_min_err_absmax_deg": float(np.max(np.abs(dmin))),
            "stance_min_true_mean_deg": float(np.mean(strides["knee_min_stance_deg"])),
            "n_strides": float(len(dmin)),
            "valid_frac": float(ok.mean()),
            "seconds": dt,
            "hinge_ratio": m.hinge_ratio,
            "zero_reliable": float(m.zero_reliable),
        }
    return res


if __name__ == "__main__" and "--sim" in sys.argv:
    for name in ("healthy", "left_hyperextension"):
        for sd, r in run_sim(name).items():
            print(name, sd, {k: round(v, 2) for k, v in r.items()})
