"""Tests of the Polar Verity Sense PMD protocol (imugait.ingest.protocols.polar)."""

from __future__ import annotations

import contextlib
import json
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from imugait.errors import ConfigError, DecodeError
from imugait.ingest.protocols import get_protocol
from imugait.ingest.protocols._polar_data import (
    encode_delta_content,
    parse_delta_content,
    parse_header,
)
from imugait.ingest.protocols._polar_pmd import (
    ControlResponse,
    MeasurementStopped,
    MeasurementType,
    ResponseStatus,
    SettingType,
    encode_control_response,
    encode_factor,
    encode_get_settings,
    encode_sdk_mode,
    encode_settings,
    encode_start,
    encode_stop,
    parse_control_notification,
    parse_features,
    parse_settings,
)
from imugait.ingest.protocols.polar import (
    PMD_CONTROL_UUID,
    PMD_DATA_UUID,
    PMD_SERVICE_UUID,
    POLAR_PROTOCOL,
    PolarConfig,
    PolarDecoder,
    encode_frame,
    encode_stream,
    parse_frame,
    quantise,
    sample_times_ns,
    start_commands,
    stop_commands,
)
from imugait.types import SensorFrame
from imugait.units import G_M_S2, RAD_PER_DEG

ACC, GYRO = MeasurementType.ACC, MeasurementType.GYRO
CFG = PolarConfig(rate_hz=208, acc_range_g=8, gyr_range_dps=2000)
T0_NS = 741_000_000_000_000_000  # ~2023 in ns since 2000-01-01

# Hand-built from the documented layout (firmware_notes/polar_verity_sense.md §4.2):
# ACC (02), timestamp 1e9 ns, frame type 0x81 (delta, type 1 = 16 bit),
# reference sample (1000, -2, 0) milli-g, then
#   block 1: width 4, count 2, deltas (+1, -1, +7), (-8, 0, +3)
#            nibbles LSB-first 1 f 7 8 0 3 -> bytes f1 87 30
#   block 2: width 3, count 1, delta (-4, +3, +1)
#            bits 001|110|100 read LSB-first -> 0b01011100, 0b0 -> bytes 5c 00
KNOWN_DELTA_FRAME = bytes.fromhex(
    "02 00ca9a3b00000000 81  e803 feff 0000  04 02 f1 87 30  03 01 5c 00".replace(" ", "")
)
KNOWN_DELTA_SAMPLES = [[1000, -2, 0], [1001, -3, 7], [993, -3, 10], [989, 0, 11]]


# ------------------------------------------------------------------ data frames


def test_known_answer_delta_frame() -> None:
    frame = parse_frame(KNOWN_DELTA_FRAME)
    assert (frame.measurement_type, frame.timestamp_ns, frame.frame_type) == (2, 10**9, 0x81)
    assert frame.values.tolist() == KNOWN_DELTA_SAMPLES
    # and our encoder, cutting blocks of 2 samples with minimal widths, gives the same bytes
    assert encode_frame(ACC, 10**9, KNOWN_DELTA_SAMPLES, compressed=True, block_samples=2) == (
        KNOWN_DELTA_FRAME
    )


def test_raw_acc_frame_layout() -> None:
    payload = encode_frame(
        ACC, 0x0102030405060708, [[1, -1, 32767], [-32768, 0, 2]], compressed=False
    )
    assert payload == bytes.fromhex(
        "02 0807060504030201 01 0100 ffff ff7f 0080 0000 0200".replace(" ", "")
    )
    assert parse_frame(payload).values.tolist() == [[1, -1, 32767], [-32768, 0, 2]]
    assert parse_header(payload) == (2, 0x0102030405060708, 0x01)


