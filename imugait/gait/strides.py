"""Streaming stride detection for one leg from a shank or foot gyroscope.

:class:`StrideDetector` turns :class:`~imugait.types.SampleBlock` s of one sensor (sensor axes,
unknown mounting) into :class:`Stride` s (initial contact -> next initial contact of the same leg), using
the event rules of :mod:`imugait.gait.events` (Salarian 2004 / Greene 2010 for the shank, Rampp 2015 for
the foot) and the plausibility rules of biomechanics.md §3.5.

Streaming contract: ``push(block)`` returns the strides that are now final, ``flush()`` the rest. The
detector re-blocks its input on a fixed grid of ``hop_s`` (counted in samples from the start of each
gap-free segment) and decides everything on that grid, so any chunking of the input gives exactly the
same strides. The sagittal axis is decided once, when the last ``axis_buffer_s`` of data hold
``axis_moving_s`` of movement; the buffered samples are then processed from the start.
A stride is emitted at most about ``ms_half_window_s + 1/ms_cutoff_hz + hop_s`` (≈ 0.8 s) after its
closing initial contact.
"""

from __future__ import annotations

import collections
import math
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy.signal import lfilter

from imugait.errors import InputDataError
from imugait.gait import events as ev
from imugait.gait.stride_types import Stride, StrideFlag, _Segment
from imugait.types import Location, SampleBlock, Segment

__all__ = ["Stride", "StrideDetector", "StrideFlag", "detect_strides"]

F64 = NDArray[np.float64]


def _fir_steady_zi(taps: F64) -> F64:
    """``lfilter`` state of an FIR filter in steady state for a unit step (closed form).

    For ``a = [1]`` the direct-form-II-transposed state is ``zi[k] = sum(taps[k+1:])``; equal to
    ``scipy.signal.lfilter_zi(taps, [1])`` without its ``O(N^3)`` linear solve.
    """
    return np.cumsum(taps[::-1])[::-1][1:].copy()


