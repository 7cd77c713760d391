"""Streaming stance-end (swing-onset) detector: accuracy vs simulator truth, robustness, chunking."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from imugait.gait.stance_end import StanceEnd, StanceEndDetector, first_rise
from imugait.gait.strides import Stride, StrideDetector
from imugait.sim import PRESETS, simulate
from imugait.types import Location, SampleBlock, Side

F64 = NDArray[np.float64]


def _run(block: SampleBlock, **kw: object) -> list[StanceEnd]:
    det = StanceEndDetector(**kw)  # type: ignore[arg-type]
    return [*det.push(block), *det.flush()]


def _final(events: list[StanceEnd]) -> list[StanceEnd]:
    """The last stance end of each stance (a later one of the same IC supersedes)."""
    out: dict[float, StanceEnd] = {}
    for e in events:
        out[e.ic_t_s] = e
    return list(out.values())


@cache
def _sim(preset: str, speed: float, mounting: float, fs: float) -> tuple[object, ...]:
    sc = PRESETS[preset].with_(
        duration_s=40.0, seed=11, speed_m_s=speed, mounting_error_deg=mounting, fs_hz=fs
    )
    sim = simulate(sc)
    out: list[tuple[Side, list[StanceEnd], list[Stride], F64]] = []
    for loc in (Location.LEFT_SHANK, Location.RIGHT_SHANK):
        b = sim.sensor(loc).block()
        sd = StrideDetector()
        strides = [*sd.push(b), *sd.flush()]
        out.append((loc.side, _run(b), strides, sim.truth.fc_t_s(loc.side)))
    return tuple(out)


@pytest.mark.parametrize(
    ("speed", "mounting", "fs", "bias_ms", "delay_ms"),
    [
        (1.0, 10.0, 100.0, 20.0, 100.0),
        (1.3, 10.0, 100.0, 20.0, 100.0),
        (1.3, 30.0, 200.0, 20.0, 100.0),
        (1.8, 10.0, 200.0, 20.0, 100.0),
        # The simulator's slow gait time-scales the 1.3 m/s curves: its shank-rate minimum
        # lags the true FC by ~45 ms (the stride detector's FC shows the same bias, README).
        (0.6, 10.0, 100.0, 60.0, 150.0),
    ],
)
def test_fc_error_and_delay_vs_truth(
    speed: float, mounting: float, fs: float, bias_ms: float, delay_ms: float
) -> None:
    for side, events, strides, true_fc in _sim("healthy", speed, mounting, fs):  # type: ignore[misc]
        final = _final(events)
        assert len(final) >= len(strides) >= 12, side
        near = np.array([true_fc[np.argmin(np.abs(true_fc - e.fc_t_s))] for e in final])
        err_ms = 1e3 * (np.array([e.fc_t_s for e in final]) - near)
        assert np.all(np.abs(err_ms) < 100), side  # every final stance end is a true FC
        assert abs(float(np.median(err_ms))) < bias_ms, side
        assert float(np.std(err_ms[1:])) < 10.0, side
        # Decided (last sample needed) soon after the true stance end.
        delay = 1e3 * (np.array([e.decided_t_s for e in final]) - near)
        assert float(np.percentile(delay, 95)) < delay_ms, side
        assert np.all(delay > 0)
        # Every stride has the stance end of its IC (same rule: same IC) with a matching FC.
        by_ic = {e.ic_t_s: e for e in final}
        for s in strides:
            e = min(by_ic.values(), key=lambda e: abs(e.ic_t_s - s.ic_t_s))
            assert abs(e.ic_t_s - s.ic_t_s) < 1e-6
            assert abs(e.fc_t_s - s.fc_t_s) < 0.05
            assert e.ic_t_s < e.fc_t_s < e.end_t_s


@pytest.mark.parametrize("preset", ["left_hyperextension", "left_paretic_recurvatum"])
def test_pathological_stance_is_ended_at_the_last_onset(preset: str) -> None:
    """Recurvatum stances have a fast rebound of the shank rate in late stance (the knee leaving
    its lock); a first stance end there is superseded by the one at the true swing onset."""
    for side, events, strides, true_fc in _sim(preset, 1.3, 10.0, 200.0):  # type: ignore[misc]
        final = {e.ic_t_s: e for e in _final(events)}
        ok = 0
        for s in strides:
            e = final.get(min(final, key=lambda ic: abs(ic - s.ic_t_s)))
            assert e is not None
            if abs(e.ic_t_s - s.ic_t_s) < 1e-6 and abs(e.fc_t_s - s.fc_t_s) < 0.05:
                ok += 1
                near = true_fc[np.argmin(np.abs(true_fc - e.fc_t_s))]
                assert abs(e.fc_t_s - near) < 0.06
        # the first stride of a bout may be missed (an early-stance snap-back before its cycle
        # time is known); the stride then gets its own evaluation (hyperext_check)
        assert ok >= len(strides) - 1, side


def _still_and_turning(fs: float = 100.0) -> SampleBlock:
    rng = np.random.default_rng(0)
    n = int(60 * fs)
    t = np.arange(n) / fs
    gyr = 0.01 * rng.standard_normal((n, 3)) + 0.005
    turning = (np.mod(t, 10.0) < 2.0) & (t > 5)
    gyr[:, 1] += turning * 2.5 * np.sin(np.pi * np.mod(t, 10.0) / 2.0)
    gyr[:, 2] += turning * 0.4 * np.sin(2 * np.pi * 1.5 * t)
    acc = np.tile([0.0, 9.81, 0.0], (n, 1)) + 0.05 * rng.standard_normal((n, 3))
    rot = Rotation.random(random_state=3).as_matrix()
    return SampleBlock("s", Location.RIGHT_SHANK, t, acc @ rot, gyr @ rot, fs)


def test_standing_and_turning_give_no_stance_ends() -> None:
    block = _still_and_turning()
    assert _run(block) == []
    # ... also with the sagittal axis given (no walking needed to decide it)
    assert _run(block, axis=np.array([0.0, 0.0, 1.0])) == []


def test_standing_pause_gives_no_stance_ends() -> None:
    sim = simulate(PRESETS["healthy"].with_(duration_s=40.0, seed=2, pauses=((15.0, 8.0),)))
    b = sim.sensor(Location.LEFT_SHANK).block()
    events = _final(_run(b))
    assert events
    for e in events:
        assert not (15.5 < e.fc_t_s < 22.5)
    true_fc = sim.truth.fc_t_s(Side.LEFT)
    assert all(np.min(np.abs(true_fc - e.fc_t_s)) < 0.05 for e in events)


def _with_gap(block: SampleBlock, t0: float, t1: float) -> SampleBlock:
    keep = (block.t_s < t0) | (block.t_s >= t1)
    return SampleBlock(
        block.sensor,
        block.location,
        block.t_s[keep],
        block.acc_m_s2[keep],
        block.gyr_rad_s[keep],
        block.fs_hz,
    )


@cache
def _gap_block() -> SampleBlock:
    sim = simulate(PRESETS["healthy"].with_(duration_s=30.0, seed=4, fs_hz=100.0))
    return _with_gap(sim.sensor(Location.RIGHT_SHANK).block(), 17.0, 17.3)


def test_gap_resets_the_detector() -> None:
    events = _run(_gap_block())
    assert events
    # no stance spans the gap, and the first stance after it has no previous cycle
    assert not any(e.ic_t_s < 17.0 and e.fc_t_s > 17.3 for e in events)
    after = [e for e in events if e.ic_t_s > 17.3]
    assert after
    assert not after[0].cycle_from_prev
    assert after[0].cycle_s == pytest.approx(after[0].stance_s / 0.6)
    assert all(e.cycle_from_prev for e in after[1:4])


@settings(max_examples=20, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=2999), max_size=80, unique=True))
def test_any_chunking_gives_the_same_stance_ends(cuts: list[int]) -> None:
    block = _gap_block()
    whole = _run(block)
    det = StanceEndDetector()
    got: list[StanceEnd] = []
    edges = [0, *sorted(c for c in cuts if c < block.n), block.n]
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        got += det.push(block.slice(a, b))
    got += det.flush()
    assert got == whole


def test_one_sample_at_a_time_equals_whole() -> None:
    block = _gap_block()
    det = StanceEndDetector()
    got: list[StanceEnd] = []
    for i in range(block.n):
        got += det.push(block.slice(i, i + 1))
    got += det.flush()
    assert got == _run(block)
    assert det.decided_t_s == block.t_s[-1]


def test_first_rise_needs_a_fast_rise_from_a_low_minimum() -> None:
    y = np.array([-1.0, -2.0, -3.0, -2.9, -2.0, -1.0, 0.5, 2.0])
    assert first_rise(y, 0, len(y), window=3, rise=1.5, below=-0.3) == (5, 2)
    assert first_rise(y, 0, len(y), window=3, rise=1.5, below=-3.5) is None  # min not low enough
    assert first_rise(y, 0, len(y), window=1, rise=1.5, below=-0.3) == (6, 5)  # slow rise
    assert first_rise(y, 0, 5, window=3, rise=1.5, below=-0.3) is None


def test_input_validation() -> None:
    with pytest.raises(ValueError, match="shank"):
        StanceEndDetector().push(
            SampleBlock(
                "t",
                Location.LEFT_THIGH,
                np.arange(3) / 100,
                np.zeros((3, 3)),
                np.zeros((3, 3)),
                100,
            )
        )
    with pytest.raises(ValueError, match="axis"):
        StanceEndDetector(axis=np.zeros(3))
    with pytest.raises(ValueError, match="stance_pct"):
        StanceEndDetector(min_stance_pct=90.0, max_stance_pct=80.0)
