"""Planar thigh-shank-foot chain: anthropometry, segment points and two-link inverse kinematics.

Frames (``docs/biomechanics.md`` §5.1): progression frame x forward, y up, z to the subject's
right; segment angle θ from the downward vertical, counter-clockwise about +z; u(θ) = (sin θ,
-cos θ) (proximal -> distal), n(θ) = (cos θ, sin θ) (anterior); foot angle = pitch (toes up +).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imugait.types import F64, Location, Segment


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


def implied_rel(body: Body, pts: dict[str, F64], foot: F64) -> F64:
    """Pelvis implied by a stance foot rolling on its heel anchor, minus that anchor, (n, 2)."""
    toe_w = np.array([body.heel_back_m + body.toe_fwd_m, 0.0])
    on_heel = (foot >= 0.0)[:, None]
    return np.where(on_heel, -pts["heel"], toe_w - pts["toe"])


def knee_reach(body: Body, knee: F64) -> tuple[F64, F64]:
    """Hip-ankle distance d and the thigh's angle β from the hip->ankle line for a knee angle.

    θ_thigh = ψ + β with ψ the direction of hip->ankle (segment-angle convention); β > 0 for
    flexion (knee in front of the line), < 0 for hyperextension.
    """
    lt, ls = body.thigh_m, body.shank_m
    d = np.sqrt(lt * lt + ls * ls + 2.0 * lt * ls * np.cos(knee))
    return d, np.arctan2(ls * np.sin(knee), lt + ls * np.cos(knee))


def ankle_on_ground(body: Body, heel_x: F64, foot: F64, heel_y: F64 | float = 0.0) -> F64:
    """Ankle of a foot resting on the ground with heel anchor ``heel_x`` and pitch ``foot``.

    The foot pivots on its heel for pitch >= 0 and on its toe (MTP, one sole length ahead of
    the heel anchor) for pitch < 0, (n, 2).
    """
    c, s = np.cos(foot), np.sin(foot)
    on_heel = foot >= 0.0
    px = np.where(on_heel, heel_x, heel_x + body.heel_back_m + body.toe_fwd_m)
    ox = np.where(on_heel, body.heel_back_m, -body.toe_fwd_m)
    ha = body.ankle_h_m
    return np.column_stack([px + ox * c - ha * s, heel_y + ox * s + ha * c])


def hip_height(body: Body, ankle: F64, knee: F64, hip_x: F64) -> F64:
    """Hip height that closes the chain from ``ankle`` with knee angle ``knee`` at ``hip_x``."""
    d, _ = knee_reach(body, knee)
    dx = hip_x - ankle[:, 0]
    return np.asarray(ankle[:, 1] + np.sqrt(np.maximum(d * d - dx * dx, 0.0)), dtype=np.float64)


def thigh_angle(body: Body, hip: F64, ankle: F64, knee: F64) -> F64:
    """Thigh angle of the chain hip -> knee -> ankle with the given knee angle."""
    _, beta = knee_reach(body, knee)
    psi = np.arctan2(ankle[:, 0] - hip[:, 0], hip[:, 1] - ankle[:, 1])
    return np.asarray(psi + beta, dtype=np.float64)


#: Above this cosine the two-circle solution saturates smoothly (toe lifts instead of a kink).
_C_SOFT = 0.95


def _soft_reach(c: F64) -> F64:
    """C1 saturation of the intersection cosine below 1: an out-of-reach pivot lifts smoothly."""
    k = 1.0 - _C_SOFT
    hi = 1.0 - k * np.exp(-(np.maximum(c, _C_SOFT) - _C_SOFT) / k)
    return np.asarray(np.where(c > _C_SOFT, hi, np.maximum(c, -1.0)), dtype=np.float64)


def solve_foot(
    body: Body,
    hip: F64,
    heel_x: F64,
    knee: F64,
    guess: F64,
    heel_y: F64 | float = 0.0,
    *,
    on_heel: bool,
) -> F64:
    """Foot pitch that closes hip -> knee -> ankle -> pivot with the pivot on its anchor.

    The ankle lies on a circle about the pivot (the heel, pitch >= 0, for the landing foot; the
    toe, pitch <= 0, for the trailing foot) and at the knee's reach from the hip: two-circle
    intersection; of the two roots the one closer to ``guess`` is returned, clipped to the
    pivot's sign. Near and beyond full reach the cosine saturates smoothly (``_soft_reach``):
    the pivot then lifts off its anchor instead of the angles kinking (the unloading trailing
    toe at the end of double support, see ``evaluate``).
    """
    d, _ = knee_reach(body, knee)
    ha = body.ankle_h_m
    off, ox = (
        (0.0, body.heel_back_m) if on_heel else (body.heel_back_m + body.toe_fwd_m, -body.toe_fwd_m)
    )
    r = float(np.hypot(ox, ha))
    g0 = float(np.arctan2(ha, ox))
    dx = hip[:, 0] - (heel_x + off)
    dy = hip[:, 1] - heel_y
    dd = np.hypot(dx, dy)
    c = _soft_reach((dd * dd + r * r - d * d) / (2.0 * r * dd))
    delta = np.arctan2(dy, dx)
    roots = [
        np.mod(delta - g0 + sg * np.arccos(c) + np.pi, 2.0 * np.pi) - np.pi for sg in (1.0, -1.0)
    ]
    phi = np.where(np.abs(roots[0] - guess) <= np.abs(roots[1] - guess), roots[0], roots[1])
    return np.asarray(np.maximum(phi, 0.0) if on_heel else np.minimum(phi, 0.0), dtype=np.float64)
