"""Regenerate the bundled simulated recordings deterministically.

Run from the repository root: ``python recordings/regenerate.py``. Each recording is written
with its ground truth (``NAME.truth.json``) beside it; same code, same seeds, same files.
"""

from __future__ import annotations

from pathlib import Path

from imugait.sim import PRESETS, simulate
from imugait.sim.record import write_simulation

HERE = Path(__file__).resolve().parent

#: name -> (preset, overrides). Seeds are fixed: the files must not change between runs.
BUNDLED: dict[str, tuple[str, dict[str, object]]] = {
    "healthy": ("healthy", {"seed": 101}),
    "left_hyperextension": ("left_hyperextension", {"seed": 202}),
    "right_antalgic": ("right_antalgic", {"seed": 303}),
    "lossy_drift": ("lossy_drift", {"seed": 404}),
}


def main() -> None:
    for name, (preset, overrides) in BUNDLED.items():
        sc = PRESETS[preset].with_(**overrides)
        out = HERE / f"{name}.imurec"
        stats = write_simulation(simulate(sc), out, overwrite=True)
        lost = sum(s.frames_lost for s in stats)
        print(f"{out.name}: {out.stat().st_size / 1e6:.2f} MB, {lost} frames lost")


if __name__ == "__main__":
    main()
