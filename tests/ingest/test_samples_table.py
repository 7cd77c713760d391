"""Samples table: validation messages, repairs, unit detection and round trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from imugait.errors import InputDataError
from imugait.ingest.samples_table import load_samples_table, write_samples_table
from imugait.types import Location, SampleBlock

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def _block(sensor: str, loc: Location, n: int = 1000, fs: float = 100.0) -> SampleBlock:
    t = 3.0 + np.arange(n) / fs
    ph = 2 * np.pi * 1.0 * t
    acc = np.stack([2 * np.sin(ph), np.cos(ph), 9.81 + np.sin(2 * ph)], axis=1)
    gyr = np.stack([0.3 * np.cos(ph), 5.0 * np.sin(ph), 0.2 * np.sin(3 * ph)], axis=1)
    return SampleBlock(sensor=sensor, location=loc, t_s=t, acc_m_s2=acc, gyr_rad_s=gyr, fs_hz=fs)


def _good_frame() -> pd.DataFrame:
    blocks = [_block("L", Location.LEFT_SHANK), _block("R", Location.RIGHT_SHANK)]
    rows = []
    for b in blocks:
        d = {"t_s": b.t_s, "sensor": b.sensor, "location": b.location.value}
        for i, ax in enumerate("xyz"):
            d[f"acc_{ax}_m_s2"] = b.acc_m_s2[:, i]
            d[f"gyr_{ax}_rad_s"] = b.gyr_rad_s[:, i]
        rows.append(pd.DataFrame(d))
    return pd.concat(rows, ignore_index=True)


def _load(tmp_path: Path, df: pd.DataFrame, name: str = "walk.csv"):  # type: ignore[no-untyped-def]
    p = tmp_path / name
    df.to_csv(p, index=False)
    return load_samples_table(p)


def _fails(tmp_path: Path, df: pd.DataFrame, *words: str) -> None:
    with pytest.raises(InputDataError) as e:
        _load(tmp_path, df)
    msg = str(e.value)
    for w in ("walk.csv", *words):
        assert w in msg, msg


@pytest.mark.parametrize("name", ["s.csv", "s.parquet"])
def test_round_trip(tmp_path: Path, name: str) -> None:
    blocks = [_block("L", Location.LEFT_SHANK), _block("R", Location.RIGHT_THIGH, fs=200.0)]
    write_samples_table(blocks, tmp_path / name)
    tab = load_samples_table(tmp_path / name)
    assert tab.warnings == []
    assert tab.fs_hz == pytest.approx({"L": 100.0, "R": 200.0})
    for b in blocks:
        (got,) = tab.blocks[b.sensor]
        assert got.location is b.location
        assert got.first_seq == 0
        np.testing.assert_array_equal(got.t_s, b.t_s)
        np.testing.assert_array_equal(got.acc_m_s2, b.acc_m_s2)
        np.testing.assert_array_equal(got.gyr_rad_s, b.gyr_rad_s)
    assert tab.gaps == {"L": [], "R": []}


def test_gap_splits_blocks(tmp_path: Path) -> None:
    df = _good_frame().drop(index=range(300, 310))
    tab = _load(tmp_path, df)
    a, b = tab.blocks["L"]
    assert (a.n, b.first_seq, b.n) == (300, 310, 690)
    (gap,) = tab.gaps["L"]
    assert gap.lost_samples == 10
    assert not gap.bridgeable
    assert gap.start_s == pytest.approx(5.99)
    assert gap.end_s == pytest.approx(6.10)


def test_missing_column_suggests_close_name(tmp_path: Path) -> None:
    df = _good_frame().rename(columns={"acc_x_m_s2": "acc_x", "t_s": "time"})
    _fails(tmp_path, df, "'acc_x_m_s2'", "found 'acc_x'", "'t_s'")


def test_non_numeric_value(tmp_path: Path) -> None:
    df = _good_frame().astype({"gyr_y_rad_s": object})
    df.loc[4, "gyr_y_rad_s"] = "abc"
    _fails(tmp_path, df, "'gyr_y_rad_s'", "row 5", "'abc'")


def test_nan_rows_dropped_with_warning(tmp_path: Path) -> None:
    df = _good_frame()
    df.loc[[10, 1500], "acc_z_m_s2"] = np.nan
    tab = _load(tmp_path, df)
    assert any("dropped 2 row(s) with NaN" in w and "walk.csv" in w for w in tab.warnings)
    assert sum(b.n for b in tab.blocks["L"]) == 999


def test_unknown_location(tmp_path: Path) -> None:
    df = _good_frame()
    df.loc[df.sensor == "R", "location"] = "Right_Shank "
    _fails(tmp_path, df, "'location'", "row 1001", "'R'", "right_shank")


def test_sensor_with_two_locations(tmp_path: Path) -> None:
    df = _good_frame()
    df.loc[1200:, "location"] = "right_thigh"
    _fails(tmp_path, df, "sensor 'R'", "two locations", "row 1201")


def test_unsorted_rows_are_sorted(tmp_path: Path) -> None:
    df = _good_frame()
    shuffled = df.sample(frac=1.0, random_state=1)
    tab, ref = _load(tmp_path, shuffled), _load(tmp_path, df, "ref.csv")
    assert any("sorted" in w for w in tab.warnings)
    np.testing.assert_array_equal(tab.blocks["R"][0].gyr_rad_s, ref.blocks["R"][0].gyr_rad_s)


def test_duplicates(tmp_path: Path) -> None:
    df = _good_frame()
    tab = _load(tmp_path, pd.concat([df, df.iloc[[7]]]))
    assert any("1 duplicate row" in w for w in tab.warnings)
    assert tab.blocks["L"][0].n == 1000
    clash = df.iloc[[7]].copy()
    clash["acc_x_m_s2"] += 1.0
    _fails(tmp_path, pd.concat([df, clash], ignore_index=True), "sensor 'L'", "two different")


def test_gyro_in_deg_s_and_acc_in_g_detected(tmp_path: Path) -> None:
    df = _good_frame()
    deg = df.copy()
    for c in ("gyr_x_rad_s", "gyr_y_rad_s", "gyr_z_rad_s"):
        deg[c] = np.rad2deg(deg[c]) * (deg.sensor == "R") + deg[c] * (deg.sensor == "L")
    _fails(tmp_path, deg, "sensor 'R'", "gyr_", "deg/s")
    g = df.copy()
    for c in ("acc_x_m_s2", "acc_y_m_s2", "acc_z_m_s2"):
        g[c] = g[c] / 9.80665
    _fails(tmp_path, g, "sensor 'L'", "acc_", "looks like g")


def test_bad_paths(tmp_path: Path) -> None:
    with pytest.raises(InputDataError, match="not found"):
        load_samples_table(tmp_path / "none.csv")
    with pytest.raises(InputDataError, match="unknown file type"):
        load_samples_table(tmp_path / "x.xlsx")


@pytest.mark.realdata
def test_gaitmap_example_as_samples_table(tmp_path: Path) -> None:
    src = DATA / "gaitmap_example" / "imu_sample.csv"
    if not src.is_file():
        pytest.skip("shared data not available")
    raw = pd.read_csv(src, header=[0, 1], index_col=0)
    parts = []
    for side in ("left", "right"):
        d = raw[f"{side}_sensor"]
        parts.append(pd.DataFrame({
            "t_s": raw.index.to_numpy() / 204.8, "sensor": side, "location": f"{side}_foot",
            **{f"acc_{a}_m_s2": d[f"acc_{a}"] for a in "xyz"},
            **{f"gyr_{a}_rad_s": d[f"gyr_{a}"] for a in "xyz"},  # still deg/s (gaitmap units)
        }))  # fmt: skip
    table = pd.concat(parts, ignore_index=True)
    _fails(tmp_path, table, "deg/s")
    for a in "xyz":
        table[f"gyr_{a}_rad_s"] = np.deg2rad(table[f"gyr_{a}_rad_s"])
    tab = _load(tmp_path, table)
    assert tab.warnings == []
    assert tab.fs_hz["left"] == pytest.approx(204.8)
    assert [b.n for b in tab.blocks["left"]] == [len(raw)]
