"""In-session pose reference (KneePose), header layout and ``imugait calibrate``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imugait.commands import calibrate as calibrate_cmd
from imugait.errors import InputDataError
from imugait.kinematics import (
    KneeAngleEstimator,
    KneeBlock,
    KneeCalibration,
    KneePose,
    calibrate,
    knee_calibration_from_header,
    knee_calibration_to_header,
)
from imugait.types import Side
from tests.kinematics.hinge import REALISTIC, HingeData, hinge
from tests.kinematics.test_calibration import OFFSET_KW, PREDICTED_ZERO_ERR_DEG, STAND_KW, blocks

# standing in 15 deg recurvatum for 5 s (goniometer: -15), then walking
POSE = KneePose(t_start_s=0.5, t_end_s=4.5, known_angle_deg=-15.0)


def _hinge(noise: bool = True) -> HingeData:
    return hinge(**OFFSET_KW, **STAND_KW, mirror=True, seed=4, **(REALISTIC if noise else {}))


def run(
    h: HingeData, cuts: list[int] | None = None, **kw: object
) -> tuple[np.ndarray, KneeAngleEstimator, list[KneeBlock]]:
    est = KneeAngleEstimator(side=Side.LEFT, fs_hz=100.0, **kw)  # type: ignore[arg-type]
    edges = [0, *(cuts or []), len(h.t_s)]
    out: list[KneeBlock] = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        out += est.push_arrays(
            h.t_s[a:b], h.acc_thigh[a:b], h.gyr_thigh[a:b], h.acc_shank[a:b], h.gyr_shank[a:b]
        )
    out += est.flush()
    return np.concatenate([o.knee_flexion_rad for o in out]), est, out


@pytest.mark.parametrize("noise", [False, True])
def test_pose_in_session_sets_the_zero(noise: bool) -> None:
    h = _hinge(noise)
    walk = h.t_s > 8.0
    k_uncal, _, _ = run(h)
    assert abs(np.degrees(k_uncal - h.knee_rad)[walk].mean() - PREDICTED_ZERO_ERR_DEG) < 1.5
    k, est, out = run(h, pose=POSE)
    assert est.pose_problem is None
    assert all(o.calibrated and o.zero_reliable for o in out)
    cal = est.pose_calibration
    assert cal is not None
    assert cal.side is Side.LEFT
    # the correction is the documented geometric-zero error of this placement
    assert abs(cal.known_angle_deg - cal.pose_angle_uncal_deg + PREDICTED_ZERO_ERR_DEG) < 1.5
    err = np.degrees(k - h.knee_rad)
    assert not np.isnan(k).any()
    assert np.sqrt(np.mean(err[walk] ** 2)) < (2.0 if noise else 1.0)
    assert abs(np.degrees(k[50:450]).mean() + 15.0) < 0.5  # the pose reads the goniometer angle
    assert np.degrees(k[walk].min()) < -13.0  # recurvatum in gait preserved, not zeroed
    # same zero as the offline calibration from the whole recording (up to identification)
    full = calibrate(*blocks(h), pose_window_s=POSE.window_s, known_angle_deg=-15.0)
    assert abs(full.model.offset_rad - cal.model.offset_rad) < np.radians(1.0)


_REF: tuple[np.ndarray, list[KneeBlock]] | None = None


@settings(max_examples=8, deadline=None)
@given(st.lists(st.integers(1, 3499), max_size=10, unique=True).map(sorted))
def test_pose_chunk_invariance(cuts: list[int]) -> None:
    global _REF
    h = _hinge()
    if _REF is None:
        k0, _, out0 = run(h, pose=POSE)
        _REF = (k0, out0)
    k, est, out = run(h, cuts, pose=POSE)
    assert np.array_equal(k, _REF[0])
    assert est.pose_problem is None
    assert [o.calibrated for o in out if o.n] == [True] * len([o for o in out if o.n])


def test_pose_fallbacks_say_why() -> None:
    h = _hinge()
    walking = KneePose(t_start_s=9.0, t_end_s=11.0, known_angle_deg=0.0)
    k, est, out = run(h, pose=walking)
    assert est.pose_problem is not None
    assert "not still" in est.pose_problem
    assert not out[-1].calibrated
    assert est.pose_calibration is None
    k_uncal, _, _ = run(h)
    assert np.array_equal(k, k_uncal)  # falls back to exactly the uncalibrated estimate
    late = KneePose(t_start_s=33.0, t_end_s=34.5, known_angle_deg=0.0)  # after identification
    _, est, out = run(h, pose=late)
    assert est.pose_problem is not None
    assert "not inside the identification window" in est.pose_problem
    assert not out[-1].calibrated
    cal = calibrate(*blocks(h), pose_window_s=POSE.window_s, known_angle_deg=-15.0)
    with pytest.raises(ValueError, match="not both"):
        KneeAngleEstimator(side=Side.LEFT, calibration=cal, pose=POSE)


def test_pose_validation_and_json() -> None:
    with pytest.raises(ValueError, match="shorter"):
        KneePose(t_start_s=1.0, t_end_s=1.2, known_angle_deg=0.0)
    with pytest.raises(ValueError, match="finite"):
        KneePose(t_start_s=float("nan"), t_end_s=1.2, known_angle_deg=0.0)
    with pytest.raises(ValueError, match="knee angle"):
        KneePose(t_start_s=0.0, t_end_s=2.0, known_angle_deg=400.0)
    assert KneePose.from_dict(json.loads(json.dumps(POSE.to_dict()))) == POSE
    with pytest.raises(InputDataError, match="pose"):
        KneePose.from_dict({"t_start_s": 0.0})


def test_header_layout_round_trip_and_errors() -> None:
    h = _hinge(noise=False)
    cal = calibrate(*blocks(h), pose_window_s=POSE.window_s, known_angle_deg=-15.0)
    doc = knee_calibration_to_header(
        {Side.LEFT: cal, Side.RIGHT: POSE}, left={"thigh_sensor": "T1"}
    )
    text = json.dumps(doc)
    back = knee_calibration_from_header(json.loads(text))
    assert back[Side.RIGHT] == POSE
    left = back[Side.LEFT]
    assert isinstance(left, KneeCalibration)
    assert left.to_json() == cal.to_json()
    assert knee_calibration_from_header({}) == {}
    assert knee_calibration_from_header({"other": 1}) == {}
    bad: list[tuple[object, str]] = [
        ({"knee": {"left": {"pose": POSE.to_dict(), "calibration": {}}}}, "exactly one"),
        ({"knee": {"right": {"calibration": cal.to_dict()}}}, "left leg"),
        ({"knee": {"left": {"pose": {"t_start_s": 0}}}}, "knee.left"),
        ({"knee": {"left": {"calibration": {"kind": "x"}}}}, "knee.left"),
        ({"knee": [1]}, "object"),
    ]
    for d, msg in bad:
        with pytest.raises(InputDataError, match=msg):
            knee_calibration_from_header(d)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="left leg"):
        knee_calibration_to_header({Side.RIGHT: cal})


def _samples_table(h: HingeData, path: Path) -> Path:
    rows = []
    for sid, loc, acc, gyr in (
        ("T1", "left_thigh", h.acc_thigh, h.gyr_thigh),
        ("S1", "left_shank", h.acc_shank, h.gyr_shank),
    ):
        d = {"t_s": h.t_s, "sensor": sid, "location": loc}
        for i, ax in enumerate("xyz"):
            d[f"acc_{ax}_m_s2"] = acc[:, i]
            d[f"gyr_{ax}_rad_s"] = gyr[:, i]
        rows.append(pd.DataFrame(d))
    pd.concat(rows).to_csv(path, index=False)
    return path


def _cli(*argv: str) -> int:
    p = argparse.ArgumentParser()
    calibrate_cmd.configure(p)
    return calibrate_cmd.run(p.parse_args(list(argv)))


def test_calibrate_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    h = _hinge(noise=False)
    table = _samples_table(h, tmp_path / "s.csv")
    out = tmp_path / "cal.json"
    assert _cli(str(table), "--pose", "0.5-4.5", "--angle", "-15", "--out", str(out)) == 0
    printed = capsys.readouterr().out
    assert "left knee: goniometer -15.0" in printed
    assert "right" in printed  # the missing right leg is reported as a warning
    refs = knee_calibration_from_header(json.loads(out.read_text()))
    assert set(refs) == {Side.LEFT}
    cal = refs[Side.LEFT]
    assert isinstance(cal, KneeCalibration)
    k, _, out_blocks = run(h, calibration=cal)
    assert all(o.calibrated for o in out_blocks)
    assert np.sqrt(np.mean(np.degrees(k - h.knee_rad)[h.t_s > 8.0] ** 2)) < 1.0
    with pytest.raises(InputDataError, match="not still"):
        _cli(str(table), "--pose", "10-12", "--angle", "0", "--out", str(out))
    with pytest.raises(InputDataError, match="not covered"):
        _cli(str(table), "--pose", "40-45", "--angle", "0", "--out", str(out))
    with pytest.raises(InputDataError, match="thigh and a shank"):
        _cli(str(table), "--pose", "0.5-4.5", "--angle", "0", "--side", "right", "--out", str(out))
    with pytest.raises(InputDataError, match="no angle"):
        _cli(str(table), "--pose", "0.5-4.5", "--angle", "right=2", "--out", str(out))


def test_calibrate_command_no_movement(tmp_path: Path) -> None:
    h = _hinge(noise=False)
    short = HingeData(
        t_s=h.t_s[:450],
        knee_rad=h.knee_rad[:450],
        acc_thigh=h.acc_thigh[:450],
        gyr_thigh=h.gyr_thigh[:450],
        acc_shank=h.acc_shank[:450],
        gyr_shank=h.gyr_shank[:450],
        axis_thigh=h.axis_thigh,
        axis_shank=h.axis_shank,
        knee_from_thigh_sensor_m=h.knee_from_thigh_sensor_m,
        knee_from_shank_sensor_m=h.knee_from_shank_sensor_m,
    )
    table = _samples_table(short, tmp_path / "still.csv")
    with pytest.raises(InputDataError, match="movement"):
        _cli(str(table), "--pose", "0.5-4.0", "--angle", "0", "--out", str(tmp_path / "c.json"))


@pytest.mark.parametrize(
    ("text", "ok"), [("0.5-3.5", (0.5, 3.5)), ("1 - 2", (1.0, 2.0)), ("3-1", None), ("x", None)]
)
def test_parse_pose_window(text: str, ok: tuple[float, float] | None) -> None:
    if ok is None:
        with pytest.raises(argparse.ArgumentTypeError):
            calibrate_cmd.parse_pose_window(text)
    else:
        assert calibrate_cmd.parse_pose_window(text) == ok
