"""Independent rigid-body test generator: thigh + shank joined by a hinge (knee).

World frame: y up, gravity (0, -g, 0). Segment frames: x anterior, y proximal, z lateral (right
leg) — the convention of ``biomechanics.md`` §5.6. The thigh gets a random 3-D motion (gait-like
sagittal swing + out-of-plane wobble + slow turning + pelvis translation); the shank hangs from
the knee, rotated by the known flexion angle about the thigh's z axis (flexion moves the distal
shank posteriorly). Each sensor has an arbitrary rotation and position on its segment.

Signals are computed on a fine grid by central differences of the exact poses (``O(dt^2)``),
then picked at the output rate; optional noise, gyro bias (constant + random walk) and acc bias.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.interpolate import CubicSpline
from scipy.spatial.transform import Rotation

F64 = NDArray[np.float64]
G = 9.80665

# Normative knee flexion (deg) over one gait cycle, 2 % steps (biomechanics.md §1.2).
_KNEE_DEG = np.array(
    [5.5, 7.9, 11.0, 14.4, 17.2, 18.9, 19.7, 19.6, 18.9, 18.0, 16.9, 15.7, 14.5, 13.2, 12.0, 10.8,
     9.8, 8.8, 7.9, 7.2, 6.8, 6.7, 7.1, 8.0, 9.5, 11.6, 14.4, 18.1, 22.6, 28.0, 34.1, 40.6, 47.0,
     52.5, 56.8, 59.4, 60.5, 60.0, 58.2, 55.0, 50.8, 45.5, 39.5, 32.9, 26.0, 19.0, 12.6, 7.5, 4.5,
     3.8, 5.2]
)  # fmt: skip


@dataclass(frozen=True)
class HingeData:
    t_s: F64
    knee_rad: F64  # true flexion (+) / hyperextension (-)
    acc_thigh: F64
    gyr_thigh: F64
    acc_shank: F64
    gyr_shank: F64
    axis_thigh: F64  # true joint axis (segment +z, i.e. lateral for a right leg) in sensor frames
    axis_shank: F64
    knee_from_thigh_sensor_m: F64  # true sensor -> knee-centre vectors in sensor frames
    knee_from_shank_sensor_m: F64


def _knee_curve(phase: F64, hyper_deg: float) -> F64:
    p = np.linspace(0.0, 1.0, len(_KNEE_DEG))
    y = _KNEE_DEG.copy()
    y[-1] = y[0]
    k = np.radians(CubicSpline(p, y, bc_type="periodic")(phase % 1.0))
    if hyper_deg:
        # locked hyperextended plateau in single support (§5.9 window, smoothstep ramps)
        q = phase % 1.0
        w = np.clip((q - 0.12) / 0.10, 0, 1) * np.clip((0.52 - q) / 0.10, 0, 1)
        w = w**3 * (10 - 15 * w + 6 * w**2)  # C2 smoothstep: continuous angular acceleration
        k = (1 - w) * k + w * np.radians(-hyper_deg)
    return np.asarray(k, dtype=np.float64)


def make_hinge(
    *,
    duration_s: float = 30.0,
    fs_hz: float = 100.0,
    fine_factor: int = 10,
    seed: int = 0,
    hyper_deg: float = 15.0,
    mirror: bool = False,
    thigh_pos_m: tuple[float, float, float] = (0.0, 0.20, 0.07),
    shank_pos_m: tuple[float, float, float] = (0.0, -0.18, 0.05),
    gyr_noise_rad_s: float = 0.0,
    acc_noise_m_s2: float = 0.0,
    gyr_bias_rad_s: float = 0.0,
    gyr_rw_rad_s_sqrt_s: float = 0.0,
    acc_bias_m_s2: float = 0.0,
    standing_s: float = 0.0,
    start_phase: float = 0.0,
) -> HingeData:
    """Generate one recording. ``*_pos_m`` are sensor positions relative to the knee centre in
    segment coordinates (x anterior, y proximal, z lateral). ``hyper_deg`` > 0 adds a stance
    hyperextension plateau at ``-hyper_deg`` on every other stride. ``mirror`` makes it a left
    leg (segment z points medially... mirrored world), exercising the sign logic.
    ``standing_s`` prepends a quiet stance at gait phase ``start_phase`` (strides count from 0;
    e.g. 1.32 = hyperextended mid-stance of the second stride) before walking starts."""
    rng = np.random.default_rng(seed)
    stride_s = 1.1
    fs_fine = fs_hz * fine_factor
    n = round(duration_s * fs_fine)
    t = np.arange(n + 2) / fs_fine - 1.0 / fs_fine  # one extra sample each side
    # gait "clock": frozen (quiet standing at phase start_phase) for standing_s, then a C2
    # smoothstep speed-up over 1 s to walking; every motion term runs on this clock.
    ramp = np.clip(t - standing_s, 0.0, 1.0)
    speed = ramp**3 * (10 - 15 * ramp + 6 * ramp**2)
    walk_t = (
        start_phase * stride_s
        + np.concatenate([[0.0], np.cumsum(0.5 * (speed[1:] + speed[:-1]))]) / fs_fine
    )
    phase = walk_t / stride_s
    knee = _knee_curve(phase, 0.0)
    if hyper_deg:
        odd = (np.floor(phase) % 2) == 1
        knee = np.where(odd, _knee_curve(phase, hyper_deg), knee)
    # thigh sagittal inclination (hip flexion) + random 3-D wobble + slow turning
    hip = np.radians(10 + 20 * np.sin(2 * np.pi * phase + 1.9))
    w = [np.radians(rng.uniform(3, 8)) * np.sin(2 * np.pi * rng.uniform(0.3, 1.5) * walk_t + rng.uniform(0, 6))
         for _ in range(2)]  # fmt: skip
    yaw = np.radians(40) * np.sin(2 * np.pi * walk_t / 23.0) + np.radians(rng.uniform(0, 360))
    r_thigh = (
        Rotation.from_euler("y", yaw[:, None])
        * Rotation.from_euler("x", w[0][:, None])
        * Rotation.from_euler("y", w[1][:, None])
        * Rotation.from_euler("z", hip[:, None])
    )
    r_shank = r_thigh * Rotation.from_euler("z", -knee[:, None])
    hip_pos = np.column_stack(
        [
            1.2 * walk_t + 0.02 * np.sin(2 * np.pi * phase),
            0.9 + 0.03 * np.sin(4 * np.pi * phase),
            0.03 * np.sin(2 * np.pi * phase),
        ]
    )
    knee_pos = hip_pos + r_thigh.apply([0.0, -0.42, 0.0])
    sgn = -1.0 if mirror else 1.0
    p_t = np.array(thigh_pos_m) * [1, 1, sgn]
    p_s = np.array(shank_pos_m) * [1, 1, sgn]
    m_t, m_s = Rotation.random(random_state=rng), Rotation.random(random_state=rng)
    if mirror:
        m_t, m_s = Rotation.from_euler("y", np.pi) * m_t, Rotation.from_euler("y", np.pi) * m_s
    out: list[tuple[F64, F64]] = []
    for r_seg, p, m in ((r_thigh, p_t, m_t), (r_shank, p_s, m_s)):
        pos = knee_pos + r_seg.apply(p)
        r_sen = r_seg * m
        acc_w = np.zeros_like(pos)
        acc_w[1:-1] = (pos[2:] - 2 * pos[1:-1] + pos[:-2]) * fs_fine**2
        gyr = np.zeros_like(pos)
        gyr[1:-1] = (r_sen[:-2].inv() * r_sen[2:]).as_rotvec() * fs_fine / 2.0
        f = r_sen.inv().apply(acc_w + np.array([0.0, G, 0.0]))
        out.append((f[1:-1:fine_factor], gyr[1:-1:fine_factor]))
    ts = t[1:-1:fine_factor]
    knee_out = knee[1:-1:fine_factor]
    (acc_t, gyr_t), (acc_s, gyr_s) = out
    n_out = len(ts)

    def noisy_gyr(g: F64) -> F64:
        bias = rng.uniform(-1, 1, 3) * gyr_bias_rad_s
        rw = np.cumsum(rng.normal(0, gyr_rw_rad_s_sqrt_s / np.sqrt(fs_hz), (n_out, 3)), axis=0)
        return g + bias + rw + rng.normal(0, gyr_noise_rad_s, (n_out, 3))

    def noisy_acc(a: F64) -> F64:
        return a + rng.uniform(-1, 1, 3) * acc_bias_m_s2 + rng.normal(0, acc_noise_m_s2, (n_out, 3))

    return HingeData(
        t_s=ts,
        knee_rad=knee_out,
        acc_thigh=noisy_acc(acc_t),
        gyr_thigh=noisy_gyr(gyr_t),
        acc_shank=noisy_acc(acc_s),
        gyr_shank=noisy_gyr(gyr_s),
        axis_thigh=m_t.inv().apply([0.0, 0.0, 1.0]),
        axis_shank=m_s.inv().apply([0.0, 0.0, 1.0]),
        knee_from_thigh_sensor_m=m_t.inv().apply(-p_t),
        knee_from_shank_sensor_m=m_s.inv().apply(-p_s),
    )


REALISTIC = {
    "gyr_noise_rad_s": np.radians(0.3),
    "acc_noise_m_s2": 0.05,
    "gyr_bias_rad_s": np.radians(1.0),
    "gyr_rw_rad_s_sqrt_s": np.radians(0.02),
    "acc_bias_m_s2": 0.2,
}


@functools.cache
def hinge(**kw: Any) -> HingeData:
    """Cached :func:`make_hinge` (tests treat the arrays as read-only)."""
    return make_hinge(**kw)
