"""From segment-frame signals to what each sensor sees: mounting, impacts, anti-aliasing, sampling.

- Mounting (§5.6): nominal lateral mounting (sensor x anterior, y proximal, z lateral), i.e. the
  identity on the right leg and a 180° rotation about y on the left leg (x posterior, z pointing
  left, still right-handed), times a random error Rx(a)·Ry(b)·Rz(c) with a, b, c ~ U(±e).
  ``mounting_R`` maps sensor to segment coordinates: v_seg = R v_sensor, so ω_M = Rᵀ ω_S.
- Impact transients at IC (§5.7): a damped sine along the segment's long axis (proximal +) and
  -0.3 × it anteriorly, on shank (A), foot (A · foot/shank ratio) and thigh (A · thigh ratio).
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
from .kinematics import Body, Support, segment_signals
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


def add_impacts(f_seg: F64, t: F64, ic_t: F64, amp_m_s2: F64, freq_hz: float, tau_s: float) -> None:
    """Add damped-sine impact transients (in place) to segment-frame specific force ``f_seg``."""
    span = 12.0 * tau_s
    for t0, a in zip(ic_t, amp_m_s2, strict=True):
        if a == 0.0:
            continue
        i0 = int(np.searchsorted(t, t0, side="left"))
        i1 = int(np.searchsorted(t, t0 + span, side="right"))
        if i1 <= i0:
            continue
        x = t[i0:i1] - t0
        pulse = a * np.exp(-x / tau_s) * np.sin(2.0 * math.pi * freq_hz * x)
        f_seg[i0:i1, 1] += pulse
        f_seg[i0:i1, 0] += -0.3 * pulse


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
            add_impacts(f, t, ic, amp, sc.impact_freq_hz, sc.impact_tau_s)
            both = sosfiltfilt(sos[loc], np.hstack([f, w]), axis=0)
            vals = CubicSpline(t, both, axis=0)(tt[m0:m1])
            if mounting is not None:  # rows: R.T @ v
                out_f[loc][m0:m1] = vals[:, :3] @ mounting[loc]
                out_w[loc][m0:m1] = vals[:, 3:] @ mounting[loc]
            else:
                out_f[loc][m0:m1] = vals[:, :3]
                out_w[loc][m0:m1] = vals[:, 3:]
    return {loc: (out_f[loc], out_w[loc]) for loc in locs}
