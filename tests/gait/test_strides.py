"""Streaming stride detector and bilateral stride table."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from imugait.errors import InputDataError
from imugait.gait.bouts import STRIDE_COLUMNS, stride_table
from imugait.gait.scoring import score_events
from imugait.gait.strides import Stride, StrideDetector, StrideFlag
from imugait.types import Location, SampleBlock

F64 = NDArray[np.float64]
DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
FS = 100.0
STANCE = 0.6


def _omega_shank(p: F64) -> F64:
    """Swing-positive shank sagittal rate over the gait cycle (IC at p=0; FC dip before p=STANCE)."""
    s = STANCE
    sw = np.where(p >= s, 5.0 * np.sin(np.pi * (p - s) / (1 - s)), 0.0)
    st_ = np.where(p < s, -1.0 * np.sin(np.pi * p / s), 0.0)
    dips = -2.0 * np.exp(-(((p - (s - 0.04)) / 0.02) ** 2)) - 1.5 * np.exp(
        -(((p - 0.03) / 0.015) ** 2)
    )
    return np.asarray(sw + st_ + dips)


def _omega_foot(p: F64) -> F64:
    """Foot: slap (p<0.1), flat rest, push-off lobe larger than the swing lobe, swing from p=STANCE."""
    s = STANCE
    slap = np.where(p < 0.1, -3.0 * np.sin(np.pi * p / 0.1), 0.0)
    push = np.where((p >= 0.35) & (p < s), -8.0 * np.sin(np.pi * (p - 0.35) / (s - 0.35)), 0.0)
    swing = np.where(p >= s, 6.0 * np.sin(np.pi * (p - s) / (1 - s)), 0.0)
    return np.asarray(slap + push + swing)


def synth(
    *,
    location: Location = Location.LEFT_SHANK,
    walk_s: float = 30.0,
    still_s: float = 2.0,
    stride_s: float = 1.1,
    phase0: float = 0.0,
    seed: int = 0,
    rotation: F64 | None = None,
    noise_rad_s: float = 0.01,
) -> tuple[SampleBlock, F64, F64]:
    """Synthetic sensor block (still, walk, still) with the true IC and FC times."""
    rng = np.random.default_rng(seed)
    fine = 2000.0
    tf = np.arange(0, walk_s + 2 * still_s, 1 / fine)
    walking = (tf >= still_s) & (tf < still_s + walk_s)
    period = stride_s * (1 + 0.02 * np.sin(2 * np.pi * tf / 7.0))
    phase = phase0 + np.cumsum(walking / period) / fine
    # Stop walking at an IC (where the rate is ~0), not abruptly mid-swing.
    walking &= phase < np.ceil(phase[int((still_s + walk_s) * fine) - 1])
    phase = phase0 + np.cumsum(walking / period) / fine
    p = np.mod(phase, 1.0)
    foot = location.segment.value == "foot"
    ml = (_omega_foot(p) if foot else _omega_shank(p)) * walking
    ap = 0.4 * np.sin(2 * np.pi * phase + 1.0) * walking
    yaw = 0.3 * np.sin(2 * np.pi * phase) * walking
    w_seg = np.stack(
        [ap, yaw, ml], axis=1
    )  # segment frame: x anterior, y proximal, z medio-lateral
    f_seg = np.stack(
        [
            2 * np.sin(2 * np.pi * phase) * walking,
            9.81 + 1.5 * np.cos(2 * np.pi * phase) * walking,
            0 * tf,
        ],
        axis=1,
    )
    ic = tf[1:][(np.floor(phase[1:]) > np.floor(phase[:-1])) & walking[1:]]
    ic = np.append(ic, tf[np.flatnonzero(walking)[-1] + 1])  # the walk ends with an IC
    # FC truth: the shank's FC dip minimum / the foot's upward zero crossing at p = STANCE.
    pc = np.floor(phase) + STANCE
    fc = tf[1:][(phase[1:] >= pc[1:]) & (phase[:-1] < pc[1:]) & walking[1:]]
    if not foot:
        grid = np.linspace(STANCE - 0.1, STANCE, 20001)
        p_fc = grid[np.argmin(_omega_shank(grid))]
        fc = fc - (STANCE - p_fc) * stride_s  # approximate (period varies by 2 %)
    step = round(fine / FS)
    t = tf[::step]
    r = np.eye(3) if rotation is None else rotation
    gyr = w_seg[::step] @ r + noise_rad_s * rng.standard_normal((len(t), 3))
    acc = f_seg[::step] @ r + 0.05 * rng.standard_normal((len(t), 3))
    block = SampleBlock(
        sensor=location.value, location=location, t_s=t, acc_m_s2=acc, gyr_rad_s=gyr, fs_hz=FS
    )
    return block, ic, fc


def run(block: SampleBlock, **kw: object) -> tuple[list[Stride], StrideDetector]:
    det = StrideDetector(**kw)  # type: ignore[arg-type]
    return [*det.push(block), *det.flush()], det


def events(strides: list[Stride]) -> tuple[F64, F64]:
    ic = np.unique([t for s in strides for t in (s.ic_t_s, s.end_t_s)])
    return ic, np.array([s.fc_t_s for s in strides])


@pytest.mark.parametrize(
    "location", [Location.LEFT_SHANK, Location.RIGHT_SHANK, Location.LEFT_FOOT, Location.RIGHT_FOOT]
)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_synthetic_any_mounting_both_legs(location: Location, seed: int) -> None:
    rot = Rotation.random(random_state=seed).as_matrix()
    block, ic_true, fc_true = synth(location=location, seed=seed, rotation=rot, phase0=0.3 * seed)
    strides, det = run(block)
    assert det.axis is not None
    # The signed axis is the segment's medio-lateral axis (third row of the rotation).
    assert float(det.axis @ rot[2]) > 0.99
    ic, fc = events(strides)
    s_ic, s_fc = score_events(ic_true, ic), score_events(fc_true, fc)
    assert s_ic.precision == 1.0
    assert s_ic.sensitivity >= 0.9  # the first/last IC of the bout may not close a stride
    assert abs(s_ic.bias_s) < 0.005
    assert s_ic.sd_s < 0.005
    assert s_fc.precision == 1.0
    assert abs(s_fc.bias_s) < 0.015
    assert all(s.side is location.side and s.location is location for s in strides)
    assert {s.bout_id for s in strides} == {0}
    assert strides[0].flags == frozenset({StrideFlag.BOUT_START})
    stance = np.array([100 * s.stance_s / s.stride_s for s in strides])
    assert np.all((stance[:-1] > 54) & (stance[:-1] < 62))  # the last one ends at the stop
    if location.segment.value == "foot":
        assert all(
            s.min_vel_t_s is not None and s.ic_t_s < s.min_vel_t_s < s.fc_t_s for s in strides
        )


def _gaitmap_left_foot() -> SampleBlock | None:
    f = DATA / "gaitmap_example" / "imu_sample.csv"
    if not f.is_file():
        return None
    s = pd.read_csv(f, header=[0, 1], index_col=0)["left_sensor"]
    return SampleBlock(
        sensor="lf",
        location=Location.LEFT_FOOT,
        t_s=np.arange(len(s)) / 204.8,
        acc_m_s2=s[["acc_x", "acc_y", "acc_z"]].to_numpy(),
        gyr_rad_s=np.radians(s[["gyr_x", "gyr_y", "gyr_z"]].to_numpy()),
        fs_hz=204.8,
        first_seq=17,
    )


_REAL = _gaitmap_left_foot()
_CHUNK_BLOCK = _REAL if _REAL is not None else synth(seed=5)[0]
_WHOLE = run(_CHUNK_BLOCK)


@settings(max_examples=12, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=_CHUNK_BLOCK.n - 1), max_size=40, unique=True))
def test_chunk_invariance(cuts: list[int]) -> None:
    det = StrideDetector()
    parts = [s for b in _CHUNK_BLOCK.split(sorted(cuts)) for s in det.push(b)] + det.flush()
    assert parts == _WHOLE[0]
    assert det.rejected == _WHOLE[1].rejected


def test_latency_bounded() -> None:
    block, _, _ = synth(seed=4)
    det = StrideDetector(axis_moving_s=4.0)
    lags = []
    t_axis = math.inf
    for b in block.split(list(range(5, block.n, 5))):
        for s in det.push(b):
            lags.append((s.end_t_s, b.t_s[-1] - s.end_t_s))
        if det.axis is not None:
            t_axis = min(t_axis, b.t_s[-1])
    # Strides closed before the axis is decided (4 s of movement) come out at the decision;
    # every later one within 1 s of its closing IC.
    assert 2.0 + 4.0 <= t_axis < 2.0 + 4.0 + 0.3
    late = [lag for end, lag in lags if end > t_axis]
    assert len(late) >= 20
    assert max(late) <= 1.0
    assert max(lag for _, lag in lags) < 4.0 + 1.0


def test_standing_still_and_turning_make_no_strides() -> None:
    rng = np.random.default_rng(0)
    n = int(60 * FS)
    t = np.arange(n) / FS
    gyr = 0.01 * rng.standard_normal((n, 3)) + 0.005
    # Turning on the spot: pivots about the long (vertical) axis with a small sagittal wobble.
    turning = (np.mod(t, 10.0) < 2.0) & (t > 5)
    gyr[:, 1] += turning * 2.5 * np.sin(np.pi * np.mod(t, 10.0) / 2.0)
    gyr[:, 2] += turning * 0.4 * np.sin(2 * np.pi * 1.5 * t)
    acc = np.tile([0.0, 9.81, 0.0], (n, 1)) + 0.05 * rng.standard_normal((n, 3))
    rot = Rotation.random(random_state=3).as_matrix()
    block = SampleBlock(
        sensor="s",
        location=Location.RIGHT_SHANK,
        t_s=t,
        acc_m_s2=acc @ rot,
        gyr_rad_s=gyr @ rot,
        fs_hz=FS,
    )
    strides, _ = run(block)
    assert strides == []


def test_pause_splits_bouts() -> None:
    a, _, _ = synth(seed=6, walk_s=12.0, still_s=1.0)
    b, _, _ = synth(seed=7, walk_s=12.0, still_s=1.0, phase0=0.4)
    # 3 s of standing between a and b2, contiguous samples.
    n_gap = int(3.0 * FS)
    t_gap = a.t_s[-1] + (np.arange(1, n_gap + 1)) / FS
    still = SampleBlock(
        sensor=a.sensor,
        location=a.location,
        t_s=t_gap,
        acc_m_s2=np.tile(a.acc_m_s2[-1], (n_gap, 1)),
        gyr_rad_s=np.zeros((n_gap, 3)),
        fs_hz=FS,
    )
    b2 = SampleBlock(
        sensor=a.sensor,
        location=a.location,
        t_s=b.t_s + t_gap[-1] + 1 / FS,
        acc_m_s2=b.acc_m_s2,
        gyr_rad_s=b.gyr_rad_s,
        fs_hz=FS,
    )
    whole = SampleBlock.concat([a, still, b2])
    strides, det = run(whole)
    assert sorted({s.bout_id for s in strides}) == [0, 1]
    assert not any(s.ic_t_s < t_gap[-1] and s.end_t_s > t_gap[0] for s in strides)
    assert sum(StrideFlag.BOUT_START in s.flags for s in strides) == 2
    assert det.rejected.get("stride_time", 0) == 0


def test_gap_drops_overlapping_strides() -> None:
    block, _, _ = synth(seed=8, walk_s=20.0)
    g0, g1 = 1000, 1040  # 0.4 s of lost samples in mid-walk
    before, after = block.slice(0, g0), block.slice(g1, block.n)
    det = StrideDetector()
    out = det.push(before) + det.push(after) + det.flush()
    assert after.first_seq == g1
    t_gap = (block.t_s[g0 - 1], block.t_s[g1])
    assert not any(s.ic_t_s < t_gap[1] and s.end_t_s > t_gap[0] for s in out)
    assert det.rejected["gap"] == 1
    assert sum(StrideFlag.AFTER_GAP in s.flags for s in out) == 1
    assert len(out) >= 20 - 4
    # A time jump without a sequence jump (one merged block) is a gap too.
    merged = SampleBlock(
        sensor=block.sensor,
        location=block.location,
        t_s=np.concatenate([before.t_s, after.t_s]),
        acc_m_s2=np.concatenate([before.acc_m_s2, after.acc_m_s2]),
        gyr_rad_s=np.concatenate([before.gyr_rad_s, after.gyr_rad_s]),
        fs_hz=FS,
    )
    out2, det2 = run(merged)
    assert out2 == out
    assert det2.rejected == det.rejected


def test_input_validation() -> None:
    block, _, _ = synth(walk_s=5.0)
    with pytest.raises(ValueError, match="min_stride_s"):
        StrideDetector(min_stride_s=3.0)
    with pytest.raises(ValueError, match="ic_rule"):
        StrideDetector(ic_rule="max")  # type: ignore[arg-type]
    det = StrideDetector()
    with pytest.raises(ValueError, match="shank or foot"):
        det.push(
            SampleBlock(
                sensor="t",
                location=Location.LEFT_THIGH,
                t_s=block.t_s,
                acc_m_s2=block.acc_m_s2,
                gyr_rad_s=block.gyr_rad_s,
                fs_hz=FS,
            )
        )
    det = StrideDetector()
    det.push(block)
    with pytest.raises(InputDataError):
        det.push(block)
    other = SampleBlock(
        sensor="x",
        location=block.location,
        t_s=block.t_s + 100,
        acc_m_s2=block.acc_m_s2,
        gyr_rad_s=block.gyr_rad_s,
        fs_hz=FS,
    )
    with pytest.raises(ValueError, match="one sensor"):
        det.push(other)


def test_stride_table_bilateral() -> None:
    stride_s = 1.1
    left, _, _ = synth(location=Location.LEFT_SHANK, seed=11, stride_s=stride_s, phase0=0.5)
    right, _, _ = synth(location=Location.RIGHT_SHANK, seed=12, stride_s=stride_s, phase0=0.0)
    strides = run(left)[0] + run(right)[0]
    df = stride_table(strides)
    assert list(df.columns[: len(STRIDE_COLUMNS)]) == STRIDE_COLUMNS
    assert set(df.side) == {"left", "right"}
    assert df.ic_t_s.is_monotonic_increasing
    np.testing.assert_allclose(df.stride_s, df.stance_s + df.swing_s)
    np.testing.assert_allclose(df.cadence_spm, 120 / df.stride_s)
    inner = df.iloc[2:-2]
    np.testing.assert_allclose(inner.step_s, inner.stride_s / 2, atol=0.03)
    assert inner.bilateral_ok.all()
    assert inner.double_support_ok.all()
    # Symmetric legs: single support = contralateral swing ~ (1 - stance) of a stride.
    np.testing.assert_allclose(inner.single_support_s, inner.swing_s, atol=0.03)
    assert (df.bout_id == 0).all()
    # Changing a right stride to overlap another is refused.
    bad = [*strides, strides[0]]
    with pytest.raises(ValueError, match="overlap"):
        stride_table(bad)
    assert stride_table([]).empty


@pytest.mark.realdata
def test_gaitmap_real_foot_events() -> None:
    if _REAL is None:
        pytest.skip(f"shared data not found at {DATA}")
    ev = pd.read_csv(DATA / "gaitmap_example" / "stride_events_sample.csv")
    e = ev[ev.foot == "left"]
    ref_ic = np.unique(np.concatenate([e.ic, e.pre_ic])) / 204.8
    strides, _det = _WHOLE
    ic, _ = events(strides)
    ic = ic[(ic >= e.start.min() / 204.8) & (ic <= e.end.max() / 204.8)]
    sc = score_events(ref_ic, ic)
    assert sc.f1 >= 0.95
    assert abs(sc.bias_s) < 0.015
    assert sc.sd_s < 0.015
    assert not math.isnan(sc.mae_s)


def test_gap_during_axis_calibration_is_chunk_invariant() -> None:
    block, _, _ = synth(seed=9, walk_s=20.0)
    parts = [block.slice(0, 400), block.slice(433, block.n)]  # gap 2 s into the walk
    det = StrideDetector()
    whole = det.push(parts[0]) + det.push(parts[1]) + det.flush()
    assert det.rejected == {"gap": 1}
    assert whole[0].flags == frozenset({StrideFlag.AFTER_GAP, StrideFlag.BOUT_START})
    assert len(whole) >= 14
    rng = np.random.default_rng(1)
    for _ in range(10):
        det2 = StrideDetector()
        out = []
        for p in parts:
            cuts = sorted(set(rng.integers(1, p.n - 1, size=int(rng.integers(0, 30))).tolist()))
            for b in p.split(cuts):
                out += det2.push(b)
        assert out + det2.flush() == whole
        assert det2.rejected == det.rejected


def test_simulator_steady_strides_both_shanks() -> None:
    sim_mod = pytest.importorskip("imugait.sim")
    sc = sim_mod.PRESETS["healthy"].with_(duration_s=40.0, mounting_error_deg=25.0, seed=21)
    sim = sim_mod.simulate(sc)
    for loc in (Location.LEFT_SHANK, Location.RIGHT_SHANK):
        strides, _ = run(sim.sensor(loc).block())
        truth = sim.truth.stride_table(loc.side)
        steady = truth["steady"] > 0
        sc_all = score_events(truth["ic_t_s"], [s.ic_t_s for s in strides])
        sc_steady = score_events(truth["ic_t_s"][steady], [s.ic_t_s for s in strides])
        assert sc_all.precision == 1.0
        assert sc_steady.sensitivity == 1.0
        fc = score_events(truth["fc_t_s"], [s.fc_t_s for s in strides])
        assert abs(fc.bias_s) < 0.02
        assert fc.sd_s < 0.01


def test_early_stance_bump_is_not_a_second_mid_swing() -> None:
    """A forward shank rotation in early stance (recurvatum snap-back) must not split strides."""
    block, ic, _ = synth(walk_s=30.0, stride_s=1.2, seed=4)
    # Add a 3 rad/s (60 % of the swing peak) bump 0.25 s after every IC.
    t = block.t_s
    bump = np.zeros_like(t)
    for a in ic[:-1]:
        bump += 3.0 * np.exp(-(((t - a - 0.25) / 0.08) ** 2))
    gyr = block.gyr_rad_s.copy()
    gyr[:, 2] += bump
    bumped = SampleBlock(
        sensor=block.sensor,
        location=block.location,
        t_s=t,
        acc_m_s2=block.acc_m_s2,
        gyr_rad_s=gyr,
        fs_hz=block.fs_hz,
    )
    strides, det = run(bumped)
    s = score_events(ic, events(strides)[0])
    assert s.sensitivity >= 0.95
    assert s.precision == 1.0
    assert abs(s.bias_s) < 0.02
    assert det.rejected.get("stride_time", 0) == 0


def test_simulator_paretic_recurvatum_left_shank() -> None:
    """Left paretic recurvatum (knee snaps back in early stance): every steady stride found."""
    sim_mod = pytest.importorskip("imugait.sim")
    sc = sim_mod.PRESETS["left_paretic_recurvatum"].with_(duration_s=40.0)
    sim = sim_mod.simulate(sc)
    strides, _ = run(sim.sensor(Location.LEFT_SHANK).block())
    truth = sim.truth.stride_table(Location.LEFT_SHANK.side)
    steady = truth["steady"] > 0
    s = score_events(truth["ic_t_s"][steady], [x.ic_t_s for x in strides])
    assert s.sensitivity == 1.0
    assert score_events(truth["ic_t_s"], [x.ic_t_s for x in strides]).precision == 1.0


def _pause_gap_block() -> SampleBlock:
    """Walk, 3 s standing, walk, a 0.4 s loss, walk: pauses, bouts and gaps in one stream."""
    a, _, _ = synth(seed=6, walk_s=12.0, still_s=1.0)
    b, _, _ = synth(seed=7, walk_s=14.0, still_s=1.0, phase0=0.4)
    n_still = int(3.0 * FS)
    t_still = a.t_s[-1] + np.arange(1, n_still + 1) / FS
    still = SampleBlock(
        sensor=a.sensor,
        location=a.location,
        t_s=t_still,
        acc_m_s2=np.tile(a.acc_m_s2[-1], (n_still, 1)),
        gyr_rad_s=np.zeros((n_still, 3)),
        fs_hz=FS,
    )
    b2 = SampleBlock(
        sensor=a.sensor,
        location=a.location,
        t_s=b.t_s + t_still[-1] + 1 / FS,
        acc_m_s2=b.acc_m_s2,
        gyr_rad_s=b.gyr_rad_s,
        fs_hz=FS,
    )
    whole = SampleBlock.concat([a, still, b2])
    keep = np.ones(whole.n, dtype=bool)
    keep[whole.n - 600 : whole.n - 560] = False  # 0.4 s lost, 6 s before the end
    return SampleBlock(
        sensor=whole.sensor,
        location=whole.location,
        t_s=whole.t_s[keep],
        acc_m_s2=whole.acc_m_s2[keep],
        gyr_rad_s=whole.gyr_rad_s[keep],
        fs_hz=FS,
    )


_PAUSE_GAP = _pause_gap_block()
_PAUSE_GAP_WHOLE = run(_PAUSE_GAP)


@settings(max_examples=15, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=_PAUSE_GAP.n - 1), max_size=60, unique=True),
    st.sampled_from([0.01, 0.25, 1.0]),
)
def test_chunk_invariance_pause_gap_any_hop(cuts: list[int], hop_s: float) -> None:
    """Bulk processing after the axis: any cuts, any processing granularity, same strides."""
    whole, det_w = run(_PAUSE_GAP, hop_s=hop_s)
    if hop_s == 0.25:
        assert whole == _PAUSE_GAP_WHOLE[0]
    assert len(whole) >= 20
    assert sorted({s.bout_id for s in whole}) == [0, 1]
    det = StrideDetector(hop_s=hop_s)
    parts = [s for b in _PAUSE_GAP.split(sorted(cuts)) for s in det.push(b)] + det.flush()
    assert parts == whole
    assert det.rejected == det_w.rejected == _PAUSE_GAP_WHOLE[1].rejected


def test_one_sample_at_a_time_equals_whole() -> None:
    block = _PAUSE_GAP.slice(0, 2600)
    whole, det_w = run(block)
    det = StrideDetector()
    out = [s for b in block.split(list(range(1, block.n))) for s in det.push(b)] + det.flush()
    assert out == whole
    assert det.rejected == det_w.rejected


def test_filtered_signal_at_segment_end_is_the_true_filter_output() -> None:
    """Before a gap, the last IC uses the FIR with the final rate held (not padded outputs)."""
    block, ic_true, _ = synth(seed=12, walk_s=12.0, still_s=1.0)
    # End the data 1 sample after a true IC: the 15 Hz filter's last half-length decides it.
    k = int(np.searchsorted(block.t_s, ic_true[5])) + 1
    cut = block.slice(0, k)
    strides, _ = run(cut)
    assert strides
    assert abs(strides[-1].end_t_s - ic_true[5]) < 0.02
