"""Planar thigh-shank-foot chain per leg, a smooth pelvis path, stance-leg inverse kinematics.

Frames (``docs/biomechanics.md`` §5.1): progression frame x forward, y up, z to the subject's
right (right-handed); segment angle θ from the downward vertical, counter-clockwise about +z;
u(θ) = (sin θ, -cos θ) (proximal -> distal), n(θ) = (cos θ, sin θ) (anterior). Segment frame =
progression frame rotated by θ about z (x anterior, y proximal, z right); for the foot θ is its
pitch (x heel -> toe, y up). Turns rotate the progression frame about the vertical by ψ(t).

Why not the contact-anchored pelvis of §5.5 option B: with *prescribed* thigh angles in stance,
every change of the stance knee (hyperextension, loading-response scaling) moves the implied
pelvis (a 25° knee change with a fixed thigh swings the pelvis by ~20 cm within 0.1 s: measured
±97 m/s² forward pelvis acceleration in ``left_hyperextension``), and in double support the
two legs' implied pelvises disagree, so the pelvis jumps when support is transferred (a jolt in
the *other* shank at its IC) and the feet slide. In real gait the body's progression is smooth
(forward/vertical pelvis acceleration within about ±3 m/s²; measured here on the NeuRA Vicon
pelvis at 1.16 m/s: forward -3.3..+2.6, vertical -1.3..+3.0 m/s², 1st-99th percentile) and the
stance limb's hip angle follows from where the pelvis is over the foot. So [E]:

1. **Pelvis path.** The forward position is a C2 path (quintic Hermite segments; knot
   derivatives from the parabola through neighbouring knots) through knots at every IC and FC,
   clamped to the standing sway motion at both ends of a bout. A knot is where the
   pathology-free pattern chain of the leg then alone on the ground puts the pelvis (on its
   actual anchor), so knee pathologies never move the pelvis and support transfer cannot make
   it jump.
2. **Stance legs by inverse kinematics.** The knee is always the prescribed (truth) curve. In
   single support the stance foot keeps its pattern pitch (flat, then toe rocker) on its fixed
   anchor; the hip height and the thigh angle follow from the chain (two-link reach). In double
   support the pelvis height is handed to the landing leg: its flat-foot height plus the
   mismatch at IC (value, rate, acceleration), faded out by a quintic that stays >= 0; the
   landing foot's heel-rocker pitch is solved from it (the foot "slaps" down as the pelvis
   allows, cf. the -380 °/s foot pitch rate after IC in the gaitmap example), so the loaded heel
   stays put. The unloading trailing foot keeps its toe on the ground as long as the chain
   reaches it (pitch within ``TRAIL_PITCH_DEV_RAD`` of the pattern); near toe-off the pattern
   geometry is out of reach (knee 37° at toe-off with the calibrated step length; a planar chain
   has no pelvic rotation and pivots on the MTP, not the hallux), so the toe lifts smoothly
   before FC: 14/26/53/74 mm at FC for 0.6/0.8/1.3/1.8 m/s [measured, noise-free].
3. **Swing legs** follow the pattern, plus a correction after toe-off that makes thigh and foot
   angles C2-continuous with the stance solution and decays over ``FC_WINDOW_FRAC`` of a
   stride, and a terminal-swing thigh correction (``IC_WINDOW_FRAC``) that puts the heel on the
   ground at IC with vertical velocity ``V_LAND_M_S`` (measured: gaitmap heel marker).
4. **Heel arrest.** The heel strikes with the forward velocity the swing gives it (0.7 m/s at
   1.3 m/s; measured heels: 1.2-1.3 m/s) and is stopped over ``ARREST_S`` (velocity v (1-u)²,
   slide v·ARREST_S/3, about 1 cm) [E: heel pad and shoe]; angular rates stay continuous and the
   shank's forward rotation ends at IC with a sharp backward turn (Aminian 2002, Greene 2010).
   After the arrest the stance contact point is exactly stationary.

Accelerations: positions are evaluated on a fine uniform grid (1 kHz or more) and differentiated
with second-order central differences (``np.gradient``); rotating-frame terms of the turn are
added analytically (§5.5, §5.6).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq

from imugait.types import F64, Side

from .chain import (
    Body,
    ankle_on_ground,
    hip_height,
    implied_rel,
    knee_reach,
    leg_points,
    solve_foot,
    thigh_angle,
)
from .gait import GaitModel, smootherstep

__all__ = [
    "Body",
    "Evaluation",
    "Path",
    "Support",
    "build_support",
    "evaluate",
    "implied_rel",
    "knee_reach",
    "leg_points",
    "pelvis",
]


#: Heel arrest after IC (s) [E].
ARREST_S = 0.03
#: Toe-off correction fades out over this fraction of a stride (at most half the swing) [E].
FC_WINDOW_FRAC = 0.15
#: Landing correction ramps in over this fraction of a stride before IC (at most half the swing).
IC_WINDOW_FRAC = 0.15
#: Longest hand-over of the pelvis height to the landing leg, fraction of double support [E].
TRANSFER_FRAC = 0.9
#: Heel vertical velocity at IC (m/s): gaitmap example heel marker (FCC, 10 Hz low-pass) at the
#: motion-capture IC, median of 57 strides -0.10 m/s (horizontal 1.2-1.3 m/s) [measured].
V_LAND_M_S = -0.10
#: Largest deviation of the unloading trailing foot's pitch from its pattern (rad) [E].
TRAIL_PITCH_DEV_RAD = 0.25
#: Stance periods open at the start / end of the session extend this far (s).
_FAR_S = 1e9
#: Step of the one-sided finite differences at events (s).
_H_S = 2e-4


class Path:
    """C2 pelvis forward path of one bout: quintic Hermite segments between knots.

    Each knot carries (t, x, ẋ, ẍ); the derivatives of an inner knot are those of the parabola
    through it and its two neighbours, so a knot is final as soon as the next one is known
    (``build_support`` needs the path up to the current event only). The bout's end knots are
    clamped to the standing (sway) motion.
    """

    def __init__(self, t0: float, t1: float) -> None:
        self.t0, self.t1 = t0, t1
        self.k = np.zeros((0, 4))  # rows (t, x, v, a)

    def add(self, t: float, x: float, v: float, a: float) -> None:
        self.k = np.vstack([self.k, [t, x, v, a]])

    def __call__(self, t: F64) -> F64:
        k = self.k
        i = np.clip(np.searchsorted(k[:, 0], t, side="right") - 1, 0, len(k) - 2)
        dt = k[i + 1, 0] - k[i, 0]
        s = np.clip((t - k[i, 0]) / dt, 0.0, 1.0)
        s2, s3 = s * s, s * s * s
        s4, s5 = s3 * s, s3 * s2
        return np.asarray(
            (1 - 10 * s3 + 15 * s4 - 6 * s5) * k[i, 1]
            + (s - 6 * s3 + 8 * s4 - 3 * s5) * k[i, 2] * dt
            + (0.5 * s2 - 1.5 * s3 + 1.5 * s4 - 0.5 * s5) * k[i, 3] * dt * dt
            + (0.5 * s3 - s4 + 0.5 * s5) * k[i + 1, 3] * dt * dt
            + (-4 * s3 + 7 * s4 - 3 * s5) * k[i + 1, 2] * dt
            + (10 * s3 - 15 * s4 + 6 * s5) * k[i + 1, 1],
            dtype=np.float64,
        )


def _parabola(
    tm: float, xm: float, t0: float, x0: float, tp: float, xp: float
) -> tuple[float, float]:
    """First and second derivative at t0 of the parabola through three points."""
    h1, h2 = t0 - tm, tp - t0
    c1, c2 = (x0 - xm) / h1, (xp - x0) / h2
    return (c1 * h2 + c2 * h1) / (h1 + h2), 2.0 * (c2 - c1) / (h1 + h2)


@dataclass
class Support:
    """Event-level state of the chain: anchors, pelvis path, double support, swing corrections.

    ``stance[side]``: rows (start_s, end_s, heel anchor x at rest); ``landings[side]``: rows
    (t_ic, heel x at IC, heel velocity at IC, thigh offset δ, its rate, window) for every stance
    row after the first; ``toeoffs[side]``: rows (t_fc, window, e_thigh (3), e_foot (3)) with the
    value/rate/acceleration mismatch of stance and pattern at toe-off; ``double``: rows (t_ic,
    t_fc, lead is right, transfer time, height mismatch trail - lead at IC: value, rate,
    acceleration); ``paths``: one :class:`Path` per bout.
    """

    stance: dict[Side, F64]
    landings: dict[Side, F64]
    toeoffs: dict[Side, F64]
    double: F64
    paths: list[Path] = field(default_factory=list)


def _rows(v: list[tuple[float, ...]], k: int) -> F64:
    return np.array(v, dtype=np.float64).reshape(-1, k)


def _heel_anchor(sup: Support, side: Side, t: F64) -> tuple[F64, F64]:
    """Heel anchor (x, y) of ``side`` at times ``t`` (its current stance row, arrest included).

    After IC the heel keeps its horizontal landing velocity v for a moment and stops over
    ``ARREST_S`` (velocity v (1 - u)², slide v ARREST_S / 3); vertically it lands with
    ``V_LAND_M_S`` and the heel pad gives way and recovers (depth 4/27 |v| ARREST_S).
    """
    rows = sup.stance[side]
    i = np.clip(np.searchsorted(rows[:, 0], t, side="right") - 1, 0, None)
    x = rows[i, 2].copy()
    y = np.zeros(len(t))
    la = sup.landings[side]
    j = i - 1  # landing of that row (the first row has none)
    has = (j >= 0) & (j < len(la))
    if np.any(has):
        r = la[j[has]]
        u = np.clip((t[has] - r[:, 0]) / ARREST_S, 0.0, 1.0)
        x[has] = r[:, 1] + r[:, 2] * ARREST_S * (1.0 - (1.0 - u) ** 3) / 3.0
        y[has] = V_LAND_M_S * ARREST_S * u * (1.0 - u) ** 2
    return x, y


def _rest_anchor(sup: Support, side: Side, t: F64) -> F64:
    """Heel x of ``side``'s current stance row at rest (after the heel arrest)."""
    rows = sup.stance[side]
    i = np.clip(np.searchsorted(rows[:, 0], t, side="right") - 1, 0, None)
    return np.asarray(rows[i, 2], dtype=np.float64)