class StrideDetector:
    """Per-leg streaming stride detector (shank or foot sensor, any mounting).

    Parameters
    ----------
    min_stride_s, max_stride_s
        Plausible stride time (§3.5: 0.6-2.5 s).
    min_stance_pct, max_stance_pct
        Plausible stance fraction of the stride (§3.5: 45-80 %).
    bout_gap_s
        A stride starting more than this after the previous stride's end opens a new bout.
    axis_moving_s, axis_buffer_s
        Decide the sagittal axis once the last ``axis_buffer_s`` of samples contain ``axis_moving_s``
        of movement (rate norm > 0.5 rad/s).
    axis
        A known signed sagittal axis in sensor coordinates (skips the estimation).
    ms_cutoff_hz, ev_cutoff_hz
        Causal linear-phase FIR low-passes for mid-swing detection and for IC/FC timing.
    ms_min_rad_s, ms_rel
        A mid-swing peak must exceed ``max(ms_min_rad_s, ms_rel * median(last 5 peaks))``
        (Salarian: 50 deg/s; the relative part is Greene's adaptive threshold).
    ms_half_window_s
        A mid-swing peak is the maximum within ± this window.
    ic_window_s, fc_window_s
        IC is searched this long after, FC this long before each mid-swing.
    ic_max_rad_s, fc_max_rad_s
        Shank rules: IC/FC minima must be below these rates (Salarian: -10 and -20 deg/s).
    ic_rule
        ``"zero"`` (default): IC = first downward zero crossing of the sagittal rate after mid-swing,
        for shank and foot. ``"min"``: the first local minimum below ``ic_max_rad_s`` (Salarian;
        on the NeuRA shanks it lagged the foot-gyro IC by ~45 ms, see the module notes of
        :mod:`imugait.gait.events`).
    gap_factor
        Consecutive samples more than ``gap_factor / fs_hz`` apart (or a sequence jump) make a gap.
    hop_s
        Internal processing grid (latency granularity).
    """

    def __init__(
        self,
        *,
        min_stride_s: float = 0.6,
        max_stride_s: float = 2.5,
        min_stance_pct: float = 45.0,
        max_stance_pct: float = 80.0,
        bout_gap_s: float = 2.5,
        axis_moving_s: float = 5.0,
        axis_buffer_s: float = 30.0,
        axis: F64 | None = None,
        ms_cutoff_hz: float = 4.0,
        ev_cutoff_hz: float = 15.0,
        ms_min_rad_s: float = math.radians(50.0),
        ms_rel: float = 0.3,
        ms_half_window_s: float = 0.3,
        ic_window_s: float = 0.6,
        fc_window_s: float = 0.6,
        ic_max_rad_s: float = math.radians(-10.0),
        fc_max_rad_s: float = math.radians(-20.0),
        ic_rule: Literal["zero", "min"] = "zero",
        gap_factor: float = 1.5,
        hop_s: float = 0.25,
    ) -> None:
        if not 0 < min_stride_s < max_stride_s:
            raise ValueError("need 0 < min_stride_s < max_stride_s")
        if not 0 <= min_stance_pct < max_stance_pct <= 100:
            raise ValueError("need 0 <= min_stance_pct < max_stance_pct <= 100")
        if not (bout_gap_s > 0 and axis_moving_s > 0 and axis_buffer_s > axis_moving_s):
            raise ValueError("need bout_gap_s > 0 and 0 < axis_moving_s < axis_buffer_s")
        if not (ms_cutoff_hz > 0 and ev_cutoff_hz > 0 and ms_min_rad_s > 0 and 0 <= ms_rel < 1):
            raise ValueError("cut-offs and ms_min_rad_s must be positive, 0 <= ms_rel < 1")
        if not (ms_half_window_s > 0 and ic_window_s > 0 and fc_window_s > 0 and hop_s > 0):
            raise ValueError("windows and hop_s must be positive")
        if ic_rule not in ("zero", "min"):
            raise ValueError("ic_rule must be 'zero' or 'min'")
        if not gap_factor > 1:
            raise ValueError("gap_factor must be > 1")
        self.min_stride_s, self.max_stride_s = min_stride_s, max_stride_s
        self.min_stance_pct, self.max_stance_pct = min_stance_pct, max_stance_pct
        self.bout_gap_s = bout_gap_s
        self.axis_moving_s, self.axis_buffer_s = axis_moving_s, axis_buffer_s
        self.ms_cutoff_hz, self.ev_cutoff_hz = ms_cutoff_hz, ev_cutoff_hz
        self.ms_min_rad_s, self.ms_rel = ms_min_rad_s, ms_rel
        self.ms_half_window_s = ms_half_window_s
        self.ic_window_s, self.fc_window_s = ic_window_s, fc_window_s
        self.ic_max_rad_s, self.fc_max_rad_s = ic_max_rad_s, fc_max_rad_s
        self.gap_factor, self.hop_s = gap_factor, hop_s
        self.ic_rule = ic_rule
        self._axis: F64 | None = None
        if axis is not None:
            a = np.asarray(axis, dtype=np.float64).reshape(3)
            if not float(np.linalg.norm(a)) > 0:
                raise ValueError("axis must be non-zero")
            self._axis = a / float(np.linalg.norm(a))
        # Bound to the first block:
        self._sensor: str | None = None
        self._location: Location | None = None
        self._fs = 0.0
        self._next_seq: int | None = None
        self._last_t = -math.inf
        # Partial hop and the axis-calibration buffer (t, gyr, acc, gap-before flag).
        self._hop_parts: list[tuple[F64, F64, F64]] = []
        self._hop_n = 0
        self._cal: list[tuple[F64, F64, F64, bool]] = []
        self._gap_pending = False
        self._seg: _Segment | None = None
        self._amps: collections.deque[float] = collections.deque(maxlen=5)
        self._bout_id = -1
        self._last_end_t = -math.inf
        self._rejected: collections.Counter[str] = collections.Counter()

    # ------------------------------------------------------------------ public API
    @property
    def axis(self) -> F64 | None:
        """Signed sagittal axis in sensor coordinates, once decided."""
        return None if self._axis is None else self._axis.copy()

    @property
    def rejected(self) -> dict[str, int]:
        """Candidate strides dropped so far, by reason (``gap``, ``no_ic``, ``no_fc``, ``order``,
        ``stride_time``, ``stance``)."""
        return dict(self._rejected)

    def push(self, block: SampleBlock) -> list[Stride]:
        """Add samples; return the strides that are now final."""
        self._bind(block)
        out: list[Stride] = []
        if block.n == 0:
            return out
        seq = block.first_seq + np.arange(block.n)
        dt_max = self.gap_factor / self._fs
        t = block.t_s
        if t[0] <= self._last_t:
            raise InputDataError(f"sensor {block.sensor!r}: t_s goes back at {t[0]:.6f} s")
        gap_at = np.flatnonzero(np.diff(t) > dt_max) + 1
        starts = [0, *gap_at.tolist()]
        first_gap = self._next_seq is not None and (
            block.first_seq != self._next_seq or t[0] - self._last_t > dt_max
        )
        for i, a in enumerate(starts):
            b = starts[i + 1] if i + 1 < len(starts) else block.n
            if i > 0 or first_gap:
                out += self._gap()
            # feed at most one hop at a time: the hop buffer stays small (linear time for
            # any block size) and the result is the same as for any other chunking
            for c in range(a, b, self._hop):
                d = min(b, c + self._hop)
                self._hop_parts.append((t[c:d], block.gyr_rad_s[c:d], block.acc_m_s2[c:d]))
                self._hop_n += d - c
                out += self._drain_hops()
        self._next_seq = int(seq[-1]) + 1
        self._last_t = float(t[-1])
        return out

    def flush(self) -> list[Stride]:
        """End of stream: process everything still buffered and return the last strides."""
        out = self._run_hop(self._take(self._hop_n)) if self._hop_n else []
        if self._axis is None and self._cal:
            out += self._decide_axis(force=True)
        out += self._end_segment(gap=False)
        return out

    # ------------------------------------------------------------------ input handling
    def _bind(self, block: SampleBlock) -> None:
        if self._sensor is None:
            if block.location.segment not in (Segment.SHANK, Segment.FOOT):
                raise ValueError(
                    f"StrideDetector needs a shank or foot sensor, got {block.location}"
                )
            self._sensor, self._location, self._fs = block.sensor, block.location, block.fs_hz
            self._hop = max(1, round(self.hop_s * self._fs))
            self._taps_ms = ev.fir_lowpass_taps(
                cutoff_hz=min(self.ms_cutoff_hz, 0.45 * self._fs), fs_hz=self._fs
            )
            self._taps_ev = ev.fir_lowpass_taps(
                cutoff_hz=min(self.ev_cutoff_hz, 0.45 * self._fs), fs_hz=self._fs
            )
            self._d_ms, self._d_ev = len(self._taps_ms) // 2, len(self._taps_ev) // 2
            self._half_w = max(1, round(self.ms_half_window_s * self._fs))
        elif block.sensor != self._sensor or block.location != self._location:
            raise ValueError("a StrideDetector serves one sensor; create one per sensor")
        elif block.fs_hz != self._fs:
            raise ValueError("fs_hz changed between blocks")

    def _take(self, n: int) -> tuple[F64, F64, F64]:
        t = np.concatenate([p[0] for p in self._hop_parts])
        g = np.concatenate([p[1] for p in self._hop_parts])
        a = np.concatenate([p[2] for p in self._hop_parts])
        self._hop_parts = [(t[n:], g[n:], a[n:])] if n < len(t) else []
        self._hop_n = len(t) - n
        return t[:n], g[:n], a[:n]

    def _drain_hops(self) -> list[Stride]:
        out: list[Stride] = []
        while self._hop_n >= self._hop:
            out += self._run_hop(self._take(self._hop))
        return out

    def _gap(self) -> list[Stride]:
        out = self._run_hop(self._take(self._hop_n)) if self._hop_n else []
        if self._axis is None:
            self._gap_pending = True
            return out
        return out + self._end_segment(gap=True)

    def _run_hop(self, hop: tuple[F64, F64, F64]) -> list[Stride]:
        t, g, a = hop
        if self._axis is not None:
            return self._analyse(t, g)
        self._cal.append((t, g, a, self._gap_pending))
        self._gap_pending = False
        n_keep = round(self.axis_buffer_s * self._fs)
        while sum(len(c[0]) for c in self._cal) > n_keep:
            self._cal.pop(0)
        return self._decide_axis(force=False)

    def _decide_axis(self, *, force: bool) -> list[Stride]:
        g = np.concatenate([c[1] for c in self._cal])
        n_moving = int(ev.moving_mask(g).sum())
        need = (1.0 if force else self.axis_moving_s) * self._fs
        if n_moving < need or self._location is None:
            if force:
                self._cal.clear()
            return []
        acc = np.concatenate([c[2] for c in self._cal])
        self._axis = ev.sagittal_axis(
            g, acc_m_s2=acc, fs_hz=self._fs, segment=self._location.segment
        )
        out: list[Stride] = []
        cal, self._cal = self._cal, []
        for t, gyr, _, gap_before in cal:
            if gap_before:
                out += self._end_segment(gap=True)
            out += self._analyse(t, gyr)
        return out

    # ------------------------------------------------------------------ analysis
    def _analyse(self, t: F64, gyr: F64) -> list[Stride]:
        assert self._axis is not None
        seg = self._seg
        if seg is None:
            seg = self._seg = _Segment(after_gap=self._gap_pending)
            self._gap_pending = False
        omega = gyr @ self._axis
        if seg.zi_ms is None or seg.zi_ev is None:
            seg.zi_ms = _fir_steady_zi(self._taps_ms) * omega[0]
            seg.zi_ev = _fir_steady_zi(self._taps_ev) * omega[0]
        y_ms, seg.zi_ms = lfilter(self._taps_ms, [1.0], omega, zi=seg.zi_ms)
        y_ev, seg.zi_ev = lfilter(self._taps_ev, [1.0], omega, zi=seg.zi_ev)
        self._append(seg, t, np.linalg.norm(gyr, axis=1), y_ms, y_ev)
        seg.last_omega = float(omega[-1])
        return self._detect(seg, final=False)

    def _append(self, seg: _Segment, t: F64, gnorm: F64, y_ms: F64, y_ev: F64) -> None:
        """Append raw samples and the delay-compensated filter outputs (aligned to raw indices)."""
        n0 = seg.n_raw
        seg.n_raw += len(t)
        seg.t = np.concatenate([seg.t, t])
        seg.gnorm = np.concatenate([seg.gnorm, gnorm])
        # Output k of a filter with delay D belongs to raw index k - D: drop outputs before index 0.
        seg.w_ms = np.concatenate([seg.w_ms, y_ms[max(0, self._d_ms - n0) :]])
        seg.w_ev = np.concatenate([seg.w_ev, y_ev[max(0, self._d_ev - n0) :]])

    def _end_segment(self, *, gap: bool) -> list[Stride]:
        seg, self._seg = self._seg, None
        if gap:
            self._gap_pending = True
        if seg is None or seg.zi_ms is None or seg.zi_ev is None:
            return []
        pad = np.full(max(self._d_ms, self._d_ev), seg.last_omega)
        y_ms, _ = lfilter(self._taps_ms, [1.0], pad, zi=seg.zi_ms)
        y_ev, _ = lfilter(self._taps_ev, [1.0], pad, zi=seg.zi_ev)
        need_ms = seg.n_raw - seg.base - len(seg.w_ms)
        need_ev = seg.n_raw - seg.base - len(seg.w_ev)
        seg.w_ms = np.concatenate([seg.w_ms, y_ms[len(pad) - self._d_ms :][:need_ms]])
        seg.w_ev = np.concatenate([seg.w_ev, y_ev[len(pad) - self._d_ev :][:need_ev]])
        out = self._detect(seg, final=True, gap=gap)
        if gap and seg.prev_ic is not None:
            self._rejected["gap"] += 1
        return out

    def _detect(self, seg: _Segment, *, final: bool, gap: bool = False) -> list[Stride]:
        fs, base = self._fs, seg.base
        valid_ms, valid_ev = base + len(seg.w_ms), base + len(seg.w_ev)
        # 1. Mid-swing peaks: maximum of the 4 Hz signal within ±W, above the adaptive threshold.
        hi = valid_ms if final else valid_ms - self._half_w
        ks = ev.mid_swing_candidates(
            seg.w_ms,
            lo=seg.ms_next - base,
            hi=hi - base,
            half_window=self._half_w,
            min_rad_s=self.ms_min_rad_s,
        )
        for k in ks.tolist():
            amp = float(seg.w_ms[k])
            thr = self.ms_min_rad_s
            if self._amps:
                thr = max(thr, self.ms_rel * float(np.median(np.asarray(self._amps))))
            if amp <= thr:
                continue
            # One mid-swing per stride: a smaller peak less than min_stride_s after the last
            # accepted one is not a new swing (e.g. the forward shank rotation of an early-stance
            # knee snap-back in recurvatum gait); Salarian 2004 likewise imposes a minimum peak
            # distance.
            if (
                seg.last_ms is not None
                and k + base - seg.last_ms < self.min_stride_s * fs
                and amp < seg.last_ms_amp
            ):
                continue
            seg.pending.append(k + base)
            seg.last_ms, seg.last_ms_amp = k + base, amp
            self._amps.append(amp)
        seg.ms_next = max(seg.ms_next, hi)
        # 2. IC after / FC before each mid-swing, in order; a stride closes at each IC.
        out: list[Stride] = []
        foot = self._location is not None and self._location.segment is Segment.FOOT
        ic_win, fc_win = round(self.ic_window_s * fs), round(self.fc_window_s * fs)
        while seg.pending:
            ms = seg.pending[0]
            a, b = ms + 1 - base, ms + ic_win + 1 - base
            if self.ic_rule == "zero":
                ic = ev.first_down_crossing(seg.w_ev, a, b)
            else:
                ic = ev.first_local_min(seg.w_ev, a, b, below_rad_s=self.ic_max_rad_s)
            if ic is None and not final and valid_ev - 1 <= ms + ic_win:
                break  # not enough data yet to decide
            seg.pending.pop(0)
            lo = ms - fc_win
            if seg.prev_ic is not None:
                lo = max(lo, math.floor(seg.prev_ic) + 1)
            if foot:
                fc = ev.last_up_crossing(seg.w_ev, lo - base, ms - base)
            else:
                fc = ev.last_local_min(
                    seg.w_ev, lo - base, ms - base, below_rad_s=self.fc_max_rad_s
                )
            if ic is None:
                if seg.prev_ic is not None:
                    # The data ran out before this mid-swing's IC: at a gap that drops the stride.
                    cut_short = final and valid_ev - 1 <= ms + ic_win
                    self._rejected["gap" if gap and cut_short else "no_ic"] += 1
                seg.prev_ic = None
                continue
            ic_abs = ic + base
            if seg.prev_ic is not None:
                fc_abs = None if fc is None else fc + base
                stride = self._make_stride(seg, seg.prev_ic, fc_abs, ic_abs, ms, foot=foot)
                if stride is not None:
                    out.append(stride)
            seg.prev_ic = ic_abs
        # 3. Forget an opening IC that can no longer close a plausible stride (pause, end of bout).
        if (
            seg.prev_ic is not None
            and not seg.pending
            and seg.ms_next - seg.prev_ic > self.max_stride_s * fs
        ):
            seg.prev_ic = None
        # 4. Trim the buffers to what later decisions can still look at.
        keep = seg.ms_next - self._half_w - fc_win - 2
        if seg.pending:
            keep = min(keep, seg.pending[0] - fc_win - 2)
        if seg.prev_ic is not None:
            keep = min(keep, math.floor(seg.prev_ic) - 2)
        cut = keep - base
        if cut > 0:
            seg.t, seg.gnorm = seg.t[cut:], seg.gnorm[cut:]
            seg.w_ms, seg.w_ev = seg.w_ms[cut:], seg.w_ev[cut:]
            seg.base += cut
        return out

    def _make_stride(
        self, seg: _Segment, ic0: float, fc: float | None, ic1: float, ms: int, *, foot: bool
    ) -> Stride | None:
        if fc is None:
            self._rejected["no_fc"] += 1
            return None
        if not ic0 < fc < ms < ic1:
            self._rejected["order"] += 1
            return None
        base = seg.base
        ic0_t = ev.index_to_time(seg.t, ic0 - base)
        fc_t = ev.index_to_time(seg.t, fc - base)
        ic1_t = ev.index_to_time(seg.t, ic1 - base)
        stride_s = ic1_t - ic0_t
        if not self.min_stride_s <= stride_s <= self.max_stride_s:
            self._rejected["stride_time"] += 1
            return None
        stance_pct = 100.0 * (fc_t - ic0_t) / stride_s
        if not self.min_stance_pct <= stance_pct <= self.max_stance_pct:
            self._rejected["stance"] += 1
            return None
        min_vel_t: float | None = None
        if foot:
            mv = ev.min_energy_center(
                seg.gnorm,
                math.ceil(ic0) - base,
                math.floor(fc) - base,
                window=max(1, round(0.1 * self._fs)),
            )
            min_vel_t = None if mv is None else ev.index_to_time(seg.t, mv)
        flags: set[StrideFlag] = set()
        if ic0_t - self._last_end_t > self.bout_gap_s:
            self._bout_id += 1
            flags.add(StrideFlag.BOUT_START)
        if seg.after_gap and seg.emitted == 0:
            flags.add(StrideFlag.AFTER_GAP)
        seg.emitted += 1
        self._last_end_t = ic1_t
        assert self._location is not None
        return Stride(
            side=self._location.side,
            ic_t_s=ic0_t,
            fc_t_s=fc_t,
            end_t_s=ic1_t,
            bout_id=self._bout_id,
            location=self._location,
            ms_t_s=ev.index_to_time(seg.t, ms - base),
            ms_peak_rad_s=float(seg.w_ms[ms - base]),
            min_vel_t_s=min_vel_t,
            flags=frozenset(flags),
        )


def detect_strides(block: SampleBlock, **params: Any) -> list[Stride]:
    """Offline convenience: all strides of one sensor's recording (one push + flush)."""
    det = StrideDetector(**params)
    return [*det.push(block), *det.flush()]
