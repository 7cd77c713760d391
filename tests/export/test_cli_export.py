"""``imugait export`` command: parquet and BIDS, id options, errors."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from imugait.commands import export as export_cmd
from imugait.errors import ImugaitError, InputDataError
from imugait.export import read_table
from imugait.sim import PRESETS, simulate
from imugait.sim.record import write_simulation


@pytest.fixture(scope="module")
def rec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "short.imurec"
    write_simulation(
        simulate(PRESETS["healthy"].with_(duration_s=12.0, seed=3)), path, save_truth=False
    )
    return path


def _args(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    export_cmd.configure(p)
    return p.parse_args(list(argv))


def test_export_parquet_and_bids(
    rec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ds = tmp_path / "ds"
    assert export_cmd.run(_args(str(rec), "--out", str(ds), "--subject", "P7")) == 0
    assert "subject P7 session short" in capsys.readouterr().out
    ses = read_table(ds, "sessions").to_pandas()
    assert ses["subject_id"].tolist() == ["P7"]
    assert ses["session_id"].tolist() == ["short"]
    assert read_table(ds, "samples").num_rows > 0

    bids = tmp_path / "bids"
    assert (
        export_cmd.run(_args(str(rec), "--out", str(bids), "--format", "bids", "--session", "v2"))
        == 0
    )
    motion = bids / "sub-sim01" / "ses-v2" / "motion"
    assert (motion / "sub-sim01_ses-v2_task-walk_tracksys-imu_motion.tsv").is_file()


def test_export_errors(rec: Path, tmp_path: Path) -> None:
    with pytest.raises(InputDataError, match="no such file"):
        export_cmd.run(_args(str(tmp_path / "missing.imurec"), "--out", str(tmp_path / "ds")))
    with pytest.raises(InputDataError, match="exactly one INPUT"):
        export_cmd.run(_args(str(rec), str(rec), "--out", str(tmp_path / "ds"), "--session", "a"))
    with pytest.raises(InputDataError, match="not a valid id"):
        export_cmd.run(_args(str(rec), "--out", str(tmp_path / "ds"), "--subject", "../up"))
    assert not (tmp_path / "up").exists()
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.txt").write_text("x")
    with pytest.raises(ImugaitError, match="not an imugait dataset"):
        export_cmd.run(_args(str(rec), "--out", str(other)))
