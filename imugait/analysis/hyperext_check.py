"""Streaming per-stride hyperextension check and the stride-table columns it fills.

:class:`HyperextensionCheck` takes strides (from :class:`~imugait.gait.strides.StrideDetector`
or anything with ``side``, ``ic_t_s``, ``fc_t_s``, ``end_t_s``) and
:class:`~imugait.kinematics.estimator.KneeBlock` s of both legs, pushed in any interleaving and
chunking. A stride's result is emitted as soon as both the stride and knee samples up to its
final contact (FC) have arrived; the rule itself is :func:`stride_hyperextension` on the
samples around the stance window, which are then complete, so any chunking of the knee stream
gives exactly the same results.

Memory: knee samples before the end of the newest stride of a leg are dropped once no pending
stride needs them (strides of one leg do not overlap, so later strides cannot need them). Hence
the strides of each leg must be pushed in time order; an earlier stride arriving after a later
one raises ``ValueError`` when its samples are gone, never silently using incomplete data. With
``max_buffer_s`` set, samples older than that before the newest knee sample are dropped too
(bounds memory when strides stop coming); then a stride must arrive within ``max_buffer_s``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from imugait.analysis.hyperextension import (
    HyperextensionParams,
    StrideHyperextension,
    stride_hyperextension,
)
from imugait.errors import InputDataError
from imugait.kinematics.estimator import KneeBlock
from imugait.types import Side
from imugait.units import DEG_PER_RAD

F64 = NDArray[np.float64]

__all__ = [
    "HYPEREXT_COLUMNS",
    "HyperextensionCheck",
    "StrideLike",
    "add_hyperextension_columns",
    "hyperextension_frame",
]

#: Columns added to the stride table (architecture.md §9 naming).
HYPEREXT_COLUMNS = [
    "knee_min_stance_deg",
    "hyperext_ms",
    "hyperextension",
    "hyperext_onset_t_s",
    "hyperext_offset_t_s",
    "hyperext_grade",
]


class StrideLike(Protocol):
    """The stride fields the analysis needs (``imugait.gait.strides.Stride`` has them)."""

    @property
    def side(self) -> Side: ...
    @property
    def ic_t_s(self) -> float: ...
    @property
    def fc_t_s(self) -> float: ...
    @property
    def end_t_s(self) -> float: ...


@dataclass
class _SideState:
    t: F64 = field(default_factory=lambda: np.empty(0))
    x: F64 = field(default_factory=lambda: np.empty(0))
    cal: NDArray[np.bool_] = field(default_factory=lambda: np.empty(0, dtype=bool))
    rel: NDArray[np.bool_] = field(default_factory=lambda: np.empty(0, dtype=bool))
    last_t: float = -math.inf
    kept_from_t: float = -math.inf  # samples before this time were dropped
    horizon_t: float = -math.inf  # latest end_t_s of the pushed strides
    pending: list[StrideLike] = field(default_factory=list)


class HyperextensionCheck:
    """Streaming per-stride hyperextension rule of biomechanics.md §1.4 for both legs.

    Parameters
    ----------
    threshold_deg, hysteresis_deg, min_below_ms, margin_deg
        T (5°, Loudon 1998), exit hysteresis (1°), minimum time below -T (40 ms) and the
        possible/definite margin (2°).
    window_pct
        Stance window in % of the gait cycle (10-55 %), cut at FC.
    max_gap_s
        Larger gaps between knee samples inside the window make the stride invalid.
    max_buffer_s
        Optional cap on how long knee samples wait for strides that have not arrived yet
        (``None``: until a later stride of that leg arrives, exact for offline use).
    """

    def __init__(
        self,
        *,
        threshold_deg: float = 5.0,
        hysteresis_deg: float = 1.0,
        min_below_ms: float = 40.0,
        margin_deg: float = 2.0,
        window_pct: tuple[float, float] = (10.0, 55.0),
        max_gap_s: float = 0.05,
        max_buffer_s: float | None = None,
    ) -> None:
        self.params = HyperextensionParams(
            threshold_deg=threshold_deg,
            hysteresis_deg=hysteresis_deg,
            min_below_s=min_below_ms / 1e3,
            margin_deg=margin_deg,
            window_lo_pct=window_pct[0],
            window_hi_pct=window_pct[1],
            max_gap_s=max_gap_s,
        )
        if max_buffer_s is not None and not max_buffer_s > 0:
            raise ValueError("max_buffer_s must be positive")
        self.max_buffer_s = max_buffer_s
        self._state = {s: _SideState() for s in Side}

    def push(self, item: StrideLike | KneeBlock) -> list[StrideHyperextension]:
        """Add one stride or one knee block; return the stride results that are now final."""
        if isinstance(item, KneeBlock):
            st = self._state[item.side]
            self._add_knee(st, item)
        else:
            st = self._state[Side(item.side)]
            if not item.ic_t_s < item.fc_t_s < item.end_t_s:
                raise ValueError("a stride needs ic_t_s < fc_t_s < end_t_s")
            if item.ic_t_s < st.kept_from_t:
                raise ValueError(
                    f"stride at {item.ic_t_s:.3f} s arrived after its knee samples were "
                    "dropped; push each leg's strides in time order"
                )
            st.pending.append(item)
            st.horizon_t = max(st.horizon_t, item.end_t_s)
        out = self._emit(st, final=False)
        self._trim(st)
        return out

    def flush(self) -> list[StrideHyperextension]:
        """End of stream: results for all pending strides (invalid where knee data is missing)."""
        out: list[StrideHyperextension] = []
        for st in self._state.values():
            out += self._emit(st, final=True)
        return sorted(out, key=lambda r: (r.ic_t_s, r.side.value))

    # ------------------------------------------------------------------ internals
    def _add_knee(self, st: _SideState, blk: KneeBlock) -> None:
        if blk.n == 0:
            return
        t = np.asarray(blk.t_s, dtype=np.float64)
        if t[0] <= st.last_t or (len(t) > 1 and bool(np.any(np.diff(t) <= 0))):
            raise InputDataError(f"{blk.side.value} knee: t_s not strictly increasing")
        st.t = np.concatenate([st.t, t])
        st.x = np.concatenate([st.x, np.asarray(blk.knee_flexion_rad, dtype=np.float64)])
        st.cal = np.concatenate([st.cal, np.full(blk.n, blk.calibrated)])
        st.rel = np.concatenate([st.rel, np.full(blk.n, blk.zero_reliable)])
        st.last_t = float(t[-1])

    def _emit(self, st: _SideState, *, final: bool) -> list[StrideHyperextension]:
        ready = [s for s in st.pending if final or s.fc_t_s <= st.last_t]
        if not ready:
            return []
        st.pending = [s for s in st.pending if not (final or s.fc_t_s <= st.last_t)]
        out = [self._evaluate(st, s) for s in ready]
        return sorted(out, key=lambda r: r.ic_t_s)

    def _evaluate(self, st: _SideState, s: StrideLike) -> StrideHyperextension:
        a = max(int(np.searchsorted(st.t, s.ic_t_s, side="right")) - 1, 0)
        b = int(np.searchsorted(st.t, s.fc_t_s, side="left")) + 1
        sl = slice(a, b)
        cal = bool(np.all(st.cal[sl])) if b > a else False
        rel = bool(np.all(st.rel[sl])) if b > a else False
        return stride_hyperextension(
            st.t[sl],
            st.x[sl],
            side=Side(s.side),
            ic_t_s=s.ic_t_s,
            fc_t_s=s.fc_t_s,
            end_t_s=s.end_t_s,
            params=self.params,
            calibrated=cal,
            zero_reliable=rel,
        )

    def _trim(self, st: _SideState) -> None:
        cut = st.horizon_t
        if self.max_buffer_s is not None:
            cut = max(cut, st.last_t - self.max_buffer_s)
        if st.pending:
            cut = min(cut, min(s.ic_t_s for s in st.pending))
        k = int(np.searchsorted(st.t, cut, side="right")) - 1  # keep one sample before the cut
        if k > 0:
            st.t, st.x, st.cal, st.rel = st.t[k:], st.x[k:], st.cal[k:], st.rel[k:]
            st.kept_from_t = float(st.t[0])


def _row(r: StrideHyperextension) -> dict[str, object]:
    return {
        "knee_min_stance_deg": r.knee_min_rad * DEG_PER_RAD,
        "hyperext_ms": r.below_s * 1e3,
        "hyperextension": r.positive,
        "hyperext_onset_t_s": r.onset_t_s,
        "hyperext_offset_t_s": r.offset_t_s,
        "hyperext_grade": r.grade,
    }


def hyperextension_frame(results: list[StrideHyperextension]) -> pd.DataFrame:
    """Per-stride results as stride-table columns (``side``, ``ic_t_s`` + ``HYPEREXT_COLUMNS``)."""
    rows = [{"side": r.side.value, "ic_t_s": r.ic_t_s, **_row(r)} for r in results]
    return pd.DataFrame(rows, columns=["side", "ic_t_s", *HYPEREXT_COLUMNS])


def add_hyperextension_columns(
    table: pd.DataFrame, results: list[StrideHyperextension], *, tol_s: float = 1e-6
) -> pd.DataFrame:
    """The stride table with ``HYPEREXT_COLUMNS`` filled, matched on side and ``ic_t_s``.

    Strides without a result get NaN metrics, ``hyperextension`` False and grade ``none``.
    """
    out = table.copy()
    empty: dict[str, object] = dict.fromkeys(HYPEREXT_COLUMNS, math.nan)
    empty.update(hyperextension=False, hyperext_grade="none")
    by_side: dict[str, list[StrideHyperextension]] = {s.value: [] for s in Side}
    for r in results:
        by_side[r.side.value].append(r)
    keys = {k: np.array([r.ic_t_s for r in v], dtype=np.float64) for k, v in by_side.items()}
    rows: list[dict[str, object]] = []
    for side, ic in zip(out["side"], out["ic_t_s"], strict=True):
        cand = keys[str(side)]
        j = int(np.argmin(np.abs(cand - float(ic)))) if len(cand) else -1
        if j < 0 or abs(float(cand[j]) - float(ic)) > tol_s:
            rows.append(empty)
        else:
            rows.append(_row(by_side[str(side)][j]))
    cols = pd.DataFrame(rows, columns=HYPEREXT_COLUMNS, index=out.index)
    for c in HYPEREXT_COLUMNS:
        out[c] = cols[c]
    out["hyperextension"] = out["hyperextension"].astype(bool)
    return out