def _flat_height(body: Body, sup: Support, side: Side, t: F64, knee: F64, hip_x: F64) -> F64:
    """Hip height over ``side``'s foot lying flat on its rest anchor."""
    ank = ankle_on_ground(body, _rest_anchor(sup, side, t), np.zeros(len(t)))
    return hip_height(body, ank, knee, hip_x)


def _swing_offsets(sup: Support, side: Side, t: F64) -> tuple[F64, F64]:
    """Thigh and foot-pitch corrections of the swing leg (toe-off fade-out, landing ramp)."""
    d_th = np.zeros(len(t))
    d_ft = np.zeros(len(t))
    to = sup.toeoffs[side]
    if len(to):
        i = np.searchsorted(to[:, 0], t, side="right") - 1
        tau = t - to[np.clip(i, 0, None), 0]
        r = to[np.clip(i, 0, None)]
        m = (i >= 0) & (tau < r[:, 1])
        if np.any(m):
            x, rm = tau[m], r[m]
            fade = 1.0 - smootherstep(x / rm[:, 1])
            d_th[m] = (rm[:, 2] + rm[:, 3] * x + 0.5 * rm[:, 4] * x * x) * fade
            d_ft[m] = (rm[:, 5] + rm[:, 6] * x + 0.5 * rm[:, 7] * x * x) * fade
    la = sup.landings[side]
    if len(la):
        j = np.searchsorted(la[:, 0], t, side="left")
        r = la[np.clip(j, 0, len(la) - 1)]
        tau = t - r[:, 0]
        m = (j < len(la)) & (tau > -r[:, 5]) & (tau <= 0.0)
        if np.any(m):
            x, rm = tau[m], r[m]
            z = x / rm[:, 5]  # in (-1, 0]: offset δ ramps in, its rate enters as z (1 + z)^3
            d_th[m] += rm[:, 3] * smootherstep(z + 1.0) + rm[:, 4] * rm[:, 5] * z * (1.0 + z) ** 3
    return d_th, d_ft


