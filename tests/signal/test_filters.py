"""Causal Butterworth filters: response, gap reset and bit-exact chunk invariance."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imugait.errors import ConfigError
from imugait.signal.filters import BandPass, HighPass, LowPass
from imugait.types import Location, SampleBlock

FS = 100.0


def _block(n: int, *, first_seq: int = 0, t0: float = 0.0, f_hz: float = 1.0) -> SampleBlock:
    t = t0 + np.arange(n) / FS
    rng = np.random.default_rng(first_seq)
    sig = np.sin(2 * np.pi * f_hz * t)[:, None] * np.array([1.0, 2.0, 3.0])
    return SampleBlock(
        sensor="a", location=Location.RIGHT_THIGH, t_s=t, acc_m_s2=sig + 9.0,
        gyr_rad_s=sig + 0.1 * rng.standard_normal((n, 3)), fs_hz=FS, first_seq=first_seq,
    )  # fmt: skip


def _run(filt: LowPass | HighPass | BandPass, blocks: list[SampleBlock]) -> SampleBlock:
    return SampleBlock.concat([o for b in blocks for o in filt.push(b)] + filt.flush())


def test_lowpass_passes_slow_and_stops_fast() -> None:
    slow = _run(LowPass(cutoff_hz=5.0), [_block(2000, f_hz=1.0)])
    fast = _run(LowPass(cutoff_hz=5.0), [_block(2000, f_hz=20.0)])
    assert np.ptp(slow.acc_m_s2[500:, 0]) == pytest.approx(2.0, rel=0.02)
    assert np.ptp(fast.acc_m_s2[500:, 0]) < 0.01
    # steady-state start: no transient on the 9 m/s^2 offset
    assert np.abs(fast.acc_m_s2[:, 2] - 9.0).max() < 3.1


def test_highpass_removes_offset_from_the_first_sample() -> None:
    y = _run(HighPass(cutoff_hz=0.2, order=2), [_block(3000, f_hz=2.0)])
    assert abs(y.acc_m_s2[0, 0]) < 1e-9
    assert abs(np.mean(y.acc_m_s2[1000:, 2])) < 0.05


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 999), max_size=12))
def test_chunk_invariance_bit_identical(cuts: list[int]) -> None:
    blk = _block(1000)
    for make in (lambda: LowPass(cutoff_hz=8.0), lambda: BandPass(low_hz=0.5, high_hz=8.0)):
        whole = _run(make(), [blk])
        parts = _run(make(), blk.split(sorted(set(cuts))))
        np.testing.assert_array_equal(parts.acc_m_s2, whole.acc_m_s2)
        np.testing.assert_array_equal(parts.gyr_rad_s, whole.gyr_rad_s)


def test_state_resets_at_a_gap() -> None:
    a, b = _block(300), _block(300, first_seq=400, t0=4.0)
    joined = _run(LowPass(cutoff_hz=3.0), [a, b])
    fresh = _run(LowPass(cutoff_hz=3.0), [b])
    np.testing.assert_array_equal(joined.acc_m_s2[300:], fresh.acc_m_s2)
    contiguous = _block(300, first_seq=300, t0=3.0)
    cont = _run(LowPass(cutoff_hz=3.0), [a, contiguous])
    assert not np.array_equal(
        cont.acc_m_s2[300:], _run(LowPass(cutoff_hz=3.0), [contiguous]).acc_m_s2
    )


def test_bad_configuration() -> None:
    with pytest.raises(ConfigError, match="Nyquist"):
        LowPass(cutoff_hz=60.0).push(_block(10))
    with pytest.raises(ConfigError, match="increasing"):
        BandPass(low_hz=5.0, high_hz=1.0)
    with pytest.raises(ConfigError, match="order"):
        LowPass(cutoff_hz=5.0, order=0)
