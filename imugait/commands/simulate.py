"""Simulate a walking session with exact ground truth and write it as a raw recording.

Starts from a named preset (``--scenario``) and lets the common parameters be overridden.
Writes ``OUT`` (a recording in the reference protocol, through the real encoder) and
``OUT``'s ground truth beside it as ``NAME.truth.json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from imugait.errors import ConfigError, RecordingError
from imugait.types import Location, Side

_LEGS6 = tuple(Location)


def configure(p: argparse.ArgumentParser) -> None:
    from imugait.sim import PRESETS

    p.add_argument("--out", "-o", type=Path, required=True, help="recording to write (.imurec)")
    p.add_argument(
        "--scenario", default="healthy", choices=sorted(PRESETS), help="preset to start from"
    )
    p.add_argument("--duration", type=float, help="session length, s")
    p.add_argument("--seed", type=int, help="random seed (same seed, same session)")
    p.add_argument("--speed", dest="speed_m_s", type=float, help="walking speed, m/s")
    p.add_argument("--height", dest="height_m", type=float, help="subject height, m")
    p.add_argument("--rate", dest="fs_hz", type=float, help="sensor sample rate, Hz")
    p.add_argument("--feet", action="store_true", help="also wear sensors on both feet")
    p.add_argument(
        "--mounting-error",
        dest="mounting_error_deg",
        type=float,
        help="random sensor mounting error, degrees per axis",
    )
    p.add_argument(
        "--hyperextension",
        dest="hx_deg",
        type=float,
        help="knee hyperextension in stance, degrees beyond 0",
    )
    p.add_argument("--hyperextension-side", dest="hx_side", choices=[s.value for s in Side])
    p.add_argument(
        "--hyperextension-fraction",
        dest="hx_frac",
        type=float,
        help="fraction of strides affected (0-1)",
    )
    p.add_argument(
        "--packet-loss",
        dest="packet_loss_prob",
        type=float,
        help="fraction of BLE frames lost (0-1)",
    )
    p.add_argument(
        "--drift-ppm", dest="clock_drift_ppm", type=float, help="sensor clock drift spread, ppm"
    )
    p.add_argument("--mtu", type=int, default=59, help="ATT MTU (sets samples per notification)")
    p.add_argument("--force", action="store_true", help="overwrite OUT if it exists")


_FIELDS = (
    "duration_s",
    "seed",
    "speed_m_s",
    "height_m",
    "fs_hz",
    "mounting_error_deg",
    "hx_deg",
    "hx_side",
    "hx_frac",
    "packet_loss_prob",
    "clock_drift_ppm",
)


def scenario_from_args(args: argparse.Namespace) -> Any:
    """The preset named by ``args.scenario`` with the given overrides applied."""
    from imugait.sim import PRESETS

    changes: dict[str, Any] = {}
    if args.duration is not None:
        changes["duration_s"] = args.duration
    for name in _FIELDS[1:]:
        v = getattr(args, name, None)
        if v is not None:
            changes[name] = Side(v) if name == "hx_side" else v
    if args.feet:
        changes["locations"] = _LEGS6
    try:
        return PRESETS[args.scenario].with_(**changes)
    except ValueError as exc:
        raise ConfigError(f"invalid simulation parameters: {exc}") from None


def run(args: argparse.Namespace) -> int:
    from imugait.sim import simulate
    from imugait.sim.record import truth_path, write_simulation

    out: Path = args.out
    if out.exists() and not args.force:
        raise RecordingError(f"{out}: exists (use --force to overwrite)")
    if not out.parent.exists():
        raise RecordingError(f"{out}: folder {out.parent} does not exist")
    sc = scenario_from_args(args)
    sim = simulate(sc)
    stats = write_simulation(sim, out, att_mtu=args.mtu, overwrite=args.force)
    lost = sum(s.frames_lost for s in stats)
    sent = sum(s.frames_sent for s in stats)
    print(
        f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB): {len(stats)} sensors, "
        f"{sc.duration_s:.0f} s, {sent - lost} of {sent} frames delivered"
    )
    print(f"ground truth: {truth_path(out)}")
    return 0
