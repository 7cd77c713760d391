"""Streaming knee-angle estimator for one leg (thigh + shank samples on a common time grid).

Life cycle (all decisions depend on the data only, never on how it is chunked):

1. **Buffering.** Samples are buffered until the *trigger* sample ``k``: without a calibration,
   the first sample at which the last ``max_wait_s`` of data contain ``identify_motion_s`` of
   informative movement (both segments rotating faster than ``min_rate_rad_s``); with a
   calibration, the sample ``init_s`` after the start. Samples that drop out of the
   ``max_wait_s`` window before the trigger are emitted with NaN angles.
2. **Identification** (uncalibrated only) of axis, knee centre, geometric zero and flexion sign
   on the window ending at ``k`` (``knee_angle.identify_knee_model``). With a
   :class:`~imugait.kinematics.calibration.KneePose` (a goniometer reading of a static pose in
   the session, e.g. standing before walking), the zero is then set so that the mean angle over
   the pose window equals the known angle (``calibration.calibrate_model``); the pose must lie
   inside that window (it precedes identification) and the leg must be still in it, otherwise
   the estimator stays uncalibrated and :attr:`KneeAngleEstimator.pose_problem` says why. Then
   the fusion's initial angle and gyro bias are fitted on the same window.
3. **Fusion**, sample by sample, from the window start onwards. The angular acceleration is a
   central difference, so a sample is final once its successor has arrived (latency 1 sample);
   :meth:`KneeAngleEstimator.flush` finishes the last one.
4. **Gaps.** A time step longer than 1.5 grid periods is lost data the resampler could not
   bridge. Nothing is output inside it, and neither the gyro integral nor the angular
   acceleration crosses it (the knee turns up to ~6 rad/s in swing, so the rotation during a
   90 ms gap is unknown to within tens of degrees). The angle after it is re-acquired from the
   accelerometer angle of the first ``reacquire_s`` of the new segment, keeping the gyro bias
   (``knee_angle.reacquire_state``); those samples are output once that window has arrived
   (latency ``reacquire_s`` after a gap). A segment shorter than ``reacquire_s / 2`` between
   two gaps is output as NaN.

Output angles are flexion-positive radians; ``KneeBlock.calibrated`` tells whether the zero comes
from a goniometer calibration or from the uncalibrated geometric zero (sensor-to-knee lines, see
``knee_angle``), whose error is ``atan(a/d)`` per sensor for a sensor mounted ``a`` in front of
or behind its segment's long axis at distance ``d`` from the knee.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from imugait.errors import InputDataError
from imugait.kinematics.calibration import KneeCalibration, KneePose, calibrate_model
from imugait.kinematics.joint_axis import angular_acceleration, informative_mask
from imugait.kinematics.knee_angle import (
    SMALL_RUN,
    FusionState,
    KneeModel,
    acc_angle,
    acc_angle_rows,
    fuse,
    gyro_rate,
    identify_knee_model,
    initial_state,
    reacquire_state,
    segment_starts,
)
from imugait.types import Location, SampleBlock, Segment, Side

F64 = NDArray[np.float64]

__all__ = ["KneeAngleEstimator", "KneeBlock"]

# Buffer columns: t, gyr_thigh(3), gyr_shank(3), acc_thigh(3), acc_shank(3) (the gyros side
# by side: their angular accelerations are one array operation).
_NCOL = 13
_G1, _G2, _A1, _A2 = slice(1, 4), slice(4, 7), slice(7, 10), slice(10, 13)
_TG = slice(0, 7)  # t and both gyros


@dataclass(frozen=True, slots=True)
class KneeBlock:
    """Knee angles of one leg for a run of samples.

    ``knee_flexion_rad`` is positive in flexion and negative in hyperextension; NaN where no
    estimate exists (movement never sufficed to identify the joint). ``calibrated`` is True when
    the zero comes from a goniometer calibration or pose (for the all-NaN blocks emitted before
    identification: when one was configured); False means the geometric zero (absolute
    error = sensor placement offset, typically a few degrees; shape and range are unaffected).
    ``zero_reliable`` is True when calibrated; uncalibrated it is False when the geometric zero
    cannot be trusted (a sensor too close to the knee, or the hinge model violated so that the
    joint-centre fit fails, see ``KneeModel.zero_reliable``); the angle's shape is still usable.
    """

    side: Side
    t_s: F64
    knee_flexion_rad: F64
    calibrated: bool
    zero_reliable: bool

    @property
    def n(self) -> int:
        return len(self.t_s)


class KneeAngleEstimator:
    """Knee flexion of one leg from thigh and shank IMUs with unknown mounting (streaming).

    Parameters
    ----------
    side
        Leg; only labels the output (the sign is found from the data for either leg).
    calibration
        Optional :class:`~imugait.kinematics.calibration.KneeCalibration` of this leg and
        mounting; skips identification and gives a goniometer-referenced zero.
    pose
        Optional :class:`~imugait.kinematics.calibration.KneePose` in this session (exclusive
        with ``calibration``): the zero is set from it at identification time.
    fs_hz
        Sample rate of the common grid (taken from the first ``SampleBlock`` if omitted).
    identify_motion_s, max_wait_s
        Informative movement needed for identification, and the window it must fall in.
    flush_motion_s
        Movement that still allows identification when the stream ends before the trigger.
    init_s
        Initialisation window when a calibration is given.
    min_rate_rad_s
        Angular-rate threshold of an informative sample (both segments).
    fusion_tau_s, mismatch_scale_m_s2
        Time constant of the acc/gyro fusion and the hinge-mismatch scale that down-weights
        acc samples violating the hinge model (``knee_angle.fuse``).
    reacquire_s
        After a gap the resampler could not bridge, the angle is re-acquired from the
        accelerometer angle of this much data (``knee_angle.reacquire_state``) instead of
        integrating the gyro across the gap; those samples are output once it has arrived.
    """

    def __init__(
        self,
        *,
        side: Side,
        calibration: KneeCalibration | None = None,
        pose: KneePose | None = None,
        fs_hz: float | None = None,
        identify_motion_s: float = 6.0,
        max_wait_s: float = 120.0,
        flush_motion_s: float = 2.0,
        init_s: float = 2.0,
        min_rate_rad_s: float = 0.5,
        fusion_tau_s: float = 1.0,
        mismatch_scale_m_s2: float = 0.5,
        reacquire_s: float = 0.25,
    ) -> None:
        self.side = Side(side)
        if calibration is not None and calibration.side is not self.side:
            raise ValueError(f"calibration is for the {calibration.side} leg, not {self.side}")
        if calibration is not None and pose is not None:
            raise ValueError("give a calibration or a pose, not both")
        for name, v in (
            ("identify_motion_s", identify_motion_s),
            ("flush_motion_s", flush_motion_s),
            ("init_s", init_s),
            ("min_rate_rad_s", min_rate_rad_s),
            ("fusion_tau_s", fusion_tau_s),
            ("mismatch_scale_m_s2", mismatch_scale_m_s2),
            ("reacquire_s", reacquire_s),
        ):
            if not v > 0:
                raise ValueError(f"{name} must be positive, got {v}")
        if not max_wait_s > identify_motion_s:
            raise ValueError("max_wait_s must exceed identify_motion_s")
        if fs_hz is not None and not fs_hz > 0:
            raise ValueError("fs_hz must be positive")
        self.calibration = calibration
        self.pose = pose
        self.fs_hz = fs_hz
        self.identify_motion_s = identify_motion_s
        self.max_wait_s = max_wait_s
        self.flush_motion_s = flush_motion_s
        self.init_s = init_s
        self.min_rate_rad_s = min_rate_rad_s
        self.fusion_tau_s = fusion_tau_s
        self.mismatch_scale_m_s2 = mismatch_scale_m_s2
        self.reacquire_s = reacquire_s
        self._buf = np.empty((0, _NCOL))
        self._buf_start = 0  # global index of _buf[0]
        self._model: KneeModel | None = calibration.model if calibration else None
        self._pose_cal: KneeCalibration | None = None
        self._pose_problem: str | None = None
        self._state: FusionState | None = None
        self._prev: F64 | None = None  # last processed row (for the central difference)
        self._done = False
        self._last_t = -np.inf
        self._reacquire = False  # re-acquire the angle at the next segment start (after a gap)

    @property
    def model(self) -> KneeModel | None:
        """The joint model in use (None before identification)."""
        return self._model

    @property
    def pose_calibration(self) -> KneeCalibration | None:
        """The calibration obtained from ``pose`` at identification (None if not or not yet)."""
        return self._pose_cal

    @property
    def pose_problem(self) -> str | None:
        """Why ``pose`` could not be used (the output is then uncalibrated); None otherwise."""
        return self._pose_problem

    @property
    def calibrated(self) -> bool:
        """Whether the zero is goniometer-referenced (before identification: configured)."""
        if self.calibration is not None:
            return True
        if self.pose is None:
            return False
        return self._state is None or self._pose_cal is not None

    # ---- input -------------------------------------------------------------------------------
    def push(self, thigh: SampleBlock, shank: SampleBlock) -> list[KneeBlock]:
        """Add a thigh/shank pair of blocks with identical ``t_s``; return final angles."""
        for blk, seg in ((thigh, Segment.THIGH), (shank, Segment.SHANK)):
            if blk.location is not Location.of(self.side, seg):
                raise ValueError(f"expected a {self.side}_{seg} block, got {blk.location}")
            if blk.frame != "sensor":
                raise ValueError("KneeAngleEstimator needs sensor-frame samples")
        if thigh.n != shank.n or not np.array_equal(thigh.t_s, shank.t_s):
            raise ValueError("thigh and shank blocks must share the same t_s grid")
        if self.fs_hz is None:
            self.fs_hz = thigh.fs_hz
        return self.push_arrays(
            thigh.t_s, thigh.acc_m_s2, thigh.gyr_rad_s, shank.acc_m_s2, shank.gyr_rad_s
        )

    def push_arrays(
        self,
        t_s: F64,
        acc_thigh_m_s2: F64,
        gyr_thigh_rad_s: F64,
        acc_shank_m_s2: F64,
        gyr_shank_rad_s: F64,
    ) -> list[KneeBlock]:
        """Array form of :meth:`push` (SI units, sensor frames, ``(n,)`` and ``(n, 3)``)."""
        if self._done:
            raise ValueError("push after flush")
        if self.fs_hz is None:
            raise ValueError("fs_hz is unknown: pass it to the constructor")
        t = np.asarray(t_s, dtype=np.float64)
        n = len(t)
        cols = (gyr_thigh_rad_s, gyr_shank_rad_s, acc_thigh_m_s2, acc_shank_m_s2)
        if t.ndim != 1 or any(np.shape(c) != (n, 3) for c in cols):
            raise ValueError("acc/gyr arrays must have shape (n, 3)")
        if n == 0:
            return []
        if (n > 1 and bool(np.any(np.diff(t) <= 0))) or t[0] <= self._last_t:
            raise ValueError("t_s must be strictly increasing across pushes")
        self._last_t = float(t[-1])
        # the buffer and the new rows, copied once into a new array
        m = len(self._buf)
        buf = np.empty((m + n, _NCOL))
        buf[:m] = self._buf
        buf[m:, 0] = t
        for sl, c in zip((_G1, _G2, _A1, _A2), cols, strict=True):
            buf[m:, sl] = c
        self._buf = buf
        return self._advance(final=False)

    def flush(self) -> list[KneeBlock]:
        """End of stream: finish the pending samples (identifying on what is there if needed)."""
        if self._done:
            return []
        out = self._advance(final=True)
        self._done = True
        return out

    # ---- internals ---------------------------------------------------------------------------
    @property
    def _max_dt_s(self) -> float:
        """Largest time step inside a gap-free segment (1.5 grid periods: the resampler has
        already bridged the gaps it can, so any longer step is a gap)."""
        assert self.fs_hz is not None
        return 1.5 / self.fs_hz

    def _block(self, rows_t: F64, angle: F64) -> KneeBlock:
        m = self._model
        cal = self.calibrated
        return KneeBlock(
            side=self.side,
            t_s=rows_t.copy(),
            knee_flexion_rad=angle,
            calibrated=cal,
            zero_reliable=cal or (m is not None and m.zero_reliable),
        )

    def _trigger(self, final: bool) -> int | None:
        """Index into ``_buf`` of the trigger sample, or None (not yet)."""
        assert self.fs_hz is not None
        n = len(self._buf)
        if self.calibration is not None:
            k = round(self.init_s * self.fs_hz) - 1 - self._buf_start
            return min(max(k, 0), n - 1) if (k < n or final) and n else None
        b = self._buf
        info = informative_mask(b[:, _G1], b[:, _G2], min_rate_rad_s=self.min_rate_rad_s)
        cum = np.cumsum(info)
        n_win = round(self.max_wait_s * self.fs_hz)
        need = round(self.identify_motion_s * self.fs_hz)
        # motion count in the window (k - n_win, k]; the buffer never holds more than n_win
        # samples before the trigger, plus the newly pushed ones
        lag = np.concatenate([np.zeros(n_win, dtype=cum.dtype), cum])[:n]
        hits = np.flatnonzero(cum - lag >= need)
        if len(hits):
            return int(hits[0])
        if final and n and int(cum[-1] - lag[-1]) >= round(self.flush_motion_s * self.fs_hz):
            return n - 1
        return None

    def _advance(self, *, final: bool) -> list[KneeBlock]:
        assert self.fs_hz is not None
        out_t: list[F64] = []
        out_a: list[F64] = []
        if self._state is None:
            k = self._trigger(final)
            n_win = round(self.max_wait_s * self.fs_hz)
            if k is None:
                # emit as NaN what can no longer be part of an identification window
                if final:
                    keep_from = len(self._buf)
                elif self.calibration is None:
                    keep_from = max(0, len(self._buf) - n_win + 1)
                else:
                    keep_from = 0
                if keep_from:
                    out_t.append(self._buf[:keep_from, 0])
                    out_a.append(np.full(keep_from, np.nan))
                    self._buf = self._buf[keep_from:]
                    self._buf_start += keep_from
                return self._emit(out_t, out_a)
            start = max(0, k - n_win + 1) if self.calibration is None else 0
            if start:
                out_t.append(self._buf[:start, 0])
                out_a.append(np.full(start, np.nan))
                self._buf = self._buf[start:]
                self._buf_start += start
                k -= start
            if not self._initialise(self._buf[: k + 1]):
                # identification failed: nothing usable in this window
                out_t.append(self._buf[: k + 1, 0])
                out_a.append(np.full(k + 1, np.nan))
                self._buf = self._buf[k + 1 :]
                self._buf_start += k + 1
                return self._emit(out_t, out_a) + self._advance(final=final)
        t, a = self._process(final)
        out_t.append(t)
        out_a.append(a)
        return self._emit(out_t, out_a)

    def _emit(self, out_t: list[F64], out_a: list[F64]) -> list[KneeBlock]:
        if len(out_t) == 1:
            t, a = out_t[0], out_a[0]
        elif out_t:
            t, a = np.concatenate(out_t), np.concatenate(out_a)
        else:
            return []
        return [self._block(t, a)] if len(t) else []

    def _initialise(self, win: F64) -> bool:
        t, a1, g1, a2, g2 = win[:, 0], win[:, _A1], win[:, _G1], win[:, _A2], win[:, _G2]
        if self._model is None:
            try:
                self._model = identify_knee_model(
                    t, a1, g1, a2, g2, min_rate_rad_s=self.min_rate_rad_s
                )
            except ValueError:
                return False
            if self.pose is not None:
                self._apply_pose(win)
        m = self._model
        dg1, dg2 = np.empty_like(g1), np.empty_like(g2)
        starts = segment_starts(t, self._max_dt_s)
        for i, j in zip(starts, [*starts[1:], len(t)], strict=True):
            dg1[i:j] = angular_acceleration(g1[i:j], t[i:j])
            dg2[i:j] = angular_acceleration(g2[i:j], t[i:j])
        alpha, _ = acc_angle(m, a1, g1, dg1, a2, g2, dg2)
        self._state = initial_state(t, gyro_rate(m, g1, g2), alpha, max_dt_s=self._max_dt_s)
        return True

    def _apply_pose(self, win: F64) -> None:
        """Set the zero from ``self.pose`` on the identification window, or say why not."""
        assert self.pose is not None
        assert self._model is not None
        assert self.fs_hz is not None
        pose, t = self.pose, win[:, 0]
        tol = 1.0 / self.fs_hz
        if pose.t_start_s < t[0] - tol or pose.t_end_s > t[-1] + tol:
            self._pose_problem = (
                f"pose window {pose.t_start_s:g}-{pose.t_end_s:g} s is not inside the "
                f"identification window {t[0]:.2f}-{t[-1]:.2f} s (the pose must come before "
                "the walking and within max_wait_s of it); knee angle left uncalibrated"
            )
            return
        try:
            cal = calibrate_model(
                self._model,
                self.side,
                t,
                win[:, _A1],
                win[:, _G1],
                win[:, _A2],
                win[:, _G2],
                pose=pose,
                fs_hz=self.fs_hz,
            )
        except InputDataError as e:
            self._pose_problem = f"{e}; knee angle left uncalibrated"
            return
        self._pose_cal = cal
        self._model = cal.model

    def _process(self, final: bool) -> tuple[F64, F64]:
        """Fuse every buffered row that is final (all of them when ``final``).

        A row is final once its successor in the same gap-free segment has arrived (central
        difference), or once the next row shows a gap after it. After a gap (and at the start
        of every segment the state was not carried into) the angle is re-acquired from the
        first ``reacquire_s`` of the new segment (:func:`~.knee_angle.reacquire_state`), so
        those rows become final only when that window is complete.
        """
        out_t: list[F64] = []
        out_a: list[F64] = []
        while len(self._buf):
            if self._reacquire:
                n_nan = self._reacquire_from_buffer(final)
                if n_nan is None:
                    break
                if n_nan:
                    out_t.append(self._buf[:n_nan, 0])
                    out_a.append(np.full(n_nan, np.nan))
                    self._buf = self._buf[n_nan:]
                    self._buf_start += n_nan
                    continue  # still to re-acquire, at the next segment
            b = self._buf
            if self._prev is not None and b[0, 0] - self._prev[0] > self._max_dt_s:
                # a gap before the first buffered row: the gyro cannot bridge it
                self._prev = None
                self._reacquire = True
                continue
            jumps = np.flatnonzero(np.diff(b[:, 0]) > self._max_dt_s)
            seg_end = int(jumps[0]) + 1 if len(jumps) else len(b)
            closed = seg_end < len(b) or final
            n_out = seg_end if closed else seg_end - 1
            if n_out <= 0:
                break
            t, a = self._fuse_rows(b[:seg_end], n_out)
            out_t.append(t)
            out_a.append(a)
        if len(out_t) <= 1:
            return (out_t[0], out_a[0]) if out_t else (np.empty(0), np.empty(0))
        return np.concatenate(out_t), np.concatenate(out_a)

    def _segment_terms(self, seg: F64, n_out: int) -> tuple[F64, F64, F64]:
        """Acc angle, hinge mismatch and gyro rate of ``seg[:n_out]`` (``seg`` gap-free,
        continuing ``self._prev`` when set)."""
        if n_out <= SMALL_RUN:
            return self._segment_terms_small(seg, n_out)
        if self._prev is None:
            dg = angular_acceleration(seg[:, 1:7], seg[:, 0])[:n_out]
        else:  # the times and gyros of the previous row, then the segment's
            ext = np.concatenate([self._prev[None, _TG], seg[:, _TG]])
            dg = angular_acceleration(ext[:, 1:7], ext[:, 0])[1 : 1 + n_out]
        rows = seg[:n_out]
        m = self._model
        assert m is not None
        g1, g2 = rows[:, _G1], rows[:, _G2]
        alpha_acc, mismatch = acc_angle(m, rows[:, _A1], g1, dg[:, :3], rows[:, _A2], g2, dg[:, 3:])
        return alpha_acc, mismatch, gyro_rate(m, g1, g2)

    def _segment_terms_small(self, seg: F64, n_out: int) -> tuple[F64, F64, F64]:
        """:meth:`_segment_terms` of a few rows on Python scalars (the same float operations:
        :func:`~.joint_axis.angular_acceleration` on the rows continuing ``self._prev``, then
        :func:`~.knee_angle.acc_angle_rows`)."""
        m = self._model
        assert m is not None
        # ext: [prev] + seg, conceptually; its rows off .. off + n_out are the outputs, and
        # their central differences need one row more (the last row of seg is one-sided)
        ext: list[list[float]] = seg[: n_out + 1].tolist()
        off = 0
        if self._prev is not None:
            ext.insert(0, self._prev.tolist())
            off = 1
        n_ext = off + len(seg)
        rows = []
        for i in range(off, off + n_out):
            r = ext[i]
            if n_ext < 2:
                dg = [0.0] * 6
            else:
                lo, hi = (i - 1 if i > 0 else i), (i + 1 if i < n_ext - 1 else i)
                r0, r1 = ext[lo], ext[hi]
                dt = r1[0] - r0[0]
                dg = [(r1[c] - r0[c]) / dt for c in range(1, 7)]
            rows.append((r[7:10], r[1:4], dg[:3], r[10:13], r[4:7], dg[3:]))
        alpha, mismatch, rate = acc_angle_rows(m, rows)
        return np.array(alpha), np.array(mismatch), np.array(rate)

    def _fuse_rows(self, seg: F64, n_out: int) -> tuple[F64, F64]:
        alpha_acc, mismatch, rate = self._segment_terms(seg, n_out)
        assert self._state is not None
        rows = seg[:n_out]
        angle, self._state = fuse(
            rows[:, 0],
            rate,
            alpha_acc,
            mismatch,
            self._state,
            tau_s=self.fusion_tau_s,
            mismatch_scale_m_s2=self.mismatch_scale_m_s2,
        )
        self._prev = rows[-1].copy()
        self._buf = self._buf[n_out:]
        self._buf_start += n_out
        return rows[:, 0], angle

    def _reacquire_from_buffer(self, final: bool) -> int | None:
        """Re-acquire the angle at the first buffered row (a segment start).

        Returns None when the window has not arrived yet, 0 when done, or the number of rows
        of a segment too short (< ``reacquire_s / 2``) to re-acquire, to be output as NaN.
        """
        b = self._buf
        t = b[:, 0]
        jumps = np.flatnonzero(np.diff(t) > self._max_dt_s)
        seg_end = int(jumps[0]) + 1 if len(jumps) else len(b)
        n_win = int(np.searchsorted(t[:seg_end], t[0] + self.reacquire_s - 1e-9))
        if n_win == seg_end and not (seg_end < len(b) or final):
            return None  # the window (or the row after it) has not arrived yet
        assert self._state is not None
        if t[n_win - 1] - t[0] < 0.5 * self.reacquire_s:
            # a segment too short to re-acquire the angle (the mean of a few acc angles keeps
            # their phase-dependent error, ~5 deg for one sample): withheld
            return seg_end
        alpha_acc, mismatch, rate = self._segment_terms(b[:seg_end], n_win)
        self._state = reacquire_state(
            t[:n_win],
            rate,
            alpha_acc,
            mismatch,
            self._state.bias_rad_s,
            mismatch_scale_m_s2=self.mismatch_scale_m_s2,
        )
        self._reacquire = False
        return 0
