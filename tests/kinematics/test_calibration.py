from __future__ import annotations

import math

import numpy as np
import pytest

from imugait.errors import InputDataError
from imugait.kinematics import KneeAngleEstimator, KneeCalibration, calibrate
from imugait.types import Location, SampleBlock, Side
from tests.kinematics.hinge import REALISTIC, HingeData, hinge

# sensors 3 cm / 2 cm in front of the segment long axes: the geometric zero is then off by
# -(atan(0.03/0.20) + atan(0.02/0.18)) = -14.9 deg (documented residual error)
OFFSET_KW = {"thigh_pos_m": (0.03, 0.20, 0.07), "shank_pos_m": (0.02, -0.18, 0.05)}
PREDICTED_ZERO_ERR_DEG = -math.degrees(math.atan(0.03 / 0.20) + math.atan(0.02 / 0.18))
# 5 s of quiet standing in 15 deg recurvatum (gait phase 1.32 = hyperextended plateau), then walking
STAND_KW = {"standing_s": 5.0, "start_phase": 1.32, "duration_s": 35.0}


def blocks(h: HingeData) -> tuple[SampleBlock, SampleBlock]:
    def blk(loc: Location, acc: np.ndarray, gyr: np.ndarray) -> SampleBlock:
        return SampleBlock(
            sensor=loc.value, location=loc, t_s=h.t_s, acc_m_s2=acc, gyr_rad_s=gyr, fs_hz=100.0
        )

    return blk(Location.LEFT_THIGH, h.acc_thigh, h.gyr_thigh), blk(
        Location.LEFT_SHANK, h.acc_shank, h.gyr_shank
    )


def estimate(h: HingeData, calibration: KneeCalibration | None) -> np.ndarray:
    th, sh = blocks(h)
    est = KneeAngleEstimator(side=Side.LEFT, calibration=calibration)
    out = est.push(th, sh) + est.flush()
    assert all(o.calibrated is (calibration is not None) for o in out)
    return np.concatenate([o.knee_flexion_rad for o in out])


@pytest.mark.parametrize("noise", [False, True])
def test_goniometer_calibration_removes_placement_offset(noise: bool) -> None:
    kw = {**OFFSET_KW, **STAND_KW, "mirror": True, "seed": 4, **(REALISTIC if noise else {})}
    h = hinge(**kw)
    assert np.allclose(np.degrees(h.knee_rad[:450]), -15.0, atol=1e-6)  # standing hyperextended
    walk = h.t_s > 8.0
    k_uncal = estimate(h, None)
    err_uncal = np.degrees(k_uncal - h.knee_rad)[walk]
    assert abs(err_uncal.mean() - PREDICTED_ZERO_ERR_DEG) < (1.5 if noise else 1.0)
    th, sh = blocks(h)
    cal = calibrate(th, sh, pose_window_s=(0.5, 4.5), known_angle_deg=-15.0)
    assert cal.side is Side.LEFT
    assert abs(cal.pose_angle_uncal_deg - (-15.0 + PREDICTED_ZERO_ERR_DEG)) < (
        1.5 if noise else 1.0
    )
    cal = KneeCalibration.from_json(cal.to_json())  # what a clinic would store
    k_cal = estimate(h, cal)
    err = np.degrees(k_cal - h.knee_rad)
    assert np.sqrt(np.mean(err[walk] ** 2)) < (2.0 if noise else 1.0)
    assert np.degrees(k_cal[walk].min()) < -13.0  # recurvatum in gait preserved
    assert abs(np.degrees(k_cal[100:450]).mean() + 15.0) < 1.5  # standing reads -15, not 0


def test_json_round_trip_is_exact() -> None:
    h = hinge(**OFFSET_KW, **STAND_KW, seed=4, mirror=True)
    cal = calibrate(*blocks(h), pose_window_s=(0.5, 4.5), known_angle_deg=-15.0)
    back = KneeCalibration.from_json(cal.to_json())
    assert back.to_json() == cal.to_json()
    assert np.array_equal(back.model.axis_thigh, cal.model.axis_thigh)
    assert back.model.offset_rad == cal.model.offset_rad


def test_bad_inputs() -> None:
    h = hinge(**OFFSET_KW, **STAND_KW, seed=4, mirror=True)
    th, sh = blocks(h)
    with pytest.raises(InputDataError, match="not still"):
        calibrate(th, sh, pose_window_s=(10.0, 12.0), known_angle_deg=0.0)
    with pytest.raises(InputDataError, match="shorter"):
        calibrate(th, sh, pose_window_s=(1.0, 1.2), known_angle_deg=0.0)
    with pytest.raises(InputDataError, match="movement"):
        calibrate(th.slice(0, 400), sh.slice(0, 400), pose_window_s=(0.5, 3.5), known_angle_deg=0.0)
    with pytest.raises(InputDataError, match="calibration"):
        KneeCalibration.from_json('{"kind": "something else"}')
    cal = calibrate(th, sh, pose_window_s=(0.5, 4.5), known_angle_deg=-15.0)
    with pytest.raises(ValueError, match="left leg"):
        KneeAngleEstimator(side=Side.RIGHT, calibration=cal)
