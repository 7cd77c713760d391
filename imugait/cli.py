"""``imugait`` command line: parses arguments and dispatches to ``imugait.commands``.

Every user mistake (``ImugaitError``) becomes one clear line on stderr and exit status 2;
Ctrl-C exits with 130. Tracebacks are reserved for bugs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from imugait import __version__
from imugait.errors import ImugaitError

Handler = Callable[[argparse.Namespace], int]


def _add_simulate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from imugait.commands import simulate

    p = sub.add_parser(
        "simulate",
        help="simulate a walking session: raw recording + exact ground truth",
        description=simulate.__doc__,
    )
    simulate.configure(p)
    p.set_defaults(handler=simulate.run)


def _add_replay(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from imugait.commands import replay

    p = sub.add_parser(
        "replay",
        help="decode a recording through the live decoders and report what it holds",
        description=replay.__doc__,
    )
    replay.configure(p)
    p.set_defaults(handler=replay.run)


def _add_analyze(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from imugait.commands import analyze

    p = sub.add_parser(
        "analyze",
        help="strides, gait events and knee angle of a recording or samples table",
        description=analyze.__doc__,
    )
    analyze.configure(p)
    p.set_defaults(handler=analyze.run)


def _add_live(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from imugait.commands import live

    p = sub.add_parser(
        "live",
        help="live session: stream sensors, record, analyse as you walk",
        description=live.__doc__,
    )
    live.configure(p)
    p.set_defaults(handler=live.run)


def _add_scan(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from imugait.commands import scan

    p = sub.add_parser("scan", help="list nearby supported sensors", description=scan.__doc__)
    scan.configure(p)
    p.set_defaults(handler=scan.run)


def _simple(
    name: str, help_text: str
) -> Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]:
    """A subcommand whose module in ``imugait.commands`` has ``configure`` and ``run``."""

    def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        import importlib

        mod = importlib.import_module(f"imugait.commands.{name}")
        p = sub.add_parser(name, help=help_text, description=mod.__doc__)
        mod.configure(p)
        p.set_defaults(handler=mod.run)

    return add


_COMMANDS: list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = [
    _add_simulate,
    _add_replay,
    _add_analyze,
    _add_live,
    _add_scan,
    _simple("calibrate", "knee-angle calibration from a goniometer-measured static pose"),
    _simple(
        "export",
        "export sessions as a Parquet dataset (DuckDB/Polars/pandas-ready) or BIDS-motion",
    ),
    _simple(
        "report", "self-contained HTML report of one session (figures embedded, opens offline)"
    ),
    _simple("batch", "analyse and export many recordings in parallel (dask) into one dataset"),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imugait",
        description="Wearable-IMU gait analysis: strides, knee hyperextension, asymmetric loading.",
    )
    parser.add_argument("--version", action="version", version=f"imugait {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in _COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return handler(args)
    except ImugaitError as exc:
        print(f"imugait {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"imugait {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
