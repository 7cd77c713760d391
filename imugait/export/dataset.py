"""Write sessions into an imugait Parquet dataset (layout in :mod:`imugait.export.schema`).

Each table of a session is one zstd-compressed file, written to a hidden temporary name in its
partition folder and renamed into place (``os.replace``), so readers never see half a file.
The ``sessions`` row is removed first and written last: a session is complete exactly when its
``sessions`` file exists, and re-exporting a session replaces all its files (no duplicate
rows). The dataset root holds a marker (``imugait_dataset.json``) with the schema version; a
dataset of another version, or a non-empty folder without the marker, is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from imugait import __version__
from imugait.analyze import SessionAnalysis, analyze_path, is_samples_table
from imugait.errors import ImugaitError, InputDataError
from imugait.export.schema import MARKER_NAME, SCHEMA_VERSION, TABLES, validate_id
from imugait.export.tables import (
    SessionIds,
    analysis_parameters,
    flags_table,
    knee_table,
    samples_table,
    sessions_table,
    strides_table,
)
from imugait.ingest.recording import read_recording
from imugait.ingest.recording_reader import read_header
from imugait.ingest.recording_types import RecordingHeader
from imugait.ingest.replay import decode_recording
from imugait.ingest.samples_table import load_samples_table
from imugait.signal import SensorClock
from imugait.types import SampleBlock

PART_NAME = "part-0.parquet"
#: zstd level 3 (zstd's default). Measured on lossy_drift samples: 21.4 B/sample; level 9 saves
#: about 6 % at 3.5x the write time, byte-stream-split floats about 1 %.
ZSTD_LEVEL = 3


@dataclass(frozen=True, slots=True)
class ExportedSession:
    """What :func:`export_session` wrote: files and row counts per table, and notes."""

    subject_id: str
    session_id: str
    files: dict[str, Path]
    rows: dict[str, int]
    notes: list[str] = field(default_factory=list)


def ensure_dataset(dataset_dir: str | os.PathLike[str]) -> Path:
    """Create the dataset folder and marker, or check an existing one's schema version."""
    root = Path(dataset_dir)
    marker = root / MARKER_NAME
    if root.exists() and not root.is_dir():
        raise ImugaitError(f"dataset {root}: exists and is not a folder")
    if marker.is_file():
        try:
            info = json.loads(marker.read_text(encoding="utf-8"))
            version = str(info["schema_version"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ImugaitError(f"dataset {root}: unreadable {MARKER_NAME}: {e}") from e
        if version != SCHEMA_VERSION:
            raise ImugaitError(
                f"dataset {root} has schema version {version}, this imugait writes version "
                f"{SCHEMA_VERSION}: export into a new folder (or convert the old dataset)"
            )
        return root
    if root.is_dir() and any(root.iterdir()):
        raise ImugaitError(
            f"dataset {root}: folder is not empty and is not an imugait dataset "
            f"(no {MARKER_NAME}); choose an empty or new folder"
        )
    root.mkdir(parents=True, exist_ok=True)
    body = {
        "format": "imugait-dataset",
        "schema_version": SCHEMA_VERSION,
        "created_by": f"imugait {__version__}",
        "tables": list(TABLES),
        "layout": "<table>/subject=<subject_id>/session=<session_id>/part-0.parquet",
    }
    tmp = root / f".{MARKER_NAME}.{uuid.uuid4().hex}.tmp"
    tmp.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, marker)
    return root


def partition_dir(root: Path, table: str, subject_id: str, session_id: str) -> Path:
    """The folder of one table of one session (ids validated: never outside ``root``)."""
    validate_id(subject_id, what="subject id")
    validate_id(session_id, what="session id")
    return root / table / f"subject={subject_id}" / f"session={session_id}"


def is_exported(dataset_dir: str | os.PathLike[str], subject_id: str, session_id: str) -> bool:
    """True when the session's ``sessions`` file exists (the session is complete)."""
    d = partition_dir(Path(dataset_dir), "sessions", subject_id, session_id)
    return (d / PART_NAME).is_file()


def _write(table: pa.Table, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{PART_NAME}.{uuid.uuid4().hex}.tmp"
    try:
        pq.write_table(
            table,
            tmp,
            compression="zstd",
            compression_level=ZSTD_LEVEL,
            row_group_size=1 << 20,
        )
        os.replace(tmp, folder / PART_NAME)
    finally:
        tmp.unlink(missing_ok=True)
    for other in folder.iterdir():  # parts of an older layout/export: stale
        if other.name != PART_NAME and other.suffix == ".parquet":
            other.unlink()
    return folder / PART_NAME


def export_session(
    analysis: SessionAnalysis,
    dataset_dir: str | os.PathLike[str],
    *,
    subject_id: str,
    session_id: str,
    samples: Sequence[SampleBlock] | None = None,
    header: RecordingHeader | None = None,
    source_sha256: str | None = None,
    redact: Sequence[str] = (),
) -> ExportedSession:
    """Write one analysed session into the dataset, replacing an earlier export of it.

    Parameters
    ----------
    analysis
        The session's analysis (``analyze_path`` or a live session's end result).
    dataset_dir
        Dataset root (created with its marker if missing).
    subject_id, session_id
        Ids of the session (``^[A-Za-z0-9_-]{1,64}$``). Only this subject id is stored.
    samples
        Session-clock sample blocks (``GaitPipeline(keep_samples=True)``); ``None`` writes an
        empty ``samples`` table.
    header
        The recording header (metadata, calibration, protocols, start time), if any.
    source_sha256
        Hash of the input file, stored as provenance instead of its name.
    redact
        Strings (e.g. the input file name) removed from stored warnings and metadata.
    """
    ids = SessionIds(
        validate_id(subject_id, what="subject id"), validate_id(session_id, what="session id")
    )
    root = ensure_dataset(dataset_dir)
    params = analysis_parameters()
    redact = [analysis.source, *redact]
    if header is not None and header.subject_id and header.subject_id != subject_id:
        redact.append(header.subject_id)  # the recording's own subject id is not exported
    st_table, dropped = strides_table(analysis.strides, ids, params)
    samp = samples_table(samples or [], ids, params)
    t = samp.column("t_s")
    duration = float(pc.max(t).as_py() - pc.min(t).as_py()) if len(t) else None
    tables = {
        "samples": samp,
        "knee": knee_table(analysis.knee, ids, params),
        "strides": st_table,
        "flags": flags_table(analysis, ids, params),
        "sessions": sessions_table(
            analysis,
            ids,
            params,
            header=header,
            source_sha256=source_sha256,
            duration_s=duration,
            redact=redact,
        ),
    }
    done = partition_dir(root, "sessions", ids.subject_id, ids.session_id) / PART_NAME
    done.unlink(missing_ok=True)  # un-commit first: a crash below leaves "not exported"
    files = {
        name: _write(tab, partition_dir(root, name, ids.subject_id, ids.session_id))
        for name, tab in tables.items()  # "sessions" is last
    }
    notes = [f"strides: column {c!r} is not in schema {SCHEMA_VERSION}, dropped" for c in dropped]
    if samples is None:
        notes.append("no samples given: the samples table of this session is empty")
    return ExportedSession(
        subject_id=ids.subject_id,
        session_id=ids.session_id,
        files=files,
        rows={name: tab.num_rows for name, tab in tables.items()},
        notes=notes,
    )


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def session_samples(path: str | os.PathLike[str]) -> list[SampleBlock]:
    """The session-clock sample blocks of a recording or samples table.

    For a recording this runs the same decoders and :class:`~imugait.signal.SensorClock` as
    ``GaitPipeline(keep_samples=True)`` (so the blocks are the ones the analysis saw).
    """
    p = Path(path)
    if is_samples_table(p):
        return [b for bl in load_samples_table(p).blocks.values() for b in bl]
    out: list[SampleBlock] = []
    for sid, d in decode_recording(read_recording(p)).items():
        clock = SensorClock(sensor=sid, location=d.entry.location, fs_hz=d.nominal_fs_hz)
        out.extend(clock.push(d.batch))
        out.extend(clock.flush())
    return out


def session_ids(
    path: str | os.PathLike[str], *, subject_id: str | None = None, session_id: str | None = None
) -> tuple[SessionIds, RecordingHeader | None]:
    """Ids of the session in ``path``: the given ones, else the recording header's (a samples
    table has no header: its session id defaults to the file stem, the subject must be given)."""
    p = Path(path)
    header = None if is_samples_table(p) else read_header(p)
    subj = subject_id if subject_id is not None else (header.subject_id if header else None)
    if not subj:
        raise InputDataError(f"{p.name}: no subject id in the input; give one (--subject)")
    if session_id is not None:
        sess = session_id
    elif header is not None and header.session_id:
        sess = header.session_id
    else:
        sess = p.name.split(".")[0]
    return (
        SessionIds(validate_id(subj, what="subject id"), validate_id(sess, what="session id")),
        header,
    )


def export_path(
    path: str | os.PathLike[str],
    dataset_dir: str | os.PathLike[str],
    *,
    subject_id: str | None = None,
    session_id: str | None = None,
    include_samples: bool = True,
    analysis: SessionAnalysis | None = None,
) -> ExportedSession:
    """Analyse (unless ``analysis`` is given) and export one input file into the dataset."""
    p = Path(path)
    if not p.is_file():
        raise InputDataError(f"{p}: no such file")
    ids, header = session_ids(p, subject_id=subject_id, session_id=session_id)
    ensure_dataset(dataset_dir)
    res = analysis if analysis is not None else analyze_path(p)
    samples = session_samples(p) if include_samples else None
    return export_session(
        res,
        dataset_dir,
        subject_id=ids.subject_id,
        session_id=ids.session_id,
        samples=samples,
        header=header,
        source_sha256=file_sha256(p),
        redact=[p.name, str(p), str(p.resolve())],
    )


def read_table(dataset_dir: str | os.PathLike[str], table: str) -> pa.Table:
    """Read one table of a dataset (all sessions) with pyarrow; partition keys become columns
    ``subject`` and ``session``."""
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; one of {', '.join(TABLES)}")
    import pyarrow.dataset as ds

    d = Path(dataset_dir) / table
    if not d.is_dir():
        raise ImugaitError(f"dataset {dataset_dir}: no {table} table")
    part = ds.partitioning(
        pa.schema([("subject", pa.string()), ("session", pa.string())]), flavor="hive"
    )
    return ds.dataset(d, format="parquet", partitioning=part).to_table()


def dataset_info(dataset_dir: str | os.PathLike[str]) -> Mapping[str, Any]:
    """The dataset marker's content."""
    marker = Path(dataset_dir) / MARKER_NAME
    out: dict[str, Any] = json.loads(marker.read_text(encoding="utf-8"))
    return out
