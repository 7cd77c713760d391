"""Load ``benchmarks/knee_realdata.py`` as a module (the tests reuse its evaluation code)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]


def load_knee_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "knee_realdata", REPO / "benchmarks" / "knee_realdata.py"
    )
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