def test_gyro_frames_and_float_type() -> None:
    s = [[-22, 8, 13], [-23, 11, 16]]
    p = encode_frame(GYRO, 5, s, compressed=True)
    assert p[9] == 0x80
    assert parse_frame(p).values.tolist() == s
    assert parse_frame(encode_frame(GYRO, 5, s, compressed=False)).values.tolist() == s
    # GYRO compressed type 1: deltas on float32 bit patterns, summed modulo 2**32
    ref = struct.pack("<3f", 1.0, 10.0, -2.0)
    bits = [struct.unpack("<I", struct.pack("<f", v))[0] for v in (1.0, 10.0, -2.0, 3.0, 10.0, 2.0)]
    deltas = [(bits[i + 3] - bits[i] + 2**31) % 2**32 - 2**31 for i in range(3)]
    d_bytes = np.packbits(
        [(d >> k) & 1 for d in deltas for k in range(32)], bitorder="little"
    ).tobytes()
    payload = bytes([5]) + (7).to_bytes(8, "little") + b"\x81" + ref + b"\x20\x01" + d_bytes
    assert parse_frame(payload).values.tolist() == [[1.0, 10.0, -2.0], [3.0, 10.0, 2.0]]
    nan_ref = struct.pack("<3f", 1.0, float("nan"), 0.0)
    with pytest.raises(DecodeError, match="NaN"):
        parse_frame(bytes([5]) + bytes(8) + b"\x81" + nan_ref)


@settings(max_examples=150, deadline=None)
@given(
    hnp.arrays(
        np.int64, st.tuples(st.integers(1, 60), st.just(3)), elements=st.integers(-32768, 32767)
    ),
    st.integers(1, 255),
)
def test_delta_round_trip_is_lossless(samples: np.ndarray, block: int) -> None:
    content = encode_delta_content(samples, 16, block_samples=block)
    assert parse_delta_content(content, 16).tolist() == samples.tolist()


def test_delta_compression_actually_compresses_smooth_signals() -> None:
    t = np.arange(200) / 208
    s = np.rint(np.column_stack([1000 * np.sin(2 * t), 300 * np.cos(3 * t), 50 * t])).astype(
        np.int64
    )
    assert len(encode_delta_content(s, 16)) < 0.5 * s.size * 2


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b"\x02" + bytes(8), "shorter than its 10-byte header"),
        (b"\x02" + bytes(8) + b"\x05", "unsupported PMD frame"),
        (b"\x02" + bytes(8) + b"\x01" + bytes(5), "whole number"),
        (b"\x02" + bytes(8) + b"\x81" + bytes(5), "reference sample"),
        (b"\x02" + bytes(8) + b"\x81" + bytes(6) + b"\x00\x01\x00", "bit width 0"),
        (b"\x02" + bytes(8) + b"\x81" + bytes(6) + b"\x21\x01" + bytes(20), "bit width 33"),
        (b"\x02" + bytes(8) + b"\x81" + bytes(6) + b"\x08\x02" + bytes(5), "runs past the end"),
        (b"\x02" + bytes(8) + b"\x81" + bytes(6) + b"\x08", "header cut short"),
    ],
)
def test_bad_frames_raise_decode_error(payload: bytes, match: str) -> None:
    with pytest.raises(DecodeError, match=match):
        parse_frame(payload)


def test_encoders_reject_misuse() -> None:
    with pytest.raises(ValueError, match="16-bit"):
        encode_frame(ACC, 0, [[40000, 0, 0]], compressed=True)
    with pytest.raises(ValueError, match="shape"):
        encode_frame(ACC, 0, [[1.5, 0, 0]], compressed=False)
    with pytest.raises(ValueError, match="u64"):
        encode_frame(ACC, -1, [[0, 0, 0]], compressed=False)
    with pytest.raises(ValueError, match="ACC and GYRO"):
        encode_frame(MeasurementType.PPG, 0, [[0, 0, 0]], compressed=False)
    with pytest.raises(ValueError, match="block_samples"):
        encode_delta_content([[0, 0, 0]], 16, block_samples=0)


# ------------------------------------------------------------------ control point


