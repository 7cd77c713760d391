"""Crash-safe, append-only writer of raw session recordings.

The writer buffers records in memory and appends them as one CRC-protected block with plain
``os.write`` calls (no user-space file buffer), so whatever has been flushed survives the death
of the process (``kill -9``); an optional periodic ``os.fsync`` extends this to power loss.
No record stays buffered longer than ``flush_interval_s``, provided the writer is called: the
age of the buffer is checked on every write and by :meth:`RecordingWriter.maybe_flush`, which a
live loop calls from a timer so that a quiet period does not hold data back.
"""

from __future__ import annotations

import json
import math
import os
import time
from array import array
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

from imugait.errors import RecordingError
from imugait.ingest.recording_format import (
    BLOCK_HEADER_TYPE,
    BLOCK_RECORDS,
    MAX_NOTIFICATION_PAYLOAD,
    encode_preamble,
    encode_records,
    frame_block,
)
from imugait.ingest.recording_types import FORMAT_VERSION, Event, RecordingHeader

#: A block is written early once its buffered payload bytes reach this size.
MAX_BUFFERED_BYTES = 1 << 20


class RecordingWriter:
    """Append notifications and events to a new recording file.

    Parameters
    ----------
    path
        File to create. An existing file is refused (``RecordingError``) unless ``overwrite``.
    header
        Session header, written (and made durable against process death) on construction.
    flush_interval_s
        Maximum time a record stays in the memory buffer while the writer is being called.
    fsync_interval_s
        When not ``None``, ``os.fsync`` after a block write if at least this long has passed
        since the last one (``0`` = after every block), and on ``close``.
    overwrite
        Replace an existing file.
    clock
        Monotonic clock in seconds used for the flush/fsync intervals (``time.monotonic``).

    Use as a context manager; ``close`` writes what is buffered.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        header: RecordingHeader,
        *,
        flush_interval_s: float = 1.0,
        fsync_interval_s: float | None = None,
        overwrite: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(header, RecordingHeader):
            raise TypeError("header must be a RecordingHeader")
        if not (math.isfinite(flush_interval_s) and flush_interval_s >= 0):
            raise ValueError("flush_interval_s must be finite and >= 0")
        if fsync_interval_s is not None and not (
            math.isfinite(fsync_interval_s) and fsync_interval_s >= 0
        ):
            raise ValueError("fsync_interval_s must be None or finite and >= 0")
        self.path = Path(path)
        self.header = replace(header, format_version=FORMAT_VERSION)
        self.flush_interval_s = float(flush_interval_s)
        self.fsync_interval_s = None if fsync_interval_s is None else float(fsync_interval_s)
        self._clock = clock
        self._sensor_ids = frozenset(self.header.sensor_ids)
        self._reset_buffer()
        self._oldest_s = 0.0
        self._seq = 0
        self._flushed_notifications = 0
        self._flushed_events = 0
        self._last_fsync_s = clock()
        flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_BINARY", 0)
        flags |= os.O_TRUNC if overwrite else os.O_EXCL
        try:
            self._fd: int | None = os.open(self.path, flags, 0o644)
        except FileExistsError:
            raise RecordingError(
                f"{self.path}: file exists; refusing to overwrite (pass overwrite=True)"
            ) from None
        except OSError as exc:
            raise RecordingError(f"{self.path}: cannot create ({exc.strerror})") from None
        head = json.dumps(self.header.to_json(), allow_nan=False).encode("utf-8")
        try:
            self._write(encode_preamble(*FORMAT_VERSION) + self._frame(BLOCK_HEADER_TYPE, head))
            if self.fsync_interval_s is not None:
                self._fsync()
        except BaseException:
            fd, self._fd = self._fd, None
            os.close(fd)
            raise

    # -- context manager -------------------------------------------------------------------

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- public API ------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._fd is None

    @property
    def flushed_notifications(self) -> int:
        """Number of notifications handed to the operating system so far."""
        return self._flushed_notifications

    @property
    def flushed_events(self) -> int:
        """Number of events handed to the operating system so far."""
        return self._flushed_events

    @property
    def buffered_records(self) -> int:
        """Number of records waiting in memory for the next block."""
        return len(self._t) + len(self._events)

    def write_notification(
        self,
        sensor_id: str,
        characteristic: str,
        host_t_s: float,
        payload: bytes | bytearray | memoryview,
    ) -> None:
        """Buffer one notification exactly as received (payload copied) and maybe flush."""
        self._check_open()
        if sensor_id not in self._sensor_ids:
            raise ValueError(
                f"unknown sensor id {sensor_id!r}; header has {sorted(self._sensor_ids)}"
            )
        if not isinstance(characteristic, str):
            raise TypeError("characteristic must be a UUID string")
        data = bytes(payload)
        if len(data) > MAX_NOTIFICATION_PAYLOAD:
            raise ValueError(f"payload of {len(data)} bytes exceeds {MAX_NOTIFICATION_PAYLOAD}")
        key = (sensor_id, characteristic)
        idx = self._channel_index.get(key)
        if idx is None:
            idx = self._channel_index[key] = len(self._channels)
            self._channels.append(key)
        now = self._clock()
        if not self._t and not self._events:
            self._oldest_s = now
        self._t.append(float(host_t_s))
        self._ch.append(idx)
        self._len.append(len(data))
        self._payloads += data
        self._maybe_flush_at(now)

    def write_event(
        self,
        host_t_s: float,
        kind: str,
        data: dict[str, Any] | None = None,
        *,
        sensor_id: str | None = None,
    ) -> None:
        """Buffer one event (``data`` must be a JSON object) and maybe flush."""
        self._check_open()
        if sensor_id is not None and sensor_id not in self._sensor_ids:
            raise ValueError(
                f"unknown sensor id {sensor_id!r}; header has {sorted(self._sensor_ids)}"
            )
        ev = Event(host_t_s=host_t_s, sensor_id=sensor_id, kind=kind, data=data or {})
        js = json.dumps({"sensor_id": ev.sensor_id, "kind": ev.kind, "data": ev.data})
        now = self._clock()
        if not self._t and not self._events:
            self._oldest_s = now
        self._events.append((len(self._t), ev.host_t_s, js.encode("utf-8")))
        self._maybe_flush_at(now)

    def maybe_flush(self, now_s: float | None = None) -> bool:
        """Write the buffer if its oldest record is ``flush_interval_s`` old; True if written."""
        self._check_open()
        return self._maybe_flush_at(self._clock() if now_s is None else now_s)

    def flush(self) -> None:
        """Write everything buffered now (no-op when the buffer is empty)."""
        self._check_open()
        self._flush_buffer()

    def close(self) -> None:
        """Flush, fsync if configured, and close the file. Idempotent."""
        if self._fd is None:
            return
        try:
            self._flush_buffer()
            if self.fsync_interval_s is not None:
                self._fsync()
        finally:
            fd, self._fd = self._fd, None
            os.close(fd)

    # -- internals -------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._fd is None:
            raise ValueError(f"recording writer for {self.path} is closed")

    def _reset_buffer(self) -> None:
        self._channels: list[tuple[str, str]] = []
        self._channel_index: dict[tuple[str, str], int] = {}
        self._t: array[float] = array("d")
        self._ch: array[int] = array("H")
        self._len: array[int] = array("H")
        self._payloads = bytearray()
        self._events: list[tuple[int, float, bytes]] = []

    def _maybe_flush_at(self, now_s: float) -> bool:
        if not self._t and not self._events:
            return False
        if now_s - self._oldest_s >= self.flush_interval_s or (
            len(self._payloads) >= MAX_BUFFERED_BYTES
        ):
            self._flush_buffer()
            return True
        return False

    def _flush_buffer(self) -> None:
        n_notes, n_events = len(self._t), len(self._events)
        if n_notes == 0 and n_events == 0:
            return
        payload = encode_records(
            channels=self._channels,
            host_t_s=self._t,
            channel=self._ch,
            length=self._len,
            payloads=self._payloads,
            events=self._events,
        )
        self._reset_buffer()  # a failed write loses this block, never corrupts the next one
        self._write(self._frame(BLOCK_RECORDS, payload))
        self._flushed_notifications += n_notes
        self._flushed_events += n_events
        if self.fsync_interval_s is not None:
            now = self._clock()
            if now - self._last_fsync_s >= self.fsync_interval_s:
                self._fsync()

    def _frame(self, block_type: int, payload: bytes) -> bytes:
        block = frame_block(block_type, self._seq, payload)
        self._seq += 1
        return block

    def _write(self, data: bytes) -> None:
        assert self._fd is not None
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:
            raise RecordingError(f"{self.path}: write failed ({exc.strerror})") from None

    def _fsync(self) -> None:
        assert self._fd is not None
        try:
            os.fsync(self._fd)
        except OSError as exc:
            raise RecordingError(f"{self.path}: fsync failed ({exc.strerror})") from None
        self._last_fsync_s = self._clock()
