"""Piecewise decoding of recordings (RecordingStream, SensorDecoder) equals whole decoding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from imugait.analyze import analyze_path
from imugait.ingest.protocols.movesense import MovesenseConfig, encode_stream
from imugait.ingest.recording import SensorEntry, read_recording
from imugait.ingest.replay import RecordingStream, SensorDecoder, decode_recording
from imugait.kinematics import knee_calibration_from_header
from imugait.pipeline import GaitPipeline, SensorSpec
from imugait.sim import PRESETS, simulate
from imugait.sim.record import write_simulation
from imugait.types import FrameBatch, Location
from imugait.units import DEG_PER_RAD


@pytest.fixture(scope="module")
def rec_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sc = PRESETS["lossy_drift"].with_(duration_s=25.0, stand_start_s=2.0, stand_end_s=2.0, seed=3)
    out = Path(tmp_path_factory.mktemp("rec")) / "s.imurec"
    write_simulation(simulate(sc), out)
    return out


def _cat(batches: list[FrameBatch]) -> dict[str, np.ndarray]:
    return {
        k: np.concatenate([getattr(b, k) for b in batches])
        for k in ("host_t_s", "seq", "sensor_t_s", "acc_m_s2", "gyr_rad_s")
    }


@pytest.mark.parametrize("chunk", [1, 7, 100, 10**6])
def test_pieces_equal_whole_decoding(rec_path: Path, chunk: int) -> None:
    whole = decode_recording(read_recording(rec_path))
    stream = RecordingStream(rec_path, chunk_notifications=chunk)
    got: dict[str, list[FrameBatch]] = {}
    n_pieces = 0
    for piece in stream:
        n_pieces += 1
        for sid, batch in piece:
            got.setdefault(sid, []).append(batch)
    assert (n_pieces > 1) == (chunk < 10**6)
    assert sorted(got) == sorted(whole)
    for sid, d in whole.items():
        a, b = _cat([d.batch]), _cat(got[sid])
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
        assert stream.decoders[sid].notifications == d.notifications
    assert stream.problems == read_recording(rec_path).problems == []


def test_analyze_streams_the_same_result_as_the_whole_push(rec_path: Path) -> None:
    """analyze_path (piecewise) = the pipeline fed each sensor's whole decoded stream."""
    rec = read_recording(rec_path)
    decoded = decode_recording(rec)
    specs = [SensorSpec(sid, d.entry.location, d.nominal_fs_hz) for sid, d in decoded.items()]
    pipe = GaitPipeline(specs, calibration=knee_calibration_from_header(rec.header.calibration))
    outs = [pipe.push_frames(sid, d.batch) for sid, d in decoded.items()]
    outs.append(pipe.flush())
    strides = sorted((s for o in outs for s in o.strides), key=lambda s: (s.side, s.ic_t_s))
    res = analyze_path(rec_path)
    table = res.strides.sort_values(["side", "ic_t_s"])
    assert len(strides) >= 10
    np.testing.assert_array_equal(table["ic_t_s"].to_numpy(), [s.ic_t_s for s in strides])
    np.testing.assert_array_equal(table["fc_t_s"].to_numpy(), [s.fc_t_s for s in strides])
    knee = np.concatenate(
        [k.knee_flexion_rad for o in outs for k in o.knee if k.side.value == "left"]
    )
    got = res.knee[res.knee["side"] == "left"]["knee_flexion_deg"].to_numpy()
    np.testing.assert_array_equal(got, knee * DEG_PER_RAD)
    assert np.isfinite(table["impact_peak_m_s2"]).mean() > 0.8


def test_stateful_decoder_carries_split_packets_across_pieces() -> None:
    """Movesense frames split over two notifications decode the same when cut between them."""
    cfg = MovesenseConfig(rate_hz=208, ref=3)
    rng = np.random.default_rng(0)
    acc, gyr = rng.normal(0, 5, (96, 3)), rng.normal(0, 2, (96, 3))
    payloads = encode_stream(acc, gyr, cfg, samples_per_packet=8, max_notification_bytes=158)
    host = np.arange(len(payloads)) * 0.04
    entry = SensorEntry("M", "movesense-gsp-1", Location.LEFT_SHANK, config=cfg.to_dict())
    whole = SensorDecoder(entry).decode(host, payloads)
    dec = SensorDecoder(entry)
    parts = [dec.decode(host[a : a + 3], payloads[a : a + 3]) for a in range(0, len(payloads), 3)]
    assert whole.n_frames == 12
    a, b = _cat([whole]), _cat(parts)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert dec.bad_notifications == 0
    assert dec.problems == ()


def test_analyze_result_does_not_depend_on_the_piece_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pieces longer than the impact stream's memory, split by frame losses into many blocks,
    give the same stride table (impact columns included) as small pieces."""
    import functools

    import imugait.analyze as analyze_mod

    sc = PRESETS["lossy_drift"].with_(duration_s=150.0, seed=4)
    path = tmp_path / "long.imurec"
    write_simulation(simulate(sc), path)
    tables = []
    for chunk in (512, 10**6):
        monkeypatch.setattr(
            analyze_mod,
            "RecordingStream",
            functools.partial(RecordingStream, chunk_notifications=chunk),
        )
        tables.append(analyze_path(path).strides)
    small, whole = tables
    assert len(small) > 100
    assert np.isfinite(whole["impact_peak_m_s2"]).mean() > 0.5
    for col in ("ic_t_s", "fc_t_s", "impact_peak_m_s2", "impact_time_to_peak_s"):
        np.testing.assert_array_equal(whole[col].to_numpy(), small[col].to_numpy())
