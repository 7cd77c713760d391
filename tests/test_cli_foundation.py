"""End-to-end: ``imugait simulate`` -> recording -> ``imugait replay``, and bad input at the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from imugait.cli import main
from imugait.ingest.protocols.reference import ReferenceConfig
from imugait.ingest.recording import read_recording
from imugait.ingest.replay import decode_recording
from imugait.sim import PRESETS, simulate
from imugait.sim.record import read_link_stats, truth_path, write_simulation
from imugait.units import G_M_S2, RAD_PER_DEG


def _sim_and_write(tmp_path: Path, name: str, **changes: object) -> tuple[object, Path]:
    sc = PRESETS[name].with_(**{"duration_s": 20.0, **changes})
    sim = simulate(sc)
    out = tmp_path / f"{name}.imurec"
    write_simulation(sim, out)
    return sim, out


def test_simulate_replay_roundtrip_equals_simulator_to_quantisation(tmp_path: Path) -> None:
    sim, out = _sim_and_write(tmp_path, "healthy", stand_start_s=2.0, stand_end_s=2.0)
    rec = read_recording(out)
    assert rec.problems == []
    decoded = decode_recording(rec)
    for s in sim.sensors:  # type: ignore[attr-defined]
        dec = decoded[s.sensor_id]
        cfg = ReferenceConfig.from_dict(dec.entry.config)
        assert dec.bad_notifications == 0
        assert dec.batch.n_samples == s.n
        # Samples: equal to the simulator's output within half an LSB (quantisation).
        acc_lsb = G_M_S2 / cfg.acc_lsb_per_g
        gyr_lsb = RAD_PER_DEG / cfg.gyr_lsb_per_dps
        assert np.max(np.abs(dec.batch.acc_m_s2 - s.acc_m_s2)) <= acc_lsb / 2 + 1e-12
        assert np.max(np.abs(dec.batch.gyr_rad_s - s.gyr_rad_s)) <= gyr_lsb / 2 + 1e-12
        # Sensor timestamps: equal to the sensor clock within the 1 µs frame-time resolution.
        assert np.max(np.abs(dec.batch.sensor_t_s - s.sensor_t_s)) <= 1e-6
        # Arrival is after sending (causality) and in order per sensor.
        assert np.all(np.diff(dec.batch.host_t_s) >= 0)


def test_lost_packets_are_counted_exactly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out = _sim_and_write(tmp_path, "lossy_drift")
    link = {st.sensor_id: st for st in read_link_stats(out)}
    assert sum(st.frames_lost for st in link.values()) > 0
    rc = main(["replay", str(out), "--json"])
    assert rc == 0
    report = json.loads(capsys.readouterr().out)
    for r in report["sensors"]:
        st = link[r["sensor"]]
        assert r["lost_frames"] == st.frames_lost
        assert r["frames"] == st.frames_sent - st.frames_lost
        assert r["rate_hz"] == pytest.approx(r["nominal_hz"], rel=1e-3)


def test_paced_replay_gives_the_same_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out = _sim_and_write(
        tmp_path, "lossy_drift", duration_s=6.0, stand_start_s=1.0, stand_end_s=1.0
    )
    assert main(["replay", str(out), "--json"]) == 0
    fast = json.loads(capsys.readouterr().out)
    assert main(["replay", str(out), "--json", "--speed", "50"]) == 0
    paced = json.loads(capsys.readouterr().out)
    assert fast == paced


def test_cli_simulate_writes_recording_and_truth(tmp_path: Path) -> None:
    out = tmp_path / "s.imurec"
    rc = main(
        [
            "simulate",
            "--scenario",
            "left_hyperextension",
            "--duration",
            "12",
            "--seed",
            "3",
            "-o",
            str(out),
        ]
    )
    assert rc == 0
    assert out.exists()
    assert truth_path(out).exists()
    truth = json.loads(truth_path(out).read_text())
    assert truth["scenario"]["hx_deg"] == PRESETS["left_hyperextension"].hx_deg
    # refuses to overwrite
    assert main(["simulate", "--duration", "12", "-o", str(out)]) == 2


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imugait", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        (None, "no such file"),
        (b"", "empty"),
        (b"t_s,sensor,location\n0.0,a,left_shank\n", "not an imugait recording"),
        (bytes(range(256)) * 4, "not an imugait recording"),
    ],
)
def test_bad_recording_gives_one_clear_line(
    tmp_path: Path, content: bytes | None, expect: str
) -> None:
    path = tmp_path / "bad.imurec"
    if content is not None:
        path.write_bytes(content)
    r = _run_cli("replay", str(path))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert str(path) in lines[0]
    assert expect in lines[0]
    assert "Traceback" not in r.stderr


def test_truncated_recording_reads_what_is_intact_and_exits_nonzero(tmp_path: Path) -> None:
    _, out = _sim_and_write(tmp_path, "healthy", duration_s=10.0)
    data = out.read_bytes()
    cut = tmp_path / "cut.imurec"
    cut.write_bytes(data[: len(data) * 2 // 3])
    r = _run_cli("replay", str(cut), "--json")
    assert r.returncode == 1
    report = json.loads(r.stdout)
    assert report["problems"]
    assert all(s["samples"] > 0 for s in report["sensors"])
    assert "truncated" in r.stderr or "truncated" in " ".join(report["problems"])
    assert "Traceback" not in r.stderr


def test_simulated_recordings_are_byte_reproducible(tmp_path: Path) -> None:
    sc = PRESETS["lossy_drift"].with_(duration_s=8.0, stand_start_s=1.0, stand_end_s=1.0)
    (tmp_path / "1").mkdir()
    (tmp_path / "2").mkdir()
    a, b = tmp_path / "1" / "s.imurec", tmp_path / "2" / "s.imurec"
    write_simulation(simulate(sc), a)
    write_simulation(simulate(sc), b)
    assert a.read_bytes() == b.read_bytes()
    assert truth_path(a).read_bytes() == truth_path(b).read_bytes()


def test_analyze_samples_table_says_when_the_knee_is_uncalibrated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from imugait.ingest.samples_table import write_samples_table

    sim = simulate(PRESETS["healthy"].with_(duration_s=20.0, stand_start_s=2.0))
    table = tmp_path / "walk.csv"
    write_samples_table([s.block() for s in sim.sensors], table)
    assert main(["analyze", str(table), "--out", str(tmp_path / "out")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "knee angle uncalibrated" in out
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["hyperextension"]["left"]["calibrated"] is False
