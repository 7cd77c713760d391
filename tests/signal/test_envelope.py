"""The clock's incremental lower-envelope window equals the direct Moon et al. fit."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imugait.signal._envelope import LowerEnvelopeWindow, fit_lower_envelope


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.2, 2.0), st.floats(0.0, 0.02), st.booleans()),
        min_size=1,
        max_size=300,
    ),
    st.floats(-5e-4, 5e-4),
    st.floats(5.0, 60.0),
)
def test_window_fit_equals_direct_fit(
    steps: list[tuple[float, float, bool]], skew: float, window_s: float
) -> None:
    win = LowerEnvelopeWindow()
    xs: list[float] = []
    ys: list[float] = []
    x, b_prev = 0.0, 1e-4
    for dx, lat, coarse in steps:
        x += dx
        y = skew * x + (round(lat, 3) if coarse else lat)  # coarse: collinear points happen
        win.push(x, y)
        xs.append(x)
        ys.append(y)
        win.drop_before(x - window_s)
        while len(xs) > 1 and xs[0] < x - window_s:
            del xs[0], ys[0]
        assert len(win) == len(xs)
        a1, b1 = fit_lower_envelope(
            np.asarray(xs), np.asarray(ys), max_abs_slope=1e-3, slope_if_single=b_prev
        )
        a2, b2 = win.fit(max_abs_slope=1e-3, slope_if_single=b_prev)
        if b2 != pytest.approx(b1, abs=1e-12):
            # Only where the LP is degenerate or its chords' values at the centroid tie to
            # round-off: then the window's line must be at least as good an optimum (the LP
            # objective is the line's value at the centroid).
            xc = math.fsum(xs) / len(xs)
            assert a2 + b2 * xc >= a1 + b1 * xc - 1e-12
        else:
            assert a2 == pytest.approx(a1, abs=1e-12)
        # the line lies under every point (up to round-off)
        assert np.all(a2 + b2 * np.asarray(xs) <= np.asarray(ys) + 1e-12)
        b_prev = b2


def test_window_keeps_one_point_and_rejects_disorder() -> None:
    win = LowerEnvelopeWindow()
    with pytest.raises(ValueError, match="at least one point"):
        win.fit(max_abs_slope=1e-3)
    win.push(1.0, 0.5)
    win.push(2.0, 0.25)
    win.drop_before(10.0)
    assert len(win) == 1
    assert win.fit(max_abs_slope=1e-3, slope_if_single=2e-3) == (0.25 - 1e-3 * 2.0, 1e-3)
    with pytest.raises(ValueError, match="increase"):
        win.push(2.0, 0.0)
