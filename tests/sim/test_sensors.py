"""Sensor clocks, error model, mounting and sample rates."""

from __future__ import annotations

import numpy as np
import pytest

from imugait.sim import PRESETS, Scenario, Simulation, simulate
from imugait.sim.engine import build_model
from imugait.sim.sensors import sample_segment_signals
from imugait.types import Location, Side


def test_sensor_clock_model(healthy_sim: Simulation) -> None:
    sc = healthy_sim.scenario
    for x in healthy_sim.sensors:
        e = x.errors
        assert 0.0 <= e.clock_offset_s <= sc.clock_offset_max_s
        assert abs(e.clock_drift_ppm) <= sc.clock_drift_ppm
        k = np.arange(x.n)
        np.testing.assert_allclose(x.sensor_t_s, e.sensor_t_start_s + k / x.fs_hz, atol=1e-9)
        expect = (x.sensor_t_s - e.clock_offset_s) / (1.0 + e.clock_drift_ppm * 1e-6)
        np.testing.assert_allclose(x.true_t_s, expect, atol=1e-12)
        assert x.true_t_s[0] >= 0.0
        assert x.true_t_s[-1] < sc.duration_s
        assert x.n == pytest.approx(sc.duration_s * x.fs_hz, abs=2)
        blk = x.block()
        assert blk.location is x.location
        assert blk.n == x.n


def test_error_model_statistics(healthy_sim: Simulation) -> None:
    for x in healthy_sim.sensors:
        e = x.errors
        bias = x.gyr_bias_rad_s()
        gyr_pred = x.gyr_clean_rad_s @ np.asarray(e.gyr_gain).T + bias
        acc_pred = x.acc_clean_m_s2 @ np.asarray(e.acc_gain).T + np.asarray(e.acc_bias_m_s2)
        rg, ra = x.gyr_rad_s - gyr_pred, x.acc_m_s2 - acc_pred
        assert np.std(rg) == pytest.approx(e.gyr_noise_sd_rad_s, rel=0.05)
        assert np.std(ra) == pytest.approx(e.acc_noise_sd_m_s2, rel=0.05)
        assert abs(np.mean(rg)) < 0.1 * e.gyr_noise_sd_rad_s
        # the bias starts at its constant value and wanders slowly
        np.testing.assert_allclose(bias[0], e.gyr_bias_rad_s)
        assert np.max(np.abs(bias - bias[0])) < np.radians(0.5)


def test_noise_free_preset_has_no_errors(clean_sim: Simulation) -> None:
    for x in clean_sim.sensors:
        np.testing.assert_array_equal(x.acc_m_s2, x.acc_clean_m_s2)
        np.testing.assert_array_equal(x.gyr_rad_s, x.gyr_clean_rad_s)
        np.testing.assert_allclose(x.true_t_s, x.sensor_t_s)


def test_mounting_is_right_handed_and_mirrored_on_the_left(healthy_sim: Simulation) -> None:
    for x in healthy_sim.sensors:
        r = x.mounting_R
        np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(r) == pytest.approx(1.0)
        np.testing.assert_allclose(x.joint_axis_sensor, r.T @ [0.0, 0.0, 1.0])
        lateral = 1.0 if x.location.side is Side.RIGHT else -1.0
        # nominal lateral mounting: sensor z within the drawn error of the lateral direction
        angle = np.degrees(np.arccos(lateral * x.joint_axis_sensor[2]))
        assert angle < 2.0 * healthy_sim.scenario.mounting_error_deg
        assert np.all(np.abs(x.mounting_error_deg) <= healthy_sim.scenario.mounting_error_deg)


def test_large_mounting_error_mixed_rates_and_short_person() -> None:
    sc = Scenario(
        duration_s=15.0,
        height_m=1.55,
        speed_m_s=0.9,
        mounting_error_deg=30.0,
        fs_hz=200.0,
        fs_hz_by_location=((Location.LEFT_SHANK, 100.0),),
        seed=7,
    )
    sim = simulate(sc)
    for x in sim.sensors:
        want = 100.0 if x.location is Location.LEFT_SHANK else 200.0
        assert x.fs_hz == want
        assert np.median(np.diff(x.sensor_t_s)) == pytest.approx(1.0 / want)
        assert np.all(np.isfinite(x.acc_m_s2))
        assert np.all(np.isfinite(x.gyr_rad_s))
    tab = sim.truth.stride_table(Side.LEFT)
    st = tab["steady"] > 0
    speed = np.mean(tab["stride_length_m"][st] / tab["stride_s"][st])
    assert speed == pytest.approx(0.9, rel=0.03)


def test_impact_is_visible_on_the_shank(clean_sim: Simulation) -> None:
    x = clean_sim.sensor(Location.RIGHT_SHANK)
    quiet = simulate(clean_sim.scenario.with_(impact_shank_g=0.0, locations=(x.location,)))
    tab = clean_sim.truth.stride_table(Side.RIGHT)
    # the impact alone: same kinematics without it, segment frame long axis
    d = ((x.acc_clean_m_s2 - quiet.sensors[0].acc_clean_m_s2) @ x.mounting_R.T)[:, 1]
    for ic, amp in zip(tab["ic_t_s"], tab["impact_shank_m_s2"], strict=True):
        m = (x.true_t_s >= ic) & (x.true_t_s < ic + 0.05)
        pre = (x.true_t_s > ic - 0.8) & (x.true_t_s < ic - 0.03)
        # anti-aliased at 40 Hz and sampled at 100 Hz: a good part of the 20 Hz transient remains
        assert np.max(np.abs(d[m])) > 0.25 * amp
        assert np.max(np.abs(d[pre])) < 0.05 * amp  # and nothing before IC


def test_presets_simulate_briefly() -> None:
    for name, sc in PRESETS.items():
        short = sc.with_(duration_s=14.0, pauses=(), turns=())
        sim = simulate(short)
        assert len(sim.sensors) == len(sc.locations), name
        assert len(sim.truth.ic_t_s(Side.LEFT)) >= 3, name


def test_chunked_generation_does_not_depend_on_chunk_size() -> None:
    sc = PRESETS["healthy"].with_(duration_s=12.0)
    model, body, sup = build_model(sc)
    loc = Location.LEFT_SHANK
    t = {loc: np.sort(np.random.default_rng(0).uniform(0.0, 12.0, 1500))}
    ic, _ = model.events(loc.side)
    imp = {loc: (ic, np.full(len(ic), 9.81))}
    a = sample_segment_signals(model, body, sup, t, imp, grid_hz=1000.0, chunk_s=20.0)[loc]
    b = sample_segment_signals(model, body, sup, t, imp, grid_hz=1000.0, chunk_s=2.5)[loc]
    np.testing.assert_allclose(a[0], b[0], atol=1e-7)
    np.testing.assert_allclose(a[1], b[1], atol=1e-8)
