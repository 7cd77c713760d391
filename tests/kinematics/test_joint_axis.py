from __future__ import annotations

import numpy as np
import pytest

from imugait.kinematics.joint_axis import (
    align_axis_signs,
    angular_acceleration,
    hinge_residual_ratio,
    identify_joint_axis,
    identify_joint_position,
    identify_sagittal_axes,
)
from tests.kinematics.hinge import REALISTIC, hinge


def _deg(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(np.arccos(min(1.0, abs(float(a @ b))))))


def _perp(o: np.ndarray, j: np.ndarray) -> np.ndarray:
    return np.asarray(o - (o @ j) * j, dtype=np.float64)


@pytest.mark.parametrize(("seed", "mirror"), [(0, False), (3, True), (8, False)])
def test_axis_and_centre_recovered_noise_free(seed: int, mirror: bool) -> None:
    h = hinge(seed=seed, mirror=mirror, duration_s=15.0)
    fit = identify_joint_axis(h.gyr_thigh, h.gyr_shank)
    assert _deg(fit.axis_thigh, h.axis_thigh) < 0.5
    assert _deg(fit.axis_shank, h.axis_shank) < 0.5
    # both axes point the same physical way
    assert np.sign(fit.axis_thigh @ h.axis_thigh) == np.sign(fit.axis_shank @ h.axis_shank)
    pos = identify_joint_position(
        h.t_s, h.acc_thigh, h.gyr_thigh, h.acc_shank, h.gyr_shank, fit.axis_thigh, fit.axis_shank
    )
    err1 = _perp(pos.pos_thigh_m - h.knee_from_thigh_sensor_m, fit.axis_thigh)
    err2 = _perp(pos.pos_shank_m - h.knee_from_shank_sensor_m, fit.axis_shank)
    assert np.linalg.norm(err1) < 0.01
    assert np.linalg.norm(err2) < 0.01
    assert hinge_residual_ratio(fit, h.gyr_thigh, h.gyr_shank) < 0.02


def test_axis_with_noise_and_bias() -> None:
    h = hinge(seed=5, duration_s=15.0, **REALISTIC)
    fit = identify_joint_axis(h.gyr_thigh, h.gyr_shank)
    assert _deg(fit.axis_thigh, h.axis_thigh) < 1.0
    assert _deg(fit.axis_shank, h.axis_shank) < 1.0


def test_sagittal_fallback_close_on_gait() -> None:
    h = hinge(seed=0, duration_s=15.0)
    fit = identify_sagittal_axes(h.acc_thigh, h.gyr_thigh, h.acc_shank, h.gyr_shank)
    # thigh wobble and segment inclination make it approximate, not exact
    assert _deg(fit.axis_thigh, h.axis_thigh) < 10.0
    assert _deg(fit.axis_shank, h.axis_shank) < 10.0
    assert np.sign(fit.axis_thigh @ h.axis_thigh) == np.sign(fit.axis_shank @ h.axis_shank)


def test_align_axis_signs_flips_inconsistent_axis() -> None:
    h = hinge(seed=0, duration_s=15.0)
    j2, corr = align_axis_signs(h.gyr_thigh, h.gyr_shank, h.axis_thigh, -h.axis_shank)
    assert np.allclose(j2, h.axis_shank)
    assert corr > 0


def test_too_little_motion_raises() -> None:
    g = np.full((500, 3), 0.01)
    with pytest.raises(ValueError, match="informative"):
        identify_joint_axis(g, g)


def test_angular_acceleration_central_difference() -> None:
    t: np.ndarray[tuple[int], np.dtype[np.float64]] = np.arange(10, dtype=np.float64) * 0.01
    g = np.column_stack([t**2, 3 * t, np.zeros_like(t)]).astype(np.float64)
    dg = angular_acceleration(g, t)
    assert np.allclose(dg[1:-1, 0], 2 * t[1:-1])
    assert np.allclose(dg[:, 1], 3.0)
