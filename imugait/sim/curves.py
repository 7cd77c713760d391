"""Normative sagittal joint curves over the gait cycle and their pathological modifications.

All functions take the *reference* gait phase ``q`` (array, any real values, used modulo 1;
IC at ``q = 0``, reference toe-off at ``q = P_TO_REF``) and return radians.

Sources (see ``docs/biomechanics.md``):

- knee: 6-harmonic Fourier fit (§5.2) of the Schwartz, Rozumalski & Trost 2008 mean knee flexion
  (J Biomech 41:1639-1650), its timing near IC warped so that the terminal-swing minimum falls at
  IC as measured in single strides (:func:`knee_ic_warp`);
- hip and ankle: periodic cubic splines through the §5.2 key points (textbook-shaped, Perry &
  Burnfield 2010 / Winter 2009 [R]); the hip points at 10 % and 30 % GC are lowered from 28° and
  10° to 26° and 6° [E], which halves the pelvis speed fluctuation of the stance chain. In
  terminal swing the hip holds a plateau (31.5° at 87 %, 31° at 95 %, 30° at IC) instead of
  extending from a 33° peak at 85 % [E]: measured heels land nearly tangentially while still
  moving forward (gaitmap example, heel marker at the mocap IC: vertical -0.10 m/s, horizontal
  1.2-1.3 m/s), and the shank gyro crosses zero close to IC (Aminian 2002, Greene 2010), i.e.
  there is little swing-leg retraction. The plateau stays within the usual ±1 SD band of
  normative hip curves; the final landing is made exact by ``kinematics`` (terminal-swing thigh
  correction). In stance the hip curve is only the *pattern* that lays out the pelvis path (the
  stance thigh follows from inverse kinematics);
- foot pitch: the normative chain pitch forced exactly flat over foot-flat (§5.9 "the foot stays
  flat"), so the stance foot rolls heel -> flat -> toe;
- hyperextension window (§5.9) and loading-response flexion scaling (§5.10.4).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.interpolate import CubicSpline, PchipInterpolator

from imugait.types import F64
from imugait.units import RAD_PER_DEG

#: Reference stance fraction (toe-off phase) of the normative curves (§5.4: 0.60-0.62).
P_TO_REF = 0.61

_KNEE_A0 = 23.338
_KNEE_A = (-1.981, -14.122, -0.619, -0.895, -0.598, 0.040)
_KNEE_B = (-18.904, 6.962, 4.516, 0.641, 0.742, 0.238)

_HIP_P = (0.0, 0.10, 0.30, 0.50, 0.60, 0.75, 0.87, 0.95, 1.0)
_HIP_DEG = (30.0, 26.0, 6.0, -10.0, 0.0, 25.0, 31.5, 31.0, 30.0)
_ANKLE_P = (0.0, 0.07, 0.30, 0.45, 0.62, 0.75, 0.85, 1.0)
_ANKLE_DEG = (0.0, -6.0, 5.0, 10.0, -18.0, -5.0, 0.0, 0.0)

#: Foot-flat window of the reference cycle (phase): ramps in over [0.02, 0.10] (end of the heel
#: rocker) and out over [0.26, 0.40] (heel rise in terminal stance) [E]. Together with the
#: pelvic tilt, the toe pivot (``kinematics.Body``) and the swing dorsiflexion below, these were
#: chosen so that the implied hip heights of both legs agree within about 1.3 cm over double
#: support and the swing foot clears the ground (minimum about 2 cm in mid-swing) [E, tuned].
FOOT_FLAT_P = (0.02, 0.10, 0.26, 0.40)
#: Mean anterior pelvic tilt: thigh inclination = hip flexion - tilt (about 10 deg in gait,
#: Perry & Burnfield 2010 [R]; 9 deg used, tuned as above [E]).
PELVIC_TILT_RAD = 9.0 * RAD_PER_DEG
#: Extra ankle dorsiflexion in swing (foot clearance), raised-cosine window on the phase [E].
SWING_DORSI_RAD = 5.0 * RAD_PER_DEG
SWING_DORSI_P = (0.60, 0.72, 0.88, 1.0)

_HIP_SPLINE = CubicSpline(np.array(_HIP_P), np.array(_HIP_DEG) * RAD_PER_DEG, bc_type="periodic")
_ANKLE_SPLINE = CubicSpline(
    np.array(_ANKLE_P), np.array(_ANKLE_DEG) * RAD_PER_DEG, bc_type="periodic"
)
_HIP_MEAN_RAD = float(_HIP_SPLINE.integrate(0.0, 1.0))


def _knee_fourier_deg(q: F64) -> F64:
    x = 2.0 * math.pi * np.asarray(q, dtype=np.float64)
    out = np.full_like(x, _KNEE_A0)
    for k, (a, b) in enumerate(zip(_KNEE_A, _KNEE_B, strict=True), start=1):
        out += a * np.cos(k * x) + b * np.sin(k * x)
    return out


def _fourier_min_phase() -> float:
    q = np.linspace(0.90, 1.05, 15001)
    return float(q[int(np.argmin(_knee_fourier_deg(q)))]) - 1.0


#: Phase of the Fourier curve's terminal-swing knee minimum, relative to IC (about -0.023).
KNEE_MIN_SHIFT = _fourier_min_phase()
#: Half width of the IC timing warp of the knee curve (phase).
KNEE_WARP_HALF = 0.15


def knee_ic_warp(q: F64) -> F64:
    """Phase warp that puts the knee curve's terminal-swing minimum exactly at IC.

    ``q - KNEE_MIN_SHIFT * b(q)`` with ``b`` a C2 bump (1 at IC, 0 with zero slope and curvature
    at ± ``KNEE_WARP_HALF``), so the warp is the identity outside the IC region and monotone
    (``|shift| * max|b'| ~ 0.2 < 1``). Why: time-normalised mean curves smear the sharp
    terminal-swing extension, and the 6-harmonic fit of the Schwartz 2008 mean puts the knee
    minimum 2.3 % GC *before* IC, flexing at ~90 deg/s at IC. Individual strides do not: in the
    NeuRA Vicon sample (``../shared/data``, 11 strides, both legs) the knee minimum falls 0-20 ms
    after the foot-pitch maximum (heel strike; on gaitmap's example the foot-gyro zero crossing is
    +1-3 ms from the motion-capture IC) with the knee rate near 0 at IC, and the shank's forward
    rotation ends with it (Aminian 2002; Greene 2010: the shank rate turns negative at IC).
    Values are unchanged; only their timing near IC moves (by at most 25 ms at 1 s strides).
    """
    x = np.mod(np.asarray(q, dtype=np.float64) + 0.5, 1.0) - 0.5  # IC at 0, range [-0.5, 0.5)
    u = np.clip(np.abs(x) / KNEE_WARP_HALF, 0.0, 1.0)
    bump = np.where(u < 1.0, (0.5 * (1.0 + np.cos(math.pi * u))) ** 2, 0.0)
    return np.asarray(q + KNEE_MIN_SHIFT * bump, dtype=np.float64)


def knee_ref(q: F64) -> F64:
    """Normative knee flexion (rad, flexion positive): the Fourier fit of Schwartz et al. 2008
    (§5.2), with its terminal-swing minimum moved to IC by :func:`knee_ic_warp`."""
    return _knee_fourier_deg(knee_ic_warp(q)) * RAD_PER_DEG


def hip_ref(q: F64, *, scale: float = 1.0) -> F64:
    """Normative hip flexion (rad); ``scale`` scales the excursion about the cycle mean."""
    h = _HIP_SPLINE(np.mod(q, 1.0))
    return np.asarray(_HIP_MEAN_RAD + scale * (h - _HIP_MEAN_RAD), dtype=np.float64)


def ankle_ref(q: F64) -> F64:
    """Normative ankle dorsiflexion (rad)."""
    return np.asarray(_ANKLE_SPLINE(np.mod(q, 1.0)), dtype=np.float64)


def raised_cosine_window(q: F64, p1: float, p2: float, p3: float, p4: float) -> F64:
    """Window on phase ``q mod 1``: 0 outside [p1, p4], 1 on [p2, p3], raised-cosine ramps."""
    x = np.mod(q, 1.0)
    w = np.zeros_like(x)
    up = (x > p1) & (x < p2)
    w[up] = 0.5 * (1.0 - np.cos(math.pi * (x[up] - p1) / (p2 - p1)))
    w[(x >= p2) & (x <= p3)] = 1.0
    dn = (x > p3) & (x < p4)
    w[dn] = 0.5 * (1.0 + np.cos(math.pi * (x[dn] - p3) / (p4 - p3)))
    return w


def _chain_pitch(q: F64, hip_scale: float, tilt_rad: float) -> F64:
    chain = thigh_ref(q, hip_scale=hip_scale, tilt_rad=tilt_rad) - knee_ref(q) + ankle_ref(q)
    return np.asarray(chain + SWING_DORSI_RAD * raised_cosine_window(q, *SWING_DORSI_P))


def foot_flat_window(
    hip_scale: float = 1.0, tilt_rad: float = PELVIC_TILT_RAD
) -> tuple[float, float, float, float]:
    """Foot-flat window adapted to the chain pitch so that the stance foot rolls monotonically.

    The ramp-in ends where the chain pitch first reaches 0 after IC (end of the heel rocker), so
    the pitch stays >= 0 on the heel and never flips pivot; the ramp-out (heel rise, 0.14 of
    the cycle long) starts at ``FOOT_FLAT_P[2]`` or after the last positive chain pitch.
    """
    q = np.linspace(0.0, P_TO_REF, 6101)
    ch = _chain_pitch(q, hip_scale, tilt_rad)
    neg = np.flatnonzero(ch <= 0.0)
    p2 = float(q[neg[0]]) if len(neg) and neg[0] > 0 else FOOT_FLAT_P[1]
    pos = np.flatnonzero((ch > 0.0) & (q > p2))
    p3 = max(FOOT_FLAT_P[2], float(q[pos[-1]]) + 0.005 if len(pos) else 0.0, p2)
    p3 = min(p3, P_TO_REF - 0.03)
    p4 = min(p3 + (FOOT_FLAT_P[3] - FOOT_FLAT_P[2]), P_TO_REF - 0.005)
    return (0.0, p2, p3, p4)


def foot_pitch_ref(
    q: F64,
    *,
    hip_scale: float = 1.0,
    tilt_rad: float = PELVIC_TILT_RAD,
    window: tuple[float, float, float, float] | None = None,
) -> F64:
    """Foot pitch from horizontal (rad, toes up positive) of the healthy reference chain.

    The chain pitch ``thigh - knee + ankle`` (§5.1; thigh = hip flexion - pelvic tilt, plus the
    swing dorsiflexion bump) is forced to exactly 0 over foot-flat (``foot_flat_window``), so
    the stance foot rolls heel -> flat -> toe (§5.9: "the foot stays flat").
    """
    w = foot_flat_window(hip_scale, tilt_rad) if window is None else window
    chain = _chain_pitch(q, hip_scale, tilt_rad)
    return np.asarray(chain * (1.0 - raised_cosine_window(q, *w)), dtype=np.float64)


def thigh_ref(q: F64, *, hip_scale: float = 1.0, tilt_rad: float = PELVIC_TILT_RAD) -> F64:
    """Thigh inclination from the downward vertical (rad): hip flexion minus pelvic tilt."""
    return np.asarray(hip_ref(q, scale=hip_scale) - tilt_rad, dtype=np.float64)


def hyperextension_knee(
    knee: F64, q: F64, hx_rad: F64, window: tuple[float, float, float, float]
) -> F64:
    """Lock the knee at ``-hx_rad`` on the stance window (§5.9): (1 - w) knee + w (-H)."""
    w = raised_cosine_window(q, *window)
    return np.asarray((1.0 - w) * knee + w * (-hx_rad), dtype=np.float64)


#: Loading-response window for the quadriceps-avoidance scaling (§5.10.4): full effect on
#: [0, 0.20], ramp out to 0.30, ramp in over terminal swing [0.90, 1.0) [E].
LR_WINDOW = (-0.10, 0.0, 0.20, 0.30)


def loading_response_knee(knee: F64, q: F64, kappa: float) -> F64:
    """Scale the knee excursion above its IC value in loading response by ``kappa``."""
    x = np.mod(q, 1.0)
    x = np.where(x > 0.5, x - 1.0, x)  # terminal swing maps to [-0.5, 0)
    p1, p2, p3, p4 = LR_WINDOW
    w = np.zeros_like(x)
    up = (x > p1) & (x < p2)
    w[up] = 0.5 * (1.0 - np.cos(math.pi * (x[up] - p1) / (p2 - p1)))
    w[(x >= p2) & (x <= p3)] = 1.0
    dn = (x > p3) & (x < p4)
    w[dn] = 0.5 * (1.0 + np.cos(math.pi * (x[dn] - p3) / (p4 - p3)))
    k0 = float(knee_ref(np.zeros(1))[0])
    return np.asarray(knee - (1.0 - kappa) * w * (knee - k0), dtype=np.float64)


def stance_warp(stance_frac: float) -> PchipInterpolator:
    """Monotone phase warp W with W(0)=0, W(s)=P_TO_REF, W(1)=1 (§5.10.1).

    Built as a PCHIP through the periodically extended knots, so that ``W(p + 1) = W(p) + 1`` and
    W' is continuous across strides (no angular-rate step at IC). Evaluate on ``p mod 1``.
    """
    s = stance_frac
    knots_p = np.array([s - 1.0, 0.0, s, 1.0, 1.0 + s])
    knots_q = np.array([P_TO_REF - 1.0, 0.0, P_TO_REF, 1.0, 1.0 + P_TO_REF])
    return PchipInterpolator(knots_p, knots_q)
