"""Figures of the session report, rendered with matplotlib (Agg) to PNG bytes.

The knee-angle figure time-normalises every stride to 0-100 % of the gait cycle (IC to next
IC of the same side) and shows mean +- 1 SD per leg, the way gait laboratories present
kinematics (Perry J. & Burnfield J. M. (2010), "Gait Analysis: Normal and Pathological
Function", 2nd ed., ch. 2); stance is shaded up to the mean stance %, the hyperextension
threshold is drawn at -5 deg and strides flagged for hyperextension are drawn in red.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from imugait.analysis import AsymmetryReport, HyperextensionParams
from imugait.types import F64, Side

CYCLE_POINTS = 101
_SIDE_COLOUR = {Side.LEFT: "#1f77b4", Side.RIGHT: "#ff7f0e"}


def stride_normalised(
    t_s: F64,
    x: F64,
    *,
    ic_t_s: float,
    end_t_s: float,
    n: int = CYCLE_POINTS,
    max_gap_s: float = 0.05,
) -> F64 | None:
    """``x(t)`` over one stride resampled to ``n`` points at 0..100 % of ``[ic, end]``.

    ``None`` when the data do not cover the stride (start/end missing or a gap longer than
    ``max_gap_s`` inside it).
    """
    lo = int(np.searchsorted(t_s, ic_t_s, side="left"))
    hi = int(np.searchsorted(t_s, end_t_s, side="right"))
    lo, hi = max(lo - 1, 0), min(hi + 1, len(t_s))
    t, v = t_s[lo:hi], x[lo:hi]
    if len(t) < 4 or t[0] > ic_t_s + max_gap_s or t[-1] < end_t_s - max_gap_s:
        return None
    if float(np.max(np.diff(t))) > max_gap_s:
        return None
    grid = ic_t_s + np.linspace(0.0, 1.0, n) * (end_t_s - ic_t_s)
    return np.asarray(np.interp(grid, t, v), dtype=np.float64)


def cycles(knee: pd.DataFrame, strides: pd.DataFrame, side: Side) -> tuple[F64, F64]:
    """Stride-normalised knee curves of one side ``(m, 101)`` and a flag per curve ``(m,)``."""
    k = knee[knee["side"] == side.value]
    s = strides[strides["side"] == side.value]
    t = k["t_s"].to_numpy(dtype=np.float64)
    x = k["knee_flexion_deg"].to_numpy(dtype=np.float64)
    curves: list[F64] = []
    flags: list[bool] = []
    hx = s["hyperextension"] if "hyperextension" in s else pd.Series(False, index=s.index)
    for ic, end, f in zip(s["ic_t_s"], s["end_t_s"], hx, strict=True):
        c = stride_normalised(t, x, ic_t_s=float(ic), end_t_s=float(end))
        if c is not None:
            curves.append(c)
            flags.append(bool(pd.notna(f) and f))
    if not curves:
        return np.empty((0, CYCLE_POINTS)), np.empty(0)
    return np.vstack(curves), np.asarray(flags, dtype=np.float64)


def to_png(fig: Figure, *, dpi: int = 100) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def knee_cycle_figure(knee: pd.DataFrame, strides: pd.DataFrame) -> Figure | None:
    """Per-leg knee flexion over the gait cycle (``None`` without knee data)."""
    sides = [s for s in Side if (knee["side"] == s.value).any()]
    if not sides:
        return None
    thr = -HyperextensionParams().threshold_deg
    fig, axes = plt.subplots(1, len(sides), figsize=(5.2 * len(sides), 3.8), squeeze=False)
    for ax, side in zip(axes[0], sides, strict=True):
        curves, flagged = cycles(knee, strides, side)
        pct = np.linspace(0, 100, CYCLE_POINTS)
        s = strides[strides["side"] == side.value]
        stance = float(s["stance_pct"].mean()) if len(s) else float("nan")
        if np.isfinite(stance):
            ax.axvspan(0, stance, color="0.9", label=f"stance ({stance:.0f} %)")
        for c in curves[flagged > 0]:
            ax.plot(pct, c, color="crimson", lw=0.6, alpha=0.5)
        if len(curves):
            mu, sd = curves.mean(axis=0), curves.std(axis=0)
            col = _SIDE_COLOUR[side]
            ax.fill_between(pct, mu - sd, mu + sd, color=col, alpha=0.25, label="mean +- 1 SD")
            ax.plot(pct, mu, color=col, lw=2, label=f"mean of {len(curves)} strides")
        if (flagged > 0).any():
            ax.plot([], [], color="crimson", lw=0.8, label=f"{int(flagged.sum())} flagged strides")
        ax.axhline(thr, color="crimson", ls="--", lw=1, label=f"hyperextension {thr:.0f} deg")
        ax.axhline(0, color="0.4", lw=0.5)
        ax.set_xlim(0, 100)
        ax.set_xlabel("gait cycle (%)")
        ax.set_ylabel("knee flexion (deg)")
        ax.set_title(f"{side.value} knee")
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def stride_times_figure(strides: pd.DataFrame) -> Figure | None:
    """Stride and stance time of every stride over the session, per side."""
    if strides.empty:
        return None
    fig, axes = plt.subplots(2, 1, figsize=(10, 4.8), sharex=True)
    for side in Side:
        s = strides[strides["side"] == side.value]
        for ax, col in zip(axes, ("stride_s", "stance_s"), strict=True):
            ax.plot(s["ic_t_s"], s[col], ".", ms=3, color=_SIDE_COLOUR[side], label=side.value)
    axes[0].set_ylabel("stride time (s)")
    axes[1].set_ylabel("stance time (s)")
    axes[1].set_xlabel("session time (s)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def asymmetry_figure(report: AsymmetryReport | None) -> Figure | None:
    """SI with its 95 % CI per metric, against the +- threshold of the metric."""
    if report is None or not report.metrics:
        return None
    ms = list(report.metrics)
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(ms) + 1.2))
    for i, m in enumerate(ms):
        thr = m.metric.threshold_pct
        ax.plot([-thr, -thr], [i - 0.4, i + 0.4], color="crimson", lw=1)
        ax.plot([thr, thr], [i - 0.4, i + 0.4], color="crimson", lw=1)
        if np.isfinite(m.si_pct):
            lo, hi = m.si_ci_low_pct, m.si_ci_high_pct
            err = np.array([[m.si_pct - lo], [hi - m.si_pct]]) if np.isfinite(lo) else None
            col = "crimson" if m.flagged else "k"
            ax.errorbar(m.si_pct, i, xerr=err, fmt="o", color=col, capsize=3)
    ax.axvline(0, color="0.5", lw=0.5)
    ax.set_yticks(range(len(ms)), [f"{m.metric.name} ({m.status})" for m in ms], fontsize=8)
    ax.set_xlabel("symmetry index SI (%)  (negative: right lower, positive: right higher)")
    ax.invert_yaxis()
    fig.tight_layout()
    return fig


def sensor_health_figure(clock: Mapping[str, Mapping[str, Any]]) -> Figure | None:
    """Lost samples (% of expected) per sensor, from ``res.info["clock"]``."""
    if not clock:
        return None
    names = list(clock)
    lost = []
    for n in names:
        st = clock[n]
        got, miss = float(st.get("samples", 0)), float(st.get("lost_samples", 0))
        lost.append(100.0 * miss / (got + miss) if got + miss > 0 else 0.0)
    fig, ax = plt.subplots(figsize=(6, 0.35 * len(names) + 1.2))
    ax.barh(names, lost, color=["crimson" if v > 1 else "seagreen" for v in lost])
    ax.set_xlabel("lost samples (%)")
    ax.set_xlim(0, max(5.0, max(lost) * 1.2))
    ax.invert_yaxis()
    fig.tight_layout()
    return fig
