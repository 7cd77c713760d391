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
    _simple("simulate", "simulate a walking session: raw recording + exact ground truth"),
    _simple("replay", "decode a recording through the live decoders and report what it holds"),
    _simple("analyze", "strides, events, knee angle, hyperextension and asymmetry of a session"),
    _simple("live", "live session: stream sensors, record, analyse as you walk"),
    _simple("scan", "list nearby supported sensors"),
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
