"""Knee flexion/extension from thigh + shank IMUs with unknown sensor mounting.

Seel, Raisch & Schauer (2014) joint-axis and joint-centre identification, a geometric
(posture-independent) zero or a goniometer calibration, and a drift-free acc/gyro fusion,
as a chunk-invariant streaming stage (``KneeAngleEstimator.push``/``flush``).
"""

from imugait.kinematics.calibration import KneeCalibration, calibrate
from imugait.kinematics.estimator import KneeAngleEstimator, KneeBlock
from imugait.kinematics.joint_axis import (
    AxisFit,
    PositionFit,
    identify_joint_axis,
    identify_joint_position,
)
from imugait.kinematics.knee_angle import KneeModel, identify_knee_model

__all__ = [
    "AxisFit",
    "KneeAngleEstimator",
    "KneeBlock",
    "KneeCalibration",
    "KneeModel",
    "PositionFit",
    "calibrate",
    "identify_joint_axis",
    "identify_joint_position",
    "identify_knee_model",
]
