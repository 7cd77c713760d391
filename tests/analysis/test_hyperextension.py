"""Per-stride hyperextension rule, per-leg flag and the streaming check (biomechanics.md §1.4)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from imugait.analysis import (
    HYPEREXT_COLUMNS,
    HyperextensionCheck,
    StrideHyperextension,
    add_hyperextension_columns,
    severity_band,
    stride_hyperextension,
    summarize_leg,
)
from imugait.gait.bouts import stride_table
from imugait.gait.strides import Stride
from imugait.kinematics.estimator import KneeBlock
from imugait.types import Location, Segment, Side
from imugait.units import DEG_PER_RAD, RAD_PER_DEG

from .conftest import Case, make_case

F64 = NDArray[np.float64]
FS = 100.0


def _trapezoid(t: F64, depth_deg: float, t1: float, t2: float, ramp_s: float) -> F64:
    """10° baseline dipping linearly to -depth on [t1, t2] with ramps of ramp_s."""
    down = np.clip((t - (t1 - ramp_s)) / ramp_s, 0.0, 1.0)
    up = np.clip(((t2 + ramp_s) - t) / ramp_s, 0.0, 1.0)
    w = np.minimum(down, up)
    return np.asarray((1 - w) * 10.0 + w * -depth_deg, dtype=np.float64)


def _one(t: F64, k_deg: F64, *, calibrated: bool = True) -> StrideHyperextension:
    return stride_hyperextension(
        t, k_deg * RAD_PER_DEG, side=Side.LEFT, ic_t_s=0.0, fc_t_s=0.6, end_t_s=1.0,
        calibrated=calibrated,
    )  # fmt: skip


def test_plateau_metrics_are_exact() -> None:
    t = np.arange(-0.5, 1.5, 1 / FS)
    r = _one(t, _trapezoid(t, 8.0, 0.25, 0.40, 0.05))
    assert r.valid
    assert r.positive
    assert r.grade == "definite"
    assert r.knee_min_rad * DEG_PER_RAD == pytest.approx(-8.0, abs=1e-9)
    # 10 -> -8 over 50 ms: -5 is reached 41.67 ms into the ramp, -4 at 38.89 ms into the rise.
    onset = 0.20 + 0.05 * 15 / 18
    offset = 0.40 + 0.05 * 4 / 18
    assert r.onset_t_s == pytest.approx(onset, abs=1e-9)
    assert r.offset_t_s == pytest.approx(offset, abs=1e-9)
    assert r.below_s == pytest.approx(offset - onset, abs=1e-9)
    # Uncalibrated zero: at most "possible".
    assert _one(t, _trapezoid(t, 8.0, 0.25, 0.40, 0.05), calibrated=False).grade == "possible"
    # Shallow (-6°): positive but only "possible" (within the 2° margin).
    assert _one(t, _trapezoid(t, 6.0, 0.25, 0.40, 0.05)).grade == "possible"


def test_short_dips_and_window() -> None:
    t = np.arange(-0.5, 1.5, 1 / FS)
    short = _one(t, _trapezoid(t, 8.0, 0.30, 0.31, 0.01))
    assert short.knee_min_rad < -5 * RAD_PER_DEG
    assert short.below_s < 0.04
    assert not short.positive
    assert short.grade == "none"
    # A dip entirely after 55 % GC (0.55 s) is outside the window.
    late = _one(t, _trapezoid(t, 12.0, 0.58, 0.59, 0.01))
    assert late.valid
    assert not late.positive
    assert late.knee_min_rad > 0


def test_hysteresis_keeps_one_episode() -> None:
    t = np.arange(-0.5, 1.5, 1 / FS)
    k = np.full_like(t, 10.0)
    m = (t >= 0.2) & (t <= 0.4)
    k[m] = np.where(np.arange(int(m.sum())) % 2 == 0, -5.5, -4.5)  # chatter around -T
    r = _one(t, k)
    assert r.positive
    assert r.below_s == pytest.approx(r.offset_t_s - r.onset_t_s)
    assert r.below_s > 0.15


def test_invalid_on_gap_or_nan() -> None:
    t = np.arange(-0.5, 1.5, 1 / FS)
    k = _trapezoid(t, 8.0, 0.25, 0.40, 0.05)
    k_nan = k.copy()
    k_nan[80] = np.nan  # t = 0.3 s, inside the window
    assert not _one(t, k_nan).valid
    keep = (t < 0.3) | (t > 0.4)
    r = _one(t[keep], k[keep])
    assert not r.valid
    assert math.isnan(r.knee_min_rad)
    assert r.grade == "none"


def _run(case: Case, *, calibrated: bool = True) -> list[StrideHyperextension]:
    chk = HyperextensionCheck()
    out: list[StrideHyperextension] = []
    for kb in case.knee.values():
        out += chk.push(KneeBlock(kb.side, kb.t_s, kb.knee_flexion_rad, calibrated, calibrated))
    for s in case.strides:
        out += chk.push(s)
    return out + chk.flush()


def test_left_hyperextension_matches_truth(left_hx: Case) -> None:
    res = _run(left_hx)
    for side in Side:
        tab = left_hx.sim.truth.stride_table(side)
        r = sorted((x for x in res if x.side is side), key=lambda x: x.ic_t_s)
        assert len(r) == len(tab["ic_t_s"])
        assert all(x.valid for x in r)
        kmin = np.array([x.knee_min_rad for x in r]) * DEG_PER_RAD
        assert np.max(np.abs(kmin - tab["knee_min_midstance_deg"])) < 0.05
        pos = np.array([x.positive for x in r])
        assert np.array_equal(pos, tab["hyperext_label"] > 0)
        below = np.array([x.below_s for x in r]) * 1e3
        # hysteresis (exit at -4°) adds a few ms to the truth's time below -5°
        d = below[pos] - tab["hyperext_below5_ms"][pos]
        assert np.all((d >= 0) & (d < 10))
    legs = {s: summarize_leg(res, side=s) for s in Side}
    true_med = float(np.median(left_hx.sim.truth.stride_table(Side.LEFT)["knee_min_midstance_deg"]))
    left = legs[Side.LEFT]
    assert left.status == "flagged"
    assert left.grade == "definite"
    assert left.severity == severity_band(true_med) == "mild"  # median -9.8° (hx 10 ± 1.5°, 90 %)
    assert left.ci_low_deg <= true_med <= left.ci_high_deg
    assert left.frac_positive == pytest.approx(0.908, abs=0.01)
    assert legs[Side.RIGHT].status == "not_flagged"
    assert legs[Side.RIGHT].grade == "none"


def test_healthy_has_no_hyperextension(healthy: Case) -> None:
    res = _run(healthy)
    assert not any(r.positive for r in res)
    for side in Side:
        leg = summarize_leg(res, side=side)
        assert leg.status == "not_flagged"
        assert leg.severity == "none"
        assert leg.median_min_deg > 5.0  # normative stance minimum ≈ 7° (§1.2)


def test_moderate_band_and_uncalibrated_cap() -> None:
    case = make_case("left_hyperextension", hx_deg=13.0, duration_s=50.0)
    res = _run(case, calibrated=False)
    leg = summarize_leg(res, side=Side.LEFT)
    true_med = float(np.median(case.sim.truth.stride_table(Side.LEFT)["knee_min_midstance_deg"]))
    assert leg.n_valid >= 20
    assert leg.status == "flagged"
    assert leg.severity == severity_band(true_med) == "moderate"
    assert leg.grade == "possible"
    assert "not calibrated" in leg.note
    assert all(r.grade != "definite" for r in res)


def test_insufficient_data_below_min_strides(left_hx: Case) -> None:
    res = [r for r in _run(left_hx) if r.side is Side.LEFT]
    few = summarize_leg(res[:19], side=Side.LEFT)
    assert few.status == "insufficient_data"
    assert few.grade == "none"
    assert not few.flagged
    assert "insufficient data" in few.note
    assert summarize_leg(res[:20], side=Side.LEFT).status == "flagged"


def test_bootstrap_is_deterministic(left_hx: Case) -> None:
    res = _run(left_hx)
    a = summarize_leg(res, side=Side.LEFT, seed=7)
    b = summarize_leg(res, side=Side.LEFT, seed=7)
    c = summarize_leg(res, side=Side.LEFT, seed=8)
    assert (a.ci_low_deg, a.ci_high_deg) == (b.ci_low_deg, b.ci_high_deg)
    assert (a.ci_low_deg, a.ci_high_deg) != (c.ci_low_deg, c.ci_high_deg)


def _key(r: StrideHyperextension) -> tuple[object, ...]:
    return tuple(None if isinstance(v, float) and math.isnan(v) else v for v in (
        r.side, r.ic_t_s, r.valid, r.knee_min_rad, r.below_s, r.onset_t_s, r.offset_t_s,
        r.positive, r.grade, r.calibrated,
    ))  # fmt: skip


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_streaming_is_chunk_invariant(left_hx: Case, data: st.DataObject) -> None:
    t_end = 30.0
    knee = dict(left_hx.knee.items())
    strides = [s for s in left_hx.strides if s.end_t_s < t_end]
    whole = HyperextensionCheck()
    ref: list[StrideHyperextension] = []
    for s in strides:
        ref += whole.push(s)
    for side, kb in knee.items():
        m = kb.t_s < t_end
        ref += whole.push(KneeBlock(side, kb.t_s[m], kb.knee_flexion_rad[m], True, True))
    ref += whole.flush()
    # Random chunking of both knee streams, strides of each leg in time order, all interleaved.
    items: list[list[Stride | KneeBlock]] = []
    for side, kb in knee.items():
        n = int(np.sum(kb.t_s < t_end))
        cuts = sorted(set(data.draw(st.lists(st.integers(1, n - 1), max_size=12))))
        edges = [0, *cuts, n]
        blocks: list[Stride | KneeBlock] = [
            KneeBlock(side, kb.t_s[a:b], kb.knee_flexion_rad[a:b], True, True)
            for a, b in zip(edges[:-1], edges[1:], strict=True)
        ]
        items.append(blocks)
        items.append([s for s in strides if s.side is side])
    queues = [list(q) for q in items]
    chk = HyperextensionCheck()
    got: list[StrideHyperextension] = []
    while any(queues):
        live = [q for q in queues if q]
        q = live[data.draw(st.integers(0, len(live) - 1))]
        got += chk.push(q.pop(0))
    got += chk.flush()
    assert sorted(map(_key, got), key=str) == sorted(map(_key, ref), key=str)
    assert len(got) == len(strides)


def test_result_is_emitted_once_knee_covers_fc(left_hx: Case) -> None:
    s = left_hx.strides[5]
    kb = left_hx.knee[s.side]
    chk = HyperextensionCheck()
    assert chk.push(s) == []
    i = int(np.searchsorted(kb.t_s, s.fc_t_s))  # first sample at/after FC
    assert chk.push(KneeBlock(s.side, kb.t_s[:i], kb.knee_flexion_rad[:i], True, True)) == []
    out = chk.push(KneeBlock(s.side, kb.t_s[i : i + 1], kb.knee_flexion_rad[i : i + 1], True, True))
    assert len(out) == 1
    assert out[0].valid
    assert out[0].ic_t_s == s.ic_t_s


def test_late_stride_is_refused(left_hx: Case) -> None:
    side = Side.LEFT
    kb = left_hx.knee[side]
    own = [s for s in left_hx.strides if s.side is side]
    chk = HyperextensionCheck()
    chk.push(kb)
    chk.push(own[10])
    with pytest.raises(ValueError, match="time order"):
        chk.push(own[3])


def test_table_columns(left_hx: Case) -> None:
    res = _run(left_hx)
    table = add_hyperextension_columns(stride_table(left_hx.strides), res)
    assert set(HYPEREXT_COLUMNS) <= set(table.columns)
    left = table[table["side"] == "left"]
    assert left["hyperextension"].dtype == bool
    assert left["hyperextension"].mean() > 0.85
    assert set(left["hyperext_grade"]) <= {"none", "possible", "definite"}
    pos = left[left["hyperextension"]]
    assert (pos["knee_min_stance_deg"] < -5).all()
    assert (pos["hyperext_ms"] >= 40).all()
    assert (pos["hyperext_onset_t_s"] > pos["ic_t_s"]).all()
    assert (pos["hyperext_offset_t_s"] < pos["fc_t_s"]).all()
    assert not table[table["side"] == "right"]["hyperextension"].any()


def test_stride_like_location_unused() -> None:
    # Strides of any location type are accepted (the check reads only side and event times).
    s = Stride(Side.RIGHT, 0.0, 0.6, 1.0, 0, Location.of(Side.RIGHT, Segment.FOOT), 0.8, 1.0)
    t = np.arange(-0.5, 1.5, 1 / FS)
    k = _trapezoid(t, 8.0, 0.25, 0.40, 0.05) * RAD_PER_DEG
    out = HyperextensionCheck().push(s) + HyperextensionCheck().push(
        KneeBlock(Side.RIGHT, t, k, True, True)
    )
    assert out == []
    chk = HyperextensionCheck()
    res = chk.push(s) + chk.push(KneeBlock(Side.RIGHT, t, k, True, True))
    assert len(res) == 1
    assert res[0].positive


def test_bounded_buffer_live_order(left_hx: Case) -> None:
    """Live order (each stride pushed once the knee passed its end) with a bounded buffer."""
    ref = _run(left_hx)
    chk = HyperextensionCheck(max_buffer_s=5.0)
    got: list[StrideHyperextension] = []
    for side, kb in left_hx.knee.items():
        own = [s for s in left_hx.strides if s.side is side]
        j = 0
        for a in range(0, kb.n, 37):
            got += chk.push(
                KneeBlock(side, kb.t_s[a : a + 37], kb.knee_flexion_rad[a : a + 37], True, True)
            )
            while j < len(own) and own[j].end_t_s + 1.0 <= kb.t_s[min(a + 36, kb.n - 1)]:
                got += chk.push(own[j])
                j += 1
        for s in own[j:]:
            got += chk.push(s)
    got += chk.flush()
    assert sorted(map(_key, got), key=str) == sorted(map(_key, ref), key=str)
    assert max(len(st_.t) for st_ in chk._state.values()) <= 5.0 * FS + 2


def _fake(minima_deg: list[float]) -> list[StrideHyperextension]:
    """Per-stride results with the given stance minima (positive below -5 deg, 100 ms below)."""
    out = []
    for i, m in enumerate(minima_deg):
        pos = m < -5.0
        out.append(
            StrideHyperextension(
                side=Side.LEFT, ic_t_s=float(i), fc_t_s=i + 0.6, end_t_s=i + 1.0, valid=True,
                knee_min_rad=m * RAD_PER_DEG, below_s=0.1 if pos else 0.0,
                below_frac=0.2 if pos else 0.0, onset_t_s=math.nan, offset_t_s=math.nan,
                positive=pos, grade="definite" if m < -7 else ("possible" if pos else "none"),
                calibrated=True, zero_reliable=True,
            )
        )  # fmt: skip
    return out


def test_intermittent_pattern_is_flagged_possible() -> None:
    """30 % of strides at -11 deg, the rest healthy: flagged, intermittent, never definite."""
    res = _fake([-11.0] * 12 + [7.0] * 28)
    leg = summarize_leg(res, side=Side.LEFT)
    assert leg.status == "flagged"
    assert leg.pattern == "intermittent"
    assert leg.grade == "possible"
    assert leg.severity == "moderate"  # the positive strides' median (-11 deg)
    assert leg.median_positive_min_deg == pytest.approx(-11.0)
    assert leg.median_min_deg == pytest.approx(7.0)
    assert leg.frac_ci_low < 0.30 < leg.frac_ci_high
    assert "intermittent" in leg.note
    # below 30 % positive: not flagged
    low = summarize_leg(_fake([-11.0] * 11 + [7.0] * 29), side=Side.LEFT)
    assert low.status == "not_flagged"
    assert low.pattern == "none"


def test_consistent_pattern_keeps_the_median_rule() -> None:
    leg = summarize_leg(_fake([-9.0] * 30 + [3.0] * 10), side=Side.LEFT)
    assert leg.pattern == "consistent"
    assert leg.grade == "definite"
    assert leg.severity == "mild"


def test_verdict_text_names_the_threshold_in_use() -> None:
    """The plain-words verdict quotes the threshold the strides were judged against."""
    from imugait.analysis import HyperextensionParams
    from imugait.analyze import SessionAnalysis
    from imugait.commands.analyze import verdict_lines

    res = _fake([-11.0] * 12 + [7.0] * 28)
    leg = summarize_leg(res, side=Side.LEFT, params=HyperextensionParams(threshold_deg=8.0))
    assert leg.threshold_deg == 8.0
    assert summarize_leg(res, side=Side.LEFT).threshold_deg == 5.0
    sa = SessionAnalysis(
        source="x", kind="recording", sensors=[], strides=pd.DataFrame(), knee=pd.DataFrame()
    )
    sa.hyperextension = {Side.LEFT: leg}
    (line,) = verdict_lines(sa)
    assert "below -8 deg" in line
    assert "-5 deg" not in line


def test_wilson_interval() -> None:
    from imugait.analysis.hyperextension import wilson_interval

    lo, hi = wilson_interval(12, 40)
    assert lo == pytest.approx(0.1806, abs=1e-3)  # standard Wilson score interval for 12/40
    assert hi == pytest.approx(0.4539, abs=1e-3)
    assert wilson_interval(0, 10)[0] == 0.0
    assert all(math.isnan(x) for x in wilson_interval(0, 0))


def test_block_flags_reach_each_stride_as_all_of_its_samples(left_hx: Case) -> None:
    """A stride is calibrated / zero-reliable when every knee sample it is judged on is."""
    side = Side.LEFT
    kb = left_hx.knee[side]
    strides = [s for s in left_hx.strides if s.side is side and s.end_t_s < 40.0]
    n = int(np.sum(kb.t_s < 40.0))
    rng = np.random.default_rng(5)
    edges = [0, *sorted(set(rng.integers(1, n - 1, 60).tolist())), n]
    cal = np.empty(n, dtype=bool)
    rel = np.empty(n, dtype=bool)
    chk = HyperextensionCheck()
    got: list[StrideHyperextension] = []
    pending = list(strides)
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        c, r = bool(rng.random() < 0.7), bool(rng.random() < 0.7)
        cal[a:b], rel[a:b] = c, r
        got += chk.push(KneeBlock(side, kb.t_s[a:b], kb.knee_flexion_rad[a:b], c, r))
        while pending and pending[0].fc_t_s < kb.t_s[b - 1]:
            got += chk.push(pending.pop(0))
    for s in pending:
        got += chk.push(s)
    got += chk.flush()
    assert len(got) == len(strides)
    t = kb.t_s[:n]
    for res in got:
        i = max(int(np.searchsorted(t, res.ic_t_s, side="right")) - 1, 0)
        j = int(np.searchsorted(t, res.fc_t_s, side="left")) + 1
        assert res.calibrated == bool(np.all(cal[i:j]))
        assert res.zero_reliable == bool(np.all(rel[i:j]))
    assert len({(r.calibrated, r.zero_reliable) for r in got}) > 1


def test_nearest_result_by_bisection_is_argmin() -> None:
    from imugait.analysis.hyperext_check import _nearest

    rng = np.random.default_rng(0)
    for n in (0, 1, 5, 8, 50, 400):
        c = np.cumsum(rng.random(n) + 0.01)
        mids = (c[1:] + c[:-1]) / 2 if n > 1 else np.empty(0)
        for x in np.concatenate([c, c + 1e-4, c - 0.5, [-5.0, 1e6], mids]):
            want = int(np.argmin(np.abs(c - x))) if n else -1
            assert _nearest(c, float(x)) == want
    unsorted = np.array([3.0, 1.0, 2.0, 2.0, 5.0, 4.0, 0.0, 9.0, 8.0])
    assert _nearest(unsorted, 2.0) == 2