@dataclass(frozen=True)
class Evaluation:
    """Pelvis and final leg angles at some times (see :func:`evaluate`); ``ev[side]``: angles."""

    pelvis: F64  # (n, 2) hip joint centre (x, y), progression frame
    w_right: F64  # right leg's share of support: 1 / 0 in single support, blended, 0.5 standing
    legs: dict[Side, dict[str, F64]]

    def __getitem__(self, side: Side) -> dict[str, F64]:
        return self.legs[side]


def evaluate(model: GaitModel, body: Body, sup: Support, t: F64) -> Evaluation:
    """Pelvis and final angles of both legs at times ``t``.

    The angles have the keys of :meth:`GaitModel.angles`; ``thigh``, ``shank``, ``foot`` and
    ``ankle`` are the inverse-kinematics / corrected values, ``knee`` is the prescribed truth.
    """
    t = np.asarray(t, dtype=np.float64)
    n = len(t)
    out = {s: dict(model.angles(t, s)) for s in Side}
    hip = np.zeros((n, 2))
    w_r = np.full(n, 0.5)
    inb = np.zeros(n, dtype=bool)
    x_p = np.zeros(n)
    for path in sup.paths:
        m = (t > path.t0) & (t < path.t1)  # at both ends the standing pose holds
        inb |= m
        if np.any(m):
            x_p[m] = path(t[m])
    stand = ~inb
    if np.any(stand):  # both feet flat side by side: the pattern chain (sway) carries the pelvis
        st_a = {k: v[stand] for k, v in out[Side.LEFT].items()}
        rel = implied_rel(body, leg_points(body, st_a), st_a["foot"])
        hip[stand, 0] = _heel_anchor(sup, Side.LEFT, t[stand])[0] + rel[:, 0]
        hip[stand, 1] = rel[:, 1]
    if np.any(inb):
        tb, xb = t[inb], x_p[inb]
        a = {s: {k: v[inb] for k, v in out[s].items()} for s in Side}
        con = {s: a[s]["contact"] > 0 for s in Side}
        both = con[Side.RIGHT] & con[Side.LEFT]
        heel = {s: _heel_anchor(sup, s, tb) for s in Side}
        # stance pitch pattern: heel rockers are solved (double support), so flat otherwise
        pitch = {s: np.where(con[s], np.minimum(a[s]["foot"], 0.0), a[s]["foot"]) for s in Side}
        y_leg = {
            s: hip_height(body, ankle_on_ground(body, heel[s][0], pitch[s], heel[s][1]),
                          a[s]["knee"], xb)
            for s in Side
        }  # fmt: skip
        wr = np.where(con[Side.RIGHT], 1.0, 0.0)
        y = np.where(con[Side.RIGHT], y_leg[Side.RIGHT], y_leg[Side.LEFT])
        lead_of = np.zeros(len(tb), dtype=bool)  # in double support: is the right leg leading
        if np.any(both):
            ds = sup.double
            k = np.clip(np.searchsorted(ds[:, 0], tb[both], side="right") - 1, 0, None)
            r = ds[k]
            tau = tb[both] - r[:, 0]
            lead_r = r[:, 2] > 0
            lead_of[both] = lead_r
            w_lead = smootherstep(tau / (r[:, 1] - r[:, 0]))
            wr[both] = np.where(lead_r, w_lead, 1.0 - w_lead)
            y_flat = {
                q: _flat_height(body, sup, q, tb[both], a[q]["knee"][both], xb[both]) for q in Side
            }
            y_lead = np.where(lead_r, y_flat[Side.RIGHT], y_flat[Side.LEFT])
            y[both] = y_lead + _fade(tau, r[:, 3], r[:, 4:7])
        hb = np.column_stack([xb, y])
        for s in Side:
            th, ft, kn = a[s]["thigh"].copy(), pitch[s].copy(), a[s]["knee"]
            sw = ~con[s]
            d_th, d_ft = _swing_offsets(sup, s, tb[sw])
            th[sw] += d_th
            ft[sw] += d_ft
            is_lead = lead_of if s is Side.RIGHT else ~lead_of
            lead = both & is_lead
            trail = both & ~is_lead
            hx, hy = heel[s]
            ft[lead] = solve_foot(
                body, hb[lead], hx[lead], kn[lead], a[s]["foot"][lead], hy[lead], on_heel=True
            )
            if np.any(trail):
                raw = solve_foot(
                    body, hb[trail], hx[trail], kn[trail], ft[trail], hy[trail], on_heel=False
                )
                dev = TRAIL_PITCH_DEV_RAD
                ft[trail] += dev * np.tanh((raw - ft[trail]) / dev)
            st = con[s]
            ank = ankle_on_ground(body, hx[st], ft[st], hy[st])
            th[st] = thigh_angle(body, hb[st], ank, kn[st])
            out[s]["thigh"][inb] = th
            out[s]["foot"][inb] = ft
        hip[inb] = hb
        w_r[inb] = wr
    for s in Side:
        o = out[s]
        o["shank"] = o["thigh"] - o["knee"]
        o["ankle"] = o["foot"] - o["shank"]
    return Evaluation(pelvis=hip, w_right=w_r, legs=out)


