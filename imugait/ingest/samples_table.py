"""The public samples table (docs/architecture.md §9): read with validation, and write.

Long format, one row per sensor sample: ``t_s, sensor, location, acc_x_m_s2, acc_y_m_s2,
acc_z_m_s2, gyr_x_rad_s, gyr_y_rad_s, gyr_z_rad_s``; CSV (``.csv``, ``.csv.gz``) or Parquet
(``.parquet``, ``.pq``). Extra columns are ignored.

Errors (``InputDataError``, naming the file and the column / sensor / row; rows are counted
from 1 = first data row, which is line 2 of a CSV file): a missing column (with the close
name found, e.g. ``acc_x`` -> ``acc_x_m_s2``), a non-numeric or infinite value, an empty
sensor id, an unknown location, one sensor with two locations, two different samples of one
sensor at the same time, fewer than 2 samples for a sensor, a gyro that looks like deg/s
(99th percentile of ``|omega|`` > 35 rad/s, i.e. > 2000 deg/s, implausible for walking) and an
accelerometer that looks like g (median ``|a|`` between 0.5 and 2 instead of about 9.81).

Repairs (each reported in ``SamplesTable.warnings``): rows with a NaN in any numeric column are
dropped; rows of a sensor out of time order are sorted (stable); exact duplicate rows are
dropped. The sample rate of each sensor is its median time step; steps longer than 1.5 periods
are gaps: the sensor's samples are split into blocks there and ``first_seq`` jumps by the
number of missing samples.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from imugait.errors import InputDataError
from imugait.signal.gaps import Gap, find_gaps, time_gaps
from imugait.types import Location, SampleBlock

ACC_COLUMNS = ("acc_x_m_s2", "acc_y_m_s2", "acc_z_m_s2")
GYR_COLUMNS = ("gyr_x_rad_s", "gyr_y_rad_s", "gyr_z_rad_s")
NUMERIC_COLUMNS = ("t_s", *ACC_COLUMNS, *GYR_COLUMNS)
COLUMNS = ("t_s", "sensor", "location", *ACC_COLUMNS, *GYR_COLUMNS)
UNITS = {"t_s": "s", **dict.fromkeys(ACC_COLUMNS, "m/s^2"), **dict.fromkeys(GYR_COLUMNS, "rad/s")}
LOCATIONS = tuple(loc.value for loc in Location)

#: |omega| 99th percentile above this (rad/s) means the gyro column is in deg/s.
GYR_DEG_S_THRESHOLD_RAD_S = 35.0


@dataclass(frozen=True, slots=True)
class SamplesTable:
    """A loaded samples table: blocks per sensor (split at gaps) and what was found."""

    blocks: dict[str, list[SampleBlock]]
    fs_hz: dict[str, float]
    gaps: dict[str, list[Gap]]
    warnings: list[str] = field(default_factory=list)


def _fmt(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    raise InputDataError(f"samples table {path}: unknown file type (use .csv or .parquet)")


def _read(path: Path) -> pd.DataFrame:
    kind = _fmt(path)
    if not path.is_file():
        raise InputDataError(f"samples table {path}: file not found")
    try:
        if kind == "csv":
            return pd.read_csv(path, dtype={"sensor": str, "location": str})
        df: pd.DataFrame = pq.read_table(path).to_pandas()
        return df
    except (OSError, ValueError, pa.ArrowException) as e:
        raise InputDataError(f"samples table {path}: cannot be read as {kind}: {e}") from e


def _missing_columns(where: str, columns: list[str]) -> None:
    missing = [c for c in COLUMNS if c not in columns]
    if not missing:
        return
    extra = [c for c in columns if c not in COLUMNS]
    hints = []
    for c in missing:
        close = difflib.get_close_matches(c, extra, n=1, cutoff=0.5)
        if close:
            hints.append(
                f"'{c}' (found '{close[0]}': rename it to '{c}', unit {UNITS.get(c, '-')})"
            )
        else:
            hints.append(f"'{c}'")
    raise InputDataError(
        f"{where}: missing column{'s' if len(missing) > 1 else ''} {', '.join(hints)}; "
        f"expected columns {', '.join(COLUMNS)}"
    )


def _numeric(where: str, df: pd.DataFrame) -> None:
    for c in NUMERIC_COLUMNS:
        col = df[c]
        if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            num = pd.to_numeric(col, errors="coerce")
            bad = np.flatnonzero(num.isna().to_numpy() & col.notna().to_numpy())
            if len(bad):
                raise InputDataError(
                    f"{where}: column '{c}', row {bad[0] + 1}: {col.iloc[bad[0]]!r} is not a number"
                )
            df[c] = num
        df[c] = df[c].astype(np.float64)
        inf = np.flatnonzero(np.isinf(df[c].to_numpy()))
        if len(inf):
            raise InputDataError(f"{where}: column '{c}', row {inf[0] + 1}: value is infinite")


def _labels(where: str, df: pd.DataFrame) -> None:
    sensor = df["sensor"]
    empty = np.flatnonzero(sensor.isna().to_numpy() | (sensor.astype(str).str.strip() == ""))
    if len(empty):
        raise InputDataError(
            f"{where}: column 'sensor', row {df.index[empty[0]] + 1}: empty sensor id"
        )
    df["sensor"] = sensor.astype(str)
    loc = df["location"].astype(str)
    unknown = np.flatnonzero(~loc.isin(LOCATIONS).to_numpy())
    if len(unknown):
        i = int(unknown[0])
        close = difflib.get_close_matches(loc.iloc[i].strip().lower(), LOCATIONS, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise InputDataError(
            f"{where}: column 'location', row {df.index[i] + 1} (sensor {df['sensor'].iloc[i]!r}): "
            f"unknown location {loc.iloc[i]!r}{hint}; allowed: {', '.join(LOCATIONS)}"
        )
    df["location"] = loc
    per = df.groupby("sensor", sort=False)["location"].unique()
    for s, locs in per.items():
        if len(locs) > 1:
            other = (df["sensor"] == s).to_numpy() & (df["location"] != locs[0]).to_numpy()
            row = int(df.index[np.flatnonzero(other)[0]])
            raise InputDataError(
                f"{where}: sensor {s!r} has two locations, {locs[0]!r} and {locs[1]!r} "
                f"(row {row + 1}); one sensor id must stay at one location"
            )


def _check_units(where: str, sensor: str, acc: np.ndarray, gyr: np.ndarray) -> list[str]:
    p99 = float(np.percentile(np.linalg.norm(gyr, axis=1), 99))
    if p99 > GYR_DEG_S_THRESHOLD_RAD_S:
        raise InputDataError(
            f"{where}: sensor {sensor!r}, columns gyr_*_rad_s: 99th percentile of |omega| is "
            f"{p99:.0f} rad/s (> {GYR_DEG_S_THRESHOLD_RAD_S:.0f} rad/s = 2000 deg/s): the gyro "
            "looks like deg/s; convert to rad/s (multiply by pi/180)"
        )
    med = float(np.median(np.linalg.norm(acc, axis=1)))
    if 0.5 <= med < 2.0:
        raise InputDataError(
            f"{where}: sensor {sensor!r}, columns acc_*_m_s2: median |a| is {med:.2f}: the "
            "accelerometer looks like g; convert to m/s^2 (multiply by 9.80665)"
        )
    if med < 0.5:
        return [f"sensor {sensor!r}: median |a| is {med:.2f} m/s^2 (gravity removed?)"]
    return []


def load_samples_table(path: str | os.PathLike[str]) -> SamplesTable:
    """Read and validate a samples table (see the module docstring for rules and repairs)."""
    p = Path(path)
    where = f"samples table {p.name}"
    df = _read(p)
    _missing_columns(where, [str(c) for c in df.columns])
    df = df[list(COLUMNS)].reset_index(drop=True)
    if len(df) == 0:
        raise InputDataError(f"{where}: no rows")
    _numeric(where, df)
    warnings: list[str] = []
    nan_mask = df[list(NUMERIC_COLUMNS)].isna().any(axis=1).to_numpy()
    nan_rows = np.flatnonzero(nan_mask)
    if len(nan_rows):
        first = ", ".join(str(r + 1) for r in nan_rows[:5])
        warnings.append(f"{where}: dropped {len(nan_rows)} row(s) with NaN (rows {first}...)")
        df = df[~nan_mask]
    _labels(where, df)
    blocks: dict[str, list[SampleBlock]] = {}
    fs: dict[str, float] = {}
    gaps: dict[str, list[Gap]] = {}
    for sensor, g in df.groupby("sensor", sort=True):
        s = str(sensor)
        t = g["t_s"].to_numpy()
        if np.any(np.diff(t) < 0):
            warnings.append(f"{where}: sensor {s!r}: rows not in time order, sorted by t_s")
            g = g.sort_values("t_s", kind="stable")
        dup = g.duplicated(keep="first").to_numpy()
        if dup.any():
            warnings.append(f"{where}: sensor {s!r}: dropped {int(dup.sum())} duplicate row(s)")
            g = g[~dup]
        t = g["t_s"].to_numpy()
        same = np.flatnonzero(np.diff(t) == 0)
        if len(same):
            rows = g.index.to_numpy()[[same[0], same[0] + 1]] + 1
            raise InputDataError(
                f"{where}: sensor {s!r}: two different samples at t_s = {t[same[0]]!r} "
                f"(rows {rows[0]} and {rows[1]})"
            )
        if len(t) < 2:
            raise InputDataError(f"{where}: sensor {s!r} has fewer than 2 samples")
        acc = g[list(ACC_COLUMNS)].to_numpy()
        gyr = g[list(GYR_COLUMNS)].to_numpy()
        warnings += _check_units(where, s, acc, gyr)
        fs_hz = float(1.0 / np.median(np.diff(t)))
        cuts, lost = time_gaps(t, fs_hz)
        first_seq = np.concatenate([[0], cuts + np.cumsum(lost)])
        edges = [0, *cuts.tolist(), len(t)]
        loc = Location(str(g["location"].iloc[0]))
        blocks[s] = [
            SampleBlock(
                sensor=s,
                location=loc,
                t_s=t[a:b],
                acc_m_s2=acc[a:b],
                gyr_rad_s=gyr[a:b],
                fs_hz=fs_hz,
                first_seq=int(q),
            )
            for a, b, q in zip(edges[:-1], edges[1:], first_seq, strict=True)
        ]
        fs[s] = fs_hz
        gaps[s] = find_gaps(blocks[s])
    return SamplesTable(blocks=blocks, fs_hz=fs, gaps=gaps, warnings=warnings)


def write_samples_table(blocks: Iterable[SampleBlock], path: str | os.PathLike[str]) -> None:
    """Write sensor-frame blocks as a samples table (CSV or Parquet by the file suffix).

    CSV floats are written with round-trip precision; Parquet fields carry their unit in the
    field metadata (``{"unit": "m/s^2"}``).
    """
    p = Path(path)
    kind = _fmt(p)
    bl = [b for b in blocks if b.n]
    if any(b.frame != "sensor" for b in bl):
        raise ValueError("the samples table holds sensor-axis data; got segment-frame blocks")
    cols: dict[str, np.ndarray] = {
        "t_s": np.concatenate([b.t_s for b in bl]) if bl else np.empty(0),
        "sensor": np.concatenate([np.full(b.n, b.sensor, dtype=object) for b in bl])
        if bl
        else np.empty(0, dtype=object),
        "location": np.concatenate([np.full(b.n, b.location.value, dtype=object) for b in bl])
        if bl
        else np.empty(0, dtype=object),
    }
    for i, c in enumerate(ACC_COLUMNS):
        cols[c] = np.concatenate([b.acc_m_s2[:, i] for b in bl]) if bl else np.empty(0)
    for i, c in enumerate(GYR_COLUMNS):
        cols[c] = np.concatenate([b.gyr_rad_s[:, i] for b in bl]) if bl else np.empty(0)
    if kind == "csv":
        pd.DataFrame(cols).to_csv(p, index=False)
        return
    fields = [
        pa.field(
            c,
            pa.string() if c in ("sensor", "location") else pa.float64(),
            metadata={"unit": UNITS[c]} if c in UNITS else None,
        )
        for c in COLUMNS
    ]
    table = pa.table({c: cols[c] for c in COLUMNS}, schema=pa.schema(fields))
    pq.write_table(table, p)
