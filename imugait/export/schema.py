"""Schemas of the imugait Parquet dataset (schema version :data:`SCHEMA_VERSION`).

Layout of a dataset folder (hive partitioning, one file per table, subject and session)::

    DATASET/
      imugait_dataset.json                       format marker + schema version
      <table>/subject=<subject_id>/session=<session_id>/part-0.parquet

with ``<table>`` one of ``samples``, ``knee``, ``strides``, ``flags``, ``sessions``. Every file
also holds ``subject_id`` and ``session_id`` as string columns: readers that infer partition
types (DuckDB, Polars) may turn ``session=001`` into an integer, the columns never change.

Each field carries its unit in the field metadata (``{"unit": "m/s^2"}``) and each file's
schema metadata holds the provenance (``imugait.schema_version``, ``imugait.table``,
``imugait.software_version``, ``imugait.parameters``). Times on the session clock (``*t_s``)
are float64; other measurements are float32 (7 significant digits, beyond what IMUs resolve).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from imugait import __version__
from imugait.errors import InputDataError

#: Version of the table schemas. A dataset written with another version is refused.
SCHEMA_VERSION = "1.0"

#: Format marker file at the dataset root.
MARKER_NAME = "imugait_dataset.json"

TABLES = ("samples", "knee", "strides", "flags", "sessions")

#: Subject and session ids: letters, digits, ``_`` and ``-`` (so they are safe path parts).
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

_STR = pa.string()
_F32 = pa.float32()
_F64 = pa.float64()
_BOOL = pa.bool_()
_I32 = pa.int32()
_I64 = pa.int64()

#: unit by name suffix, longest suffix first (the naming rule of architecture.md §7)
_SUFFIX_UNITS: tuple[tuple[str, str], ...] = (
    ("_m_s2", "m/s^2"),
    ("_m_s3", "m/s^3"),
    ("_rad_s", "rad/s"),
    ("_spm", "steps/min"),
    ("_pct", "%"),
    ("_deg", "deg"),
    ("_ppm", "ppm"),
    ("_hz", "Hz"),
    ("_ms", "ms"),
    ("_s", "s"),
)


def unit_of(name: str) -> str | None:
    """The unit a column name declares by its suffix (``None`` for unitless columns)."""
    for suffix, unit in _SUFFIX_UNITS:
        if name.endswith(suffix):
            return unit
    return None


def validate_id(value: str, *, what: str) -> str:
    """Return ``value`` if it is a valid subject/session id, else raise ``InputDataError``."""
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise InputDataError(
            f"{what} {value!r} is not a valid id: use 1-64 letters, digits, '_' or '-'"
        )
    return value


def _field(name: str, typ: pa.DataType, unit: str | None = None, **meta: str) -> pa.Field:
    md = dict(meta)
    u = unit if unit is not None else unit_of(name)
    if u is not None:
        md["unit"] = u
    return pa.field(name, typ, metadata=md or None)


def _ids() -> list[pa.Field]:
    return [
        _field("subject_id", _STR, description="subject id given at export"),
        _field("session_id", _STR, description="session id"),
    ]


def _t(name: str) -> pa.Field:
    return _field(name, _F64, "s", clock="session")


SAMPLES = pa.schema(
    [
        *_ids(),
        _t("t_s"),
        _field("sensor", _STR),
        _field("location", _STR),
        *[_field(f"acc_{a}_m_s2", _F32, frame="sensor") for a in "xyz"],
        *[_field(f"gyr_{a}_rad_s", _F32, frame="sensor") for a in "xyz"],
        _field("sample_index", _I64, "sample", description="index in the sensor's stream"),
        _field("gap_before", _BOOL, description="samples were lost right before this one"),
        _field("lost_before", _I32, "sample", description="samples lost right before"),
    ]
)

KNEE = pa.schema(
    [
        *_ids(),
        _t("t_s"),
        _field("side", _STR),
        _field("knee_flexion_deg", _F32, description="flexion positive, extension negative"),
        _field("calibrated", _BOOL),
        _field("zero_reliable", _BOOL),
    ]
)

#: stride-table columns (architecture.md §9) with their Parquet type
_STRIDE_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("side", _STR),
    ("ic_t_s", _F64),
    ("fc_t_s", _F64),
    ("end_t_s", _F64),
    ("stride_s", _F32),
    ("stance_s", _F32),
    ("swing_s", _F32),
    ("stance_pct", _F32),
    ("step_s", _F32),
    ("single_support_s", _F32),
    ("cadence_spm", _F32),
    ("bout_id", _I32),
    ("double_support_s", _F32),
    ("bilateral_ok", _BOOL),
    ("double_support_ok", _BOOL),
    ("flags", _STR),
    ("location", _STR),
    ("knee_min_stance_deg", _F32),
    ("hyperext_ms", _F32),
    ("hyperextension", _BOOL),
    ("hyperext_onset_t_s", _F64),
    ("hyperext_offset_t_s", _F64),
    ("hyperext_grade", _STR),
    ("lr_knee_flexion_deg", _F32),
    ("impact_peak_m_s2", _F32),
    ("impact_time_to_peak_s", _F32),
    ("loading_rate_m_s3", _F32),
    ("impact_axial_peak_m_s2", _F32),
)

STRIDES = pa.schema(
    [
        *_ids(),
        *[_t(n) if n.endswith("t_s") else _field(n, typ) for n, typ in _STRIDE_COLUMNS],
    ]
)

FLAGS = pa.schema(
    [
        *_ids(),
        _field(
            "kind",
            _STR,
            description="hyperextension_stride | hyperextension_leg | asymmetry_metric | "
            "asymmetry_verdict",
        ),
        _field("side", _STR, description="side the flag is about (offloaded side)"),
        _field("metric", _STR),
        _field("status", _STR),
        _field("flagged", _BOOL),
        _field("grade", _STR),
        _field("severity", _STR),
        _t("t_start_s"),
        _t("t_end_s"),
        _field("value", _F32, "see column 'unit'"),
        _field("ci_low", _F32, "see column 'unit'"),
        _field("ci_high", _F32, "see column 'unit'"),
        _field("threshold", _F32, "see column 'unit'"),
        _field("unit", _STR),
        _field("n_positive", _I32, "stride"),
        _field("n_strides", _I32, "stride"),
        _field("note", _STR),
    ]
)

SENSOR_STRUCT = pa.struct(
    [
        _field("sensor_id", _STR),
        _field("location", _STR),
        _field("protocol", _STR),
        _field("fs_hz", _F64),
        _field("samples", _I64, "sample"),
        _field("lost_samples", _I64, "sample"),
        _field("lost_frames", _I64, "frame"),
        _field("skew_ppm", _F64),
    ]
)

SESSIONS = pa.schema(
    [
        *_ids(),
        _field("kind", _STR, description="recording | samples_table"),
        _field("source_sha256", _STR, description="SHA-256 of the input file"),
        _field("recorded_utc", _STR, description="ISO 8601 start of the recording"),
        _field("exported_utc", _STR),
        _field("software_version", _STR),
        _field("schema_version", _STR),
        _field("duration_s", _F64),
        _field("sensors", pa.list_(SENSOR_STRUCT)),
        _field("metadata_json", _STR),
        _field("calibration_json", _STR),
        _field("parameters_json", _STR),
        _field("summary_json", _STR),
        *[_field(f"strides_{s}", _I32, "stride") for s in ("left", "right")],
        *[_field(f"cadence_{s}_spm", _F32, "steps/min") for s in ("left", "right")],
        *[_field(f"stride_{s}_s", _F32) for s in ("left", "right")],
        *[_field(f"stance_{s}_pct", _F32) for s in ("left", "right")],
        *[_field(f"hyperext_{s}_status", _STR) for s in ("left", "right")],
        _field("hyperext_flagged_sides", _STR, description="comma separated"),
        _field("asymmetry_offloaded_side", _STR),
        _field("asymmetry_confidence", _STR),
        _field("warnings", pa.list_(_STR)),
    ]
)

SCHEMAS: dict[str, pa.Schema] = {
    "samples": SAMPLES,
    "knee": KNEE,
    "strides": STRIDES,
    "flags": FLAGS,
    "sessions": SESSIONS,
}

STRIDE_COLUMNS = tuple(n for n, _ in _STRIDE_COLUMNS)


def provenance(table: str, parameters: Mapping[str, Any]) -> dict[bytes, bytes]:
    """Schema metadata of one table file: schema version, table, software, parameters."""
    return {
        b"imugait.schema_version": SCHEMA_VERSION.encode(),
        b"imugait.table": table.encode(),
        b"imugait.software_version": __version__.encode(),
        b"imugait.parameters": json.dumps(parameters, sort_keys=True).encode(),
        b"imugait.layout": b"<table>/subject=<subject_id>/session=<session_id>/part-0.parquet",
    }


def with_provenance(table: str, parameters: Mapping[str, Any]) -> pa.Schema:
    """The schema of ``table`` with its provenance metadata attached."""
    return SCHEMAS[table].with_metadata(provenance(table, parameters))
