"""Run a live session: stream BLE sensors, record every notification, analyse as you walk.

Sensors come from ``--config session.toml`` (see the README) or, with ``--backend sim``, from
emulated sensors worn by a simulated walker (``--scenario``), no hardware needed. The terminal
view shows each sensor (state, rate, loss, battery), each leg (strides, cadence, knee angle) and
flags as they happen; ``--no-ui`` prints plain lines instead. Ctrl-C ends the session cleanly;
the recording is closed and the session summary printed (the same as ``imugait analyze``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path
from typing import Any

from imugait.errors import ConfigError
from imugait.types import Side


def configure(p: argparse.ArgumentParser) -> None:
    from imugait.sim import PRESETS

    p.add_argument("--config", type=Path, help="session.toml (sensors, locations, subject)")
    p.add_argument(
        "--backend",
        default="auto",
        help="auto (the OS Bluetooth stack), sim (emulated sensors), "
        "bumble:<transport> (a dedicated USB dongle, e.g. bumble:usb:0)",
    )
    p.add_argument(
        "--scenario",
        default="healthy",
        choices=sorted(PRESETS),
        help="with --backend sim: what the simulated walker does",
    )
    p.add_argument("--rate", type=float, default=100.0, help="with --backend sim: sample rate, Hz")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument(
        "--out",
        "-o",
        type=Path,
        help="recording to write (default from the config, "
        "or recordings-live/<subject>-<scenario>-<time>.imurec with --backend sim)",
    )
    p.add_argument("--subject", default="S01", help="subject id (with --backend sim)")
    p.add_argument("--no-ui", action="store_true", help="plain log lines instead of the live view")
    p.add_argument(
        "--export",
        type=Path,
        metavar="DATASET",
        help="when the session ends, export it into this Parquet dataset",
    )
    p.add_argument(
        "--calibration",
        type=Path,
        help="knee calibration (CAL.json from `imugait calibrate`) for this mounting",
    )
    p.add_argument("--force", action="store_true", help="overwrite the recording if it exists")


def _sim_config(args: argparse.Namespace) -> tuple[Any, Any, dict[str, Any]]:
    from imugait.ble import sim_backend
    from imugait.sim import PRESETS, simulate
    from imugait.sim.record import pose_calibration

    dur = args.duration or 60.0
    sc = PRESETS[args.scenario].with_(duration_s=max(dur + 5.0, 20.0), fs_hz=args.rate)
    sim = simulate(sc)
    backend = sim_backend(simulation=sim)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = args.out or Path("recordings-live") / f"{args.subject}-{args.scenario}-{stamp}.imurec"
    # the simulated clinician measures the standing knee angle during the first seconds
    cal = pose_calibration(sim)
    return backend.session_config(subject_id=args.subject, out=out), backend, cal


def run(args: argparse.Namespace) -> int:
    from imugait.ble import load_config, make_backend

    cal: dict[str, Any] = {}
    if args.backend == "sim":
        config, backend, cal = _sim_config(args)
    else:
        if args.config is None:
            raise ConfigError("give --config session.toml (or --backend sim for a demo)")
        config = load_config(args.config)
        backend = make_backend(args.backend)
    if args.out is not None and args.backend != "sim":
        from dataclasses import replace

        config = replace(config, out=args.out)
    if config.out.exists() and not args.force:
        raise ConfigError(f"{config.out}: exists (use --force to overwrite)")
    if args.calibration is not None:
        import json

        try:
            cal = json.loads(args.calibration.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{args.calibration}: cannot read calibration: {exc}") from None
    return asyncio.run(_main(config, backend, args, cal))


async def _main(config: Any, backend: Any, args: argparse.Namespace, cal: dict[str, Any]) -> int:
    from imugait.ble import run_session
    from imugait.commands.live_view import LiveView
    from imugait.kinematics import knee_calibration_from_header
    from imugait.live import LiveAnalysis
    from imugait.pipeline import SensorSpec

    proc = LiveAnalysis(
        [SensorSpec(s.sensor_id, s.location, s.rate_hz) for s in config.sensors],
        calibration=knee_calibration_from_header(cal),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    view = LiveView(proc, plain=args.no_ui or not sys.stdout.isatty())
    async with backend:
        with view:
            result = await run_session(
                config,
                backend=backend,
                processor=proc,
                on_status=view.update,
                stop_event=stop,
                duration_s=args.duration,
                status_interval_s=0.25,
                overwrite=args.force,
                calibration=cal,
            )
    proc.finish()
    view.final(result)
    from imugait.analyze import analyze_path
    from imugait.commands.analyze import verdict_lines

    res = analyze_path(result.path)
    if args.export is not None:
        from imugait.export import export_path

        exported = export_path(result.path, args.export, analysis=res)
        print(
            f"exported subject {exported.subject_id} session {exported.session_id} "
            f"to {args.export} ({exported.rows.get('strides', 0)} strides)"
        )
    print(f"session summary ({result.path}):")
    for line in verdict_lines(res):
        print("  " + line)
    for side in Side:
        n = int((res.strides["side"] == side.value).sum())
        print(f"  {side}: {n} strides")
    return 0
