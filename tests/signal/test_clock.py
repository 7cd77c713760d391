"""SensorClock: loss counting, wraps, re-anchoring, accuracy and chunk invariance."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imugait.errors import ConfigError, DecodeError
from imugait.signal.clock import SensorClock
from imugait.types import FrameBatch, Location, SampleBlock

from ._synth import Stream, cat_batches, frames, make_stream, split


def _clock(**kw: float) -> SensorClock:
    return SensorClock(sensor="s1", location=Location.LEFT_SHANK, fs_hz=200.0, **kw)


def _run(clock: SensorClock, batches: list[FrameBatch]) -> list[SampleBlock]:
    out = [b for batch in batches for b in clock.push(batch)]
    return out + clock.flush()


def _flat(blocks: list[SampleBlock]) -> tuple[np.ndarray, ...]:
    b = SampleBlock.concat(blocks)
    idx = np.concatenate([x.first_seq + np.arange(x.n) for x in blocks])
    return b.t_s, b.acc_m_s2, b.gyr_rad_s, idx


def _err_after(stream: Stream, t_s: np.ndarray, after_s: float) -> np.ndarray:
    """Mapping error minus the latency floor, for samples later than ``after_s``."""
    late = stream.true_t_s - stream.true_t_s[0] >= after_s
    err: np.ndarray = (t_s - stream.true_t_s - stream.lat_min_s)[late]
    return err


@pytest.mark.parametrize(
    ("skew_ppm", "lat_scale_s", "spike_prob", "tol_3s"),
    [
        (0.0, 0.01, 0.01, 2e-3),
        (200.0, 0.01, 0.02, 2e-3),
        (75.0, 0.005, 0.05, 2e-3),
        (-200.0, 0.03, 0.02, 6e-3),  # harsh: 30 ms jitter, 2 % spikes queueing later frames
    ],
)
def test_offset_and_skew_converge(
    skew_ppm: float, lat_scale_s: float, spike_prob: float, tol_3s: float
) -> None:
    s = make_stream(
        duration_s=120, skew_ppm=skew_ppm, lat_scale_s=lat_scale_s, spike_prob=spike_prob,
        drop_prob=0.01, seed=int(abs(skew_ppm)) + 7,
    )  # fmt: skip
    clock = _clock()
    t, acc, _gyr, idx = _flat(_run(clock, [s.batch]))
    assert np.all(np.diff(t) > 0)
    np.testing.assert_array_equal(idx, s.sample_idx)
    np.testing.assert_array_equal(acc, s.batch.acc_m_s2)
    # offset: error vs the latency floor small after 3 s, sub-0.5 ms after 30 s
    assert np.abs(_err_after(s, t, 3.0)).max() < tol_3s
    assert np.abs(_err_after(s, t, 30.0)).max() < 0.5e-3
    # skew: a few ppm after 120 s
    assert abs(clock.stats.skew_ppm - skew_ppm) < 3.0
    # the mapped sample interval never departs from nominal by more than the slew (+ skew)
    dt = np.diff(t)[np.diff(idx) == 1]
    assert np.all(np.abs(dt * 200.0 - 1.0) <= 0.02 + 1e-3 + 1e-9)  # max_slew + max_skew


def test_lost_frames_counted_exactly_with_seq_and_wraps() -> None:
    wrap = 2**32 / 1e6  # u32 microseconds
    s = make_stream(
        duration_s=60, sensor_t0_s=wrap - 5.0, wrap_s=wrap, seq0=65500, drop_prob=0.03,
        drop_burst=(1000, 1040), seed=3,
    )  # fmt: skip
    n_dropped = 60 * 200 // 4 - s.batch.n_frames
    clock = _clock()
    blocks = _run(clock, [s.batch])
    t, _, _, idx = _flat(blocks)
    assert clock.stats.lost_frames == n_dropped
    assert clock.stats.lost_samples == 4 * n_dropped
    assert clock.stats.anchors == 1
    np.testing.assert_array_equal(idx, s.sample_idx)
    assert np.abs(_err_after(s, t, 5.0)).max() < 1e-3
    # every gap shows as a jump of first_seq between consecutive blocks
    jumps = [b.first_seq - (a.first_seq + a.n) for a, b in zip(blocks, blocks[1:], strict=False)]
    assert sum(jumps) == 4 * n_dropped


def test_gaps_from_time_steps_without_seq() -> None:
    s = make_stream(duration_s=40, with_seq=False, drop_prob=0.03, seed=4)
    clock = _clock()
    _t, _, _, idx = _flat(_run(clock, [s.batch]))
    np.testing.assert_array_equal(idx, s.sample_idx)
    assert clock.stats.lost_samples == 40 * 200 - s.batch.n_samples


def test_reconnect_with_sequence_restart() -> None:
    s1 = make_stream(duration_s=30, seq0=100, skew_ppm=80, seed=5)
    s2 = make_stream(
        duration_s=30, seq0=0, sensor_t0_s=0.5, offset_s=12.3 + 34.0, skew_ppm=80, seed=6
    )
    clock = _clock()
    blocks = _run(clock, [cat_batches([s1.batch, s2.batch])])
    t, _, _, idx = _flat(blocks)
    assert clock.stats.anchors == 2
    assert np.all(np.diff(t) > 0)
    n1 = s1.batch.n_samples
    # ~4 s between the two connections, estimated from the session clock
    assert abs((idx[n1] - idx[n1 - 1] - 1) - 4.0 * 200) <= 3
    assert np.abs(_err_after(s1, t[:n1], 3.0)).max() < 2e-3
    assert np.abs(_err_after(s2, t[n1:], 3.0)).max() < 2e-3


def test_long_host_gap_reanchors_but_counts_exactly() -> None:
    s = make_stream(duration_s=60, drop_burst=(500, 2000), seed=8)  # 30 s without frames
    clock = _clock()
    _t, _, _, idx = _flat(_run(clock, [s.batch]))
    assert clock.stats.anchors == 2
    assert clock.stats.lost_frames == 1500
    np.testing.assert_array_equal(idx, s.sample_idx)


def test_explicit_reanchor_keeps_time_increasing() -> None:
    s = make_stream(duration_s=20, seed=9)
    a, b = split(s.batch, [400])
    clock = _clock()
    blocks = clock.push(a)
    clock.reanchor()
    blocks += clock.push(b) + clock.flush()
    t, _, _, idx = _flat(blocks)
    assert clock.stats.anchors == 2
    assert np.all(np.diff(t) > 0)
    np.testing.assert_array_equal(idx, s.sample_idx)
    assert np.abs(_err_after(s, t, 3.0)).max() < 3e-3


def test_duplicate_frame_is_dropped() -> None:
    s = make_stream(duration_s=5, seed=10)
    b = s.batch
    dup = cat_batches([frames(b, 0, 50), frames(b, 49, 50), frames(b, 50, b.n_frames)])
    clock = _clock()
    _t, _, _, idx = _flat(_run(clock, [dup]))
    assert clock.stats.duplicate_frames == 1
    assert clock.stats.anchors == 1
    np.testing.assert_array_equal(idx, s.sample_idx)


def test_warmup_is_held_until_flush() -> None:
    s = make_stream(duration_s=0.5, seed=11)
    clock = _clock()
    assert clock.push(s.batch) == []
    assert sum(b.n for b in clock.flush()) == s.batch.n_samples


def test_bad_frame_times_and_config() -> None:
    bad = FrameBatch(
        host_t_s=np.array([1.0]), seq=np.array([0]), frame_start=np.array([0]),
        sensor_t_s=np.array([0.0, 0.0]), acc_m_s2=np.zeros((2, 3)), gyr_rad_s=np.zeros((2, 3)),
    )  # fmt: skip
    with pytest.raises(DecodeError, match="not increasing"):
        _clock().push(bad)
    with pytest.raises(ConfigError, match="max_slew"):
        _clock(max_slew=0.7)
    with pytest.raises(ConfigError, match="fs_hz"):
        SensorClock(sensor="x", location=Location.LEFT_FOOT, fs_hz=0.0)


_STREAM = cat_batches(
    [
        make_stream(duration_s=8, seq0=65400, drop_prob=0.05, spike_prob=0.05,
                    wrap_s=2**32 / 1e6, sensor_t0_s=2**32 / 1e6 - 3.0, seed=12).batch,
        make_stream(duration_s=6, seq0=0, sensor_t0_s=1.0, offset_s=25.0, seed=13,
                    wrap_s=2**32 / 1e6).batch,
    ]
)  # fmt: skip
_WHOLE = _flat(_run(_clock(), [_STREAM]))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, _STREAM.n_frames - 1), max_size=25))
def test_chunk_invariance(cuts: list[int]) -> None:
    parts = _flat(_run(_clock(), split(_STREAM, cuts)))
    for whole, part in zip(_WHOLE, parts, strict=True):
        np.testing.assert_array_equal(part, whole)


def test_frame_by_frame_equals_one_push() -> None:
    parts = _flat(_run(_clock(), split(_STREAM, list(range(1, _STREAM.n_frames)))))
    for whole, part in zip(_WHOLE, parts, strict=True):
        np.testing.assert_array_equal(part, whole)


def test_frame_by_frame_counts_and_duplicates_equal_one_push() -> None:
    """The one-frame path (live) counts losses, anchors and repeats as the bulk path does."""
    b = _STREAM
    dup = cat_batches([frames(b, 0, 50), frames(b, 49, 50), frames(b, 50, b.n_frames)])
    whole, framewise = _clock(), _clock()
    expected = _flat(_run(whole, [dup]))
    got = _flat(_run(framewise, split(dup, list(range(1, dup.n_frames)))))
    for w, g in zip(expected, got, strict=True):
        np.testing.assert_array_equal(g, w)
    assert framewise.stats == whole.stats
    assert whole.stats.duplicate_frames == 1
    assert whole.stats.anchors == 2
    assert whole.stats.lost_frames > 0
