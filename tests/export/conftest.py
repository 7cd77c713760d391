"""Shared fixtures: one analysed bundled recording (120 s, left hyperextension)."""

from __future__ import annotations

from pathlib import Path

import pytest

from imugait.analyze import SessionAnalysis
from imugait.types import SampleBlock
from tests.export._data import RECORDING, analysed


@pytest.fixture(scope="session")
def rec_path() -> Path:
    if not RECORDING.is_file():
        pytest.skip("bundled recording missing (run recordings/regenerate.py)")
    return RECORDING


@pytest.fixture(scope="session")
def analysis(rec_path: Path) -> SessionAnalysis:
    return analysed()[0]


@pytest.fixture(scope="session")
def samples(rec_path: Path) -> list[SampleBlock]:
    return analysed()[1]
