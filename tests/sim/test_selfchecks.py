"""Physical self-checks of the simulator (``docs/biomechanics.md`` §5.11)."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pytest
from scipy.integrate import cumulative_trapezoid

from imugait.sim import Scenario, Simulation, simulate
from imugait.sim.engine import build_model
from imugait.sim.kinematics import evaluate, leg_points
from imugait.types import Segment, Side
from imugait.units import G_M_S2


@functools.cache
def _model(sc: Scenario) -> tuple[Any, Any, Any]:
    return build_model(sc)


def final_angles(sim: Simulation, t: np.ndarray, side: Side) -> dict[str, np.ndarray]:
    """The simulator's final segment angles (stance legs by inverse kinematics)."""
    model, body, sup = _model(sim.scenario)
    return evaluate(model, body, sup, t)[side]


def impact_rotation_deg(sim: Simulation, segment: Segment) -> float:
    """Bound on the angle oscillation of the IC gyro transient (it integrates to zero)."""
    sc = sim.scenario
    g = {Segment.SHANK: sc.impact_shank_g, Segment.FOOT: sc.impact_foot_g}.get(
        segment, sc.impact_thigh_ratio * sc.impact_shank_g
    )
    return sc.impact_gyr_dps_per_g * g * 3.0 / (2.0 * np.pi * sc.impact_freq_hz)


@pytest.mark.parametrize("which", ["clean_sim", "healthy_sim"])
def test_integrated_gyro_reproduces_segment_angle(
    which: str, request: pytest.FixtureRequest
) -> None:
    sim: Simulation = request.getfixturevalue(which)
    for x in sim.sensors:
        t = x.true_t_s
        ang = cumulative_trapezoid(x.gyr_clean_rad_s @ x.joint_axis_sensor, t, initial=0.0)
        th = final_angles(sim, t, x.location.side)[x.location.segment.value]
        tol = 0.3 if x.location.segment is Segment.FOOT else 0.1
        tol += impact_rotation_deg(sim, x.location.segment)
        assert np.max(np.abs(np.degrees(ang - (th - th[0])))) < tol, x.sensor_id
        # without turns all rotation is about the joint axis
        seg = x.gyr_clean_rad_s @ x.mounting_R.T
        assert np.max(np.abs(seg[:, :2])) < 1e-12


def test_static_specific_force_is_gravity(clean_sim: Simulation) -> None:
    for x in clean_sim.sensors:
        st = x.true_t_s < clean_sim.scenario.stand_start_s - 0.5
        acc = x.acc_clean_m_s2[st]
        assert np.allclose(np.linalg.norm(acc, axis=1), G_M_S2, atol=1e-9)
        th = final_angles(clean_sim, x.true_t_s[st], x.location.side)[x.location.segment.value]
        f_seg = acc @ x.mounting_R.T
        expect = np.column_stack([np.sin(th), np.cos(th), np.zeros_like(th)]) * G_M_S2
        assert np.allclose(f_seg, expect, atol=1e-9)
        if x.location.segment is Segment.THIGH:  # thigh vertical when standing: (0, g, 0)
            assert np.allclose(f_seg, [0.0, G_M_S2, 0.0], atol=1e-9)


def test_gyro_integral_over_steady_stride_is_zero(clean_sim: Simulation) -> None:
    for x in clean_sim.sensors:
        tab = clean_sim.truth.stride_table(x.location.side)
        rate = x.gyr_clean_rad_s @ x.joint_axis_sensor
        for a, e in zip(
            tab["ic_t_s"][tab["steady"] > 0], tab["end_t_s"][tab["steady"] > 0], strict=True
        ):
            m = (x.true_t_s >= a) & (x.true_t_s <= e)
            total = np.trapezoid(rate[m], x.true_t_s[m])
            # the sampled window misses < 1 sample at each end: bound by rate * dt
            edge = np.max(np.abs(rate[m])) * 2.0 / x.fs_hz
            assert abs(total) < edge + 1e-3


