"""Gait time-line and joint angles: bouts, per-leg phase, events, turns, sway.

The session clock is true time in seconds from the recording start (t = 0). Walking happens in
bouts (between standing periods). In a bout the right leg's cumulative phase Φ_R(t) is a C2
cubic spline through its IC times (Φ_R = k at the k-th right IC); the left leg has
Φ_L = Φ_R - 0.5 - δ (§5.4). Stride times jitter with CV ``stride_cv`` around the nominal one.
A bout starts with toe-off (FC) of the leading leg from quiet standing and ends with an IC that
brings the legs back to standing; the gait amplitude ramps 0 -> 1 -> 0 over ``ramp_strides``
strides at both ends (smootherstep), so angles, rates and accelerations start and stop smoothly.

Walking speed -> stride time: a constant walk ratio (step length / cadence; Sekiya & Nagasaki
1998, Gait Posture 7:225-227 [R]: about 0.0065 m/(step/min) in adults, nearly speed
independent), scaled with height as WR = 0.0039 * height [E], gives cadence
c = sqrt(60 v / WR) (steps/min) and stride time 120 / c.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicSpline, PchipInterpolator
from scipy.optimize import brentq

from imugait.types import F64, Side
from imugait.units import RAD_PER_DEG

from . import curves
from .scenario import Scenario

I64 = np.ndarray

#: Walk ratio per metre of body height, (m per step/min) / m [E, from Sekiya & Nagasaki 1998].
WALK_RATIO_PER_HEIGHT = 0.0039


def nominal_stride_time_s(speed_m_s: float, height_m: float) -> float:
    """Stride time (s) for a walking speed and body height from a constant walk ratio."""
    cadence = math.sqrt(60.0 * speed_m_s / (WALK_RATIO_PER_HEIGHT * height_m))
    return 120.0 / cadence


def smootherstep(x: F64) -> F64:
    """C2 step 6x^5 - 15x^4 + 10x^3 on [0, 1], clipped outside."""
    x = np.clip(x, 0.0, 1.0)
    return np.asarray(x * x * x * (x * (6.0 * x - 15.0) + 10.0), dtype=np.float64)


@dataclass
class Bout:
    """One walking bout: Φ_R(t) spline on [t_start_s, t_end_s] and cycle-number offsets."""

    t_start_s: float
    t_end_s: float
    lead: Side
    phi_start: float
    phi_end: float
    spline: CubicSpline
    cycle_offset: dict[Side, int]

    def inverse(self, phi_r: float) -> float:
        """Time at which Φ_R reaches ``phi_r`` (within the bout)."""
        lo, hi = float(self.spline.x[0]), float(self.spline.x[-1])
        return float(brentq(lambda t: float(self.spline(t)) - phi_r, lo, hi, xtol=1e-12))


class GaitModel:
    """Time-line and joint angles of one scenario (no positions; see ``kinematics``)."""

    def __init__(
        self,
        sc: Scenario,
        *,
        hip_scale: float = 1.0,
        tilt_rad: float = curves.PELVIC_TILT_RAD,
    ) -> None:
        self.sc = sc
        self.hip_scale = hip_scale
        self.tilt_rad = tilt_rad
        self.stride_time_s = (
            sc.stride_time_s
            if sc.stride_time_s is not None
            else nominal_stride_time_s(sc.speed_m_s, sc.height_m)
        )
        self.delta = sc.asym_step_delta
        self.stance = {s: sc.stance_frac_of(s) for s in Side}
        self.warp: dict[Side, PchipInterpolator | None] = {
            s: (None if abs(f - curves.P_TO_REF) < 1e-12 else curves.stance_warp(f))
            for s, f in self.stance.items()
        }
        self.foot_window = curves.foot_flat_window(hip_scale, tilt_rad)
        rng = np.random.default_rng([sc.seed, 11])
        self.bouts = self._build_bouts(rng)
        n_cyc = {s: self._n_cycles(s) for s in Side}
        self.hx_rad = {s: np.zeros(n_cyc[s]) for s in Side}
        self.hx_affected = {s: np.zeros(n_cyc[s], dtype=bool) for s in Side}
        rng_hx = np.random.default_rng([sc.seed, 12])
        if sc.hx_deg != 0.0 or sc.hx_sd_deg != 0.0:
            n = n_cyc[sc.hx_side]
            aff = rng_hx.random(n) < sc.hx_frac
            hx = sc.hx_deg + sc.hx_sd_deg * rng_hx.standard_normal(n)
            self.hx_affected[sc.hx_side] = aff & (sc.hx_deg != 0.0)
            self.hx_rad[sc.hx_side] = np.where(self.hx_affected[sc.hx_side], hx, 0.0) * RAD_PER_DEG
        rng_imp = np.random.default_rng([sc.seed, 13])
        self.impact_factor = {
            s: np.clip(1.0 + sc.impact_cv * rng_imp.standard_normal(n_cyc[s]), 0.2, 3.0)
            * (1.0 - sc.asym_impact_rho if s is sc.asym_side else 1.0)
            for s in Side
        }
        rng_sway = np.random.default_rng([sc.seed, 14])
        f = rng_sway.uniform(0.1, 1.0, 6)
        amp = rng_sway.uniform(0.5, 1.0, 6) / f  # more power at low frequencies
        amp *= sc.sway_deg * RAD_PER_DEG / math.sqrt(float(np.sum(amp**2)) / 2.0)
        self._sway = (f, amp, rng_sway.uniform(0, 2 * math.pi, 6))

    # ------------------------------------------------------------------ time-line
    def walking_intervals(self) -> list[tuple[float, float]]:
        """Intervals available for walking (before bouts are fitted into them)."""
        sc = self.sc
        cuts = sorted(sc.pauses)
        out, a = [], sc.stand_start_s
        for t0, dur in cuts:
            out.append((a, t0))
            a = t0 + dur
        out.append((a, sc.duration_s - sc.stand_end_s))
        return [(x, y) for x, y in out if y > x]

    def _build_bouts(self, rng: np.random.Generator) -> list[Bout]:
        sc, T, d = self.sc, self.stride_time_s, self.delta
        bouts: list[Bout] = []
        next_cycle = {Side.LEFT: 0, Side.RIGHT: 0}
        for a, b in self.walking_intervals():
            lead = Side.RIGHT if rng.random() < 0.5 else Side.LEFT
            if lead is Side.RIGHT:
                phi0 = self.stance[Side.RIGHT]
            else:
                phi0 = self.stance[Side.LEFT] + 0.5 + d
            # knots: (a, phi0), then integer Φ_R at cumulative jittered stride times
            n_max = int((b - a) / (0.5 * T)) + 4
            jit = np.clip(rng.standard_normal(n_max), -4.0, 4.0)
            ts, ps = [a], [phi0]
            k = math.floor(phi0) + 1
            t = a + (k - phi0) * T * (1.0 + sc.stride_cv * jit[0])
            i = 1
            while t <= b + 2.0 * T and i < n_max:
                ts.append(t)
                ps.append(float(k))
                k += 1
                t = t + T * (1.0 + sc.stride_cv * jit[i])
                i += 1
            ts.append(t)
            ps.append(float(k))
            spline = CubicSpline(np.array(ts), np.array(ps), bc_type="natural")
            # last event (IC of either leg) not after b
            cand = [float(j) for j in range(math.floor(phi0) + 1, k)]
            cand += [j + 0.5 + d for j in range(math.floor(phi0), k)]
            cand = sorted(c for c in cand if c > phi0)
            bout = Bout(a, b, lead, phi0, phi0, spline, {})
            ok = [c for c in cand if bout.inverse(c) <= b]
            if not ok or ok[-1] - phi0 < 2.0 * sc.ramp_strides + 1.0:
                continue  # too short for a bout: stays standing
            phi_end = ok[-1]
            tt = np.linspace(a, bout.inverse(phi_end), 2000)
            if float(np.min(spline(tt, 1))) <= 0.0:  # pragma: no cover - jitter is tiny
                raise RuntimeError("non-monotone phase spline")
            bout.phi_end = phi_end
            bout.t_end_s = bout.inverse(phi_end)
            for s in Side:
                first = math.floor(phi0 - self._offset(s))
                bout.cycle_offset[s] = next_cycle[s] - first
                next_cycle[s] = math.floor(phi_end - self._offset(s)) + bout.cycle_offset[s] + 1
            bouts.append(bout)
        return bouts

    def _offset(self, side: Side) -> float:
        return 0.0 if side is Side.RIGHT else 0.5 + self.delta

    def _n_cycles(self, side: Side) -> int:
        if not self.bouts:
            return 0
        b = self.bouts[-1]
        return math.floor(b.phi_end - self._offset(side)) + b.cycle_offset[side] + 1

    def events(self, side: Side) -> tuple[F64, F64]:
        """IC and FC times of ``side`` (session clock, s), sorted."""
        ic: list[float] = []
        fc: list[float] = []
        off, s = self._offset(side), self.stance[side]
        for b in self.bouts:
            x0, x1 = b.phi_start - off, b.phi_end - off
            for k in range(math.floor(x0) + 1, math.floor(x1) + 1):
                ic.append(b.inverse(k + off))
            for k in range(math.floor(x0) - 1, math.floor(x1) + 1):
                if x0 - 1e-12 <= k + s < x1:
                    fc.append(b.inverse(k + s + off))
        return np.array(sorted(ic)), np.array(sorted(fc))

    def bout_cycle(self, side: Side, t_ic: float) -> int:
        """Cycle number of the stride of ``side`` that starts at IC time ``t_ic``."""
        _, cyc, _, _ = self.phase(np.array([t_ic + 1e-9]), side)
        return int(cyc[0])

    # ------------------------------------------------------------------ evaluation
    def phase(self, t: F64, side: Side) -> tuple[F64, I64, F64, F64]:
        """Per-sample own phase p in [0,1), cycle number, amplitude a, and Φ_R (NaN outside)."""
        t = np.asarray(t, dtype=np.float64)
        p = np.zeros_like(t)
        cyc = np.full(t.shape, -1, dtype=np.int64)
        amp = np.zeros_like(t)
        phi_r = np.full_like(t, np.nan)
        ramp = self.sc.ramp_strides
        for b in self.bouts:
            m = (t >= b.t_start_s) & (t <= b.t_end_s)
            if not np.any(m):
                continue
            ph = np.clip(b.spline(t[m]), b.phi_start, b.phi_end)
            phi_r[m] = ph
            x = ph - self._offset(side)
            fl = np.floor(x)
            p[m] = x - fl
            cyc[m] = fl.astype(np.int64) + b.cycle_offset[side]
            amp[m] = smootherstep(np.minimum(ph - b.phi_start, b.phi_end - ph) / ramp)
        return p, cyc, amp, phi_r

    def sway(self, t: F64) -> F64:
        """Standing sway of the whole body about the ankles (rad)."""
        f, amp, ph = self._sway
        out = np.zeros_like(t)
        for fi, ai, pi in zip(f, amp, ph, strict=True):
            out += ai * np.sin(2.0 * math.pi * fi * t + pi)
        return out

    def heading(self, t: F64) -> tuple[F64, F64, F64]:
        """Heading ψ (rad, positive = turned left), ψ̇ and ψ̈ from the scenario's turns."""
        psi, dpsi, ddpsi = np.zeros_like(t), np.zeros_like(t), np.zeros_like(t)
        for t0, dur, ang_deg in self.sc.turns:
            x = np.clip((t - t0) / dur, 0.0, 1.0)
            inside = (t > t0) & (t < t0 + dur)
            ang = ang_deg * RAD_PER_DEG
            psi += ang * smootherstep(x)
            dpsi += np.where(inside, ang * 30.0 * x**2 * (x - 1.0) ** 2 / dur, 0.0)
            ddpsi += np.where(inside, ang * 60.0 * x * (x - 1.0) * (2.0 * x - 1.0) / dur**2, 0.0)
        return psi, dpsi, ddpsi

    def angles(self, t: F64, side: Side, *, pathology: bool = True) -> dict[str, F64]:
        """Prescribed segment and joint angles (rad) and contact state of one leg at times ``t``.

        Keys: ``thigh``, ``shank``, ``foot`` (segment angles, §5.1; foot = pitch), ``knee``
        (flexion +), ``ankle`` (dorsiflexion +), ``contact`` (1.0 / 0.0), ``amp``, ``p``, ``cycle``.
        The knee is final (it is the ground truth); in stance the thigh and foot pitch are the
        *pattern* that ``kinematics`` adapts to the pelvis path (inverse kinematics), and in swing
        they get small corrections at toe-off and landing (``kinematics.evaluate`` gives the
        final angles). ``pathology=False``: the knee without hyperextension or loading-response
        scaling (the stance-phase warp is kept), used to lay out the pelvis path.
        """
        sc = self.sc
        t = np.asarray(t, dtype=np.float64)
        p, cyc, amp, _ = self.phase(t, side)
        w = self.warp[side]
        q = p if w is None else np.asarray(w(p), dtype=np.float64)
        in_bout = cyc >= 0
        contact = ~in_bout | (p < self.stance[side])
        thigh_g = curves.thigh_ref(q, hip_scale=self.hip_scale, tilt_rad=self.tilt_rad)
        knee_g = curves.knee_ref(q)
        if pathology and side is sc.asym_side and sc.asym_lr_kappa != 1.0:
            knee_g = curves.loading_response_knee(knee_g, q, sc.asym_lr_kappa)
        if pathology and side is sc.hx_side and np.any(self.hx_affected[side]):
            c = np.clip(cyc, 0, None)
            aff = in_bout & self.hx_affected[side][c]
            hx = self.hx_rad[side][c]
            knee_g = np.where(aff, curves.hyperextension_knee(knee_g, q, hx, sc.hx_window), knee_g)
        foot_g = curves.foot_pitch_ref(
            q, hip_scale=self.hip_scale, tilt_rad=self.tilt_rad, window=self.foot_window
        )
        sway = self.sway(t)
        k_stand = sc.stand_knee_deg * RAD_PER_DEG
        thigh = (1.0 - amp) * sway + amp * thigh_g
        knee = (1.0 - amp) * k_stand + amp * knee_g
        foot = amp * foot_g
        shank = thigh - knee
        return {
            "thigh": thigh,
            "shank": shank,
            "foot": foot,
            "knee": knee,
            "ankle": foot - shank,
            "contact": contact.astype(np.float64),
            "amp": amp,
            "p": p,
            "cycle": cyc.astype(np.float64),
        }
