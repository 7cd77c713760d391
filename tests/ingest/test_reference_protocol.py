"""Tests of the imugait reference BLE protocol (imugait.ingest.protocols.reference)."""

from __future__ import annotations

import contextlib
import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imugait.errors import ConfigError, DecodeError
from imugait.ingest.protocols import PROTOCOLS, get_protocol
from imugait.ingest.protocols.reference import (
    CONTROL_UUID,
    DATA_UUID,
    INFO_UUID,
    SERVICE_UUID,
    CommandError,
    ControlCommand,
    ControlStatus,
    ReferenceConfig,
    ReferenceDecoder,
    SensorInfo,
    SetOdr,
    SetRanges,
    SetSamplesPerFrame,
    Start,
    Stop,
    apply_command,
    control_error_message,
    decode_command,
    decode_frame,
    decode_frames_bulk,
    decode_info,
    encode_command,
    encode_frame,
    encode_info,
    encode_raw_stream,
    encode_stream,
    frame_bytes,
    max_samples_per_frame,
    quantise,
)
from imugait.types import FrameBatch
from imugait.units import G_M_S2, RAD_PER_DEG

CFG = ReferenceConfig(odr_hz=200.0, acc_range_g=16, gyr_range_dps=2000, samples_per_frame=4)


def _frames(n_samples: int, cfg: ReferenceConfig, seed: int = 0, **kw: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    acc = rng.uniform(-1.2, 1.2, (n_samples, 3)) * cfg.acc_range_g * G_M_S2
    gyr = rng.uniform(-1.2, 1.2, (n_samples, 3)) * cfg.gyr_range_dps * RAD_PER_DEG
    return encode_stream(acc, gyr, cfg, **kw)


# ------------------------------------------------------------------ config and sizes


@pytest.mark.parametrize(
    ("mtu", "n"), [(23, 1), (35, 2), (58, 3), (59, 4), (185, 14), (247, 19), (517, 42), (9000, 42)]
)
def test_max_samples_per_frame(mtu: int, n: int) -> None:
    assert max_samples_per_frame(mtu) == n


def test_frames_fit_the_mtu_and_are_maximal() -> None:
    for mtu in range(23, 600):
        n = max_samples_per_frame(mtu)
        assert frame_bytes(n) <= min(mtu - 3, 512)
        assert n == 42 or frame_bytes(n + 1) > mtu - 3
    assert [frame_bytes(n) for n in (1, 4, 19)] == [20, 56, 236]
    for bad in (22, 0, -1):
        with pytest.raises(ValueError, match="att_mtu"):
            max_samples_per_frame(bad)


def test_config_scale_factors() -> None:
    c = ReferenceConfig(odr_hz=100, acc_range_g=2, gyr_range_dps=250, samples_per_frame=1)
    assert (c.acc_lsb_per_g, c.gyr_lsb_per_dps) == (16384.0, 131.072)
    assert CFG.acc_lsb_per_g == 2048.0
    assert CFG.gyr_lsb_per_dps == pytest.approx(16.384)
    assert CFG.acc_m_s2_per_lsb == pytest.approx(G_M_S2 / 2048)
    assert CFG.gyr_rad_s_per_lsb == pytest.approx(math.pi / 180 / 16.384)
    assert isinstance(c.odr_hz, float)
    assert CFG.frame_bytes == 56


def test_config_dict_round_trip_through_json() -> None:
    for c in (CFG, ReferenceConfig(odr_hz=104.5, acc_range_g=8, gyr_range_dps=500)):
        assert ReferenceConfig.from_dict(json.loads(json.dumps(c.to_dict()))) == c


@pytest.mark.parametrize(
    "d",
    [
        {"odr_hz": 200.0, "acc_range_g": 16, "gyr_range_dps": 2000},
        {**CFG.to_dict(), "extra": 1},
        {**CFG.to_dict(), "odr_hz": "200"},
        {**CFG.to_dict(), "odr_hz": True},
        {**CFG.to_dict(), "acc_range_g": 16.0},
        {**CFG.to_dict(), "acc_range_g": 3},
        {**CFG.to_dict(), "gyr_range_dps": 245},
        {**CFG.to_dict(), "samples_per_frame": 43},
        {**CFG.to_dict(), "samples_per_frame": 0},
        {**CFG.to_dict(), "odr_hz": 401.0},
        {**CFG.to_dict(), "odr_hz": float("nan")},
        {**CFG.to_dict(), "odr_hz": 100.0001},
    ],
)
def test_config_from_bad_dict_is_config_error(d: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        ReferenceConfig.from_dict(d)


def test_config_constructor_validates() -> None:
    with pytest.raises(ValueError, match="odr_hz"):
        ReferenceConfig(odr_hz=20.0)
    with pytest.raises(ValueError, match="acc_range_g"):
        ReferenceConfig(acc_range_g=True)


# ------------------------------------------------------------------ DATA frames


def test_frame_byte_layout_is_exact() -> None:
    payload = encode_frame(0x1234, 0x89ABCDEF, [[1, 2, 3]], [[-1, -2, -32768]])
    assert payload == bytes.fromhex("0101 3412 efcdab89 0100 0200 0300 ffff feff 0080")
    frame = decode_frame(payload, CFG)
    assert frame.seq == 0x1234
    assert frame.sensor_t_s[0] == 0x89ABCDEF * 1e-6
    np.testing.assert_allclose(frame.acc_m_s2, np.array([[1.0, 2.0, 3.0]]) * CFG.acc_m_s2_per_lsb)
    assert frame.gyr_rad_s[0, 2] == -32768 * CFG.gyr_rad_s_per_lsb


@pytest.mark.parametrize("acc_g", [2, 4, 8, 16])
@pytest.mark.parametrize("gyr_dps", [250, 500, 1000, 2000])
def test_round_trip_within_half_lsb(acc_g: int, gyr_dps: int) -> None:
    cfg = ReferenceConfig(odr_hz=100, acc_range_g=acc_g, gyr_range_dps=gyr_dps, samples_per_frame=5)
    rng = np.random.default_rng(acc_g * gyr_dps)
    acc = rng.uniform(-0.99, 0.99, (103, 3)) * acc_g * G_M_S2
    gyr = rng.uniform(-0.99, 0.99, (103, 3)) * gyr_dps * RAD_PER_DEG
    frames = encode_stream(acc, gyr, cfg, first_seq=7, t_first_us=1000)
    assert [len(f) for f in frames] == [68] * 20 + [44]  # 103 = 20 x 5 + 3
    dec = [decode_frame(f, cfg) for f in frames]
    acc_d = np.concatenate([f.acc_m_s2 for f in dec])
    gyr_d = np.concatenate([f.gyr_rad_s for f in dec])
    assert np.max(np.abs(acc_d - acc)) <= 0.5 * cfg.acc_m_s2_per_lsb * (1 + 1e-9)
    assert np.max(np.abs(gyr_d - gyr)) <= 0.5 * cfg.gyr_rad_s_per_lsb * (1 + 1e-9)
    # and not trivially: the error is of the order of the LSB, not zero
    assert np.max(np.abs(acc_d - acc)) > 0.3 * cfg.acc_m_s2_per_lsb
    t = np.concatenate([f.sensor_t_s for f in dec])
    np.testing.assert_allclose(np.diff(t), 0.01, atol=1e-9)
    assert [f.seq for f in dec] == list(range(7, 28))


def test_quantise_rounds_to_nearest_and_saturates() -> None:
    cfg = ReferenceConfig(acc_range_g=2, gyr_range_dps=250)
    lsb_acc, lsb_gyr = cfg.acc_m_s2_per_lsb, cfg.gyr_rad_s_per_lsb
    acc = np.array([[0.4 * lsb_acc, -0.6 * lsb_acc, 1.51 * lsb_acc], [5 * G_M_S2, -5 * G_M_S2, 0]])
    gyr = np.array([[2.49 * lsb_gyr, 0, 0], [1e3, -1e3, 32767.4 * lsb_gyr]])
    acc_raw, gyr_raw = quantise(acc, gyr, cfg)
    assert acc_raw.dtype == np.int16
    assert gyr_raw.dtype == np.int16
    assert acc_raw.tolist() == [[0, -1, 2], [32767, -32768, 0]]
    assert gyr_raw.tolist() == [[2, 0, 0], [32767, -32768, 32767]]
    frame = decode_frame(
        encode_frame(0, 0, acc_raw, gyr_raw),
        ReferenceConfig(acc_range_g=2, gyr_range_dps=250, samples_per_frame=2),
    )
    assert frame.acc_m_s2[1, 0] == pytest.approx(32767 / 16384 * G_M_S2)
    assert frame.acc_m_s2[1, 1] == pytest.approx(-2 * G_M_S2)


def test_quantise_and_encode_reject_misuse() -> None:
    with pytest.raises(ValueError, match="non-finite"):
        quantise([[np.nan, 0, 0]], [[0, 0, 0]], CFG)
    with pytest.raises(ValueError, match="shape"):
        quantise([[0, 0]], [[0, 0, 0]], CFG)
    with pytest.raises(ValueError, match="same length"):
        quantise(np.zeros((2, 3)), np.zeros((1, 3)), CFG)
    z = np.zeros((1, 3), dtype=np.int16)
    with pytest.raises(ValueError, match="seq"):
        encode_frame(65536, 0, z, z)
    with pytest.raises(ValueError, match="t0_us"):
        encode_frame(0, 1 << 32, z, z)
    with pytest.raises(ValueError, match="samples"):
        encode_frame(0, 0, np.zeros((0, 3), dtype=np.int16), np.zeros((0, 3), dtype=np.int16))
    with pytest.raises(ValueError, match="int16"):
        encode_frame(0, 0, [[40000, 0, 0]], z)
    with pytest.raises(ValueError, match="integer"):
        encode_frame(0, 0, [[0.5, 0, 0]], z)


def test_seq_and_timestamp_wrap() -> None:
    cfg = ReferenceConfig(odr_hz=100, samples_per_frame=2)
    t_first = (1 << 32) - 25_000  # wraps during the 2nd frame
    frames = encode_raw_stream(
        np.zeros((8, 3), dtype=np.int16),
        np.zeros((8, 3), dtype=np.int16),
        cfg,
        first_seq=65534,
        t_first_us=t_first,
    )
    dec = [decode_frame(f, cfg) for f in frames]
    assert [f.seq for f in dec] == [65534, 65535, 0, 1]
    t0 = [struct.unpack_from("<I", f, 4)[0] for f in frames]
    assert t0 == [t_first, t_first + 20_000, 15_000, 35_000]
    for f in dec:
        assert f.seq_modulo == 65536
        assert f.sensor_t_wrap_s == 2**32 * 1e-6
    # within a frame, samples are 1/ODR apart from t0 (the 2nd sample of frame 1 lies past the wrap)
    assert dec[1].sensor_t_s.tolist() == [
        (t_first + 20_000) * 1e-6,
        (t_first + 20_000) * 1e-6 + 0.01,
    ]
    unwrapped = np.unwrap(np.concatenate([f.sensor_t_s for f in dec]), period=2**32 * 1e-6)
    np.testing.assert_allclose(np.diff(unwrapped), 0.01, atol=1e-9)
    top = encode_frame(65535, (1 << 32) - 1, [[0, 0, 0]], [[0, 0, 0]])
    assert decode_frame(top, cfg).seq == 65535


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b"", "shorter"),
        (bytes.fromhex("01010000000000"), "shorter"),
        (bytes.fromhex("02010000 00000000") + bytes(12), "unknown type"),
        (bytes.fromhex("01000000 00000000"), "n=0"),
        (bytes.fromhex("01050000 00000000") + bytes(60), "n=5"),  # CFG allows at most 4
        (bytes.fromhex("01020000 00000000") + bytes(12), "must be 32 bytes"),
        (bytes.fromhex("01010000 00000000") + bytes(13), "must be 20 bytes"),
    ],
)
def test_decode_frame_rejects_bad_payloads(payload: bytes, match: str) -> None:
    with pytest.raises(DecodeError, match=match):
        decode_frame(payload, CFG)
    bulk = decode_frames_bulk([payload], CFG)
    assert bulk.bad_index.tolist() == [0]
    assert len(bulk.frame_index) == 0
    assert len(bulk.sensor_t_s) == 0


