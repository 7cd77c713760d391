"""Knee hyperextension in stance: per-stride metrics and the per-leg flag (biomechanics.md §1.4).

Per stride (numeric core :func:`stride_hyperextension`, pure, on arrays):

1. The stance window is 10-55 % of the gait cycle (GC % counted from the stride's IC to its next
   IC, ``end_t_s``), cut at final contact if stance is shorter than 55 % GC.
2. θ_min is the minimum knee angle in the window (samples plus linearly interpolated values at
   the window edges).
3. The time below -T uses hysteresis: an episode starts when the knee crosses below -T and ends
   when it rises above -T + h (T = 5°, Loudon, Goist & Loudon 1998; h = 1°). Crossing times are
   linearly interpolated between samples. Onset is the first entry, offset the last exit.
4. The stride is positive if θ_min < -T and the time below is at least 40 ms.
5. Its grade is ``definite`` if it is positive and θ_min < -T - margin (margin 2°, about the
   IMU knee RMSE of §2.3), ``possible`` if it is positive with θ_min in [-T - margin, -T),
   ``none`` otherwise. An uncalibrated knee angle caps the grade at ``possible``.

Per leg (:func:`summarize_leg`): at least 20 valid strides (Kroneberg 2019); flagged if at least
30 % of the strides are positive *and* the median θ_min is below -T; severity from the median
(5-10° mild, 10-15° moderate, > 15° severe); 95 % bootstrap CI of the median over strides.

Zero-offset caveat (§1.4.5): the flag is only as good as the knee angle's 0° reference. An
*uncalibrated* knee angle (geometric zero from sensor placement, see
:mod:`imugait.kinematics.estimator`) can be off by a few degrees, which is the whole width of
the mild band. Without a goniometer calibration the verdict is therefore at most ``possible``
and says so; a flag computed on an unreliable geometric zero (``zero_reliable=False``) says that
too. The angle flag is kinematic: it does not measure capsule load (Kerrigan et al. 1996).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from imugait.analysis._stats import bootstrap_median_ci, stream_id
from imugait.types import Side
from imugait.units import DEG_PER_RAD, RAD_PER_DEG

F64 = NDArray[np.float64]
Grade = Literal["none", "possible", "definite"]
Severity = Literal["none", "mild", "moderate", "severe"]
LegStatus = Literal["insufficient_data", "not_flagged", "flagged"]
Pattern = Literal["none", "consistent", "intermittent"]

__all__ = [
    "HyperextensionParams",
    "LegHyperextension",
    "Pattern",
    "StrideHyperextension",
    "severity_band",
    "stride_hyperextension",
    "summarize_leg",
    "wilson_interval",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class HyperextensionParams:
    """Parameters of the per-stride rule (§1.4; user-facing angles in degrees)."""

    threshold_deg: float = 5.0
    hysteresis_deg: float = 1.0
    min_below_s: float = 0.040
    margin_deg: float = 2.0
    window_lo_pct: float = 10.0
    window_hi_pct: float = 55.0
    max_gap_s: float = 0.05

    def __post_init__(self) -> None:
        if not self.threshold_deg >= 0:
            raise ValueError("threshold_deg must be >= 0")
        if not (self.hysteresis_deg >= 0 and self.min_below_s >= 0 and self.margin_deg >= 0):
            raise ValueError("hysteresis_deg, min_below_s and margin_deg must be >= 0")
        if not 0 <= self.window_lo_pct < self.window_hi_pct <= 100:
            raise ValueError("need 0 <= window_lo_pct < window_hi_pct <= 100")
        if not self.max_gap_s > 0:
            raise ValueError("max_gap_s must be positive")


@dataclass(frozen=True, slots=True)
class StrideHyperextension:
    """Hyperextension metrics of one stride. Angles in rad; NaN when ``valid`` is False.

    ``valid`` is False when the knee samples do not cover the window (missing data, a gap longer
    than ``max_gap_s``, or NaN angles). ``below_s`` is the hysteresis time below -T in the
    window, ``onset_t_s``/``offset_t_s`` the first entry and last exit (NaN if never below).
    """

    side: Side
    ic_t_s: float
    fc_t_s: float
    end_t_s: float
    valid: bool
    knee_min_rad: float
    below_s: float
    below_frac: float
    onset_t_s: float
    offset_t_s: float
    positive: bool
    grade: Grade
    calibrated: bool
    zero_reliable: bool


def _interp_at(t: F64, x: F64, tq: float) -> float:
    return float(np.interp(tq, t, x))


def _hysteresis(t: F64, x: F64, enter: float, leave: float) -> tuple[float, float, float]:
    """Total time in the 'below' state, first onset and last offset (interpolated crossings)."""
    total, onset, offset = 0.0, math.nan, math.nan
    tl, xl = t.tolist(), x.tolist()
    inside = xl[0] < enter
    t_in = tl[0]
    if inside:
        onset = t_in
    for i in range(1, len(xl)):
        x0, x1 = xl[i - 1], xl[i]
        t0, t1 = tl[i - 1], tl[i]
        if not inside and x1 < enter:
            t_in = t0 + (enter - x0) / (x1 - x0) * (t1 - t0) if x0 != x1 else t1
            inside = True
            if math.isnan(onset):
                onset = t_in
        elif inside and x1 > leave:
            t_out = t0 + (leave - x0) / (x1 - x0) * (t1 - t0) if x0 != x1 else t1
            total += t_out - t_in
            offset = t_out
            inside = False
    if inside:
        total += tl[-1] - t_in
        offset = tl[-1]
    return total, onset, offset


def stride_hyperextension(
    t_s: F64,
    knee_flexion_rad: F64,
    *,
    side: Side,
    ic_t_s: float,
    fc_t_s: float,
    end_t_s: float,
    params: HyperextensionParams = HyperextensionParams(),
    calibrated: bool = True,
    zero_reliable: bool = True,
) -> StrideHyperextension:
    """Per-stride hyperextension metrics (§1.4 steps 1-2 and 6) from knee samples.

    Parameters
    ----------
    t_s, knee_flexion_rad
        Knee angle samples of this leg (flexion positive), strictly increasing times. Only the
        samples around the stance window are used.
    side, ic_t_s, fc_t_s, end_t_s
        The stride: IC, final contact (toe-off) and the next IC of the same leg.
    params
        Thresholds of the rule.
    calibrated, zero_reliable
        Quality of the knee angle's zero (see the module docstring); an uncalibrated angle caps
        the grade at ``possible``.
    """
    t = np.asarray(t_s, dtype=np.float64)
    x = np.asarray(knee_flexion_rad, dtype=np.float64)
    stride = end_t_s - ic_t_s
    w0 = ic_t_s + params.window_lo_pct / 100.0 * stride
    w1 = min(ic_t_s + params.window_hi_pct / 100.0 * stride, fc_t_s)

    def invalid() -> StrideHyperextension:
        return StrideHyperextension(
            side, ic_t_s, fc_t_s, end_t_s, False, math.nan, math.nan, math.nan,
            math.nan, math.nan, False, "none", calibrated, zero_reliable,
        )  # fmt: skip

    if not (stride > 0 and w1 > w0) or len(t) < 2 or t[0] > w0 or t[-1] < w1:
        return invalid()
    # Samples strictly inside the window, plus the neighbours that bracket its edges.
    a = int(t.searchsorted(w0, "right")) - 1
    b = int(t.searchsorted(w1, "left")) + 1
    tt, xx = t[a:b], x[a:b]
    if not bool(np.isfinite(xx).all()) or float((tt[1:] - tt[:-1]).max()) > params.max_gap_s:
        return invalid()
    # tt[0] <= w0 < tt[1] and tt[-2] < w1 <= tt[-1] (the searches above): the samples strictly
    # inside the window are tt[1:-1].
    tw = np.concatenate([[w0], tt[1:-1], [w1]])
    xw = np.concatenate([[_interp_at(tt, xx, w0)], xx[1:-1], [_interp_at(tt, xx, w1)]])
    thr = params.threshold_deg * RAD_PER_DEG
    leave = (params.threshold_deg - params.hysteresis_deg) * RAD_PER_DEG
    kmin = float(xw.min())
    below_s, onset, offset = (
        _hysteresis(tw, xw, -thr, -leave) if kmin < -thr else (0.0, math.nan, math.nan)
    )
    positive = kmin < -thr and below_s >= params.min_below_s - 1e-12
    grade: Grade = "none"
    if positive:
        definite = kmin < -thr - params.margin_deg * RAD_PER_DEG
        grade = "definite" if definite and calibrated else "possible"
    return StrideHyperextension(
        side=side,
        ic_t_s=ic_t_s,
        fc_t_s=fc_t_s,
        end_t_s=end_t_s,
        valid=True,
        knee_min_rad=kmin,
        below_s=below_s,
        below_frac=below_s / (fc_t_s - ic_t_s) if fc_t_s > ic_t_s else math.nan,
        onset_t_s=onset,
        offset_t_s=offset,
        positive=positive,
        grade=grade,
        calibrated=calibrated,
        zero_reliable=zero_reliable,
    )


def severity_band(median_min_deg: float, *, threshold_deg: float = 5.0) -> Severity:
    """Severity of a median stance minimum (deg, hyperextension negative), §1.4 step 4.

    5-10° mild, 10-15° moderate, > 15° severe (bands relative to 0°; ``none`` above -T).
    """
    if not math.isfinite(median_min_deg) or median_min_deg >= -threshold_deg:
        return "none"
    depth = -median_min_deg
    if depth < 10.0:
        return "mild"
    if depth <= 15.0:
        return "moderate"
    return "severe"


@dataclass(frozen=True, slots=True)
class LegHyperextension:
    """Per-leg (bout or session) hyperextension verdict, user-facing units (deg).

    ``status`` is ``insufficient_data`` below ``min_strides`` valid strides, else
    ``flagged``/``not_flagged``. ``grade`` is ``definite`` only with a calibrated, reliable zero
    and a median below -T - margin; ``note`` explains any cap.
    """

    side: Side
    n_strides: int
    n_valid: int
    n_positive: int
    frac_positive: float
    median_min_deg: float
    ci_low_deg: float
    ci_high_deg: float
    status: LegStatus
    severity: Severity
    grade: Grade
    calibrated: bool
    zero_reliable: bool
    note: str
    #: ``consistent``: the median stride hyperextends (§1.4 step 3); ``intermittent``: at least
    #: ``min_positive_frac`` of strides do, but not the median one.
    pattern: Pattern = "none"
    #: Median stance minimum of the positive strides only (deg; NaN without any).
    median_positive_min_deg: float = math.nan
    #: Wilson 95 % interval of the fraction of positive strides.
    frac_ci_low: float = math.nan
    frac_ci_high: float = math.nan
    #: The threshold T (deg) the strides were judged against (a stride is positive below -T).
    threshold_deg: float = 5.0

    @property
    def flagged(self) -> bool:
        return self.status == "flagged"


def summarize_leg(
    strides: list[StrideHyperextension],
    *,
    side: Side,
    min_strides: int = 20,
    min_positive_frac: float = 0.30,
    params: HyperextensionParams = HyperextensionParams(),
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> LegHyperextension:
    """Per-leg flag of §1.4 step 3-6 from the per-stride results of one leg.

    Only ``valid`` strides of ``side`` count. The bootstrap CI of the median θ_min resamples
    strides (``n_boot`` draws, seeded: the same input gives the same CI).

    Two patterns are flagged once at least ``min_positive_frac`` of at least ``min_strides``
    valid strides are positive: **consistent** (§1.4 step 3: the median θ_min is below -T too;
    graded possible/definite by step 6, severity by step 4 from that median) and
    **intermittent** (the median stride does not hyperextend: recurvatum in a minority of
    strides, or minima hovering at the threshold). §1.4's median criterion guards against "a few
    artefact strides"; 30 % of strides is not a few, so an intermittent pattern is still
    reported, always as "possible", with the severity of the positive strides' median minimum
    and the fraction with its Wilson 95 % interval.
    """
    if min_strides < 1 or not 0 < min_positive_frac <= 1:
        raise ValueError("need min_strides >= 1 and 0 < min_positive_frac <= 1")
    own = [s for s in strides if s.side is side]
    valid = [s for s in own if s.valid]
    kmin_deg = np.array([s.knee_min_rad for s in valid], dtype=np.float64) * DEG_PER_RAD
    n_pos = sum(s.positive for s in valid)
    n = len(valid)
    calibrated = bool(valid) and all(s.calibrated for s in valid)
    reliable = bool(valid) and all(s.zero_reliable for s in valid)
    median = float(np.median(kmin_deg)) if n else math.nan
    lo, hi = bootstrap_median_ci(
        kmin_deg, n_boot=n_boot, seed=seed, stream=stream_id(f"hyperext-{side.value}"), level=level
    )
    frac = n_pos / n if n else math.nan
    notes: list[str] = []
    status: LegStatus
    if n < min_strides:
        status = "insufficient_data"
        notes.append(f"insufficient data: {n} valid strides < {min_strides}")
    elif frac >= min_positive_frac:
        status = "flagged"
    else:
        status = "not_flagged"
    pos_deg = (
        np.array([s.knee_min_rad for s in valid if s.positive], dtype=np.float64) * DEG_PER_RAD
    )
    pos_median = float(np.median(pos_deg)) if len(pos_deg) else math.nan
    f_lo, f_hi = wilson_interval(n_pos, n)
    grade: Grade = "none"
    severity: Severity = "none"
    pattern: Pattern = "none"
    if status == "flagged" and median < -params.threshold_deg:
        pattern = "consistent"
        severity = severity_band(median, threshold_deg=params.threshold_deg)
        deep = median < -params.threshold_deg - params.margin_deg
        grade = "definite" if deep and calibrated and reliable else "possible"
    elif status == "flagged":
        pattern = "intermittent"
        severity = severity_band(pos_median, threshold_deg=params.threshold_deg)
        grade = "possible"
        notes.append(
            f"intermittent: {n_pos}/{n} strides ({100 * frac:.0f} %, 95% CI "
            f"{100 * f_lo:.0f}-{100 * f_hi:.0f} %) below -{params.threshold_deg:g} deg "
            f"(their median minimum {pos_median:.1f} deg), the median stride does not "
            "hyperextend"
        )
    if n and not calibrated:
        notes.append(
            "knee angle not calibrated: its zero can be off by a few degrees, "
            "so the verdict is at most 'possible'"
        )
    elif n and not reliable:
        notes.append("knee zero unreliable: the verdict is at most 'possible'")
    return LegHyperextension(
        side=side,
        n_strides=len(own),
        n_valid=n,
        n_positive=n_pos,
        frac_positive=frac,
        median_min_deg=median,
        ci_low_deg=lo,
        ci_high_deg=hi,
        status=status,
        severity=severity,
        grade=grade,
        calibrated=calibrated,
        zero_reliable=reliable,
        note="; ".join(notes),
        pattern=pattern,
        median_positive_min_deg=pos_median,
        frac_ci_low=f_lo,
        frac_ci_high=f_hi,
        threshold_deg=params.threshold_deg,
    )


def wilson_interval(k: int, n: int, *, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``k / n`` (Wilson 1927, JASA 22:209)."""
    if n <= 0:
        return math.nan, math.nan
    p = k / n
    den = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)
