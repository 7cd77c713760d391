"""Hinge-joint axis and joint-centre identification from two IMUs with unknown mounting.

Implements steps 1 and 2 of Seel, Raisch & Schauer (2014), "IMU-based joint angle measurement
for gait analysis", *Sensors* 14(4):6891-6909 (see ``docs/biomechanics.md`` §2.2c):

1. the joint axis ``j1`` (thigh sensor frame) and ``j2`` (shank sensor frame) minimise
   ``sum_t (|g1(t) x j1| - |g2(t) x j2|)^2``: for a hinge the two angular rates differ only by a
   rotation about the axis, so their components perpendicular to it have equal norms;
2. the joint centre, as the vectors ``o1``/``o2`` from each sensor to the knee centre, minimise
   ``sum_t (|a1 + G1(o1)| - |a2 + G2(o2)|)^2`` with ``G_g(o) = g x (g x o) + dg/dt x o`` (both
   sensors must see the same joint-centre acceleration, up to a rotation about the axis). Seel
   writes ``a - G(o)``, i.e. his ``o`` points from the joint centre to the sensor; we keep the
   sensor -> knee direction because the zero definition uses it.

The axis signs are ambiguous in step 1. :func:`align_axis_signs` makes them consistent (both
point the same physical way) from the data; the overall sign (flexion positive) is decided by
``knee_angle.identify_knee_model`` from the angle's distribution.

All functions are pure; inputs are ``(n, 3)`` arrays in SI units (rad/s, m/s^2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import least_squares, leastsq

F64 = NDArray[np.float64]

__all__ = [
    "AxisFit",
    "PositionFit",
    "align_axis_signs",
    "angular_acceleration",
    "dot3",
    "hinge_residual_ratio",
    "identify_joint_axis",
    "identify_joint_position",
    "identify_sagittal_axes",
    "informative_mask",
    "norm3",
    "rotational_acc",
    "rotational_acc_cols",
    "unit_from_spherical",
]


@dataclass(frozen=True, slots=True)
class AxisFit:
    """Result of the joint-axis fit.

    ``axis_thigh``/``axis_shank`` are unit vectors in the respective sensor frames.
    ``rms_rad_s`` is the RMS residual of the Seel cost on the samples used (``n_used``);
    ``sign_corr`` the correlation of the two axial rates after :func:`align_axis_signs`
    (positive; near 0 means the relative sign was weakly determined).
    """

    axis_thigh: F64
    axis_shank: F64
    rms_rad_s: float
    n_used: int
    sign_corr: float


@dataclass(frozen=True, slots=True)
class PositionFit:
    """Result of the joint-centre fit: sensor -> knee-centre vectors in each sensor frame (m).

    The vectors are shifted along the axis so that they are as short as possible in common
    (``s = (o1.j1 + o2.j2) / 2``, as recommended in §2.2c). ``rms_m_s2`` is the RMS residual.
    """

    pos_thigh_m: F64
    pos_shank_m: F64
    rms_m_s2: float


def unit_from_spherical(phi_rad: float, theta_rad: float) -> F64:
    """Unit vector ``(cos phi cos theta, cos phi sin theta, sin phi)`` (Seel 2014, eq. 2)."""
    c = np.cos(phi_rad)
    return np.array([c * np.cos(theta_rad), c * np.sin(theta_rad), np.sin(phi_rad)])


def informative_mask(
    gyr_thigh_rad_s: F64, gyr_shank_rad_s: F64, *, min_rate_rad_s: float
) -> NDArray[np.bool_]:
    """Samples where both segments rotate faster than ``min_rate_rad_s`` (§2.5: informative)."""
    mask = (norm3(gyr_thigh_rad_s) > min_rate_rad_s) & (norm3(gyr_shank_rad_s) > min_rate_rad_s)
    return np.asarray(mask, dtype=np.bool_)


def _subsample(idx: NDArray[np.intp], max_samples: int) -> NDArray[np.intp]:
    if len(idx) <= max_samples:
        return idx
    pick = np.linspace(0, len(idx) - 1, max_samples).round().astype(np.intp)
    return idx[pick]


Cols = tuple[F64, F64, F64]


def _columns(v: F64) -> Cols:
    """The three columns of ``(n, 3)`` as contiguous arrays (the fits evaluate them many times)."""
    c = np.ascontiguousarray(np.asarray(v, dtype=np.float64).T)
    return c[0], c[1], c[2]


def _perp_norm(g: Cols, j: F64) -> F64:
    """``|g x j|`` per row, by components: the same float operations as
    ``np.linalg.norm(np.cross(g, j), axis=1)`` (bit-identical), without their per-call overhead."""
    g0, g1, g2 = g
    j0, j1, j2 = float(j[0]), float(j[1]), float(j[2])
    c0 = g1 * j2 - g2 * j1
    c1 = g2 * j0 - g0 * j2
    c2 = g0 * j1 - g1 * j0
    return np.asarray(np.sqrt(c0 * c0 + c1 * c1 + c2 * c2), dtype=np.float64)


def _axis_residual(x: F64, g1: F64, g2: F64, c1: Cols, c2: Cols, gg1: F64, gg2: F64) -> F64:
    j1 = unit_from_spherical(x[0], x[1])
    j2 = unit_from_spherical(x[2], x[3])
    return np.asarray(_perp_norm(c1, j1) - _perp_norm(c2, j2), dtype=np.float64)


def _perp_norm_grad(g: F64, gg: F64, phi: float, theta: float, out: F64) -> None:
    """Gradient of ``|g x j|`` with respect to ``(phi, theta)`` for ``j(phi, theta)``, into the
    two columns of ``out``.

    With ``|j| = 1``: ``|g x j| = sqrt(|g|^2 - (g.j)^2)`` and ``d|g x j|/dj = -(g.j) g / |g x j|``.
    ``gg`` is ``|g|^2`` per row (``einsum("ij,ij->i", g, g)``, computed once per fit).
    """
    sp, cp, s_t, c_t = np.sin(phi), np.cos(phi), np.sin(theta), np.cos(theta)
    j = np.array([cp * c_t, cp * s_t, sp])  # unit_from_spherical(phi, theta)
    dj_dphi = np.array([-sp * c_t, -sp * s_t, cp])
    dj_dtheta = np.array([-cp * s_t, cp * c_t, 0.0])
    gj = g @ j
    k = -gj / np.sqrt(np.maximum(gg - gj**2, 1e-18))
    np.multiply(k, g @ dj_dphi, out=out[:, 0])
    np.multiply(k, g @ dj_dtheta, out=out[:, 1])


def _axis_jacobian(x: F64, g1: F64, g2: F64, c1: Cols, c2: Cols, gg1: F64, gg2: F64) -> F64:
    jac = np.empty((len(g1), 4))
    _perp_norm_grad(g1, gg1, float(x[0]), float(x[1]), jac[:, 0:2])
    _perp_norm_grad(g2, gg2, float(x[2]), float(x[3]), jac[:, 2:4])
    np.negative(jac[:, 2:4], out=jac[:, 2:4])
    return jac


def identify_joint_axis(
    gyr_thigh_rad_s: F64,
    gyr_shank_rad_s: F64,
    *,
    min_rate_rad_s: float = 0.5,
    max_samples: int = 3000,
    n_restarts: int = 6,
    seed: int = 0,
) -> AxisFit:
    """Identify the hinge axis in both sensor frames (Seel et al. 2014, step 1).

    Parameters
    ----------
    gyr_thigh_rad_s, gyr_shank_rad_s
        ``(n, 3)`` angular rates of the two sensors on a common time grid.
    min_rate_rad_s
        Only samples where both rates exceed this are used (informative samples).
    max_samples
        At most this many informative samples, evenly spaced, enter the fit.
    n_restarts
        Number of Levenberg-Marquardt runs from deterministic pseudo-random starts; the lowest
        cost wins (the cost has spurious local minima).
    seed
        Seed of the start points (the fit is deterministic for a given seed).

    Returns
    -------
    AxisFit
        Unit axes with consistent relative sign (see :func:`align_axis_signs`).

    Raises
    ------
    ValueError
        If fewer than 50 informative samples are available.
    """
    idx = np.flatnonzero(
        informative_mask(gyr_thigh_rad_s, gyr_shank_rad_s, min_rate_rad_s=min_rate_rad_s)
    )
    if len(idx) < 50:
        raise ValueError(f"only {len(idx)} informative samples; need >= 50 for the axis fit")
    idx = _subsample(idx, max_samples)
    g1, g2 = gyr_thigh_rad_s[idx], gyr_shank_rad_s[idx]
    args = (
        g1,
        g2,
        _columns(g1),
        _columns(g2),
        np.einsum("ij,ij->i", g1, g1),
        np.einsum("ij,ij->i", g2, g2),
    )
    rng = np.random.default_rng(seed)
    best: tuple[float, F64] | None = None
    for _ in range(max(1, n_restarts)):
        x0 = np.concatenate(
            [[rng.uniform(-1.2, 1.2), rng.uniform(-np.pi, np.pi)] for _ in range(2)]
        )
        # MINPACK's lmder, as least_squares(method="lm", x_scale=1.0) calls it (same
        # tolerances, step bound, scaling and evaluation budget: the same iterates and
        # result), without that wrapper's per-evaluation overhead
        x, _, info, _, _ = leastsq(
            _axis_residual,
            x0,
            args=args,
            Dfun=_axis_jacobian,
            full_output=True,
            ftol=1e-8,
            xtol=1e-8,
            gtol=1e-8,
            maxfev=400,
            factor=100.0,
            diag=np.ones(4),
        )
        fvec = np.asarray(info["fvec"], dtype=np.float64)
        cost = float(0.5 * np.dot(fvec, fvec))
        if best is None or cost < best[0]:
            best = (cost, np.asarray(x, dtype=np.float64))
    assert best is not None
    j1 = unit_from_spherical(best[1][0], best[1][1])
    j2 = unit_from_spherical(best[1][2], best[1][3])
    j2, corr = align_axis_signs(gyr_thigh_rad_s[idx], gyr_shank_rad_s[idx], j1, j2)
    rms = float(np.sqrt(2.0 * best[0] / len(idx)))
    return AxisFit(axis_thigh=j1, axis_shank=j2, rms_rad_s=rms, n_used=len(idx), sign_corr=corr)


def identify_sagittal_axes(
    acc_thigh_m_s2: F64,
    gyr_thigh_rad_s: F64,
    acc_shank_m_s2: F64,
    gyr_shank_rad_s: F64,
    *,
    min_rate_rad_s: float = 0.5,
) -> AxisFit:
    """Fallback axis estimate for gait when the hinge model is violated (loose straps, STA).

    Each segment's long axis is approximated by its mean specific-force direction over the
    window (segments hang roughly vertical on average in gait); the flexion axis is the first
    principal component of the angular rate *perpendicular* to that long axis, on the
    informative samples. This follows the PCA functional-axis idea of McGrath, Fineman &
    Stirling (2018), *Sensors* 18(6):1882, with the axial (long-axis) rotation removed first, so
    strap wobble about the segment does not tilt the axis. ``rms_rad_s`` is the Seel hinge
    residual at the returned axes (for comparison with :func:`identify_joint_axis`).
    """
    idx = np.flatnonzero(
        informative_mask(gyr_thigh_rad_s, gyr_shank_rad_s, min_rate_rad_s=min_rate_rad_s)
    )
    if len(idx) < 50:
        raise ValueError(f"only {len(idx)} informative samples; need >= 50 for the axis fit")
    axes = []
    for acc, gyr in ((acc_thigh_m_s2, gyr_thigh_rad_s), (acc_shank_m_s2, gyr_shank_rad_s)):
        up = acc.mean(axis=0)
        up = up / np.linalg.norm(up)
        g = gyr[idx] - np.outer(dot3(gyr[idx], up), up)
        axes.append(np.asarray(np.linalg.svd(g, full_matrices=False)[2][0], dtype=np.float64))
    j1, j2 = axes
    j2, corr = align_axis_signs(gyr_thigh_rad_s[idx], gyr_shank_rad_s[idx], j1, j2)
    res = _perp_norm(_columns(gyr_thigh_rad_s[idx]), j1) - _perp_norm(
        _columns(gyr_shank_rad_s[idx]), j2
    )
    rms = float(np.sqrt(np.mean(res**2)))
    return AxisFit(axis_thigh=j1, axis_shank=j2, rms_rad_s=rms, n_used=len(idx), sign_corr=corr)


def hinge_residual_ratio(
    fit: AxisFit, gyr_thigh_rad_s: F64, gyr_shank_rad_s: F64, *, min_rate_rad_s: float = 0.5
) -> float:
    """Seel residual RMS divided by the RMS angular rate of the informative samples.

    Near 0 when the two sensors move as a rigid hinge (synthetic data: < 0.02); large values
    (> 0.2) mean large non-hinge motion of a sensor (soft tissue, strap wobble).
    """
    m = informative_mask(gyr_thigh_rad_s, gyr_shank_rad_s, min_rate_rad_s=min_rate_rad_s)
    if not m.any():
        return float("inf")
    rate = np.sqrt(0.5 * np.mean(norm3(gyr_thigh_rad_s[m]) ** 2 + norm3(gyr_shank_rad_s[m]) ** 2))
    return fit.rms_rad_s / float(rate)


def align_axis_signs(
    gyr_thigh_rad_s: F64, gyr_shank_rad_s: F64, axis_thigh: F64, axis_shank: F64
) -> tuple[F64, float]:
    """Flip ``axis_shank`` so both axes point the same physical way; return it and the score.

    The Seel cost cannot tell ``j2`` from ``-j2``, and neither can the 2-D acc/gyro angle pair
    (a mirrored shank frame is self-consistent). With consistent signs the axial rates are the
    two segments' sagittal angular velocities, which are positively correlated during gait
    and most functional movements (thigh and shank swing forward and back together); with
    inconsistent signs they are anti-correlated. Returns the possibly flipped shank axis and
    the correlation after alignment (>= 0; close to 0 = weak evidence).
    """
    w1 = gyr_thigh_rad_s @ axis_thigh
    w2 = gyr_shank_rad_s @ axis_shank
    s1, s2 = float(np.std(w1)), float(np.std(w2))
    corr = float(np.mean((w1 - w1.mean()) * (w2 - w2.mean())) / (s1 * s2)) if s1 * s2 > 0 else 0.0
    if corr < 0:
        return -axis_shank, -corr
    return axis_shank.copy(), corr


def dot3(v: F64, u: F64) -> F64:
    """Row-wise dot product of ``(n, 3)`` with a 3-vector, elementwise (no BLAS), so every
    row's result is bit-identical however the rows are chunked."""
    return np.asarray(v[:, 0] * u[0] + v[:, 1] * u[1] + v[:, 2] * u[2], dtype=np.float64)


