"""BIDS-motion export: file names, channels/motion consistency, sidecar, events, grid."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from imugait.analyze import SessionAnalysis
from imugait.errors import InputDataError
from imugait.export import bids_label, export_bids
from imugait.export.bids import _on_grid
from imugait.types import SampleBlock

MOTION_TYPES = {
    "ACCEL",
    "ANGACCEL",
    "GYRO",
    "JNTANG",
    "LATENCY",
    "MAGN",
    "MISC",
    "ORNT",
    "POS",
    "VEL",
}
COMPONENTS = {"x", "y", "z", "quat_x", "quat_y", "quat_z", "quat_w", "n/a"}


@pytest.fixture(scope="module")
def bids_files(
    tmp_path_factory: pytest.TempPathFactory, analysis: SessionAnalysis, samples: list[SampleBlock]
) -> tuple[Path, dict[str, Path]]:
    root = tmp_path_factory.mktemp("bids")
    files = export_bids(analysis, root, subject_id="S_01", session_id="walk-1", samples=samples)
    return root, files


def test_names_and_top_level(bids_files: tuple[Path, dict[str, Path]]) -> None:
    root, files = bids_files
    stem = "sub-S01_ses-walk1_task-walk_tracksys-imu"
    mdir = root / "sub-S01" / "ses-walk1" / "motion"
    assert files["motion"] == mdir / f"{stem}_motion.tsv"
    assert files["channels"] == mdir / f"{stem}_channels.tsv"
    assert files["motion_json"] == mdir / f"{stem}_motion.json"
    assert files["events"] == mdir / f"{stem}_events.tsv"
    for f in files.values():
        assert f.is_file()
    desc = json.loads((root / "dataset_description.json").read_text())
    assert desc["Name"]
    assert desc["BIDSVersion"].startswith("1.")
    assert pd.read_csv(root / "participants.tsv", sep="\t")["participant_id"].tolist() == [
        "sub-S01"
    ]


def test_channels_match_motion_columns(
    bids_files: tuple[Path, dict[str, Path]], analysis: SessionAnalysis, samples: list[SampleBlock]
) -> None:
    _, files = bids_files
    ch = pd.read_csv(files["channels"], sep="\t", keep_default_na=False)
    assert list(ch.columns[:5]) == ["name", "component", "type", "tracked_point", "units"]
    assert set(ch["type"]) <= MOTION_TYPES
    assert set(ch["component"]) <= COMPONENTS
    n_sensors = len({b.sensor for b in samples})
    assert (ch["type"] == "ACCEL").sum() == 3 * n_sensors
    assert (ch["type"] == "GYRO").sum() == 3 * n_sensors
    assert (ch["type"] == "JNTANG").sum() == len(analysis.hyperextension)
    assert set(ch.loc[ch["type"] == "ACCEL", "units"]) == {"m/s^2"}
    assert set(ch.loc[ch["type"] == "GYRO", "units"]) == {"rad/s"}
    first = files["motion"].read_text().split("\n", 1)[0]
    assert "acc" not in first  # no header row
    motion = pd.read_csv(files["motion"], sep="\t", header=None, na_values=["n/a"])
    assert motion.shape[1] == len(ch)
    side = json.loads(files["motion_json"].read_text())
    assert side["TaskName"] == "walk"
    assert side["SamplingFrequency"] == 100.0
    assert side["MotionChannelCount"] == len(ch)
    assert side["ACCELChannelCount"] == 3 * n_sensors
    assert abs(side["SamplingFrequencyEffective"] - 100.0) < 0.05
    assert len(motion) == pytest.approx(side["RecordingDuration"] * 100.0 + 1, abs=1)
    # a grid column reproduces the sensor's data (linear interpolation of the session clock)
    lt = SampleBlock.concat(
        sorted([b for b in samples if b.sensor == "LT"], key=lambda b: b.t_s[0])
    )
    col = ch.index[ch["name"] == "left_thigh_acc_z"][0]
    grid = np.floor(min(b.t_s[0] for b in samples) * 100) / 100 + np.arange(len(motion)) / 100
    ok = motion[col].notna().to_numpy()
    assert ok.mean() > 0.99
    np.testing.assert_allclose(
        motion[col].to_numpy()[ok], np.interp(grid[ok], lt.t_s, lt.acc_m_s2[:, 2]), atol=1e-4
    )


def test_events_are_contacts_per_side(
    bids_files: tuple[Path, dict[str, Path]], analysis: SessionAnalysis, samples: list[SampleBlock]
) -> None:
    _, files = bids_files
    ev = pd.read_csv(files["events"], sep="\t")
    assert list(ev.columns[:2]) == ["onset", "duration"]
    assert (np.diff(ev["onset"].to_numpy()) >= 0).all()
    t0 = np.floor(min(b.t_s[0] for b in samples) * 100) / 100
    st = analysis.strides
    for side in ("left", "right"):
        ic = ev[(ev["trial_type"] == "initial_contact") & (ev["side"] == side)]
        want = st.loc[st["side"] == side, "ic_t_s"].to_numpy() - t0
        np.testing.assert_allclose(np.sort(ic["onset"].to_numpy()), np.sort(want), atol=2e-6)
        fc = ev[(ev["trial_type"] == "final_contact") & (ev["side"] == side)]
        assert len(fc) == len(want)
    hx = ev[ev["trial_type"] == "stance_hyperextension"]
    assert len(hx) == int(st["hyperextension"].sum())
    assert (hx["duration"] > 0).all()
    levels = json.loads(files["events_json"].read_text())["trial_type"]["Levels"]
    assert set(ev["trial_type"]) <= set(levels)


def test_on_grid_leaves_gaps_empty() -> None:
    t = np.r_[np.arange(0, 10) / 100, np.arange(20, 30) / 100]  # 0.09 .. 0.20 missing
    x = np.c_[t * 2.0]
    grid = np.arange(-2, 32) / 100
    y = _on_grid(t, x, grid, 1.5 / 100)[:, 0]
    inside = ((grid >= 0) & (grid <= 0.09 + 1e-12)) | (
        (grid >= 0.2 - 1e-12) & (grid <= 0.29 + 1e-12)
    )
    assert np.isnan(y[~inside]).all()
    np.testing.assert_allclose(y[inside], 2.0 * grid[inside])


def test_labels() -> None:
    assert bids_label("left_hyperextension", what="session id") == "lefthyperextension"
    assert bids_label("S-01", what="subject id") == "S01"
    with pytest.raises(InputDataError):
        bids_label("../x", what="subject id")
    with pytest.raises(InputDataError):
        bids_label("__", what="subject id")
