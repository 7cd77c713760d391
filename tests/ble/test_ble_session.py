"""Live sessions through bleak's public API against emulated sensors on a bumble LocalLink."""

from __future__ import annotations

import asyncio
import functools
import itertools
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from imugait.ble import SensorFaults, SensorStats, SimBackend, run_session, sim_backend
from imugait.ble.models_vendor import POLAR_EPOCH_OFFSET_NS
from imugait.ble.session import SessionStatus, make_notify_callback
from imugait.errors import DeviceError
from imugait.ingest.protocols import movesense as ms
from imugait.ingest.protocols import polar as pm
from imugait.ingest.protocols import reference as ref
from imugait.ingest.recording import read_recording
from imugait.ingest.replay import decode_recording
from imugait.sim import Scenario, Simulation, simulate
from imugait.types import FrameBatch

from ._sim import RecordingProcessor, SimRun, run_sim_session, walk

pm_epoch_s = POLAR_EPOCH_OFFSET_NS * 1e-9


def _recorded_counts(run: SimRun) -> dict[str, int]:
    rec = read_recording(run.path)
    assert rec.problems == []
    return {
        s.label: len(rec.payloads_by_sensor(s.label, ref.DATA_UUID)[1]) for s in run.backend.sensors
    }


@pytest.mark.slow
def test_four_sensors_200hz_20s_zero_loss_every_frame_recorded(rec_path: Path) -> None:
    run = run_sim_session(rec_path, seconds=20.0)
    recorded = _recorded_counts(run)
    for s in run.backend.sensors:
        st = run.result.sensors[s.label]
        assert s.stats.dropped == 0
        assert s.stats.sent > 0.95 * 20.0 * 200.0 / 4  # ~1000 frames of 4 samples in 20 s
        assert recorded[s.label] == s.stats.sent  # every frame the sensor sent is in the file
        assert st.notifications == s.stats.sent
        assert st.lost_frames == 0
        assert st.bad_packets == 0
        assert st.queue_overflows == 0
        assert st.samples == 4 * s.stats.sent
        assert st.battery_pct == 87
        assert st.att_mtu == 247
    # what the processor got is what the replay of the recording gives
    decoded = decode_recording(read_recording(rec_path))
    for sid, batches in run.processor.batches.items():
        live_acc = np.concatenate([b.acc_m_s2 for b in batches])
        live_host = np.concatenate([b.host_t_s for b in batches])
        assert np.array_equal(live_acc, decoded[sid].batch.acc_m_s2)
        assert np.array_equal(live_host, decoded[sid].batch.host_t_s)
        seq = decoded[sid].batch.seq
        assert np.all(np.diff(seq) == 1)
    # latency arrival -> processed is measured for every notification
    assert run.result.latency.count == sum(recorded.values())


def test_stream_carries_the_walkers_samples_on_the_sensor_clock(rec_path: Path) -> None:
    run = run_sim_session(rec_path, seconds=2.0, n_sensors=1)
    emu = run.backend.sensors[0]
    src = emu.model.source
    batch = run.processor.batches["LT"][0]
    k0 = round((batch.sensor_t_s[0] - src.sensor_t_start_s) * src.fs_hz)
    acc, gyr = src.samples(k0, batch.n_samples)
    cfg = ref.ReferenceConfig(odr_hz=200.0)
    acc_q, gyr_q = ref.quantise(acc, gyr, cfg)
    np.testing.assert_array_equal(batch.acc_m_s2, acc_q * cfg.acc_m_s2_per_lsb)
    np.testing.assert_array_equal(batch.gyr_rad_s, gyr_q * cfg.gyr_rad_s_per_lsb)
    # host arrival follows true time: sensor time minus offset, scaled by drift
    t_true = (batch.sensor_t_s[-1] - src.clock_offset_s) / (1 + src.clock_drift_ppm * 1e-6)
    host_since_radio = (
        batch.host_t_s[0] + read_recording(rec_path).header.host_t0_s - (run.backend.t0)
    )
    assert host_since_radio >= t_true  # causal: sent after its last sample was taken
    assert host_since_radio - t_true < 2.0  # and on the same clock (not seconds off)


