"""Injected pathologies come back exactly in the ground truth; truth JSON; determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from imugait.sim import PRESETS, GroundTruth, Simulation, simulate, symmetry_index
from imugait.sim.truth import time_below
from imugait.types import Side


def test_hyperextension_minimum_is_minus_hx(hx_sim: Simulation) -> None:
    tab = hx_sim.truth.stride_table(Side.LEFT)
    steady = tab["steady"] > 0
    hx = tab["hx_injected_deg"]
    aff = steady & (hx != 0)
    assert aff.sum() >= 5
    assert (steady & (hx == 0)).sum() >= 3
    np.testing.assert_allclose(tab["knee_min_stance_deg"][aff], -hx[aff], atol=1e-9)
    assert np.all(tab["hyperext_label"][aff & (hx > 6.0)] == 1.0)
    # unaffected strides and the other leg: healthy, never below 0 in stance
    assert np.all(tab["knee_min_stance_deg"][steady & (hx == 0)] > 0.0)
    assert np.all(tab["hyperext_label"][hx == 0] == 0.0)
    right = hx_sim.truth.stride_table(Side.RIGHT)
    assert np.all(right["knee_min_stance_deg"] > 0.0)
    assert np.all(right["hx_injected_deg"] == 0)
    # per-stride draws are in the model record too
    per_cycle = np.asarray(hx_sim.truth.model["hx_deg_per_cycle"]["left"])
    assert set(np.round(hx[hx != 0], 9)) <= set(np.round(per_cycle, 9))


def test_time_below_matches_the_plateau(hx_sim: Simulation) -> None:
    tab = hx_sim.truth.stride_table(Side.LEFT)
    m = (tab["steady"] > 0) & (tab["hx_injected_deg"] > 10.5)
    assert np.any(m)
    # the plateau (p2..p3 = 0.22..0.42 of the stride) is entirely below -10 deg
    assert np.all(tab["hyperext_below10_ms"][m] > 0.2 * tab["stride_s"][m] * 1e3)
    assert np.all(tab["hyperext_below5_ms"][m] > tab["hyperext_below10_ms"][m])


def test_time_below_helper() -> None:
    t = np.linspace(0.0, 1.0, 1001)
    x = np.cos(2 * np.pi * t)  # below 0 on (0.25, 0.75)
    assert time_below(t, x, 0.0) == pytest.approx(0.5, abs=1e-6)
    assert time_below(t, x, -2.0) == 0.0
    assert time_below(t, x, 2.0) == pytest.approx(1.0)


def test_asymmetry_truth_matches_injected_formulas(asym_sim: Simulation) -> None:
    tr = asym_sim.truth
    for name, si in tr.injected_symmetry.items():
        assert tr.symmetry[name]["si_pct"] == pytest.approx(si, abs=0.05), name
    r, left = tr.stride_table(Side.RIGHT), tr.stride_table(Side.LEFT)
    sr, sl = r["steady"] > 0, left["steady"] > 0
    np.testing.assert_allclose((r["stance_s"] / r["stride_s"])[sr], 0.56, atol=2e-3)
    np.testing.assert_allclose((left["stance_s"] / left["stride_s"])[sl], 0.61, atol=2e-3)
    # impact: A_aff = (1 - rho) A_ref; loading-response flexion scaled by kappa
    ratio = np.mean(r["impact_shank_m_s2"][sr]) / np.mean(left["impact_shank_m_s2"][sl])
    assert ratio == pytest.approx(0.7, abs=1e-9)
    lr = np.mean(r["lr_flexion_deg"][sr]) / np.mean(left["lr_flexion_deg"][sl])
    assert lr == pytest.approx(0.6, abs=0.01)
    assert tr.injected_symmetry["stance"] == pytest.approx(symmetry_index(0.61, 0.56))


def test_healthy_gait_is_symmetric_with_plausible_timing(healthy_sim: Simulation) -> None:
    tr = healthy_sim.truth
    sc = healthy_sim.scenario
    for s in Side:
        tab = tr.stride_table(s)
        st = tab["steady"] > 0
        assert st.sum() >= 15
        speed = tab["stride_length_m"][st] / tab["stride_s"][st]
        assert np.mean(speed) == pytest.approx(sc.speed_m_s, rel=0.03)
        frac = tab["stance_s"][st] / tab["stride_s"][st]
        assert np.all(np.abs(frac - 0.61) < 0.02)
        assert np.all(tab["single_support_s"][st] > 0.3 * tab["stride_s"][st])
        assert 0.005 < np.std(tab["stride_s"][st]) / np.mean(tab["stride_s"][st]) < 0.04
        assert np.all(tab["knee_min_stance_deg"] > 0.0)
    for m in ("stance", "step", "single_support", "swing", "lr_flexion"):
        assert abs(tr.symmetry[m]["si_pct"]) < 2.0, m


def test_truth_json_round_trip(hx_sim: Simulation, tmp_path: Path) -> None:
    p = tmp_path / "truth.json"
    hx_sim.truth.save(p)
    back = GroundTruth.load(p)
    assert back.to_dict() == hx_sim.truth.to_dict()
    np.testing.assert_array_equal(back.ic_t_s(Side.LEFT), hx_sim.truth.ic_t_s(Side.LEFT))
    t, knee = back.signal(Side.LEFT)
    assert len(t) == len(knee)
    assert t[1] - t[0] == pytest.approx(0.01)
    assert back.scenario == hx_sim.scenario.to_dict()
    with pytest.raises(ValueError, match="not an imugait"):
        GroundTruth.from_dict({"format": "something else"})


def test_truth_knee_signal_matches_stride_minimum(hx_sim: Simulation) -> None:
    t, knee = hx_sim.truth.signal(Side.LEFT)
    tab = hx_sim.truth.stride_table(Side.LEFT)
    cols = (tab["ic_t_s"], tab["end_t_s"], tab["knee_min_midstance_deg"])
    for a, e, kmin in zip(*cols, strict=True):
        m = (t >= a + 0.1 * (e - a)) & (t <= a + 0.55 * (e - a))
        assert np.min(knee[m]) == pytest.approx(kmin, abs=0.05)


def test_determinism_and_seed_dependence() -> None:
    sc = PRESETS["healthy"].with_(duration_s=12.0)
    a, b = simulate(sc), simulate(sc)
    c = simulate(sc.with_(seed=sc.seed + 1))
    for xa, xb, xc in zip(a.sensors, b.sensors, c.sensors, strict=True):
        np.testing.assert_array_equal(xa.acc_m_s2, xb.acc_m_s2)
        np.testing.assert_array_equal(xa.gyr_rad_s, xb.gyr_rad_s)
        np.testing.assert_array_equal(xa.sensor_t_s, xb.sensor_t_s)
        assert not np.array_equal(xa.gyr_rad_s[:100], xc.gyr_rad_s[:100])
    assert a.truth.to_dict() == b.truth.to_dict()
