"""Streaming hyperextension check: verdicts as each stance ends, results per stride, table columns.

:class:`HyperextensionCheck` takes strides (from :class:`~imugait.gait.strides.StrideDetector`
or anything with ``side``, ``ic_t_s``, ``fc_t_s``, ``end_t_s``), stance ends (from
:class:`~imugait.gait.stance_end.StanceEndDetector`) and
:class:`~imugait.kinematics.estimator.KneeBlock` s of both legs, pushed in any interleaving and
chunking. The rule itself is :func:`stride_hyperextension` (biomechanics.md §1.4) on the knee
samples around the stance window, which are complete when it runs, so any chunking of the knee
stream gives exactly the same results.

**Verdict at the stance end** (``stance_verdicts=True``, what the pipeline uses). A stride is
only closed by the next initial contact (IC), about 1 s after its stance ended. So each stance is
judged at its :class:`~imugait.gait.stance_end.StanceEnd` (tens of ms after final contact, FC):
the window is 10-55 % of the gait cycle from the stance's IC, cut at its FC, with the cycle time
estimated causally (``StanceEnd.cycle_s``: the leg's previous stride). The verdict is emitted as
soon as the knee samples cover that window (:attr:`HxOutput.stance`). A later stance end with the
same IC (the detector saw a second, later swing onset) gives a second verdict that supersedes the
first. When the stride with that IC (within ``match_tol_s``) is final, its result is:

* the *latest* stance verdict for its IC, the very same object, if its FC is within
  ``fc_tol_s`` of the stride's FC (the usual case: what the live view showed is what the stride
  table holds);
* otherwise (no stance verdict: the first stride of a bout can be missed, or the verdict's FC
  disagrees), the rule on the stride's own IC, FC and next IC, computed then.

Stance verdicts that no stride takes (superseded, FC disagreeing, or no stride with that IC: a
stride rejected as implausible or cut by a gap) are emitted in :attr:`HxOutput.withdrawn` and
never reach the stride table or the per-leg summary. A stride is final once the stance-end
detector has decided past the stride's end (:meth:`HyperextensionCheck.stance_progress`), no
stance end with its IC is waiting for knee samples, and the knee covers its FC (or at ``flush``):
every result is a function of the data, never of the arrival order.

With ``stance_verdicts=False`` (strides only) a stride's result is emitted as soon as both the
stride and knee samples up to its FC have arrived.

Memory: knee samples are dropped once no pending stance end or stride needs them and they are
older than the newest stride's end (strides of one leg do not overlap). Hence the strides of each
leg must be pushed in time order; an earlier stride arriving after a later one raises
``ValueError`` when its samples are gone, never silently using incomplete data. With
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
from imugait.gait.stance_end import StanceEnd
from imugait.kinematics.estimator import KneeBlock
from imugait.types import Side
from imugait.units import DEG_PER_RAD

F64 = NDArray[np.float64]

__all__ = [
    "HYPEREXT_COLUMNS",
    "HxOutput",
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


@dataclass(slots=True)
class HxOutput:
    """What one push of :class:`HyperextensionCheck` made final.

    ``stance``: verdicts given as stances end (live); ``stride``: per-stride results (the stride
    table; a confirmed stance verdict is the same object); ``withdrawn``: stance verdicts that no
    stride took.
    """

    stance: list[StrideHyperextension] = field(default_factory=list)
    stride: list[StrideHyperextension] = field(default_factory=list)
    withdrawn: list[StrideHyperextension] = field(default_factory=list)

    def extend(self, other: HxOutput) -> None:
        self.stance.extend(other.stance)
        self.stride.extend(other.stride)
        self.withdrawn.extend(other.withdrawn)


@dataclass
class _SideState:
    t: F64 = field(default_factory=lambda: np.empty(0))
    x: F64 = field(default_factory=lambda: np.empty(0))
    # the knee blocks' (calibrated, zero_reliable), constant per block: runs of equal flags as
    # (time of the run's first sample, calibrated, zero_reliable), in time order
    flags: list[tuple[float, bool, bool]] = field(default_factory=list)
    last_t: float = -math.inf
    kept_from_t: float = -math.inf  # samples before this time were dropped
    horizon_t: float = -math.inf  # latest end_t_s of the pushed strides
    pending: list[StrideLike] = field(default_factory=list)  # strides, in time order
    stances: list[StanceEnd] = field(default_factory=list)  # waiting for knee samples
    given: list[StrideHyperextension] = field(default_factory=list)  # verdicts, no stride yet
    progress_t: float = -math.inf  # the stance-end detector has decided up to here
    # whether pending / stances are in IC order (as pushed by the pipeline): their smallest
    # IC is then the first one
    pending_sorted: bool = True
    stances_sorted: bool = True


def _min_ic(items: list[StrideLike] | list[StanceEnd], in_order: bool) -> float:
    """The smallest ``ic_t_s`` of a non-empty list (its first when in IC order)."""
    return items[0].ic_t_s if in_order else min(x.ic_t_s for x in items)


class HyperextensionCheck:
    """Streaming hyperextension rule of biomechanics.md §1.4 for both legs (module docstring).

    Parameters
    ----------
    threshold_deg, hysteresis_deg, min_below_ms, margin_deg
        T (5°, Loudon 1998), exit hysteresis (1°), minimum time below -T (40 ms) and the
        possible/definite margin (2°).
    window_pct
        Stance window in % of the gait cycle (10-55 %), cut at FC.
    max_gap_s
        Larger gaps between knee samples inside the window make the stride invalid.
    stance_verdicts
        Verdicts at stance ends, taken over by strides (see the module docstring).
    match_tol_s, fc_tol_s
        A stance verdict belongs to the stride whose IC is within ``match_tol_s`` of its IC,
        if their FCs are within ``fc_tol_s``.
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
        stance_verdicts: bool = False,
        match_tol_s: float = 1e-3,
        fc_tol_s: float = 0.05,
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
        if not (match_tol_s > 0 and fc_tol_s > 0):
            raise ValueError("match_tol_s and fc_tol_s must be positive")
        self.max_buffer_s = max_buffer_s
        self.stance_verdicts = stance_verdicts
        self.match_tol_s, self.fc_tol_s = match_tol_s, fc_tol_s
        self._state = {s: _SideState() for s in Side}
        if not stance_verdicts:
            for st in self._state.values():
                st.progress_t = math.inf

    def push(self, item: StrideLike | KneeBlock | StanceEnd) -> list[StrideHyperextension]:
        """Add one stride, stance end or knee block; return the stride results now final."""
        return self.push_all(item).stride

    def flush(self) -> list[StrideHyperextension]:
        """End of stream: results for all pending strides (invalid where knee data is missing)."""
        return self.flush_all().stride

    def push_all(self, item: StrideLike | KneeBlock | StanceEnd) -> HxOutput:
        """Add one stride, stance end or knee block; return everything now final."""
        if isinstance(item, KneeBlock):
            st = self._state[item.side]
            self._add_knee(st, item)
        elif isinstance(item, StanceEnd):
            if not self.stance_verdicts:
                raise ValueError("stance ends need HyperextensionCheck(stance_verdicts=True)")
            st = self._state[item.side]
            if not item.ic_t_s < item.fc_t_s < item.end_t_s:
                raise ValueError("a stance end needs ic_t_s < fc_t_s < ic_t_s + cycle_s")
            if item.ic_t_s < st.kept_from_t:
                raise ValueError(
                    f"stance end at {item.ic_t_s:.3f} s after its samples were dropped"
                )
            if not st.stances:
                st.stances_sorted = True
            elif item.ic_t_s < st.stances[-1].ic_t_s:
                st.stances_sorted = False
            st.stances.append(item)
        else:
            st = self._state[Side(item.side)]
            if not item.ic_t_s < item.fc_t_s < item.end_t_s:
                raise ValueError("a stride needs ic_t_s < fc_t_s < end_t_s")
            if item.ic_t_s < st.kept_from_t:
                raise ValueError(
                    f"stride at {item.ic_t_s:.3f} s arrived after its knee samples were "
                    "dropped; push each leg's strides in time order"
                )
            if not st.pending:
                st.pending_sorted = True
            elif item.ic_t_s < st.pending[-1].ic_t_s:
                st.pending_sorted = False
            st.pending.append(item)
            st.horizon_t = max(st.horizon_t, item.end_t_s)
        out = self._emit(st, final=False)
        self._trim(st)
        return out

    def stance_progress(self, side: Side, t_s: float) -> HxOutput:
        """The stance-end detector of ``side`` has decided on its samples up to ``t_s``."""
        st = self._state[side]
        st.progress_t = max(st.progress_t, t_s)
        out = self._emit(st, final=False)
        self._trim(st)
        return out

    def flush_all(self) -> HxOutput:
        """End of stream: everything still pending."""
        out = HxOutput()
        for st in self._state.values():
            out.extend(self._emit(st, final=True))
            out.withdrawn.extend(st.given)
            st.given = []
        return out

    # ------------------------------------------------------------------ internals
    def _add_knee(self, st: _SideState, blk: KneeBlock) -> None:
        if blk.n == 0:
            return
        t = np.asarray(blk.t_s, dtype=np.float64)
        if t[0] <= st.last_t or (len(t) > 1 and not bool((t[1:] > t[:-1]).all())):
            raise InputDataError(f"{blk.side.value} knee: t_s not strictly increasing")
        st.t = np.concatenate([st.t, t])
        st.x = np.concatenate([st.x, np.asarray(blk.knee_flexion_rad, dtype=np.float64)])
        flags = (bool(blk.calibrated), bool(blk.zero_reliable))
        if not st.flags or st.flags[-1][1:] != flags:
            st.flags.append((float(t[0]), *flags))
        st.last_t = float(t[-1])

    def _window_end(self, e: StanceEnd) -> float:
        return min(e.ic_t_s + self.params.window_hi_pct / 100.0 * e.cycle_s, e.fc_t_s)

    def _emit(self, st: _SideState, *, final: bool) -> HxOutput:
        out = HxOutput()
        # 1. Stance verdicts, in order, once the knee covers their window (one sample beyond).
        while st.stances and (final or self._window_end(st.stances[0]) < st.last_t):
            e = st.stances.pop(0)
            g = self._evaluate(st, e)
            st.given.append(g)
            out.stance.append(g)
        # 2. Strides, in order, once no stance verdict for their IC can still come.
        tol = self.match_tol_s
        while st.pending:
            s = st.pending[0]
            if not final and not (
                st.progress_t >= s.end_t_s
                and s.fc_t_s <= st.last_t
                and not (st.stances and _min_ic(st.stances, st.stances_sorted) <= s.ic_t_s + tol)
            ):
                break
            st.pending.pop(0)
            while st.given and st.given[0].ic_t_s < s.ic_t_s - tol:
                out.withdrawn.append(st.given.pop(0))  # no stride with this IC
            n = 0
            while n < len(st.given) and st.given[n].ic_t_s <= s.ic_t_s + tol:
                n += 1
            cands, st.given = st.given[:n], st.given[n:]
            if cands and abs(cands[-1].fc_t_s - s.fc_t_s) <= self.fc_tol_s:
                out.withdrawn.extend(cands[:-1])  # superseded
                out.stride.append(cands[-1])
            else:
                out.withdrawn.extend(cands)
                out.stride.append(self._evaluate(st, s))
        return out

    def _evaluate(self, st: _SideState, s: StrideLike) -> StrideHyperextension:
        a = max(int(st.t.searchsorted(s.ic_t_s, "right")) - 1, 0)
        b = int(st.t.searchsorted(s.fc_t_s, "left")) + 1
        cal = rel = b > a  # as all() of the samples' flags: True when none
        hi = min(b, len(st.t))
        if b > a and hi > a:  # every flag run that overlaps the samples [a, hi)
            lo_t, hi_t = float(st.t[a]), float(st.t[hi - 1])
            for i, (t0, c, r) in enumerate(st.flags):
                if t0 > hi_t:
                    break
                if i + 1 < len(st.flags) and st.flags[i + 1][0] <= lo_t:
                    continue  # the run ends before the samples
                cal, rel = cal and c, rel and r
        return stride_hyperextension(
            st.t[a:b],
            st.x[a:b],
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
        needs = []
        if st.pending:
            needs.append(_min_ic(st.pending, st.pending_sorted))
        if st.stances:
            needs.append(_min_ic(st.stances, st.stances_sorted))
        if self.stance_verdicts and st.given:
            needs.append(st.given[0].ic_t_s)  # its stride may still need its own evaluation
        if needs:
            cut = min(cut, min(needs))
        k = int(st.t.searchsorted(cut, "right")) - 1  # keep one sample before the cut
        if k > 0:
            st.t, st.x = st.t[k:], st.x[k:]
            st.kept_from_t = float(st.t[0])
            while len(st.flags) > 1 and st.flags[1][0] <= st.kept_from_t:
                del st.flags[0]  # runs that end before the first kept sample


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


def _nearest(cand: F64, x: float) -> int:
    """``argmin(|cand - x|)`` (the first one on ties; -1 if empty), by bisection when ``cand``
    is strictly increasing (results come in IC order): ``|cand - x|`` then falls and rises."""
    n = len(cand)
    if n == 0:
        return -1
    if n < 8 or not bool((cand[1:] > cand[:-1]).all()):
        return int(np.argmin(np.abs(cand - x)))
    j = min(max(int(cand.searchsorted(x)), 1), n - 1)
    if abs(cand[j - 1] - x) <= abs(cand[j] - x):
        j -= 1
    while j > 0 and abs(cand[j - 1] - x) == abs(cand[j] - x):
        j -= 1  # equal distances (round-off): the first, as argmin
    return j


def add_hyperextension_columns(
    table: pd.DataFrame, results: list[StrideHyperextension], *, tol_s: float = 1e-3
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
        j = _nearest(cand, float(ic))
        if j < 0 or abs(float(cand[j]) - float(ic)) > tol_s:
            rows.append(empty)
        else:
            rows.append(_row(by_side[str(side)][j]))
    cols = pd.DataFrame(rows, columns=HYPEREXT_COLUMNS, index=out.index)
    for c in HYPEREXT_COLUMNS:
        out[c] = cols[c]
    out["hyperextension"] = out["hyperextension"].astype(bool)
    return out
