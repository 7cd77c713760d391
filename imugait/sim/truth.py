"""Exact ground truth of a simulation: events, per-stride table, symmetry, intervals, angles.

Session clock: true time in seconds from the recording start (t = 0). Knee flexion positive,
hyperextension negative. Symmetry index (§4.1): SI = 200 (X_R - X_L) / (X_R + X_L) % of the
means over *steady* strides (full gait amplitude over the whole stride, no turn overlap).
Per-stride knee quantities are computed on a 1 kHz evaluation of the analytic joint angles;
durations below a threshold use linearly interpolated crossings. ``knee_min_stance_deg`` is the
minimum over the whole stance (IC -> FC), ``knee_min_midstance_deg`` over 10-55 % of the stride
(the §1.4 flag window); ``hyperext_label`` applies the §1.4 rule (minimum < -5° and at least
40 ms below -5°); ``lr_flexion_deg`` is the loading-response excursion max(knee over the first
25 % of the stride) - knee at IC; ``impact_shank_m_s2`` the injected shank impact amplitude;
``stride_length_m`` the displacement of the foot anchor (heel position when flat) along the path;
``steady`` 1.0 for strides at full gait amplitude and outside turns.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imugait.types import F64, Side
from imugait.units import DEG_PER_RAD, G_M_S2

from .gait import GaitModel
from .kinematics import Support

STRIDE_COLUMNS = (
    "ic_t_s", "fc_t_s", "end_t_s", "stride_s", "stance_s", "swing_s", "step_s",
    "single_support_s", "stride_length_m", "knee_min_stance_deg", "knee_min_midstance_deg", "hyperext_below5_ms",
    "hyperext_below10_ms", "hyperext_label", "hx_injected_deg", "lr_flexion_deg",
    "impact_shank_m_s2", "steady",
)  # fmt: skip

#: (metric name, stride-table column) pairs that get a symmetry index.
SI_METRICS = (
    ("stance", "stance_s"),
    ("single_support", "single_support_s"),
    ("step", "step_s"),
    ("swing", "swing_s"),
    ("impact", "impact_shank_m_s2"),
    ("lr_flexion", "lr_flexion_deg"),
)


def symmetry_index(x_left: float, x_right: float) -> float:
    """SI = 200 (X_R - X_L) / (X_R + X_L) in % (Robinson et al. 1987 [R]; §4.1); 0 if both are 0."""
    if x_right == 0.0 and x_left == 0.0:
        return 0.0
    return 200.0 * (x_right - x_left) / (x_right + x_left)


def time_below(t: F64, x: F64, thr: float) -> float:
    """Total time (s) a sampled signal spends below ``thr`` (linear interpolation of crossings)."""
    below = x < thr
    if not np.any(below):
        return 0.0
    total = 0.0
    d = np.diff(below.astype(np.int8))
    starts = [int(i) for i in np.flatnonzero(d == 1) + 1]
    ends = [int(i) for i in np.flatnonzero(d == -1) + 1]
    if below[0]:
        starts.insert(0, 0)
    if below[-1]:
        ends.append(len(x))
    for a, b in zip(starts, ends, strict=True):
        ta = t[a] if a == 0 else _cross(t[a - 1], t[a], x[a - 1], x[a], thr)
        tb = t[b - 1] if b == len(x) else _cross(t[b - 1], t[b], x[b - 1], x[b], thr)
        total += tb - ta
    return float(total)


def _cross(t0: float, t1: float, x0: float, x1: float, thr: float) -> float:
    return float(t0 + (thr - x0) / (x1 - x0) * (t1 - t0))


def stride_table(model: GaitModel, sup: Support, side: Side) -> dict[str, F64]:
    """Per-stride ground truth of one side (columns ``STRIDE_COLUMNS``, float arrays)."""
    sc = model.sc
    ic, fc = model.events(side)
    ic_o, fc_o = model.events(side.other)
    rows: list[list[float]] = []
    bouts = [(b.t_start_s, b.t_end_s) for b in model.bouts]
    anchors = sup.stance[side]
    for k in range(len(ic) - 1):
        a, e = float(ic[k]), float(ic[k + 1])
        if not any(b0 <= a and e <= b1 + 1e-9 for b0, b1 in bouts):
            continue
        f = fc[(fc > a) & (fc < e)]
        if len(f) != 1:
            continue
        fct = float(f[0])
        prev_o = ic_o[(ic_o < a) & (ic_o > a - 1.5 * model.stride_time_s)]
        step = (
            a - float(prev_o[-1]) if len(prev_o) and _same_bout(bouts, prev_o[-1], a) else math.nan
        )
        fo = fc_o[(fc_o > a) & (fc_o < fct)]
        io = ic_o[(ic_o > a) & (ic_o < fct)]
        ss = float(io[0] - fo[0]) if len(fo) == 1 and len(io) == 1 and io[0] > fo[0] else math.nan
        ia = int(np.argmin(np.abs(anchors[:, 0] - a)))
        ie = int(np.argmin(np.abs(anchors[:, 0] - e)))
        length = float(anchors[ie, 2] - anchors[ia, 2])
        tt = np.arange(a, e, 1e-3)
        ang = model.angles(tt, side)
        knee = ang["knee"] * DEG_PER_RAD
        st = tt <= fct
        kmin = float(np.min(knee[st]))
        mid = (tt >= a + 0.10 * (e - a)) & (tt <= min(a + 0.55 * (e - a), fct))
        kmin_mid = float(np.min(knee[mid]))
        b5 = time_below(tt[st], knee[st], -5.0) * 1e3
        b10 = time_below(tt[st], knee[st], -10.0) * 1e3
        lr = tt <= a + 0.25 * (e - a)
        lr_flex = float(np.max(knee[lr]) - knee[0])
        cyc = model.bout_cycle(side, a)
        amp_ic = float(ang["amp"][0])
        impact = sc.impact_shank_g * G_M_S2 * float(model.impact_factor[side][cyc]) * amp_ic
        hx = float(model.hx_rad[side][cyc]) * DEG_PER_RAD
        in_turn = any(t0 < e and a < t0 + d for t0, d, _ in sc.turns)
        steady = bool(np.min(ang["amp"]) >= 1.0 - 1e-12) and not in_turn
        label = kmin < -5.0 and b5 >= 40.0
        rows.append([
            a, fct, e, e - a, fct - a, e - fct, step, ss, length, kmin, kmin_mid, b5, b10, float(label),
            hx, lr_flex, impact, float(steady),
        ])  # fmt: skip
    arr = np.array(rows, dtype=np.float64).reshape(-1, len(STRIDE_COLUMNS))
    return {c: arr[:, i].copy() for i, c in enumerate(STRIDE_COLUMNS)}


def _same_bout(bouts: list[tuple[float, float]], t0: float, t1: float) -> bool:
    return any(b0 <= t0 and t1 <= b1 + 1e-9 for b0, b1 in bouts)


def symmetry(strides: dict[Side, dict[str, F64]]) -> dict[str, dict[str, float]]:
    """SI of the steady-stride means of each metric in ``SI_METRICS``."""
    out: dict[str, dict[str, float]] = {}
    for name, col in SI_METRICS:
        means = {}
        for s in Side:
            tab = strides[s]
            v = tab[col][(tab["steady"] > 0) & np.isfinite(tab[col])]
            means[s] = float(np.mean(v)) if len(v) else math.nan
        out[name] = {
            "left_mean": means[Side.LEFT],
            "right_mean": means[Side.RIGHT],
            "si_pct": symmetry_index(means[Side.LEFT], means[Side.RIGHT]),
        }
    return out


def injected_symmetry(model: GaitModel) -> dict[str, float]:
    """SI (%) implied by the injected parameters alone (§5.10 formulas; stride time T cancels)."""
    sc = model.sc
    s_l, s_r, d = model.stance[Side.LEFT], model.stance[Side.RIGHT], model.delta
    sign = 1.0 if sc.asym_side is Side.RIGHT else -1.0
    rho, kap = sc.asym_impact_rho, sc.asym_lr_kappa
    return {
        "stance": symmetry_index(s_l, s_r),
        "single_support": symmetry_index(1.0 - s_r, 1.0 - s_l),
        "step": symmetry_index(0.5 + d, 0.5 - d),
        "swing": symmetry_index(1.0 - s_l, 1.0 - s_r),
        "impact": sign * symmetry_index(1.0, 1.0 - rho),
        "lr_flexion": sign * symmetry_index(1.0, kap),
    }


def _enc(v: Any) -> Any:
    """JSON encoding: arrays -> lists, NaN -> None."""
    if isinstance(v, np.ndarray):
        return [_enc(x) for x in v.tolist()]
    if isinstance(v, dict):
        return {str(k): _enc(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_enc(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, np.floating | np.integer):
        return _enc(v.item())
    return v


def _arr(v: list[Any]) -> F64:
    return np.array([math.nan if x is None else x for x in v], dtype=np.float64)


@dataclass
class GroundTruth:
    """Everything known about a simulated session. JSON round trip: ``save``/``load``.

    ``events[side]`` has ``ic_t_s``/``fc_t_s`` arrays; ``strides[side]`` the per-stride table;
    ``signals`` the per-sample truth on a regular session-clock grid (``t0_s``, ``fs_hz``,
    per side ``knee_flexion_deg``, ``thigh_deg``, ``shank_deg``, ``foot_deg``, ``contact``);
    ``intervals`` lists ``standing``, ``walking`` (bouts), ``pauses`` and ``turns`` as
    ``[start_s, end_s]``; ``sensors`` one dict per sensor (mounting, axis, errors, clock).
    """

    scenario: dict[str, Any]
    model: dict[str, Any]
    conventions: dict[str, str]
    sensors: list[dict[str, Any]]
    events: dict[str, dict[str, F64]]
    strides: dict[str, dict[str, F64]]
    symmetry: dict[str, dict[str, float]]
    injected_symmetry: dict[str, float]
    intervals: dict[str, list[list[float]]]
    signals: dict[str, Any] = field(default_factory=dict)

    # -------------------------------------------------------------- convenience accessors
    def ic_t_s(self, side: Side) -> F64:
        return self.events[side.value]["ic_t_s"]

    def fc_t_s(self, side: Side) -> F64:
        return self.events[side.value]["fc_t_s"]

    def stride_table(self, side: Side) -> dict[str, F64]:
        return self.strides[side.value]

    def signal(self, side: Side, name: str = "knee_flexion_deg") -> tuple[F64, F64]:
        """(t_s, values) of a per-sample truth signal of one side."""
        vals: F64 = self.signals[side.value][name]
        t = self.signals["t0_s"] + np.arange(len(vals)) / self.signals["fs_hz"]
        return t, vals

    # -------------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "imugait-sim-truth/1",
            "scenario": _enc(self.scenario),
            "model": _enc(self.model),
            "conventions": dict(self.conventions),
            "sensors": _enc(self.sensors),
            "events": _enc(self.events),
            "strides": _enc(self.strides),
            "symmetry": _enc(self.symmetry),
            "injected_symmetry": _enc(self.injected_symmetry),
            "intervals": _enc(self.intervals),
            "signals": _enc(self.signals),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GroundTruth:
        if d.get("format") != "imugait-sim-truth/1":
            raise ValueError("not an imugait simulation truth dict")
        sig = dict(d["signals"])
        for s in Side:
            if s.value in sig:
                sig[s.value] = {k: _arr(v) for k, v in sig[s.value].items()}
        nan = math.nan
        return cls(
            scenario=d["scenario"],
            model=d["model"],
            conventions=d["conventions"],
            sensors=d["sensors"],
            events={s: {k: _arr(v) for k, v in e.items()} for s, e in d["events"].items()},
            strides={s: {k: _arr(v) for k, v in t.items()} for s, t in d["strides"].items()},
            symmetry={
                m: {k: (nan if v is None else v) for k, v in x.items()}
                for m, x in d["symmetry"].items()
            },
            injected_symmetry={
                k: (nan if v is None else v) for k, v in d["injected_symmetry"].items()
            },
            intervals=d["intervals"],
            signals=sig,
        )

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict()), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> GroundTruth:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
