"""Streaming stride detection for one leg from a shank or foot gyroscope.

:class:`StrideDetector` turns :class:`~imugait.types.SampleBlock` s of one sensor (sensor axes,
unknown mounting) into :class:`Stride` s (initial contact -> next initial contact of the same leg), using
the event rules of :mod:`imugait.gait.events` (Salarian 2004 / Greene 2010 for the shank, Rampp 2015 for
the foot) and the plausibility rules of biomechanics.md §3.5.

Streaming contract: ``push(block)`` returns the strides that are now final, ``flush()`` the rest, and
any chunking of the input gives exactly the same strides. Two mechanisms make that so:

* Until the sagittal axis is known, the input is re-blocked on a fixed grid of ``hop_s`` (counted in
  samples from the start of each gap-free segment); the axis is decided once, at the first grid point
  where the last ``axis_buffer_s`` of data hold ``axis_moving_s`` of movement, and the buffered samples
  are then processed from the start.
* After that, whatever has arrived is processed in one vectorised pass (at least ``hop_s`` of samples
  at a time, so a push of one sample is cheap), and every quantity is a function of the samples alone,
  never of when it is computed: each FIR output sample is computed from its own window of the raw
  signal (:func:`_fir_centred`, a fixed-order sum), a mid-swing is the *first* maximum of its complete
  window, and IC/FC searches wait until their window is complete.

A stride is emitted at most about ``ms_half_window_s + 1/ms_cutoff_hz + hop_s`` (≈ 0.8 s) after its
closing initial contact.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import correlate1d

from imugait.gait import events as ev
from imugait.gait._axis_buffer import GyroRunInput
from imugait.gait.stride_types import Stride, StrideFlag
from imugait.types import SampleBlock, Segment

__all__ = ["Stride", "StrideDetector", "StrideFlag", "detect_strides"]

F64 = NDArray[np.float64]


class _Buf:
    """Growable 1-D float64 buffer: amortised O(1) append per sample, O(1) trimming at the front."""

    __slots__ = ("_a", "_hi", "_lo")

    def __init__(self) -> None:
        self._a: F64 = np.empty(256)
        self._lo = self._hi = 0

    def __len__(self) -> int:
        return self._hi - self._lo

    @property
    def v(self) -> F64:
        """The buffered values (a view)."""
        return self._a[self._lo : self._hi]

    def append(self, x: F64) -> None:
        n, m = len(x), self._hi - self._lo
        if self._hi + n > len(self._a):
            cap = len(self._a)
            while m + n > cap // 2:
                cap *= 2
            a = np.empty(cap) if cap != len(self._a) else self._a
            a[:m] = self._a[self._lo : self._hi]  # numpy copes with the overlap when a is _a
            self._a, self._lo, self._hi = a, 0, m
        self._a[self._hi : self._hi + n] = x
        self._hi += n

    def drop(self, n: int) -> None:
        """Forget the first ``n`` values."""
        self._lo = min(self._hi, self._lo + n)


def _fir_centred(x: F64, w_rev: F64, half: int) -> F64:
    """Delay-compensated FIR outputs for the samples ``x[half : len(x) - half]``.

    ``w_rev`` is the reversed tap vector (length ``2 * half + 1``). Output ``i`` is the fixed-order sum
    of ``w_rev[j] * x[i + j]`` computed by :func:`scipy.ndimage.correlate1d` on ``x``'s own values
    only, so the same output sample is bit-identical whichever piece of the stream it is computed in
    (unlike ``lfilter`` with carried state on pieces, whose last bits depend on the cut points).
    """
    y = correlate1d(x, w_rev, mode="constant")
    return np.asarray(y[half : len(x) - half], dtype=np.float64)


def _median(x: collections.deque[float]) -> float:
    """Median of a few floats (as ``np.median``, without its overhead)."""
    v = sorted(x)
    h = len(v) // 2
    return v[h] if len(v) % 2 else (v[h - 1] + v[h]) / 2.0


@dataclass
class _Seg:
    """State of one gap-free run of samples (indices count samples from the segment start)."""

    after_gap: bool
    n_raw: int = 0
    base: int = 0  # absolute index of the first buffered sample
    t: _Buf = field(default_factory=_Buf)
    gnorm: _Buf = field(default_factory=_Buf)
    w_ms: _Buf = field(default_factory=_Buf)
    w_ev: _Buf = field(default_factory=_Buf)
    # The last 2 * max(half-lengths) raw rates (virtual samples before the start repeat the first).
    tail: F64 = field(default_factory=lambda: np.empty(0))
    ms_next: int = 0
    pending: list[int] = field(default_factory=list)
    last_ms: int | None = None  # absolute index of the last accepted mid-swing
    last_ms_amp: float = 0.0
    prev_ic: float | None = None  # fractional absolute index of the IC that opens the next stride
    emitted: int = 0


class StrideDetector(GyroRunInput[Stride]):
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
        A mid-swing peak is the first maximum within ± this window.
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
        Axis-decision grid, and the least amount of new samples processed at once (latency
        granularity).
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
        self._init_input(axis=axis, moving_s=axis_moving_s, buffer_s=axis_buffer_s)
        self._foot = False
        self._seg: _Seg | None = None
        self._amps: collections.deque[float] = collections.deque(maxlen=5)
        self._bout_id = -1
        self._last_end_t = -math.inf
        self._rejected: collections.Counter[str] = collections.Counter()

    # ------------------------------------------------------------------ public API
    @property
    def rejected(self) -> dict[str, int]:
        """Candidate strides dropped so far, by reason (``gap``, ``no_ic``, ``no_fc``, ``order``,
        ``stride_time``, ``stance``)."""
        return dict(self._rejected)

    def flush(self) -> list[Stride]:
        """End of stream: process everything still buffered and return the last strides."""
        out = self._run(self._take()) if self._parts_n else []
        if self._axis is None and self._cal:
            out += self._decide_axis(force=True)
        out += self._end_segment(gap=False)
        return out

    # ------------------------------------------------------------------ input handling
    def _configure(self, block: SampleBlock) -> None:
        if block.location.segment not in (Segment.SHANK, Segment.FOOT):
            raise ValueError(f"StrideDetector needs a shank or foot sensor, got {block.location}")
        fs = block.fs_hz
        self._foot = block.location.segment is Segment.FOOT
        taps_ms = ev.fir_lowpass_taps(cutoff_hz=min(self.ms_cutoff_hz, 0.45 * fs), fs_hz=fs)
        taps_ev = ev.fir_lowpass_taps(cutoff_hz=min(self.ev_cutoff_hz, 0.45 * fs), fs_hz=fs)
        self._w_ms, self._w_ev = taps_ms[::-1].copy(), taps_ev[::-1].copy()
        self._d_ms, self._d_ev = len(taps_ms) // 2, len(taps_ev) // 2
        self._d_max = max(self._d_ms, self._d_ev)
        self._half_w = max(1, round(self.ms_half_window_s * fs))

    def _feed(self, t: F64, g: F64, a: F64) -> list[Stride]:
        """Buffer one gap-free run; process it on the hop grid (no axis yet) or in bulk."""
        out: list[Stride] = []
        c, n = self._buffer_hops(t, g, a, out), len(t)
        if c < n:
            self._parts.append((t[c:], g[c:], a[c:]))
            self._parts_n += n - c
            if self._parts_n >= self._hop:
                out += self._run(self._take())
        return out

    def _gap(self) -> list[Stride]:
        out = self._run(self._take()) if self._parts_n else []
        if self._axis is None:
            self._gap_pending = True
            return out
        return out + self._end_segment(gap=True)

    def _decide_axis(self, *, force: bool) -> list[Stride]:
        if self._location is None:
            if force:
                self._cal.clear()
            return []
        got = self._cal.decide(fs_hz=self._fs, segment=self._location.segment, force=force)
        if got is None:
            return []
        self._axis, cal = got
        out: list[Stride] = []
        # Process the buffer from its start, one gap-free run at a time.
        i = 0
        while i < len(cal):
            j = i + 1
            while j < len(cal) and not cal[j][2]:
                j += 1
            if cal[i][2]:
                out += self._end_segment(gap=True)
            if j == i + 1:
                out += self._analyse(cal[i][0], cal[i][1])
            else:
                run = cal[i:j]
                out += self._analyse(
                    np.concatenate([c[0] for c in run]), np.concatenate([c[1] for c in run])
                )
            i = j
        return out

    # ------------------------------------------------------------------ analysis
    def _analyse(self, t: F64, gyr: F64) -> list[Stride]:
        """Append one gap-free run to the current segment, filter it and detect."""
        assert self._axis is not None
        seg = self._seg
        if seg is None:
            seg = self._seg = _Seg(after_gap=self._gap_pending)
            self._gap_pending = False
        ax = self._axis
        g0, g1, g2 = gyr[:, 0], gyr[:, 1], gyr[:, 2]
        # Elementwise (not a matrix product) so each sample's value is independent of the run.
        omega = g0 * ax[0] + g1 * ax[1] + g2 * ax[2]
        if seg.n_raw == 0:
            seg.tail = np.full(2 * self._d_max, omega[0])
        x = np.concatenate([seg.tail, omega])
        x0 = seg.n_raw - 2 * self._d_max  # absolute index of x[0]
        seg.n_raw += len(t)
        seg.t.append(t)
        if self._foot:
            seg.gnorm.append(np.sqrt(g0 * g0 + g1 * g1 + g2 * g2))
        self._filter(seg, x, x0, final=False)
        seg.tail = x[len(x) - 2 * self._d_max :]
        return self._detect(seg, final=False)

    def _filter(self, seg: _Seg, x: F64, x0: int, *, final: bool) -> None:
        """Append the FIR outputs that ``x`` (raw rates from absolute index ``x0``) now determines."""
        for buf, w, d in ((seg.w_ms, self._w_ms, self._d_ms), (seg.w_ev, self._w_ev, self._d_ev)):
            lo = seg.base + len(buf)  # first output not computed yet
            hi = seg.n_raw if final else seg.n_raw - d
            if hi > lo:
                buf.append(_fir_centred(x[lo - d - x0 : hi + d - x0], w, d))

    def _end_segment(self, *, gap: bool) -> list[Stride]:
        seg, self._seg = self._seg, None
        if gap:
            self._gap_pending = True
        if seg is None or seg.n_raw == 0:
            return []
        # The last outputs see the final rate held constant (as the first see the first rate).
        x = np.concatenate([seg.tail, np.full(self._d_max, seg.tail[-1])])
        self._filter(seg, x, seg.n_raw - 2 * self._d_max, final=True)
        out = self._detect(seg, final=True, gap=gap)
        if gap and seg.prev_ic is not None:
            self._rejected["gap"] += 1
        return out

    def _detect(self, seg: _Seg, *, final: bool, gap: bool = False) -> list[Stride]:
        fs, base = self._fs, seg.base
        w_ms, w_ev = seg.w_ms.v, seg.w_ev.v
        valid_ms, valid_ev = base + len(w_ms), base + len(w_ev)
        max_stride = self.max_stride_s * fs
        # 1. Mid-swing peaks: first maximum of the 4 Hz signal within ±W, above the adaptive
        #    threshold; decided only once the window is complete (or the segment has ended).
        hi = valid_ms if final else valid_ms - self._half_w
        ks = ev.mid_swing_candidates(
            w_ms,
            lo=seg.ms_next - base,
            hi=hi - base,
            half_window=self._half_w,
            min_rad_s=self.ms_min_rad_s,
        )
        for k in ks.tolist():
            amp = float(w_ms[k])
            thr = self.ms_min_rad_s
            if self._amps:
                thr = max(thr, self.ms_rel * _median(self._amps))
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
        foot = self._foot
        ic_win, fc_win = round(self.ic_window_s * fs), round(self.fc_window_s * fs)
        while seg.pending:
            ms = seg.pending[0]
            a, b = ms + 1 - base, ms + ic_win + 1 - base
            if self.ic_rule == "zero":
                ic = ev.first_down_crossing(w_ev, a, b, base=base)
            else:
                ic = ev.first_local_min(w_ev, a, b, below_rad_s=self.ic_max_rad_s, base=base)
            if ic is None and not final and valid_ev - 1 <= ms + ic_win:
                break  # not enough data yet to decide
            seg.pending.pop(0)
            if seg.prev_ic is not None and ms - seg.prev_ic > max_stride:
                seg.prev_ic = None  # as step 3 would have forgotten it (pause, end of bout)
            lo = ms - fc_win
            if seg.prev_ic is not None:
                lo = max(lo, math.floor(seg.prev_ic) + 1)
            if foot:
                fc = ev.last_up_crossing(w_ev, lo - base, ms - base, base=base)
            else:
                fc = ev.last_local_min(
                    w_ev, lo - base, ms - base, below_rad_s=self.fc_max_rad_s, base=base
                )
            if ic is None:
                if seg.prev_ic is not None:
                    # The data ran out before this mid-swing's IC: at a gap that drops the stride.
                    cut_short = final and valid_ev - 1 <= ms + ic_win
                    self._rejected["gap" if gap and cut_short else "no_ic"] += 1
                seg.prev_ic = None
                continue
            if seg.prev_ic is not None:
                stride = self._make_stride(seg, seg.prev_ic, fc, ic, ms, foot=foot)
                if stride is not None:
                    out.append(stride)
            seg.prev_ic = ic
        # 3. Forget an opening IC that can no longer close a plausible stride (pause, end of bout):
        #    every later mid-swing lies beyond ms_next, so step 2 would drop it anyway; forgetting
        #    it here only lets step 4 free the buffer during a long pause.
        if seg.prev_ic is not None and not seg.pending and seg.ms_next - seg.prev_ic > max_stride:
            seg.prev_ic = None
        # 4. Trim the buffers to what later decisions can still look at.
        keep = seg.ms_next - self._half_w - fc_win - 2
        if seg.pending:
            keep = min(keep, seg.pending[0] - fc_win - 2)
        if seg.prev_ic is not None:
            keep = min(keep, math.floor(seg.prev_ic) - 2)
        cut = keep - base
        if cut > 0:
            for buf in (seg.t, seg.gnorm, seg.w_ms, seg.w_ev):
                buf.drop(cut)
            seg.base += cut
        return out

    def _make_stride(
        self, seg: _Seg, ic0: float, fc: float | None, ic1: float, ms: int, *, foot: bool
    ) -> Stride | None:
        if fc is None:
            self._rejected["no_fc"] += 1
            return None
        if not ic0 < fc < ms < ic1:
            self._rejected["order"] += 1
            return None
        base, t = seg.base, seg.t.v
        ic0_t = ev.index_to_time(t, ic0, base=base)
        fc_t = ev.index_to_time(t, fc, base=base)
        ic1_t = ev.index_to_time(t, ic1, base=base)
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
                seg.gnorm.v,
                math.ceil(ic0) - base,
                math.floor(fc) - base,
                window=max(1, round(0.1 * self._fs)),
            )
            min_vel_t = None if mv is None else ev.index_to_time(t, mv)
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
            ms_t_s=ev.index_to_time(t, ms, base=base),
            ms_peak_rad_s=float(seg.w_ms.v[ms - base]),
            min_vel_t_s=min_vel_t,
            flags=frozenset(flags),
        )


def detect_strides(block: SampleBlock, **params: Any) -> list[Stride]:
    """Offline convenience: all strides of one sensor's recording (one push + flush)."""
    det = StrideDetector(**params)
    return [*det.push(block), *det.flush()]
