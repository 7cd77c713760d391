"""Scenario validation, (de)serialisation and presets."""

from __future__ import annotations

import json

import pytest

from imugait.sim import LEGS_6, PRESETS, Scenario
from imugait.sim.gait import nominal_stride_time_s
from imugait.types import Location, Side


def test_json_round_trip_of_every_preset() -> None:
    for name, sc in PRESETS.items():
        d = json.loads(json.dumps(sc.to_dict()))
        assert Scenario.from_dict(d) == sc, name


def test_round_trip_with_every_container_field() -> None:
    sc = Scenario(
        locations=LEGS_6,
        fs_hz_by_location=((Location.LEFT_FOOT, 200.0),),
        pauses=((30.0, 5.0),),
        turns=((50.0, 2.0, 90.0),),
        disconnects=((Location.RIGHT_SHANK, 10.0, 1.5),),
        hx_side=Side.RIGHT,
        asym_stance_frac=0.58,
    )
    back = Scenario.from_dict(json.loads(json.dumps(sc.to_dict())))
    assert back == sc
    assert back.fs_of(Location.LEFT_FOOT) == 200.0
    assert back.fs_of(Location.LEFT_THIGH) == 100.0
    assert back.stance_frac_of(Side.LEFT) == sc.stance_frac
    assert back.stance_frac_of(Side.RIGHT) == 0.58


@pytest.mark.parametrize(
    "changes",
    [
        {"duration_s": 0.0},
        {"speed_m_s": 5.0},
        {"mounting_error_deg": -1.0},
        {"asym_stance_frac": 0.52, "asym_step_delta": 0.05},  # no double support left
        {"hx_window": (0.3, 0.2, 0.4, 0.5)},
        {"locations": (Location.LEFT_THIGH, Location.LEFT_THIGH)},
        {"pauses": ((1.0, 2.0),)},  # inside the initial standing
        {"fs_hz": 5.0},
    ],
)
def test_invalid_scenarios_are_rejected(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"must|outside|standing|double"):
        Scenario(**changes)  # type: ignore[arg-type]


def test_unknown_field_in_dict_is_rejected() -> None:
    d = Scenario().to_dict()
    d["speed"] = 1.0
    with pytest.raises(ValueError, match="unknown"):
        Scenario.from_dict(d)


def test_stride_time_from_speed_is_plausible() -> None:
    # cadence 100-125 steps/min at 1.2-1.5 m/s for a 1.75 m adult; slower gait -> longer strides
    for v in (1.2, 1.3, 1.5):
        cadence = 120.0 / nominal_stride_time_s(v, 1.75)
        assert 100.0 < cadence < 125.0
    assert nominal_stride_time_s(0.6, 1.75) > nominal_stride_time_s(1.8, 1.75)
