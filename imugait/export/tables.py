"""One session's analysis as Arrow tables of the dataset schemas (:mod:`imugait.export.schema`).

Pure functions: a :class:`~imugait.analyze.SessionAnalysis` (plus the session-clock sample
blocks and the recording header when there is one) in, ``pa.Table`` out. No file I/O here.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from imugait import __version__
from imugait.analysis import DEFAULT_METRICS, HyperextensionParams, analyse_asymmetry, summarize_leg
from imugait.analyze import SessionAnalysis, side_summary, summary_dict
from imugait.export.privacy import scrub_json, scrub_text
from imugait.export.schema import SCHEMA_VERSION, STRIDE_COLUMNS, with_provenance
from imugait.ingest.recording_types import RecordingHeader
from imugait.types import SampleBlock, Side


@dataclass(frozen=True, slots=True)
class SessionIds:
    """Validated ids of one exported session (see :func:`imugait.export.schema.validate_id`)."""

    subject_id: str
    session_id: str


def _defaults(fn: Any) -> dict[str, Any]:
    return {
        k: p.default
        for k, p in inspect.signature(fn).parameters.items()
        if p.kind is p.KEYWORD_ONLY
        and p.default is not p.empty
        and isinstance(p.default, int | float | str | bool)
    }


def analysis_parameters() -> dict[str, Any]:
    """The analysis parameters ``analyze_path`` runs with (read from the code's defaults)."""
    return {
        "hyperextension_stride": asdict(HyperextensionParams()),
        "hyperextension_leg": _defaults(summarize_leg),
        "asymmetry": {
            **_defaults(analyse_asymmetry),
            "metrics": [
                {
                    "name": m.name,
                    "column": m.column,
                    "family": m.family,
                    "threshold_pct": m.threshold_pct,
                    "offloaded_when": m.offloaded_when,
                }
                for m in DEFAULT_METRICS
            ],
        },
    }


def _table(name: str, cols: Mapping[str, Any], n: int, params: Mapping[str, Any]) -> pa.Table:
    schema = with_provenance(name, params)
    arrays = []
    for f in schema:
        v = cols.get(f.name)
        if v is None:
            arrays.append(pa.nulls(n, type=f.type))
        else:
            arrays.append(pa.array(v, type=f.type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=schema)


def _ids(ids: SessionIds, n: int) -> dict[str, Any]:
    return {"subject_id": [ids.subject_id] * n, "session_id": [ids.session_id] * n}


def samples_table(
    blocks: Sequence[SampleBlock], ids: SessionIds, params: Mapping[str, Any]
) -> pa.Table:
    """Session-clock sample blocks as the ``samples`` table, sorted by sensor and time.

    ``sample_index`` is the sample's index in its sensor's stream (``first_seq + i``);
    ``lost_before`` counts the samples missing right before a sample (a jump of the index
    between consecutive blocks, or samples missing at the start), ``gap_before`` is
    ``lost_before > 0``.
    """
    by_sensor: dict[str, list[SampleBlock]] = {}
    for b in blocks:
        if b.n:
            by_sensor.setdefault(b.sensor, []).append(b)
    parts: list[dict[str, Any]] = []
    for sensor in sorted(by_sensor):
        own = sorted(by_sensor[sensor], key=lambda b: b.first_seq)
        expected = 0
        for b in own:
            idx = b.first_seq + np.arange(b.n, dtype=np.int64)
            lost = np.zeros(b.n, dtype=np.int32)
            lost[0] = max(0, b.first_seq - expected)
            expected = b.first_seq + b.n
            part: dict[str, Any] = {
                "t_s": b.t_s,
                "sensor": np.full(b.n, sensor, dtype=object),
                "location": np.full(b.n, b.location.value, dtype=object),
                "sample_index": idx,
                "lost_before": lost,
            }
            for i, a in enumerate("xyz"):
                part[f"acc_{a}_m_s2"] = b.acc_m_s2[:, i].astype(np.float32)
                part[f"gyr_{a}_rad_s"] = b.gyr_rad_s[:, i].astype(np.float32)
            parts.append(part)
    n = sum(len(p["t_s"]) for p in parts)
    cols: dict[str, Any] = {}
    if parts:
        cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        cols["gap_before"] = cols["lost_before"] > 0
    else:
        cols = {"t_s": np.empty(0)}
    return _table("samples", {**_ids(ids, n), **cols}, n, params)


def knee_table(knee: pd.DataFrame, ids: SessionIds, params: Mapping[str, Any]) -> pa.Table:
    """The analysis' long knee table (``t_s, side, knee_flexion_deg, ...``) as ``knee``."""
    n = len(knee)
    cols = {c: knee[c].to_numpy() for c in knee.columns}
    return _table("knee", {**_ids(ids, n), **cols}, n, params)


def strides_table(
    strides: pd.DataFrame, ids: SessionIds, params: Mapping[str, Any]
) -> tuple[pa.Table, list[str]]:
    """The stride table as ``strides``; also returns the columns the schema does not know
    (dropped; the schema version must grow to hold them)."""
    n = len(strides)
    cols: dict[str, Any] = {}
    for c in STRIDE_COLUMNS:
        if c in strides:
            col = strides[c]
            if c == "flags":
                col = col.map(lambda f: f if isinstance(f, str) else ";".join(sorted(f)))
            cols[c] = col.astype(object).where(col.notna(), None).to_numpy()
    dropped = [str(c) for c in strides.columns if c not in STRIDE_COLUMNS]
    return _table("strides", {**_ids(ids, n), **cols}, n, params), dropped


def _f(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def flags_table(res: SessionAnalysis, ids: SessionIds, params: Mapping[str, Any]) -> pa.Table:
    """One row per flag: hyperextension strides, per-leg verdicts, asymmetry metrics/verdict."""
    rows: list[dict[str, Any]] = []
    thr = -HyperextensionParams().threshold_deg
    st = res.strides
    if "hyperextension" in st:
        pos = st[st["hyperextension"].fillna(False).astype(bool)]
        for rec in pos.to_dict("records"):
            rows.append(
                {
                    "kind": "hyperextension_stride",
                    "side": rec["side"],
                    "status": "flagged",
                    "flagged": True,
                    "grade": rec["hyperext_grade"],
                    "t_start_s": _f(float(rec["hyperext_onset_t_s"])),
                    "t_end_s": _f(float(rec["hyperext_offset_t_s"])),
                    "value": _f(float(rec["knee_min_stance_deg"])),
                    "threshold": thr,
                    "unit": "deg",
                    "note": f"stride {float(rec['ic_t_s']):.3f}-{float(rec['end_t_s']):.3f} s, "
                    f"{float(rec['hyperext_ms']):.0f} ms below the threshold",
                }
            )
    for side in Side:
        leg = res.hyperextension.get(side)
        if leg is None:
            continue
        rows.append(
            {
                "kind": "hyperextension_leg",
                "side": side.value,
                "status": leg.status,
                "flagged": leg.flagged,
                "grade": leg.grade,
                "severity": leg.severity,
                "value": _f(leg.median_min_deg),
                "ci_low": _f(leg.ci_low_deg),
                "ci_high": _f(leg.ci_high_deg),
                "threshold": thr,
                "unit": "deg",
                "n_positive": leg.n_positive,
                "n_strides": leg.n_valid,
                "note": leg.note,
            }
        )
    a = res.asymmetry
    if a is not None:
        for m in a.metrics:
            rows.append(
                {
                    "kind": "asymmetry_metric",
                    "side": None if m.offloaded_side is None else m.offloaded_side.value,
                    "metric": m.metric.name,
                    "status": m.status,
                    "flagged": m.flagged,
                    "value": _f(m.si_pct),
                    "ci_low": _f(m.si_ci_low_pct),
                    "ci_high": _f(m.si_ci_high_pct),
                    "threshold": m.metric.threshold_pct,
                    "unit": "%",
                    "n_strides": min(m.n_left, m.n_right),
                    "note": f"SI of {m.metric.column}; left {m.n_left}, right {m.n_right} strides",
                }
            )
        rows.append(
            {
                "kind": "asymmetry_verdict",
                "side": None if a.offloaded_side is None else a.offloaded_side.value,
                "status": a.confidence,
                "flagged": a.offloaded_side is not None,
                "note": ", ".join(m.metric.name for m in a.metrics if m.flagged),
            }
        )
    n = len(rows)
    keys = {k for r in rows for k in r}
    cols = {k: [r.get(k) for r in rows] for k in keys}
    return _table("flags", {**_ids(ids, n), **cols}, n, params)


def _sensors(res: SessionAnalysis, header: RecordingHeader | None) -> list[dict[str, Any]]:
    clock = res.info.get("clock", {})
    out = []
    for s in res.sensors:
        st = clock.get(s.sensor_id, {})
        protocol = None
        if header is not None and s.sensor_id in header.sensor_ids:
            protocol = header.sensor(s.sensor_id).protocol
        out.append(
            {
                "sensor_id": s.sensor_id,
                "location": s.location.value,
                "protocol": protocol,
                "fs_hz": float(s.fs_hz),
                "samples": st.get("samples"),
                "lost_samples": st.get("lost_samples"),
                "lost_frames": st.get("lost_frames"),
                "skew_ppm": st.get("skew_ppm"),
            }
        )
    return out


def session_summary(res: SessionAnalysis, *, redact: Sequence[str] = ()) -> dict[str, Any]:
    """``summary_dict(res)`` without file names and header ids (the export's own ids rule)."""
    d = summary_dict(res)
    for k in ("source", "subject_id", "session_id"):
        d.pop(k, None)
    d["warnings"] = [scrub_text(w, replace=redact) for w in d.get("warnings", [])]
    out: dict[str, Any] = json.loads(scrub_text(json.dumps(d), replace=redact))
    return out


def sessions_table(
    res: SessionAnalysis,
    ids: SessionIds,
    params: Mapping[str, Any],
    *,
    header: RecordingHeader | None,
    source_sha256: str | None,
    duration_s: float | None,
    redact: Sequence[str] = (),
) -> pa.Table:
    """The one-row ``sessions`` table: metadata, sensors, software, parameters, verdicts."""
    sides = side_summary(res.strides)
    hx = res.hyperextension
    a = res.asymmetry
    meta = scrub_json(header.metadata, extra=redact) if header is not None else {}
    cal = scrub_json(header.calibration, extra=redact) if header is not None else {}
    row: dict[str, Any] = {
        "kind": res.kind,
        "source_sha256": source_sha256,
        "recorded_utc": header.created_utc if header is not None else None,
        "exported_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "software_version": __version__,
        "schema_version": SCHEMA_VERSION,
        "duration_s": duration_s,
        "sensors": _sensors(res, header),
        "metadata_json": json.dumps(meta, sort_keys=True),
        "calibration_json": json.dumps(cal, sort_keys=True),
        "parameters_json": json.dumps(params, sort_keys=True),
        "summary_json": json.dumps(session_summary(res, redact=redact), sort_keys=True),
        "hyperext_flagged_sides": ",".join(s.value for s in Side if s in hx and hx[s].flagged),
        "asymmetry_offloaded_side": None
        if a is None or a.offloaded_side is None
        else a.offloaded_side.value,
        "asymmetry_confidence": None if a is None else a.confidence,
        "warnings": [scrub_text(w, replace=redact) for w in res.warnings],
    }
    for side in Side:
        s = sides[side.value]
        row[f"strides_{side.value}"] = int(s["strides"])
        row[f"cadence_{side.value}_spm"] = _f(float(s["cadence_spm"]))
        row[f"stride_{side.value}_s"] = _f(float(s["stride_s"]))
        row[f"stance_{side.value}_pct"] = _f(float(s["stance_pct"]))
        row[f"hyperext_{side.value}_status"] = hx[side].status if side in hx else None
    return _table("sessions", {**_ids(ids, 1), **{k: [v] for k, v in row.items()}}, 1, params)