def _poly_at_end(t_end: float, ts: F64, ys: F64) -> F64:
    """Value, first and second derivative at ``t_end`` of the quadratic through (ts, ys)."""
    c = np.polyfit(ts - t_end, ys, 2)
    return np.array([c[2], c[1], 2.0 * c[0]])


def _quintic_fade(s: F64, e: F64) -> F64:
    """Quintic Hermite from (e0, e1, e2) at s = 0 to zero (C2) at s = 1; e scaled to unit time."""
    s = np.clip(s, 0.0, 1.0)
    s2, s3 = s * s, s * s * s
    s4, s5 = s3 * s, s3 * s2
    h0 = 1 - 10 * s3 + 15 * s4 - 6 * s5
    h1 = s - 6 * s3 + 8 * s4 - 3 * s5
    h2 = 0.5 * s2 - 1.5 * s3 + 1.5 * s4 - 0.5 * s5
    return np.asarray(h0 * e[..., 0] + h1 * e[..., 1] + h2 * e[..., 2], dtype=np.float64)


def _fade(tau: F64, dur: F64, e: F64) -> F64:
    """Height mismatch (value, rate, acceleration at IC) faded to zero over ``dur``."""
    scaled = np.column_stack([e[:, 0], e[:, 1] * dur, e[:, 2] * dur * dur])
    return _quintic_fade(tau / dur, scaled)


