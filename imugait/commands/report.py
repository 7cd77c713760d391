"""Write a self-contained HTML report of one session (figures embedded, opens offline).

Verdicts in plain words, knee angle over the gait cycle per leg (mean and spread, stance
shaded, -5 deg hyperextension threshold, flagged strides), stride and stance times, asymmetry
indices with their CI against the thresholds, sensor health and the parameters used.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from imugait.errors import InputDataError


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", type=Path, help="recording (.imurec) or samples table (.csv/.parquet)")
    p.add_argument("--out", "-o", type=Path, required=True, help="report file (.html)")
    p.add_argument("--png", type=Path, metavar="DIR", help="also write each figure as PNG here")


def run(args: argparse.Namespace) -> int:
    from imugait.analyze import analyze_path
    from imugait.report import write_report

    inp: Path = args.input
    if not inp.is_file():
        raise InputDataError(f"{inp}: no such file")
    if args.out.is_dir():
        raise InputDataError(f"{args.out}: is a folder, expected a file name (REPORT.html)")
    paths = write_report(analyze_path(inp), args.out, png_dir=args.png)
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0
