"""JSON-able ``summary.json`` sections: ``hyperextension`` per side and ``asymmetry``.

Values are in user-facing units (degrees, %, s, m/s^2); NaN becomes ``null``; sides and
statuses are the public strings used throughout (``"left"``, ``"flagged"``, ...).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from imugait.analysis.asymmetry import AsymmetryReport, MetricAsymmetry
from imugait.analysis.hyperextension import LegHyperextension
from imugait.types import Side

__all__ = ["asymmetry_section", "build_summary", "hyperextension_section"]


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _leg(h: LegHyperextension) -> dict[str, Any]:
    return {
        "status": h.status,
        "flagged": h.flagged,
        "grade": h.grade,
        "severity": h.severity,
        "n_strides": h.n_strides,
        "n_valid_strides": h.n_valid,
        "n_positive_strides": h.n_positive,
        "fraction_positive": _num(h.frac_positive),
        "fraction_positive_ci95": [_num(h.frac_ci_low), _num(h.frac_ci_high)],
        "pattern": h.pattern,
        "median_knee_min_positive_strides_deg": _num(h.median_positive_min_deg),
        "median_knee_min_stance_deg": _num(h.median_min_deg),
        "median_ci95_deg": [_num(h.ci_low_deg), _num(h.ci_high_deg)],
        "calibrated": h.calibrated,
        "zero_reliable": h.zero_reliable,
        "note": h.note,
    }


def hyperextension_section(legs: Mapping[Side, LegHyperextension]) -> dict[str, Any]:
    """``{"left": {...}, "right": {...}, "flagged_sides": [...]}`` from per-leg verdicts."""
    out: dict[str, Any] = {s.value: _leg(legs[s]) for s in Side if s in legs}
    out["flagged_sides"] = [s.value for s in Side if s in legs and legs[s].flagged]
    return out


def _metric(r: MetricAsymmetry) -> dict[str, Any]:
    return {
        "column": r.metric.column,
        "family": r.metric.family,
        "status": r.status,
        "flagged": r.flagged,
        "threshold_pct": r.metric.threshold_pct,
        "offloaded_when": r.metric.offloaded_when,
        "n_left": r.n_left,
        "n_right": r.n_right,
        "mean_left": _num(r.mean_left),
        "mean_right": _num(r.mean_right),
        "si_pct": _num(r.si_pct),
        "si_ci95_pct": [_num(r.si_ci_low_pct), _num(r.si_ci_high_pct)],
        "sr": _num(r.sr),
        "offloaded_side": None if r.offloaded_side is None else r.offloaded_side.value,
    }


def asymmetry_section(report: AsymmetryReport) -> dict[str, Any]:
    """Per-metric SI, CI, SR, flag and side; the overall verdict, configuration and warnings."""
    cfg = report.configuration
    return {
        "si_definition": "SI = 200 (X_R - X_L) / (X_R + X_L) %, from side means; SR = X_L / X_R",
        "metrics": {r.metric.name: _metric(r) for r in report.metrics},
        "verdict": {
            "offloaded_side": None
            if report.offloaded_side is None
            else report.offloaded_side.value,
            "confidence": report.confidence,
            "flagged_metrics": [r.metric.name for r in report.metrics if r.flagged],
        },
        "configuration": None
        if cfg is None
        else {
            "name": cfg.name,
            "families": list(cfg.families),
            "impact_segment": None if cfg.impact_segment is None else cfg.impact_segment.value,
        },
        "warnings": list(report.warnings),
    }


def build_summary(
    *,
    hyperextension: Mapping[Side, LegHyperextension] | None,
    asymmetry: AsymmetryReport | None,
) -> dict[str, Any]:
    """The analysis part of ``summary.json`` (sections are ``null`` when not computed)."""
    return {
        "hyperextension": None
        if hyperextension is None
        else hyperextension_section(hyperextension),
        "asymmetry": None if asymmetry is None else asymmetry_section(asymmetry),
    }
