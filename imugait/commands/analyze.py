"""Analyse a session: strides and gait events per leg, knee angle, and the session summary.

INPUT is an imugait recording (``.imurec``) or a samples table (``.csv``/``.parquet``, see the
README). Writes ``strides.parquet``, ``knee.parquet`` and ``summary.json`` into ``--out``, and
prints a short per-side table and any warnings.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from imugait.analyze import SessionAnalysis
from imugait.errors import InputDataError


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", type=Path, help="recording (.imurec) or samples table (.csv/.parquet)")
    p.add_argument("--out", "-o", type=Path, required=True, help="output folder")
    p.add_argument(
        "--calibration",
        type=Path,
        help="knee calibration (CAL.json from `imugait calibrate`) for this sensor mounting",
    )


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from imugait.analyze import analyze_path, side_summary, write_outputs

    inp: Path = args.input
    if not inp.exists():
        raise InputDataError(f"{inp}: no such file")
    if inp.is_dir():
        raise InputDataError(f"{inp}: is a folder, expected a recording or a samples table")
    if args.out.exists() and not args.out.is_dir():
        raise InputDataError(f"{args.out}: exists and is not a folder")
    refs = None
    if args.calibration is not None:
        import json

        from imugait.kinematics import knee_calibration_from_header

        try:
            refs = knee_calibration_from_header(json.loads(args.calibration.read_text()))
        except (OSError, ValueError) as exc:
            raise InputDataError(f"{args.calibration}: cannot read calibration: {exc}") from None
    res = analyze_path(inp, calibration=refs)
    paths = write_outputs(res, args.out)
    console = Console(width=max(Console().width, 100))
    table = Table(title=f"{res.source}: strides per side")
    for col in ("side", "strides", "cadence (steps/min)", "stride (s)", "stance (%)"):
        table.add_column(col, justify="left" if col == "side" else "right", no_wrap=True)
    for side, s in side_summary(res.strides).items():
        n = int(s["strides"])
        table.add_row(
            side,
            str(n),
            f"{s['cadence_spm']:.1f}" if n else "-",
            f"{s['stride_s']:.3f}" if n else "-",
            f"{s['stance_pct']:.1f}" if n else "-",
        )
    console.print(table)
    for line in verdict_lines(res):
        console.print(line, markup=False, highlight=False)
    for w in res.warnings:
        print(f"imugait analyze: warning: {w}", file=sys.stderr)
    console.print(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0


def verdict_lines(res: SessionAnalysis) -> list[str]:
    """The session's verdicts in plain words (hyperextension per leg, asymmetry)."""
    lines: list[str] = []
    for side, leg in res.hyperextension.items():
        cal = (
            "" if leg.calibrated else " [knee angle uncalibrated: zero may be off by a few degrees]"
        )
        if leg.status == "insufficient_data":
            lines.append(
                f"{side} knee hyperextension: insufficient data ({leg.n_valid} valid strides){cal}"
            )
        elif leg.flagged and leg.pattern == "intermittent":
            lines.append(
                f"{side} knee HYPEREXTENSION in stance, intermittent ({leg.grade}, "
                f"{leg.severity}): {leg.n_positive}/{leg.n_valid} strides "
                f"({100 * leg.frac_positive:.0f}%, 95% CI {100 * leg.frac_ci_low:.0f}-"
                f"{100 * leg.frac_ci_high:.0f}%) below -{leg.threshold_deg:g} deg, their median minimum "
                f"{leg.median_positive_min_deg:.1f} deg; median stance minimum of all strides "
                f"{leg.median_min_deg:.1f} deg{cal}"
            )
        elif leg.flagged:
            lines.append(
                f"{side} knee HYPEREXTENSION in stance ({leg.grade}, {leg.severity}): median stance "
                f"minimum {leg.median_min_deg:.1f} deg (95% CI {leg.ci_low_deg:.1f} to "
                f"{leg.ci_high_deg:.1f}), {leg.n_positive}/{leg.n_valid} strides{cal}"
            )
        else:
            lines.append(
                f"{side} knee: no hyperextension (median stance minimum {leg.median_min_deg:.1f} "
                f"deg, {leg.n_positive}/{leg.n_valid} strides below -{leg.threshold_deg:g} deg){cal}"
            )
    a = res.asymmetry
    if a is not None:
        flagged = [m for m in a.metrics if m.flagged]
        if a.offloaded_side is not None:
            what = ", ".join(
                f"{m.metric.name} SI {m.si_pct:+.1f}% (CI {m.si_ci_low_pct:+.1f} to {m.si_ci_high_pct:+.1f})"
                for m in flagged
            )
            lines.append(
                f"ASYMMETRIC LOADING: {a.offloaded_side} side offloaded ({a.confidence} "
                f"confidence): {what}"
            )
        elif flagged:
            lines.append(f"asymmetry: metrics disagree on the side ({a.confidence})")
        else:
            lines.append("asymmetry: no asymmetric loading flagged")
    return lines