def test_bulk_equals_single_with_bad_frames_and_short_last() -> None:
    cfg = ReferenceConfig(odr_hz=104.5, samples_per_frame=4)
    good = _frames(401, cfg, seed=3, first_seq=65530, t_first_us=(1 << 32) - 30_000)
    bad = [
        b"",
        b"\x01",
        b"\x03\x01" + bytes(18),
        good[0][:-1],
        good[1] + b"\x00",
        b"\x01\x00" + bytes(6),
    ]
    payloads: list[bytes | bytearray | memoryview] = []
    for i, g in enumerate(good):
        payloads.append(bytearray(g) if i % 3 == 0 else memoryview(g) if i % 3 == 1 else g)
        if i % 17 == 0:
            payloads.append(bad[(i // 17) % len(bad)])
    bulk = decode_frames_bulk(payloads, cfg)
    single, host, bad_idx = [], [], []
    for i, p in enumerate(payloads):
        try:
            single.append(decode_frame(p, cfg))
            host.append(float(i))
        except DecodeError:
            bad_idx.append(i)
    assert bulk.bad_index.tolist() == bad_idx
    assert len(bad_idx) == 6
    assert bulk.n.tolist() == [f.n for f in single]
    assert bulk.n[-1] == 1  # 401 = 100 x 4 + 1
    ref = FrameBatch.from_frames(host, single)
    got = bulk.to_frame_batch(np.arange(len(payloads), dtype=np.float64))
    for name in ("host_t_s", "seq", "frame_start", "sensor_t_s", "acc_m_s2", "gyr_rad_s"):
        assert np.array_equal(getattr(got, name), getattr(ref, name)), name  # bit-identical
    assert (got.seq_modulo, got.sensor_t_wrap_s) == (ref.seq_modulo, ref.sensor_t_wrap_s)
    assert bulk.t0_us.tolist() == [struct.unpack_from("<I", bytes(p), 4)[0] for p in good]


def test_bulk_of_nothing() -> None:
    bulk = decode_frames_bulk([], CFG)
    assert bulk.acc_m_s2.shape == (0, 3)
    assert len(bulk.bad_index) == 0
    assert bulk.to_frame_batch([]).n_frames == 0


def test_bulk_handles_multibyte_memoryviews() -> None:
    payload = _frames(4, CFG)[0]
    as_u16 = memoryview(payload).cast("H")  # len() counts 28 items, not 56 bytes
    bulk = decode_frames_bulk([as_u16, payload], CFG)
    assert bulk.frame_index.tolist() == [0, 1]
    assert np.array_equal(bulk.acc_m_s2[:4], decode_frame(as_u16, CFG).acc_m_s2)


# ------------------------------------------------------------------ CONTROL and INFO


@pytest.mark.parametrize(
    ("command", "raw"),
    [
        (Start(), "01"),
        (Stop(), "02"),
        (SetOdr(odr_hz=200), "03c800"),
        (SetOdr(odr_hz=400), "039001"),
        (SetRanges(acc_range_g=16, gyr_range_dps=2000), "0410d007"),
        (SetSamplesPerFrame(samples_per_frame=19), "0513"),
    ],
)
def test_control_round_trip_and_layout(command: ControlCommand, raw: str) -> None:
    assert encode_command(command) == bytes.fromhex(raw)
    assert decode_command(bytes.fromhex(raw)) == command


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("", ControlStatus.BAD_LENGTH),
        ("00", ControlStatus.UNKNOWN_COMMAND),
        ("ff01", ControlStatus.UNKNOWN_COMMAND),
        ("0100", ControlStatus.BAD_LENGTH),
        ("03c8", ControlStatus.BAD_LENGTH),
        ("033100", ControlStatus.BAD_VALUE),  # 49 Hz
        ("039101", ControlStatus.BAD_VALUE),  # 401 Hz
        ("0403d007", ControlStatus.BAD_VALUE),
        ("0410d107", ControlStatus.BAD_VALUE),
        ("0500", ControlStatus.BAD_VALUE),
        ("052b", ControlStatus.BAD_VALUE),  # 43
    ],
)
def test_control_errors_carry_the_att_status(raw: str, status: ControlStatus) -> None:
    with pytest.raises(CommandError) as info:
        decode_command(bytes.fromhex(raw))
    assert info.value.status is status
    assert isinstance(info.value, DecodeError)
    assert control_error_message(int(status)) in str(info.value)


def test_control_error_messages() -> None:
    assert "STOP" in control_error_message(0x83)
    assert "0x0e" in control_error_message(0x0E)


def test_apply_command_state_machine() -> None:
    cfg = ReferenceConfig(odr_hz=100, samples_per_frame=1)
    cfg2, on = apply_command(cfg, False, SetOdr(odr_hz=200), att_mtu=23)
    assert (cfg2.odr_hz, on) == (200.0, False)
    cfg3, _ = apply_command(cfg2, False, SetRanges(acc_range_g=8, gyr_range_dps=1000), att_mtu=23)
    assert (cfg3.acc_range_g, cfg3.gyr_range_dps) == (8, 1000)
    with pytest.raises(CommandError) as info:
        apply_command(cfg3, False, SetSamplesPerFrame(samples_per_frame=2), att_mtu=23)
    assert info.value.status is ControlStatus.BAD_VALUE
    cfg4, _ = apply_command(cfg3, False, SetSamplesPerFrame(samples_per_frame=19), att_mtu=247)
    assert cfg4.samples_per_frame == 19
    assert apply_command(cfg4, False, Start(), att_mtu=247) == (cfg4, True)
    assert apply_command(cfg4, True, Start(), att_mtu=247) == (cfg4, True)
    with pytest.raises(CommandError) as info:
        apply_command(cfg4, True, SetOdr(odr_hz=100), att_mtu=247)
    assert info.value.status is ControlStatus.BUSY
    assert apply_command(cfg4, True, Stop(), att_mtu=247) == (cfg4, False)


def test_info_round_trip_and_layout() -> None:
    info = SensorInfo(
        firmware_version="1.2.3", model="nRF52840+ICM42688", config=CFG, streaming=True
    )
    raw = encode_info(info)
    assert raw[:11] == bytes.fromhex("01 01 400d0300 10 d007 04 05")
    assert raw[11:] == b"1.2.3" + bytes([17]) + b"nRF52840+ICM42688"
    assert decode_info(raw) == info
    assert decode_info(raw + b"\x00\x01future") == info  # later minor revisions append fields
    odd = SensorInfo(firmware_version="", model="ümlaut", config=ReferenceConfig(odr_hz=104.167))
    assert decode_info(encode_info(odd)) == odd
    with pytest.raises(ValueError, match="32 UTF-8 bytes"):
        SensorInfo(firmware_version="x" * 33, model="m", config=CFG)


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ("01", "too short"),
        ("02 00 400d0300 10 d007 04 00 00", "protocol version 2"),
        ("01 00 400d0300 03 d007 04 00 00", "acc_range_g"),
        ("01 00 10270000 10 d007 04 00 00", "odr_hz"),  # 10 Hz
        ("01 00 400d0300 10 d007 04 05 3132", "firmware version of 5 bytes"),
        ("01 00 400d0300 10 d007 04 01 ff 00", "not UTF-8"),
        ("01 00 400d0300 10 d007 04 01 31", "before the model length"),
        ("01 00 400d0300 10 d007 04 21" + "31" * 33 + "00", "33 bytes"),
    ],
)
def test_info_rejects_bad_payloads(raw: str, match: str) -> None:
    with pytest.raises(DecodeError, match=match):
        decode_info(bytes.fromhex(raw))


