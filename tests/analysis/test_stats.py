"""Bootstrap helpers: the counting median equals numpy's median of the same resamples."""

from __future__ import annotations

import numpy as np
import pytest

from imugait.analysis._stats import _resampled, _resampled_medians


@pytest.mark.parametrize("n", [2, 3, 4, 7, 20, 21, 151])
@pytest.mark.parametrize("ties", [False, True])
def test_counting_median_is_numpy_median_of_the_same_draws(n: int, ties: bool) -> None:
    v = np.random.default_rng(n).normal(size=n) * 3.0
    if ties:
        v = np.round(v)  # many equal values
    want = _resampled(np.random.default_rng([4, n]), v, 300, np.median, rows=64)
    got = _resampled_medians(np.random.default_rng([4, n]), v, 300, rows=64)
    np.testing.assert_array_equal(got, want)


def test_uint32_draws_are_the_int64_draws() -> None:
    """The bootstrap draws its indices as uint32: the same numbers as numpy's default."""
    from imugait.analysis._stats import _draws

    for n in (2, 37, 1060, 70_000):
        got = _draws(np.random.default_rng([1, n]), n, 64)
        want = np.random.default_rng([1, n]).integers(0, n, size=(64, n))
        np.testing.assert_array_equal(got, want)
        v = np.arange(n, dtype=np.float64)
        want_v = v[np.random.default_rng([2, n]).integers(0, n, size=(64, n))].mean(axis=1)
        got_v = _resampled(np.random.default_rng([2, n]), v, 64, np.mean)
        np.testing.assert_array_equal(got_v, want_v)
