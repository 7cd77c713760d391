"""The HTML session report: self-contained, figures present and not blank, verdicts shown."""

from __future__ import annotations

import argparse
import base64
import html
import io
import re
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image as mpimg

from imugait.analyze import SessionAnalysis, analyze_path
from imugait.commands import report as report_cmd
from imugait.commands.analyze import verdict_lines
from imugait.ingest.samples_table import write_samples_table
from imugait.report import report_html, write_report
from imugait.report.figures import cycles, stride_normalised
from imugait.types import SampleBlock, Side

IMG = re.compile(
    r'<img id="fig-([a-z_]+)" alt="[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)">'
)


def _decode(b64: str) -> np.ndarray:
    return np.asarray(mpimg.imread(io.BytesIO(base64.b64decode(b64)), format="png"))


def _non_blank(img: np.ndarray) -> float:
    """Fraction of pixels that are not (near) white."""
    rgb = img[..., :3]
    return float(np.mean(rgb.min(axis=-1) < 0.9))


@pytest.fixture(scope="module")
def page(analysis: SessionAnalysis) -> str:
    return report_html(analysis)


def test_figures_embedded_and_not_blank(page: str) -> None:
    figs = dict(IMG.findall(page))
    assert set(figs) == {"knee_cycle", "stride_times", "asymmetry", "sensor_health"}
    for name, b64 in figs.items():
        img = _decode(b64)
        h, w = img.shape[:2]
        assert w >= 300, (name, img.shape)
        assert h >= 150, (name, img.shape)
        assert 0.01 < _non_blank(img) < 0.9, name
        assert float(img[..., :3].std()) > 0.05, name


def test_self_contained_offline(page: str) -> None:
    low = page.lower()
    for bad in ("http://", "https://", "<script", "<link", 'src="//', "url("):
        assert bad not in low, bad
    srcs = re.findall(r'src="([^"]*)"', page)
    assert srcs
    assert all(s.startswith("data:image/png;base64,") for s in srcs)


def test_verdicts_and_parameters_in_words(page: str, analysis: SessionAnalysis) -> None:
    text = html.unescape(page)
    for line in verdict_lines(analysis):
        assert line in text
    assert "HYPEREXTENSION" in text
    assert "threshold_deg" in text
    assert "lost samples" in text


def test_knee_cycles_normalised_and_flagged(analysis: SessionAnalysis) -> None:
    curves, flagged = cycles(analysis.knee, analysis.strides, Side.LEFT)
    st = analysis.strides[analysis.strides["side"] == "left"]
    assert curves.shape[1] == 101
    assert len(curves) >= len(st) - 2
    assert flagged.sum() >= int(st["hyperextension"].sum()) - 2
    assert flagged.sum() > 0
    # flagged strides go below the -5 deg line in stance, unflagged right ones do not
    assert np.all(curves[flagged > 0, 10:55].min(axis=1) < -5.0)
    right, rflag = cycles(analysis.knee, analysis.strides, Side.RIGHT)
    assert rflag.sum() == 0
    assert right.mean(axis=0)[10:55].min() > -5.0


def test_stride_normalised() -> None:
    t = np.arange(0, 2.0, 0.01)
    x = 3.0 * t
    c = stride_normalised(t, x, ic_t_s=0.5, end_t_s=1.5)
    assert c is not None
    np.testing.assert_allclose(c, 3.0 * np.linspace(0.5, 1.5, 101))
    gap = np.r_[t[:80], t[100:]]
    assert stride_normalised(gap, 3.0 * gap, ic_t_s=0.5, end_t_s=1.5) is None
    assert stride_normalised(t, x, ic_t_s=1.5, end_t_s=2.5) is None


def test_write_report_with_pngs(tmp_path: Path, analysis: SessionAnalysis) -> None:
    paths = write_report(analysis, tmp_path / "r.html", png_dir=tmp_path / "png")
    page = paths["html"].read_text(encoding="utf-8")
    figs = dict(IMG.findall(page))
    for name in figs:
        assert (tmp_path / "png" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_without_knee_from_samples_table(tmp_path: Path, samples: list[SampleBlock]) -> None:
    shanks = [b for b in samples if b.location.segment.value == "shank"]
    table = tmp_path / "shanks.parquet"
    write_samples_table(shanks, table)
    ns = argparse.Namespace(input=table, out=tmp_path / "out" / "r.html", png=None)
    assert report_cmd.run(ns) == 0
    page = (tmp_path / "out" / "r.html").read_text(encoding="utf-8")
    figs = dict(IMG.findall(page))
    assert "knee_cycle" not in figs
    assert {"stride_times", "asymmetry"} <= set(figs)
    assert "no data" in page
    res = analyze_path(table)
    assert res.knee.empty


def test_report_command_rejects_missing_input(tmp_path: Path) -> None:
    from imugait.errors import InputDataError

    p = argparse.ArgumentParser()
    report_cmd.configure(p)
    ns = p.parse_args([str(tmp_path / "nope.imurec"), "--out", str(tmp_path / "r.html")])
    with pytest.raises(InputDataError, match="no such file"):
        report_cmd.run(ns)
