"""Session report: a self-contained HTML file with embedded figures (``imugait report``)."""

from __future__ import annotations

from .html import Figures, render_figures, report_html, write_report

__all__ = ["Figures", "render_figures", "report_html", "write_report"]
