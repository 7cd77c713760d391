"""Offline analysis of one session: a recording or a samples table -> strides, knee, summary.

The same :class:`~imugait.pipeline.GaitPipeline` as live sessions. A recording is read and
decoded piece by piece (:class:`~imugait.ingest.replay.RecordingStream`, tens of thousands of
notifications at a time) and each piece is pushed as it comes; a samples table pushes each
sensor's blocks. The pipeline's outputs are collected as they are produced and the samples are
not kept: the impact metrics are computed on the fly (:class:`~imugait.analysis.impact.ImpactStream`),
so memory holds the outputs (strides, knee angle) and a bounded window of samples, whatever the
recording's length.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from imugait import __version__
from imugait.analysis import (
    AsymmetryReport,
    LegHyperextension,
    StrideHyperextension,
    add_hyperextension_columns,
    add_lr_flexion_column,
    analyse_asymmetry,
    build_summary,
    summarize_leg,
)
from imugait.analysis.impact import ImpactStream, impact_columns
from imugait.gait import Stride, stride_table
from imugait.ingest.replay import RecordingStream, nominal_fs_hz
from imugait.ingest.samples_table import load_samples_table
from imugait.kinematics import KneeBlock, KneeReference, knee_calibration_from_header
from imugait.pipeline import GaitPipeline, PipelineOutput, SensorSpec
from imugait.types import SampleBlock, Side
from imugait.units import DEG_PER_RAD

SAMPLES_TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")


@dataclass(slots=True)
class SessionAnalysis:
    """Everything ``imugait analyze`` computes for one session."""

    source: str
    kind: str  # "recording" | "samples_table"
    sensors: list[SensorSpec]
    strides: pd.DataFrame
    knee: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    hyperextension: dict[Side, LegHyperextension] = field(default_factory=dict)
    asymmetry: AsymmetryReport | None = None


def is_samples_table(path: Path) -> bool:
    return path.name.lower().endswith(SAMPLES_TABLE_SUFFIXES)


def knee_frame(blocks: list[KneeBlock]) -> pd.DataFrame:
    """Knee blocks as the public long table: ``t_s, side, knee_flexion_deg, calibrated, ...``."""
    if not blocks:
        return pd.DataFrame(
            {
                "t_s": np.empty(0),
                "side": pd.Series([], dtype=str),
                "knee_flexion_deg": np.empty(0),
                "calibrated": pd.Series([], dtype=bool),
                "zero_reliable": pd.Series([], dtype=bool),
            }
        )
    # Sorted by side, then time (stable): each side's blocks come in time order, so this is a
    # concatenation (checked, and sorted if ever needed, per side), filled in place: the table
    # is the only copy of the knee samples it makes.
    blocks = [b for b in blocks if b.n]
    if not blocks:
        return knee_frame([])
    total = sum(b.n for b in blocks)
    t, deg = np.empty(total), np.empty(total)
    cal, zr = np.empty(total, dtype=bool), np.empty(total, dtype=bool)
    sides: list[pd.Series] = []
    p = 0
    for side in sorted({b.side.value for b in blocks}):
        p0 = p
        for b in blocks:
            if b.side.value == side:
                t[p : p + b.n] = b.t_s
                np.multiply(b.knee_flexion_rad, DEG_PER_RAD, out=deg[p : p + b.n])
                cal[p : p + b.n], zr[p : p + b.n] = b.calibrated, b.zero_reliable
                p += b.n
        if p - p0 > 1 and not bool(np.all(np.diff(t[p0:p]) > 0)):
            o = p0 + np.argsort(t[p0:p], kind="stable")
            t[p0:p], deg[p0:p], cal[p0:p], zr[p0:p] = t[o], deg[o], cal[o], zr[o]
        # a string column built by repetition (not from p - p0 Python objects: 8x less memory)
        sides.append(pd.Series([side], dtype="str").repeat(p - p0))
    return pd.DataFrame(
        {
            "t_s": t,
            "side": pd.concat(sides, ignore_index=True),
            "knee_flexion_deg": deg,
            "calibrated": cal,
            "zero_reliable": zr,
        },
        copy=False,
    )


class _Collector:
    """Keeps what the outputs need from each :class:`PipelineOutput`, and drops the samples."""

    def __init__(self, pipe: GaitPipeline) -> None:
        self.strides: list[Stride] = []
        self.knee: list[KneeBlock] = []
        self.hx: list[StrideHyperextension] = []
        self._side_of = {sid: side for side, sid in pipe.stride_sides.items()}
        self.impact = {
            side: ImpactStream(fs_hz=pipe.sensors[sid].fs_hz)
            for side, sid in pipe.stride_sides.items()
        }

    def add(self, out: PipelineOutput) -> None:
        # Per side, each stride goes to the impact stream as soon as the samples cover its
        # stance (not after all of a long piece's samples: the stream keeps a bounded window).
        blocks: dict[Side, list[SampleBlock]] = {}
        for b in out.samples:
            side = self._side_of.get(b.sensor)
            if side is not None:
                blocks.setdefault(side, []).append(b)
        strides: dict[Side, list[Stride]] = {}
        for s in out.strides:
            strides.setdefault(s.side, []).append(s)
        for side in Side:
            imp, todo, j = self.impact.get(side), strides.get(side, []), 0
            if imp is None:
                continue
            for b in blocks.get(side, []):
                imp.push_samples(b)
                t_end = float(b.t_s[-1]) if b.n else -np.inf
                while j < len(todo) and todo[j].fc_t_s <= t_end:
                    imp.push_stride(todo[j].ic_t_s, todo[j].fc_t_s)
                    j += 1
            for s in todo[j:]:
                imp.push_stride(s.ic_t_s, s.fc_t_s)
        self.strides.extend(out.strides)
        self.knee.extend(out.knee)
        self.hx.extend(out.hyperextension)


def _knee_by_side(blocks: list[KneeBlock]) -> dict[Side, KneeBlock]:
    out: dict[Side, KneeBlock] = {}
    for side in Side:
        own = [b for b in blocks if b.side is side and b.n]
        if own:
            out[side] = KneeBlock(
                side=side,
                t_s=np.concatenate([b.t_s for b in own]),
                knee_flexion_rad=np.concatenate([b.knee_flexion_rad for b in own]),
                calibrated=all(b.calibrated for b in own),
                zero_reliable=all(b.zero_reliable for b in own),
            )
    return out


def analyze_path(
    path: str | os.PathLike[str],
    *,
    calibration: Mapping[Side, KneeReference] | None = None,
) -> SessionAnalysis:
    """Analyse one recording (``.imurec``) or samples table (``.csv``/``.parquet``).

    Knee references come from ``calibration`` (e.g. a ``CAL.json`` of ``imugait calibrate``)
    and, for legs it does not cover, from the recording header's ``calibration["knee"]``.
    """
    p = Path(path)
    refs: dict[Side, KneeReference] = dict(calibration or {})
    warnings: list[str] = []
    info: dict[str, Any] = {}
    if is_samples_table(p):
        samples_table = load_samples_table(p)
        warnings.extend(samples_table.warnings)
        specs = [
            SensorSpec(sid, blocks[0].location, samples_table.fs_hz[sid])
            for sid, blocks in samples_table.blocks.items()
        ]
        pipe = GaitPipeline(specs, calibration=refs, keep_samples=True)
        got = _Collector(pipe)
        for blocks in samples_table.blocks.values():
            for b in blocks:
                got.add(pipe.push_block(b))
        kind = "samples_table"
    else:
        stream = RecordingStream(p)
        header = stream.header
        specs = [SensorSpec(e.sensor_id, e.location, nominal_fs_hz(e)) for e in header.sensors]
        for side, ref in knee_calibration_from_header(header.calibration).items():
            refs.setdefault(side, ref)
        pipe = GaitPipeline(specs, calibration=refs, keep_samples=True)
        got = _Collector(pipe)
        for piece in stream:
            for sid, batch in piece:
                got.add(pipe.push_frames(sid, batch))
        warnings.extend(stream.problems)
        kind = "recording"
        info["subject_id"] = header.subject_id
        info["session_id"] = header.session_id
    got.add(pipe.flush())
    if kind == "recording":
        info["clock"] = {
            sid: {
                "lost_frames": st.lost_frames,
                "lost_samples": st.lost_samples,
                "samples": st.samples,
                "skew_ppm": st.skew_ppm,
            }
            for sid, st in pipe.clock_stats().items()
        }
    strides, knee, hx = got.strides, got.knee, got.hx
    for leg, why in pipe.knee_problems().items():
        warnings.append(f"{leg} knee calibration pose not used: {why}")
    info["rejected_strides"] = pipe.rejected_strides()
    for side in Side:
        if side not in pipe.stride_sides:
            warnings.append(f"no shank or foot sensor on the {side} leg: no {side} strides")
    for side, n in info["rejected_strides"].items():
        if n.get("gap"):
            warnings.append(f"{n['gap']} {side} stride(s) overlapping a data gap were dropped")
    table = stride_table(strides)
    knee_sides = _knee_by_side(knee)
    if pipe.knee_sides:
        table = add_hyperextension_columns(table, hx)
        table = add_lr_flexion_column(table, knee_sides)
    table, _ = impact_columns(table, got.impact)
    legs = {side: summarize_leg(hx, side=side) for side in pipe.knee_sides}
    asym = analyse_asymmetry(table, locations=[s.location for s in specs])
    warnings.extend(asym.warnings)
    return SessionAnalysis(
        source=p.name,
        kind=kind,
        sensors=specs,
        strides=table,
        knee=knee_frame(knee),
        warnings=warnings,
        info=info,
        hyperextension=legs,
        asymmetry=asym,
    )


def side_summary(strides: pd.DataFrame) -> dict[str, dict[str, float | int]]:
    """Per side: stride count and mean cadence, stride time, stance %."""
    out: dict[str, dict[str, float | int]] = {}
    for side in Side:
        d = strides[strides["side"] == side.value]
        out[side.value] = {
            "strides": len(d),
            "cadence_spm": float(d["cadence_spm"].mean()) if len(d) else float("nan"),
            "stride_s": float(d["stride_s"].mean()) if len(d) else float("nan"),
            "stance_pct": float(d["stance_pct"].mean()) if len(d) else float("nan"),
        }
    return out


def _json_safe(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _json_safe(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_json_safe(v) for v in x]
    if isinstance(x, float | np.floating):
        return float(x) if np.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def summary_dict(res: SessionAnalysis) -> dict[str, Any]:
    """The JSON-able session summary (``summary.json``)."""
    out: dict[str, Any] = _json_safe(
        {
            "source": res.source,
            "kind": res.kind,
            "software_version": __version__,
            "sensors": [
                {"sensor": s.sensor_id, "location": s.location.value, "fs_hz": s.fs_hz}
                for s in res.sensors
            ],
            "sides": side_summary(res.strides),
            "warnings": res.warnings,
            **res.info,
            **build_summary(hyperextension=res.hyperextension or None, asymmetry=res.asymmetry),
        }
    )
    return out


def write_outputs(res: SessionAnalysis, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write ``strides.parquet``, ``knee.parquet`` and ``summary.json`` into ``out_dir``."""
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    paths = {
        "strides": d / "strides.parquet",
        "knee": d / "knee.parquet",
        "summary": d / "summary.json",
    }
    strides = res.strides.copy()
    if "flags" in strides:
        strides["flags"] = strides["flags"].map(lambda f: ",".join(sorted(f)) if f else "")
    strides.to_parquet(paths["strides"], index=False)
    res.knee.to_parquet(paths["knee"], index=False)
    paths["summary"].write_text(json.dumps(summary_dict(res), indent=2), encoding="utf-8")
    return paths
