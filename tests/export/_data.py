"""The analysed bundled recording, computed once per test process (shared by export/report)."""

from __future__ import annotations

import functools
from pathlib import Path

from imugait.analyze import SessionAnalysis, analyze_path
from imugait.export import session_samples
from imugait.types import SampleBlock

REPO = Path(__file__).resolve().parents[2]
RECORDING = REPO / "recordings" / "left_hyperextension.imurec"


@functools.cache
def analysed() -> tuple[SessionAnalysis, list[SampleBlock]]:
    return analyze_path(RECORDING), session_samples(RECORDING)
