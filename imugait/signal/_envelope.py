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
    xc = float(x.sum() / len(x))
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
