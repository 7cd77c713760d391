"""Benchmark of the Parquet dataset: size on disk, write/read throughput, a DuckDB query.

One bundled recording is analysed once and exported ``--sessions`` times (default 100) under
different subject/session ids (10 subjects), then read back and queried.

Run: .venv/bin/python benchmarks/export.py [--sessions 100] [--recording recordings/healthy.imurec]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pyarrow.dataset as ds

from imugait.analyze import analyze_path
from imugait.export import export_session, session_samples

REPO = Path(__file__).resolve().parents[1]


def _size(root: Path, table: str) -> int:
    return sum(f.stat().st_size for f in (root / table).rglob("*.parquet"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sessions", type=int, default=100)
    ap.add_argument("--recording", type=Path, default=REPO / "recordings" / "healthy.imurec")
    a = ap.parse_args()
    res = analyze_path(a.recording)
    samples = session_samples(a.recording)
    n_samp = sum(b.n for b in samples)
    print(
        f"session: {a.recording.name}, {n_samp} samples, {len(res.strides)} strides, "
        f"{len(res.knee)} knee rows; raw recording {a.recording.stat().st_size / 1e6:.2f} MB"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ds"
        t0 = time.perf_counter()
        for i in range(a.sessions):
            export_session(
                res, root, subject_id=f"S{i % 10:02d}", session_id=f"ses{i:03d}", samples=samples
            )
        t_write = time.perf_counter() - t0
        total = sum(f.stat().st_size for f in root.rglob("*.parquet"))
        samp_bytes = _size(root, "samples")
        n_all = n_samp * a.sessions
        print(
            f"write: {a.sessions} sessions in {t_write:.2f} s = {t_write / a.sessions * 1e3:.0f} ms/"
            f"session, {n_all / t_write / 1e6:.2f} M samples/s, {total / t_write / 1e6:.1f} MB/s"
        )
        print(
            f"disk: samples table {samp_bytes / n_all:.2f} bytes/sample; whole dataset "
            f"{total / n_all:.2f} bytes/sample ({total / 1e6:.1f} MB; per table: "
            + ", ".join(
                f"{t} {_size(root, t) / 1e6:.1f} MB"
                for t in ("samples", "knee", "strides", "flags", "sessions")
            )
            + ")"
        )
        t0 = time.perf_counter()
        tab = ds.dataset(root / "samples", format="parquet", partitioning="hive").to_table()
        t_read = time.perf_counter() - t0
        assert tab.num_rows == n_all
        print(
            f"read (pyarrow, all samples): {t_read:.2f} s = {n_all / t_read / 1e6:.1f} M samples/s, "
            f"{samp_bytes / t_read / 1e6:.0f} MB/s from disk"
        )
        try:
            import duckdb
        except ImportError:
            print("duckdb not installed: query skipped")
            return
        q = f"""SELECT subject_id, side, avg(stance_s) AS stance_s, avg(cadence_spm) AS cad,
                       count(*) AS n
                FROM read_parquet('{root}/strides/**/*.parquet', hive_partitioning = true)
                GROUP BY ALL ORDER BY ALL"""
        con = duckdb.connect()
        t0 = time.perf_counter()
        rows = con.execute(q).fetchall()
        t_q = time.perf_counter() - t0
        t0 = time.perf_counter()
        con.execute(q).fetchall()
        t_q2 = time.perf_counter() - t0
        print(
            f"duckdb: mean stance/cadence per subject and side over {a.sessions} sessions "
            f"({len(rows)} groups, {sum(r[4] for r in rows)} strides): {t_q * 1e3:.0f} ms "
            f"(second run {t_q2 * 1e3:.0f} ms)"
        )
        q2 = f"""SELECT location, avg(acc_z_m_s2), count(*) FROM
                 read_parquet('{root}/samples/**/*.parquet', hive_partitioning = true)
                 GROUP BY ALL"""
        t0 = time.perf_counter()
        con.execute(q2).fetchall()
        t_q3 = time.perf_counter() - t0
        print(
            f"duckdb: scan of all {n_all} samples (mean acc_z per location): {t_q3 * 1e3:.0f} ms "
            f"= {n_all / t_q3 / 1e6:.0f} M samples/s"
        )


if __name__ == "__main__":
    main()
