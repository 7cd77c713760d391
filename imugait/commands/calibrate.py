"""Calibrate the knee angle from a recording with a goniometer-measured static pose.

The IMU knee angle needs a zero reference: without one, its zero is off by the sensors'
placement (a few degrees), too much for a 5-degree hyperextension threshold.

Clinician procedure (sensors strapped as they will be worn; do not re-strap afterwards):

1. Start the recording. Have the patient stand still, weight on both legs, for at least
   3 s. During this time measure each knee's angle with a goniometer (flexion positive,
   hyperextension negative: a knee standing in 8 degrees of recurvatum is -8). Do not
   correct the posture: a patient who stands hyperextended is measured as he stands.
2. Note the start and end of the still period on the session clock (seconds from the start
   of the recording, as in ``knee.parquet``); leave 0.5 s margin on each side.
3. Have the patient walk at least 10 strides (or do several knee flexions while the thigh
   also moves, e.g. sit-to-stand): this identifies each knee's axis and centre.
4. Run ``imugait calibrate REC --pose START-END --angle DEG --out CAL.json`` (one angle for
   every leg, or ``--angle left=DEG,right=DEG``).

The command identifies each knee from the whole recording (Seel, Raisch & Schauer 2014,
*Sensors* 14:6891) and sets its zero so that the pose reads the goniometer angle
(``imugait.kinematics.calibration``). ``CAL.json`` holds one complete calibration per leg in
the layout of a recording header's ``calibration`` field (``imugait.kinematics.reference``);
it is valid for recordings with the same sensor mounting only (same session, sensors not
re-strapped). A goniometer's 2-5 degree error enters the zero one to one.

Errors: the pose window not covered by the data, the leg not still in it, too little
movement to identify the knee, or a leg without both thigh and shank sensors.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from imugait.errors import InputDataError
from imugait.kinematics import KneeCalibration, calibrate, knee_calibration_to_header
from imugait.signal import Resampler, SensorClock
from imugait.types import Location, SampleBlock, Segment, Side

#: Help line for ``imugait --help`` (the lead wires it into cli.py).
HELP = "knee-angle calibration from a goniometer-measured static pose in a recording"

_NUM = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", type=Path, help="recording (.imurec) or samples table (.csv/.parquet)")
    p.add_argument(
        "--pose",
        required=True,
        type=parse_pose_window,
        metavar="START-END",
        help="still pose window, session seconds (e.g. 0.5-3.5)",
    )
    p.add_argument(
        "--angle",
        required=True,
        metavar="DEG",
        help="goniometer knee angle in the pose, degrees (flexion +, hyperextension -); "
        "one value for every leg or left=DEG,right=DEG",
    )
    p.add_argument("--side", choices=["left", "right", "both"], default="both")
    p.add_argument("--out", "-o", type=Path, required=True, help="calibration file to write")


def parse_pose_window(text: str) -> tuple[float, float]:
    """``"START-END"`` (seconds) -> ``(start, end)``; ``argparse.ArgumentTypeError`` if bad."""
    m = re.fullmatch(rf"\s*({_NUM})\s*-\s*({_NUM})\s*", text)
    if m is None:
        raise argparse.ArgumentTypeError(f"expected START-END in seconds, got {text!r}")
    a, b = float(m.group(1)), float(m.group(2))
    if not b > a:
        raise argparse.ArgumentTypeError(f"pose END must be after START, got {text!r}")
    return a, b


def parse_angles(text: str, sides: list[Side]) -> dict[Side, float]:
    """``"2"`` or ``"left=2,right=-8"`` -> angle per requested side (``InputDataError``)."""
    if re.fullmatch(rf"\s*{_NUM}\s*", text):
        return dict.fromkeys(sides, float(text))
    out: dict[Side, float] = {}
    for part in text.split(","):
        m = re.fullmatch(rf"\s*(left|right)\s*=\s*({_NUM})\s*", part)
        if m is None:
            raise InputDataError(f"--angle: expected DEG or left=DEG,right=DEG, got {text!r}")
        out[Side(m.group(1))] = float(m.group(2))
    missing = [s.value for s in sides if s not in out]
    if missing:
        raise InputDataError(f"--angle: no angle given for the {', '.join(missing)} leg")
    return {s: out[s] for s in sides}


def session_blocks(path: Path) -> dict[Location, list[SampleBlock]]:
    """Per body location, the sensor's samples on the session clock (as ``imugait analyze``)."""
    from imugait.analyze import is_samples_table

    out: dict[Location, list[SampleBlock]] = {}
    if is_samples_table(path):
        from imugait.ingest.samples_table import load_samples_table

        table = load_samples_table(path)
        for blocks in table.blocks.values():
            if blocks:
                out[blocks[0].location] = list(blocks)
        return out
    from imugait.ingest.recording import read_recording
    from imugait.ingest.replay import decode_recording

    for sid, d in decode_recording(read_recording(path)).items():
        clock = SensorClock(sensor=sid, location=d.entry.location, fs_hz=d.nominal_fs_hz)
        out[d.entry.location] = clock.push(d.batch) + clock.flush()
    return out