def test_injected_drops_are_counted_exactly(rec_path: Path) -> None:
    faults = {
        "LT": SensorFaults(drop_frames=frozenset({0, 1, 4, 5, 40, 41, 90})),
        "RT": SensorFaults(drop_prob=0.05, seed=7),
        "LS": SensorFaults(drop_prob=0.2, seed=8),
    }
    run = run_sim_session(rec_path, seconds=3.0, faults=faults)
    recorded = _recorded_counts(run)
    for s in run.backend.sensors:
        st = run.result.sensors[s.label]
        # exact, but for drops after the last frame sent, which no host can see
        assert st.lost_frames == s.stats.dropped - s.stats.dropped_at_end, s.label
        assert recorded[s.label] == s.stats.sent
    assert run.backend.sensor("LT").stats.dropped == 7
    assert run.result.sensors["LT"].lost_frames == 7  # including the first two frames
    assert run.backend.sensor("LS").stats.dropped > 10
    assert run.result.sensors["RS"].lost_frames == 0


def test_peripheral_disconnect_reconnects_and_stream_resumes(rec_path: Path) -> None:
    faults = {"RT": SensorFaults(disconnect_at_s=(1.5,), readvertise_after_s=0.4)}
    run = run_sim_session(rec_path, seconds=4.0, faults=faults)
    emu = run.backend.sensor("RT")
    st = run.result.sensors["RT"]
    assert emu.stats.peripheral_disconnects == 1
    assert st.connections == 2
    assert st.disconnections == 1
    assert len(emu.stats.sent_per_connection) == 2
    assert emu.stats.sent_per_connection[1] > 50  # > 1 s of streaming after the reconnect
    assert _recorded_counts(run)["RT"] == emu.stats.sent
    # the others were not disturbed
    for sid in ("LT", "LS", "RS"):
        assert run.result.sensors[sid].connections == 1
        assert run.result.sensors[sid].lost_frames == 0
    rec = read_recording(rec_path)
    kinds = [e.kind for e in rec.events_of(sensor_id="RT")]
    i = kinds.index("disconnected")
    assert kinds[i + 1 : i + 4] == ["connected", "sensor_info", "reanchor"]
    # reanchor sits between the two connections' notifications
    t_re = rec.events_of("reanchor", "RT")[0].host_t_s
    t_rt, payloads = rec.payloads_by_sensor("RT", ref.DATA_UUID)
    seq_after = [
        ref.decode_frame(p, ref.ReferenceConfig()).seq
        for p, t in zip(payloads, t_rt, strict=True)
        if t > t_re
    ]
    assert seq_after[0] == 0  # START restarts seq
    assert run.processor.log.count(("reconnect", "RT")) == 1
    assert st.lost_frames == 0  # the restart of seq is not counted as loss


