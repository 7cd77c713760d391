"""Synthetic gait + IMU simulator with exact ground truth (``docs/biomechanics.md`` §5).

>>> from imugait.sim import simulate, PRESETS
>>> sim = simulate(PRESETS["healthy"].with_(duration_s=30.0))     # doctest: +SKIP
>>> sim.sensors[0].acc_m_s2.shape, sim.truth.ic_t_s(Side.LEFT)     # doctest: +SKIP
"""

from __future__ import annotations

from .engine import SENSOR_IDS, SimSensor, Simulation, simulate
from .errors_model import SensorErrors
from .presets import PRESETS
from .scenario import LEGS_4, LEGS_6, Scenario
from .truth import GroundTruth, symmetry_index

__all__ = [
    "LEGS_4",
    "LEGS_6",
    "PRESETS",
    "SENSOR_IDS",
    "GroundTruth",
    "Scenario",
    "SensorErrors",
    "SimSensor",
    "Simulation",
    "simulate",
    "symmetry_index",
]
