"""Fidelity fixes of the simulator: smooth pelvis, no cross-leg jolt, fixed feet, IC gyro.

Each test names the artefact of the former contact-anchored model it guards against (measured
values of that model in brackets).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from imugait.sim import PRESETS, Scenario, Simulation, simulate
from imugait.sim.engine import build_model
from imugait.sim.kinematics import evaluate, leg_points
from imugait.sim.sensors import add_impacts, segment_signals
from imugait.types import Location, Side
from imugait.units import G_M_S2

QUIET = {"impact_shank_g": 0.0, "impact_foot_g": 0.0}


def _run(sc: Scenario, locs: tuple[Location, ...], dt: float = 1e-3) -> dict[str, Any]:
    model, body, sup = build_model(sc)
    t = np.arange(0.0, sc.duration_s, dt)
    ev = evaluate(model, body, sup, t)
    return {
        "model": model,
        "t": t,
        "ev": ev,
        "body": body,
        "sig": segment_signals(model, body, sup, t, locs),
    }


def _steady_ic(run: dict[str, Any], side: Side) -> np.ndarray:
    ic, _ = run["model"].events(side)
    amp = run["ev"][side]["amp"]
    t = run["t"]
    ok = [a for a in ic if np.min(amp[(t > a - 1.2) & (t < a + 1.2)]) >= 1.0]
    return np.array(ok)


@pytest.fixture(scope="module")
def base() -> Scenario:
    return PRESETS["noise_free"].with_(duration_s=20.0, **QUIET)


def test_other_legs_knee_does_not_jolt_the_contralateral_shank(base: Scenario) -> None:
    """Right shank axial force around right IC, left knee hyperextended vs healthy [51 m/s²]."""
    loc = Location.RIGHT_SHANK
    sc_hx = base.with_(hx_deg=10.0, hx_side=Side.LEFT, hx_frac=1.0, hx_sd_deg=0.0)
    sc_lr = base.with_(asym_side=Side.LEFT, asym_lr_kappa=0.5)
    ref = _run(base, (loc,))
    f0 = ref["sig"][loc][0][:, 1]
    for sc, bound in ((sc_hx, 8.0), (sc_lr, 0.5)):
        other = _run(sc, (loc,))
        f1 = other["sig"][loc][0][:, 1]
        for a in _steady_ic(ref, Side.RIGHT):
            i = round(a * 1000)
            assert np.max(np.abs(f1[i - 50 : i + 150] - f0[i - 50 : i + 150])) < bound


@pytest.mark.parametrize("speed", [0.8, 1.3, 1.8])
def test_pelvis_forward_motion_is_smooth(base: Scenario, speed: float) -> None:
    """Forward pelvis acceleration within ±5 m/s² [±5, ±9, ±20 m/s² at 0.8, 1.3, 1.8 m/s].

    Real pelvis (NeuRA Vicon, 1.16 m/s): -3.3..+2.6 m/s² forward, -1.3..+3.0 m/s² vertical.
    Since the knee minimum was moved to IC (``curves.knee_ic_warp``, which matches the measured
    IC timing of shank and heel) the maxima are 3.4/4.5/4.9 m/s² and the forward-velocity
    range 1.02 x the speed at 0.8 m/s (before: 2.9/3.8/3.9 m/s², 0.89 x). Both are still well
    above real pelvis motion (a known limit of the planar chain without pelvic rotation).
    """
    run = _run(base.with_(speed_m_s=speed, duration_s=16.0), ())
    t, hip = run["t"], run["ev"].pelvis
    steady = (run["ev"][Side.LEFT]["amp"] >= 1.0) & (run["ev"][Side.RIGHT]["amp"] >= 1.0)
    v = np.gradient(hip, t, axis=0)
    a = np.gradient(v, t, axis=0)
    assert np.max(np.abs(a[steady, 0])) < 5.0
    assert np.ptp(v[steady, 0]) < 1.1 * speed
    if speed <= 1.3:  # the double-support bottom-out grows with speed (documented)
        assert np.max(np.abs(a[steady, 1])) < 8.0


def test_pelvis_is_smooth_with_a_hyperextended_knee(base: Scenario) -> None:
    """The knee pathology no longer drives the pelvis [forward -97..+83 m/s², -2..+3 m/s]."""
    sc = base.with_(hx_deg=10.0, hx_side=Side.LEFT, hx_frac=1.0, hx_sd_deg=0.0, duration_s=16.0)
    run = _run(sc, ())
    t, hip = run["t"], run["ev"].pelvis
    steady = (run["ev"][Side.LEFT]["amp"] >= 1.0) & (run["ev"][Side.RIGHT]["amp"] >= 1.0)
    v = np.gradient(hip, t, axis=0)
    a = np.gradient(v, t, axis=0)
    assert np.max(np.abs(a[steady, 0])) < 4.5
    assert np.min(v[steady, 0]) > 0.8
    assert np.max(v[steady, 0]) < 1.8


def test_loaded_heel_stays_put_in_double_support(base: Scenario) -> None:
    """The landing heel moves only by the heel arrest (< 15 mm) [76 mm]."""
    run = _run(base, ())
    body, t = run["body"], run["t"]
    hip = run["ev"].pelvis
    for s in Side:
        heel = hip + leg_points(body, run["ev"][s])["heel"]
        fc_o = run["model"].events(s.other)[1]
        for a in _steady_ic(run, s):
            e = fc_o[fc_o > a][0]
            m = (t >= a) & (t <= e)
            assert np.ptp(heel[m, 0]) < 0.015
            assert np.max(np.abs(heel[m, 1])) < 1e-3


def test_first_swing_of_a_bout_is_near_steady(base: Scenario) -> None:
    """Gait initiation reaches near-steady swing in the first step [first peak 19 % of steady]."""
    sc = base.with_(duration_s=14.0)
    locs = (Location.LEFT_SHANK, Location.RIGHT_SHANK)
    run = _run(sc, locs)
    t = run["t"]
    lead = run["model"].bouts[0].lead
    w = run["sig"][Location.LEFT_SHANK if lead is Side.LEFT else Location.RIGHT_SHANK][1][:, 2]
    ic, fc = run["model"].events(lead)
    peaks = [np.max(w[(t >= f) & (t <= ic[ic > f][0])]) for f in fc[:4]]
    assert peaks[0] > 0.5 * peaks[-1]


def test_no_stance_spike_in_paretic_recurvatum() -> None:
    """Left shank stance rate stays below its swing peak [5.99 rad/s stance vs 3.82 swing]."""
    sc = PRESETS["left_paretic_recurvatum"].with_(duration_s=16.0, **QUIET)
    sc = sc.with_(mounting_error_deg=0.0, stride_cv=0.0, sway_deg=0.0)
    loc = Location.LEFT_SHANK
    run = _run(sc, (loc,))
    w = run["sig"][loc][1][:, 2]
    a = run["ev"][Side.LEFT]
    steady = a["amp"] >= 1.0
    stance = steady & (a["contact"] > 0)
    swing = steady & (a["contact"] == 0)
    assert np.max(np.abs(w[stance])) < np.max(w[swing])


def test_shank_rotation_turns_backwards_at_ic(base: Scenario) -> None:
    """Forward shank rotation ends within 45 ms before IC; the shank rotates backwards at IC."""
    loc = Location.RIGHT_SHANK
    run = _run(base, (loc,))
    t = run["t"]
    w = run["sig"][loc][1][:, 2]
    for a in _steady_ic(run, Side.RIGHT):
        i = round(a * 1000)
        seg = w[i - 300 : i + 1]
        k = int(np.argmax(seg))
        z = np.flatnonzero((seg[k:-1] > 0) & (seg[k + 1 :] <= 0))
        assert len(z) == 1
        assert -0.045 < (t[i - 300 + k + int(z[0])] - a) < 0.0
        assert np.min(w[i : i + 60]) < -0.5  # backwards rotation after IC


def test_ic_gyro_transient_starts_backwards_and_integrates_to_zero() -> None:
    t = np.arange(0.0, 1.0, 1e-4)
    f = np.zeros((len(t), 3))
    w = np.zeros((len(t), 3))
    add_impacts(f, t, np.array([0.3]), np.array([G_M_S2]), 20.0, 0.015, w, 0.5 / G_M_S2)
    i0 = int(np.searchsorted(t, 0.3))
    assert w[i0, 2] == pytest.approx(-0.5, rel=1e-9)  # peak backwards rate at IC
    # no net rotation (up to the trapezoid error of the step at onset, 0.5 rad/s · dt / 2)
    assert abs(np.trapezoid(w[:, 2], t)) < 5e-5
    assert np.max(np.abs(w[:, :2])) == 0.0


def test_ic_gyro_transient_is_in_the_sensor_signal() -> None:
    sc = PRESETS["noise_free"].with_(duration_s=12.0, locations=(Location.RIGHT_SHANK,))
    on = simulate(sc)
    off = simulate(sc.with_(impact_gyr_dps_per_g=0.0))
    x_on, x_off = on.sensors[0], off.sensors[0]
    d = (x_on.gyr_clean_rad_s - x_off.gyr_clean_rad_s) @ x_on.joint_axis_sensor
    assert np.max(np.abs(d)) > 0.1  # 0.52 rad/s on the fine grid, anti-aliased at 40 Hz
    tab = on.truth.stride_table(Side.RIGHT)
    for ic in tab["ic_t_s"]:
        m = (x_on.true_t_s > ic - 0.02) & (x_on.true_t_s < ic + 0.25)
        assert abs(np.trapezoid(d[m], x_on.true_t_s[m])) < 2e-3
        assert np.min(d[m]) < -0.05


def test_truth_angles_are_the_final_kinematics(clean_sim: Simulation) -> None:
    model, body, sup = build_model(clean_sim.scenario)
    tr = clean_sim.truth
    t, _ = tr.signal(Side.LEFT)
    ev = evaluate(model, body, sup, t)
    for s in Side:
        a = ev[s]
        for key, name in (("thigh", "thigh_deg"), ("shank", "shank_deg"), ("foot", "foot_deg")):
            np.testing.assert_allclose(tr.signal(s, name)[1], np.degrees(a[key]), atol=1e-9)
        # the knee truth is the prescribed curve, untouched by the inverse kinematics
        np.testing.assert_allclose(
            tr.signal(s, "knee_flexion_deg")[1], np.degrees(model.angles(t, s)["knee"]), atol=1e-9
        )


@pytest.mark.parametrize("speed", [1.0, 1.3, 1.8])
def test_knee_minimum_and_shank_turn_at_ic(base: Scenario, speed: float) -> None:
    """The knee is at its terminal-swing minimum at IC and the shank's forward rotation ends there.

    Measured: NeuRA Vicon (10 of 11 strides) knee minimum 0-20 ms after heel strike, shank rate
    zero crossing 0-10 ms after it. [Fourier mean curve as is: knee minimum 25 ms before IC,
    shank zero crossing 28-49 ms before IC, knee flexing at 90 deg/s at IC.]
    """
    run = _run(base.with_(speed_m_s=speed, duration_s=16.0), ())
    t = run["t"]
    for s in Side:
        leg = run["ev"][s]
        w_shank = np.gradient(leg["shank"], t)
        w_knee = np.gradient(leg["knee"], t)
        for a in _steady_ic(run, s):
            i = round(a * 1000)
            assert abs(w_knee[i]) < np.radians(2.0)
            win = slice(i - 120, i + 30)
            k = np.flatnonzero((w_shank[win][:-1] > 0) & (w_shank[win][1:] <= 0))
            assert len(k) == 1
            assert abs(t[win][k[0]] - a) < 0.015