def test_missing_sensor_is_reported_while_the_others_stream(
    rec_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    faults = {"RS": SensorFaults(absent=True)}
    run = run_sim_session(rec_path, seconds=1.5, faults=faults, discovery_timeout_s=1.0)
    assert run.result.not_found == ("RS",)
    assert "sensor RS (IMG-0004) not found within 1 s" in caplog.text
    rec = read_recording(rec_path)
    assert [e.kind for e in rec.events_of(sensor_id="RS")] == ["not_found"]
    assert run.result.sensors["RS"].notifications == 0
    for sid in ("LT", "RT", "LS"):
        assert run.result.sensors[sid].notifications > 50


def test_slow_sensor_found_later_by_the_background_search(rec_path: Path) -> None:
    faults = {"LS": SensorFaults(advertise_delay_s=1.5)}
    run = run_sim_session(rec_path, seconds=4.0, faults=faults, discovery_timeout_s=0.8)
    assert run.result.not_found == ("LS",)
    st = run.result.sensors["LS"]
    assert st.connections == 1
    assert st.notifications > 50
    assert _recorded_counts(run)["LS"] == run.backend.sensor("LS").stats.sent


def test_no_sensor_found_is_a_clear_error_and_creates_no_file(rec_path: Path) -> None:
    faults = {k: SensorFaults(absent=True) for k in ("LT", "RT", "LS", "RS")}
    with pytest.raises(DeviceError, match="none of the configured sensors was found"):
        run_sim_session(rec_path, seconds=1.0, faults=faults, discovery_timeout_s=0.5)
    assert not rec_path.exists()


def test_bursts_arrive_without_loss(rec_path: Path) -> None:
    faults = {"LT": SensorFaults(burst_every_s=0.5, burst_len=6)}
    run = run_sim_session(rec_path, seconds=3.0, faults=faults, n_sensors=2)
    rec = read_recording(rec_path)
    t, _ = rec.payloads_by_sensor("LT", ref.DATA_UUID)
    gaps = np.diff(t)
    assert gaps.max() > 0.1  # 6 frames of 20 ms held back
    assert int(np.sum(gaps < 0.005)) >= 10  # then delivered back to back
    assert run.result.sensors["LT"].lost_frames == 0
    assert len(t) == run.backend.sensor("LT").stats.sent


def test_mtu_23_uses_one_sample_per_frame(rec_path: Path) -> None:
    faults = {"LT": SensorFaults(max_mtu=23)}
    run = run_sim_session(rec_path, seconds=1.5, faults=faults, n_sensors=2)
    st = run.result.sensors["LT"]
    assert st.att_mtu == 23
    assert st.bad_packets == 0
    assert st.lost_frames == 0
    assert st.samples == st.notifications > 200  # 200 Hz, one sample per 20-byte frame
    _, payloads = read_recording(rec_path).payloads_by_sensor("LT", ref.DATA_UUID)
    assert {len(p) for p in payloads} == {20}
    assert run.result.sensors["RT"].att_mtu == 247


def test_truncated_oversize_frames_are_bad_packets_not_fatal(rec_path: Path) -> None:
    # firmware that ignores the MTU: 56-byte frames truncated by the stack to 20 bytes
    faults = {"LT": SensorFaults(max_mtu=23, ignore_mtu=True)}
    run = run_sim_session(rec_path, seconds=1.5, faults=faults, n_sensors=2)
    st = run.result.sensors["LT"]
    assert st.notifications > 30
    assert st.bad_packets == st.notifications
    assert st.samples == 0
    _, payloads = read_recording(rec_path).payloads_by_sensor("LT", ref.DATA_UUID)
    assert {len(p) for p in payloads} == {20}
    assert run.result.sensors["RT"].bad_packets == 0
    assert run.result.sensors["RT"].notifications > 50


class _SlowProcessor(RecordingProcessor):
    def on_batch(self, sensor_id: str, batch: FrameBatch) -> None:
        time.sleep(0.005)  # a processor slower than the data: the queue must not grow
        super().on_batch(sensor_id, batch)


def test_notify_callback_never_blocks_and_counts_overflows() -> None:
    async def main() -> None:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stats = SensorStats("LT", ref.PROTOCOL_NAME)
        cb = make_notify_callback("LT", queue, stats, max_items=4)
        char = SimpleNamespace(uuid=ref.DATA_UUID)
        for i in range(10):
            cb(char, bytearray([i]))  # type: ignore[arg-type]
        assert queue.qsize() == 4
        assert stats.queue_overflows == 6
        items = [queue.get_nowait() for _ in range(4)]
        assert [bytes(it[3]) for it in items] == [bytes([i]) for i in range(4)]
        assert all(it[:2] == ("LT", ref.DATA_UUID) for it in items)
        assert all(a[2] <= b[2] for a, b in itertools.pairwise(items))

    asyncio.run(main())


def test_full_queue_drops_and_counts_in_a_session(rec_path: Path) -> None:
    faults = {k: SensorFaults(burst_every_s=0.8, burst_len=25) for k in ("LT", "RT", "LS", "RS")}
    run = run_sim_session(
        rec_path, seconds=2.0, processor=_SlowProcessor(), queue_size=1, faults=faults
    )
    recorded = _recorded_counts(run)
    total_overflow = 0
    for s in run.backend.sensors:
        st = run.result.sensors[s.label]
        assert recorded[s.label] + st.queue_overflows == s.stats.sent
        assert st.notifications == recorded[s.label]
        total_overflow += st.queue_overflows
    assert total_overflow > 0


def test_cancellation_closes_the_recording(rec_path: Path) -> None:
    async def main() -> None:
        be = sim_backend(simulation=walk(), n_sensors=2)
        async with be:
            cfg = be.session_config(subject_id="S01", out=rec_path)
            task = asyncio.create_task(run_session(cfg, backend=be))
            await asyncio.sleep(1.5)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            for s in be.sensors:
                assert not s.connected

    asyncio.run(main())
    rec = read_recording(rec_path)
    assert rec.problems == []
    assert rec.events[-1].kind == "session_end"
    assert rec.n_notifications > 50


def test_stop_event_ends_the_session_and_status_is_reported(rec_path: Path) -> None:
    statuses: list[SessionStatus] = []

    async def main() -> None:
        be = sim_backend(simulation=walk(), n_sensors=2)
        async with be:
            cfg = be.session_config(subject_id="S01", out=rec_path)
            stop = asyncio.Event()
            asyncio.get_running_loop().call_later(1.6, stop.set)
            session = run_session(
                cfg, backend=be, stop_event=stop, on_status=statuses.append, status_interval_s=0.5
            )
            await asyncio.wait_for(session, 60.0)  # a hang guard: stop_event ends it

    asyncio.run(main())
    assert len(statuses) >= 2
    last = statuses[-1].sensors
    assert all(s.connected for s in last)
    assert all(s.notifications > 0 and s.sample_rate_hz > 0 for s in last)
    assert read_recording(rec_path).events[-1].kind == "session_end"


@functools.cache
def _walk_208() -> Simulation:
    return simulate(Scenario(duration_s=6.0, fs_hz=208.0, stand_start_s=1.0, seed=12))


def test_polar_and_movesense_sensors_stream_through_their_protocols(rec_path: Path) -> None:
    protocols = [ref.PROTOCOL_NAME, pm.PROTOCOL_NAME, ms.PROTOCOL_NAME, ms.PROTOCOL_NAME]
    proc = RecordingProcessor()

    async def main() -> SimBackend:
        faults = {"RS": SensorFaults(max_mtu=23)}  # Movesense packets split in two parts
        be = sim_backend(simulation=_walk_208(), protocol=protocols, faults=faults)
        async with be:
            cfg = be.session_config(subject_id="S01", out=rec_path)
            res = await run_session(cfg, backend=be, processor=proc, duration_s=3.0)
        for s in be.sensors:
            st = res.sensors[s.label]
            assert st.bad_packets == 0, s.label
            assert 2.5 * 208 < st.samples < 3.5 * 208, s.label
        return be

    be = asyncio.run(main())
    rec = read_recording(rec_path)
    polar_cfg = rec.header.sensor("RT").config
    assert polar_cfg["gyr_factor"] == pytest.approx(2000 / 32768)  # from the start response
    assert polar_cfg["acc_factor"] == 1.0
    decoded = decode_recording(rec)
    for s in be.sensors:
        batches = proc.batches[s.label]
        live_acc = np.concatenate([b.acc_m_s2 for b in batches])
        assert np.array_equal(live_acc, decoded[s.label].batch.acc_m_s2)  # replay == live
        # the values are the walker's, within each protocol's resolution
        t = np.concatenate([b.sensor_t_s for b in batches])
        src = s.model.source
        t_sensor = t - (pm_epoch_s if s.protocol == pm.PROTOCOL_NAME else 0.0)
        k = np.rint((t_sensor - src.sensor_t_start_s) * src.fs_hz).astype(int)
        acc, gyr = src.samples(int(k[0]), int(k[-1] - k[0] + 1))
        live_gyr = np.concatenate([b.gyr_rad_s for b in batches])
        tol_acc = {ref.PROTOCOL_NAME: 0.005, pm.PROTOCOL_NAME: 0.005, ms.PROTOCOL_NAME: 1e-5}
        np.testing.assert_allclose(live_acc, acc[k - k[0]], atol=tol_acc[s.protocol])
        np.testing.assert_allclose(live_gyr, gyr[k - k[0]], atol=1e-3)
    _, parts = rec.payloads_by_sensor("RS")
    assert {p[0] for p in parts} >= {ms.Reply.DATA, ms.Reply.DATA_PART2}
