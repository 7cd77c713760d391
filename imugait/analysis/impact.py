"""Per-stride loading proxies: shank/foot impact peak, loading rate, loading-response knee flexion.

Impact (biomechanics.md §4.2, Lafortune et al. 1995): the peak axial specific force in a short
window around initial contact (the shock), on the unsmoothed signal.

1. **Axis.** The segment's long axis in sensor coordinates is the mean gravity direction during
   quiet standing (gyro norm below ``still_gyr_rad_s`` and ``|acc|`` within ``still_acc_tol_m_s2``
   of g, for at least ``still_min_s`` in a row); a static shank is near vertical, a foot on the
   floor has its "up" axis vertical, so the same rule finds the shank's proximal axis and the
   foot's up axis, with any mounting. Without enough standing, the fallback is the direction of
   the mean specific force over the strides' stance phases (the linear accelerations average
   out; the shank's mean stance tilt biases it by a few degrees, which changes the projection of
   a near-axial impact by well under 1 %).
2. **Shock.** The axial signal is high-passed (4th-order Butterworth, ``highpass_hz`` = 8 Hz,
   zero-phase; offline only) to keep the impact transient (15-30 Hz, Lafortune et al. 1995) and
   drop gravity, the accelerometer bias and the smooth segment kinematics around IC (a loading
   "plateau" of several m/s^2 that is equal on both sides and would dilute the SI). [E]
3. **Peak** = peak-to-peak shock amplitude in ``[IC - pre_s, IC + window_s]`` (the window
   starts before IC so that an event detector's few tens of ms of bias cannot cut the shock);
   time to peak from IC to the maximum; loading rate = steepest rise in the window (m/s^3).

Both sides must use the same sensor site (Lafortune: the amplitude depends on the distance from
the ankle), and a low-pass below ~50 Hz would blunt the peak, so the raw signal is used. At
100 Hz the transient (15-30 Hz) is under-sampled and the time to peak is quantised to 10 ms:
use the peak rather than the loading rate at low rates.

Measured on the simulator (100 Hz, shank impact 1 g, amplitude reduced 30 % on one side, no other
change): shock SI -12 % for an injected transient-amplitude SI of -37 %; healthy +1 to +2 %. At
100 Hz the 15-30 Hz transient is under-sampled and mixes with the kinematics that remain above
8 Hz, so the SI is that of the measured shock, not of the transient alone; the 15 % threshold is
conservative for it. The loading rate depends on the sample rate and is reported but does not
vote in the asymmetry verdict.

Loading-response knee flexion (§4.2, quadriceps avoidance): max knee flexion in 0-20 % GC minus
the value at IC; a zero offset of the knee angle cancels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from imugait.kinematics.estimator import KneeBlock
from imugait.types import SampleBlock, Side
from imugait.units import DEG_PER_RAD, G_M_S2

F64 = NDArray[np.float64]

__all__ = [
    "IMPACT_COLUMNS",
    "ImpactMetrics",
    "LongAxis",
    "add_impact_columns",
    "add_lr_flexion_column",
    "impact_metrics",
    "loading_response_flexion",
    "segment_long_axis",
    "shock_signal",
    "still_mask",
]


#: Stride-table columns added by :func:`add_impact_columns`.
IMPACT_COLUMNS = ["impact_peak_m_s2", "impact_time_to_peak_s", "loading_rate_m_s3"]


@dataclass(frozen=True, slots=True)
class LongAxis:
    """Unit long axis in sensor coordinates (pointing up when upright) and its gravity reading."""

    axis: F64
    baseline_m_s2: float
    source: Literal["still", "stance", "all"]
    still_s: float


def _runs(mask: NDArray[np.bool_]) -> list[tuple[int, int]]:
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def still_mask(
    acc_m_s2: F64,
    gyr_rad_s: F64,
    *,
    fs_hz: float,
    still_gyr_rad_s: float = 0.15,
    still_acc_tol_m_s2: float = 0.6,
    still_min_s: float = 0.5,
) -> NDArray[np.bool_]:
    """Samples in runs of at least ``still_min_s`` of quiet standing (low rotation, |acc| ≈ g)."""
    quiet = (np.linalg.norm(gyr_rad_s, axis=1) < still_gyr_rad_s) & (
        np.abs(np.linalg.norm(acc_m_s2, axis=1) - G_M_S2) < still_acc_tol_m_s2
    )
    out = np.zeros(len(quiet), dtype=bool)
    n_min = max(1, round(still_min_s * fs_hz))
    for a, b in _runs(quiet):
        if b - a >= n_min:
            out[a:b] = True
    return out


def segment_long_axis(
    t_s: F64,
    acc_m_s2: F64,
    gyr_rad_s: F64,
    *,
    fs_hz: float,
    ic_t_s: F64 | None = None,
    fc_t_s: F64 | None = None,
    min_still_s: float = 1.0,
) -> LongAxis:
    """The segment's long axis from the data (see the module docstring, step 1)."""
    acc = np.asarray(acc_m_s2, dtype=np.float64)
    still = still_mask(acc, gyr_rad_s, fs_hz=fs_hz)
    still_s = float(still.sum()) / fs_hz
    if still_s >= min_still_s:
        m = acc[still].mean(axis=0)
        norm = float(np.linalg.norm(m))
        return LongAxis(m / norm, norm, "still", still_s)
    source: Literal["stance", "all"] = "all"
    sel = np.ones(len(acc), dtype=bool)
    if ic_t_s is not None and fc_t_s is not None and len(ic_t_s):
        t = np.asarray(t_s, dtype=np.float64)
        k = np.searchsorted(ic_t_s, t, side="right") - 1
        ok = k >= 0
        sel = np.zeros(len(acc), dtype=bool)
        sel[ok] = t[ok] < np.asarray(fc_t_s, dtype=np.float64)[k[ok]]
        source = "stance"
    if not bool(sel.any()):
        raise ValueError("no samples to find the long axis from")
    m = acc[sel].mean(axis=0)
    return LongAxis(m / float(np.linalg.norm(m)), G_M_S2, source, still_s)


