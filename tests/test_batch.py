"""imugait batch: parallel export on a 2-process LocalCluster, failures, skip and --force."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from imugait.batch import run_batch
from imugait.commands import batch as batch_cmd
from imugait.export import is_exported, read_table
from imugait.sim import PRESETS, simulate
from imugait.sim.record import write_simulation


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("batch_in")
    sim = simulate(PRESETS["healthy"].with_(duration_s=12.0, seed=7))
    for i in range(3):  # the session id is the file stem
        write_simulation(sim, d / f"walk{i}.imurec", save_truth=False)
    (d / "broken.imurec").write_bytes(b"not a recording at all")
    # readable header-less input that fails inside the worker: accelerometer in g
    rows = [
        "t_s,sensor,location,acc_x_m_s2,acc_y_m_s2,acc_z_m_s2,gyr_x_rad_s,gyr_y_rad_s,gyr_z_rad_s"
    ]
    rows += [f"{k / 100},A,left_shank,0,0,1,0,0,0" for k in range(300)]
    (d / "in_g.csv").write_text("\n".join(rows) + "\n")
    return d


def test_batch_cli_parallel_failures_skip(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = argparse.ArgumentParser()
    batch_cmd.configure(p)
    out = tmp_path / "ds"
    pats = [str(inputs / "*.imurec"), str(inputs / "*.csv")]
    args = p.parse_args([*pats, "--out", str(out), "--workers", "2", "--subject", "S01"])
    assert batch_cmd.run(args) == 1
    cap = capsys.readouterr()
    assert "3 exported, 0 skipped" in cap.out
    assert "2 failed" in cap.out
    assert "broken.imurec" in cap.err
    assert "not an imugait recording" in cap.err
    assert "in_g.csv" in cap.err
    assert "looks like g" in cap.err
    for i in range(3):
        assert is_exported(out, "S01", f"walk{i}")
    ses = read_table(out, "sessions").to_pandas()
    assert sorted(ses["session_id"]) == ["walk0", "walk1", "walk2"]
    n_strides = read_table(out, "strides").num_rows
    assert n_strides > 0
    assert n_strides % 3 == 0

    # re-run: everything already exported is skipped (no cluster work at all)
    report = run_batch(sorted(inputs.glob("walk*.imurec")), out, subject_id="S01", n_workers=2)
    assert [i.status for i in report.items] == ["skipped"] * 3
    assert read_table(out, "strides").num_rows == n_strides


def test_batch_force_reexports_serially(inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    one = [inputs / "walk0.imurec"]
    first = run_batch(one, out, n_workers=0)
    assert [i.status for i in first.items] == ["exported"]
    assert first.items[0].subject_id == "sim01"
    again = run_batch(one, out, n_workers=0)
    assert [i.status for i in again.items] == ["skipped"]
    forced = run_batch(one, out, n_workers=0, force=True)
    assert [i.status for i in forced.items] == ["exported"]
    assert read_table(out, "sessions").num_rows == 1


def test_duplicate_sessions_in_one_batch_fail(inputs: Path, tmp_path: Path) -> None:
    dup = tmp_path / "copy"
    dup.mkdir()
    (dup / "walk0.imurec").write_bytes((inputs / "walk0.imurec").read_bytes())
    report = run_batch(
        [inputs / "walk0.imurec", dup / "walk0.imurec"], tmp_path / "ds", n_workers=0
    )
    assert [i.status for i in report.items] == ["exported", "failed"]
    assert "same subject/session" in report.items[1].message


def test_no_match_is_an_error(tmp_path: Path) -> None:
    from imugait.errors import InputDataError

    p = argparse.ArgumentParser()
    batch_cmd.configure(p)
    args = p.parse_args([str(tmp_path / "*.imurec"), "--out", str(tmp_path / "ds")])
    with pytest.raises(InputDataError, match="no input matches"):
        batch_cmd.run(args)


def test_batch_on_a_running_scheduler(inputs: Path, tmp_path: Path) -> None:
    from distributed import LocalCluster

    with LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=1, processes=False, dashboard_address=None
    ) as cluster:
        report = run_batch(
            [inputs / "walk1.imurec"], tmp_path / "ds", scheduler=cluster.scheduler_address
        )
    assert [i.status for i in report.items] == ["exported"]
    assert is_exported(tmp_path / "ds", "sim01", "walk1")
