"""Gait-event numerics on arrays: sagittal gyro axis, mid-swing, initial and final contact.

Pure functions on numpy arrays (SI units, rad/s). The streaming :class:`~imugait.gait.strides.StrideDetector`
composes them; they are public so they can be tested and reused offline.

Signal convention: ``omega`` is the angular rate about the segment's medio-lateral axis, signed so that
the swing of the leg (distal end moving forward) is **positive**, for both legs and both segments.

Shank (Salarian et al. 2004, IEEE TBME 51:1434; Greene et al. 2010, Med Biol Eng Comput 48:1251;
biomechanics.md §3.1): mid-swing (MS) = the big positive peak; final contact (FC) = the last local
minimum before MS; initial contact (IC) = the first downward zero crossing after MS (default), or, as
in Salarian/Greene, the first local minimum after MS. Measured on the NeuRA sample (both shanks vs the
foot-gyro IC of the same subject, itself +1 ± 5 ms vs motion capture on the gaitmap example), the
minimum lagged by 44-47 ms while the zero crossing was +1 ± 8 ms / +2 ± 23 ms: the knee stops extending
(shank rate changes sign) at heel strike and the dip follows during loading response.

Foot (Rampp et al. 2015, IEEE TBME 62:1089, as in gaitmap ``RamppEventDetection``; §3.2): MS = the
positive swing peak; terminal contact = the last upward zero crossing of ``omega`` before MS (the foot
switches from plantar- to dorsal-flexion at toe-off); IC = the first downward zero crossing after MS
(on the gaitmap example +1 to +3 ms vs motion capture, while the first gyro minimum follows +52-56 ms
later, during foot slap); mid-stance = centre of the window of minimal gyro energy (gaitmap
``min_vel``).

Intrinsic biases measured on real data (benchmarks/strides_realdata.py): foot TC (zero crossing)
+20 ± 5 ms vs the gaitmap motion-capture TC; shank-gyro events are kinematic, not force events (Greene
2010 reports IC -4.5 ± 14.4 ms and FC +43.4 ± 6.0 ms for the minimum rules vs force plates).

Filtering is causal: linear-phase FIR low-passes (:func:`fir_lowpass_taps`); their delay is exactly
``(numtaps - 1) / 2`` samples at every frequency, so it is removed by re-indexing, without approximation.
The streaming detector computes each output sample from its own window of the raw signal, so the value
does not depend on how the stream was cut. Event positions are fractional sample indices; with ``base``
(the absolute index of the first buffered sample) they are absolute and identical whatever part of the
stream is buffered.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import maximum_filter1d
from scipy.signal import firwin

from imugait.types import Segment

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def fir_lowpass_taps(*, cutoff_hz: float, fs_hz: float) -> F64:
    """Linear-phase FIR low-pass (Hamming-windowed sinc), odd length ``2*round(fs/cutoff)+1``.

    Its group delay is exactly ``(len(taps) - 1) // 2`` samples at all frequencies.
    """
    if not 0 < cutoff_hz < fs_hz / 2:
        raise ValueError(f"cutoff_hz must be in (0, fs_hz/2), got {cutoff_hz} at fs {fs_hz}")
    half = max(1, round(fs_hz / cutoff_hz))
    return np.asarray(firwin(2 * half + 1, cutoff_hz, fs=fs_hz), dtype=np.float64)


def moving_mask(gyr_rad_s: F64, *, threshold_rad_s: float = 0.5) -> NDArray[np.bool_]:
    """Samples whose angular-rate norm exceeds ``threshold_rad_s`` (per sample, no filtering)."""
    return np.asarray(np.linalg.norm(gyr_rad_s, axis=1) > threshold_rad_s)


def principal_axis(gyr_rad_s: F64, *, up: F64 | None = None, threshold_rad_s: float = 0.5) -> F64:
    """Unit axis of largest angular-rate energy during movement (sign not yet fixed).

    Eigenvector of the largest eigenvalue of the (uncentred) second-moment matrix of the moving
    samples. In gait the sagittal (medio-lateral) rotation dominates for the thigh, shank and foot.
    With ``up`` (mean specific-force direction, i.e. the segment's average vertical), the rates are
    first projected onto the plane normal to it: the medio-lateral axis is horizontal on average,
    while turning (yaw) happens about the vertical, so turns cannot capture the axis.
    """
    g = np.asarray(gyr_rad_s, dtype=np.float64)
    m = moving_mask(g, threshold_rad_s=threshold_rad_s)
    if int(m.sum()) < 3:
        raise ValueError("not enough movement to find the sagittal axis")
    moving = g[m]
    if up is not None:
        u = np.asarray(up, dtype=np.float64)
        norm = float(np.linalg.norm(u))
        if not norm > 0:
            raise ValueError("up must be a non-zero vector")
        u = u / norm
        moving = moving - np.outer(moving @ u, u)
    _, vecs = np.linalg.eigh(moving.T @ moving)
    axis = np.asarray(vecs[:, -1], dtype=np.float64)
    # Canonical sign (largest component positive) so the result does not depend on LAPACK.
    return axis if axis[int(np.argmax(np.abs(axis)))] > 0 else -axis


def swing_sign(omega_rad_s: F64, *, fs_hz: float, segment: Segment) -> float:
    """+1 if ``omega`` already has the swing positive, else -1, from the signal's morphology.

    Shank (§3.1): the mid-swing peak is a broad, large positive lobe while the IC/FC dips are short;
    after a 4 Hz low-pass the 99th percentile of the swing-positive signal exceeds the magnitude of
    its 1st percentile. Foot: the swing lobe is not the largest (push-off reaches -600 deg/s on the
    gaitmap example), but the foot leaves and re-enters foot-flat rest by plantar-flexing (heel-off,
    foot slap), i.e. with ``omega < 0``: the sign is chosen so that the lobes adjacent to rest are
    negative.
    """
    w = np.asarray(omega_rad_s, dtype=np.float64)
    if segment is Segment.FOOT:
        return _foot_sign(w, fs_hz=fs_hz)
    taps = fir_lowpass_taps(cutoff_hz=min(4.0, 0.4 * fs_hz), fs_hz=fs_hz)
    lp = np.convolve(w, taps, mode="same") if len(w) >= len(taps) else w
    moving = lp[np.abs(w) > 0.5]
    hi, lo = np.percentile(moving if len(moving) else lp, [99.0, 1.0])
    return 1.0 if hi + lo >= 0 else -1.0


def _foot_sign(w: F64, *, fs_hz: float, rest_rad_s: float = 0.5, lobe_rad_s: float = 1.0) -> float:
    rest = np.abs(w) < rest_rad_s
    lobe = np.abs(w) > lobe_rad_s
    min_rest = max(2, round(0.05 * fs_hz))
    vote = 0.0
    # Runs of rest: [start, stop)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], rest.astype(np.int8), [0]])))
    lobe_idx = np.flatnonzero(lobe)
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        if stop - start < min_rest:
            continue
        k = np.searchsorted(lobe_idx, stop)  # first lobe sample after the rest
        if k < len(lobe_idx):
            vote -= float(np.sign(w[lobe_idx[k]]))
        k = np.searchsorted(lobe_idx, start) - 1  # last lobe sample before the rest
        if k >= 0:
            vote -= float(np.sign(w[lobe_idx[k]]))
    return 1.0 if vote >= 0 else -1.0


def sagittal_axis(
    gyr_rad_s: F64,
    *,
    fs_hz: float,
    segment: Segment,
    acc_m_s2: F64 | None = None,
    threshold_rad_s: float = 0.5,
) -> F64:
    """Signed medio-lateral gyro axis: ``gyr @ axis`` has the swing positive, whatever the mounting.

    Parameters
    ----------
    gyr_rad_s
        ``(n, 3)`` angular rate in sensor axes containing some walking (a few strides).
    fs_hz
        Sampling rate.
    segment
        ``Segment.SHANK`` or ``Segment.FOOT`` (decides the sign rule, see :func:`swing_sign`).
    acc_m_s2
        ``(n, 3)`` specific force of the same samples. Recommended: its mean direction is the
        segment's average vertical, which the axis is made orthogonal to (robust to turns).
    threshold_rad_s
        Rate norm above which a sample counts as movement for the axis estimate.
    """
    up = None if acc_m_s2 is None else np.asarray(acc_m_s2, dtype=np.float64).mean(axis=0)
    axis = principal_axis(gyr_rad_s, up=up, threshold_rad_s=threshold_rad_s)
    omega = np.asarray(gyr_rad_s, dtype=np.float64) @ axis
    return axis * swing_sign(omega, fs_hz=fs_hz, segment=segment)


def mid_swing_candidates(w_ms: F64, *, lo: int, hi: int, half_window: int, min_rad_s: float) -> I64:
    """Indices ``k`` in ``[lo, hi)`` where ``w_ms[k]`` is the first maximum of ``w_ms[k-W : k+W+1]``.

    "First": ``w_ms[k]`` is at least every value of the window and greater than every value before
    it, so equal maxima (a plateau) give one peak, and whether ``k`` is a peak depends on its window
    only (not on ``lo``/``hi``). The window is clipped at the array ends, so a decision for ``k``
    needs ``k + W < len(w_ms)`` unless the array ends there for good. Only peaks above
    ``min_rad_s`` are returned; two peaks are always more than ``W`` apart.
    """
    n = len(w_ms)
    lo, hi = max(lo, 0), min(hi, n)
    if hi <= lo:
        return np.empty(0, dtype=np.int64)
    a, b = max(0, lo - half_window), min(n, hi + half_window)
    seg = w_ms[a:b]
    wmax = maximum_filter1d(seg, size=2 * half_window + 1, mode="nearest")
    # Clipped window: 'nearest' padding repeats the edge value, which cannot exceed the true max.
    k = np.flatnonzero((seg == wmax) & (seg > min_rad_s)) + a
    k = k[(k >= lo) & (k < hi)]
    keep = [
        int(x) for x in k.tolist() if x == 0 or w_ms[max(0, x - half_window) : x].max() < w_ms[x]
    ]
    return np.asarray(keep, dtype=np.int64)


def _parabolic(w: F64, j: int) -> float:
    """Sub-sample offset of the extremum at ``j`` (parabola through j-1, j, j+1)."""
    if j <= 0 or j >= len(w) - 1:
        return 0.0
    den = w[j - 1] - 2.0 * w[j] + w[j + 1]
    if den == 0.0:
        return 0.0
    return float(np.clip(0.5 * (w[j - 1] - w[j + 1]) / den, -0.5, 0.5))


def first_local_min(
    w: F64, start: int, stop: int, *, below_rad_s: float, base: int = 0
) -> float | None:
    """First local minimum ``j`` in ``[start, stop)`` with ``w[j] < below_rad_s``, as a fractional index.

    A local minimum has ``w[j-1] >= w[j] < w[j+1]``; it needs ``w[j+1]``, so ``j < len(w) - 1``.
    Returns ``None`` when there is none in the available part of the range.

    ``base`` is added to the result as ``float(j + base) + fraction`` (the absolute index of ``w[0]``
    in a longer stream): the value is then the same whatever part of the stream ``w`` holds, which
    adding ``base`` to the returned relative index afterwards would not guarantee (double rounding).
    The same holds for :func:`last_local_min`, :func:`first_down_crossing`, :func:`last_up_crossing`.
    """
    start, stop = max(start, 1), min(stop, len(w) - 1)
    if stop <= start:
        return None
    c = w[start:stop]
    ok = (c < below_rad_s) & (w[start - 1 : stop - 1] >= c) & (c < w[start + 1 : stop + 1])
    idx = np.flatnonzero(ok)
    if not len(idx):
        return None
    j = int(idx[0]) + start
    return float(j + base) + _parabolic(w, j)


def last_local_min(
    w: F64, start: int, stop: int, *, below_rad_s: float, base: int = 0
) -> float | None:
    """Last local minimum in ``[start, stop)`` with ``w[j] < below_rad_s`` (fractional index)."""
    start, stop = max(start, 1), min(stop, len(w) - 1)
    if stop <= start:
        return None
    c = w[start:stop]
    ok = (c < below_rad_s) & (w[start - 1 : stop - 1] > c) & (c <= w[start + 1 : stop + 1])
    idx = np.flatnonzero(ok)
    if not len(idx):
        return None
    j = int(idx[-1]) + start
    return float(j + base) + _parabolic(w, j)


def first_down_crossing(w: F64, start: int, stop: int, *, base: int = 0) -> float | None:
    """First ``j`` in ``[start, stop)`` with ``w[j] >= 0 > w[j+1]``, linearly interpolated."""
    start, stop = max(start, 0), min(stop, len(w) - 1)
    if stop <= start:
        return None
    idx = np.flatnonzero((w[start:stop] >= 0) & (w[start + 1 : stop + 1] < 0))
    if not len(idx):
        return None
    j = int(idx[0]) + start
    return float(j + base) + float(w[j] / (w[j] - w[j + 1]))


def last_up_crossing(w: F64, start: int, stop: int, *, base: int = 0) -> float | None:
    """Last ``j`` in ``[start, stop)`` with ``w[j] < 0 <= w[j+1]``, linearly interpolated."""
    start, stop = max(start, 0), min(stop, len(w) - 1)
    if stop <= start:
        return None
    idx = np.flatnonzero((w[start:stop] < 0) & (w[start + 1 : stop + 1] >= 0))
    if not len(idx):
        return None
    j = int(idx[-1]) + start
    return float(j + base) + float(-w[j] / (w[j + 1] - w[j]))


def min_energy_center(gyr_norm_rad_s: F64, start: int, stop: int, *, window: int) -> float | None:
    """Centre of the ``window``-sample span in ``[start, stop)`` with the least summed squared rate.

    gaitmap's ``min_vel`` (mid-stance, point of minimal foot velocity; Rampp 2015).
    """
    start, stop = max(start, 0), min(stop, len(gyr_norm_rad_s))
    if stop - start < window or window < 1:
        return None
    e = np.cumsum(np.concatenate([[0.0], gyr_norm_rad_s[start:stop] ** 2]))
    s = e[window:] - e[:-window]
    return start + int(np.argmin(s)) + (window - 1) / 2.0


def index_to_time(t_s: F64, x: float, *, base: int = 0) -> float:
    """Time at fractional sample index ``x`` (linear interpolation of ``t_s``).

    ``x`` counts from ``base`` (``t_s[0]`` is sample ``base``); the integer and fractional parts of
    ``x`` are split before ``base`` is removed, so the result does not depend on ``base``.
    """
    n = len(t_s)
    if n < 2:
        return float(t_s[0])
    fl = math.floor(x)
    j = min(max(fl - base, 0), n - 2)
    return float(t_s[j] + ((x - fl) + (fl - base - j)) * (t_s[j + 1] - t_s[j]))
