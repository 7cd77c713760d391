"""Tests of the Movesense GSP IMU6 protocol (imugait.ingest.protocols.movesense)."""

from __future__ import annotations

import contextlib
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imugait.errors import ConfigError, DecodeError
from imugait.ingest.protocols import get_protocol
from imugait.ingest.protocols.movesense import (
    GSP_SERVICE_UUID,
    MOVESENSE_PROTOCOL,
    NOTIFY_UUID,
    SENSOR_T_WRAP_S,
    WRITE_UUID,
    Command,
    CommandResult,
    CommandWrite,
    DataPacket,
    MovesenseConfig,
    MovesenseDecoder,
    decode_command,
    decode_imu6_body,
    encode_command_result,
    encode_hello,
    encode_hello_response,
    encode_imu6,
    encode_stream,
    encode_subscribe,
    encode_unsubscribe,
    imu6_path,
    parse_notification,
    split_packet,
)
from imugait.types import SensorFrame
from imugait.units import G_M_S2, RAD_PER_DEG

CFG = MovesenseConfig(rate_hz=104, ref=7)

# Hand-built IMU6 DATA notification (firmware_notes/movesense.md §4): type 02, ref 07,
# t_ms = 1000 (e8 03 00 00), acc (0, 1, 9.5), (-1, 0.5, 9.75) m/s², gyro (90, 0, -45), (180, 0, 0) deg/s
KNOWN_IMU6 = bytes.fromhex(
    "02 07 e8030000"
    " 00000000 0000803f 00001841  000080bf 0000003f 00001c41"
    " 0000b442 00000000 000034c2  00003443 00000000 00000000".replace(" ", "")
)


def test_uuids_and_commands() -> None:
    assert GSP_SERVICE_UUID == "34802252-7185-4d5d-b431-630e7050e8f0"
    assert WRITE_UUID.startswith("34800001-")
    assert NOTIFY_UUID.startswith("34800002-")
    assert encode_hello(5) == b"\x00\x05"
    assert encode_subscribe(5, imu6_path(104)) == b"\x01\x05/Meas/IMU6/104"
    assert encode_subscribe(5, imu6_path(208)).endswith(b"IMU6/208")
    assert encode_unsubscribe(5) == b"\x02\x05"
    assert CFG.path == "/Meas/IMU6/104"
    for bad_ref in (0, 256, True):
        with pytest.raises(ValueError, match="reference"):
            encode_hello(bad_ref)
    with pytest.raises(ValueError, match="rate_hz"):
        imu6_path(100)
    with pytest.raises(ValueError, match="ASCII"):
        encode_subscribe(1, "")


def test_decode_command_round_trip_and_errors() -> None:
    assert decode_command(encode_subscribe(9, "/Meas/IMU6/208")) == CommandWrite(
        Command.SUBSCRIBE, 9, "/Meas/IMU6/208"
    )
    assert decode_command(encode_hello(3)) == CommandWrite(Command.HELLO, 3)
    assert decode_command(encode_unsubscribe(3)).command is Command.UNSUBSCRIBE
    for bad in (b"", b"\x01", b"\x07\x01", b"\x00\x00", b"\x02\x01x", b"\x01\x01", b"\x01\x01\xff"):
        with pytest.raises(DecodeError):
            decode_command(bad)


def test_replies() -> None:
    res = parse_notification(encode_command_result(4, 507))
    assert res == CommandResult(4, b"\x01\xfb")  # 507 as the sample firmware writes it
    assert isinstance(res, CommandResult)
    assert res.status == 507
    hello = parse_notification(encode_hello_response(4))
    assert isinstance(hello, CommandResult)
    assert (hello.data, hello.status) == (b"Hello", None)
    assert parse_notification(b"\x03\x04ab") == DataPacket(4, 2, b"ab")
    for bad in (b"", b"\x02", b"\x09\x01"):
        with pytest.raises(DecodeError):
            parse_notification(bad)


