"""Shared simulations for the simulator self-checks (short scenarios, computed once)."""

from __future__ import annotations

import pytest

from imugait.sim import LEGS_6, PRESETS, Simulation, simulate
from imugait.types import Side


@pytest.fixture(scope="session")
def clean_sim() -> Simulation:
    """Noise-free, no jitter, no sway, six sensors, 25 s (4 s standing at both ends)."""
    return simulate(PRESETS["noise_free"].with_(duration_s=25.0, locations=LEGS_6))


@pytest.fixture(scope="session")
def healthy_sim() -> Simulation:
    """Realistic errors, default four sensors, 30 s."""
    return simulate(PRESETS["healthy"].with_(duration_s=30.0))


@pytest.fixture(scope="session")
def hx_sim() -> Simulation:
    """Left hyperextension 10 deg on ~60 % of strides, noise-free sensors."""
    sc = PRESETS["noise_free"].with_(
        duration_s=30.0, hx_deg=10.0, hx_side=Side.LEFT, hx_frac=0.6, hx_sd_deg=1.5, seed=21
    )
    return simulate(sc)


@pytest.fixture(scope="session")
def asym_sim() -> Simulation:
    """Right antalgic pattern with step asymmetry, no stride or impact variability."""
    sc = PRESETS["noise_free"].with_(
        duration_s=30.0,
        asym_side=Side.RIGHT,
        asym_stance_frac=0.56,
        asym_step_delta=0.02,
        asym_impact_rho=0.3,
        asym_lr_kappa=0.6,
        impact_cv=0.0,
        seed=22,
    )
    return simulate(sc)