@dataclass(frozen=True, slots=True)
class ImpactMetrics:
    """Per-IC impact metrics (arrays aligned with the ICs; NaN where the window has no data)."""

    peak_m_s2: F64
    time_to_peak_s: F64
    loading_rate_m_s3: F64


def impact_metrics(
    t_s: F64,
    axial_m_s2: F64,
    ic_t_s: F64,
    *,
    window_s: float = 0.10,
    pre_s: float = 0.05,
    fs_hz: float,
    max_gap_s: float | None = None,
) -> ImpactMetrics:
    """Peak-to-peak shock around each IC, time to its maximum, and the steepest rise.

    Parameters
    ----------
    t_s, axial_m_s2
        Raw axial specific force of one sensor (``acc @ axis``), strictly increasing times.
    ic_t_s
        Initial contacts of this leg.
    window_s, pre_s
        The window is ``[IC - pre_s, IC + window_s]``.
    fs_hz
        Sampling rate; the time to peak is at least one sample period.
    max_gap_s
        Windows with a larger sample gap are NaN (default 1.5 sample periods).
    """
    if not (window_s > 0 and fs_hz > 0):
        raise ValueError("window_s and fs_hz must be positive")
    t = np.asarray(t_s, dtype=np.float64)
    x = np.asarray(axial_m_s2, dtype=np.float64)
    ics = np.asarray(ic_t_s, dtype=np.float64)
    gap = 1.5 / fs_hz if max_gap_s is None else max_gap_s
    peak = np.full(len(ics), math.nan)
    ttp = np.full(len(ics), math.nan)
    rate = np.full(len(ics), math.nan)
    a_idx = np.searchsorted(t, ics - pre_s, side="left")
    b_idx = np.searchsorted(t, ics + window_s, side="right")
    for i, (a, b) in enumerate(zip(a_idx.tolist(), b_idx.tolist(), strict=True)):
        if b - a < 2 or b >= len(t) or a == 0:
            continue
        seg = x[a:b]
        if float(np.max(np.diff(t[a - 1 : b + 1]))) > gap or not bool(np.all(np.isfinite(seg))):
            continue
        k = int(np.argmax(seg))
        peak[i] = float(seg[k] - np.min(seg))
        ttp[i] = float(t[a + k] - ics[i])
        rate[i] = float(np.max(np.diff(seg) / np.diff(t[a:b])))
    return ImpactMetrics(peak, ttp, rate)


def shock_signal(t_s: F64, axial_m_s2: F64, *, fs_hz: float, highpass_hz: float = 8.0) -> F64:
    """Zero-phase high-pass of the axial signal, run separately on each gap-free run."""
    from scipy.signal import butter, sosfiltfilt

    t = np.asarray(t_s, dtype=np.float64)
    x = np.asarray(axial_m_s2, dtype=np.float64)
    out = np.full(len(x), math.nan)
    sos = butter(4, highpass_hz, "highpass", fs=fs_hz, output="sos")
    cuts = [0, *(np.flatnonzero(np.diff(t) > 1.5 / fs_hz) + 1).tolist(), len(x)]
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        if b - a > 30:  # sosfiltfilt needs more samples than its padding
            out[a:b] = sosfiltfilt(sos, x[a:b])
    return out


