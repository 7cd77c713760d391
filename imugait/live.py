"""Live analysis: the :class:`~imugait.pipeline.GaitPipeline` plugged into a BLE session.

:class:`LiveAnalysis` is the session's processor: every notification's frames go through the
same pipeline as ``imugait analyze`` (so the live strides and flags equal the offline ones on the
recording the session wrote), and it keeps what a live display needs: strides per leg, the
latest knee angle, the hyperextension verdict of each stance as it ends (tens of ms after final
contact; the stride that confirms it later keeps the same verdict, see
:mod:`imugait.analysis.hyperext_check`), and an asymmetry verdict on the strides so far
(recomputed at most once per ``asym_every_s``, and never taking more than
``1 / asym_cpu_ratio`` of the time: its cost grows with the strides of a long session).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from imugait.analysis import AsymmetryReport, StrideHyperextension, analyse_asymmetry
from imugait.gait import Stride, stride_table
from imugait.kinematics import KneeReference
from imugait.pipeline import GaitPipeline, PipelineOutput, SensorSpec
from imugait.types import FrameBatch, Side
from imugait.units import DEG_PER_RAD


@dataclass(slots=True)
class LegState:
    """What the live view shows per leg."""

    strides: int = 0
    cadence_spm: float = float("nan")
    knee_deg: float = float("nan")
    hyperext_strides: int = 0
    last_hyperext: StrideHyperextension | None = None
    # Stance verdicts not yet taken over by a stride, latest per IC.
    open_verdicts: dict[float, StrideHyperextension] = field(default_factory=dict)
    confirmed_positive: int = 0


@dataclass(slots=True)
class LiveAnalysis:
    """Session processor running the analysis pipeline on the live stream."""

    sensors: list[SensorSpec]
    calibration: Mapping[Side, KneeReference] | None = None
    asym_every_s: float = 2.0
    asym_cpu_ratio: float = 50.0
    pipeline: GaitPipeline = field(init=False)
    strides: list[Stride] = field(default_factory=list)
    hyperextension: list[StrideHyperextension] = field(default_factory=list)
    stance_verdicts: list[StrideHyperextension] = field(default_factory=list)
    #: per stance verdict: (verdict, host monotonic time it became available)
    verdict_times: list[tuple[StrideHyperextension, float]] = field(default_factory=list)
    legs: dict[Side, LegState] = field(default_factory=lambda: {s: LegState() for s in Side})
    asymmetry: AsymmetryReport | None = None
    events: list[str] = field(default_factory=list)
    flag_latency_s: list[float] = field(default_factory=list)
    _asym_t: float = 0.0
    _asym_cost_s: float = 0.0
    _dirty: bool = False

    def __post_init__(self) -> None:
        self.pipeline = GaitPipeline(self.sensors, calibration=self.calibration)

    # Processor protocol ---------------------------------------------------------------
    def on_batch(self, sensor_id: str, batch: FrameBatch) -> None:
        self._take(self.pipeline.push_frames(sensor_id, batch), batch)

    def on_reconnect(self, sensor_id: str) -> None:
        self.pipeline.reanchor(sensor_id)
        self.events.append(f"{sensor_id} reconnected: clock re-anchored")

    # ----------------------------------------------------------------------------------
    def finish(self) -> None:
        """End of the stream: flush the pipeline (the last strides and flags)."""
        self._take(self.pipeline.flush(), None)
        self._update_asymmetry(force=True)

    def _take(self, out: PipelineOutput, batch: FrameBatch | None) -> None:
        now_session = float(batch.host_t_s[-1]) if batch is not None and batch.n_frames else None
        for st in out.strides:
            self.strides.append(st)
            leg = self.legs[st.side]
            leg.strides += 1
            leg.cadence_spm = 120.0 / st.stride_s
            self._dirty = True
        for kb in out.knee:
            ok = np.isfinite(kb.knee_flexion_rad)
            if ok.any():
                self.legs[kb.side].knee_deg = float(kb.knee_flexion_rad[ok][-1] * DEG_PER_RAD)
        wall = time.monotonic()
        for hx in out.stance_verdicts:  # as each stance ends
            self.stance_verdicts.append(hx)
            self.verdict_times.append((hx, wall))
            leg = self.legs[hx.side]
            leg.last_hyperext = hx
            leg.open_verdicts[hx.ic_t_s] = hx  # a later verdict of the same stance supersedes
            if hx.positive:
                self.events.append(
                    f"{hx.side} hyperextension in stance at {hx.ic_t_s:.1f} s: "
                    f"min {hx.knee_min_rad * DEG_PER_RAD:.1f} deg ({hx.grade})"
                )
            if now_session is not None:
                self.flag_latency_s.append(now_session - hx.fc_t_s)
        for hx in out.withdrawn_verdicts:
            leg = self.legs[hx.side]
            if leg.open_verdicts.get(hx.ic_t_s) is hx:
                del leg.open_verdicts[hx.ic_t_s]
                if hx.positive:
                    self.events.append(
                        f"{hx.side} hyperextension at {hx.ic_t_s:.1f} s withdrawn: "
                        "no stride confirmed that stance"
                    )
        for hx in out.hyperextension:  # per stride (the stride table)
            self.hyperextension.append(hx)
            leg = self.legs[hx.side]
            leg.open_verdicts = {k: v for k, v in leg.open_verdicts.items() if k > hx.ic_t_s + 1e-3}
            leg.confirmed_positive += hx.positive
        for leg in self.legs.values():
            leg.hyperext_strides = leg.confirmed_positive + sum(
                v.positive for v in leg.open_verdicts.values()
            )
        self._update_asymmetry()

    def _update_asymmetry(self, *, force: bool = False) -> None:
        now = time.monotonic()
        wait = max(self.asym_every_s, self.asym_cpu_ratio * self._asym_cost_s)
        if not self._dirty or (not force and now - self._asym_t < wait):
            return
        self._asym_t, self._dirty = now, False
        if min(self.legs[s].strides for s in Side) < 20:
            return
        c0 = time.thread_time()
        table = stride_table(self.strides)
        self.asymmetry = analyse_asymmetry(
            table, locations=[s.location for s in self.sensors], n_boot=500
        )
        self._asym_cost_s = time.thread_time() - c0
