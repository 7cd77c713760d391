"""Decode a recording through the live decoders and report what each sensor delivered.

Prints, per sensor: samples, frames, lost frames (from the sequence counters), measured
sample rate on the session clock, gaps, and undecodable notifications; then anything in the
file that was not intact. ``--speed 1`` paces the replay at real time (the live code path,
one notification at a time); the default decodes as fast as possible.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from imugait.ingest.recording import Recording, read_recording
from imugait.ingest.replay import decode_recording, iter_paced, nominal_fs_hz
from imugait.signal import SensorClock, find_gaps
from imugait.types import FrameBatch, SampleBlock


@dataclass(frozen=True, slots=True)
class SensorReport:
    """What one sensor delivered in a replay."""

    sensor: str
    location: str
    protocol: str
    nominal_hz: float
    notifications: int
    bad_notifications: int
    frames: int
    samples: int
    lost_frames: int
    lost_samples: int
    rate_hz: float
    gaps: int
    gap_s: float
    first_t_s: float
    last_t_s: float


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("recording", type=Path, help="an imugait recording (.imurec)")
    p.add_argument(
        "--speed",
        type=float,
        default=None,
        help="pace at this multiple of real time (1 = real time); default: as fast as possible",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def _summarise(
    rec: Recording,
    sensor_id: str,
    blocks: list[SampleBlock],
    clock: SensorClock,
    n_bad: int,
    n_notes: int,
) -> SensorReport:
    entry = rec.header.sensor(sensor_id)
    st = clock.stats
    gaps = find_gaps(blocks)
    if blocks:
        t0, t1 = float(blocks[0].t_s[0]), float(blocks[-1].t_s[-1])
        span_samples = blocks[-1].first_seq + blocks[-1].n - 1 - blocks[0].first_seq
        rate = span_samples / (t1 - t0) if t1 > t0 else float("nan")
    else:
        t0 = t1 = rate = float("nan")
    return SensorReport(
        sensor=sensor_id,
        location=entry.location.value,
        protocol=entry.protocol,
        nominal_hz=nominal_fs_hz(entry, float("nan")),
        notifications=n_notes,
        bad_notifications=n_bad,
        frames=st.frames,
        samples=st.samples,
        lost_frames=st.lost_frames,
        lost_samples=st.lost_samples,
        rate_hz=rate,
        gaps=len(gaps),
        gap_s=sum(g.end_s - g.start_s for g in gaps),
        first_t_s=t0,
        last_t_s=t1,
    )


def _clock_for(rec: Recording, sensor_id: str) -> SensorClock:
    entry = rec.header.sensor(sensor_id)
    return SensorClock(sensor=sensor_id, location=entry.location, fs_hz=nominal_fs_hz(entry, 100.0))


def replay_report(
    path: Path, *, speed: float | None = None
) -> tuple[list[SensorReport], list[str]]:
    """Replay ``path`` and return per-sensor reports and the problems found."""
    rec = read_recording(path)
    problems = list(rec.problems)
    reports: list[SensorReport] = []
    if speed is None:
        for sid, dec in decode_recording(rec).items():
            clock = _clock_for(rec, sid)
            blocks = [*clock.push(dec.batch), *clock.flush()]
            reports.append(
                _summarise(rec, sid, blocks, clock, dec.bad_notifications, dec.notifications)
            )
            problems.extend(dec.problems)
        return reports, problems
    clocks = {sid: _clock_for(rec, sid) for sid in rec.header.sensor_ids}
    blocks_by: dict[str, list[SampleBlock]] = {sid: [] for sid in clocks}
    bad = dict.fromkeys(clocks, 0)
    notes = dict.fromkeys(clocks, 0)
    for item in iter_paced(rec, speed=speed):
        notes[item.sensor_id] += 1
        if item.frame is None:
            bad[item.sensor_id] += 1
            continue
        batch = FrameBatch.from_frames([item.session_t_s], [item.frame])
        blocks_by[item.sensor_id].extend(clocks[item.sensor_id].push(batch))
    for sid, clock in clocks.items():
        blocks_by[sid].extend(clock.flush())
        reports.append(_summarise(rec, sid, blocks_by[sid], clock, bad[sid], notes[sid]))
        if bad[sid]:
            problems.append(f"sensor {sid}: {bad[sid]} notification(s) failed to decode")
    return reports, problems


def run(args: argparse.Namespace) -> int:
    reports, problems = replay_report(args.recording, speed=args.speed)
    if args.json:
        out = {
            "recording": args.recording.name,
            "sensors": [asdict(r) for r in reports],
            "problems": problems,
        }
        json.dump(out, sys.stdout, indent=2, default=float)
        print()
        return 1 if problems else 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"replay of {args.recording.name}", expand=False)
    for col in (
        "sensor",
        "location",
        "samples",
        "frames",
        "lost frames",
        "rate Hz",
        "gaps",
        "gap s",
        "bad",
    ):
        table.add_column(
            col, justify="left" if col in ("sensor", "location") else "right", no_wrap=True
        )
    for r in reports:
        table.add_row(
            r.sensor,
            r.location,
            str(r.samples),
            str(r.frames),
            str(r.lost_frames),
            f"{r.rate_hz:.2f}" if np.isfinite(r.rate_hz) else "-",
            str(r.gaps),
            f"{r.gap_s:.2f}",
            str(r.bad_notifications),
        )
    console = Console(width=max(Console().width, 110))
    console.print(table)
    for p in problems:
        print(f"imugait replay: warning: {p}", file=sys.stderr)
    # Data that is not intact is reported and is a non-zero exit, though what is intact is shown.
    return 1 if problems else 0
