"""Left/right loading asymmetry from the stride table (biomechanics.md §4).

Procedure (§4.4, [E]):

1. Drop the first and last ``edge_strides`` (2) strides of each side in each bout (gait
   initiation and termination; Kroneberg et al. 2019 on turns and bout edges).
2. Require ``min_strides`` (20; Kroneberg 2019, Galna et al. 2013 prefer 30) valid strides per
   side for a metric, else its status is ``insufficient_data``.
3. SI = 200 (X_R - X_L) / (X_R + X_L) from the side *means* (Robinson et al. 1987; never the
   mean of per-stride ratios) and SR = X_L / X_R (Patterson et al. 2008), with a 95 % bootstrap
   CI of the SI (B = 2000, strides resampled within each side, seeded).
4. A metric is flagged when |SI| exceeds its threshold and the CI excludes 0 (§4.3).

Which side is offloaded, per metric (the rule each :class:`Metric` carries):

- ``stance_s``, ``single_support_s``: the side loaded for *less* time is offloaded (antalgic or
  paretic offloading shortens stance and single support of the affected limb, §4.2).
- ``swing_s``: the side with the *longer* swing is offloaded (its swing is the other leg's
  single support; with equal stride times a longer swing is a shorter stance).
- ``step_s`` (this side's IC minus the previous contralateral IC): the *longer* step is the one
  that lands on the offloaded side. It lasts while the sound leg carries the body (initial double
  support + sound single support), which is the offloaded leg's swing; the sound leg hurries
  off the painful one, so the step landing on the sound side is short.
- ``impact_peak_m_s2`` (peak resultant shock at IC, orientation-free; see
  :mod:`imugait.analysis.impact`), ``loading_rate_m_s3``: *lower* impact is offloaded (softer
  landing).
- ``lr_knee_flexion_deg``: *lower* loading-response flexion is offloaded (quadriceps avoidance).

Thresholds (§4.3 [E]): temporal 10 % (Patterson 2008 normal SR 0.9-1.1), impact 15 % (placement
sensitivity, Lafortune 1995; larger normal spread, Herzog 1989). For loading-response knee
flexion we choose 20 % [E]: at ~15° mean excursion that is a 3° difference, beyond a typical
IMU knee error in *excursion* (the zero offset cancels, axis/gain errors of a few % remain) and
beyond the normal bilateral spread of kinematic peaks (Sadeghi et al. 2000).

Overall verdict: flagged metrics vote for a side; metrics come in families (temporal, impact,
kinematic) and votes are counted per family, because e.g. swing and single support are the same
intervals seen from the two legs. A family whose flagged metrics disagree abstains (with a
warning: e.g. a loading rate whose peak jumps to a later, non-impact maximum). Families that
disagree -> ``conflicting`` (no side); otherwise the side with confidence ``high`` (>= 2 families
agree), ``moderate`` (one family, >= 2 metrics) or ``low`` (a single metric).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from imugait.analysis._stats import bootstrap_si_ci, stream_id, symmetry_index, symmetry_ratio
from imugait.types import Location, Segment, Side

F64 = NDArray[np.float64]
Family = Literal["temporal", "impact", "kinematic"]
MetricStatus = Literal["insufficient_data", "not_flagged", "flagged", "unavailable"]
Confidence = Literal["none", "low", "moderate", "high", "conflicting", "insufficient_data"]

__all__ = [
    "DEFAULT_METRICS",
    "AsymmetryReport",
    "Metric",
    "MetricAsymmetry",
    "SensorConfiguration",
    "analyse_asymmetry",
    "metric_asymmetry",
    "sensor_configuration",
    "steady_strides",
]


@dataclass(frozen=True, slots=True)
class Metric:
    """One asymmetry metric: stride-table column, family, flag threshold (|SI| %) and the rule
    naming the offloaded side (``lower``: the side with the smaller mean is offloaded)."""

    name: str
    column: str
    family: Family
    threshold_pct: float
    offloaded_when: Literal["lower", "higher"]


DEFAULT_METRICS: tuple[Metric, ...] = (
    Metric("stance", "stance_s", "temporal", 10.0, "lower"),
    Metric("single_support", "single_support_s", "temporal", 10.0, "lower"),
    Metric("step", "step_s", "temporal", 10.0, "higher"),
    Metric("swing", "swing_s", "temporal", 10.0, "higher"),
    Metric("impact_peak", "impact_peak_m_s2", "impact", 15.0, "lower"),
    Metric("lr_knee_flexion", "lr_knee_flexion_deg", "kinematic", 20.0, "lower"),
)


@dataclass(frozen=True, slots=True)
class SensorConfiguration:
    """Which metric families a set of sensor locations supports (both sides needed)."""

    name: str
    families: tuple[Family, ...]
    impact_segment: Segment | None


def sensor_configuration(locations: Iterable[Location]) -> SensorConfiguration:
    """Supported analyses of a sensor set.

    Shank-only: temporal + shank impact; shank + thigh: + loading-response knee flexion; foot
    only: temporal + foot impact. Impact needs the same segment on both sides (the amplitude
    depends on the site, Lafortune 1995); the shank is preferred when both are present.
    """
    locs = set(locations)

    def both(seg: Segment) -> bool:
        return all(Location.of(s, seg) in locs for s in Side)

    shank, foot, thigh = both(Segment.SHANK), both(Segment.FOOT), both(Segment.THIGH)
    families: list[Family] = []
    if shank or foot:
        families += ["temporal", "impact"]
    if shank and thigh:
        families.append("kinematic")
    parts = [n for n, ok in (("shank", shank), ("thigh", thigh), ("foot", foot)) if ok]
    name = "+".join(parts) if parts else "none"
    seg = Segment.SHANK if shank else (Segment.FOOT if foot else None)
    return SensorConfiguration(name, tuple(families), seg)


def steady_strides(table: pd.DataFrame, *, edge_strides: int = 2) -> pd.DataFrame:
    """Rows of ``table`` without the first/last ``edge_strides`` strides of each side and bout."""
    if edge_strides < 0:
        raise ValueError("edge_strides must be >= 0")
    if table.empty or edge_strides == 0:
        return table.copy()
    bout = table["bout_id"] if "bout_id" in table.columns else pd.Series(0, index=table.index)
    keep = np.zeros(len(table), dtype=bool)
    pos = {idx: i for i, idx in enumerate(table.index)}
    for _, grp in table.groupby([table["side"], bout], sort=False):
        order = grp.sort_values("ic_t_s").index
        for idx in order[edge_strides : len(order) - edge_strides]:
            keep[pos[idx]] = True
    return table[keep].copy()


@dataclass(frozen=True, slots=True)
class MetricAsymmetry:
    """Asymmetry of one metric. ``offloaded_side`` is set only when flagged."""

    metric: Metric
    n_left: int
    n_right: int
    mean_left: float
    mean_right: float
    si_pct: float
    si_ci_low_pct: float
    si_ci_high_pct: float
    sr: float
    status: MetricStatus
    offloaded_side: Side | None

    @property
    def flagged(self) -> bool:
        return self.status == "flagged"


@dataclass(frozen=True, slots=True)
class AsymmetryReport:
    """Per-metric results and the overall verdict."""

    metrics: tuple[MetricAsymmetry, ...]
    offloaded_side: Side | None
    confidence: Confidence
    configuration: SensorConfiguration | None
    warnings: tuple[str, ...]


def _values(df: pd.DataFrame, side: Side, column: str) -> F64:
    v = df.loc[df["side"] == side.value, column].to_numpy(dtype=np.float64)
    return np.asarray(v[np.isfinite(v)], dtype=np.float64)


def _offloaded(m: Metric, mean_left: float, mean_right: float) -> Side:
    right_lower = mean_right < mean_left
    if m.offloaded_when == "lower":
        return Side.RIGHT if right_lower else Side.LEFT
    return Side.LEFT if right_lower else Side.RIGHT


def metric_asymmetry(
    left: F64, right: F64, metric: Metric, *, min_strides: int, n_boot: int, seed: int
) -> MetricAsymmetry:
    """SI, SR, bootstrap CI, flag and offloaded side of one metric from per-stride values."""
    ml = float(np.mean(left)) if len(left) else math.nan
    mr = float(np.mean(right)) if len(right) else math.nan
    si = symmetry_index(ml, mr)
    lo, hi = bootstrap_si_ci(left, right, n_boot=n_boot, seed=seed, stream=stream_id(metric.name))
    status: MetricStatus
    if min(len(left), len(right)) < min_strides:
        status = "insufficient_data"
    elif abs(si) > metric.threshold_pct and (lo > 0 or hi < 0):
        status = "flagged"
    else:
        status = "not_flagged"
    side = _offloaded(metric, ml, mr) if status == "flagged" else None
    return MetricAsymmetry(
        metric, len(left), len(right), ml, mr, si, lo, hi, symmetry_ratio(ml, mr), status, side
    )


def _verdict(
    results: Sequence[MetricAsymmetry], warnings: list[str]
) -> tuple[Side | None, Confidence]:
    flagged = [r for r in results if r.flagged]
    if not flagged:
        usable = [r for r in results if r.status == "not_flagged"]
        return None, ("none" if usable else "insufficient_data")
    votes: dict[Family, list[MetricAsymmetry]] = {}
    for r in flagged:
        votes.setdefault(r.metric.family, []).append(r)
    family_side: dict[Family, Side] = {}
    for fam, rs in votes.items():
        sides = {r.offloaded_side for r in rs if r.offloaded_side is not None}
        if len(sides) == 1:
            family_side[fam] = sides.pop()
        else:
            names = ", ".join(r.metric.name for r in rs)
            warnings.append(f"{fam} metrics disagree on the offloaded side ({names}); ignored")
    if not family_side:
        return None, "conflicting"
    if len(set(family_side.values())) > 1:
        warnings.append("metric families disagree on the offloaded side")
        return None, "conflicting"
    side = next(iter(family_side.values()))
    if len(family_side) >= 2:
        return side, "high"
    n_agree = len(votes[next(iter(family_side))])
    return side, ("moderate" if n_agree >= 2 else "low")


def analyse_asymmetry(
    table: pd.DataFrame,
    *,
    metrics: Sequence[Metric] = DEFAULT_METRICS,
    locations: Iterable[Location] | None = None,
    min_strides: int = 20,
    edge_strides: int = 2,
    n_boot: int = 2000,
    seed: int = 0,
) -> AsymmetryReport:
    """Asymmetry of every metric whose column exists in the stride table, and the verdict.

    Parameters
    ----------
    table
        Stride table (``side``, ``ic_t_s``, optional ``bout_id``, metric columns).
    metrics
        Metrics to evaluate (default :data:`DEFAULT_METRICS`).
    locations
        Sensor locations; when given, metrics of families the configuration does not support
        are reported as ``unavailable``.
    min_strides, edge_strides, n_boot, seed
        §4.4 rules: minimum strides per side, strides dropped at each bout edge, bootstrap draws
        and seed (deterministic).
    """
    if min_strides < 2:
        raise ValueError("min_strides must be >= 2")
    config = None if locations is None else sensor_configuration(locations)
    df = steady_strides(table, edge_strides=edge_strides)
    out: list[MetricAsymmetry] = []
    warnings: list[str] = []
    for m in metrics:
        supported = config is None or m.family in config.families
        if m.column not in df.columns or not supported:
            nan = math.nan
            out.append(MetricAsymmetry(m, 0, 0, nan, nan, nan, nan, nan, nan, "unavailable", None))
            continue
        left, right = _values(df, Side.LEFT, m.column), _values(df, Side.RIGHT, m.column)
        r = metric_asymmetry(left, right, m, min_strides=min_strides, n_boot=n_boot, seed=seed)
        if r.status == "insufficient_data":
            warnings.append(
                f"{m.name}: insufficient data ({r.n_left} left, {r.n_right} right strides "
                f"< {min_strides})"
            )
        out.append(r)
    side, confidence = _verdict(out, warnings)
    return AsymmetryReport(tuple(out), side, confidence, config, tuple(warnings))
