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
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace

import numpy as np

from imugait.errors import InputDataError
from imugait.kinematics.joint_axis import angular_acceleration
from imugait.kinematics.knee_angle import KneeModel, acc_angle, identify_knee_model
from imugait.types import SampleBlock, Segment, Side
from imugait.units import DEG_PER_RAD, RAD_PER_DEG

__all__ = ["KneeCalibration", "calibrate"]

_VEC_FIELDS = ("axis_thigh", "axis_shank", "pos_thigh_m", "pos_shank_m", "ref_thigh", "ref_shank")
#: Largest angular rate (rad/s) allowed in the static pose window (about 11 deg/s).
MAX_POSE_RATE_RAD_S = 0.2


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
        return json.dumps(
            {
                "kind": "imugait.knee_calibration",
                "version": 1,
                "side": self.side.value,
                "known_angle_deg": self.known_angle_deg,
                "pose_window_s": list(self.pose_window_s),
                "pose_angle_uncal_deg": self.pose_angle_uncal_deg,
                "pose_angle_sd_deg": self.pose_angle_sd_deg,
                "model": model,
            }
        )

    @staticmethod
    def from_json(text: str) -> KneeCalibration:
        """Inverse of :meth:`to_json`; raises ``InputDataError`` on a malformed document."""
        try:
            d = json.loads(text)
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
    t = thigh.t_s
    a1, g1, a2, g2 = thigh.acc_m_s2, thigh.gyr_rad_s, shank.acc_m_s2, shank.gyr_rad_s
    w0, w1 = pose_window_s
    in_pose = (t >= w0) & (t < w1)
    if not w1 - w0 >= 0.5 or int(in_pose.sum()) < 2:
        raise InputDataError(f"pose window {pose_window_s} s is shorter than 0.5 s or outside data")
    rate = max(
        float(np.linalg.norm(g1[in_pose], axis=1).max()),
        float(np.linalg.norm(g2[in_pose], axis=1).max()),
    )
    if rate > MAX_POSE_RATE_RAD_S:
        raise InputDataError(
            f"the leg is not still in the pose window (max rate {rate * DEG_PER_RAD:.0f} deg/s)"
        )
    try:
        model = identify_knee_model(t, a1, g1, a2, g2, min_rate_rad_s=min_rate_rad_s)
    except ValueError as e:
        raise InputDataError(f"not enough knee movement to identify the joint: {e}") from e
    alpha, _ = acc_angle(
        model, a1, g1, angular_acceleration(g1, t), a2, g2, angular_acceleration(g2, t)
    )
    pose = alpha[in_pose]
    mean = math.atan2(float(np.sin(pose).mean()), float(np.cos(pose).mean()))
    sd = float(np.std(np.angle(np.exp(1j * (pose - mean)))))
    offset = known_angle_deg * RAD_PER_DEG - mean
    offset = math.atan2(math.sin(offset), math.cos(offset))
    return KneeCalibration(
        side=thigh.location.side,
        model=replace(model, offset_rad=offset),
        known_angle_deg=float(known_angle_deg),
        pose_window_s=(float(w0), float(w1)),
        pose_angle_uncal_deg=mean * DEG_PER_RAD,
        pose_angle_sd_deg=sd * DEG_PER_RAD,
    )
