"""Export sessions into a Parquet dataset (DuckDB/Polars/pandas-ready) or as BIDS-motion.

Each INPUT (recording ``.imurec`` or samples table ``.csv``/``.parquet``) is analysed and
written to ``--out``. Parquet layout: ``<table>/subject=<id>/session=<id>/part-0.parquet`` for
the tables samples, knee, strides, flags and sessions (zstd; units in the field metadata).
Re-exporting a session replaces it. Ids default to the recording header's; they must match
``[A-Za-z0-9_-]{1,64}``. Only the subject id is stored: no file names, paths, user or host
names. ``--format bids`` writes ``sub-<id>/ses-<id>/motion/`` files instead.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from imugait.errors import InputDataError


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "inputs", nargs="+", type=Path, metavar="INPUT", help="recordings or samples tables"
    )
    p.add_argument("--out", "-o", type=Path, required=True, help="dataset folder")
    p.add_argument("--subject", help="subject id (default: the recording header's)")
    p.add_argument("--session", help="session id (default: header's or file stem; one INPUT only)")
    p.add_argument("--format", choices=("parquet", "bids"), default="parquet", help="output format")
    p.add_argument(
        "--no-samples", action="store_true", help="leave the samples table empty (parquet)"
    )


def run(args: argparse.Namespace) -> int:
    from imugait.analyze import analyze_path
    from imugait.export import export_bids, export_path, session_ids, session_samples

    inputs: list[Path] = args.inputs
    if args.session is not None and len(inputs) > 1:
        raise InputDataError("--session needs exactly one INPUT")
    for inp in inputs:
        if not inp.is_file():
            raise InputDataError(f"{inp}: no such file")
    for inp in inputs:
        if args.format == "bids":
            ids, header = session_ids(inp, subject_id=args.subject, session_id=args.session)
            files = export_bids(
                analyze_path(inp),
                args.out,
                subject_id=ids.subject_id,
                session_id=ids.session_id,
                samples=session_samples(inp),
                header=header,
            )
            print(f"{inp.name}: wrote {files['motion'].parent}")
            continue
        e = export_path(
            inp,
            args.out,
            subject_id=args.subject,
            session_id=args.session,
            include_samples=not args.no_samples,
        )
        rows = ", ".join(f"{k} {v}" for k, v in e.rows.items())
        print(f"{inp.name}: subject {e.subject_id} session {e.session_id}: {rows}")
        for note in e.notes:
            print(f"  note: {note}")
    print(f"dataset: {args.out}")
    return 0
