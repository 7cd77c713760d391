"""Analyst outputs: the Parquet dataset (``imugait export``/``batch``) and BIDS-motion.

Layout and schemas: :mod:`imugait.export.schema`. A live session calls
:func:`export_session` when it ends; files go through :func:`export_path`.
"""

from __future__ import annotations

from .bids import bids_label, export_bids
from .dataset import (
    ExportedSession,
    dataset_info,
    ensure_dataset,
    export_path,
    export_session,
    is_exported,
    read_table,
    session_ids,
    session_samples,
)
from .schema import MARKER_NAME, SCHEMA_VERSION, SCHEMAS, TABLES, validate_id
from .tables import SessionIds, analysis_parameters

__all__ = [
    "MARKER_NAME",
    "SCHEMAS",
    "SCHEMA_VERSION",
    "TABLES",
    "ExportedSession",
    "SessionIds",
    "analysis_parameters",
    "bids_label",
    "dataset_info",
    "ensure_dataset",
    "export_bids",
    "export_path",
    "export_session",
    "is_exported",
    "read_table",
    "session_ids",
    "session_samples",
    "validate_id",
]