def loading_response_flexion(
    t_s: F64,
    knee_flexion_rad: F64,
    ic_t_s: F64,
    end_t_s: F64,
    *,
    window_pct: float = 20.0,
    max_gap_s: float = 0.05,
) -> F64:
    """Loading-response knee flexion per stride (rad): max in 0-``window_pct`` % GC - value at IC.

    Perry & Burnfield 2010 [R]: the knee flexes ~15-20° in loading response (biomechanics.md
    §1.2); a reduced excursion is the quadriceps-avoidance loading proxy of §4.2.
    """
    t = np.asarray(t_s, dtype=np.float64)
    x = np.asarray(knee_flexion_rad, dtype=np.float64)
    ics = np.asarray(ic_t_s, dtype=np.float64)
    ends = np.asarray(end_t_s, dtype=np.float64)
    out = np.full(len(ics), math.nan)
    if len(t) < 2:
        return out
    for i, (ic, end) in enumerate(zip(ics.tolist(), ends.tolist(), strict=True)):
        w1 = ic + window_pct / 100.0 * (end - ic)
        if not (t[0] <= ic and w1 <= t[-1] and w1 > ic):
            continue
        a = int(np.searchsorted(t, ic, side="right")) - 1
        b = int(np.searchsorted(t, w1, side="left")) + 1
        tt, xx = t[a:b], x[a:b]
        if not bool(np.all(np.isfinite(xx))) or float(np.max(np.diff(tt))) > max_gap_s:
            continue
        x_ic = float(np.interp(ic, tt, xx))
        inner = xx[(tt > ic) & (tt <= w1)]
        x_end = float(np.interp(w1, tt, xx))
        out[i] = max(float(np.max(inner)) if len(inner) else x_ic, x_end) - x_ic
    return out


def add_impact_columns(
    table: pd.DataFrame, blocks: dict[Side, SampleBlock], *, window_s: float = 0.10
) -> tuple[pd.DataFrame, dict[Side, LongAxis]]:
    """The stride table with ``IMPACT_COLUMNS`` from each side's shank (or foot) recording.

    ``blocks[side]`` is that side's whole recording (one sensor, sensor axes). Sides without a
    block get NaN. Returns the table and the long axis found per side.
    """
    out = table.copy()
    cols = {c: np.full(len(out), math.nan) for c in IMPACT_COLUMNS}
    axes: dict[Side, LongAxis] = {}
    for side, blk in blocks.items():
        rows = np.flatnonzero((out["side"] == side.value).to_numpy())
        ic = out["ic_t_s"].to_numpy(dtype=np.float64)[rows]
        fc = out["fc_t_s"].to_numpy(dtype=np.float64)[rows]
        ax = segment_long_axis(
            blk.t_s, blk.acc_m_s2, blk.gyr_rad_s, fs_hz=blk.fs_hz, ic_t_s=ic, fc_t_s=fc
        )
        axes[side] = ax
        m = impact_metrics(
            blk.t_s,
            shock_signal(blk.t_s, blk.acc_m_s2 @ ax.axis, fs_hz=blk.fs_hz),
            ic,
            window_s=window_s,
            fs_hz=blk.fs_hz,
        )
        cols["impact_peak_m_s2"][rows] = m.peak_m_s2
        cols["impact_time_to_peak_s"][rows] = m.time_to_peak_s
        cols["loading_rate_m_s3"][rows] = m.loading_rate_m_s3
    for c, v in cols.items():
        out[c] = v
    return out, axes


def add_lr_flexion_column(
    table: pd.DataFrame, knee: dict[Side, KneeBlock], *, window_pct: float = 20.0
) -> pd.DataFrame:
    """The stride table with ``lr_knee_flexion_deg`` from each side's knee angle."""
    out = table.copy()
    col = np.full(len(out), math.nan)
    for side, kb in knee.items():
        rows = np.flatnonzero((out["side"] == side.value).to_numpy())
        col[rows] = (
            loading_response_flexion(
                kb.t_s,
                kb.knee_flexion_rad,
                out["ic_t_s"].to_numpy(dtype=np.float64)[rows],
                out["end_t_s"].to_numpy(dtype=np.float64)[rows],
                window_pct=window_pct,
            )
            * DEG_PER_RAD
        )
    out["lr_knee_flexion_deg"] = col
    return out
