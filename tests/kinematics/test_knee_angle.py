from __future__ import annotations

import math

import numpy as np
import pytest

from imugait.kinematics.knee_angle import FusionState, flexion_sign, fuse


def test_fuse_is_drift_free_under_constant_bias() -> None:
    fs = 100.0
    t = np.arange(int(600 * fs)) / fs
    truth = np.radians(30) * np.sin(2 * np.pi * t / 1.1) ** 2 - np.radians(5)
    rate = np.gradient(truth, t) + np.radians(2.0)  # 2 deg/s relative gyro bias
    rng = np.random.default_rng(1)
    acc = truth + rng.normal(0, np.radians(3), len(t))  # noisy but unbiased acc angle
    state = FusionState(0.0, 0.0, float(rate[0]), float(t[0]))
    a, st = fuse(t, rate, acc, np.zeros_like(t), state, tau_s=1.0, mismatch_scale_m_s2=0.5)
    err = np.degrees(a - truth)
    assert abs(err[-6000:].mean()) < 0.3  # last minute: no drift
    assert np.sqrt(np.mean(err[3000:] ** 2)) < 1.0
    assert math.isclose(st.bias_rad_s, np.radians(2.0), rel_tol=0.05)


def test_fuse_downweights_model_mismatch() -> None:
    t = np.arange(1000) / 100.0
    rate = np.zeros_like(t)
    acc = np.full_like(t, np.radians(20))  # acc says 20 deg, gyro says constant 0
    state = FusionState(0.0, 0.0, 0.0, 0.0)
    trusted, _ = fuse(t, rate, acc, np.zeros_like(t), state, tau_s=1.0, mismatch_scale_m_s2=0.5)
    distrust, _ = fuse(
        t, rate, acc, np.full_like(t, 5.0), state, tau_s=1.0, mismatch_scale_m_s2=0.5
    )
    assert abs(trusted[-1] - np.radians(20)) < np.radians(0.5)
    # at mismatch = 10x the scale, the correction is about 100x weaker
    assert 0 < distrust[200] < 0.1 * trusted[200]


def test_flexion_sign_from_gait_shape() -> None:
    p = np.linspace(0, 1, 200, endpoint=False)
    gait = np.radians(np.interp(p, [0, 0.12, 0.4, 0.6, 0.72, 1.0], [5, 20, 7, 40, 60, 5]))
    for offset in (-0.5, 0.0, 1.0):  # any zero
        assert flexion_sign(gait + offset)[0] == 1
        assert flexion_sign(-gait + offset)[0] == -1


def test_reacquire_and_segmented_initial_state_recover_the_angle() -> None:
    """Consistent acc angle and gyro (known bias): the angle at the window start is exact; the
    initial fit gives every segment its own constant, so a gap does not bias it."""
    from imugait.kinematics.knee_angle import initial_state, reacquire_state

    t = np.arange(0.0, 0.5, 0.01)
    rate = 3.0 * np.cos(7.0 * t)
    bias = 0.02
    true = 0.4 + 3.0 / 7.0 * np.sin(7.0 * t) - bias * t  # alpha' = rate - bias
    st = reacquire_state(t, rate, true, np.zeros_like(t), bias, mismatch_scale_m_s2=0.5)
    assert st.alpha_rad == pytest.approx(0.4, abs=2e-4)
    assert st.bias_rad_s == bias
    # two segments with an unknown rotation in between (a gap of 0.2 s)
    keep = (t < 0.2) | (t >= 0.4)
    jump = np.where(t >= 0.4, 0.5, 0.0)
    st2 = initial_state(t[keep], rate[keep], (true + jump)[keep], max_dt_s=0.015)
    assert st2.alpha_rad == pytest.approx(0.4, abs=2e-3)
    assert st2.bias_rad_s == pytest.approx(bias, abs=0.02)