# ------------------------------------------------------------------ registry


def test_registry_and_protocol_decoder() -> None:
    spec = PROTOCOLS["imugait-ref-1"]
    assert spec is get_protocol("imugait-ref-1")
    assert spec.service_uuid == SERVICE_UUID
    assert spec.data_uuid == DATA_UUID
    assert len({SERVICE_UUID, DATA_UUID, CONTROL_UUID, INFO_UUID}) == 4
    dec = spec.decoder(json.loads(json.dumps(CFG.to_dict())))
    payload = _frames(4, CFG)[0]
    (frame,) = dec.decode(DATA_UUID.upper(), bytearray(payload))
    assert np.array_equal(frame.acc_m_s2, decode_frame(payload, CFG).acc_m_s2)
    assert dec.decode(INFO_UUID, payload) == []
    with pytest.raises(DecodeError):
        dec.decode(DATA_UUID, payload[:-2])
    with pytest.raises(ConfigError, match="unknown sensor protocol"):
        get_protocol("polar-pmd")
    with pytest.raises(ConfigError):
        spec.decoder({"odr_hz": 200})
    with pytest.raises(TypeError):
        ReferenceDecoder(config=CFG.to_dict())  # type: ignore[arg-type]


# ------------------------------------------------------------------ hostile bytes (hypothesis)