def _transfer_time(mis: F64, ds_s: float) -> float:
    """Longest hand-over (<= TRANSFER_FRAC of double support) whose fade stays >= 0."""
    x = np.linspace(0.0, 1.0, 101)
    for frac in np.linspace(TRANSFER_FRAC, 0.1, 41):
        dur = frac * ds_s
        if float(np.min(_fade(x * dur, np.full(len(x), dur), np.tile(mis, (len(x), 1))))) >= 0.0:
            return float(dur)
    return float(0.1 * ds_s)


#: Largest terminal-swing thigh rate correction at IC (rad/s) [E].
_MAX_RATE = 3.0
#: Largest terminal-swing thigh offset used to put the heel on the ground (rad) [E].
_MAX_LANDING_RAD = 0.35


def _landing_offset(heel_y: Callable[[float], float]) -> float:
    """Thigh offset putting the heel on the ground: the root nearest 0 within ±_MAX_LANDING_RAD.

    If the heel cannot reach the ground (only in the first stride of a bout with an extreme
    ramp), the offset of the lowest heel is used and the heel lands slightly in the air.
    """
    grid = np.linspace(-_MAX_LANDING_RAD, _MAX_LANDING_RAD, 141)
    ys = np.array([heel_y(float(g)) for g in grid])
    sign = np.flatnonzero(np.sign(ys[:-1]) != np.sign(ys[1:]))
    if len(sign) == 0:
        return float(grid[int(np.argmin(np.abs(ys)))])
    k = int(sign[np.argmin(np.abs(grid[sign]))])
    return float(brentq(heel_y, float(grid[k]), float(grid[k + 1]), xtol=1e-13))


def _ref_x(model: GaitModel, body: Body, side: Side, t: F64, anchor: float) -> F64:
    """Pelvis x implied by the pathology-free pattern of ``side`` standing on ``anchor``."""
    a = model.angles(t, side, pathology=False)
    return anchor + implied_rel(body, leg_points(body, a), a["foot"])[:, 0]


def _events(model: GaitModel, t0: float, t1: float) -> list[tuple[float, int, Side]]:
    evs: list[tuple[float, int, Side]] = []
    for s in Side:
        ic, fc = model.events(s)
        evs += [(float(x), 1, s) for x in ic if t0 - 1e-9 <= x <= t1 + 1e-9]
        evs += [(float(x), 0, s) for x in fc if t0 - 1e-9 <= x <= t1 + 1e-9]
    evs.sort(key=lambda e: (e[0], e[1]))
    return evs


