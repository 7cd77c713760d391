"""Unit constants and conversions: the one place where unit conversion happens.

Inside imugait everything is SI (s, m/s², rad/s, rad). Degrees appear only at the
user-facing edge (CLI, files, reports), converted here.
"""

from __future__ import annotations

import math
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

#: Standard gravity, m/s² (CGPM 1901; also the value IMU datasheets use for "1 g").
G_M_S2 = 9.80665

DEG_PER_RAD = 180.0 / math.pi
RAD_PER_DEG = math.pi / 180.0

_A = TypeVar("_A", float, NDArray[np.float64])


def deg_to_rad(x_deg: _A) -> _A:
    """Convert degrees (or deg/s) to radians (or rad/s)."""
    return x_deg * RAD_PER_DEG


def rad_to_deg(x_rad: _A) -> _A:
    """Convert radians (or rad/s) to degrees (or deg/s)."""
    return x_rad * DEG_PER_RAD


def g_to_m_s2(x_g: _A) -> _A:
    """Convert multiples of standard gravity to m/s²."""
    return x_g * G_M_S2


def m_s2_to_g(x_m_s2: _A) -> _A:
    """Convert m/s² to multiples of standard gravity."""
    return x_m_s2 / G_M_S2
