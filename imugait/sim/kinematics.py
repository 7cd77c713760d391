"""Planar thigh-shank-foot chain per leg, contact-anchored pelvis and segment-frame IMU signals.

Frames (``docs/biomechanics.md`` §5.1): progression frame x forward, y up, z to the subject's
right (right-handed); segment angle θ from the downward vertical, counter-clockwise about +z;
u(θ) = (sin θ, -cos θ) (proximal -> distal), n(θ) = (cos θ, sin θ) (anterior). Segment frame =
progression frame rotated by θ about z (x anterior, y proximal, z right); for the foot θ is its
pitch (x heel -> toe, y up). Turns rotate the progression frame about the vertical by ψ(t).

Pelvis trajectory: option B of §5.5 (contact-anchored). Each stance foot rolls rigidly on the
ground, pivoting on the heel while its pitch is > 0 and on the toe (MTP) while < 0; the heel
position at IC is its anchor (on the ground, y = 0). Each stance leg implies a pelvis position;
in double support the two are blended with a raised-cosine weight from the leg that just landed
to the one that stays, so the stance foot is exactly stationary in single support.

Accelerations: positions are evaluated on a fine uniform grid (1 kHz or more) and differentiated
with second-order central differences (``np.gradient``); rotating-frame terms of the turn are
added analytically (§5.5, §5.6).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imugait.types import F64, Location, Segment, Side
from imugait.units import G_M_S2

from .gait import GaitModel


@dataclass(frozen=True)
class Body:
    """Anthropometry from body height (Winter 2009, Table 4.1 [R]; §5.3) and sensor sites [E]."""

    height_m: float
    thigh_m: float
    shank_m: float
    ankle_h_m: float
    foot_m: float
    heel_back_m: float  # heel point behind the ankle along the sole
    toe_fwd_m: float  # toe (MTP) pivot ahead of the ankle along the sole
    hip_half_width_m: float

    @classmethod
    def from_height(cls, height_m: float) -> Body:
        foot = 0.152 * height_m
        return cls(
            height_m=height_m,
            thigh_m=0.245 * height_m,
            shank_m=0.246 * height_m,
            ankle_h_m=0.039 * height_m,
            foot_m=foot,
            heel_back_m=0.25 * foot,
            toe_fwd_m=0.55 * foot,
            hip_half_width_m=0.05 * height_m,
        )

    def sensor_site(self, loc: Location) -> tuple[float, float, float]:
        """Sensor position in its segment frame, origin at the proximal joint (ankle for the foot).

        z is the lateral distance (positive = lateral, i.e. right for the right leg).
        """
        h = self.height_m
        seg = loc.segment
        if seg is Segment.THIGH:
            return (0.01 * h, -0.5 * self.thigh_m, 0.045 * h)
        if seg is Segment.SHANK:
            return (0.005 * h, -0.6 * self.shank_m, 0.03 * h)
        return (0.3 * self.foot_m, -0.3 * self.ankle_h_m, 0.0)


def _u(th: F64) -> F64:
    return np.stack([np.sin(th), -np.cos(th)], axis=-1)


def _n(th: F64) -> F64:
    return np.stack([np.cos(th), np.sin(th)], axis=-1)


def leg_points(body: Body, ang: dict[str, F64]) -> dict[str, F64]:
    """Knee, ankle, heel and toe relative to the hip joint, (n, 2) each (progression x, y)."""
    knee = body.thigh_m * _u(ang["thigh"])
    ankle = knee + body.shank_m * _u(ang["shank"])
    d_f = _n(ang["foot"])
    n_f = np.stack([-np.sin(ang["foot"]), np.cos(ang["foot"])], axis=-1)
    heel = ankle - body.heel_back_m * d_f - body.ankle_h_m * n_f
    toe = ankle + body.toe_fwd_m * d_f - body.ankle_h_m * n_f
    return {"knee": knee, "ankle": ankle, "heel": heel, "toe": toe}


#: Stance periods open at the start / end of the session extend this far (s), so that the
#: evaluation grid may reach a little beyond [0, duration].
_FAR_S = 1e9


@dataclass(frozen=True)
class DoubleSupport:
    """One double-support interval and what is needed to evaluate the pelvis in it.

    Horizontal pelvis velocity is blended between the legs' implied velocities,
    Ḣx = w ξ̇_R + (1 - w) ξ̇_L (ξ = pelvis implied by a stance leg relative to its anchor), with
    w rising as a raised cosine over [t_a, t_b]. Integrating by parts,
    Hx(t) = Hx(t_a) + ξ_L(t) - ξ_L(t_a) + w(t) E(t) - w_a E(t_a) - J(t), E = ξ_R - ξ_L,
    J(t) = ∫ ẇ E ds (tabulated). Blending velocities instead of positions avoids the large
    ẅ·(H_R - H_L) accelerations a position blend gives when the two implied pelvises drift
    apart. The vertical position is blended directly (both anchors are on the ground).
    """

    t_a: float
    t_b: float
    w_a: float
    w_b: float
    hx_a: float
    xi_l_a: float
    e_a: float
    j_t: F64
    j_v: F64

    def weight(self, t: F64) -> F64:
        tau = np.clip((t - self.t_a) / max(self.t_b - self.t_a, 1e-9), 0.0, 1.0)
        return self.w_a + (self.w_b - self.w_a) * 0.5 * (1.0 - np.cos(np.pi * tau))

    def weight_rate(self, t: F64) -> F64:
        dur = max(self.t_b - self.t_a, 1e-9)
        tau = np.clip((t - self.t_a) / dur, 0.0, 1.0)
        return (self.w_b - self.w_a) * 0.5 * np.pi * np.sin(np.pi * tau) / dur


@dataclass(frozen=True)
class Support:
    """Stance periods with anchors, and double-support intervals (event-level state)."""

    # per side: (start_s, end_s, anchor_x_m) rows, sorted
    stance: dict[Side, F64]
    double: list[DoubleSupport]

    def double_index(self, t: F64) -> F64:
        starts = np.array([d.t_a for d in self.double])
        return np.clip(np.searchsorted(starts, t, side="right") - 1, 0, None)


def implied_rel(body: Body, pts: dict[str, F64], foot: F64) -> F64:
    """Pelvis position implied by a stance foot rolling on its anchor, minus the anchor, (n, 2)."""
    toe_w = np.array([body.heel_back_m + body.toe_fwd_m, 0.0])
    on_heel = (foot >= 0.0)[:, None]
    return np.where(on_heel, -pts["heel"], toe_w - pts["toe"])


def _xi(model: GaitModel, body: Body, t: F64) -> dict[Side, F64]:
    out = {}
    for s in Side:
        a = model.angles(t, s)
        out[s] = implied_rel(body, leg_points(body, a), a["foot"])
    return out


def _make_double(
    model: GaitModel, body: Body, t_a: float, t_b: float, w_a: float, w_b: float, hx_a: float
) -> DoubleSupport:
    n = int(np.clip((t_b - t_a) * 4000.0, 64, 400_000))
    tt = np.linspace(t_a, t_b, n + 1)
    xi = _xi(model, body, tt)
    e = xi[Side.RIGHT][:, 0] - xi[Side.LEFT][:, 0]
    proto = DoubleSupport(t_a, t_b, w_a, w_b, hx_a, 0.0, 0.0, tt, tt)
    integrand = proto.weight_rate(tt) * e
    j = np.concatenate([[0.0], np.cumsum(0.5 * (integrand[1:] + integrand[:-1]) * np.diff(tt))])
    return DoubleSupport(t_a, t_b, w_a, w_b, hx_a, float(xi[Side.LEFT][0, 0]), float(e[0]), tt, j)


def build_support(model: GaitModel, body: Body) -> Support:
    """Walk through all IC/FC events in time order: double-support intervals and anchors.

    A landing leg's anchor (heel x on the ground when flat) is fixed at the end of its double
    support, where it takes over the pelvis alone; during double support the landing heel may
    slide by a few cm (see ``DoubleSupport``), in single support the stance foot is stationary.
    """
    dur = model.sc.duration_s
    evs: list[tuple[float, int, Side]] = []  # (t, kind 0=FC 1=IC, side)
    for s in Side:
        ic, fc = model.events(s)
        evs += [(float(t), 1, s) for t in ic] + [(float(t), 0, s) for t in fc]
    evs.sort(key=lambda e: (e[0], e[1]))
    anchor: dict[Side, float] = dict.fromkeys(Side, 0.0)
    start: dict[Side, float] = dict.fromkeys(Side, -_FAR_S)
    rows: dict[Side, list[tuple[float, float, float]]] = {s: [] for s in Side}
    dbl: list[DoubleSupport] = []
    # initial quiet standing: both feet side by side at x = 0, weights 0.5
    xi0 = _xi(model, body, np.array([0.0]))
    ds_open: tuple[float, float, float] | None = (0.0, 0.5, float(xi0[Side.LEFT][0, 0]))
    for t, kind, s in evs:
        if kind == 0:  # FC: s leaves the ground
            if ds_open is None:  # pragma: no cover - walking always lifts from double support
                raise RuntimeError("toe-off outside double support")
            ta, wa, hxa = ds_open
            d = _make_double(model, body, ta, t, wa, 0.0 if s is Side.RIGHT else 1.0, hxa)
            dbl.append(d)
            other = s.other
            hx_b = _double_hx(d, _xi(model, body, np.array([t])), np.array([t]))[0]
            anchor[other] = float(hx_b - _xi(model, body, np.array([t]))[other][0, 0])
            rows[s].append((start[s], t, anchor[s]))
            ds_open = None
        else:  # IC: s lands, the other leg is alone on the ground until now
            o = s.other
            hx_a = anchor[o] + float(_xi(model, body, np.array([t]))[o][0, 0])
            ds_open = (t, 0.0 if s is Side.RIGHT else 1.0, hx_a)
            start[s] = t
            anchor[s] = hx_a - float(_xi(model, body, np.array([t]))[s][0, 0])  # landing spot
    if ds_open is not None:
        ta, wa, hxa = ds_open
        dbl.append(_make_double(model, body, ta, max(dur + 1.0, ta + 1.0), wa, 0.5, hxa))
    for s in Side:
        rows[s].append((start[s], _FAR_S, anchor[s]))
    return Support({s: np.array(v).reshape(-1, 3) for s, v in rows.items()}, dbl)


def _double_hx(d: DoubleSupport, xi: dict[Side, F64], t: F64) -> F64:
    e = xi[Side.RIGHT][:, 0] - xi[Side.LEFT][:, 0]
    j = np.interp(t, d.j_t, d.j_v)
    return d.hx_a + xi[Side.LEFT][:, 0] - d.xi_l_a + d.weight(t) * e - d.w_a * d.e_a - j


def _lookup(rows: F64, t: F64) -> tuple[F64, F64]:
    """Index of the row whose [start, end] contains t (-1 if none) and that row's anchor."""
    i = np.searchsorted(rows[:, 0], t, side="right") - 1
    ic = np.clip(i, 0, None)
    ok = (i >= 0) & (t <= rows[ic, 1])
    return np.where(ok, ic, -1).astype(np.float64), rows[ic, 2]


