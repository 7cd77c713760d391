"""List nearby supported sensors: name, address, RSSI and protocol."""

from __future__ import annotations

import argparse
import asyncio


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", default="auto", help="auto, sim or bumble:<transport>")
    p.add_argument("--timeout", type=float, default=5.0, help="scan time, s")


async def _scan(backend_spec: str, timeout_s: float) -> list[object]:
    from imugait.ble import make_backend, scan_sensors

    backend = make_backend(backend_spec)
    async with backend:
        return list(await scan_sensors(backend=backend, timeout_s=timeout_s))


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    found = asyncio.run(_scan(args.backend, args.timeout))
    table = Table(title=f"supported sensors ({len(found)})")
    for c in ("name", "address", "RSSI", "protocol"):
        table.add_column(c)
    for f in found:
        table.add_row(str(f.name), f.address, str(f.rssi), f.protocol)  # type: ignore[attr-defined]
    Console().print(table)
    return 0