_DEC = ReferenceDecoder(config=CFG)


def _decode_all_ways(payload: bytes) -> bool:
    """Decode with all three decoders; True if valid. Anything but DecodeError propagates."""
    bulk = decode_frames_bulk([payload], CFG)
    try:
        frame = decode_frame(payload, CFG)
        (frame2,) = _DEC.decode(DATA_UUID, payload)
    except DecodeError:
        with pytest.raises(DecodeError):
            _DEC.decode(DATA_UUID, payload)
        assert bulk.bad_index.tolist() == [0]
        return False
    assert bulk.frame_index.tolist() == [0]
    assert np.array_equal(bulk.acc_m_s2, frame.acc_m_s2)
    assert np.array_equal(bulk.gyr_rad_s, frame2.gyr_rad_s)
    assert np.array_equal(bulk.sensor_t_s, frame.sensor_t_s)
    return True


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_random_bytes_only_raise_decode_error(payload: bytes) -> None:
    _decode_all_ways(payload)
    for parse in (decode_info, decode_command):
        with contextlib.suppress(DecodeError):
            parse(payload)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=8, max_size=60).map(lambda b: b"\x01" + b[1:]))
def test_random_frames_of_the_right_type(payload: bytes) -> None:
    valid = _decode_all_ways(payload)
    n = payload[1]
    assert valid == (1 <= n <= 4 and len(payload) == 8 + 12 * n)