def pelvis_and_weight(
    body: Body, sup: Support, t: F64, cache: dict[Side, tuple[dict[str, F64], dict[str, F64]]]
) -> tuple[F64, F64]:
    """Pelvis (x, y) in the progression frame, (n, 2), and the right leg's support weight."""
    xi = {s: implied_rel(body, cache[s][1], cache[s][0]["foot"]) for s in Side}
    hip = np.zeros((len(t), 2))
    w = np.zeros(len(t))
    stance = {}
    for s in Side:
        idx, anc = _lookup(sup.stance[s], t)
        stance[s] = idx >= 0
        single = stance[s].copy()
        hip[single, 0] = anc[single] + xi[s][single, 0]
        hip[single, 1] = xi[s][single, 1]
        if s is Side.RIGHT:
            w[single] = 1.0
    both = stance[Side.RIGHT] & stance[Side.LEFT]
    if np.any(both):
        tb = t[both]
        di = sup.double_index(tb)
        hx = np.empty(len(tb))
        wb = np.empty(len(tb))
        for k in np.unique(di):
            m = di == k
            d = sup.double[int(k)]
            sub = {s: xi[s][both][m] for s in Side}
            hx[m] = _double_hx(d, sub, tb[m])
            wb[m] = d.weight(tb[m])
        w[both] = wb
        hip[both, 0] = hx
        hip[both, 1] = wb * xi[Side.RIGHT][both, 1] + (1.0 - wb) * xi[Side.LEFT][both, 1]
    return hip, w


def pelvis(model: GaitModel, body: Body, sup: Support, t: F64) -> F64:
    """Pelvis position (x, y) in the progression frame at times ``t``, (n, 2)."""
    cache = {}
    for s in Side:
        a = model.angles(t, s)
        cache[s] = (a, leg_points(body, a))
    return pelvis_and_weight(body, sup, t, cache)[0]


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
    cache = {}
    for s in Side:
        a = model.angles(t, s)
        cache[s] = (a, leg_points(body, a))
    hip, w_r = pelvis_and_weight(body, sup, t, cache)
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
