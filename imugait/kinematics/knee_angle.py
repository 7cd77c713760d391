"""Knee flexion angle from a thigh and a shank IMU: acc angle, gyro rate and their fusion.

Steps 3-5 of Seel, Raisch & Schauer (2014), *Sensors* 14(4):6891-6909 (``biomechanics.md`` §2.2c),
with two changes:

* **Zero.** Seel's accelerometer angle uses an arbitrary in-plane reference, so its zero is
  arbitrary. Here the in-plane reference of each sensor is the segment's long axis as seen from
  the data: the sensor -> knee-centre vector found by :func:`~.joint_axis.identify_joint_position`,
  projected on the plane perpendicular to the axis (thigh: pointing distally from the thigh
  sensor to the knee; shank: its opposite, as the shank sensor lies below the knee). 0 rad is
  then "sensor-to-knee lines collinear", a geometric definition that does not depend on any
  posture, standing or gait event, so hyperextension stays negative. Residual error: a sensor
  mounted ``a`` metres anterior/posterior of its segment's long axis at distance ``d`` from the
  knee shifts the zero by about ``atan(a/d)`` (e.g. 2 cm at 20 cm = 5.7 deg per sensor) plus the
  joint-centre fit error. The clinician's goniometer calibration (``calibration.py``) removes it.
  The joint-centre fit needs sensors that move rigidly with their segments; when the hinge
  model is violated (loose straps, soft tissue) the zero is flagged unreliable
  (``KneeModel.zero_reliable``), as measured on the NeuRA recording (zero off by 75-110 deg).
* **Fusion.** Instead of Seel's first-order complementary filter, a steady-state two-state
  (angle, relative gyro bias) observer, critically damped with time constant ``tau_s``; the bias
  state makes it drift-free under constant or slowly varying gyro bias. Samples violating the
  hinge model (``|a1~| != |a2~|``) are down-weighted instead of Seel's constant ``lambda``.

Sign convention: positive = flexion, negative = hyperextension, for both legs; the overall sign
is decided from the data (:func:`flexion_sign` on the detrended gyro angle of the
identification window).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from imugait.kinematics.joint_axis import (
    AxisFit,
    dot3,
    hinge_residual_ratio,
    identify_joint_axis,
    identify_joint_position,
    identify_sagittal_axes,
    rotational_acc_cols,
)

F64 = NDArray[np.float64]

__all__ = [
    "FusionState",
    "KneeModel",
    "acc_angle",
    "detrended_gyro_angle",
    "flexion_sign",
    "fuse",
    "gyro_rate",
    "identify_knee_model",
    "initial_state",
    "reacquire_state",
    "segment_starts",
]

#: Sensor-to-knee distance (m, perpendicular to the axis) below which the geometric zero is unusable.
MIN_REF_DIST_M = 0.03


@dataclass(frozen=True, slots=True)
class KneeModel:
    """Everything needed to turn a thigh/shank sample pair into a knee angle.

    Vectors are in the respective sensor frames. ``ref_*`` are unit vectors perpendicular to the
    axis giving each segment's zero direction; ``offset_rad`` is added to the angle (0 unless a
    goniometer calibration set it). ``ref_dist_*_m`` are the sensor-to-knee distances
    perpendicular to the axis (the lever of the zero definition); ``sign_margin_rad`` and
    ``axis_rms_rad_s`` describe how well the data determined the model.
    """

    axis_thigh: F64
    axis_shank: F64
    pos_thigh_m: F64
    pos_shank_m: F64
    ref_thigh: F64
    ref_shank: F64
    offset_rad: float = 0.0
    ref_dist_thigh_m: float = math.nan
    ref_dist_shank_m: float = math.nan
    axis_rms_rad_s: float = math.nan
    pos_rms_m_s2: float = math.nan
    sign_corr: float = math.nan
    sign_margin_rad: float = math.nan
    hinge_ratio: float = math.nan
    axis_method: str = "seel"

    @property
    def zero_reliable(self) -> bool:
        """Whether the geometric (uncalibrated) zero can be trusted.

        It needs both sensor-to-knee levers >= ``MIN_REF_DIST_M`` and the hinge
        model to hold (``axis_method == "seel"``): the joint-centre fit behind the zero fails
        when a sensor moves on its segment (measured on real data: zero errors of 75-110 deg).
        """
        levers_ok = min(self.ref_dist_thigh_m, self.ref_dist_shank_m) >= MIN_REF_DIST_M
        return bool(levers_ok and self.axis_method == "seel")

    def flipped(self) -> KneeModel:
        """The same model with both axes reversed (negates the angle)."""
        return replace(self, axis_thigh=-self.axis_thigh, axis_shank=-self.axis_shank)


def gyro_rate(model: KneeModel, gyr_thigh_rad_s: F64, gyr_shank_rad_s: F64) -> F64:
    """Knee angular rate ``g2.j2 - g1.j1`` (rad/s): the rate of the shank relative to the thigh."""
    return dot3(gyr_shank_rad_s, model.axis_shank) - dot3(gyr_thigh_rad_s, model.axis_thigh)


def acc_angle(
    model: KneeModel,
    acc_thigh_m_s2: F64,
    gyr_thigh_rad_s: F64,
    dgyr_thigh_rad_s2: F64,
    acc_shank_m_s2: F64,
    gyr_shank_rad_s: F64,
    dgyr_shank_rad_s2: F64,
) -> tuple[F64, F64]:
    """Accelerometer-based knee angle (rad) and the hinge-model mismatch of each sample (m/s^2).

    Both accelerations are shifted to the knee centre (``a + G_g(o)``), where they are the same
    physical vector; its direction in each sensor's plane perpendicular to the axis, measured
    from that sensor's reference direction, differs by exactly the knee angle (Seel 2014, step 4).
    The angle includes ``offset_rad`` and is wrapped into ``[-pi/2, 3pi/2)``, which keeps every
    anatomically possible angle on one branch.

    The mismatch ``| |a1~| - |a2~| | + |a1~.j1 - a2~.j2|`` is zero for an ideal rigid hinge;
    it grows where the model fails (soft-tissue motion, impacts, ``dg/dt`` discretisation at
    high angular jerk) and is used by :func:`fuse` to down-weight those samples.
    """
    # By components (see joint_axis.rotational_acc_cols): the same float operations as
    # np.cross / dot3 / norm3 on (n, 3) arrays, so bit-identical, at a fraction of the calls.
    t0, t1, t2 = _shifted_acc(acc_thigh_m_s2, gyr_thigh_rad_s, dgyr_thigh_rad_s2, model.pos_thigh_m)
    s0, s1, s2 = _shifted_acc(acc_shank_m_s2, gyr_shank_rad_s, dgyr_shank_rad_s2, model.pos_shank_m)
    jt, rt = model.axis_thigh.tolist(), model.ref_thigh.tolist()
    js, rs = model.axis_shank.tolist(), model.ref_shank.tolist()
    side_t, side_s = _cross3(jt, rt), _cross3(js, rs)
    ang_t = np.arctan2(_dot(t0, t1, t2, side_t), _dot(t0, t1, t2, rt))
    ang_s = np.arctan2(_dot(s0, s1, s2, side_s), _dot(s0, s1, s2, rs))
    a = ang_t - ang_s + model.offset_rad
    norm_t = np.sqrt(t0 * t0 + t1 * t1 + t2 * t2)
    norm_s = np.sqrt(s0 * s0 + s1 * s1 + s2 * s2)
    mismatch = np.abs(norm_t - norm_s) + np.abs(_dot(t0, t1, t2, jt) - _dot(s0, s1, s2, js))
    wrapped = np.mod(a + 0.5 * np.pi, 2.0 * np.pi) - 0.5 * np.pi
    return np.asarray(wrapped, dtype=np.float64), np.asarray(mismatch, dtype=np.float64)


#: Runs of at most this many samples (live: a notification's worth) are computed on Python
#: scalars: the same float operations as the array code (bit-identical results), without the
#: fixed cost of ~50 numpy calls.
SMALL_RUN = 16


#: One sample for :func:`acc_angle_rows`: acc, gyr, dgyr of the thigh, then of the shank.
SampleRow = tuple[list[float], list[float], list[float], list[float], list[float], list[float]]


def acc_angle_rows(
    model: KneeModel, rows: Sequence[SampleRow]
) -> tuple[list[float], list[float], list[float]]:
    """:func:`acc_angle` and :func:`gyro_rate` of a few samples on Python scalars.

    ``rows`` holds per sample ``(acc_thigh, gyr_thigh, dgyr_thigh, acc_shank, gyr_shank,
    dgyr_shank)`` (3 floats each). Every operation is the one of the array code, in the same
    order (only ``arctan2`` is numpy's, on all values at once), so the results are identical.
    Returns the acc angles, the hinge mismatches and the knee rates.
    """
    ot, os_ = model.pos_thigh_m.tolist(), model.pos_shank_m.tolist()
    jt, rt = model.axis_thigh.tolist(), model.ref_thigh.tolist()
    js, rs = model.axis_shank.tolist(), model.ref_shank.tolist()
    side_t, side_s = _cross3(jt, rt), _cross3(js, rs)
    ys: list[float] = []
    xs: list[float] = []
    mismatch: list[float] = []
    rate: list[float] = []
    for a1, g1, d1, a2, g2, d2 in rows:
        t0, t1, t2 = _shifted_acc_row(a1, g1, d1, ot)
        s0, s1, s2 = _shifted_acc_row(a2, g2, d2, os_)
        ys.append(t0 * side_t[0] + t1 * side_t[1] + t2 * side_t[2])
        xs.append(t0 * rt[0] + t1 * rt[1] + t2 * rt[2])
        ys.append(s0 * side_s[0] + s1 * side_s[1] + s2 * side_s[2])
        xs.append(s0 * rs[0] + s1 * rs[1] + s2 * rs[2])
        norm_t = math.sqrt(t0 * t0 + t1 * t1 + t2 * t2)
        norm_s = math.sqrt(s0 * s0 + s1 * s1 + s2 * s2)
        axial_t = t0 * jt[0] + t1 * jt[1] + t2 * jt[2]
        axial_s = s0 * js[0] + s1 * js[1] + s2 * js[2]
        mismatch.append(abs(norm_t - norm_s) + abs(axial_t - axial_s))
        rate.append(
            (g2[0] * js[0] + g2[1] * js[1] + g2[2] * js[2])
            - (g1[0] * jt[0] + g1[1] * jt[1] + g1[2] * jt[2])
        )
    ang = np.arctan2(np.array(ys), np.array(xs)).tolist()  # thigh, shank, thigh, shank, ...
    half_pi, two_pi, off = 0.5 * np.pi, 2.0 * np.pi, model.offset_rad
    alpha = [
        ((a_t - a_s + off + half_pi) % two_pi) - half_pi
        for a_t, a_s in zip(ang[0::2], ang[1::2], strict=True)
    ]
    return alpha, mismatch, rate


def _shifted_acc_row(
    a: list[float], g: list[float], dg: list[float], o: list[float]
) -> tuple[float, float, float]:
    """One sample of :func:`_shifted_acc` (``a + g x (g x o) + dg x o``), same operations."""
    gx, gy, gz = g
    dx, dy, dz = dg
    o0, o1, o2 = o
    c0 = gy * o2 - gz * o1
    c1 = gz * o0 - gx * o2
    c2 = gx * o1 - gy * o0
    return (
        a[0] + ((gy * c2 - gz * c1) + (dy * o2 - dz * o1)),
        a[1] + ((gz * c0 - gx * c2) + (dz * o0 - dx * o2)),
        a[2] + ((gx * c1 - gy * c0) + (dx * o1 - dy * o0)),
    )


def _cross3(u: list[float], v: list[float]) -> list[float]:
    """``u x v`` of two 3-vectors (the float operations of :func:`numpy.cross`)."""
    return [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]]


def _dot(v0: F64, v1: F64, v2: F64, u: list[float]) -> F64:
    """Row-wise ``v . u`` from the columns of ``v`` (the float operations of ``dot3``)."""
    return np.asarray(v0 * u[0] + v1 * u[1] + v2 * u[2], dtype=np.float64)


def _shifted_acc(
    acc_m_s2: F64, gyr_rad_s: F64, dgyr_rad_s2: F64, pos_m: F64
) -> tuple[F64, F64, F64]:
    """Columns of ``a + G_g(o)``: the specific force at the knee centre, sensor axes."""
    o = pos_m.tolist()
    r0, r1, r2 = rotational_acc_cols(
        (gyr_rad_s[:, 0], gyr_rad_s[:, 1], gyr_rad_s[:, 2]),
        (dgyr_rad_s2[:, 0], dgyr_rad_s2[:, 1], dgyr_rad_s2[:, 2]),
        (o[0], o[1], o[2]),
    )
    return acc_m_s2[:, 0] + r0, acc_m_s2[:, 1] + r1, acc_m_s2[:, 2] + r2


@dataclass(frozen=True, slots=True)
class FusionState:
    """State carried between samples by :func:`fuse` (angle rad, relative gyro bias rad/s)."""

    alpha_rad: float
    bias_rad_s: float
    prev_rate_rad_s: float
    prev_t_s: float


def segment_starts(t_s: F64, max_dt_s: float) -> NDArray[np.intp]:
    """Indices where a new gap-free segment starts: 0 and every ``k`` with ``t[k] - t[k-1] >
    max_dt_s``."""
    if len(t_s) == 0:
        return np.empty(0, dtype=np.intp)
    return np.concatenate([[0], np.flatnonzero(np.diff(t_s) > max_dt_s) + 1]).astype(np.intp)


def _segment_integral(t_s: F64, rate_rad_s: F64, starts: NDArray[np.intp]) -> F64:
    """Trapezoidal integral of the rate restarting at 0 at every segment start (never across
    a gap, where the rotation is unknown)."""
    inc = np.concatenate([[0.0], 0.5 * (rate_rad_s[1:] + rate_rad_s[:-1]) * np.diff(t_s)])
    inc[starts] = 0.0
    g = np.cumsum(inc)
    seg = np.cumsum(np.isin(np.arange(len(t_s)), starts)) - 1
    return np.asarray(g - g[starts][seg], dtype=np.float64)


def initial_state(
    t_s: F64, rate_rad_s: F64, alpha_acc_rad: F64, *, max_dt_s: float = math.inf
) -> FusionState:
    """Initial angle and bias from a window: least-squares fit ``alpha_acc ~ c_s + G_s(t) - b t``.

    ``G_s`` is the trapezoidal integral of the gyro rate within each gap-free segment ``s``
    (consecutive samples at most ``max_dt_s`` apart), ``c_s`` that segment's angle at its start
    (the rotation during a gap is unknown, so each segment gets its own constant) and ``b`` the
    constant relative gyro bias shared by all. The state holds the angle at ``t_s[0]``
    (``c_0``) and is positioned *before* the first sample (so that :func:`fuse` starting from it
    reproduces ``c_0`` at ``t_s[0]``).
    """
    if len(t_s) < 2:
        return FusionState(float(alpha_acc_rad[0]), 0.0, float(rate_rad_s[0]), float(t_s[0]))
    tt = t_s - t_s[0]
    starts = segment_starts(t_s, max_dt_s)
    g = _segment_integral(tt, rate_rad_s, starts)
    seg = np.cumsum(np.isin(np.arange(len(tt)), starts)) - 1
    design = np.zeros((len(tt), len(starts) + 1))
    design[np.arange(len(tt)), seg] = 1.0
    design[:, -1] = -tt
    coef, *_ = np.linalg.lstsq(design, alpha_acc_rad - g, rcond=None)
    return FusionState(float(coef[0]), float(coef[-1]), float(rate_rad_s[0]), float(t_s[0]))


def reacquire_state(
    t_s: F64,
    rate_rad_s: F64,
    alpha_acc_rad: F64,
    mismatch_m_s2: F64,
    bias_rad_s: float,
    *,
    mismatch_scale_m_s2: float,
) -> FusionState:
    """Angle at ``t_s[0]`` after a gap, from the accelerometer angle of a short gap-free window.

    The gyro cannot bridge a gap (the knee rotates up to ~6 rad/s in swing: 30 deg in 90 ms of
    lost data), but the accelerometer angle of Seel, Raisch & Schauer (2014, step 4) is an
    absolute measurement of the angle at every sample. Over the window, ``alpha_acc[k] - G[k]
    + b t[k]`` (``G`` the gyro integral from ``t_s[0]``, ``b`` the relative bias carried over
    from before the gap) is an estimate of the angle at ``t_s[0]``; their circular mean,
    weighted like :func:`fuse` by ``1 / (1 + (mismatch / scale)^2)``, is that angle. The
    window's gyro integral removes the motion, so a fraction of a stride of acc samples gives
    an angle as good as the fusion's steady state, instead of the seconds the observer would
    need to pull a wrong gyro bridge back. Returns the state positioned before ``t_s[0]``.
    """
    tt = t_s - t_s[0]
    g = _segment_integral(tt, rate_rad_s, np.zeros(1, dtype=np.intp))
    w = 1.0 / (1.0 + (mismatch_m_s2 / mismatch_scale_m_s2) ** 2)
    d = alpha_acc_rad - g + bias_rad_s * tt
    c = math.atan2(float(np.sum(w * np.sin(d))), float(np.sum(w * np.cos(d))))
    c = (c + 0.5 * math.pi) % (2.0 * math.pi) - 0.5 * math.pi  # the branch of acc_angle
    return FusionState(c, bias_rad_s, float(rate_rad_s[0]), float(t_s[0]))


def fuse(
    t_s: F64,
    rate_rad_s: F64,
    alpha_acc_rad: F64,
    mismatch_m_s2: F64,
    state: FusionState,
    *,
    tau_s: float,
    mismatch_scale_m_s2: float,
) -> tuple[F64, FusionState]:
    """Fuse gyro rate and acc angle sample by sample; returns the angles and the new state.

    Model: ``alpha' = rate - b`` (trapezoidal integration), ``b' = 0``, measurement ``alpha_acc``.
    Steady-state observer gains ``K1 = 2/tau``, ``K2 = 1/tau^2`` (critically damped, natural
    frequency ``1/tau``): constant gyro bias gives no steady-state error. Seel 2014's
    ``lambda = 0.01`` at 100 Hz corresponds to a first-order ``tau`` of 1 s. The innovation is
    wrapped to ``(-pi, pi]`` and weighted by ``1 / (1 + (mismatch / mismatch_scale)^2)``, so
    samples that violate the hinge model (see :func:`acc_angle`) barely correct the angle
    (an adaptive version of Seel's constant ``lambda``). Splitting the input anywhere and
    carrying ``state`` gives bit-identical output.
    """
    k1_per_s = 2.0 / tau_s
    k2_per_s2 = 1.0 / tau_s**2
    inv_scale2 = 1.0 / mismatch_scale_m_s2**2
    if len(t_s) == 0:
        return np.empty(0), state
    # The terms that do not depend on the recursion, elementwise (the same float operations the
    # loop did per sample, so bit-identical): time step, mean rate, and the innovation weight.
    if len(t_s) <= SMALL_RUN:
        tl, rl = np.asarray(t_s).tolist(), np.asarray(rate_rad_s).tolist()
        dt = [t - tp for t, tp in zip(tl, [state.prev_t_s, *tl[:-1]], strict=True)]
        half_rate = [
            0.5 * (r + rp) for r, rp in zip(rl, [state.prev_rate_rad_s, *rl[:-1]], strict=True)
        ]
        weight_dt = [
            d / (1.0 + m * m * inv_scale2)
            for d, m in zip(dt, np.asarray(mismatch_m_s2).tolist(), strict=True)
        ]
        last_t, last_r = tl[-1], rl[-1]
    else:
        t = np.asarray(t_s, dtype=np.float64)
        r = np.asarray(rate_rad_s, dtype=np.float64)
        dt_a = t - np.concatenate(([state.prev_t_s], t[:-1]))
        dt = dt_a.tolist()
        half_rate = (0.5 * (r + np.concatenate(([state.prev_rate_rad_s], r[:-1])))).tolist()
        weight_dt = (dt_a / (1.0 + mismatch_m_s2 * mismatch_m_s2 * inv_scale2)).tolist()
        last_t, last_r = float(t[-1]), float(r[-1])
    alpha, bias = state.alpha_rad, state.bias_rad_s
    pi, two_pi = math.pi, 2.0 * math.pi
    out: list[float] = []
    append = out.append
    for d, h, y, w in zip(
        dt, half_rate, np.asarray(alpha_acc_rad).tolist(), weight_dt, strict=True
    ):
        pred = alpha + (h - bias) * d
        e = y - pred
        if not -pi < e <= pi:  # wrap into (-pi, pi] (rare: the acc angle's branch cut)
            e = pi - (pi - e) % two_pi
        nu = e * w
        alpha = pred + k1_per_s * nu
        bias -= k2_per_s2 * nu
        append(alpha)
    return np.array(out), FusionState(alpha, bias, last_r, last_t)


def flexion_sign(alpha_rad: F64) -> tuple[int, float]:
    """Overall sign making flexion positive, and its margin (rad).

    A knee spends most of the time near extension with large excursions into flexion (swing,
    sitting, stair climbing): the angle distribution is right-skewed, so the quantile skewness
    ``p95 + p5 - 2 * median`` is positive for a correctly signed angle (normative gait:
    60 + 0 - 2 * 17 = +26 deg) and negative when the sign is reversed. It does not depend on
    the zero. Returns ``(+1 | -1, |score|)``.
    """
    p5, med, p95 = np.percentile(alpha_rad, [5.0, 50.0, 95.0])
    score = float(p95 + p5 - 2.0 * med)
    return (1 if score >= 0 else -1), abs(score)


def detrended_gyro_angle(t_s: F64, rate_rad_s: F64) -> F64:
    """Trapezoidal integral of the knee rate minus its least-squares line (removes gyro bias)."""
    g = np.concatenate([[0.0], np.cumsum(0.5 * (rate_rad_s[1:] + rate_rad_s[:-1]) * np.diff(t_s))])
    if len(t_s) < 3:
        return g
    coef = np.polyfit(t_s - t_s[0], g, 1)
    return np.asarray(g - np.polyval(coef, t_s - t_s[0]), dtype=np.float64)


def _unit(v: F64) -> tuple[F64, float]:
    n = float(np.linalg.norm(v))
    return (v / n if n > 0 else v.copy()), n


def _skewness(alpha_rad: F64) -> float:
    """Normalised quantile skewness ``(p95 + p5 - 2 median) / (p95 - p5)`` (Bowley-type)."""
    p5, med, p95 = np.percentile(alpha_rad, [5.0, 50.0, 95.0])
    return float((p95 + p5 - 2.0 * med) / (p95 - p5)) if p95 > p5 else 0.0


def _relative_sign(t_s: F64, gyr_thigh: F64, gyr_shank: F64, ax: AxisFit) -> F64:
    """The shank axis sign that makes the two axes point the same physical way.

    The hinge cost cannot tell ``j2`` from ``-j2`` and the thigh/shank rate correlation is weak
    in gait (the segments rotate together in swing but oppositely in stance: measured 0.03-0.46
    on the simulator, and wrong for a paretic leg). A knee angle, however, spends most of the
    cycle near extension with brief large excursions into flexion, so with the right relative
    sign the gyro angle ``∫(g1·j1 - g2·j2)`` is strongly skewed (|Bowley skewness| 0.3-0.7 on
    the simulator), while the wrong sign gives the sum of the segment angles, a nearly
    symmetric curve (0.03-0.08). A decisive skewness (>= 0.15 and twice the other) wins; the
    overall sign
    (flexion positive) is decided afterwards by :func:`flexion_sign`. When the skewness is not
    decisive (movements that are not gait-like) the correlation's choice is kept.
    """
    j1, j2 = ax.axis_thigh, ax.axis_shank
    w1 = gyr_thigh @ j1
    w2 = gyr_shank @ j2
    keep = abs(_skewness(detrended_gyro_angle(t_s, w1 - w2)))
    flip = abs(_skewness(detrended_gyro_angle(t_s, w1 + w2)))
    # only a decisive skewness overrides the correlation (gait: 0.3-0.7 vs < 0.1)
    return -j2 if flip >= max(0.15, 2.0 * keep) else j2.copy()


def identify_knee_model(
    t_s: F64,
    acc_thigh_m_s2: F64,
    gyr_thigh_rad_s: F64,
    acc_shank_m_s2: F64,
    gyr_shank_rad_s: F64,
    *,
    min_rate_rad_s: float = 0.5,
    max_samples: int = 3000,
    seed: int = 0,
    max_hinge_ratio: float = 0.2,
) -> KneeModel:
    """Identify axis, joint centre, geometric zero and flexion sign from a movement window.

    The axis comes from the Seel hinge fit; when its residual exceeds ``max_hinge_ratio`` of
    the RMS angular rate, the hinge model is violated (e.g. a wobbling thigh strap) and the
    Seel optimum is unreliable, so the sagittal-PCA axes
    (:func:`~.joint_axis.identify_sagittal_axes`) are used instead.
    Raises ``ValueError`` when the window has too little movement (< 50 informative samples).
    When a sensor-to-knee lever is shorter than ``MIN_REF_DIST_M`` its reference falls back to
    the mean gravity direction in the window (then ``zero_reliable`` is False).
    """
    ax = identify_joint_axis(
        gyr_thigh_rad_s,
        gyr_shank_rad_s,
        min_rate_rad_s=min_rate_rad_s,
        max_samples=max_samples,
        seed=seed,
    )
    ratio = hinge_residual_ratio(
        ax, gyr_thigh_rad_s, gyr_shank_rad_s, min_rate_rad_s=min_rate_rad_s
    )
    method = "seel"
    if ratio > max_hinge_ratio:
        ax = identify_sagittal_axes(
            acc_thigh_m_s2,
            gyr_thigh_rad_s,
            acc_shank_m_s2,
            gyr_shank_rad_s,
            min_rate_rad_s=min_rate_rad_s,
        )
        method = "sagittal_pca"
    j1, j2 = ax.axis_thigh, _relative_sign(t_s, gyr_thigh_rad_s, gyr_shank_rad_s, ax)
    pos = identify_joint_position(
        t_s,
        acc_thigh_m_s2,
        gyr_thigh_rad_s,
        acc_shank_m_s2,
        gyr_shank_rad_s,
        j1,
        j2,
        min_rate_rad_s=min_rate_rad_s,
        max_samples=max_samples,
    )
    o1, o2 = pos.pos_thigh_m, pos.pos_shank_m
    r1, d1 = _unit(o1 - (o1 @ j1) * j1)
    r2, d2 = _unit(-(o2 - (o2 @ j2) * j2))
    if min(d1, d2) < MIN_REF_DIST_M:
        g1 = acc_thigh_m_s2.mean(axis=0)
        g2 = acc_shank_m_s2.mean(axis=0)
        r1, _ = _unit(-(g1 - (g1 @ j1) * j1))
        r2, _ = _unit(-(g2 - (g2 @ j2) * j2))
    model = KneeModel(
        axis_thigh=j1,
        axis_shank=j2,
        pos_thigh_m=o1,
        pos_shank_m=o2,
        ref_thigh=r1,
        ref_shank=r2,
        ref_dist_thigh_m=d1,
        ref_dist_shank_m=d2,
        axis_rms_rad_s=ax.rms_rad_s,
        pos_rms_m_s2=pos.rms_m_s2,
        sign_corr=ax.sign_corr,
        hinge_ratio=ratio,
        axis_method=method,
    )
    sign, margin = flexion_sign(
        detrended_gyro_angle(t_s, gyro_rate(model, gyr_thigh_rad_s, gyr_shank_rad_s))
    )
    if sign < 0:
        model = model.flipped()
    return replace(model, sign_margin_rad=margin)