def norm3(v: F64) -> F64:
    """Row-wise Euclidean norm of ``(n, 3)``, elementwise (chunk-invariant, see :func:`dot3`)."""
    return np.asarray(np.sqrt(v[:, 0] ** 2 + v[:, 1] ** 2 + v[:, 2] ** 2), dtype=np.float64)


def angular_acceleration(gyr_rad_s: F64, t_s: F64) -> F64:
    """Angular acceleration (rad/s^2): ``(g[k+1] - g[k-1]) / (t[k+1] - t[k-1])``, one-sided
    differences at the two ends. Each value depends on its neighbours only."""
    n = len(t_s)
    out = np.zeros_like(gyr_rad_s)
    if n < 2:
        return out
    out[1:-1] = (gyr_rad_s[2:] - gyr_rad_s[:-2]) / (t_s[2:] - t_s[:-2])[:, None]
    out[0] = (gyr_rad_s[1] - gyr_rad_s[0]) / (t_s[1] - t_s[0])
    out[-1] = (gyr_rad_s[-1] - gyr_rad_s[-2]) / (t_s[-1] - t_s[-2])
    return out


def rotational_acc_cols(g: Cols, dg: Cols, o: tuple[F64 | float, ...]) -> Cols:
    """Columns of ``g x (g x o) + dg x o`` by components: the same float operations, in the same
    order, as :func:`numpy.cross` on ``(n, 3)`` arrays (so bit-identical to it), without its
    per-call overhead (axis moves, broadcasting, temporaries)."""
    g0, g1, g2 = g
    d0, d1, d2 = dg
    o0, o1, o2 = o
    c0 = g1 * o2 - g2 * o1
    c1 = g2 * o0 - g0 * o2
    c2 = g0 * o1 - g1 * o0
    return (
        (g1 * c2 - g2 * c1) + (d1 * o2 - d2 * o1),
        (g2 * c0 - g0 * c2) + (d2 * o0 - d0 * o2),
        (g0 * c1 - g1 * c0) + (d0 * o1 - d1 * o0),
    )


