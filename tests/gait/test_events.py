"""Pure event numerics and scoring."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import lfilter
from scipy.spatial.transform import Rotation

from imugait.gait import events as ev
from imugait.gait.scoring import match_events, score_events
from imugait.types import Segment

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.mark.parametrize(("cutoff", "fs"), [(4.0, 100.0), (15.0, 204.8), (40.0, 100.0)])
def test_fir_is_linear_phase_with_integer_delay(cutoff: float, fs: float) -> None:
    taps = ev.fir_lowpass_taps(cutoff_hz=cutoff, fs_hz=fs)
    assert len(taps) % 2 == 1
    np.testing.assert_allclose(taps, taps[::-1])
    assert taps.sum() == pytest.approx(1.0)
    # A symmetric bump keeps its peak exactly, delayed by (n-1)/2 samples.
    x = np.exp(-(((np.arange(400) - 150.0) / 12.0) ** 2))
    y = lfilter(taps, [1.0], x)
    assert int(np.argmax(y)) - 150 == len(taps) // 2
    with pytest.raises(ValueError, match="cutoff"):
        ev.fir_lowpass_taps(cutoff_hz=60.0, fs_hz=100.0)


def test_crossings_and_minima_subsample() -> None:
    w = np.array([3.0, 1.0, -1.0, -3.0, -2.0, 0.5, 2.0])
    assert ev.first_down_crossing(w, 0, len(w)) == pytest.approx(1.5)
    assert ev.last_up_crossing(w, 0, len(w)) == pytest.approx(4 + 2 / 2.5)
    assert ev.first_local_min(w, 0, len(w), below_rad_s=0.0) == pytest.approx(
        3 + 0.5 * (-1 + 2) / (-1 + 6 - 2)
    )
    assert ev.first_local_min(w, 0, len(w), below_rad_s=-5.0) is None
    assert ev.first_down_crossing(w, 3, len(w)) is None
    # A minimum at the last available sample is not confirmed yet.
    assert ev.first_local_min(w[:4], 0, 4, below_rad_s=0.0) is None
    w2 = np.array([0.0, -1.0, 0.0, -2.0, 0.0, 1.0])
    assert ev.last_local_min(w2, 0, 6, below_rad_s=-0.5) == pytest.approx(3.0)
    assert ev.first_local_min(w2, 0, 6, below_rad_s=-0.5) == pytest.approx(1.0)
    assert ev.index_to_time(np.array([0.0, 0.1, 0.3]), 1.5) == pytest.approx(0.2)


def test_mid_swing_candidates_window_and_threshold() -> None:
    fs = 100.0
    t = np.arange(0, 10, 1 / fs)
    w = 3.0 * np.sin(2 * np.pi * t / 1.0) + 0.5 * np.sin(2 * np.pi * t / 0.2)
    k = ev.mid_swing_candidates(w, lo=0, hi=len(w), half_window=30, min_rad_s=1.0)
    assert np.all(np.diff(k) >= 90)
    assert len(k) == 10
    assert np.all(w[k] > 3.0)
    # Deciding on a prefix gives the same peaks as on the whole signal (window fully available).
    k2 = ev.mid_swing_candidates(w[:600], lo=0, hi=570, half_window=30, min_rad_s=1.0)
    np.testing.assert_array_equal(k2, k[k < 570])
    assert len(ev.mid_swing_candidates(w, lo=0, hi=len(w), half_window=30, min_rad_s=10.0)) == 0


def test_min_energy_center() -> None:
    g = np.ones(100)
    g[40:50] = 0.0
    assert ev.min_energy_center(g, 0, 100, window=10) == pytest.approx(44.5)
    assert ev.min_energy_center(g, 0, 5, window=10) is None


def _walk(seed: int, foot: bool) -> tuple[np.ndarray, np.ndarray]:
    fs, rng = 100.0, np.random.default_rng(seed)
    t = np.arange(0, 12, 1 / fs)
    p = np.mod(t / 1.1, 1.0)
    if foot:
        ml = np.where(p < 0.1, -3 * np.sin(np.pi * p / 0.1), 0.0)
        ml += np.where((p >= 0.35) & (p < 0.6), -8 * np.sin(np.pi * (p - 0.35) / 0.25), 0.0)
        ml += np.where(p >= 0.6, 6 * np.sin(np.pi * (p - 0.6) / 0.4), 0.0)
    else:
        ml = np.where(p >= 0.6, 5 * np.sin(np.pi * (p - 0.6) / 0.4), -np.sin(np.pi * p / 0.6))
    gyr = np.stack([0.5 * np.sin(2 * np.pi * t / 1.1), 2.5 * (np.mod(t, 6) < 1.5), ml], axis=1)
    acc = np.tile([0.0, 9.81, 0.0], (len(t), 1)) + 0.1 * rng.standard_normal((len(t), 3))
    return gyr + 0.01 * rng.standard_normal(gyr.shape), acc


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.booleans())
def test_sagittal_axis_any_rotation(seed: int, foot: bool) -> None:
    """Axis and sign found for random mountings, with 1.5 s turns (yaw about the long axis)."""
    gyr, acc = _walk(seed % 7, foot)
    r = Rotation.random(random_state=seed).as_matrix()
    axis = ev.sagittal_axis(
        gyr @ r, acc_m_s2=acc @ r, fs_hz=100.0, segment=Segment.FOOT if foot else Segment.SHANK
    )
    assert float(axis @ r[2]) > 0.99  # within 8 deg (AP rate correlates with ML here)
    assert float(np.linalg.norm(axis)) == pytest.approx(1.0)


def test_sagittal_axis_needs_movement() -> None:
    with pytest.raises(ValueError, match="movement"):
        ev.principal_axis(np.zeros((100, 3)))


@pytest.mark.realdata
def test_real_foot_axis_is_mounting_independent() -> None:
    d = DATA / "gaitmap_example"
    if not d.is_dir():
        pytest.skip(f"shared data not found at {d}")
    sig = []
    for f in ("imu_sample.csv", "imu_sample_not_rotated.csv"):
        for side in ("left", "right"):
            s = pd.read_csv(d / f, header=[0, 1], index_col=0)[f"{side}_sensor"]
            g = np.radians(s[["gyr_x", "gyr_y", "gyr_z"]].to_numpy())
            a = s[["acc_x", "acc_y", "acc_z"]].to_numpy()
            axis = ev.sagittal_axis(g[:2000], acc_m_s2=a[:2000], fs_hz=204.8, segment=Segment.FOOT)
            if f == "imu_sample.csv":  # gaitmap foot sensor frame: dorsiflexion (swing) is -gyr_y
                assert axis[1] < -0.85
            sig.append(g @ axis)
    np.testing.assert_allclose(sig[0], sig[2], atol=1e-6)
    np.testing.assert_allclose(sig[1], sig[3], atol=1e-6)


def test_match_events_one_to_one() -> None:
    ref = np.array([1.0, 2.0, 3.0, 10.0])
    det = np.array([1.05, 1.08, 2.2, 2.95, 20.0])
    i, j = match_events(ref, det, tolerance_s=0.1)
    np.testing.assert_array_equal(i, [0, 2])
    np.testing.assert_array_equal(j, [0, 3])
    sc = score_events(ref, det, tolerance_s=0.1)
    assert (sc.tp, sc.fn, sc.fp) == (2, 2, 3)
    assert sc.sensitivity == 0.5
    assert sc.precision == 0.4
    assert sc.f1 == pytest.approx(2 * 2 / 9)
    assert sc.bias_s == pytest.approx(0.0)
    assert sc.sd_s == pytest.approx(math.sqrt(2) * 0.05)
    assert sc.mae_s == pytest.approx(0.05)
    empty = score_events([], [1.0])
    assert empty.tp == 0
    assert empty.precision == 0.0
    assert math.isnan(empty.sensitivity)


def test_mid_swing_first_maximum_of_a_plateau_whatever_the_range() -> None:
    w = np.zeros(200)
    w[50:53] = 2.0  # a plateau: one peak, its first sample
    w[120] = 2.0
    w[140] = 2.0  # equal maxima 20 apart (< W): only the first
    full = ev.mid_swing_candidates(w, lo=0, hi=200, half_window=30, min_rad_s=1.0)
    np.testing.assert_array_equal(full, [50, 120])
    # Deciding in pieces (as the streaming detector does) finds the same peaks.
    parts = [
        ev.mid_swing_candidates(w, lo=a, hi=b, half_window=30, min_rad_s=1.0)
        for a, b in ((0, 51), (51, 130), (130, 141), (141, 200))
    ]
    np.testing.assert_array_equal(np.concatenate(parts), full)


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=1, max_value=5))
def test_event_times_do_not_depend_on_the_buffer_offset(base: int, k: int) -> None:
    """The same samples held at another offset of a trimmed buffer give bit-identical times."""
    rng = np.random.default_rng(k)
    w = np.sin(np.linspace(0, 9, 400)) + 0.01 * rng.standard_normal(400)
    t = 1000.0 + (np.arange(400) + 0.37 * rng.random(400)) / 200.0

    def found(off: int) -> list[float]:
        """Events and their times with the first ``off`` samples trimmed (absolute indices)."""
        ww, tt, b = w[off:], t[off:], base + off
        xs = [
            ev.first_down_crossing(ww, 10 - off, 390 - off, base=b),
            ev.last_up_crossing(ww, 10 - off, 390 - off, base=b),
            ev.first_local_min(ww, 10 - off, 390 - off, below_rad_s=0.0, base=b),
            ev.last_local_min(ww, 10 - off, 390 - off, below_rad_s=0.0, base=b),
        ]
        assert all(x is not None for x in xs)
        return [
            *(float(x) for x in xs if x is not None),
            *(ev.index_to_time(tt, x, base=b) for x in xs if x is not None),
        ]

    assert found(0) == found(k)
