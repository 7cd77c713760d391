"""The Parquet dataset: layout, schemas, values, readers (pandas/Polars/DuckDB), replace, ids."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from imugait.analyze import SessionAnalysis
from imugait.errors import ImugaitError, InputDataError
from imugait.export import (
    MARKER_NAME,
    SCHEMA_VERSION,
    TABLES,
    SessionIds,
    export_path,
    export_session,
    is_exported,
    read_table,
    validate_id,
)
from imugait.export.schema import unit_of
from imugait.export.tables import samples_table
from imugait.types import Location, SampleBlock

SUBJ, SESS = "S01", "walk1"


def _export(
    analysis: SessionAnalysis,
    samples: list[SampleBlock],
    root: Path,
    subject: str = SUBJ,
    session: str = SESS,
) -> None:
    export_session(analysis, root, subject_id=subject, session_id=session, samples=samples)


@pytest.fixture
def dataset(tmp_path: Path, analysis: SessionAnalysis, samples: list[SampleBlock]) -> Path:
    root = tmp_path / "ds"
    _export(analysis, samples, root)
    return root


def test_layout_schema_units_and_compression(dataset: Path) -> None:
    assert json.loads((dataset / MARKER_NAME).read_text())["schema_version"] == SCHEMA_VERSION
    for table in TABLES:
        f = dataset / table / f"subject={SUBJ}" / f"session={SESS}" / "part-0.parquet"
        assert f.is_file(), f
        pf = pq.ParquetFile(f)
        md = pf.schema_arrow.metadata
        assert md[b"imugait.schema_version"] == SCHEMA_VERSION.encode()
        assert md[b"imugait.table"] == table.encode()
        assert "hyperextension_stride" in json.loads(md[b"imugait.parameters"])
        assert pf.metadata.row_group(0).column(0).compression == "ZSTD"
        assert pf.schema_arrow.field("subject_id").type == pa.string()
    s = pq.ParquetFile(
        dataset / "samples" / f"subject={SUBJ}" / f"session={SESS}" / "part-0.parquet"
    )
    sch = s.schema_arrow
    assert sch.field("t_s").type == pa.float64()
    assert sch.field("t_s").metadata[b"unit"] == b"s"
    assert sch.field("acc_x_m_s2").type == pa.float32()
    assert sch.field("acc_x_m_s2").metadata[b"unit"] == b"m/s^2"
    assert sch.field("gyr_z_rad_s").metadata[b"unit"] == b"rad/s"
    k = pq.read_schema(dataset / "knee" / f"subject={SUBJ}" / f"session={SESS}" / "part-0.parquet")
    assert k.field("knee_flexion_deg").metadata[b"unit"] == b"deg"
    st = pq.read_schema(
        dataset / "strides" / f"subject={SUBJ}" / f"session={SESS}" / "part-0.parquet"
    )
    assert st.field("ic_t_s").type == pa.float64()
    assert st.field("stance_pct").metadata[b"unit"] == b"%"
    assert st.field("cadence_spm").metadata[b"unit"] == b"steps/min"


def test_values_round_trip(
    dataset: Path, analysis: SessionAnalysis, samples: list[SampleBlock]
) -> None:
    st = read_table(dataset, "strides").to_pandas()
    assert len(st) == len(analysis.strides)
    np.testing.assert_array_equal(st["ic_t_s"].to_numpy(), analysis.strides["ic_t_s"].to_numpy())
    np.testing.assert_allclose(
        st["stance_s"].to_numpy(), analysis.strides["stance_s"].to_numpy(), rtol=1e-6
    )
    assert list(st["hyperextension"]) == list(analysis.strides["hyperextension"])

    sm = read_table(dataset, "samples").to_pandas()
    assert len(sm) == sum(b.n for b in samples)
    lt = [b for b in samples if b.sensor == "LT"]
    got = sm[sm["sensor"] == "LT"]
    np.testing.assert_array_equal(got["t_s"].to_numpy(), np.concatenate([b.t_s for b in lt]))
    acc = np.concatenate([b.acc_m_s2 for b in lt])
    np.testing.assert_allclose(got["acc_y_m_s2"].to_numpy(), acc[:, 1], rtol=1e-6, atol=1e-6)
    assert (got["location"] == "left_thigh").all()

    kn = read_table(dataset, "knee").to_pandas()
    assert len(kn) == len(analysis.knee)
    np.testing.assert_allclose(
        kn["knee_flexion_deg"].to_numpy(), analysis.knee["knee_flexion_deg"].to_numpy(), atol=1e-4
    )

    fl = read_table(dataset, "flags").to_pandas()
    n_hx = int(analysis.strides["hyperextension"].sum())
    assert n_hx > 0
    assert (fl["kind"] == "hyperextension_stride").sum() == n_hx
    legs = fl[fl["kind"] == "hyperextension_leg"].set_index("side")
    for side, leg in analysis.hyperextension.items():
        assert bool(legs.loc[side.value, "flagged"]) == leg.flagged
        assert legs.loc[side.value, "value"] == pytest.approx(leg.median_min_deg, abs=1e-4)
    assert analysis.asymmetry is not None
    assert (fl["kind"] == "asymmetry_metric").sum() == len(analysis.asymmetry.metrics)
    assert (fl["kind"] == "asymmetry_verdict").sum() == 1

    ses = read_table(dataset, "sessions").to_pandas()
    assert len(ses) == 1
    row = ses.iloc[0]
    assert row["subject_id"] == SUBJ
    assert row["session_id"] == SESS
    for side, leg in analysis.hyperextension.items():
        assert row[f"hyperext_{side.value}_status"] == leg.status
    assert row["strides_left"] == int((analysis.strides["side"] == "left").sum())
    assert {s["location"] for s in row["sensors"]} == {s.location.value for s in analysis.sensors}
    assert json.loads(row["summary_json"])["hyperextension"]["flagged_sides"] == ["left"]
    assert row["hyperext_flagged_sides"] == "left"


def _expected_stance(analysis: SessionAnalysis) -> dict[str, float]:
    return {
        str(k): float(v) for k, v in analysis.strides.groupby("side")["stance_s"].mean().items()
    }


def test_duckdb_and_polars_query_two_subjects(
    tmp_path: Path, analysis: SessionAnalysis, samples: list[SampleBlock]
) -> None:
    duckdb = pytest.importorskip("duckdb")
    pl = pytest.importorskip("polars")
    root = tmp_path / "ds"
    _export(analysis, samples, root, "S01", "a")
    _export(analysis, [], root, "S02", "001")  # numeric-looking session id
    want = _expected_stance(analysis)

    con = duckdb.connect()
    rows = con.execute(
        f"""SELECT subject_id, side, avg(stance_s) AS stance_s, count(*) AS n
            FROM read_parquet('{root}/strides/**/*.parquet', hive_partitioning = true)
            GROUP BY subject_id, side ORDER BY subject_id, side"""
    ).fetchall()
    assert [(r[0], r[1]) for r in rows] == [
        ("S01", "left"),
        ("S01", "right"),
        ("S02", "left"),
        ("S02", "right"),
    ]
    for subj, side, stance, n in rows:
        assert stance == pytest.approx(want[side], rel=1e-6), (subj, side)
        assert n == int((analysis.strides["side"] == side).sum())
    sess = con.execute(
        f"SELECT session_id FROM read_parquet('{root}/sessions/**/*.parquet', "
        "hive_partitioning = true) ORDER BY session_id"
    ).fetchall()
    assert sess == [("001",), ("a",)]  # the string column keeps '001'

    out = (
        pl.scan_parquet(root / "strides", hive_partitioning=True)
        .group_by("subject_id", "side")
        .agg(pl.col("stance_s").mean())
        .sort("subject_id", "side")
        .collect()
    )
    assert out.height == 4
    for r in out.iter_rows(named=True):
        assert r["stance_s"] == pytest.approx(want[r["side"]], rel=1e-6)
    n_samples = pl.scan_parquet(root / "samples", hive_partitioning=True).select(pl.len()).collect()
    assert n_samples.item() == sum(b.n for b in samples)  # S02 exported without samples

    pdf = pd.read_parquet(root / "knee")
    assert set(pdf["subject_id"]) == {"S01", "S02"}


def test_reexport_replaces_session(
    dataset: Path, analysis: SessionAnalysis, samples: list[SampleBlock]
) -> None:
    stale = dataset / "strides" / f"subject={SUBJ}" / f"session={SESS}" / "part-1.parquet"
    pq.write_table(pa.table({"x": [1]}), stale)
    _export(analysis, samples, dataset)
    assert not stale.exists()
    for table, n in (("strides", len(analysis.strides)), ("knee", len(analysis.knee))):
        assert read_table(dataset, table).num_rows == n
    assert read_table(dataset, "sessions").num_rows == 1
    assert is_exported(dataset, SUBJ, SESS)
    assert not is_exported(dataset, SUBJ, "other")
    assert not list(dataset.rglob("*.tmp"))


def test_other_schema_version_is_refused(
    dataset: Path, analysis: SessionAnalysis, samples: list[SampleBlock]
) -> None:
    marker = dataset / MARKER_NAME
    info = json.loads(marker.read_text())
    info["schema_version"] = "0.9"
    marker.write_text(json.dumps(info))
    with pytest.raises(ImugaitError, match=r"schema version 0\.9.*writes version"):
        _export(analysis, samples, dataset)


def test_non_dataset_folder_is_refused(tmp_path: Path, analysis: SessionAnalysis) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ImugaitError, match="not an imugait dataset"):
        export_session(analysis, tmp_path, subject_id="S01", session_id="x")


@pytest.mark.parametrize("bad", ["../x", "..", "a/b", "a\\b", "", "x" * 65, "sub ject", "é"])
def test_crafted_ids_are_rejected(tmp_path: Path, analysis: SessionAnalysis, bad: str) -> None:
    with pytest.raises(InputDataError, match="not a valid id"):
        validate_id(bad, what="subject id")
    root = tmp_path / "inner" / "ds"
    with pytest.raises(InputDataError):
        export_session(analysis, root, subject_id=bad, session_id="ok")
    with pytest.raises(InputDataError):
        export_session(analysis, root, subject_id="ok", session_id=bad)
    outside = [p for p in tmp_path.rglob("*") if root not in (p, *p.parents)]
    assert [p for p in outside if p.is_file()] == []


def test_privacy_no_names_paths_or_header_subject(tmp_path: Path, rec_path: Path) -> None:
    home = tmp_path / "home_alicesmith" / "studies"
    home.mkdir(parents=True)
    src = home / "walk_alicesmith.imurec"
    src.write_bytes(rec_path.read_bytes())  # header subject id: sim01
    root = tmp_path / "ds"
    export_path(src, root, subject_id="P001", session_id="v1", include_samples=False)
    banned = ["alicesmith", "sim01", str(tmp_path), "home_", "walk_"]
    import getpass
    import socket

    banned += [s for s in (getpass.getuser(), socket.gethostname()) if len(s) >= 4]
    for f in root.rglob("*"):
        if not f.is_file():
            continue
        raw = f.read_bytes()
        for b in banned:
            assert b.encode() not in raw, (f, b)
        if f.suffix != ".parquet":
            continue
        t = pq.read_table(f)
        text = [str(t.schema.metadata), *(str(fl.metadata) for fl in t.schema)]
        for col in t.columns:
            text.extend(str(v) for v in col.to_pylist())
        blob = "\n".join(text)
        for b in banned:
            assert b not in blob, (f, b)
    ses = read_table(root, "sessions").to_pandas().iloc[0]
    assert ses["subject_id"] == "P001"
    assert len(ses["source_sha256"]) == 64


def test_samples_quality_columns() -> None:
    def block(first: int, n: int, t0: float) -> SampleBlock:
        t = t0 + np.arange(n) / 100.0
        return SampleBlock(
            "A", Location.LEFT_SHANK, t, np.ones((n, 3)), np.zeros((n, 3)), 100.0, first
        )

    blocks = [block(8, 3, 0.08), block(2, 4, 0.02), block(6, 2, 0.06)]  # out of order
    t = samples_table(blocks, SessionIds("S01", "x"), {})
    d = t.to_pydict()
    assert d["sample_index"] == [2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert d["lost_before"] == [2, 0, 0, 0, 0, 0, 0, 0, 0]
    t2 = samples_table([block(0, 2, 0.0), block(5, 2, 0.05)], SessionIds("S01", "x"), {})
    assert t2.column("gap_before").to_pylist() == [False, False, True, False]
    assert t2.column("lost_before").to_pylist() == [0, 0, 3, 0]
    assert t2.schema.field("acc_x_m_s2").type == pa.float32()


def test_unit_of_suffixes() -> None:
    assert unit_of("t_s") == "s"
    assert unit_of("hyperext_ms") == "ms"
    assert unit_of("loading_rate_m_s3") == "m/s^3"
    assert unit_of("impact_peak_m_s2") == "m/s^2"
    assert unit_of("gyr_x_rad_s") == "rad/s"
    assert unit_of("stance_pct") == "%"
    assert unit_of("side") is None
