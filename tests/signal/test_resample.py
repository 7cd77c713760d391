"""Resampler: common grid, watermark, gap splitting, chunk invariance."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imugait.signal.resample import Resampler
from imugait.types import Location, SampleBlock

A_T = 0.0013 + np.arange(600) / 100.0  # sensor a, 100 Hz, own phase
B_T = 0.0071 + np.arange(1200) / 200.02  # sensor b, ~200 Hz


def _lin(t: np.ndarray) -> np.ndarray:
    return np.stack([2.0 * t, -t + 1.0, 0.5 * t + 3.0], axis=1)


def _blk(sensor: str, t: np.ndarray, fs: float, first_seq: int = 0) -> SampleBlock:
    loc = Location.LEFT_THIGH if sensor == "a" else Location.LEFT_SHANK
    return SampleBlock(sensor=sensor, location=loc, t_s=t, acc_m_s2=_lin(t),
                       gyr_rad_s=-_lin(t), fs_hz=fs, first_seq=first_seq)  # fmt: skip


def _collect(out: list[SampleBlock]) -> dict[str, tuple[np.ndarray, ...]]:
    res: dict[str, tuple[np.ndarray, ...]] = {}
    for s in ("a", "b"):
        bl = [b for b in out if b.sensor == s]
        c = SampleBlock.concat(bl)
        seq = np.concatenate([b.first_seq + np.arange(b.n) for b in bl])
        res[s] = (c.t_s, c.acc_m_s2, c.gyr_rad_s, seq)
    return res


def test_interpolates_onto_common_grid_with_watermark() -> None:
    r = Resampler(sensors=["a", "b"])
    assert r.push(_blk("a", A_T, 100.0)) == []  # b has not delivered yet
    out = r.push(_blk("b", B_T[:500], 200.0))
    assert {b.fs_hz for b in out} == {200.0}  # default: the highest nominal rate
    res = _collect(out + r.push(_blk("b", B_T[500:], 200.0, 500)) + r.flush())
    ta, acc_a, _gyr_a, seq = res["a"]
    np.testing.assert_array_equal(ta, res["b"][0])
    np.testing.assert_array_equal(seq, np.round(ta * 200.0).astype(int))
    assert ta[0] >= max(A_T[0], B_T[0])
    assert ta[-1] <= min(A_T[-1], B_T[-1])
    assert len(ta) == int(np.floor(min(A_T[-1], B_T[-1]) * 200)) - int(np.ceil(B_T[0] * 200)) + 1
    np.testing.assert_allclose(acc_a, _lin(ta), atol=1e-12)  # linear signals: exact
    np.testing.assert_allclose(res["b"][2], -_lin(ta), atol=1e-12)


def test_short_gap_bridged_long_gap_split() -> None:
    r = Resampler(sensors=["a", "b"], fs_hz=100.0, max_gap_samples=3)
    keep = np.ones(len(B_T), dtype=bool)
    keep[100:103] = False  # 3 lost: bridged
    keep[400:410] = False  # 10 lost: split
    idx = np.flatnonzero(keep)
    cuts = np.flatnonzero(np.diff(idx) > 1) + 1
    blocks = [_blk("b", B_T[g], 200.0, int(g[0])) for g in np.split(idx, cuts)]
    out = r.push(_blk("a", A_T, 100.0)) + [o for b in blocks for o in r.push(b)]
    t, _, _, seq = _collect(out)["a"]
    jumps = np.flatnonzero(np.diff(seq) > 1)
    assert len(jumps) == 1  # only the 10-sample gap splits the output
    gap_t = (t[jumps[0]], t[jumps[0] + 1])
    assert gap_t[0] < B_T[400]
    assert gap_t[1] > B_T[409]
    assert gap_t[1] - gap_t[0] <= (10 + 1) / 200.0 + 2 / 100.0
    assert all(np.isfinite(b.acc_m_s2).all() for b in out)


_A = _blk("a", A_T, 100.0)
_B = _blk("b", B_T, 200.0)


def _whole() -> dict[str, tuple[np.ndarray, ...]]:
    r = Resampler(sensors=["a", "b"])
    return _collect(r.push(_A) + r.push(_B))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(1, 599), max_size=10),
    st.lists(st.integers(1, 1199), max_size=10),
    st.randoms(use_true_random=False),
)
def test_chunk_invariance(cuts_a: list[int], cuts_b: list[int], rnd: object) -> None:
    parts_a = _A.split(sorted(set(cuts_a)))
    parts_b = _B.split(sorted(set(cuts_b)))
    order = ["a"] * len(parts_a) + ["b"] * len(parts_b)
    rnd.shuffle(order)  # type: ignore[attr-defined]
    ia, ib = iter(parts_a), iter(parts_b)
    r = Resampler(sensors=["a", "b"])
    out = [o for s in order for o in r.push(next(ia) if s == "a" else next(ib))] + r.flush()
    got, want = _collect(out), _whole()
    for s in ("a", "b"):
        for g, w in zip(got[s], want[s], strict=True):
            np.testing.assert_array_equal(g, w)


def test_rejects_unknown_sensor_and_overlap() -> None:
    r = Resampler(sensors=["a"])
    with pytest.raises(ValueError, match="unknown sensor"):
        r.push(_B)
    r.push(_A)
    with pytest.raises(ValueError, match="does not follow"):
        r.push(_A)


def test_small_pushes_equal_one_push_with_exact_points_and_gaps() -> None:
    """Notification-sized pushes (the per-point path) give the bulk output bit for bit,
    including samples exactly on grid points and gaps that split the output."""
    t_a = np.arange(3, 900) / 200.0  # exactly on the 200 Hz grid
    keep = np.ones(len(B_T), dtype=bool)
    keep[300:302] = False  # bridged
    keep[700:712] = False  # split
    a = _blk("a", t_a, 200.0)
    idx = np.flatnonzero(keep)
    cuts = np.flatnonzero(np.diff(idx) > 1) + 1
    b_parts = [_blk("b", B_T[g], 200.0, int(g[0])) for g in np.split(idx, cuts)]
    whole = Resampler(sensors=["a", "b"])
    want = _collect(whole.push(a) + [o for p in b_parts for o in whole.push(p)])
    rng = np.random.default_rng(3)
    small = [p for blk in b_parts for p in blk.split(list(range(4, blk.n, 4)))]
    small_a = a.split(sorted(set(rng.integers(1, a.n, 200).tolist())))
    order = ["a"] * len(small_a) + ["b"] * len(small)
    rng.shuffle(order)
    ia, ib = iter(small_a), iter(small)
    r = Resampler(sensors=["a", "b"])
    got = _collect([o for s in order for o in r.push(next(ia) if s == "a" else next(ib))])
    for s in ("a", "b"):
        for g, w in zip(got[s], want[s], strict=True):
            np.testing.assert_array_equal(g, w)
    assert np.count_nonzero(np.diff(got["a"][3]) > 1) == 1