def test_command_bytes() -> None:
    assert encode_sdk_mode(enable=True) == bytes.fromhex("0209")
    assert encode_sdk_mode(enable=False) == bytes.fromhex("0309")
    # the example of docs/ble.md §2.3: ACC 200 Hz / 16 bit / 8 g, no CHANNELS
    assert encode_start(ACC, rate_hz=200, range_value=8, channels=None) == bytes.fromhex(
        "0202 0001c800 01011000 02010800".replace(" ", "")
    )
    assert encode_start(GYRO, rate_hz=208, range_value=2000) == bytes.fromhex(
        "0205 0001d000 01011000 0201d007 040103".replace(" ", "")
    )
    assert encode_stop(GYRO) == b"\x03\x05"
    assert encode_get_settings(ACC) == b"\x01\x02"
    assert encode_get_settings(ACC, sdk_mode=True) == b"\x04\x02"
    assert start_commands(CFG) == [
        b"\x02\x09",
        encode_start(ACC, rate_hz=208, range_value=8),
        encode_start(GYRO, rate_hz=208, range_value=2000),
    ]
    assert stop_commands() == [b"\x03\x02", b"\x03\x05", b"\x03\x09"]
    with pytest.raises(ValueError, match="fitting 1 byte"):
        encode_settings({SettingType.CHANNELS: 256})
    assert encode_settings({SettingType.FACTOR: 3}) == b""


def test_settings_response_parse() -> None:
    params = bytes.fromhex("00 02 3400 d000 01 01 1000 02 02 0200 0800 04 01 03".replace(" ", ""))
    resp = parse_control_notification(bytes.fromhex("f0 01 02 00 00") + params)
    assert isinstance(resp, ControlResponse)
    assert resp.ok
    assert (resp.opcode, resp.measurement_type, resp.more) == (1, 2, False)
    assert parse_settings(resp.parameters) == {
        SettingType.SAMPLE_RATE: (52, 208),
        SettingType.RESOLUTION: (16,),
        SettingType.RANGE: (2, 8),
        SettingType.CHANNELS: (3,),
    }


def test_start_response_factor() -> None:
    plain = parse_control_notification(bytes.fromhex("f0 02 02 00 00"))
    assert isinstance(plain, ControlResponse)
    assert plain.factor() == 1.0
    with_factor = encode_control_response(2, 5, parameters=encode_factor(0.0625))
    resp = parse_control_notification(with_factor)
    assert isinstance(resp, ControlResponse)
    assert resp.factor() == 0.0625
    bad = parse_control_notification(encode_control_response(2, 5, parameters=encode_factor(-1.0)))
    assert isinstance(bad, ControlResponse)
    with pytest.raises(DecodeError, match="FACTOR"):
        bad.factor()


def test_error_response_and_stopped_notification() -> None:
    resp = parse_control_notification(bytes.fromhex("f0 02 05 08 00 ff ff"))
    assert isinstance(resp, ControlResponse)
    assert not resp.ok
    assert resp.status_name == "ERROR_INVALID_SAMPLE_RATE"
    assert resp.parameters == b""
    odd = parse_control_notification(bytes.fromhex("f0 02 05 63"))
    assert isinstance(odd, ControlResponse)
    assert odd.status_name == "UNKNOWN_STATUS_99"
    stopped = parse_control_notification(b"\x01\x02\x05")
    assert stopped == MeasurementStopped((2, 5))
    for bad in (b"", b"\x07\x00", b"\xf0\x02\x02"):
        with pytest.raises(DecodeError):
            parse_control_notification(bad)
    assert int(ResponseStatus.ERROR_INVALID_STATE) == 12


def test_features_and_uuids() -> None:
    assert parse_features(bytes.fromhex("0f 24 02")) == {ACC, GYRO, MeasurementType.SDK_MODE}
    with pytest.raises(DecodeError):
        parse_features(b"\x0f\x00")
    assert PMD_SERVICE_UUID == "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
    assert PMD_CONTROL_UUID.startswith("fb005c81")
    assert POLAR_PROTOCOL.data_uuid == PMD_DATA_UUID


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_control_parsers_raise_only_decode_error(payload: bytes) -> None:
    for fn in (parse_control_notification, parse_settings, parse_features):
        with contextlib.suppress(DecodeError):
            fn(payload)