_raw16 = st.integers(-32768, 32767)
_sample = st.tuples(*[_raw16] * 6)


@settings(max_examples=200, deadline=None)
@given(
    seq=st.integers(0, 65535),
    t0=st.integers(0, 2**32 - 1),
    samples=st.lists(_sample, min_size=1, max_size=4),
    cut=st.integers(-60, 30),
    tail=st.binary(min_size=1, max_size=30),
)
def test_valid_truncated_and_extended_frames(
    seq: int, t0: int, samples: list[tuple[int, ...]], cut: int, tail: bytes
) -> None:
    raw = np.array(samples, dtype=np.int16)
    payload = encode_frame(seq, t0, raw[:, :3], raw[:, 3:])
    assert _decode_all_ways(payload)
    frame = decode_frame(payload, CFG)
    assert frame.seq == seq
    assert np.array_equal(np.rint(frame.acc_m_s2 / CFG.acc_m_s2_per_lsb), raw[:, :3])
    assert frame.sensor_t_s[0] == t0 * 1e-6
    if cut < 0:
        assert not _decode_all_ways(payload[:cut])
    assert not _decode_all_ways(payload + tail)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=60), max_size=12), st.lists(st.integers(0, 11), max_size=6))
def test_bulk_on_random_batches_matches_single(junk: list[bytes], where: list[int]) -> None:
    payloads = list(junk)
    good = _frames(24, CFG, seed=len(junk))
    for i, w in enumerate(where):
        payloads.insert(min(w, len(payloads)), good[i])
    bulk = decode_frames_bulk(payloads, CFG)
    ok = []
    for i, p in enumerate(payloads):
        try:
            decode_frame(p, CFG)
            ok.append(i)
        except DecodeError:
            pass
    assert bulk.frame_index.tolist() == ok
    assert sorted(bulk.bad_index.tolist() + ok) == list(range(len(payloads)))
    assert len(bulk.acc_m_s2) == int(bulk.n.sum())


def test_spec_test_vectors_match_the_encoder() -> None:
    spec = Path(__file__).resolve().parents[2] / "firmware_notes" / "reference_protocol.md"
    text = " ".join(spec.read_text(encoding="utf-8").split())
    data = encode_frame(
        0x0102, 1_000_000, [[0, 0, 2048], [10, -20, 2047]], [[16, 0, -16], [0, 32767, -32768]]
    )
    info = SensorInfo(firmware_version="0.3.1", model="nRF52840+LSM6DSO", config=ReferenceConfig())
    vectors = [data[:8].hex(" "), data[8:].hex(" "), encode_info(info).hex(" ")]
    vectors += [
        encode_command(c).hex(" ")
        for c in (SetOdr(odr_hz=100), SetRanges(acc_range_g=8, gyr_range_dps=1000))
    ]
    for v in vectors:
        assert v in text.replace("  ", " "), v
    for u in (SERVICE_UUID, DATA_UUID, CONTROL_UUID, INFO_UUID):
        assert f"`{u}`" in text
