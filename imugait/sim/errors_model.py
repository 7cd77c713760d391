"""Sensor error model (``docs/biomechanics.md`` §5.8) and sensor clocks.

Measured = (I + S + M) · clean + b(t) + noise, per sensor and per axis, where S = diag(scale
error), M = small axis misalignment (off-diagonal), b(t) = constant bias (+ a random walk for the
gyro), noise = white with the given density. The per-sample standard deviation of discrete white
noise with one-sided density N at rate fs is N · sqrt(fs / 2) (the Nyquist bandwidth).

Clock: each sensor samples at its nominal rate on its own clock, t_sensor_k = t_sensor_start +
k / fs; its clock runs as t_sensor = offset_s + (1 + drift_ppm·1e-6) · t_true, so the sample's
true (session) time is t_true = (t_sensor - offset_s) / (1 + drift_ppm·1e-6).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from imugait.types import F64, Location
from imugait.units import G_M_S2, RAD_PER_DEG

from .scenario import Scenario

#: Stable per-location codes for seeding (adding a sensor never changes the others' draws).
LOC_CODE = {loc: i + 1 for i, loc in enumerate(Location)}


@dataclass(frozen=True)
class SensorErrors:
    """One realisation of a sensor's error and clock parameters (SI units)."""

    gyr_bias_rad_s: tuple[float, float, float]
    gyr_bias_rw_rad_s_rts: float
    acc_bias_m_s2: tuple[float, float, float]
    gyr_gain: tuple[tuple[float, ...], ...]  # (3, 3): I + scale + misalignment
    acc_gain: tuple[tuple[float, ...], ...]
    gyr_noise_sd_rad_s: float
    acc_noise_sd_m_s2: float
    clock_offset_s: float
    clock_drift_ppm: float
    t_true_first_s: float  # true time of sample 0
    sensor_t_start_s: float  # sensor time of sample 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: (_lists(v) if isinstance(v, tuple) else v) for k, v in d.items()}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> SensorErrors:
        kw = dict(d)
        for k in ("gyr_bias_rad_s", "acc_bias_m_s2"):
            kw[k] = tuple(float(x) for x in kw[k])
        for k in ("gyr_gain", "acc_gain"):
            kw[k] = tuple(tuple(float(x) for x in row) for row in kw[k])
        return SensorErrors(**kw)


def _lists(v: object) -> object:
    return [_lists(x) for x in v] if isinstance(v, tuple | list) else v


def draw_errors(sc: Scenario, loc: Location, fs_hz: float) -> SensorErrors:
    """Draw the error realisation of the sensor at ``loc`` (deterministic in seed and loc)."""
    rng = np.random.default_rng([sc.seed, 1000 + LOC_CODE[loc]])

    def gain(scale_pct: float, mis_deg: float) -> tuple[tuple[float, ...], ...]:
        g = np.eye(3) + np.diag(rng.uniform(-1.0, 1.0, 3) * scale_pct / 100.0)
        off = rng.standard_normal((3, 3)) * mis_deg * RAD_PER_DEG
        np.fill_diagonal(off, 0.0)
        g = g + off
        return tuple(tuple(float(x) for x in row) for row in g)

    bw = math.sqrt(fs_hz / 2.0)
    offset = float(rng.uniform(0.0, sc.clock_offset_max_s))
    drift = float(rng.uniform(-1.0, 1.0) * sc.clock_drift_ppm)
    t_first = float(rng.uniform(0.0, 1.0 / fs_hz))
    return SensorErrors(
        gyr_bias_rad_s=_vec3(rng.uniform(-1.0, 1.0, 3) * sc.gyr_bias_dps * RAD_PER_DEG),
        gyr_bias_rw_rad_s_rts=sc.gyr_bias_rw_dps_rts * RAD_PER_DEG,
        acc_bias_m_s2=_vec3(rng.uniform(-1.0, 1.0, 3) * sc.acc_bias_mg * 1e-3 * G_M_S2),
        gyr_gain=gain(sc.scale_error_pct, sc.misalignment_deg),
        acc_gain=gain(sc.scale_error_pct, sc.misalignment_deg),
        gyr_noise_sd_rad_s=sc.gyr_noise_dps_rthz * RAD_PER_DEG * bw,
        acc_noise_sd_m_s2=sc.acc_noise_ug_rthz * 1e-6 * G_M_S2 * bw,
        clock_offset_s=offset,
        clock_drift_ppm=drift,
        t_true_first_s=t_first,
        sensor_t_start_s=offset + (1.0 + drift * 1e-6) * t_first,
    )


def _vec3(a: F64) -> tuple[float, float, float]:
    return (float(a[0]), float(a[1]), float(a[2]))


def sample_times(err: SensorErrors, fs_hz: float, duration_s: float) -> tuple[F64, F64]:
    """Sensor-clock and true times of all samples with true time in [0, duration_s)."""
    scale = 1.0 + err.clock_drift_ppm * 1e-6
    n = math.ceil((duration_s - err.t_true_first_s) * fs_hz * scale)
    k = np.arange(max(n, 0), dtype=np.float64)
    t_sensor = err.sensor_t_start_s + k / fs_hz
    t_true = (t_sensor - err.clock_offset_s) / scale
    keep = t_true < duration_s
    return t_sensor[keep], t_true[keep]


def gyro_bias_trajectory(err: SensorErrors, n: int, fs_hz: float, seed: int, loc: Location) -> F64:
    """True gyro bias (n, 3): constant part plus a random walk (rate-independent density)."""
    rng = np.random.default_rng([seed, 2100 + LOC_CODE[loc]])
    steps = rng.standard_normal((n, 3)) * (err.gyr_bias_rw_rad_s_rts * math.sqrt(1.0 / fs_hz))
    if n:
        steps[0] = 0.0
    out: F64 = np.cumsum(steps, axis=0)
    out += np.asarray(err.gyr_bias_rad_s)
    return out


def apply_errors(
    err: SensorErrors, acc: F64, gyr: F64, fs_hz: float, seed: int, loc: Location
) -> tuple[F64, F64]:
    """Measured (acc, gyr) from clean sensor-frame signals (new arrays)."""
    rng = np.random.default_rng([seed, 2000 + LOC_CODE[loc]])
    n = len(acc)
    gyr_m = gyr @ np.asarray(err.gyr_gain).T
    gyr_m += gyro_bias_trajectory(err, n, fs_hz, seed, loc)
    gyr_m += rng.standard_normal((n, 3)) * err.gyr_noise_sd_rad_s
    acc_m = acc @ np.asarray(err.acc_gain).T
    acc_m += np.asarray(err.acc_bias_m_s2)
    acc_m += rng.standard_normal((n, 3)) * err.acc_noise_sd_m_s2
    return acc_m, gyr_m
