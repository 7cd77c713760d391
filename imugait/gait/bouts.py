"""Bilateral combination of both legs' strides into the public stride table (architecture.md §9).

Per stride (IC -> next IC of the same leg): stride, stance (IC -> FC), swing (FC -> next IC), stance %,
step time (this IC minus the previous contralateral IC), single support (the contralateral swing inside
this stance), double support (initial: IC -> contralateral FC; terminal: contralateral IC -> FC),
cadence (two steps per stride: 120 / stride_s), and a bout id shared by both legs (a new bout starts
after more than ``bout_gap_s`` without any stride). Consistency rules (biomechanics.md §3.5, step 4):
exactly one contralateral IC lies inside each stride (``bilateral_ok``) and both double-support
intervals are positive (``double_support_ok``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from imugait.gait.strides import Stride
from imugait.types import Side

#: Public columns, in order (quality columns follow).
STRIDE_COLUMNS = [
    "side",
    "ic_t_s",
    "fc_t_s",
    "end_t_s",
    "stride_s",
    "stance_s",
    "swing_s",
    "stance_pct",
    "step_s",
    "single_support_s",
    "cadence_spm",
    "bout_id",
]
QUALITY_COLUMNS = ["double_support_s", "bilateral_ok", "double_support_ok", "flags", "location"]


def _side_arrays(strides: list[Stride]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ic = np.array([s.ic_t_s for s in strides], dtype=np.float64)
    fc = np.array([s.fc_t_s for s in strides], dtype=np.float64)
    end = np.array([s.end_t_s for s in strides], dtype=np.float64)
    if len(ic) > 1 and bool(np.any(ic[1:] < end[:-1] - 1e-9)):
        raise ValueError("strides of one side overlap: pass one sensor's strides per side")
    return ic, fc, end


def stride_table(strides: Sequence[Stride], *, bout_gap_s: float = 2.5) -> pd.DataFrame:
    """Both legs' strides as the public stride table, one row per stride, sorted by ``ic_t_s``.

    Parameters
    ----------
    strides
        Strides of the left and/or right leg (one sensor per side), any order.
    bout_gap_s
        More than this between the end of all earlier strides and a stride's IC opens a new bout.
    """
    if not bout_gap_s > 0:
        raise ValueError("bout_gap_s must be positive")
    by_side = {
        side: sorted((s for s in strides if s.side is side), key=lambda s: s.ic_t_s)
        for side in Side
    }
    arrays = {side: _side_arrays(lst) for side, lst in by_side.items()}
    rows: list[dict[str, object]] = []
    for side, lst in by_side.items():
        c_ic, c_fc, c_end = arrays[side.other]
        contra_ics = np.unique(np.concatenate([c_ic, c_end]))
        for s in lst:
            stride_s = s.end_t_s - s.ic_t_s
            stance_s = s.fc_t_s - s.ic_t_s
            k = int(np.searchsorted(contra_ics, s.ic_t_s, side="left")) - 1
            step_s = s.ic_t_s - contra_ics[k] if k >= 0 else math.nan
            if not step_s < stride_s:
                step_s = math.nan  # previous contralateral IC from another bout
            inside = contra_ics[(contra_ics > s.ic_t_s) & (contra_ics < s.end_t_s)]
            # Contralateral swing inside this stance: its FC after our IC, its IC before our FC.
            m = (c_fc > s.ic_t_s) & (c_end < s.fc_t_s)
            single = float(c_end[m][0] - c_fc[m][0]) if bool(m.any()) else math.nan
            init_ds = float(c_fc[m][0] - s.ic_t_s) if bool(m.any()) else math.nan
            term_ds = float(s.fc_t_s - c_end[m][0]) if bool(m.any()) else math.nan
            rows.append(
                {
                    "side": side.value,
                    "ic_t_s": s.ic_t_s,
                    "fc_t_s": s.fc_t_s,
                    "end_t_s": s.end_t_s,
                    "stride_s": stride_s,
                    "stance_s": stance_s,
                    "swing_s": s.end_t_s - s.fc_t_s,
                    "stance_pct": 100.0 * stance_s / stride_s,
                    "step_s": step_s,
                    "single_support_s": single,
                    "cadence_spm": 120.0 / stride_s,
                    "bout_id": -1,
                    "double_support_s": init_ds + term_ds,
                    "bilateral_ok": len(inside) == 1,
                    "double_support_ok": bool(init_ds > 0 and term_ds > 0),
                    "flags": ";".join(sorted(f.value for f in s.flags)),
                    "location": s.location.value,
                }
            )
    df = pd.DataFrame(rows, columns=STRIDE_COLUMNS + QUALITY_COLUMNS)
    if df.empty:
        return df.astype({"bout_id": "int64", "bilateral_ok": bool, "double_support_ok": bool})
    df = df.sort_values(["ic_t_s", "side"], kind="stable").reset_index(drop=True)
    ic = df["ic_t_s"].to_numpy()
    end = df["end_t_s"].to_numpy()
    reach = np.maximum.accumulate(end)
    new = np.ones(len(df), dtype=bool)
    new[1:] = ic[1:] - reach[:-1] > bout_gap_s
    df["bout_id"] = np.cumsum(new).astype(np.int64) - 1
    return df
