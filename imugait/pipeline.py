"""The one processing path: live sessions, replays and offline analysis all run this.

``GaitPipeline`` composes the stages, each causal and incremental (``push``/``flush``):

1. per sensor, :class:`~imugait.signal.SensorClock` maps decoded frames onto the session clock
   (skipped for samples tables, which are already on one clock);
2. per leg, a :class:`~imugait.gait.StrideDetector` on the shank sensor (the foot sensor when
   no shank is worn) finds strides with IC and FC;
3. per leg with thigh and shank, a :class:`~imugait.signal.Resampler` aligns the two sensors
   and a :class:`~imugait.kinematics.KneeAngleEstimator` gives knee flexion;
4. per leg with a knee angle, a :class:`~imugait.gait.StanceEndDetector` on the shank announces
   each stance's end tens of ms after final contact, and a
   :class:`~imugait.analysis.HyperextensionCheck` grades the stance as soon as the knee angle
   covers its window (the live flag, ``stance_verdicts``); each stride then takes that verdict
   (``hyperextension``, the stride table) or, when none fits it, its own; verdicts no stride
   takes come out in ``withdrawn_verdicts``.

``push_frames``/``push_block`` return a :class:`PipelineOutput` with what became final; the
offline path is ``push`` of each whole sensor stream, then ``flush``. Because every stage is
chunk-invariant, the union of the outputs does not depend on how the input was cut.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from imugait.analysis import HyperextensionCheck, StrideHyperextension
from imugait.analysis.hyperext_check import HxOutput
from imugait.gait import Stride, StrideDetector
from imugait.gait.stance_end import StanceEnd, StanceEndDetector
from imugait.kinematics import (
    KneeAngleEstimator,
    KneeBlock,
    KneeCalibration,
    KneePose,
    KneeReference,
)
from imugait.signal import ClockStats, Resampler, SensorClock
from imugait.types import FrameBatch, Location, SampleBlock, Segment, Side


@dataclass(frozen=True, slots=True)
class SensorSpec:
    """A sensor as the pipeline needs it: id, body location, nominal rate."""

    sensor_id: str
    location: Location
    fs_hz: float


@dataclass(slots=True)
class PipelineOutput:
    """What became final in one ``push``/``flush``."""

    strides: list[Stride] = field(default_factory=list)
    knee: list[KneeBlock] = field(default_factory=list)
    hyperextension: list[StrideHyperextension] = field(default_factory=list)
    samples: list[SampleBlock] = field(default_factory=list)
    stance_ends: list[StanceEnd] = field(default_factory=list)
    stance_verdicts: list[StrideHyperextension] = field(default_factory=list)
    withdrawn_verdicts: list[StrideHyperextension] = field(default_factory=list)

    def extend(self, other: PipelineOutput) -> None:
        self.strides.extend(other.strides)
        self.knee.extend(other.knee)
        self.hyperextension.extend(other.hyperextension)
        self.samples.extend(other.samples)
        self.stance_ends.extend(other.stance_ends)
        self.stance_verdicts.extend(other.stance_verdicts)
        self.withdrawn_verdicts.extend(other.withdrawn_verdicts)

    def add_hx(self, hx: HxOutput) -> None:
        self.hyperextension.extend(hx.stride)
        self.stance_verdicts.extend(hx.stance)
        self.withdrawn_verdicts.extend(hx.withdrawn)


def _stride_sources(sensors: Sequence[SensorSpec]) -> dict[Side, SensorSpec]:
    """Per leg, the sensor strides are detected from: the shank, else the foot."""
    out: dict[Side, SensorSpec] = {}
    for seg in (Segment.FOOT, Segment.SHANK):  # shank overrides foot
        for s in sensors:
            if s.location.segment is seg:
                out[s.location.side] = s
    return out


class GaitPipeline:
    """Streaming gait analysis of one session (see the module docstring).

    Parameters
    ----------
    sensors
        The session's sensors; at most one per location.
    calibration
        Optional knee references per side: a ``KneeCalibration`` (from ``imugait calibrate``)
        or a ``KneePose`` (a goniometer-measured still pose inside this session).
    keep_samples
        Also return the session-clock sample blocks (for exports); off by default.
    """

    def __init__(
        self,
        sensors: Sequence[SensorSpec],
        *,
        calibration: Mapping[Side, KneeReference] | None = None,
        keep_samples: bool = False,
    ) -> None:
        locs = [s.location for s in sensors]
        if len(set(locs)) != len(locs):
            raise ValueError("at most one sensor per body location")
        self.sensors = {s.sensor_id: s for s in sensors}
        self.keep_samples = keep_samples
        self._clocks = {
            s.sensor_id: SensorClock(sensor=s.sensor_id, location=s.location, fs_hz=s.fs_hz)
            for s in sensors
        }
        self._stride_src = {spec.sensor_id: side for side, spec in _stride_sources(sensors).items()}
        self._detectors = {side: StrideDetector() for side in self._stride_src.values()}
        by_loc = {s.location: s for s in sensors}
        self._knee_pairs: dict[Side, tuple[str, str]] = {}
        for side in Side:
            thigh = by_loc.get(Location.of(side, Segment.THIGH))
            shank = by_loc.get(Location.of(side, Segment.SHANK))
            if thigh and shank:
                self._knee_pairs[side] = (thigh.sensor_id, shank.sensor_id)
        self._knee_sensor_side = {
            sid: side for side, pair in self._knee_pairs.items() for sid in pair
        }
        cal = calibration or {}
        self._resamplers = {
            side: Resampler(sensors=list(pair)) for side, pair in self._knee_pairs.items()
        }
        self._knee = {}
        for side in self._knee_pairs:
            ref = cal.get(side)
            self._knee[side] = KneeAngleEstimator(
                side=side,
                calibration=ref if isinstance(ref, KneeCalibration) else None,
                pose=ref if isinstance(ref, KneePose) else None,
            )
        self._hx = HyperextensionCheck(stance_verdicts=True) if self._knee_pairs else None
        self._stance = {
            by_loc[Location.of(side, Segment.SHANK)].sensor_id: (side, StanceEndDetector())
            for side in self._knee_pairs
        }

    # ------------------------------------------------------------------ public API
    @property
    def stride_sides(self) -> dict[Side, str]:
        """Per leg, the sensor its strides come from."""
        return {side: sid for sid, side in self._stride_src.items()}

    @property
    def knee_sides(self) -> tuple[Side, ...]:
        """Legs with a knee angle (thigh and shank worn)."""
        return tuple(self._knee_pairs)

    def knee_problems(self) -> dict[str, str]:
        """Per leg, why a requested pose calibration was not applied (if it was not)."""
        out: dict[str, str] = {}
        for side, est in self._knee.items():
            if est.pose_problem:
                out[side.value] = est.pose_problem
        return out

    def rejected_strides(self) -> dict[str, dict[str, int]]:
        """Per leg, counts of stride candidates rejected, by reason (gap, stride_time, ...)."""
        return {side.value: det.rejected for side, det in self._detectors.items()}

    def clock_stats(self) -> dict[str, ClockStats]:
        return {sid: c.stats for sid, c in self._clocks.items()}

    def reanchor(self, sensor_id: str) -> None:
        """A sensor reconnected: re-anchor its clock mapping."""
        self._clocks[sensor_id].reanchor()

    def push_frames(self, sensor_id: str, batch: FrameBatch) -> PipelineOutput:
        """Decoded frames of one sensor (live: one notification; offline: any run)."""
        out = PipelineOutput()
        for block in self._clocks[sensor_id].push(batch):
            out.extend(self.push_block(block))
        return out

    def push_block(self, block: SampleBlock) -> PipelineOutput:
        """Samples of one sensor already on the session clock."""
        out = PipelineOutput()
        if self.keep_samples:
            out.samples.append(block)
        side = self._stride_src.get(block.sensor)
        if side is not None:
            self._add_strides(self._detectors[side].push(block), out)
        stance = self._stance.get(block.sensor)
        if stance is not None:
            self._add_stance_ends(stance, stance[1].push(block), out)
        kside = self._knee_sensor_side.get(block.sensor)
        if kside is not None:
            self._feed_knee(kside, self._resamplers[kside].push(block), out)
        return out

    def flush(self) -> PipelineOutput:
        """End of the session: flush every stage in data-flow order."""
        out = PipelineOutput()
        for clock in self._clocks.values():
            for block in clock.flush():
                out.extend(self.push_block(block))
        for det in self._detectors.values():
            self._add_strides(det.flush(), out)
        for stance in self._stance.values():
            self._add_stance_ends(stance, stance[1].flush(), out)
        for side, rs in self._resamplers.items():
            self._feed_knee(side, rs.flush(), out)
            self._add_knee(self._knee[side].flush(), out)
        if self._hx is not None:
            out.add_hx(self._hx.flush_all())
        return out

    # ------------------------------------------------------------------ internals
    def _add_strides(self, strides: list[Stride], out: PipelineOutput) -> None:
        out.strides.extend(strides)
        if self._hx is not None:
            for st in strides:
                if st.side in self._knee_pairs:
                    out.add_hx(self._hx.push_all(st))

    def _add_stance_ends(
        self, stance: tuple[Side, StanceEndDetector], ends: list[StanceEnd], out: PipelineOutput
    ) -> None:
        assert self._hx is not None
        out.stance_ends.extend(ends)
        for e in ends:
            out.add_hx(self._hx.push_all(e))
        out.add_hx(self._hx.stance_progress(stance[0], stance[1].decided_t_s))

    def _add_knee(self, blocks: list[KneeBlock], out: PipelineOutput) -> None:
        out.knee.extend(blocks)
        if self._hx is not None:
            for kb in blocks:
                out.add_hx(self._hx.push_all(kb))

    def _feed_knee(self, side: Side, aligned: list[SampleBlock], out: PipelineOutput) -> None:
        thigh_id, shank_id = self._knee_pairs[side]
        pending: dict[int, dict[str, SampleBlock]] = {}
        for b in aligned:
            pending.setdefault(b.first_seq, {})[b.sensor] = b
        for key in sorted(pending):
            pair = pending[key]
            if thigh_id in pair and shank_id in pair:
                self._add_knee(self._knee[side].push(pair[thigh_id], pair[shank_id]), out)