def leg_blocks(
    blocks: dict[Location, list[SampleBlock]], side: Side
) -> tuple[SampleBlock, SampleBlock]:
    """The leg's thigh and shank samples aligned on one grid (the pipeline's ``Resampler``)."""
    th = blocks.get(Location.of(side, Segment.THIGH))
    sh = blocks.get(Location.of(side, Segment.SHANK))
    if not th or not sh:
        have = ", ".join(sorted(loc.value for loc in blocks)) or "none"
        raise InputDataError(
            f"the {side} leg needs a thigh and a shank sensor for the knee angle (sensors: {have})"
        )
    rs = Resampler(sensors=[th[0].sensor, sh[0].sensor])
    aligned = [a for b in (*th, *sh) for a in rs.push(b)] + rs.flush()
    parts = {
        sid: [a for a in aligned if a.sensor == sid and a.n] for sid in (th[0].sensor, sh[0].sensor)
    }
    if not all(parts.values()):
        raise InputDataError(f"the {side} thigh and shank sensors do not overlap in time")
    t_blk, s_blk = (SampleBlock.concat(parts[s]) for s in (th[0].sensor, sh[0].sensor))
    return t_blk, s_blk


def calibrate_session(
    path: Path, *, pose_window_s: tuple[float, float], angles_deg: dict[Side, float]
) -> tuple[dict[Side, KneeCalibration], dict[str, dict[str, str]], list[str]]:
    """Calibrations per leg, the sensor ids per leg and warnings for missing legs."""
    blocks = session_blocks(path)
    cals: dict[Side, KneeCalibration] = {}
    sensors: dict[str, dict[str, str]] = {}
    warnings: list[str] = []
    for side, angle in angles_deg.items():
        try:
            thigh, shank = leg_blocks(blocks, side)
        except InputDataError as e:
            if len(angles_deg) > 1:  # --side both: calibrate the legs that have sensors
                warnings.append(str(e))
                continue
            raise
        try:
            cals[side] = calibrate(thigh, shank, pose_window_s=pose_window_s, known_angle_deg=angle)
        except InputDataError as e:
            raise InputDataError(f"{side} leg: {e}") from e
        sensors[side.value] = {"thigh_sensor": thigh.sensor, "shank_sensor": shank.sensor}
    if not cals:
        raise InputDataError("; ".join(warnings) or "no leg to calibrate")
    return cals, sensors, warnings


def run(args: argparse.Namespace) -> int:
    inp: Path = args.input
    if not inp.exists():
        raise InputDataError(f"{inp}: no such file")
    if inp.is_dir():
        raise InputDataError(f"{inp}: is a folder, expected a recording or a samples table")
    sides = list(Side) if args.side == "both" else [Side(args.side)]
    angles = parse_angles(args.angle, sides)
    cals, sensors, warnings = calibrate_session(inp, pose_window_s=args.pose, angles_deg=angles)
    doc = knee_calibration_to_header(cals, **sensors)
    doc["source"] = inp.name
    args.out.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    for side, cal in cals.items():
        m = cal.model
        print(
            f"{side} knee: goniometer {cal.known_angle_deg:+.1f} deg, uncalibrated reading "
            f"{cal.pose_angle_uncal_deg:+.1f} deg (pose SD {cal.pose_angle_sd_deg:.2f}) -> zero "
            f"corrected by {cal.known_angle_deg - cal.pose_angle_uncal_deg:+.1f} deg; axis fit "
            f"{m.axis_method}, hinge ratio {m.hinge_ratio:.2f}"
        )
    for w in warnings:
        print(f"imugait calibrate: warning: {w}")
    print(f"wrote {args.out}")
    return 0