def test_known_answer_imu6_packet() -> None:
    acc = [[0.0, 1.0, 9.5], [-1.0, 0.5, 9.75]]
    gyr = np.array([[90.0, 0.0, -45.0], [180.0, 0.0, 0.0]]) * RAD_PER_DEG
    assert encode_imu6(7, 1000, acc, gyr) == KNOWN_IMU6
    [frame] = MovesenseDecoder(config=CFG).decode(NOTIFY_UUID, KNOWN_IMU6)
    assert frame.acc_m_s2.tolist() == acc
    np.testing.assert_allclose(frame.gyr_rad_s, gyr, rtol=1e-7)
    assert frame.gyr_rad_s[0, 0] == pytest.approx(math.pi / 2)
    np.testing.assert_allclose(frame.sensor_t_s, [1.0, 1.0 + 1 / 104])
    assert frame.seq is None
    assert frame.sensor_t_wrap_s == SENSOR_T_WRAP_S == pytest.approx(4294967.296)


def _signals(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(-4, 4, (n, 3)) * G_M_S2, rng.uniform(-1000, 1000, (n, 3)) * RAD_PER_DEG


def _decode_all(dec: MovesenseDecoder, payloads: list[bytes]) -> list[SensorFrame]:
    return [f for p in payloads for f in dec.decode(NOTIFY_UUID, p)]


@pytest.mark.parametrize(
    ("max_bytes", "per_packet", "n_packets"),
    [(None, 16, 7), (158, 8, 13), (244, 16, 7)],  # 100 = 6 x 16 + 4 = 12 x 8 + 4
)
def test_stream_round_trip_with_and_without_split(
    max_bytes: int | None, per_packet: int, n_packets: int
) -> None:
    cfg = MovesenseConfig(rate_hz=208, ref=3)
    acc, gyr = _signals(100)
    payloads = encode_stream(
        acc,
        gyr,
        cfg,
        t_first_ms=123_456,
        samples_per_packet=per_packet,
        max_notification_bytes=max_bytes,
    )
    if max_bytes is None:
        assert len(payloads) == n_packets
    else:  # 8 samples = 198 bytes, 16 samples = 390 bytes: each needs a DATA_PART2
        assert all(len(p) <= max_bytes for p in payloads)
        assert len(payloads) == 2 * n_packets - 1
        assert [p[0] for p in payloads[:2]] == [2, 3]
    dec = MovesenseDecoder(config=cfg)
    frames = _decode_all(dec, payloads)
    assert len(frames) == n_packets
    assert dec.dropped_partial == 0
    acc_d = np.concatenate([f.acc_m_s2 for f in frames])
    gyr_d = np.concatenate([f.gyr_rad_s for f in frames])
    np.testing.assert_allclose(acc_d, acc, rtol=2**-23)
    np.testing.assert_allclose(gyr_d, gyr, rtol=2**-22)
    assert np.max(np.abs(acc_d - acc)) > 0  # float32, not a copy
    t = np.concatenate([f.sensor_t_s for f in frames])
    # first-sample stamps rounded to whole ms; samples spaced 1/rate inside a packet
    np.testing.assert_allclose(t, 123.456 + np.arange(100) / 208, atol=0.5e-3 + 1e-9)
    assert [f.sensor_t_s[0] for f in frames] == [
        (123_456 + round(i0 * 1000 / 208)) * 1e-3 for i0 in range(0, 100, per_packet)
    ]


def test_timestamp_wraps_at_2_32_ms() -> None:
    acc, gyr = _signals(16)
    payloads = encode_stream(acc, gyr, CFG, t_first_ms=2**32 - 40, samples_per_packet=8)
    frames = _decode_all(MovesenseDecoder(config=CFG), payloads)
    assert frames[0].sensor_t_s[0] == pytest.approx((2**32 - 40) * 1e-3)
    assert frames[1].sensor_t_s[0] == pytest.approx((77 - 40) * 1e-3)


def test_decoder_other_refs_results_and_partial_handling() -> None:
    dec = MovesenseDecoder(config=CFG)
    assert dec.decode(WRITE_UUID, KNOWN_IMU6) == []
    assert dec.decode(NOTIFY_UUID, b"\x02\x08" + KNOWN_IMU6[2:]) == []  # another subscription
    assert dec.decode(NOTIFY_UUID, encode_command_result(7, 200)) == []
    assert dec.last_result is not None
    assert dec.last_result.status == 200
    with pytest.raises(DecodeError, match="without a first part"):
        dec.decode(NOTIFY_UUID, b"\x03\x07" + bytes(24))
    head, tail = split_packet(KNOWN_IMU6, 31)
    assert dec.decode(NOTIFY_UUID, head) == []
    # a new DATA replaces the unfinished one, which is counted as lost
    assert len(dec.decode(NOTIFY_UUID, KNOWN_IMU6)) == 1
    assert dec.dropped_partial == 1
    with pytest.raises(DecodeError, match="without a first part"):
        dec.decode(NOTIFY_UUID, tail)
    with pytest.raises(DecodeError, match="no timestamp"):
        dec.decode(NOTIFY_UUID, b"\x02\x07\x00")
    assert dec.decode(NOTIFY_UUID, head) == []
    with pytest.raises(DecodeError, match="4 \\+ 24 N"):
        dec.decode(NOTIFY_UUID, tail + b"\x00")  # continuation of the wrong length


def test_split_packet_rules() -> None:
    assert split_packet(KNOWN_IMU6, 100) == [KNOWN_IMU6]
    with pytest.raises(ValueError, match="ambiguous"):
        split_packet(KNOWN_IMU6, 2 + 4 + 24)
    with pytest.raises(ValueError, match="two"):
        split_packet(KNOWN_IMU6, 20)


def test_decode_imu6_body_rejects_bad_values() -> None:
    with pytest.raises(DecodeError, match="4 \\+ 24 N"):
        decode_imu6_body(bytes(4), 104)
    nan_body = bytes(4) + np.array([np.nan] + [0.0] * 5, dtype="<f4").tobytes()
    with pytest.raises(DecodeError, match="non-finite"):
        decode_imu6_body(nan_body, 104)


def test_config_and_registry() -> None:
    assert MovesenseConfig.from_dict(json.loads(json.dumps(CFG.to_dict()))) == CFG
    for bad in ({"rate_hz": 100}, {"ref": 0}, {"rate_hz": 104, "x": 1}, {"rate_hz": "104"}):
        with pytest.raises(ConfigError):
            MovesenseConfig.from_dict(bad)
    spec = get_protocol("movesense-gsp-1")
    assert spec is MOVESENSE_PROTOCOL
    assert spec.data_uuid == NOTIFY_UUID
    frames = spec.decoder({"rate_hz": 104, "ref": 7}).decode(NOTIFY_UUID.upper(), KNOWN_IMU6)
    assert len(frames) == 1
    with pytest.raises(TypeError):
        MovesenseDecoder(config={"rate_hz": 104})  # type: ignore[arg-type]


def test_encoders_reject_misuse() -> None:
    with pytest.raises(ValueError, match="same length"):
        encode_imu6(1, 0, np.zeros((2, 3)), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="finite"):
        encode_imu6(1, 0, [[np.inf, 0, 0]], [[0, 0, 0]])
    with pytest.raises(ValueError, match="t_ms"):
        encode_imu6(1, 2**32, [[0, 0, 0]], [[0, 0, 0]])


# ------------------------------------------------------------------ hostile bytes


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=80), min_size=1, max_size=4))
def test_decoder_raises_only_decode_error(payloads: list[bytes]) -> None:
    dec = MovesenseDecoder(config=CFG)
    for p in payloads:
        try:
            frames = dec.decode(NOTIFY_UUID, p)
        except DecodeError:
            continue
        assert all(isinstance(f, SensorFrame) for f in frames)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([2, 3]), st.binary(max_size=120))
def test_decoder_on_valid_headers(kind: int, body: bytes) -> None:
    dec = MovesenseDecoder(config=CFG)
    for p in (bytes([2, 7]) + body[:30], bytes([kind, 7]) + body):
        with contextlib.suppress(DecodeError):
            dec.decode(NOTIFY_UUID, p)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, len(KNOWN_IMU6)))
def test_truncated_packets(cut: int) -> None:
    try:
        frames = MovesenseDecoder(config=CFG).decode(NOTIFY_UUID, KNOWN_IMU6[:cut])
    except DecodeError:
        return
    body = max(cut - 2, 0)
    assert frames == [] or (body > 4 and (body - 4) % 24 == 0)  # no length field to tell


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=40))
def test_command_parser_raises_only_decode_error(payload: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_command(payload)
