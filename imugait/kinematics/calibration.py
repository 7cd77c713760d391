"""Clinician calibration of the knee angle: functional movement + one goniometer pose.

Procedure (one leg, sensors strapped as they will be worn):

1. **Functional movement** — walk a few strides (or do several knee flexions while the thigh
   also moves, e.g. sit-to-stand). This identifies the joint axis, the knee centre and the
   flexion sign (Seel, Raisch & Schauer 2014, *Sensors* 14:6891; Favre et al. 2009,
   *J Biomech* 42:2330, functional calibration). Walking is the most reliable for the sign.
2. **Static pose of known angle** — hold still for >= 1 s (e.g. standing, or sitting with the
   knee at 90 deg) while the knee angle is measured with a goniometer, and note the time window.

The offset makes the estimator read ``known_angle_deg`` in that pose. Nothing assumes that
standing is 0 deg: a patient who stands in 8 deg of recurvatum is calibrated with
``known_angle_deg=-8``. Goniometer error (typically 2-5 deg) enters the zero one to one.

``calibrate`` uses the whole recording for identification, so record movement and pose
in one take. The result is plain data and round-trips through JSON.

A :class:`KneePose` is the same goniometer reading *before* any identification: given to
:class:`~imugait.kinematics.estimator.KneeAngleEstimator`, it is applied at identification
time (stand still at the start of the session, then walk), see :func:`calibrate_model`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace

import numpy as np

from imugait.errors import InputDataError
from imugait.kinematics.joint_axis import angular_acceleration, norm3
from imugait.kinematics.knee_angle import KneeModel, acc_angle, identify_knee_model
from imugait.types import F64, SampleBlock, Segment, Side
from imugait.units import DEG_PER_RAD, RAD_PER_DEG

__all__ = ["KneeCalibration", "KneePose", "calibrate", "calibrate_model"]

_VEC_FIELDS = ("axis_thigh", "axis_shank", "pos_thigh_m", "pos_shank_m", "ref_thigh", "ref_shank")
#: Largest angular rate (rad/s) allowed in the static pose window (about 11 deg/s).
MAX_POSE_RATE_RAD_S = 0.2
#: Shortest static pose (s).
MIN_POSE_S = 0.5


@dataclass(frozen=True, slots=True)
class KneePose:
    """A static pose of known knee angle in the session (goniometer reading; JSON-able).

    ``[t_start_s, t_end_s)`` is the pose window on the session clock (at least
    ``MIN_POSE_S``); ``known_angle_deg`` the goniometer angle (flexion +, hyperextension -).
    """

    t_start_s: float
    t_end_s: float
    known_angle_deg: float

    def __post_init__(self) -> None:
        vals = (self.t_start_s, self.t_end_s, self.known_angle_deg)
        if not all(math.isfinite(v) for v in vals):
            raise ValueError(f"pose values must be finite, got {vals}")
        if not self.t_end_s - self.t_start_s >= MIN_POSE_S:
            raise ValueError(
                f"pose window {self.t_start_s}-{self.t_end_s} s is shorter than {MIN_POSE_S} s"
            )
        if not -60.0 <= self.known_angle_deg <= 180.0:
            raise ValueError(f"known_angle_deg {self.known_angle_deg} is not a knee angle")

    @property
    def window_s(self) -> tuple[float, float]:
        return (self.t_start_s, self.t_end_s)

    def to_dict(self) -> dict[str, float]:
        return {
            "t_start_s": float(self.t_start_s),
            "t_end_s": float(self.t_end_s),
            "known_angle_deg": float(self.known_angle_deg),
        }

    @staticmethod
    def from_dict(d: object) -> KneePose:
        """Inverse of :meth:`to_dict`; raises ``InputDataError`` on a malformed document."""
        try:
            if not isinstance(d, dict):
                raise TypeError("a pose must be an object")
            return KneePose(
                t_start_s=float(d["t_start_s"]),
                t_end_s=float(d["t_end_s"]),
                known_angle_deg=float(d["known_angle_deg"]),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise InputDataError(f"invalid knee pose: {e}") from e


@dataclass(frozen=True, slots=True)
class KneeCalibration:
    """A calibrated knee model for one leg and one sensor mounting (JSON-able).

    ``model.offset_rad`` holds the goniometer offset. ``pose_angle_uncal_deg`` is what the
    uncalibrated (geometric-zero) estimate read in the pose, so ``known_angle_deg -
    pose_angle_uncal_deg`` is the geometric zero's error for this subject and mounting.
    """

    side: Side
    model: KneeModel
    known_angle_deg: float
    pose_window_s: tuple[float, float]
    pose_angle_uncal_deg: float
    pose_angle_sd_deg: float

    def to_json(self) -> str:
        """Serialise to a JSON string (vectors as lists, angles in degrees where named so)."""
        return json.dumps(self.to_dict())

    def to_dict(self) -> dict[str, object]:
        """JSON-able dict (the layout of :meth:`to_json`)."""
        m = self.model
        model: dict[str, object] = {f: [float(x) for x in getattr(m, f)] for f in _VEC_FIELDS}
        for f in (
            "offset_rad",
            "ref_dist_thigh_m",
            "ref_dist_shank_m",
            "axis_rms_rad_s",
            "pos_rms_m_s2",
            "sign_corr",
            "sign_margin_rad",
            "hinge_ratio",
        ):
            model[f] = float(getattr(m, f))
        model["axis_method"] = m.axis_method
        return {
            "kind": "imugait.knee_calibration",
            "version": 1,
            "side": self.side.value,
            "known_angle_deg": self.known_angle_deg,
            "pose_window_s": list(self.pose_window_s),
            "pose_angle_uncal_deg": self.pose_angle_uncal_deg,
            "pose_angle_sd_deg": self.pose_angle_sd_deg,
            "model": model,
        }

    @staticmethod
    def from_json(text: str) -> KneeCalibration:
        """Inverse of :meth:`to_json`; raises ``InputDataError`` on a malformed document."""
        try:
            d = json.loads(text)
        except ValueError as e:
            raise InputDataError(f"invalid knee calibration JSON: {e}") from e
        return KneeCalibration.from_dict(d)

    @staticmethod
    def from_dict(d: object) -> KneeCalibration:
        """Inverse of :meth:`to_dict`; raises ``InputDataError`` on a malformed document."""
        try:
            if not isinstance(d, dict):
                raise TypeError("a calibration must be an object")
            if d.get("kind") != "imugait.knee_calibration" or d.get("version") != 1:
                raise ValueError("not an imugait knee calibration (version 1)")
            md = d["model"]
            vecs = {f: np.asarray(md[f], dtype=np.float64) for f in _VEC_FIELDS}
            if any(v.shape != (3,) for v in vecs.values()):
                raise ValueError("model vectors must have 3 components")
            model = KneeModel(
                axis_thigh=vecs["axis_thigh"],
                axis_shank=vecs["axis_shank"],
                pos_thigh_m=vecs["pos_thigh_m"],
                pos_shank_m=vecs["pos_shank_m"],
                ref_thigh=vecs["ref_thigh"],
                ref_shank=vecs["ref_shank"],
                offset_rad=float(md["offset_rad"]),
                ref_dist_thigh_m=float(md["ref_dist_thigh_m"]),
                ref_dist_shank_m=float(md["ref_dist_shank_m"]),
                axis_rms_rad_s=float(md["axis_rms_rad_s"]),
                pos_rms_m_s2=float(md["pos_rms_m_s2"]),
                sign_corr=float(md["sign_corr"]),
                sign_margin_rad=float(md["sign_margin_rad"]),
                hinge_ratio=float(md["hinge_ratio"]),
                axis_method=str(md["axis_method"]),
            )
            w0, w1 = (float(x) for x in d["pose_window_s"])
            return KneeCalibration(
                side=Side(d["side"]),
                model=model,
                known_angle_deg=float(d["known_angle_deg"]),
                pose_window_s=(w0, w1),
                pose_angle_uncal_deg=float(d["pose_angle_uncal_deg"]),
                pose_angle_sd_deg=float(d["pose_angle_sd_deg"]),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise InputDataError(f"invalid knee calibration JSON: {e}") from e


def calibrate(
    thigh: SampleBlock,
    shank: SampleBlock,
    *,
    pose_window_s: tuple[float, float],
    known_angle_deg: float,
    min_rate_rad_s: float = 0.5,
) -> KneeCalibration:
    """Calibrate one leg from a recording with functional movement and a known static pose.

    Parameters
    ----------
    thigh, shank
        Sensor-frame blocks of the same leg on one time grid (identical ``t_s``).
    pose_window_s
        ``[start, end)`` session time of the static pose (at least 0.5 s).
    known_angle_deg
        Goniometer knee angle in that pose (flexion +, hyperextension -).
    min_rate_rad_s
        Informative-sample threshold for the identification.

    Raises
    ------
    ValueError
        Blocks of different legs/segments or different time grids (a programming error).
    InputDataError
        Too little movement, a pose window outside the data, shorter than 0.5 s, or not still.
    """
    if thigh.location.segment is not Segment.THIGH or shank.location.segment is not Segment.SHANK:
        raise ValueError("calibrate needs a thigh block and a shank block")
    if thigh.location.side is not shank.location.side:
        raise ValueError("thigh and shank blocks are from different legs")
    if thigh.n != shank.n or not np.array_equal(thigh.t_s, shank.t_s):
        raise ValueError("thigh and shank blocks must share the same t_s grid")
    w0, w1 = (float(x) for x in pose_window_s)
    try:
        pose = KneePose(t_start_s=w0, t_end_s=w1, known_angle_deg=float(known_angle_deg))
    except ValueError as e:
        raise InputDataError(str(e)) from e
    t = thigh.t_s
    a1, g1, a2, g2 = thigh.acc_m_s2, thigh.gyr_rad_s, shank.acc_m_s2, shank.gyr_rad_s
    _check_pose(t, g1, g2, pose, fs_hz=thigh.fs_hz)
    try:
        model = identify_knee_model(t, a1, g1, a2, g2, min_rate_rad_s=min_rate_rad_s)
    except ValueError as e:
        raise InputDataError(f"not enough knee movement to identify the joint: {e}") from e
    return calibrate_model(model, thigh.location.side, t, a1, g1, a2, g2, pose=pose)


def _check_pose(t: F64, g1: F64, g2: F64, pose: KneePose, *, fs_hz: float) -> None:
    """Raise ``InputDataError`` unless the data cover the pose window and the leg is still."""
    in_pose = (t >= pose.t_start_s) & (t < pose.t_end_s)
    n_need = 0.9 * (pose.t_end_s - pose.t_start_s) * fs_hz
    if len(t) == 0 or int(in_pose.sum()) < max(2, n_need):
        span = f"{t[0]:.2f}-{t[-1]:.2f} s" if len(t) else "no data"
        raise InputDataError(
            f"pose window {pose.t_start_s:g}-{pose.t_end_s:g} s is not covered by the data "
            f"({span}, {int(in_pose.sum())} samples in the window)"
        )
    rate = max(float(norm3(g1[in_pose]).max()), float(norm3(g2[in_pose]).max()))
    if rate > MAX_POSE_RATE_RAD_S:
        raise InputDataError(
            f"the leg is not still in the pose window {pose.t_start_s:g}-{pose.t_end_s:g} s "
            f"(max rate {rate * DEG_PER_RAD:.0f} deg/s, allowed "
            f"{MAX_POSE_RATE_RAD_S * DEG_PER_RAD:.0f})"
        )


def calibrate_model(
    model: KneeModel,
    side: Side,
    t_s: F64,
    acc_thigh_m_s2: F64,
    gyr_thigh_rad_s: F64,
    acc_shank_m_s2: F64,
    gyr_shank_rad_s: F64,
    *,
    pose: KneePose,
    fs_hz: float | None = None,
) -> KneeCalibration:
    """Set an identified model's zero so that the pose window reads ``pose.known_angle_deg``.

    The accelerometer angle (:func:`~.knee_angle.acc_angle`, which needs no fusion state) is
    averaged over the pose window (circular mean); the offset is the known angle minus that
    mean. ``fs_hz`` (default: from the median sample interval) sets the coverage check: at
    least 90 % of the window's samples must be present. Raises ``InputDataError`` when the
    window is not covered or the leg moves in it (``MAX_POSE_RATE_RAD_S``).
    """
    t = np.asarray(t_s, dtype=np.float64)
    if fs_hz is None:
        fs_hz = 1.0 / float(np.median(np.diff(t))) if len(t) > 1 else 1.0
    g1, g2 = gyr_thigh_rad_s, gyr_shank_rad_s
    _check_pose(t, g1, g2, pose, fs_hz=fs_hz)
    in_pose = (t >= pose.t_start_s) & (t < pose.t_end_s)
    idx = np.flatnonzero(in_pose)
    # one sample of context on each side for the central differences of dg/dt
    lo, hi = max(int(idx[0]) - 1, 0), min(int(idx[-1]) + 2, len(t))
    sl = slice(lo, hi)
    tt = t[sl]
    alpha, _ = acc_angle(
        replace(model, offset_rad=0.0),
        acc_thigh_m_s2[sl],
        g1[sl],
        angular_acceleration(g1[sl], tt),
        acc_shank_m_s2[sl],
        g2[sl],
        angular_acceleration(g2[sl], tt),
    )
    a = alpha[in_pose[sl]]
    mean = math.atan2(float(np.sin(a).mean()), float(np.cos(a).mean()))
    sd = float(np.std(np.angle(np.exp(1j * (a - mean)))))
    offset = pose.known_angle_deg * RAD_PER_DEG - mean
    offset = math.atan2(math.sin(offset), math.cos(offset))
    return KneeCalibration(
        side=Side(side),
        model=replace(model, offset_rad=offset),
        known_angle_deg=float(pose.known_angle_deg),
        pose_window_s=(float(pose.t_start_s), float(pose.t_end_s)),
        pose_angle_uncal_deg=mean * DEG_PER_RAD,
        pose_angle_sd_deg=sd * DEG_PER_RAD,
    )
