"""From segment-frame signals to what each sensor sees: mounting, impacts, anti-aliasing, sampling.

- Mounting (§5.6): nominal lateral mounting (sensor x anterior, y proximal, z lateral), i.e. the
  identity on the right leg and a 180° rotation about y on the left leg (x posterior, z pointing
  left, still right-handed), times a random error Rx(a)·Ry(b)·Rz(c) with a, b, c ~ U(±e).
  ``mounting_R`` maps sensor to segment coordinates: v_seg = R v_sensor, so ω_M = Rᵀ ω_S.
- Impact transients at IC (§5.7): a damped sine along the segment's long axis (proximal +) and
  -0.3 × it anteriorly, on shank (A), foot (A · foot/shank ratio) and thigh (A · thigh ratio).
  The impact also rotates the segment (the "sharp negative" turn of the shank gyro at IC,
  Aminian 2002, Salarian 2004, Greene 2010): the segment angle gets a damped oscillation
  Δθ(τ) = -Θ e^(-τ/τ_i) sin(2π f_i τ), so the sagittal gyro starts with -2π f_i Θ (backward)
  and the net rotation is zero (the angle truth is unchanged); peak rate
  ``impact_gyr_dps_per_g`` per g of the segment's impact [E: no walking value found; 30 °/s
  for the default 1 g shank impact, about a tenth of the swing peak].
- Anti-aliasing: zero-phase 4th-order Butterworth (applied forward-backward) at 0.4 fs on the
  fine grid, then cubic interpolation at each sample's true time (its own clock, see
  ``errors_model``). Zero-phase keeps the truth timing exact (no filter delay).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.signal import butter, sosfiltfilt

from imugait.types import F64, Location, Segment, Side
from imugait.units import G_M_S2, RAD_PER_DEG

from .errors_model import LOC_CODE
from .gait import GaitModel
from .kinematics import Body, Support, evaluate, leg_points
from .scenario import Scenario

_MIRROR = np.diag([-1.0, 1.0, -1.0])


def _rx(a: float) -> F64:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _ry(a: float) -> F64:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _rz(a: float) -> F64:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def draw_mounting(sc: Scenario, loc: Location) -> tuple[F64, tuple[float, float, float]]:
    """Sensor->segment rotation of the sensor at ``loc`` and the drawn error angles (deg)."""
    rng = np.random.default_rng([sc.seed, 3000 + LOC_CODE[loc]])
    e = rng.uniform(-1.0, 1.0, 3) * sc.mounting_error_deg
    r_err = _rx(e[0] * RAD_PER_DEG) @ _ry(e[1] * RAD_PER_DEG) @ _rz(e[2] * RAD_PER_DEG)
    nominal = np.eye(3) if loc.side is Side.RIGHT else _MIRROR
    return nominal @ r_err, (float(e[0]), float(e[1]), float(e[2]))


def impact_amplitude_m_s2(sc: Scenario, loc: Location) -> float:
    """Base impact amplitude of the sensor at ``loc`` (before per-stride factors)."""
    shank = sc.impact_shank_g * G_M_S2
    if loc.segment is Segment.SHANK:
        return shank
    if loc.segment is Segment.FOOT:
        return sc.impact_foot_g * G_M_S2
    return sc.impact_thigh_ratio * shank


def add_impacts(
    f_seg: F64,
    t: F64,
    ic_t: F64,
    amp_m_s2: F64,
    freq_hz: float,
    tau_s: float,
    w_seg: F64 | None = None,
    gyr_rad_s_per_m_s2: float = 0.0,
) -> None:
    """Add impact transients (in place) at each IC.

    Specific force ``f_seg``: a damped sine along the long axis and -0.3 × it anteriorly.
    Angular rate ``w_seg`` (if given): the derivative of the segment-angle oscillation
    Δθ = -Θ e^(-τ/τ) sin(2π f τ), Θ = gyr_rad_s_per_m_s2 · A / (2π f), i.e. a sharp backward
    rotation of peak ``gyr_rad_s_per_m_s2 · A`` that integrates to zero.
    """
    span = 12.0 * tau_s
    om = 2.0 * math.pi * freq_hz
    for t0, a in zip(ic_t, amp_m_s2, strict=True):
        if a == 0.0:
            continue
        i0 = int(np.searchsorted(t, t0, side="left"))
        i1 = int(np.searchsorted(t, t0 + span, side="right"))
        if i1 <= i0:
            continue
        x = t[i0:i1] - t0
        env = np.exp(-x / tau_s)
        pulse = a * env * np.sin(om * x)
        f_seg[i0:i1, 1] += pulse
        f_seg[i0:i1, 0] += -0.3 * pulse
        if w_seg is not None and gyr_rad_s_per_m_s2 > 0.0:
            theta = gyr_rad_s_per_m_s2 * a / om
            w_seg[i0:i1, 2] += -theta * env * (om * np.cos(om * x) - np.sin(om * x) / tau_s)


def _grad(x: F64, dt: float) -> F64:
    return np.asarray(np.gradient(x, dt, axis=0, edge_order=2), dtype=np.float64)


def segment_signals(
    model: GaitModel, body: Body, sup: Support, t: F64, locations: tuple[Location, ...]
) -> dict[Location, tuple[F64, F64]]:
    """Noise-free specific force and angular rate in each segment frame on a uniform grid ``t``.

    Returns ``{location: (f_seg_m_s2 (n, 3), w_seg_rad_s (n, 3))}``. §5.6: ω_S = (ψ̇ sinθ,
    ψ̇ cosθ, θ̇), f_S = Rz(θ)ᵀ(a + g e_y) with a expressed in the turning progression frame.
    """
    dt = float(t[1] - t[0])
    ev = evaluate(model, body, sup, t)
    hip = ev.pelvis
    w_r = ev.w_right
    cache = {s: (ev[s], leg_points(body, ev[s])) for s in Side}
    lat = {Side.RIGHT: 1.0, Side.LEFT: -1.0}

    def at3(xy: F64, z: float | F64) -> F64:
        return np.column_stack([xy[:, 0], xy[:, 1], np.broadcast_to(z, xy[:, 0].shape)])

    # turning pivot: blended stance ankle
    piv = w_r[:, None] * at3(hip + cache[Side.RIGHT][1]["ankle"], body.hip_half_width_m)
    piv += (1.0 - w_r[:, None]) * at3(hip + cache[Side.LEFT][1]["ankle"], -body.hip_half_width_m)
    _, dpsi, ddpsi = model.heading(t)
    turning = bool(np.any(dpsi != 0.0))
    dpiv = _grad(piv, dt) if turning else None
    out: dict[Location, tuple[F64, F64]] = {}
    for loc in locations:
        side, seg = loc.side, loc.segment
        ang, pts = cache[side]
        th = ang[seg.value]
        sx, sy, sz = body.sensor_site(loc)
        if seg is Segment.THIGH:
            prox = np.zeros_like(hip)
        elif seg is Segment.SHANK:
            prox = pts["knee"]
        else:
            prox = pts["ankle"]
        # site (sx anterior, sy proximal) in the segment frame -> progression frame
        c, s_ = np.cos(th), np.sin(th)
        pos_xy = hip + prox + np.column_stack([c * sx - s_ * sy, s_ * sx + c * sy])
        pos = at3(pos_xy, lat[side] * (body.hip_half_width_m + sz))
        vel = _grad(pos, dt)
        acc = _grad(vel, dt)
        if turning:
            assert dpiv is not None
            r = pos - piv
            rdot = vel - dpiv
            om = np.column_stack([np.zeros_like(dpsi), dpsi, np.zeros_like(dpsi)])
            dom = np.column_stack([np.zeros_like(dpsi), ddpsi, np.zeros_like(dpsi)])
            acc = acc + np.cross(om, vel + rdot) + np.cross(dom, r) + np.cross(om, np.cross(om, r))
        ay = acc[:, 1] + G_M_S2
        f_seg = np.column_stack([c * acc[:, 0] + s_ * ay, -s_ * acc[:, 0] + c * ay, acc[:, 2]])
        w_seg = np.column_stack([dpsi * s_, dpsi * c, _grad(th, dt)])
        out[loc] = (f_seg, w_seg)
    return out


def sample_segment_signals(
    model: GaitModel,
    body: Body,
    sup: Support,
    t_true: dict[Location, F64],
    impacts: dict[Location, tuple[F64, F64]],
    *,
    grid_hz: float,
    mounting: dict[Location, F64] | None = None,
    chunk_s: float = 20.0,
    margin_s: float = 0.5,
) -> dict[Location, tuple[F64, F64]]:
    """Clean (f, ω) of every sensor at its own sample times (true clock).

    In segment axes, or in sensor axes when ``mounting`` (sensor->segment rotations) is given.
    Works in chunks of ``chunk_s`` of the fine grid (plus margins), so memory stays bounded.
    """
    sc = model.sc
    locs = tuple(t_true)
    dt = 1.0 / grid_hz
    out_f = {loc: np.empty((len(t_true[loc]), 3)) for loc in locs}
    out_w = {loc: np.empty((len(t_true[loc]), 3)) for loc in locs}
    sos = {loc: butter(4, 0.4 * sc.fs_of(loc), fs=grid_hz, output="sos") for loc in locs}
    n_chunks = max(1, math.ceil(sc.duration_s / chunk_s))
    for ci in range(n_chunks):
        c0, c1 = ci * chunk_s, min((ci + 1) * chunk_s, sc.duration_s)
        k0 = math.floor((c0 - margin_s) * grid_hz)
        k1 = math.ceil((c1 + margin_s) * grid_hz)
        t = np.arange(k0, k1 + 1, dtype=np.float64) * dt
        sig = segment_signals(model, body, sup, t, locs)
        for loc in locs:
            tt = t_true[loc]
            m0 = int(np.searchsorted(tt, c0, side="left"))
            m1 = int(np.searchsorted(tt, c1, side="left")) if ci < n_chunks - 1 else len(tt)
            if m1 <= m0:
                continue
            f, w = sig[loc]
            ic, amp = impacts[loc]
            add_impacts(
                f, t, ic, amp, sc.impact_freq_hz, sc.impact_tau_s,
                w_seg=w, gyr_rad_s_per_m_s2=sc.impact_gyr_dps_per_g * RAD_PER_DEG / G_M_S2,
            )  # fmt: skip
            both = sosfiltfilt(sos[loc], np.hstack([f, w]), axis=0)
            vals = CubicSpline(t, both, axis=0)(tt[m0:m1])
            if mounting is not None:  # rows: R.T @ v
                out_f[loc][m0:m1] = vals[:, :3] @ mounting[loc]
                out_w[loc][m0:m1] = vals[:, 3:] @ mounting[loc]
            else:
                out_f[loc][m0:m1] = vals[:, :3]
                out_w[loc][m0:m1] = vals[:, 3:]
    return {loc: (out_f[loc], out_w[loc]) for loc in locs}