def rotational_acc(gyr_rad_s: F64, dgyr_rad_s2: F64, pos_m: F64) -> F64:
    """``G_g(o) = g x (g x o) + dg/dt x o``: acceleration of the point at ``o`` (sensor frame,
    rigidly attached) relative to the sensor, so the specific force there is ``a + G_g(o)``."""
    g = np.asarray(gyr_rad_s, dtype=np.float64)
    dg = np.asarray(dgyr_rad_s2, dtype=np.float64)
    o = np.asarray(pos_m, dtype=np.float64)
    cols = rotational_acc_cols(
        (g[:, 0], g[:, 1], g[:, 2]),
        (dg[:, 0], dg[:, 1], dg[:, 2]),
        (o[..., 0], o[..., 1], o[..., 2]),
    )
    out = np.empty(g.shape)
    out[:, 0], out[:, 1], out[:, 2] = cols
    return out


def _shifted_norm(a: Cols, g: Cols, dg: Cols, o: F64) -> F64:
    """``|a + G_g(o)|`` per row from column arrays (``o`` a 3-vector); bit-identical to
    ``np.linalg.norm(a + rotational_acc(g, dg, o), axis=1)``."""
    r0, r1, r2 = rotational_acc_cols(g, dg, (float(o[0]), float(o[1]), float(o[2])))
    v0, v1, v2 = a[0] + r0, a[1] + r1, a[2] + r2
    return np.asarray(np.sqrt(v0 * v0 + v1 * v1 + v2 * v2), dtype=np.float64)


