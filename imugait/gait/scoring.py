"""Scoring detected gait events against a reference (biomechanics.md §3.5, step 5).

Each reference event is matched one-to-one to a detected event within ``±tolerance_s``: all
candidate pairs are taken in order of increasing time difference (ties: earlier reference first), so a
detection is never used twice. Matched pairs are true positives; unmatched reference events are false
negatives and unmatched detections false positives. Timing error is ``detected - reference``:
bias (mean), SD (sample SD, ddof=1), MAE and 95 % limits of agreement (bias ± 1.96 SD; Bland & Altman
1986, Lancet 327:307). Stride-level matching uses the same rule on the strides' ICs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

I64 = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class EventScore:
    """Detection and timing scores of one event type (times in s)."""

    n_ref: int
    n_det: int
    tp: int
    fn: int
    fp: int
    sensitivity: float
    precision: float
    f1: float
    bias_s: float
    sd_s: float
    mae_s: float
    loa_low_s: float
    loa_high_s: float

    def as_ms_row(self) -> dict[str, float | int]:
        """Counts, rates and timing in ms, for tables."""
        return {
            "n_ref": self.n_ref,
            "n_det": self.n_det,
            "tp": self.tp,
            "sens": round(self.sensitivity, 4),
            "prec": round(self.precision, 4),
            "f1": round(self.f1, 4),
            "bias_ms": round(1e3 * self.bias_s, 1),
            "sd_ms": round(1e3 * self.sd_s, 1),
            "mae_ms": round(1e3 * self.mae_s, 1),
        }


def match_events(
    ref_t_s: ArrayLike, det_t_s: ArrayLike, *, tolerance_s: float = 0.1
) -> tuple[I64, I64]:
    """One-to-one matching; returns index arrays ``(i_ref, i_det)`` of the matched pairs, sorted by ref."""
    if not tolerance_s >= 0:
        raise ValueError("tolerance_s must be >= 0")
    ref = np.asarray(ref_t_s, dtype=np.float64).ravel()
    det = np.asarray(det_t_s, dtype=np.float64).ravel()
    if not len(ref) or not len(det):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    order = np.argsort(det, kind="stable")
    ds = det[order]
    lo = np.searchsorted(ds, ref - tolerance_s, side="left")
    hi = np.searchsorted(ds, ref + tolerance_s, side="right")
    pairs: list[tuple[float, int, int]] = []
    for i in range(len(ref)):
        for j in range(int(lo[i]), int(hi[i])):
            pairs.append((abs(float(ds[j] - ref[i])), i, int(order[j])))
    pairs.sort()
    used_r: set[int] = set()
    used_d: set[int] = set()
    out: list[tuple[int, int]] = []
    for _, i, j in pairs:
        if i not in used_r and j not in used_d:
            used_r.add(i)
            used_d.add(j)
            out.append((i, j))
    out.sort()
    return (
        np.asarray([p[0] for p in out], dtype=np.int64),
        np.asarray([p[1] for p in out], dtype=np.int64),
    )


def score_events(ref_t_s: ArrayLike, det_t_s: ArrayLike, *, tolerance_s: float = 0.1) -> EventScore:
    """Sensitivity, precision, F1 and timing error (det - ref) of detected vs reference events."""
    ref = np.asarray(ref_t_s, dtype=np.float64).ravel()
    det = np.asarray(det_t_s, dtype=np.float64).ravel()
    i_ref, i_det = match_events(ref, det, tolerance_s=tolerance_s)
    tp = len(i_ref)
    err = det[i_det] - ref[i_ref]
    sens = tp / len(ref) if len(ref) else math.nan
    prec = tp / len(det) if len(det) else math.nan
    f1 = 2 * tp / (len(ref) + len(det)) if len(ref) + len(det) else math.nan
    bias = float(err.mean()) if tp else math.nan
    sd = float(err.std(ddof=1)) if tp > 1 else math.nan
    return EventScore(
        n_ref=len(ref),
        n_det=len(det),
        tp=tp,
        fn=len(ref) - tp,
        fp=len(det) - tp,
        sensitivity=sens,
        precision=prec,
        f1=f1,
        bias_s=bias,
        sd_s=sd,
        mae_s=float(np.abs(err).mean()) if tp else math.nan,
        loa_low_s=bias - 1.96 * sd,
        loa_high_s=bias + 1.96 * sd,
    )
