"""Streaming stance-end (swing-onset) detection for one leg from a shank gyroscope.

:class:`StanceEndDetector` announces each stance's final contact (FC, toe-off) within a few tens
of milliseconds, long before :class:`~imugait.gait.strides.StrideDetector` can confirm the stride
(which waits for the next initial contact and its mid-swing window, about 1 s after FC). It is
what makes a stride's hyperextension verdict available as soon as its stance ends.

Signals (``omega``: the sagittal shank rate, swing positive, as in :mod:`imugait.gait.events`):

* ``y``, a centred moving average of ``2 * h + 1`` raw samples (``h = round(smooth_half_s * fs)``,
  10 ms; known integer delay ``h``), for the swing onset;
* ``w``, the 15 Hz linear-phase FIR of the stride detector (``events.fir_lowpass_taps``), for IC.

Per-sample rules, as a state machine over gap-free segments (Salarian et al. 2004, IEEE TBME
51:1434; Greene et al. 2010, Med Biol Eng Comput 48:1251: FC is the shank-rate minimum right
before the swing, IC the end of the swing lobe; biomechanics.md §3.1):

1. **Swing**: ``y`` exceeds ``max(swing_min_rad_s, swing_rel * median(last 5 swing peaks))``
   (the stride detector's mid-swing threshold: Salarian's 50 deg/s, Greene's adaptive part).
2. **IC**: the first downward zero crossing of ``w`` after the swing was confirmed (the stride
   detector's default IC rule, so the two give the same IC). The stance starts there; the previous
   IC of the leg gives the previous stride time ``T_prev`` when it is a plausible stride.
3. **Stance end**: no earlier than ``max(min_stance_s, min_stance_pct % of T_prev)`` after IC
   (§3.5: stance is at least 45 % of the cycle), the first sample ``k`` at which ``y`` has risen
   by ``rise >= max(rise_min_rad_s, rise_rel * median(last 5 swing peaks))`` above its minimum
   over the last ``rise_window_s``, that minimum being below ``fc_max_rad_s`` (Salarian's FC
   rule: -20 deg/s). The push-off to swing transition is the fastest rise of the shank rate in
   the cycle (on the simulator about 3000 deg/s² at 1.3 m/s), while mid-stance changes slowly.
   FC is that minimum (parabolic sub-sample refinement). The event is emitted as soon as
   ``y[k]`` is known, i.e. raw sample ``k + h`` (:attr:`StanceEnd.decided_t_s`).
4. **Confirmation**: the swing must then reach the swing threshold within ``swing_confirm_s``;
   otherwise the trigger was not a swing and the detector waits for the next clear swing (no IC
   is taken from it). The event already emitted stays; a stride-level check can withdraw it
   (:class:`~imugait.analysis.hyperext_check.StrideVerdicts`).
5. A stance longer than ``max_stance_s`` (standing), a swing without IC within ``swing_max_s``,
   and every gap (time step over ``gap_factor`` periods or a sequence jump) end the walking
   state: nothing is emitted until the next clear swing and IC.

The gait-cycle time of a stance (:attr:`StanceEnd.cycle_s`, for % GC windows) is ``T_prev`` when
known and the stance is at most ``max_stance_pct`` % of it, else ``stance / stance_frac_ref``
(stance is 60 % of the cycle in normal walking; Perry & Burnfield 2010).

Sagittal axis: decided once from the data by the stride detector's rule (the last
``axis_buffer_s`` of samples on a ``hop_s`` grid, at the first grid point with ``axis_moving_s``
of movement; :func:`imugait.gait.events.sagittal_axis`), then the buffer is processed from its
start; or given as ``axis``.

Streaming contract: ``push(block)`` returns the stance ends now decided, ``flush()`` the rest;
any chunking of the input gives exactly the same events (every filter output is a fixed-order sum
over its own window of raw samples, and every decision waits until its data are complete).
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass, field
from enum import Enum

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import correlate1d, minimum_filter1d

from imugait.gait import events as ev
from imugait.gait._axis_buffer import GyroRunInput
from imugait.types import SampleBlock, Segment, Side

__all__ = [
    "StanceEnd",
    "StanceEndDetector",
    "centred_fir",
    "detect_stance_ends",
    "first_above",
    "first_rise",
]

F64 = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class StanceEnd:
    """One stance of one leg, announced at its end.

    ``ic_t_s`` opens the stance, ``fc_t_s`` is its final contact (estimate), ``cycle_s`` the
    gait-cycle time used for % GC windows, ``decided_t_s`` the time of the last sample the
    decision needed (the event cannot be known before it).
    """

    side: Side
    ic_t_s: float
    fc_t_s: float
    cycle_s: float
    decided_t_s: float
    cycle_from_prev: bool

    @property
    def end_t_s(self) -> float:
        """End of the gait cycle used for % GC (``ic_t_s + cycle_s``; an estimate)."""
        return self.ic_t_s + self.cycle_s

    @property
    def stance_s(self) -> float:
        return self.fc_t_s - self.ic_t_s


# ---------------------------------------------------------------------- numeric core (pure)
def centred_fir(x: F64, w_rev: F64, half: int) -> F64:
    """Delay-compensated FIR outputs for ``x[half : len(x) - half]`` (reversed taps ``w_rev``).

    Each output is a fixed-order sum over its own window of ``x``
    (:func:`scipy.ndimage.correlate1d`), so it is bit-identical whichever piece of a stream
    it is computed in.
    """
    y = correlate1d(x, w_rev, mode="constant")
    return np.asarray(y[half : len(x) - half], dtype=np.float64)


def first_above(y: F64, start: int, stop: int, level: float) -> int | None:
    """First ``k`` in ``[start, stop)`` with ``y[k] > level``."""
    start, stop = max(start, 0), min(stop, len(y))
    if stop <= start:
        return None
    idx = np.flatnonzero(y[start:stop] > level)
    return int(idx[0]) + start if len(idx) else None


def first_rise(
    y: F64, start: int, stop: int, *, window: int, rise: float, below: float
) -> tuple[int, int] | None:
    """First ``k`` in ``[start, stop)`` where ``y`` rose by ``rise`` above its trailing minimum.

    The trailing minimum is over ``y[k - window : k + 1]`` and must be below ``below``; needs
    ``start >= window``. Returns ``(k, j)`` with ``j`` the (first) index of that minimum.
    """
    start, stop = max(start, window), min(stop, len(y))
    if stop <= start:
        return None
    # trailing minimum over window + 1 samples (the filter's origin puts its window at [-window, 0])
    m = minimum_filter1d(y[start - window : stop], window + 1, origin=window // 2)[window:]
    hit = np.flatnonzero((y[start:stop] - m >= rise) & (m < below))
    if not len(hit):
        return None
    k = int(hit[0]) + start
    return k, k - window + int(np.argmin(y[k - window : k + 1]))


def _parabolic(y: F64, j: int) -> float:
    """Sub-sample offset of the extremum at ``j`` (parabola through ``j-1, j, j+1``)."""
    if j <= 0 or j >= len(y) - 1:
        return 0.0
    y0, y1, y2 = float(y[j - 1]), float(y[j]), float(y[j + 1])
    den = y0 - 2.0 * y1 + y2
    if den == 0.0:
        return 0.0
    return min(max(0.5 * (y0 - y2) / den, -0.5), 0.5)


def _median(x: collections.deque[float]) -> float:
    v = sorted(x)
    h = len(v) // 2
    return v[h] if len(v) % 2 else (v[h - 1] + v[h]) / 2.0


# ---------------------------------------------------------------------- streaming detector
class _State(Enum):
    IDLE = 0  # not walking: wait for a clear swing
    SWING = 1  # swing confirmed at ``kc``: wait for IC
    STANCE = 2  # IC at ``ic``: wait for the swing onset
    ONSET = 3  # stance end emitted at ``k0``: wait for the swing to be confirmed


@dataclass
class _Seg:
    """One gap-free run (indices count raw samples from the segment start)."""

    n_raw: int = 0
    base: int = 0  # index of the first buffered sample
    t: F64 = field(default_factory=lambda: np.empty(0))
    y: F64 = field(default_factory=lambda: np.empty(0))
    w: F64 = field(default_factory=lambda: np.empty(0))
    tail: F64 = field(default_factory=lambda: np.empty(0))  # last 2 * d raw rates
    state: _State = _State.IDLE
    pos: int = 0  # first index not decided yet
    kc: int = 0  # swing confirmed here (SWING), or stance end here (ONSET)
    ic: float = 0.0  # fractional index of the stance's IC
    ic_t: float = 0.0
    prev_ic_t: float | None = None  # IC of the previous stance (same walking run)
    t_prev: float | None = None  # plausible previous stride time


class StanceEndDetector(GyroRunInput[StanceEnd]):
    """Per-leg streaming stance-end detector on a shank sensor (see the module docstring).

    Parameters
    ----------
    axis
        Known signed sagittal axis in sensor coordinates (else decided from the data).
    min_stride_s, max_stride_s
        Plausible stride time for ``T_prev`` (§3.5: 0.6-2.5 s).
    min_stance_pct, max_stance_pct
        Plausible stance fraction of ``T_prev`` (§3.5: 45-80 %).
    min_stance_s, max_stance_s
        Stance limits without / beyond ``T_prev`` (a longer stance is standing).
    swing_min_rad_s, swing_rel
        Swing threshold: ``max(swing_min_rad_s, swing_rel * median(last 5 swing peaks))``.
    rise_min_rad_s, rise_rel, rise_window_s
        Swing-onset rule: rise above the trailing minimum over ``rise_window_s``.
    fc_max_rad_s
        The FC minimum must be below this rate (Salarian: -20 deg/s).
    smooth_half_s
        Half length of the moving average for ``y`` (its delay).
    ev_cutoff_hz
        Cut-off of the IC filter ``w`` (as the stride detector's ``ev_cutoff_hz``).
    swing_confirm_s, swing_max_s
        The swing must be confirmed this long after the onset; IC must follow the confirmation
        within ``swing_max_s``.
    stance_frac_ref
        Stance fraction of the cycle used when ``T_prev`` is not usable.
    gap_factor, axis_moving_s, axis_buffer_s, hop_s
        As in :class:`~imugait.gait.strides.StrideDetector`.
    """

    def __init__(
        self,
        *,
        axis: F64 | None = None,
        min_stride_s: float = 0.6,
        max_stride_s: float = 2.5,
        min_stance_pct: float = 45.0,
        max_stance_pct: float = 80.0,
        min_stance_s: float = 0.25,
        max_stance_s: float = 2.0,
        swing_min_rad_s: float = math.radians(50.0),
        swing_rel: float = 0.3,
        rise_min_rad_s: float = math.radians(30.0),
        rise_rel: float = 0.25,
        rise_window_s: float = 0.06,
        fc_max_rad_s: float = math.radians(-20.0),
        smooth_half_s: float = 0.01,
        ev_cutoff_hz: float = 15.0,
        swing_confirm_s: float = 0.3,
        swing_max_s: float = 1.0,
        stance_frac_ref: float = 0.6,
        gap_factor: float = 1.5,
        axis_moving_s: float = 5.0,
        axis_buffer_s: float = 30.0,
        hop_s: float = 0.25,
    ) -> None:
        if not 0 < min_stride_s < max_stride_s:
            raise ValueError("need 0 < min_stride_s < max_stride_s")
        if not 0 < min_stance_pct < max_stance_pct < 100:
            raise ValueError("need 0 < min_stance_pct < max_stance_pct < 100")
        if not 0 < min_stance_s < max_stance_s:
            raise ValueError("need 0 < min_stance_s < max_stance_s")
        if not (swing_min_rad_s > 0 and 0 <= swing_rel < 1 and rise_min_rad_s > 0):
            raise ValueError("need swing_min_rad_s > 0, 0 <= swing_rel < 1, rise_min_rad_s > 0")
        if not (0 <= rise_rel < 1 and rise_window_s > 0 and smooth_half_s >= 0):
            raise ValueError("need 0 <= rise_rel < 1, rise_window_s > 0, smooth_half_s >= 0")
        if not (ev_cutoff_hz > 0 and swing_confirm_s > 0 and swing_max_s > 0):
            raise ValueError("ev_cutoff_hz, swing_confirm_s and swing_max_s must be positive")
        if not (0 < stance_frac_ref < 1 and gap_factor > 1):
            raise ValueError("need 0 < stance_frac_ref < 1 and gap_factor > 1")
        if not (hop_s > 0 and 0 < axis_moving_s < axis_buffer_s):
            raise ValueError("need hop_s > 0 and 0 < axis_moving_s < axis_buffer_s")
        self.min_stride_s, self.max_stride_s = min_stride_s, max_stride_s
        self.min_stance_pct, self.max_stance_pct = min_stance_pct, max_stance_pct
        self.min_stance_s, self.max_stance_s = min_stance_s, max_stance_s
        self.swing_min_rad_s, self.swing_rel = swing_min_rad_s, swing_rel
        self.rise_min_rad_s, self.rise_rel = rise_min_rad_s, rise_rel
        self.rise_window_s, self.fc_max_rad_s = rise_window_s, fc_max_rad_s
        self.smooth_half_s, self.ev_cutoff_hz = smooth_half_s, ev_cutoff_hz
        self.swing_confirm_s, self.swing_max_s = swing_confirm_s, swing_max_s
        self.stance_frac_ref, self.gap_factor = stance_frac_ref, gap_factor
        self.axis_moving_s, self.axis_buffer_s, self.hop_s = axis_moving_s, axis_buffer_s, hop_s
        self._init_input(axis=axis, moving_s=axis_moving_s, buffer_s=axis_buffer_s)
        self._side = Side.LEFT
        self._seg: _Seg | None = None
        self._amps: collections.deque[float] = collections.deque(maxlen=5)

    # ------------------------------------------------------------------ public API
    @property
    def decided_t_s(self) -> float:
        """Every stance end that samples up to this time can give has been emitted."""
        if self._axis is None:
            return -math.inf
        seg = self._seg
        if seg is None or seg.n_raw == 0:
            return self._last_t
        i = seg.pos - 1 - seg.base
        return float(seg.t[i]) if 0 <= i < len(seg.t) else -math.inf

    def flush(self) -> list[StanceEnd]:
        """End of stream: decide on everything buffered (a stance without its end is dropped)."""
        out = self._run(self._take()) if self._parts_n else []
        if self._axis is None and self._cal:
            out += self._decide_axis(force=True)
        self._seg = None
        return out

    # ------------------------------------------------------------------ input handling
    def _configure(self, block: SampleBlock) -> None:
        if block.location.segment is not Segment.SHANK:
            raise ValueError(f"StanceEndDetector needs a shank sensor, got {block.location}")
        fs = block.fs_hz
        self._side = block.location.side
        taps = ev.fir_lowpass_taps(cutoff_hz=min(self.ev_cutoff_hz, 0.45 * fs), fs_hz=fs)
        self._w_rev = taps[::-1].copy()
        self._d_w = len(taps) // 2
        self._h = round(self.smooth_half_s * fs)
        self._ma = np.full(2 * self._h + 1, 1.0 / (2 * self._h + 1))
        self._d = max(self._d_w, self._h)
        self._win = max(1, round(self.rise_window_s * fs))

    def _feed(self, t: F64, g: F64, a: F64) -> list[StanceEnd]:
        out: list[StanceEnd] = []
        c = self._buffer_hops(t, g, a, out)
        if c < len(t):
            out += self._analyse(t[c:], g[c:])
        return out

    def _gap(self) -> list[StanceEnd]:
        out = self._run(self._take()) if self._parts_n else []
        if self._axis is None:
            self._gap_pending = True
        self._seg = None
        return out

    def _decide_axis(self, *, force: bool) -> list[StanceEnd]:
        got = self._cal.decide(fs_hz=self._fs, segment=Segment.SHANK, force=force)
        if got is None:
            return []
        self._axis, runs = got
        self._seg = None
        out: list[StanceEnd] = []
        for ct, cg, gap_before in runs:
            if gap_before:
                self._seg = None
            out += self._analyse(ct, cg)
        return out

    # ------------------------------------------------------------------ analysis
    def _analyse(self, t: F64, gyr: F64) -> list[StanceEnd]:
        """Append one gap-free run to the current segment, filter it and run the rules."""
        assert self._axis is not None
        seg = self._seg
        if seg is None:
            seg = self._seg = _Seg()
        ax, d = self._axis, self._d
        # Elementwise, so each sample's value does not depend on the run it arrives in.
        omega = gyr[:, 0] * ax[0] + gyr[:, 1] * ax[1] + gyr[:, 2] * ax[2]
        if seg.n_raw == 0:
            seg.tail = np.full(2 * d, omega[0])
        x = np.concatenate([seg.tail, omega])
        x0 = seg.n_raw - 2 * d  # index of x[0]
        seg.n_raw += len(t)
        seg.t = np.concatenate([seg.t, t])
        # Outputs up to n_raw - 1 - half are now determined (each filter's own delay).
        for name, taps, half in (("y", self._ma, self._h), ("w", self._w_rev, self._d_w)):
            buf: F64 = getattr(seg, name)
            lo, hi = seg.base + len(buf), seg.n_raw - half
            if hi > lo:
                new = centred_fir(x[lo - half - x0 : hi + half - x0], taps, half)
                setattr(seg, name, np.concatenate([buf, new]))
        seg.tail = x[len(x) - 2 * d :]
        out = self._step(seg)
        self._trim(seg)
        return out

    def _thresholds(self) -> tuple[float, float]:
        ref = _median(self._amps) if self._amps else 0.0
        return (
            max(self.swing_min_rad_s, self.swing_rel * ref),
            max(self.rise_min_rad_s, self.rise_rel * ref),
        )

    def _step(self, seg: _Seg) -> list[StanceEnd]:
        out: list[StanceEnd] = []
        fs, b = self._fs, seg.base
        n = b + len(seg.y)  # y known on [b, n); w on [b, nw)
        nw = b + len(seg.w)
        y, w = seg.y, seg.w
        while True:
            thr_swing, rise = self._thresholds()
            if seg.state is _State.IDLE:
                k = first_above(y, seg.pos - b, n - b, thr_swing)
                if k is None:
                    seg.pos = n
                    break
                seg.state, seg.kc, seg.pos = _State.SWING, k + b, k + b
                seg.prev_ic_t = None
            elif seg.state is _State.ONSET:
                # Swing confirmation, unless the rate first dips below its level at the last
                # onset and rises again: a new onset (the last one before the swing wins).
                end = min(n, seg.kc + round(self.swing_confirm_s * fs))
                k = first_above(y, seg.pos - b, end - b, thr_swing)
                r0 = seg.kc + 1 - b  # the new minimum must come after the last onset
                hit = first_rise(
                    y[r0:],
                    seg.pos - b - r0,
                    (end if k is None else k + b) - b - r0,
                    window=self._win,
                    rise=rise,
                    below=min(self.fc_max_rad_s, float(y[seg.kc - b])),
                )
                if hit is not None:
                    k2, jm = hit[0] + r0, hit[1] + r0
                    out.append(self._onset(seg, k2, jm))
                elif k is not None:
                    seg.state, seg.kc, seg.pos = _State.SWING, k + b, k + b
                elif n >= seg.kc + round(self.swing_confirm_s * fs):
                    seg.state, seg.pos, seg.prev_ic_t = _State.IDLE, end, None
                else:
                    seg.pos = n
                    break
            elif seg.state is _State.SWING:
                end = seg.kc + round(self.swing_max_s * fs)
                ic = ev.first_down_crossing(w, seg.pos - b, min(nw - 1, end) - b, base=b)
                if ic is None:
                    if nw - 1 >= end:
                        seg.state, seg.pos, seg.prev_ic_t = _State.IDLE, end, None
                        continue
                    seg.pos = max(seg.pos, nw - 1)
                    break
                j = math.floor(ic)
                self._amps.append(float(np.max(y[seg.kc - b : j + 1 - b])))
                ic_t = ev.index_to_time(seg.t, ic, base=b)
                seg.t_prev = None
                if seg.prev_ic_t is not None:
                    dt = ic_t - seg.prev_ic_t
                    if self.min_stride_s <= dt <= self.max_stride_s:
                        seg.t_prev = dt
                seg.prev_ic_t = ic_t
                seg.state, seg.ic, seg.ic_t, seg.pos = _State.STANCE, ic, ic_t, j + 1
            else:  # STANCE
                i0 = math.floor(seg.ic) + 1
                min_st = self.min_stance_s
                if seg.t_prev is not None:
                    min_st = max(min_st, self.min_stance_pct / 100.0 * seg.t_prev)
                lo = max(seg.pos, i0 + round(min_st * fs))
                end = i0 + round(self.max_stance_s * fs)
                hit = first_rise(
                    y, lo - b, min(n, end) - b, window=self._win, rise=rise, below=self.fc_max_rad_s
                )
                if hit is None:
                    if n >= end:
                        seg.state, seg.pos, seg.prev_ic_t = _State.IDLE, end, None
                        continue
                    seg.pos = max(seg.pos, n)
                    break
                out.append(self._onset(seg, *hit))
        return out

    def _onset(self, seg: _Seg, k: int, jm: int) -> StanceEnd:
        """Swing onset at ``k`` from the minimum at ``jm`` (indices into the buffers)."""
        b = seg.base
        fc_t = ev.index_to_time(seg.t, float(jm + b) + _parabolic(seg.y, jm), base=b)
        seg.state, seg.kc, seg.pos = _State.ONSET, k + b, k + b + 1
        return self._event(seg, fc_t, decided=float(seg.t[k + self._h]))

    def _event(self, seg: _Seg, fc_t: float, *, decided: float) -> StanceEnd:
        stance = fc_t - seg.ic_t
        tp = seg.t_prev
        use_prev = tp is not None and stance <= self.max_stance_pct / 100.0 * tp
        cycle = tp if use_prev and tp is not None else stance / self.stance_frac_ref
        return StanceEnd(
            side=self._side,
            ic_t_s=seg.ic_t,
            fc_t_s=fc_t,
            cycle_s=cycle,
            decided_t_s=decided,
            cycle_from_prev=use_prev,
        )

    def _trim(self, seg: _Seg) -> None:
        keep = seg.pos - self._win - 2
        if seg.state in (_State.SWING, _State.ONSET):
            keep = min(keep, seg.kc - 2)
        elif seg.state is _State.STANCE:
            keep = min(keep, math.floor(seg.ic) - 2)
        cut = min(keep - seg.base, len(seg.w))
        if cut > 0:
            seg.t, seg.y, seg.w = seg.t[cut:], seg.y[cut:], seg.w[cut:]
            seg.base += cut


def detect_stance_ends(block: SampleBlock, **params: object) -> list[StanceEnd]:
    """Offline convenience: all stance ends of one shank recording (one push + flush)."""
    det = StanceEndDetector(**params)  # type: ignore[arg-type]
    return [*det.push(block), *det.flush()]
