"""Knee flexion/extension from thigh + shank IMUs with unknown sensor mounting.

Seel, Raisch & Schauer (2014) joint-axis and joint-centre identification, a geometric
(posture-independent) zero or a goniometer calibration / in-session pose, and a drift-free acc/gyro fusion,
as a chunk-invariant streaming stage (``KneeAngleEstimator.push``/``flush``).
"""

from imugait.kinematics.calibration import KneeCalibration, KneePose, calibrate, calibrate_model
from imugait.kinematics.estimator import KneeAngleEstimator, KneeBlock
from imugait.kinematics.joint_axis import (
    AxisFit,
    PositionFit,
    identify_joint_axis,
    identify_joint_position,
)
from imugait.kinematics.knee_angle import KneeModel, identify_knee_model
from imugait.kinematics.reference import (
    KneeReference,
    knee_calibration_from_header,
    knee_calibration_to_header,
)

__all__ = [
    "AxisFit",
    "KneeAngleEstimator",
    "KneeBlock",
    "KneeCalibration",
    "KneeModel",
    "KneePose",
    "KneeReference",
    "PositionFit",
    "calibrate",
    "calibrate_model",
    "identify_joint_axis",
    "identify_joint_position",
    "identify_knee_model",
    "knee_calibration_from_header",
    "knee_calibration_to_header",
]
