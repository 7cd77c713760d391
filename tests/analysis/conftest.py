"""Shared fixtures: simulator presets and their ground truth as pipeline objects."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from imugait.gait.bouts import stride_table
from imugait.gait.strides import Stride
from imugait.kinematics.estimator import KneeBlock
from imugait.sim import PRESETS, Simulation, simulate
from imugait.types import Location, Segment, Side
from imugait.units import RAD_PER_DEG


@dataclass
class Case:
    sim: Simulation
    strides: list[Stride]
    knee: dict[Side, KneeBlock]
    table: pd.DataFrame  # stride table from the true strides + true impact and LR columns


def true_strides(sim: Simulation) -> list[Stride]:
    out = []
    for side in Side:
        tab = sim.truth.stride_table(side)
        for ic, fc, end in zip(tab["ic_t_s"], tab["fc_t_s"], tab["end_t_s"], strict=True):
            out.append(
                Stride(
                    side=side,
                    ic_t_s=float(ic),
                    fc_t_s=float(fc),
                    end_t_s=float(end),
                    bout_id=0,
                    location=Location.of(side, Segment.SHANK),
                    ms_t_s=float(0.5 * (fc + end)),
                    ms_peak_rad_s=0.0,
                )
            )
    return out


def true_knee(sim: Simulation, *, calibrated: bool = True) -> dict[Side, KneeBlock]:
    out = {}
    for side in Side:
        t, k_deg = sim.truth.signal(side)
        out[side] = KneeBlock(side, t, k_deg * RAD_PER_DEG, calibrated, calibrated)
    return out


def make_case(name: str, **changes: object) -> Case:
    sc = PRESETS[name].with_(**changes) if changes else PRESETS[name]
    sim = simulate(sc)
    strides = true_strides(sim)
    table = stride_table(strides)
    # True per-stride loading proxies, matched on (side, IC).
    for col_true, col in (("impact_shank_m_s2", "impact_peak_m_s2"), ("lr_flexion_deg", "lr_knee_flexion_deg")):  # fmt: skip
        vals = np.full(len(table), np.nan)
        for side in Side:
            tab = sim.truth.stride_table(side)
            rows = np.flatnonzero((table["side"] == side.value).to_numpy())
            ic = table["ic_t_s"].to_numpy()[rows]
            j = np.searchsorted(tab["ic_t_s"], ic)
            vals[rows] = tab[col_true][j]
        table[col] = vals
    return Case(sim, strides, true_knee(sim), table)


@pytest.fixture(scope="session")
def healthy() -> Case:
    return make_case("healthy")


@pytest.fixture(scope="session")
def left_hx() -> Case:
    return make_case("left_hyperextension")


@pytest.fixture(scope="session")
def right_antalgic() -> Case:
    return make_case("right_antalgic")
