"""Tests of the raw session recording format: round trip, crash safety, damage, wrong files."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import imugait
from imugait.errors import RecordingError
from imugait.ingest.recording import (
    FORMAT_VERSION,
    Event,
    Notification,
    Record,
    RecordingHeader,
    RecordingWriter,
    SensorEntry,
    iter_records,
    read_header,
    read_recording,
)
from imugait.ingest.recording_format import BLOCK_HEADER_SIZE, PREAMBLE_SIZE
from imugait.types import Location

CHILD = Path(__file__).with_name("_writer_child.py")
ACC = "0000aaaa-0000-1000-8000-00805f9b34fb"
GYR = "0000bbbb-0000-1000-8000-00805f9b34fb"


def _load_child() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_writer_child", CHILD)
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def make_header(**kw: object) -> RecordingHeader:
    args: dict[str, object] = {
        "session_id": "sess-42",
        "subject_id": "P07",
        "metadata": {"task": "10 m walk", "trial": 3, "tags": ["a", "b"]},
        "calibration": {"LT": {"gyr_bias_rad_s": [0.01, -0.02, 0.003]}},
        "host_t0_s": 1234.5,
        "sensors": (
            SensorEntry(
                sensor_id="LT",
                protocol="imugait-ref-1",
                location=Location.LEFT_THIGH,
                address="AA:BB:CC:DD:EE:01",
                name="IMU-01",
                config={"odr_hz": 200, "acc_range_g": 16, "samples_per_frame": 4},
            ),
            SensorEntry(sensor_id="LS", protocol="imugait-ref-1", location=Location.LEFT_SHANK),
        ),
    }
    args.update(kw)
    return RecordingHeader(**args)  # type: ignore[arg-type]


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 0.0

    def __call__(self) -> float:
        return self.now_s


def write_small(path: Path) -> tuple[list[Record], list[int]]:
    """A small file of three records blocks; returns its records and the block end offsets."""
    clock = FakeClock()
    records: list[Record] = []
    ends: list[int] = []
    with RecordingWriter(path, make_header(), flush_interval_s=10.0, clock=clock) as w:
        ends.append(path.stat().st_size)
        for b in range(3):
            ev = Event(
                host_t_s=10.0 * b, sensor_id="LT" if b else None, kind="connect", data={"b": b}
            )
            w.write_event(ev.host_t_s, ev.kind, ev.data, sensor_id=ev.sensor_id)
            records.append(ev)
            for i in range(3):
                n = Notification(
                    "LT" if i % 2 else "LS",
                    ACC if i < 2 else GYR,
                    10.0 * b + i,
                    bytes(range(i + 3 * b)),
                )
                w.write_notification(n.sensor_id, n.characteristic, n.host_t_s, n.payload)
                records.append(n)
            w.flush()
            ends.append(path.stat().st_size)
    return records, ends


# -- round trip -----------------------------------------------------------------------------


def test_round_trip_header_notifications_events(tmp_path: Path) -> None:
    path = tmp_path / "s.imurec"
    records, _ = write_small(path)
    rec = read_recording(path)
    assert rec.problems == []
    assert rec.header == make_header(created_utc=rec.header.created_utc)
    assert rec.notifications == [r for r in records if isinstance(r, Notification)]
    assert rec.events == [r for r in records if isinstance(r, Event)]
    assert list(rec.records()) == records
    assert list(iter_records(path)) == records
    assert rec.n_notifications == 9


def test_header_fields(tmp_path: Path) -> None:
    path = tmp_path / "s.imurec"
    before = datetime.now().astimezone()
    with RecordingWriter(path, make_header(format_version=(0, 9))) as w:
        assert w.header.format_version == FORMAT_VERSION
    h = read_header(path)
    assert h.format_version == FORMAT_VERSION
    assert h.software_version == imugait.__version__
    created = datetime.fromisoformat(h.created_utc)
    assert created.utcoffset() == timedelta(0)
    assert abs(created - before) < timedelta(minutes=5)
    assert (h.session_id, h.subject_id, h.host_t0_s) == ("sess-42", "P07", 1234.5)
    assert h.metadata["tags"] == ["a", "b"]
    assert h.calibration["LT"]["gyr_bias_rad_s"][1] == -0.02
    lt = h.sensor("LT")
    assert lt.location is Location.LEFT_THIGH
    assert lt.address == "AA:BB:CC:DD:EE:01"
    assert lt.name == "IMU-01"
    assert lt.config["samples_per_frame"] == 4
    assert h.sensor("LS").address is None
    assert h.sensor_ids == ("LT", "LS")
    rec = read_recording(path)
    assert rec.n_notifications == 0
    assert rec.events == []
    assert rec.problems == []


def test_payloads_by_sensor_and_columns(tmp_path: Path) -> None:
    path = tmp_path / "s.imurec"
    records, _ = write_small(path)
    rec = read_recording(path)
    notes = [r for r in records if isinstance(r, Notification)]
    for sid in ("LT", "LS"):
        for char in (None, ACC, GYR):
            t, payloads = rec.payloads_by_sensor(sid, char)
            want = [n for n in notes if n.sensor_id == sid and char in (None, n.characteristic)]
            assert t.dtype == np.float64
            assert t.tolist() == [n.host_t_s for n in want]
            assert payloads == [n.payload for n in want]
    with pytest.raises(ValueError, match="no sensor 'XX'"):
        rec.payloads_by_sensor("XX")
    c = rec.columns
    k = 4
    s, n = int(c.payload_start[k]), int(c.payload_len[k])
    assert c.blob[s : s + n] == notes[k].payload
    assert c.channels[int(c.channel[k])] == (notes[k].sensor_id, notes[k].characteristic)
    assert rec.events_of("connect", "LT") == [
        r for r in records if isinstance(r, Event) and r.sensor_id == "LT"
    ]


# -- writer behaviour -----------------------------------------------------------------------


def test_flush_interval_is_checked_on_every_write_and_by_maybe_flush(tmp_path: Path) -> None:
    path, clock = tmp_path / "s.imurec", FakeClock()
    w = RecordingWriter(path, make_header(), flush_interval_s=1.0, clock=clock)
    size0 = path.stat().st_size
    w.write_notification("LT", ACC, 0.0, b"x")
    clock.now_s = 0.99
    w.write_notification("LT", ACC, 0.99, b"y")
    assert path.stat().st_size == size0
    assert w.buffered_records == 2
    clock.now_s = 1.0  # the oldest buffered record is now 1.0 s old: this write flushes
    w.write_notification("LT", ACC, 1.0, b"z")
    size1 = path.stat().st_size
    assert size1 > size0
    assert w.flushed_notifications == 3
    assert w.buffered_records == 0
    clock.now_s = 1.5
    w.write_event(1.5, "marker")
    assert not w.maybe_flush()
    assert not w.maybe_flush(2.4)
    assert w.maybe_flush(2.5)
    assert w.flushed_events == 1
    assert path.stat().st_size > size1
    w.write_notification("LS", GYR, 3.0, b"q")
    w.flush()
    assert w.flushed_notifications == 4
    size2 = path.stat().st_size
    w.flush()  # empty buffer: no empty block
    assert path.stat().st_size == size2
    w.close()
    w.close()
    assert read_recording(path).n_notifications == 4
    with pytest.raises(ValueError, match="closed"):
        w.write_notification("LT", ACC, 0.0, b"")


def test_fsync_interval(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(os, "fsync", calls.append)
    clock = FakeClock()
    with RecordingWriter(
        tmp_path / "s.imurec", make_header(), fsync_interval_s=5.0, clock=clock
    ) as w:
        assert len(calls) == 1  # the header is durable at once
        for k in range(1, 13):  # one block per second
            clock.now_s = float(k)
            w.write_notification("LT", ACC, clock.now_s, b"x")
        assert w.flushed_notifications == 12  # blocks at 2 s (two records), 3 s, ..., 12 s
        assert len(calls) == 3  # after the blocks written at 5 s and 10 s
    assert len(calls) == 4  # and on close
    calls.clear()
    with RecordingWriter(tmp_path / "n.imurec", make_header(), clock=clock) as w:
        w.write_notification("LT", ACC, 0.0, b"x")
        w.flush()
    assert calls == []  # no fsync unless asked for


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "s.imurec"
    path.write_text("precious")
    with pytest.raises(RecordingError, match="file exists") as info:
        RecordingWriter(path, make_header())
    assert str(path) in str(info.value)
    assert path.read_text() == "precious"
    with RecordingWriter(path, make_header(), overwrite=True) as w:
        w.write_notification("LT", ACC, 1.0, b"abc")
    assert read_recording(path).notifications[0].payload == b"abc"


def test_writer_rejects_bad_input(tmp_path: Path) -> None:
    with RecordingWriter(tmp_path / "s.imurec", make_header()) as w:
        with pytest.raises(ValueError, match="unknown sensor"):
            w.write_notification("ZZ", ACC, 0.0, b"")
        with pytest.raises(ValueError, match="exceeds"):
            w.write_notification("LT", ACC, 0.0, bytes(70_000))
        with pytest.raises(ValueError, match="JSON"):
            w.write_event(0.0, "marker", {"x": object()})
        with pytest.raises(ValueError, match="unknown sensor"):
            w.write_event(0.0, "marker", sensor_id="ZZ")
    with pytest.raises(ValueError, match="unique"):
        make_header(sensors=(make_header().sensors[0],) * 2)
    with pytest.raises(ValueError, match="left_elbow"):
        SensorEntry(sensor_id="X", protocol="p", location="left_elbow")  # type: ignore[arg-type]


def test_overhead_per_notification_is_small(tmp_path: Path) -> None:
    path = tmp_path / "s.imurec"
    clock = FakeClock()
    n, payload_bytes = 20_000, 20
    with RecordingWriter(path, make_header(), clock=clock) as w:
        header_end = path.stat().st_size
        for i in range(n):
            clock.now_s = i / 800.0  # 4 sensors x 200 Hz, one block per second
            w.write_notification(("LT", "LS")[i % 2], ACC, clock.now_s, bytes(payload_bytes))
    overhead = (path.stat().st_size - header_end - n * payload_bytes) / n
    assert 12.0 <= overhead <= 12.5  # 12 bytes per notification + amortised block framing


# -- crash safety ---------------------------------------------------------------------------


def test_kill9_keeps_everything_up_to_the_last_flush(tmp_path: Path) -> None:
    child = _load_child()
    path, truth_path, interval_s = tmp_path / "k.imurec", tmp_path / "truth.txt", 0.25
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    err_path = tmp_path / "child_stderr.txt"
    reports: list[int] = []
    with (
        err_path.open("w") as err_file,
        subprocess.Popen(
            [sys.executable, str(CHILD), str(path), str(truth_path), str(interval_s), "60"],
            stdout=subprocess.PIPE,
            stderr=err_file,
            text=True,
            env=env,
        ) as proc,
    ):
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                reports.append(int(line.split()[1]))
                if len(reports) == 4:
                    break
            time.sleep(0.6 * interval_s)  # kill mid-way between two flushes
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
    assert len(reports) == 4, f"child failed: {err_path.read_text()}"
    assert proc.returncode == -signal.SIGKILL

    raw = truth_path.read_bytes()
    lines = raw.split(b"\n")[:-1]  # the last element is "" or a torn line
    truth_t = [float(ln.split()[1]) for ln in lines]
    rec = read_recording(path)
    n = rec.n_notifications
    # everything flushed before the last report is there; nothing that was never written is
    assert n >= reports[-1]
    assert n <= len(truth_t) + 1  # +1: killed between write_notification and the truth log
    notes = rec.notifications
    for i, note in enumerate(notes):
        assert note.sensor_id == child.SENSORS[i % 4]
        assert note.payload == child.payload_of(i)
        if i < len(truth_t):
            assert note.host_t_s == truth_t[i]
    assert all(e.kind == "marker" and e.data["i"] < n for e in rec.events)
    assert [e.data["i"] for e in rec.events] == list(range(0, 200 * len(rec.events), 200))
    # lost: the records of the unflushed buffer (plus at most one torn block), by the child's clock
    if n < len(truth_t):
        lost_span_s = truth_t[-1] - truth_t[n]
        assert lost_span_s < 2 * interval_s
    assert len(rec.problems) <= 1
    assert all("end of the file" in p for p in rec.problems)


# -- damage ---------------------------------------------------------------------------------


def test_truncation_at_every_byte_returns_a_prefix(tmp_path: Path) -> None:
    full_path = tmp_path / "full.imurec"
    records, ends = write_small(full_path)
    data = full_path.read_bytes()
    cut_path = tmp_path / "cut.imurec"
    n_per_block = [0, 4, 8, 12]  # records intact after 0..3 records blocks
    for cut in range(len(data) + 1):
        cut_path.write_bytes(data[:cut])
        if cut < ends[0]:
            with pytest.raises(RecordingError, match=str(cut_path)):
                read_recording(cut_path)
            continue
        rec = read_recording(cut_path)
        got = list(rec.records())
        assert got == list(iter_records(cut_path))
        whole_blocks = sum(e <= cut for e in ends) - 1
        assert got == records[: n_per_block[whole_blocks]]
        assert (rec.problems == []) == (cut in ends), (cut, rec.problems)
        if rec.problems:
            assert len(rec.problems) == 1
            assert f"byte {ends[whole_blocks]}:" in rec.problems[0]
            assert f"skipped {cut - ends[whole_blocks]} bytes" in rec.problems[0]


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        (0, "no block sync marker"),  # sync marker
        (13, "bad block header CRC"),  # length field
        (BLOCK_HEADER_SIZE + 3, "bad block payload CRC"),  # payload
    ],
)
def test_corrupt_middle_block_loses_only_that_block(
    tmp_path: Path, where: int, reason: str
) -> None:
    path = tmp_path / "s.imurec"
    records, ends = write_small(path)
    data = bytearray(path.read_bytes())
    start, end = ends[1], ends[2]  # the second records block
    data[start + where] ^= 0x5A
    path.write_bytes(bytes(data))
    rec = read_recording(path)
    assert list(rec.records()) == records[:4] + records[8:]
    assert rec.problems == [
        f"byte {start}: {reason}; skipped {end - start} bytes (resumed at byte {end})",
        f"byte {end}: 1 block(s) missing (numbers 2..2)",
    ]
    problems: list[str] = []
    assert list(iter_records(path, problems=problems)) == records[:4] + records[8:]
    assert problems == rec.problems


def test_garbage_between_blocks_is_skipped_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "s.imurec"
    records, ends = write_small(path)
    data = path.read_bytes()
    junk = np.random.default_rng(1).integers(0, 256, 37, dtype=np.uint8).tobytes()
    path.write_bytes(data[: ends[2]] + junk + data[ends[2] :])
    rec = read_recording(path)
    assert list(rec.records()) == records
    assert rec.problems == [
        f"byte {ends[2]}: no block sync marker; skipped 37 bytes (resumed at byte {ends[2] + 37})"
    ]


# -- files of another kind ------------------------------------------------------------------


def _bad_files(tmp: Path) -> dict[str, Path]:
    good = tmp / "good.imurec"
    write_small(good)
    data = good.read_bytes()
    bad_header = bytearray(data)
    bad_header[PREAMBLE_SIZE + BLOCK_HEADER_SIZE + 5] ^= 1
    rng = np.random.default_rng(7)
    contents: dict[str, bytes] = {
        "csv": b"t_s,sensor,location\n0.0,LT,left_thigh\n",
        "empty": b"",
        "random": rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "preamble": data[:10],
        "version": data[:12] + b"\x09\x00" + data[14:],
        "header": bytes(bad_header),
    }
    out = {"missing": tmp / "missing.imurec", "directory": tmp / "adir"}
    out["directory"].mkdir()
    for kind, content in contents.items():
        out[kind] = tmp / f"{kind}.imurec"
        out[kind].write_bytes(content)
    return out


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("missing", "no such file"),
        ("directory", "is a directory"),
        ("csv", "not an imugait recording (text file starting 't_s,sensor,location')"),
        ("empty", "empty file"),
        ("random", "not an imugait recording (no signature"),
        ("preamble", "truncated imugait recording"),
        ("version", "format version 9.0 is not supported"),
        ("header", "header block damaged or incomplete (bad block payload CRC)"),
    ],
)
def test_other_files_raise_recording_error(tmp_path: Path, kind: str, message: str) -> None:
    path = _bad_files(tmp_path)[kind]
    for reader in (read_recording, read_header, iter_records):
        with pytest.raises(RecordingError) as info:
            reader(path)
        text = str(info.value)
        assert text.startswith(f"{path}: ")
        assert message in text
        assert "\n" not in text


# -- property: arbitrary content and flush points round-trip --------------------------------

_notes = st.builds(
    Notification,
    sensor_id=st.sampled_from(["LT", "LS"]),
    characteristic=st.text(max_size=40),
    host_t_s=st.floats(allow_nan=False),
    payload=st.binary(max_size=300),
)
_events = st.builds(
    Event,
    host_t_s=st.floats(allow_nan=False),
    sensor_id=st.sampled_from([None, "LT"]),
    kind=st.text(min_size=1, max_size=10),
    data=st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(items=st.lists(st.tuples(_notes | _events, st.booleans()), max_size=40))
def test_round_trip_property(tmp_path: Path, items: list[tuple[Record, bool]]) -> None:
    path = tmp_path / "p.imurec"
    with RecordingWriter(path, make_header(), overwrite=True, flush_interval_s=1e9) as w:
        for r, flush_after in items:
            if isinstance(r, Notification):
                w.write_notification(r.sensor_id, r.characteristic, r.host_t_s, r.payload)
            else:
                w.write_event(r.host_t_s, r.kind, r.data, sensor_id=r.sensor_id)
            if flush_after:
                w.flush()
    want = [r for r, _ in items]
    rec = read_recording(path)
    assert rec.problems == []
    assert list(rec.records()) == want == list(iter_records(path))
    assert json.loads(json.dumps(rec.header.to_json())) == rec.header.to_json()