class _PositionResidual:
    """The joint-centre residual ``|a1 + G1(o1)| - |a2 + G2(o2)|`` of ``x = (o1, o2)``.

    Each half depends on three of the six parameters, and a finite-difference Jacobian moves one
    parameter at a time, so each half is remembered for its last few parameter triples: a
    Jacobian then costs 6 half-evaluations instead of 12, with exactly the same values.
    """

    _KEEP = 5

    def __init__(self, g1: F64, dg1: F64, a1: F64, g2: F64, dg2: F64, a2: F64) -> None:
        self._sides = (
            (_columns(a1), _columns(g1), _columns(dg1)),
            (_columns(a2), _columns(g2), _columns(dg2)),
        )
        self._memo: tuple[dict[bytes, F64], dict[bytes, F64]] = ({}, {})

    def _half(self, k: int, o: F64) -> F64:
        memo = self._memo[k]
        key = o.tobytes()
        e = memo.get(key)
        if e is None:
            a, g, dg = self._sides[k]
            e = _shifted_norm(a, g, dg, o)
            if len(memo) >= self._KEEP:
                del memo[next(iter(memo))]
            memo[key] = e
        return e

    def __call__(self, x: F64) -> F64:
        x = np.asarray(x, dtype=np.float64)
        return np.asarray(self._half(0, x[:3]) - self._half(1, x[3:]), dtype=np.float64)