# ------------------------------------------------------------------ timing, config


def test_sample_times() -> None:
    p = 1e9 / 208
    first = sample_times_ns(T0_NS, 4, None, p)
    assert first[-1] == T0_NS
    np.testing.assert_allclose(np.diff(first), p, atol=1)
    # second frame: the 5 samples split the interval since the previous timestamp evenly
    nxt = sample_times_ns(T0_NS + 5 * 4_900_000, 5, T0_NS, p)
    assert nxt.tolist() == [T0_NS + k * 4_900_000 for k in range(1, 6)]
    # a step of 3 periods per sample (lost frames) falls back to nominal spacing
    gap = sample_times_ns(T0_NS + 15 * 4_807_692, 5, T0_NS, p)
    np.testing.assert_allclose(np.diff(gap), p, atol=1)
    assert gap[-1] == T0_NS + 15 * 4_807_692


def test_config_dict_and_validation() -> None:
    c = PolarConfig(rate_hz=104, acc_range_g=16, gyr_range_dps=1000, acc_factor=0.5)
    assert PolarConfig.from_dict(json.loads(json.dumps(c.to_dict()))) == c
    assert c.acc_m_s2_per_count == pytest.approx(0.5e-3 * G_M_S2)
    for bad in (
        {"rate_hz": 200},
        {"acc_range_g": 3},
        {"gyr_factor": 0},
        {"x": 1},
        {"rate_hz": True},
    ):
        with pytest.raises(ConfigError):
            PolarConfig.from_dict(bad)
    with pytest.raises(TypeError):
        PolarDecoder(config={"rate_hz": 208})  # type: ignore[arg-type]


# ------------------------------------------------------------------ decoder and pairing


