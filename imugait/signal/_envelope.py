"""Lower-envelope line fit used by the clock mapping (pure numpy).

The one-way delay ``y = arrival - sensor_time`` of a packet is the clock offset plus a latency
that is never negative. The line that best describes the *floor* of such points is found with
the linear program of Moon, Skelly & Towsley (1999), "Estimation and removal of clock skew from
network delay measurements", Proc. IEEE INFOCOM, pp. 227-234:

    maximise  sum_k (a + b x_k)   subject to   a + b x_k <= y_k  for all k.

Its objective equals ``n (a + b x̄)``, so the optimum is the supporting line of the lower convex
hull of the points at their centroid ``x̄``. The hull's value at ``x̄`` is the smallest value at
``x̄`` of a chord between one point left and one point right of ``x̄``; that chord's slope is the
skew. This is exact, needs no iterations and ignores points above the floor (latency spikes).
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from imugait.types import F64


def fit_lower_envelope(
    x: F64, y: F64, *, max_abs_slope: float, slope_if_single: float = 0.0
) -> tuple[float, float]:
    """Fit the line ``a + b x`` lying under all points ``(x, y)`` (Moon et al. 1999 LP).

    Parameters
    ----------
    x, y
        Points, ``x`` sorted ascending (n >= 1).
    max_abs_slope
        The slope is clipped to ``[-max_abs_slope, max_abs_slope]``; the intercept is then the
        highest one that keeps the clipped line under all points.
    slope_if_single
        Slope used when the points span no ``x`` range (one point, or all ``x`` equal).

    Returns
    -------
    (a, b)
        Intercept and slope; ``a + b x_k <= y_k`` holds for every point.
    """
    if len(x) == 0 or len(x) != len(y):
        raise ValueError("fit_lower_envelope needs matching, non-empty x and y")
    if len(x) == 1 or not x[-1] > x[0]:
        b = float(np.clip(slope_if_single, -max_abs_slope, max_abs_slope))
        return float(np.min(y - b * x)), b
    xc = math.fsum(x.tolist()) / len(x)  # exact sum: the same centroid as the window's
    on = np.flatnonzero(x == xc)
    if len(on):
        # The centroid is a point's abscissa. If that point (the lowest there) is a hull vertex,
        # every slope between its two hull edges is optimal (a degenerate LP whose chords'
        # values at x̄ differ only by round-off): take its left edge, as the hull walk of
        # LowerEnvelopeWindow does. The edges' slopes are the largest chord slope from the
        # left and the smallest to the right; the point is a vertex iff the former <= latter.
        v = int(on[np.argmin(y[on])])
        lt, gt = x < xc, x > xc
        b_left = float(np.max((y[v] - y[lt]) / (x[v] - x[lt])))
        b_right = float(np.min((y[gt] - y[v]) / (x[gt] - x[v])))
        if b_left <= b_right:
            b = float(np.clip(b_left, -max_abs_slope, max_abs_slope))
            return float(np.min(y - b * x)), b
    left, right = x <= xc, x >= xc
    xl, yl = x[left][:, None], y[left][:, None]
    xr, yr = x[right][None, :], y[right][None, :]
    dx = xr - xl
    valid = dx > 0
    slope = (yr - yl) / np.where(valid, dx, 1.0)
    at_centre = np.where(valid, yl + slope * (xc - xl), np.inf)
    best = int(np.argmin(at_centre))
    b = float(slope.flat[best])
    if abs(b) > max_abs_slope:
        b = float(np.clip(b, -max_abs_slope, max_abs_slope))
    # The chord is a supporting line; the min() guards against round-off and covers clipping.
    return float(np.min(y - b * x)), b


class LowerEnvelopeWindow:
    """A sliding window of points with its lower convex hull kept up to date (for the clock).

    The same fit as :func:`fit_lower_envelope` on the window's points, in ``O(hull)`` instead of
    ``O(n^2)``: the Moon et al. optimum is the edge of the lower hull that spans the centroid
    ``x̄``, so only the hull is needed. Points arrive in increasing ``x`` (Andrew's monotone
    chain: amortised ``O(1)`` per point) and leave from the left. The leftmost point is always a
    hull vertex; when it leaves, the hull is rebuilt only from the new leftmost point up to the
    old second vertex, which stays a vertex (a vertex of a set's hull that is in a subset is a
    vertex of the subset's hull), and the rest of the hull is unchanged.

    The state is a function of the sequence of ``push``/``drop_before`` calls only.
    """

    __slots__ = ("_hull", "_lo", "_x", "_y")

    def __init__(self) -> None:
        self._x: list[float] = []
        self._y: list[float] = []
        self._lo = 0  # absolute index of _x[0]
        self._hull: list[int] = []  # absolute indices of the lower-hull vertices, left to right

    def __len__(self) -> int:
        return len(self._x)

    def _chain(self, hull: list[int], i: int) -> None:
        """Append absolute point ``i`` to a lower chain, popping the vertices it makes concave."""
        xs, ys, lo = self._x, self._y, self._lo
        xb, yb = xs[i - lo], ys[i - lo]
        while len(hull) >= 2:
            o, a = hull[-2] - lo, hull[-1] - lo
            xo, yo = xs[o], ys[o]
            if (xs[a] - xo) * (yb - yo) - (ys[a] - yo) * (xb - xo) > 0:
                break
            hull.pop()
        hull.append(i)

    def push(self, x: float, y: float) -> None:
        """Add a point right of all others (``x`` larger than every ``x`` in the window)."""
        if self._x and not x > self._x[-1]:
            raise ValueError("LowerEnvelopeWindow: x must increase")
        self._x.append(x)
        self._y.append(y)
        self._chain(self._hull, self._lo + len(self._x) - 1)

    def drop_before(self, x_min: float) -> None:
        """Remove the points with ``x < x_min`` from the left, always keeping at least one."""
        xs, ys = self._x, self._y
        while len(xs) > 1 and xs[0] < x_min:
            del xs[0], ys[0]
            self._lo += 1
            lo = self._lo
            old = self._hull
            # old[0] was the dropped point; old[1] (if any) stays a vertex. The chain from the
            # new leftmost point up to it (as _chain, inlined: the hot loop of a refit).
            stop = old[1] if len(old) > 1 else lo
            hull: list[int] = []
            for i in range(lo, stop + 1):
                xb, yb = xs[i - lo], ys[i - lo]
                while len(hull) >= 2:
                    o, a = hull[-2] - lo, hull[-1] - lo
                    xo, yo = xs[o], ys[o]
                    if (xs[a] - xo) * (yb - yo) - (ys[a] - yo) * (xb - xo) > 0:
                        break
                    hull.pop()
                hull.append(i)
            hull.extend(old[2:])
            self._hull = hull

    def fit(self, *, max_abs_slope: float, slope_if_single: float = 0.0) -> tuple[float, float]:
        """The line ``a + b x`` of :func:`fit_lower_envelope` on the window's points.

        The intercept is the highest one keeping the line under every hull vertex (so under
        every point, up to round-off in a near-collinear triple).
        """
        xs, ys = self._x, self._y
        if not xs:
            raise ValueError("LowerEnvelopeWindow.fit needs at least one point")
        hull = self._hull
        if len(hull) == 1:  # one point (x increases, so two points make two vertices)
            b = min(max(slope_if_single, -max_abs_slope), max_abs_slope)
        else:
            xc = math.fsum(xs) / len(xs)
            lo = self._lo
            j = bisect.bisect_left(hull, xc, key=lambda i: xs[i - lo])
            j = min(max(j, 1), len(hull) - 1)
            il, ir = hull[j - 1] - lo, hull[j] - lo
            b = (ys[ir] - ys[il]) / (xs[ir] - xs[il])
            b = min(max(b, -max_abs_slope), max_abs_slope)
        lo = self._lo
        a = min(ys[i - lo] - b * xs[i - lo] for i in hull)
        return a, b
