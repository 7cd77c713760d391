"""session.toml parsing and validation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from imugait.ble import load_config, parse_config
from imugait.errors import ConfigError
from imugait.types import Location

GOOD = """
[session]
subject_id = "S01"
out = "rec/S01.imurec"

[[sensor]]
name = "IMG-0001"
location = "left_thigh"
protocol = "imugait-ref-1"
rate_hz = 200

[[sensor]]
address = "C0:1D:00:00:00:02"
location = "right_shank"
protocol = "imugait-ref-1"
rate_hz = 100
id = "shankR"
samples_per_frame = 8
"""


def test_good_config(tmp_path: Path) -> None:
    p = tmp_path / "session.toml"
    p.write_text(GOOD)
    cfg = load_config(p)
    assert cfg.subject_id == "S01"
    assert cfg.out == tmp_path / "rec" / "S01.imurec"
    assert cfg.discovery_timeout_s == 10.0
    a, b = cfg.sensors
    assert (a.sensor_id, a.location, a.name, a.address, a.rate_hz) == (
        "LT", Location.LEFT_THIGH, "IMG-0001", None, 200.0,
    )  # fmt: skip
    assert (b.sensor_id, b.address, b.samples_per_frame) == ("shankR", "C0:1D:00:00:00:02", 8)
    assert a.matches("IMG-0001", "AA:BB:CC:DD:EE:FF")
    assert not a.matches("IMG-0002", "x")
    assert b.matches(None, "c0:1d:00:00:00:02")
    assert not b.matches("IMG-0001", "C0:1D:00:00:00:01")


def _base() -> dict[str, Any]:
    return {
        "session": {"subject_id": "S", "out": "x.imurec"},
        "sensor": [
            {"name": "A", "location": "left_thigh", "protocol": "imugait-ref-1", "rate_hz": 200}
        ],
    }


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda d: d["sensor"][0].update(location="left_knee"), r"#1 field 'location'.*left_knee"),
        (lambda d: d["sensor"][0].update(protocol="polar-x"), r"#1 field 'protocol'.*polar-x"),
        (lambda d: d["sensor"][0].pop("rate_hz"), r"#1 field 'rate_hz': missing"),
        (lambda d: d["sensor"][0].update(rate_hz=-5), r"field 'rate_hz'.*positive"),
        (lambda d: d["sensor"][0].update(rate_hz=True), r"field 'rate_hz'"),
        (lambda d: d["sensor"][0].pop("name"), r"#1 field 'name'.*'name' or 'address'"),
        (lambda d: d["sensor"][0].update(colour="red"), r"#1 field 'colour': unknown field"),
        (lambda d: d["sensor"][0].update(samples_per_frame=50), r"'samples_per_frame'"),
        (lambda d: d["sensor"].append(dict(d["sensor"][0])), r"#2 field 'location'.*already used"),
        (lambda d: d["session"].pop("subject_id"), r"\[session\] field 'subject_id': missing"),
        (lambda d: d["session"].update(out=""), r"\[session\] field 'out'"),
        (lambda d: d["session"].update(discovery_timeout_s=0), r"'discovery_timeout_s'"),
        (lambda d: d.pop("session"), r"\[session\]: missing table"),
        (lambda d: d.update(sensor=[]), r"\[\[sensor\]\]: at least one sensor"),
        (lambda d: d.update(extra={}), r"\[extra\]: unknown table"),
    ],
)
def test_errors_name_the_field(edit, match: str) -> None:  # type: ignore[no-untyped-def]
    d = _base()
    edit(d)
    with pytest.raises(ConfigError, match=match) as err:
        parse_config(d, source="my.toml")
    assert str(err.value).startswith("my.toml: ")


def test_duplicate_ids(tmp_path: Path) -> None:
    d = _base()
    d["sensor"].append(
        {
            "name": "B",
            "location": "right_thigh",
            "protocol": "imugait-ref-1",
            "rate_hz": 200,
            "id": "LT",
        }
    )
    with pytest.raises(ConfigError, match="duplicate sensor id 'LT'"):
        parse_config(d)


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[session\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
