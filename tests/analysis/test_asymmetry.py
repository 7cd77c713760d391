"""Asymmetry metrics, flags, offloaded side and verdict (biomechanics.md §4) on simulator truth."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from imugait.analysis import (
    DEFAULT_METRICS,
    AsymmetryReport,
    Metric,
    MetricAsymmetry,
    analyse_asymmetry,
    build_summary,
    sensor_configuration,
    steady_strides,
    summarize_leg,
)
from imugait.analysis.asymmetry import metric_asymmetry
from imugait.sim import LEGS_4, LEGS_6
from imugait.types import Location, Side

from .conftest import Case

TEMPORAL = ("stance", "single_support", "step", "swing")


def _by_name(report: AsymmetryReport) -> dict[str, MetricAsymmetry]:
    return {r.metric.name: r for r in report.metrics}


@pytest.mark.parametrize("case_name", ["healthy", "left_hx", "right_antalgic"])
def test_temporal_si_matches_truth(case_name: str, request: pytest.FixtureRequest) -> None:
    case: Case = request.getfixturevalue(case_name)
    rep = analyse_asymmetry(case.table)
    res = {r.metric.name: r for r in rep.metrics}
    for name in TEMPORAL:
        true_si = case.sim.truth.symmetry[name]["si_pct"]
        assert abs(res[name].si_pct - true_si) <= 2.0, (name, res[name].si_pct, true_si)
        assert res[name].si_ci_low_pct <= res[name].si_pct <= res[name].si_ci_high_pct
    # Loading proxies taken from the truth's per-stride columns.
    for name, key in (("impact_peak", "impact"), ("lr_knee_flexion", "lr_flexion")):
        assert abs(res[name].si_pct - case.sim.truth.symmetry[key]["si_pct"]) <= 2.0


def test_healthy_has_no_asymmetry(healthy: Case) -> None:
    rep = analyse_asymmetry(healthy.table)
    assert not any(r.flagged for r in rep.metrics)
    assert rep.offloaded_side is None
    assert rep.confidence == "none"
    for r in rep.metrics:
        if r.status != "unavailable":
            assert r.n_left >= 90
            assert r.n_right >= 90


def test_right_antalgic_names_right(right_antalgic: Case) -> None:
    rep = analyse_asymmetry(right_antalgic.table)
    res = {r.metric.name: r for r in rep.metrics}
    assert rep.offloaded_side is Side.RIGHT
    assert rep.confidence == "high"
    # Injected: right stance 0.57 vs 0.61 (SI -6.8 %), single support SI -9.8 %: below the 10 %
    # temporal threshold; impact (rho 0.3, SI -35 %) and LR flexion (kappa 0.6, SI -50 %) flag.
    assert res["impact_peak"].flagged
    assert res["impact_peak"].offloaded_side is Side.RIGHT
    assert res["lr_knee_flexion"].flagged
    assert res["lr_knee_flexion"].offloaded_side is Side.RIGHT
    assert not res["stance"].flagged
    # With a lower temporal threshold the temporal metrics agree on the side, by their own rules.
    metrics = [Metric(m.name, m.column, m.family, 5.0, m.offloaded_when) for m in DEFAULT_METRICS]
    low = {
        r.metric.name: r for r in analyse_asymmetry(right_antalgic.table, metrics=metrics).metrics
    }
    for name in ("stance", "single_support", "swing"):
        assert low[name].flagged
        assert low[name].offloaded_side is Side.RIGHT, name
    assert low["swing"].si_pct > 0 > low["stance"].si_pct


def test_offloaded_rules_per_metric() -> None:
    rng = np.random.default_rng(1)
    left = 1.0 + 0.02 * rng.standard_normal(40)
    right = 0.8 + 0.02 * rng.standard_normal(40)  # right mean lower
    kw = {"min_strides": 20, "n_boot": 500, "seed": 0}
    by = {m.name: metric_asymmetry(left, right, m, **kw) for m in DEFAULT_METRICS}
    for name, r in by.items():
        assert r.flagged
        assert r.si_pct == pytest.approx(
            200 * (right.mean() - left.mean()) / (right.mean() + left.mean())
        )
        assert r.sr == pytest.approx(left.mean() / right.mean())
        lower_is_off = r.metric.offloaded_when == "lower"
        assert r.offloaded_side is (Side.RIGHT if lower_is_off else Side.LEFT), name
    assert by["step"].offloaded_side is Side.LEFT  # the shorter step lands on the sound side


def test_step_rule_on_simulated_step_asymmetry() -> None:
    from .conftest import make_case

    # Left paretic: shorter left stance and a longer step landing on the left (delta 0.03).
    case = make_case("left_paretic_recurvatum", duration_s=80.0)
    res = _by_name(analyse_asymmetry(case.table))
    step, stance = res["step"], res["stance"]
    assert abs(step.si_pct - case.sim.truth.symmetry["step"]["si_pct"]) <= 2.0
    assert step.flagged
    assert step.offloaded_side is Side.LEFT
    assert stance.offloaded_side in (Side.LEFT, None)


def test_insufficient_data(healthy: Case) -> None:
    t = healthy.table
    short = t[t["ic_t_s"] < t["ic_t_s"].min() + 20.0]  # ~18 strides per side, 14 after edges
    rep = analyse_asymmetry(short)
    present = [r for r in rep.metrics if r.metric.column in short.columns]
    assert len(present) == 6  # no loading-rate column in this table
    assert all(r.status == "insufficient_data" for r in present)
    assert rep.offloaded_side is None
    assert rep.confidence == "insufficient_data"
    assert any("insufficient data" in w for w in rep.warnings)
    ok = analyse_asymmetry(short, min_strides=10)
    assert all(r.status == "not_flagged" for r in ok.metrics if r.status != "unavailable")


def test_bootstrap_deterministic(right_antalgic: Case) -> None:
    a = analyse_asymmetry(right_antalgic.table, seed=3)
    b = analyse_asymmetry(right_antalgic.table, seed=3)
    c = analyse_asymmetry(right_antalgic.table, seed=4)
    ci = [(r.si_ci_low_pct, r.si_ci_high_pct) for r in a.metrics if r.status != "unavailable"]
    assert ci == [
        (r.si_ci_low_pct, r.si_ci_high_pct) for r in b.metrics if r.status != "unavailable"
    ]
    assert ci != [
        (r.si_ci_low_pct, r.si_ci_high_pct) for r in c.metrics if r.status != "unavailable"
    ]


def test_edge_strides_dropped() -> None:
    rows = [
        {"side": s, "ic_t_s": float(i) + (0.5 if s == "right" else 0.0), "bout_id": b}
        for b, start in ((0, 0), (1, 100))
        for s in ("left", "right")
        for i in range(start, start + 10)
    ]
    kept = steady_strides(pd.DataFrame(rows))
    assert len(kept) == 2 * 2 * 6
    for (side, bout), grp in kept.groupby(["side", "bout_id"]):
        start = 0 if bout == 0 else 100
        assert grp["ic_t_s"].min() == start + 2 + (0.5 if side == "right" else 0.0)


def test_conflicting_verdict() -> None:
    rng = np.random.default_rng(0)
    n = 30
    side = ["left"] * n + ["right"] * n
    tab = pd.DataFrame({
        "side": side,
        "ic_t_s": np.arange(2 * n, dtype=float),
        "stance_s": np.r_[0.70 + 0.01 * rng.standard_normal(n), 0.60 + 0.01 * rng.standard_normal(n)],
        "impact_peak_m_s2": np.r_[8.0 + 0.2 * rng.standard_normal(n), 12.0 + 0.2 * rng.standard_normal(n)],
    })  # fmt: skip
    rep = analyse_asymmetry(tab, edge_strides=0)
    assert rep.offloaded_side is None
    assert rep.confidence == "conflicting"
    only_stance = analyse_asymmetry(tab.drop(columns="impact_peak_m_s2"), edge_strides=0)
    assert only_stance.offloaded_side is Side.RIGHT
    assert only_stance.confidence == "low"


def test_sensor_configurations() -> None:
    assert sensor_configuration(LEGS_4).families == ("temporal", "impact", "kinematic")
    shank = sensor_configuration([Location.LEFT_SHANK, Location.RIGHT_SHANK])
    assert shank.name == "shank"
    assert shank.families == ("temporal", "impact")
    foot = sensor_configuration([Location.LEFT_FOOT, Location.RIGHT_FOOT])
    assert foot.families == ("temporal", "impact")
    assert foot.impact_segment is not None
    assert foot.impact_segment.value == "foot"
    assert sensor_configuration(LEGS_6).name == "shank+thigh+foot"
    assert sensor_configuration([Location.LEFT_SHANK]).families == ()


def test_unsupported_metrics_are_unavailable(right_antalgic: Case) -> None:
    rep = analyse_asymmetry(
        right_antalgic.table, locations=[Location.LEFT_SHANK, Location.RIGHT_SHANK]
    )
    res = {r.metric.name: r for r in rep.metrics}
    assert res["lr_knee_flexion"].status == "unavailable"
    assert rep.offloaded_side is Side.RIGHT
    assert rep.confidence == "low"  # impact alone


def test_summary_is_json(left_hx: Case, right_antalgic: Case) -> None:
    from .test_hyperextension import _run

    res = _run(left_hx)
    legs = {s: summarize_leg(res, side=s) for s in Side}
    rep = analyse_asymmetry(right_antalgic.table, locations=LEGS_4)
    summary = build_summary(hyperextension=legs, asymmetry=rep)
    text = json.dumps(summary, allow_nan=False)
    back = json.loads(text)
    hx = back["hyperextension"]
    assert hx["flagged_sides"] == ["left"]
    assert hx["left"]["severity"] == "mild"
    assert hx["left"]["median_ci95_deg"][0] < hx["left"]["median_knee_min_stance_deg"]
    asym = back["asymmetry"]
    assert asym["verdict"]["offloaded_side"] == "right"
    assert asym["configuration"]["name"] == "shank+thigh"
    assert set(asym["verdict"]["flagged_metrics"]) == {"impact_peak", "lr_knee_flexion"}
    assert "loading_rate" not in asym["metrics"]  # reported per stride, not a verdict metric
    assert math.isclose(asym["metrics"]["stance"]["si_pct"], rep.metrics[0].si_pct)