def _signals(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    acc = rng.uniform(-3, 3, (n, 3)) * G_M_S2
    gyr = rng.uniform(-1500, 1500, (n, 3)) * RAD_PER_DEG
    return acc, gyr


def _decode_all(dec: PolarDecoder, msgs: list[tuple[MeasurementType, bytes]]) -> SensorFrame:
    frames = [f for _, p in msgs for f in dec.decode(PMD_DATA_UUID, p)]
    return SensorFrame(
        seq=None,
        sensor_t_s=np.concatenate([f.sensor_t_s for f in frames]),
        acc_m_s2=np.concatenate([f.acc_m_s2 for f in frames]),
        gyr_rad_s=np.concatenate([f.gyr_rad_s for f in frames]),
    )


@pytest.mark.parametrize("compressed", [True, False])
def test_stream_round_trip_within_quantisation(compressed: bool) -> None:
    cfg = PolarConfig(rate_hz=208, acc_factor=1.0, gyr_factor=0.5)
    acc, gyr = _signals(250)
    msgs = encode_stream(
        acc, gyr, cfg, t_first_ns=T0_NS, samples_per_frame=36, compressed=compressed
    )
    assert [m for m, _ in msgs[:4]] == [ACC, GYRO, ACC, GYRO]
    dec = PolarDecoder(config=cfg)
    out = _decode_all(dec, msgs)
    assert out.n == 250
    assert (dec.unpaired_acc, dec.unpaired_gyr) == (0, 0)
    acc_lsb, gyr_lsb = cfg.acc_m_s2_per_count, cfg.gyr_rad_s_per_count
    assert np.max(np.abs(out.acc_m_s2 - acc)) <= 0.5 * acc_lsb * (1 + 1e-9)
    assert np.max(np.abs(out.gyr_rad_s - gyr)) <= 0.5 * gyr_lsb * (1 + 1e-9)
    assert np.max(np.abs(out.acc_m_s2 - acc)) > 0.3 * acc_lsb  # really quantised
    expected_t = (T0_NS + np.rint(np.arange(250) * 1e9 / 208)) * 1e-9
    np.testing.assert_allclose(out.sensor_t_s, expected_t, rtol=0, atol=2e-6)
    assert out.seq is None


def test_pairing_aligns_late_gyro_start_and_order() -> None:
    """GYRO starts 20 samples after ACC and its frames arrive first: pairs stay simultaneous."""
    n = 300
    idx = np.arange(n, dtype=np.float64)
    acc = np.column_stack([idx, -idx, np.zeros(n)]) * 0.01 * G_M_S2  # 10 milli-g per index
    gyr = np.column_stack([idx, idx, idx]) * 2 * RAD_PER_DEG  # 2 deg/s per index
    msgs = encode_stream(
        acc, gyr, CFG, t_first_ns=T0_NS, samples_per_frame=25, gyr_offset_ns=700_000
    )
    acc_msgs = [p for m, p in msgs if m is ACC]
    gyr_msgs = [p for m, p in msgs if m is GYRO][1:]  # GYRO started one frame (25 samples) late
    order: list[bytes] = []
    for a, g in zip(acc_msgs[1:], gyr_msgs, strict=True):
        order += [g, a]  # gyro frame first, then acc
    dec = PolarDecoder(config=CFG)
    out = _decode_all(dec, [(ACC, acc_msgs[0])] + [(ACC, p) for p in order])
    assert out.n == n - 25
    acc_idx = out.acc_m_s2[:, 0] / (0.01 * G_M_S2)
    gyr_idx = out.gyr_rad_s[:, 0] / (2 * RAD_PER_DEG)
    np.testing.assert_allclose(acc_idx, np.arange(25, n), atol=0.06)
    np.testing.assert_allclose(gyr_idx, acc_idx, atol=0.3)
    assert dec.unpaired_acc == 25
    assert dec.unpaired_gyr == 0


def test_output_does_not_depend_on_arrival_interleaving() -> None:
    acc, gyr = _signals(180, seed=5)
    msgs = encode_stream(acc, gyr, CFG, t_first_ns=T0_NS, samples_per_frame=30)
    acc_first = _decode_all(PolarDecoder(config=CFG), msgs)
    swapped = [x for i in range(0, len(msgs), 2) for x in (msgs[i + 1], msgs[i])]
    all_acc_then_gyro = [m for m in msgs if m[0] is ACC] + [m for m in msgs if m[0] is GYRO]
    for order in (swapped, all_acc_then_gyro):
        other = _decode_all(PolarDecoder(config=CFG), order)
        np.testing.assert_array_equal(other.sensor_t_s, acc_first.sensor_t_s)
        np.testing.assert_array_equal(other.acc_m_s2, acc_first.acc_m_s2)
        np.testing.assert_array_equal(other.gyr_rad_s, acc_first.gyr_rad_s)


def test_lost_gyro_frame_drops_only_its_samples() -> None:
    acc, gyr = _signals(200, seed=3)
    msgs = encode_stream(acc, gyr, CFG, t_first_ns=T0_NS, samples_per_frame=20)
    lost = [i for i, (m, _) in enumerate(msgs) if m is GYRO][4]  # samples 80..99
    dec = PolarDecoder(config=CFG)
    out = _decode_all(dec, [x for i, x in enumerate(msgs) if i != lost])
    keep = np.r_[0:80, 100:200]
    assert out.n == 180
    assert dec.unpaired_acc == 20
    np.testing.assert_allclose(out.gyr_rad_s, gyr[keep], atol=CFG.gyr_rad_s_per_count)
    np.testing.assert_allclose(out.acc_m_s2, acc[keep], atol=CFG.acc_m_s2_per_count)
    assert np.max(np.diff(out.sensor_t_s)) == pytest.approx(21 / 208, abs=1e-5)


def test_one_stream_alone_is_bounded_and_other_traffic_ignored() -> None:
    cfg = PolarConfig(rate_hz=52, max_buffer_s=1.0)
    acc, gyr = _signals(200)
    dec = PolarDecoder(config=cfg)
    for m, p in encode_stream(acc, gyr, cfg, t_first_ns=T0_NS, samples_per_frame=10):
        if m is ACC:
            assert dec.decode(PMD_DATA_UUID.upper(), p) == []
    assert dec.unpaired_acc == 200 - 52
    assert dec.decode(PMD_CONTROL_UUID, b"\xf0\x02\x02\x00\x00") == []
    ppg = bytes([1]) + bytes(8) + b"\x00" + bytes(12)
    assert dec.decode(PMD_DATA_UUID, ppg) == []


def test_registry_and_factor_scaling() -> None:
    spec = get_protocol("polar-pmd-1")
    assert spec is POLAR_PROTOCOL
    dec = spec.decoder({"rate_hz": 104, "acc_factor": 1.0, "gyr_factor": 0.5})
    assert (
        dec.decode(PMD_DATA_UUID, encode_frame(ACC, T0_NS, [[1000, 0, -500]], compressed=True))
        == []
    )
    frames = dec.decode(PMD_DATA_UUID, encode_frame(GYRO, T0_NS, [[100, 0, -4]], compressed=True))
    assert len(frames) == 1
    np.testing.assert_allclose(frames[0].acc_m_s2, [[G_M_S2, 0, -0.5 * G_M_S2]])
    np.testing.assert_allclose(frames[0].gyr_rad_s, [[50 * RAD_PER_DEG, 0, -2 * RAD_PER_DEG]])
    assert frames[0].sensor_t_s[0] == pytest.approx(T0_NS * 1e-9)


def test_timestamp_beyond_int64_is_decode_error() -> None:
    dec = PolarDecoder(config=CFG)
    with pytest.raises(DecodeError, match="2292"):
        dec.decode(PMD_DATA_UUID, encode_frame(ACC, 2**64 - 1, [[0, 0, 0]], compressed=False))
    assert (
        dec.decode(PMD_DATA_UUID, encode_frame(ACC, 2**63 - 1, [[0, 0, 0]], compressed=False)) == []
    )


def test_quantise_saturates() -> None:
    assert quantise([[1e9, -1e9, 0.4]], 1.0).tolist() == [[32767, -32768, 0]]
    with pytest.raises(ValueError, match="finite"):
        quantise([[np.nan, 0, 0]], 1.0)


# ------------------------------------------------------------------ hostile bytes


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120))
def test_decoder_raises_only_decode_error_on_random_bytes(payload: bytes) -> None:
    dec = PolarDecoder(config=CFG)
    try:
        frames = dec.decode(PMD_DATA_UUID, payload)
    except DecodeError:
        return
    assert all(isinstance(f, SensorFrame) for f in frames)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from([(2, 0x00), (2, 0x01), (2, 0x02), (2, 0x81), (5, 0x80), (5, 0x81), (5, 0x00)]),
    st.integers(0, 2**64 - 1),
    st.binary(max_size=100),
)
def test_decoder_on_valid_headers_with_random_content(
    kind: tuple[int, int], ts: int, content: bytes
) -> None:
    dec = PolarDecoder(config=CFG)
    payload = bytes([kind[0]]) + ts.to_bytes(8, "little") + bytes([kind[1]]) + content
    for _ in range(2):  # twice: the second frame uses the first one's timestamp
        with contextlib.suppress(DecodeError):
            dec.decode(PMD_DATA_UUID, payload)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 200))
def test_truncated_valid_frames(cut: int) -> None:
    acc, gyr = _signals(30, seed=1)
    payloads = [p for _, p in encode_stream(acc, gyr, CFG, t_first_ns=T0_NS, samples_per_frame=30)]
    dec = PolarDecoder(config=CFG)
    for p in payloads:
        with contextlib.suppress(DecodeError):
            dec.decode(PMD_DATA_UUID, p[: min(cut, len(p))])
