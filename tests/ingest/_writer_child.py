"""Child process for the kill -9 test of the recording writer (not a test module).

Usage: ``python _writer_child.py RECORDING TRUTH_LOG FLUSH_INTERVAL_S MAX_RUN_S``

Writes notifications of four sensors continuously (about 2,000 per second) until killed or
until ``MAX_RUN_S`` has passed. After each notification it appends ``"<i> <host_t_s>"`` to
TRUTH_LOG with an unbuffered ``os.write``, so the parent knows exactly what was handed to the
writer before the process died; whenever the writer has flushed a block it prints
``flushed <number of notifications on disk>`` on stdout. Notification ``i`` comes from sensor
``SENSORS[i % 4]`` and carries :func:`payload_of` ``(i)``; every 200th is followed by an event
``marker`` with ``{"i": i}``.
"""

from __future__ import annotations

import os
import sys
import time

from imugait.ingest.recording import RecordingHeader, RecordingWriter, SensorEntry
from imugait.types import Location

SENSORS = ("LT", "RT", "LS", "RS")
LOCATIONS = (Location.LEFT_THIGH, Location.RIGHT_THIGH, Location.LEFT_SHANK, Location.RIGHT_SHANK)
CHARACTERISTIC = "6e400003-b5a3-f393-e0a9-e50e24dcca9e"


def payload_of(i: int) -> bytes:
    """The deterministic payload of notification ``i`` (20 bytes)."""
    return i.to_bytes(4, "little") + bytes((i * 7 + k) & 0xFF for k in range(16))


def header() -> RecordingHeader:
    return RecordingHeader(
        session_id="kill-test",
        sensors=tuple(
            SensorEntry(sensor_id=s, protocol="imugait-ref-1", location=loc)
            for s, loc in zip(SENSORS, LOCATIONS, strict=True)
        ),
        host_t0_s=time.monotonic(),
    )


def main(argv: list[str]) -> int:
    path, truth_path, interval_s, max_run_s = argv[1], argv[2], float(argv[3]), float(argv[4])
    truth = os.open(truth_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    t_end = time.monotonic() + max_run_s
    with RecordingWriter(path, header(), flush_interval_s=interval_s) as writer:
        reported, i = 0, 0
        while time.monotonic() < t_end:
            t = time.monotonic()
            writer.write_notification(SENSORS[i % 4], CHARACTERISTIC, t, payload_of(i))
            os.write(truth, f"{i} {t!r}\n".encode())
            if i % 200 == 0:
                writer.write_event(t, "marker", {"i": i})
            if writer.flushed_notifications != reported:
                reported = writer.flushed_notifications
                print(f"flushed {reported}", flush=True)
            i += 1
            if i % 4 == 0:
                time.sleep(0.002)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