@pytest.fixture(scope="module")
def feet(clean_sim: Simulation) -> dict[str, Any]:
    model, body, sup = _model(clean_sim.scenario)
    t = np.arange(0.0, clean_sim.scenario.duration_s, 1e-3)
    ev = evaluate(model, body, sup, t)
    hip = ev.pelvis
    out: dict[str, Any] = {"t": t, "model": model, "pelvis": hip}
    for s in Side:
        a = ev[s]
        p = leg_points(body, a)
        out[s.value] = {
            "ang": a,
            "heel": hip + p["heel"],
            "toe": hip + p["toe"],
            "ankle": hip + p["ankle"],
        }
    return out


def test_stance_foot_does_not_slip_in_single_support(feet: dict[str, Any]) -> None:
    t = feet["t"]
    for s in Side:
        me, other = feet[s.value], feet[s.other.value]
        a = me["ang"]
        single = (a["contact"] > 0) & (other["ang"]["contact"] == 0)
        on_heel = single & (a["foot"] > 0)
        on_toe = single & (a["foot"] < 0)
        flat = single & (a["foot"] == 0)
        for pt, m in (("heel", on_heel), ("toe", on_toe), ("ankle", flat)):
            v = np.gradient(me[pt], t, axis=0)
            inner = m & np.roll(m, 1) & np.roll(m, -1)
            if pt != "heel":  # the heel rocker ends within double support
                assert np.any(inner), (s, pt)
            if not np.any(inner):
                continue
            assert np.max(np.abs(v[inner])) < 1e-6, (s, pt)
        # the contact point is on the ground
        cp_y = np.where(a["foot"] >= 0, me["heel"][:, 1], me["toe"][:, 1])
        assert np.max(np.abs(cp_y[single])) < 1e-9


def test_swing_clearance_and_heel_strike(feet: dict[str, Any], clean_sim: Simulation) -> None:
    t = feet["t"]
    for s in Side:
        me = feet[s.value]
        a = me["ang"]
        low = np.minimum(me["heel"][:, 1], me["toe"][:, 1])
        steady_swing = (a["contact"] == 0) & (a["amp"] >= 1.0)
        # the heel passes 1.2 mm below the ground about 65 ms before IC (the shank is most
        # vertical there, the leg longest; heel pad), then lands at IC
        assert np.min(low[steady_swing]) > -1.5e-3
        ic = clean_sim.truth.ic_t_s(s)
        i = np.searchsorted(t, ic)
        steady_ic = a["amp"][i] >= 1.0
        heel_y = me["heel"][i, 1][steady_ic]
        toe_y = me["toe"][i, 1][steady_ic]
        assert np.max(np.abs(heel_y)) < 2e-3  # heel on the ground at IC ...
        assert np.all(toe_y > heel_y + 0.01)  # ... and it is the lowest point of the foot


def test_contact_truth_matches_events(clean_sim: Simulation) -> None:
    tr = clean_sim.truth
    t, _ = tr.signal(Side.LEFT)
    for s in Side:
        _, contact = tr.signal(s, "contact")
        ic, fc = tr.ic_t_s(s), tr.fc_t_s(s)
        for a in ic:
            k = int(np.searchsorted(t, a))
            assert contact[k] == 1.0
            assert k == 0 or contact[k - 1] == 0.0
        for f in fc:
            k = int(np.searchsorted(t, f))
            assert contact[k] == 0.0
            assert contact[k - 1] == 1.0


def test_no_events_during_standing(healthy_sim: Simulation) -> None:
    tr = healthy_sim.truth
    for a, b in tr.intervals["standing"]:
        for s in Side:
            for ev in (tr.ic_t_s(s), tr.fc_t_s(s)):
                inside = ev[(ev > a + 1e-9) & (ev < b - 1e-9)]
                assert len(inside) == 0


def test_turn_rate_is_seen_by_the_gyros() -> None:
    sc = Scenario(duration_s=20.0, turns=((9.0, 2.0, 90.0),), mounting_error_deg=15.0, seed=9)
    sim = simulate(sc)
    for x in sim.sensors:
        seg = x.gyr_clean_rad_s @ x.mounting_R.T
        th = final_angles(sim, x.true_t_s, x.location.side)[x.location.segment.value]
        yaw_rate = seg[:, 0] * np.sin(th) + seg[:, 1] * np.cos(th)  # world vertical component
        total = np.degrees(np.trapezoid(yaw_rate, x.true_t_s))
        assert total == pytest.approx(90.0, abs=0.5)
