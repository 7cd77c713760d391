"""A live session killed with SIGKILL leaves a readable recording up to its last second."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from imugait.ingest.recording import read_recording

CHILD = Path(__file__).with_name("_live_child.py")
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_stream_leaves_recording_up_to_last_second(tmp_path: Path) -> None:
    out, truth = tmp_path / "live.imurec", tmp_path / "truth.txt"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(
        [sys.executable, str(CHILD), str(out), str(truth), "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=REPO,
    ) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stderr is not None
            line = proc.stdout.readline()
            if line.strip() != b"streaming":
                proc.kill()
                pytest.fail(f"child did not stream: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(2.5)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == -signal.SIGKILL
    rec = read_recording(out)  # readable; a torn last block would be listed in problems
    assert all("truncated" in p or "damaged" in p for p in rec.problems)
    handed: list[tuple[str, int, float]] = []
    for ln in truth.read_text().splitlines():
        sid, seq, t = ln.split()
        handed.append((sid, int(seq), float(t)))
    last_t = max(t for _, _, t in handed)
    assert last_t > 2.0
    t0 = rec.header.host_t0_s
    for sid in ("LT", "RT", "LS", "RS"):
        t_file, payloads = rec.payloads_by_sensor(sid)
        in_file = set(np.round(t_file - t0, 9).tolist())
        # every notification handed to the writer more than 1 s before the end is on disk
        old = [t for s, _, t in handed if s == sid and t < last_t - 1.0]
        assert len(old) > 50  # 50 frames/s for > 1.5 s
        assert all(round(t, 9) in in_file for t in old), sid
        # and nothing on disk is something that was not received
        assert len(payloads) <= sum(1 for s, _, _ in handed if s == sid) + 5
