"""Analyse and export many recordings in parallel (dask.distributed) into one dataset.

GLOB patterns (quote them; ``**`` recurses) select the inputs. A local cluster of ``--workers``
processes is started unless ``--scheduler`` names a running one (the dataset folder must then
be reachable from the workers). Sessions already in the dataset are skipped unless ``--force``.
A bad recording does not stop the others: failures are listed at the end, exit status 1.
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path

from imugait.errors import InputDataError


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("patterns", nargs="+", metavar="GLOB", help="input files or glob patterns")
    p.add_argument("--out", "-o", type=Path, required=True, help="dataset folder")
    p.add_argument("--scheduler", metavar="ADDRESS", help="dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--workers", type=int, default=2, help="local worker processes (default 2)")
    p.add_argument("--force", action="store_true", help="re-export sessions already exported")
    p.add_argument("--subject", help="subject id for every input (default: from each header)")
    p.add_argument("--no-samples", action="store_true", help="leave the samples tables empty")


def expand(patterns: list[str]) -> list[str]:
    """Files matching the patterns, sorted, each once."""
    out: list[str] = []
    for pat in patterns:
        hits = sorted(glob.glob(pat, recursive=True)) if glob.has_magic(pat) else [pat]
        out.extend(h for h in hits if not Path(h).is_dir())
    return list(dict.fromkeys(out))


def run(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from imugait.batch import BatchItem, run_batch

    if args.workers < 1 and args.scheduler is None:
        raise InputDataError("--workers must be at least 1")
    paths = expand(args.patterns)
    if not paths:
        raise InputDataError(f"no input matches {' '.join(args.patterns)}")
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
    ) as progress:
        task = progress.add_task("exporting", total=None)

        def on_start(n: int) -> None:
            progress.update(task, total=n)

        def on_item(item: BatchItem) -> None:
            progress.advance(task)

        report = run_batch(
            paths,
            args.out,
            scheduler=args.scheduler,
            n_workers=args.workers,
            force=args.force,
            subject_id=args.subject,
            include_samples=not args.no_samples,
            on_item=on_item,
            on_start=on_start,
        )
    n = {s: len(report.of(s)) for s in ("exported", "skipped", "failed")}
    print(
        f"{n['exported']} exported, {n['skipped']} skipped (already exported), {n['failed']} failed"
    )
    for it in report.of("failed"):
        print(f"imugait batch: failed: {Path(it.path).name}: {it.message}", file=sys.stderr)
    return 0 if report.ok else 1