def build_support(model: GaitModel, body: Body) -> Support:
    """Walk through the events of every bout in time order (one pass).

    Pelvis knots: at an IC, where the pathology-free pattern of the leg that has been alone on
    the ground puts the pelvis; at an FC, where the pattern of the leg that just landed puts it
    (its heel at the landing spot). At each IC the landing correction puts the heel on the
    ground (Newton on the thigh offset), the next knot then fixes the path's derivatives at the
    IC, and the heel velocity there gives the vertical-velocity correction and the arrest (new
    anchor). At each FC the stance solution just before toe-off gives the swing correction.
    """
    stance: dict[Side, list[tuple[float, ...]]] = {s: [(-_FAR_S, _FAR_S, 0.0)] for s in Side}
    landings: dict[Side, list[tuple[float, ...]]] = {s: [] for s in Side}
    toeoffs: dict[Side, list[tuple[float, ...]]] = {s: [] for s in Side}
    double: list[tuple[float, ...]] = []
    sup = Support({}, {}, {}, np.zeros((0, 7)), [])
    T = model.stride_time_s
    h = _H_S
    back = h * np.array([1.0, 2.0, 3.0])

    def refresh() -> None:
        for s in Side:
            sup.stance[s] = _rows(stance[s], 3)
            sup.landings[s] = _rows(landings[s], 6)
            sup.toeoffs[s] = _rows(toeoffs[s], 8)
        sup.double = _rows(double, 7)

    def stand_knot(side: Side, t: float) -> tuple[float, float, float]:
        x = _ref_x(model, body, side, t + h * np.array([-1.0, 0.0, 1.0]), stance[side][-1][2])
        return float(x[1]), float(x[2] - x[0]) / (2 * h), float(x[2] - 2 * x[1] + x[0]) / h**2

    refresh()
    for b in model.bouts:
        t0, t1 = b.t_start_s, b.t_end_s
        evs = [e for e in _events(model, t0, t1) if e[0] > t0 + 1e-12]
        path = Path(t0, t1)
        sup.paths.append(path)
        row = stance[b.lead][-1]  # the bout starts with the lead leg's toe-off
        stance[b.lead][-1] = (row[0], t0, row[2])
        x0, v0, a0 = stand_knot(b.lead.other, t0)
        path.add(t0, x0, v0, a0)
        prev = (t0, x0)  # last knot with final derivatives

        def knot_value(k: int, x_lead: float, evs: list[tuple[float, int, Side]] = evs) -> float:
            t, kind, s = evs[k]
            o = s.other
            anc = stance[o][-1][2] if kind == 1 else x_lead
            return float(_ref_x(model, body, o, np.array([t]), anc)[0])

        def finalize(t: float, x: float, tn: float, xn: float, path: Path = path) -> None:
            nonlocal prev
            v, a = _parabola(prev[0], prev[1], t, x, tn, xn)
            path.add(t, x, v, a)
            prev = (t, x)

        last_fc = dict.fromkeys(Side, t0)
        x_next = knot_value(0, 0.0) if evs else 0.0  # value of the next IC knot
        for k, (t, kind, s) in enumerate(evs):
            o = s.other
            if kind == 0:  # toe-off of s (its knot was finalized at the preceding IC)
                row = stance[s][-1]
                stance[s][-1] = (row[0], t, row[2])
                ts = t - back
                ev = evaluate(model, body, sup, ts)
                pat = model.angles(ts, s)
                st = ev[s]
                e_th = _poly_at_end(t, ts, st["thigh"] - pat["thigh"])
                e_ft = _poly_at_end(t, ts, st["foot"] - pat["foot"])
                later = [x for x, kk, q in evs if kk == 1 and q is s and x > t]
                win = min(FC_WINDOW_FRAC * T, 0.5 * ((later[0] - t) if later else T))
                toeoffs[s].append((t, win, *e_th, *e_ft))
                last_fc[s] = t
                refresh()
                continue
            # IC of s: o has carried the pelvis alone; pelvis at t from o (pattern pitch)
            x_k = x_next
            tt = np.array([t - 1e-9])
            ao = model.angles(tt, o)
            hx, hy = _heel_anchor(sup, o, tt)
            ank = ankle_on_ground(body, hx, np.minimum(ao["foot"], 0.0), hy)
            hip_t = np.array([[x_k, float(hip_height(body, ank, ao["knee"], np.array([x_k]))[0])]])
            a_s = model.angles(tt, s)
            d_th, d_ft = _swing_offsets(sup, s, tt)
            th0, kn0, ft0 = a_s["thigh"] + d_th, a_s["knee"], a_s["foot"] + d_ft

            def heel_at(
                dl: float, th0: F64 = th0, kn0: F64 = kn0, ft0: F64 = ft0, hip_t: F64 = hip_t
            ) -> F64:
                a = {"thigh": th0 + dl, "shank": th0 + dl - kn0, "foot": ft0}
                return hip_t + leg_points(body, a)["heel"]

            dl = _landing_offset(lambda d: float(heel_at(d)[0, 1]))
            x_ic = float(heel_at(dl)[0, 0])
            last = k + 1 >= len(evs)
            if last:  # end of bout: clamp to standing
                _, v1, a1 = stand_knot(o, t)
                path.add(t, x_k, v1, a1)
            else:
                x_fc = knot_value(k + 1, x_ic)
                finalize(t, x_k, evs[k + 1][0], x_fc)
            # heel velocity at IC (constant offset dl) from samples just before
            ts = t - back
            ev = evaluate(model, body, sup, ts)
            sw = ev[s]
            a = {
                "thigh": sw["thigh"] + dl,
                "shank": sw["thigh"] + dl - sw["knee"],
                "foot": sw["foot"],
            }
            pos = ev.pelvis + leg_points(body, a)["heel"]
            vel = np.array([_poly_at_end(t, ts, pos[:, i])[1] for i in range(2)])
            th_t, sh_t = float(th0[0]) + dl, float(th0[0]) + dl - float(kn0[0])
            jac = body.thigh_m * np.array([np.cos(th_t), np.sin(th_t)])
            jac += body.shank_m * np.array([np.cos(sh_t), np.sin(sh_t)])
            # landing vertical velocity scales with the gait amplitude (a foot placed back beside
            # the other at the end of a bout lands with zero velocity)
            v_land = V_LAND_M_S * float(a_s["amp"][0])
            rate = float(np.clip((v_land - float(vel[1])) / float(jac[1]), -_MAX_RATE, _MAX_RATE))
            vx = float(vel[0] + jac[0] * rate)
            win = min(IC_WINDOW_FRAC * T, 0.5 * (t - last_fc[s]))
            landings[s].append((t, x_ic, vx, dl, rate, win))
            stance[s].append((t, _FAR_S, x_ic + vx * ARREST_S / 3.0))
            refresh()
            if last:
                continue
            # the toe-off knot is final once the next IC knot (on s's rest anchor) is known
            t_fc = evs[k + 1][0]
            x_next = knot_value(k + 2, 0.0)
            finalize(t_fc, x_fc, evs[k + 2][0], x_next)
            # double support: the pelvis height is handed to the landing leg's flat-foot height;
            # the mismatch at IC (trail - lead flat: its heel-rocker height, rate, acceleration)
            # fades out by a quintic that stays >= 0 (the heel rocker pitch then follows from it)
            ts = t + back
            ao, a_s = model.angles(ts, o), model.angles(ts, s)
            hx, hy = _heel_anchor(sup, o, ts)
            ank = ankle_on_ground(body, hx, np.minimum(ao["foot"], 0.0), hy)
            y_trail = hip_height(body, ank, ao["knee"], path(ts))
            y_flat = _flat_height(body, sup, s, ts, a_s["knee"], path(ts))
            mis = _poly_at_end(t, ts, y_trail - y_flat)
            tau_w = _transfer_time(mis, t_fc - t)
            double.append((t, t_fc, 1.0 if s is Side.RIGHT else 0.0, tau_w, *mis))
            refresh()
    return sup


def pelvis(model: GaitModel, body: Body, sup: Support, t: F64) -> F64:
    """Pelvis (hip joint centre) position (x, y) in the progression frame at times ``t``."""
    return evaluate(model, body, sup, np.asarray(t, dtype=np.float64)).pelvis