def identify_joint_position(
    t_s: F64,
    acc_thigh_m_s2: F64,
    gyr_thigh_rad_s: F64,
    acc_shank_m_s2: F64,
    gyr_shank_rad_s: F64,
    axis_thigh: F64,
    axis_shank: F64,
    *,
    min_rate_rad_s: float = 0.5,
    max_samples: int = 3000,
    max_dist_m: float = 0.6,
    f_scale_m_s2: float = 0.5,
) -> PositionFit:
    """Identify the knee centre in both sensor frames (Seel et al. 2014, step 2).

    ``dg/dt`` is obtained by central differences; at 100 Hz it is poor at moments of high
    angular jerk (heel strike), so the fit uses a robust soft-L1 loss with scale
    ``f_scale_m_s2``. The fit starts from ``o = 0`` and from
    points ``0.2 m`` along the other sensor axes, keeping the lowest cost; solutions farther
    than ``max_dist_m`` from a sensor are discarded as implausible. The result is shifted
    along the axis (``s = (o1.j1 + o2.j2)/2``, computed once).
    """
    dg1 = angular_acceleration(gyr_thigh_rad_s, t_s)
    dg2 = angular_acceleration(gyr_shank_rad_s, t_s)
    idx = np.flatnonzero(
        informative_mask(gyr_thigh_rad_s, gyr_shank_rad_s, min_rate_rad_s=min_rate_rad_s)
    )
    if len(idx) < 50:
        raise ValueError(f"only {len(idx)} informative samples; need >= 50 for the position fit")
    idx = _subsample(idx, max_samples)
    residual = _PositionResidual(
        gyr_thigh_rad_s[idx],
        dg1[idx],
        acc_thigh_m_s2[idx],
        gyr_shank_rad_s[idx],
        dg2[idx],
        acc_shank_m_s2[idx],
    )
    starts = [np.zeros(6)]
    for k in range(3):
        e = np.zeros(3)
        e[k] = 0.2
        starts += [np.concatenate([e, -e]), np.concatenate([-e, e])]
    best: tuple[float, F64] | None = None
    for x0 in starts:
        res = least_squares(residual, x0, loss="soft_l1", f_scale=f_scale_m_s2)
        x = np.asarray(res.x, dtype=np.float64)
        o1 = x[:3] - (x[:3] @ axis_thigh) * axis_thigh
        o2 = x[3:] - (x[3:] @ axis_shank) * axis_shank
        if max(np.linalg.norm(o1), np.linalg.norm(o2)) > max_dist_m:
            continue
        if best is None or float(res.cost) < best[0]:
            best = (float(res.cost), x)
    if best is None:
        raise ValueError("joint-centre fit found no plausible solution")
    x = best[1]
    o1, o2 = x[:3].copy(), x[3:].copy()
    s = 0.5 * (float(o1 @ axis_thigh) + float(o2 @ axis_shank))
    o1 -= s * axis_thigh
    o2 -= s * axis_shank
    rms = float(np.sqrt(np.mean(residual(x) ** 2)))
    return PositionFit(pos_thigh_m=o1, pos_shank_m=o2, rms_m_s2=rms)
