"""Fixtures of the BLE tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def rec_path(tmp_path: Path) -> Path:
    return tmp_path / "session.imurec"
