"""The session report: one self-contained HTML file (figures embedded as base64 PNG).

No external resources (no scripts, fonts, style sheets or links), so it opens offline and can
be mailed as a single file. Content: verdicts in plain words, per-side summary, knee angle over
the gait cycle, stride/stance times, asymmetry indices with CI, sensor health and warnings,
and the analysis parameters.
"""

from __future__ import annotations

import base64
import html
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from imugait import __version__
from imugait.analyze import SessionAnalysis, side_summary
from imugait.commands.analyze import verdict_lines
from imugait.export.tables import analysis_parameters
from imugait.report.figures import (
    asymmetry_figure,
    knee_cycle_figure,
    sensor_health_figure,
    stride_times_figure,
    to_png,
)

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em} h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:1.6em}
table{border-collapse:collapse;font-size:.9em} td,th{border:1px solid #ccc;padding:.2em .6em}
th{background:#f2f2f2} td.n{text-align:right} .flag{color:#b00020;font-weight:600}
img{max-width:100%} pre{background:#f7f7f7;padding:.6em;font-size:.8em;overflow:auto}
"""


@dataclass(frozen=True, slots=True)
class Figures:
    """The report's figures as PNG bytes (absent figures are missing from the dict)."""

    png: dict[str, bytes]


def render_figures(res: SessionAnalysis) -> Figures:
    """Render every figure the session has data for."""
    figs = {
        "knee_cycle": knee_cycle_figure(res.knee, res.strides),
        "stride_times": stride_times_figure(res.strides),
        "asymmetry": asymmetry_figure(res.asymmetry),
        "sensor_health": sensor_health_figure(res.info.get("clock", {})),
    }
    return Figures({name: to_png(fig) for name, fig in figs.items() if fig is not None})


def _e(x: object) -> str:
    return html.escape(str(x))


def _img(figs: Figures, name: str, alt: str) -> str:
    png = figs.png.get(name)
    if png is None:
        return f"<p><em>{_e(alt)}: no data.</em></p>"
    b64 = base64.b64encode(png).decode("ascii")
    return f'<img id="fig-{name}" alt="{_e(alt)}" src="data:image/png;base64,{b64}">'


def _table(head: list[str], rows: list[list[str]]) -> str:
    h = "".join(f"<th>{_e(c)}</th>" for c in head)
    body = "".join("<tr>" + "".join(rows_i) + "</tr>" for rows_i in rows)
    return f"<table><tr>{h}</tr>{body}</table>"


def _s(x: float, fmt: str) -> str:
    return format(x, fmt) if x == x else "-"


def _num(x: float, fmt: str) -> str:
    return f'<td class="n">{_s(x, fmt)}</td>'


def _sides(res: SessionAnalysis) -> str:
    rows = []
    for side, s in side_summary(res.strides).items():
        rows.append(
            [
                f"<td>{_e(side)}</td>",
                f'<td class="n">{int(s["strides"])}</td>',
                _num(float(s["cadence_spm"]), ".1f"),
                _num(float(s["stride_s"]), ".3f"),
                _num(float(s["stance_pct"]), ".1f"),
            ]
        )
    return _table(["side", "strides", "cadence (steps/min)", "stride (s)", "stance (%)"], rows)


def _asym(res: SessionAnalysis) -> str:
    a = res.asymmetry
    if a is None:
        return ""
    rows = []
    for m in a.metrics:
        cls = ' class="flag"' if m.flagged else ""
        rows.append(
            [
                f"<td>{_e(m.metric.name)}</td>",
                _num(m.si_pct, "+.1f"),
                f'<td class="n">{_s(m.si_ci_low_pct, "+.1f")} to '
                f"{_s(m.si_ci_high_pct, '+.1f')}</td>",
                f'<td class="n">+-{m.metric.threshold_pct:.0f}</td>',
                f"<td{cls}>{_e(m.status)}</td>",
                f"<td>{_e(m.offloaded_side.value if m.offloaded_side else '-')}</td>",
            ]
        )
    return _table(["metric", "SI (%)", "95% CI (%)", "threshold (%)", "status", "offloaded"], rows)


def _health(res: SessionAnalysis) -> str:
    clock = res.info.get("clock", {})
    rows = []
    for sid, st in clock.items():
        got, lost = int(st.get("samples", 0)), int(st.get("lost_samples", 0))
        pct = 100.0 * lost / (got + lost) if got + lost else 0.0
        rows.append(
            [
                f"<td>{_e(sid)}</td>",
                f'<td class="n">{got}</td>',
                f'<td class="n">{lost}</td>',
                _num(pct, ".2f"),
                f'<td class="n">{int(st.get("lost_frames", 0))}</td>',
                _num(float(st.get("skew_ppm", float("nan"))), ".1f"),
            ]
        )
    tab = (
        _table(["sensor", "samples", "lost samples", "lost (%)", "lost frames", "skew (ppm)"], rows)
        if rows
        else "<p>No clock statistics (samples-table input).</p>"
    )
    warns = "".join(f"<li>{_e(w)}</li>" for w in res.warnings)
    return tab + (f"<h3>Warnings</h3><ul>{warns}</ul>" if warns else "<p>No warnings.</p>")


def report_html(res: SessionAnalysis, figures: Figures | None = None) -> str:
    """The complete HTML document of the session report."""
    figs = figures if figures is not None else render_figures(res)
    ids = " / ".join(
        f"{k} {_e(res.info[k])}" for k in ("subject_id", "session_id") if res.info.get(k)
    )
    verdicts = "".join(
        f"<li{' class=flag' if any(w in v for w in ('HYPER', 'ASYMMETRIC')) else ''}>{_e(v)}</li>"
        for v in verdict_lines(res)
    )
    sensors = ", ".join(f"{s.sensor_id} ({s.location.value}, {s.fs_hz:g} Hz)" for s in res.sensors)
    params = json.dumps(analysis_parameters(), indent=2)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>imugait report: {_e(res.source)}</title><style>{_CSS}</style></head><body>
<h1>Gait report: {_e(res.source)}</h1>
<p>{ids}{" - " if ids else ""}{_e(res.kind)}; sensors: {_e(sensors)}<br>
imugait {_e(__version__)}, generated {_e(now)}</p>
<h2>Verdicts</h2><ul id="verdicts">{verdicts}</ul>
<h2>Strides per side</h2>{_sides(res)}
<h2>Knee angle over the gait cycle</h2>
{_img(figs, "knee_cycle", "knee flexion over the gait cycle, per leg")}
<h2>Stride and stance times</h2>
{_img(figs, "stride_times", "stride and stance time over the session")}
<h2>Left/right asymmetry</h2>
<p>SI = 200 (right - left) / (right + left) %, with its bootstrap 95% CI; red lines: the
flag threshold of each metric.</p>
{_img(figs, "asymmetry", "asymmetry indices with 95% CI")}{_asym(res)}
<h2>Sensor health</h2>
{_img(figs, "sensor_health", "lost samples per sensor")}{_health(res)}
<h2>Parameters</h2><pre>{_e(params)}</pre>
</body></html>
"""


def write_report(
    res: SessionAnalysis,
    out_html: str | os.PathLike[str],
    *,
    png_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Path]:
    """Write the report (and each figure as ``<png_dir>/<name>.png`` when asked)."""
    figs = render_figures(res)
    out = Path(out_html)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report_html(res, figs), encoding="utf-8")
    paths = {"html": out}
    if png_dir is not None:
        d = Path(png_dir)
        d.mkdir(parents=True, exist_ok=True)
        for name, png in figs.png.items():
            paths[name] = d / f"{name}.png"
            paths[name].write_bytes(png)
    return paths
