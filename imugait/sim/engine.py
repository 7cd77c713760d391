"""``simulate(scenario) -> Simulation``: the synthetic gait + IMU generator with exact truth.

Pipeline (``docs/biomechanics.md`` §5): speed -> stride time (walk ratio) and hip excursion scale
(calibrated so that the chain's stride length equals speed × stride time); time-line of bouts
with jittered strides, ramps, pauses and turns; joint angles per leg (normative curves +
pathologies); contact-anchored pelvis; segment-frame signals on a fine grid; impacts; mounting,
anti-aliasing and sampling on each sensor's own clock; sensor errors; ground truth.

Known limitations (noise-free, 1 kHz, impacts off; ``tests/sim/test_fidelity.py``):

- Planar legs: no pelvic rotation/obliquity, no knee ab/adduction (§5.6 "v1").
- Pelvis (``kinematics``): forward acceleration within about ±3.5 m/s² at 0.6-1.8 m/s (NeuRA
  Vicon pelvis at 1.16 m/s: -3.3..+2.6); forward speed varies by about ±40 % within a step at
  slow speeds. The vertical bottom-out after IC is about +7 m/s² at 1.3 m/s and +22 at
  1.8 m/s: with the pattern's heel-rocker height (~2.5 cm) and the vertical velocity mismatch
  at IC it cannot be smaller (>= ε̇²/2ε). A hyperextended stance knee snapping into extension
  lifts the pelvis (about ±15 m/s² in ``left_hyperextension``).
- Double support: the loaded heel stays put (heel arrest slide below 2 cm); the trailing toe
  lifts before FC where the pattern cannot reach the ground (see ``kinematics``).
- Swing clearance: >= 0 from 1.3 m/s; at 0.6-1.0 m/s the heel/toe dips up to 1.1 cm below the
  floor in swing; in the first/last (ramp) stride of a bout up to about 2 cm (``steady = 0``).
- Shank gyro: the forward rotation ends 22-49 ms before IC (1.8-0.6 m/s; 29 ms at 1.3 m/s),
  set by the measured knee curve (minimum at 98 % GC) and the measured landing; the IC gyro
  transient adds a sharp backward turn at IC.
- Stride length is set by the kinematics (only stride time jitters), so speed varies with
  stride time.

Memory: the output arrays dominate (14 float64 per sample: 2 times, measured and clean acc/gyr);
1 h x 6 sensors x 200 Hz is about 0.5 GB of arrays; the fine-grid work is chunked (20 s).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from imugait.types import F64, Location, SampleBlock, Segment, Side
from imugait.units import DEG_PER_RAD, RAD_PER_DEG

from . import curves
from .errors_model import (
    SensorErrors,
    apply_errors,
    draw_errors,
    gyro_bias_trajectory,
    sample_times,
)
from .gait import GaitModel, nominal_stride_time_s
from .kinematics import Body, Support, build_support, evaluate, leg_points
from .scenario import Scenario
from .sensors import draw_mounting, impact_amplitude_m_s2, sample_segment_signals
from .truth import GroundTruth, injected_symmetry, stride_table, symmetry

SENSOR_IDS = {
    Location.LEFT_THIGH: "LT",
    Location.RIGHT_THIGH: "RT",
    Location.LEFT_SHANK: "LS",
    Location.RIGHT_SHANK: "RS",
    Location.LEFT_FOOT: "LF",
    Location.RIGHT_FOOT: "RF",
}

CONVENTIONS = {
    "session_clock": "true time in s from the recording start (t = 0)",
    "sensor_clock": "t_sensor = clock_offset_s + (1 + clock_drift_ppm*1e-6) * t_true; "
    "sample k at t_sensor_start_s + k/fs_hz",
    "progression_frame": "x forward, y up, z to the subject's right (right-handed); turns "
    "rotate it about +y (positive = to the left)",
    "segment_frame": "x anterior (foot: heel->toe), y proximal (foot: up), z right; "
    "segment angle about +z from the downward vertical (foot: pitch, toes up +)",
    "mounting_R": "sensor->segment rotation, v_seg = R @ v_sensor; nominal identity (right), "
    "diag(-1, 1, -1) (left: x posterior, z pointing left)",
    "joint_axis_sensor": "R.T @ e_z: the segment z axis (subject's right) in sensor axes, for "
    "both legs; knee flexion rate = gyr_thigh . j_thigh - gyr_shank . j_shank, so on the left "
    "leg j points medially and the nominal ML gyro axis is -z",
    "joint_pos_sensor_m": "vector sensor -> knee centre (thigh, shank) or -> ankle centre (foot), "
    "sensor axes",
    "knee": "flexion positive, hyperextension negative (deg at the user edge)",
    "symmetry_index": "SI = 200 (X_R - X_L) / (X_R + X_L) %, means over steady strides",
    "gyro": "rad/s, sensor axes; accelerometer: specific force m/s^2 (static: +g upwards)",
}


@dataclass(frozen=True)
class SimSensor:
    """One simulated sensor: its samples (with and without errors) and its true parameters."""

    sensor_id: str
    location: Location
    fs_hz: float
    sensor_t_s: F64
    true_t_s: F64
    acc_m_s2: F64
    gyr_rad_s: F64
    acc_clean_m_s2: F64
    gyr_clean_rad_s: F64
    mounting_R: F64
    mounting_error_deg: tuple[float, float, float]
    joint_axis_sensor: F64
    joint_pos_sensor_m: F64
    errors: SensorErrors
    seed: int

    @property
    def n(self) -> int:
        return len(self.true_t_s)

    def gyr_bias_rad_s(self) -> F64:
        """True gyro bias trajectory (n, 3): constant + random walk (regenerated, not stored)."""
        return gyro_bias_trajectory(self.errors, self.n, self.fs_hz, self.seed, self.location)

    def block(self, *, clean: bool = False) -> SampleBlock:
        """The samples as a session-clock :class:`SampleBlock` (true times, sensor axes)."""
        return SampleBlock(
            sensor=self.sensor_id,
            location=self.location,
            t_s=self.true_t_s,
            acc_m_s2=self.acc_clean_m_s2 if clean else self.acc_m_s2,
            gyr_rad_s=self.gyr_clean_rad_s if clean else self.gyr_rad_s,
            fs_hz=self.fs_hz,
        )


@dataclass(frozen=True)
class Simulation:
    """Result of :func:`simulate`."""

    scenario: Scenario
    sensors: list[SimSensor]
    truth: GroundTruth

    def sensor(self, location: Location) -> SimSensor:
        for s in self.sensors:
            if s.location is location:
                return s
        raise KeyError(location)


def level_tilt_rad(body: Body, hip_scale: float) -> float:
    """Pelvic tilt that puts the landing heel and the trailing toe on one level at IC.

    With the reference curves, at the leading leg's IC (phase 0) the trailing leg is at phase
    0.5 on its toe; the tilt (a constant offset of both thighs) is solved so that both contact
    points are at the same height relative to the pelvis, i.e. the heel lands exactly on the
    ground when the pelvis is carried by the trailing leg [E].
    """
    q = np.array([0.0, 0.5])

    def gap(tilt: float) -> float:
        win = curves.foot_flat_window(hip_scale, tilt)
        th = curves.thigh_ref(q, hip_scale=hip_scale, tilt_rad=tilt)
        kn = curves.knee_ref(q)
        ph = curves.foot_pitch_ref(q, hip_scale=hip_scale, tilt_rad=tilt, window=win)
        pts = leg_points(body, {"thigh": th, "shank": th - kn, "foot": ph})
        return float(pts["heel"][0, 1] - pts["toe"][1, 1])

    lo, hi = -10.0 * RAD_PER_DEG, 30.0 * RAD_PER_DEG
    if gap(lo) * gap(hi) > 0:  # pragma: no cover - extreme hip scales: keep the default
        return curves.PELVIC_TILT_RAD
    return float(brentq(gap, lo, hi, xtol=1e-10))


def calibrate_gait(sc: Scenario, stride_time_s: float) -> tuple[float, float]:
    """Hip-excursion scale and pelvic tilt for a scenario's speed and height.

    The scale makes the steady healthy stride length equal speed × stride time: the
    contact-anchored chain is run on a short steady walk (no variability, no pathology) and the
    scale solved by the secant method (stride length is nearly linear in it); for each scale
    the tilt is ``level_tilt_rad``.
    """
    target = sc.speed_m_s * stride_time_s
    n_strides = 8
    cal = Scenario(
        height_m=sc.height_m,
        speed_m_s=sc.speed_m_s,
        stride_time_s=stride_time_s,
        stride_cv=0.0,
        stance_frac=sc.stance_frac,
        ramp_strides=1.0,
        sway_deg=0.0,
        duration_s=1.0 + n_strides * stride_time_s,
        stand_start_s=0.5,
        stand_end_s=0.0,
    )
    body = Body.from_height(sc.height_m)

    def length(scale: float) -> float:
        m = GaitModel(cal, hip_scale=scale, tilt_rad=level_tilt_rad(body, scale))
        sup = build_support(m, body)
        tab = stride_table(m, sup, Side.RIGHT)
        ok = tab["steady"] > 0
        if not np.any(ok):  # pragma: no cover - calibration walk always has steady strides
            raise RuntimeError("calibration walk has no steady stride")
        return float(np.mean(tab["stride_length_m"][ok]))

    x0, x1 = 1.0, 1.2
    f0, f1 = length(x0) - target, length(x1) - target
    for _ in range(8):
        if abs(f1) < 1e-5 or f1 == f0:
            break
        x0, x1, f0 = x1, x1 - f1 * (x1 - x0) / (f1 - f0), f1
        x1 = float(np.clip(x1, 0.2, 2.5))
        f1 = length(x1) - target
    return x1, level_tilt_rad(body, x1)


def _joint_pos(body: Body, loc: Location) -> F64:
    sx, sy, sz = body.sensor_site(loc)
    z = sz if loc.side is Side.RIGHT else -sz
    if loc.segment is Segment.THIGH:
        return np.array([-sx, -body.thigh_m - sy, -z])
    return np.array([-sx, -sy, -z])


def build_model(sc: Scenario) -> tuple[GaitModel, Body, Support]:
    """Calibrated gait model, anthropometry and support state of a scenario (no sensors)."""
    body = Body.from_height(sc.height_m)
    stride_time_s = (
        sc.stride_time_s
        if sc.stride_time_s is not None
        else nominal_stride_time_s(sc.speed_m_s, sc.height_m)
    )
    hip_scale, tilt_rad = calibrate_gait(sc, stride_time_s)
    model = GaitModel(sc, hip_scale=hip_scale, tilt_rad=tilt_rad)
    return model, body, build_support(model, body)


def simulate(scenario: Scenario) -> Simulation:
    """Simulate one session. Deterministic in ``scenario`` (including its ``seed``)."""
    sc = scenario
    model, body, sup = build_model(sc)
    grid_hz = max(1000.0, 2.0 * max(sc.fs_of(loc) for loc in sc.locations))

    errs: dict[Location, SensorErrors] = {}
    times: dict[Location, tuple[F64, F64]] = {}
    impacts: dict[Location, tuple[F64, F64]] = {}
    for loc in sc.locations:
        fs = sc.fs_of(loc)
        errs[loc] = draw_errors(sc, loc, fs)
        times[loc] = sample_times(errs[loc], fs, sc.duration_s)
        ic, _ = model.events(loc.side)
        amp = np.array([
            impact_amplitude_m_s2(sc, loc)
            * float(model.impact_factor[loc.side][max(model.bout_cycle(loc.side, t), 0)])
            * float(model.phase(np.array([t]), loc.side)[2][0])
            for t in ic
        ])  # fmt: skip
        impacts[loc] = (ic, amp.reshape(-1))
    mounts = {loc: draw_mounting(sc, loc) for loc in sc.locations}
    clean = sample_segment_signals(
        model,
        body,
        sup,
        {loc: times[loc][1] for loc in sc.locations},
        impacts,
        grid_hz=grid_hz,
        mounting={loc: m[0] for loc, m in mounts.items()},
    )
    sensors: list[SimSensor] = []
    for loc in sc.locations:
        fs = sc.fs_of(loc)
        r, e_deg = mounts[loc]
        acc_c, gyr_c = clean.pop(loc)
        acc_m, gyr_m = apply_errors(errs[loc], acc_c, gyr_c, fs, sc.seed, loc)
        sensors.append(
            SimSensor(
                sensor_id=SENSOR_IDS[loc],
                location=loc,
                fs_hz=fs,
                sensor_t_s=times[loc][0],
                true_t_s=times[loc][1],
                acc_m_s2=acc_m,
                gyr_rad_s=gyr_m,
                acc_clean_m_s2=acc_c,
                gyr_clean_rad_s=gyr_c,
                mounting_R=r,
                mounting_error_deg=e_deg,
                joint_axis_sensor=r.T @ np.array([0.0, 0.0, 1.0]),
                joint_pos_sensor_m=r.T @ _joint_pos(body, loc),
                errors=errs[loc],
                seed=sc.seed,
            )
        )
    truth = _truth(sc, model, body, sup, sensors)
    return Simulation(scenario=sc, sensors=sensors, truth=truth)


def _truth(
    sc: Scenario, model: GaitModel, body: Body, sup: Support, sensors: list[SimSensor]
) -> GroundTruth:
    strides = {s: stride_table(model, sup, s) for s in Side}
    events = {}
    for s in Side:
        ic, fc = model.events(s)
        events[s.value] = {"ic_t_s": ic, "fc_t_s": fc}
    walking = [[b.t_start_s, b.t_end_s] for b in model.bouts]
    edges = [0.0] + [x for w in walking for x in w] + [sc.duration_s]
    standing = [
        [edges[i], edges[i + 1]] for i in range(0, len(edges), 2) if edges[i + 1] > edges[i]
    ]
    fs_truth = 100.0
    t = np.arange(0.0, sc.duration_s, 1.0 / fs_truth)
    signals: dict[str, object] = {"t0_s": 0.0, "fs_hz": fs_truth}
    names = {"knee": "knee_flexion_deg", "thigh": "thigh_deg", "shank": "shank_deg",
             "foot": "foot_deg", "contact": "contact"}  # fmt: skip
    per = {s: {v: np.empty(len(t)) for v in names.values()} for s in Side}
    for k0 in range(0, len(t), 6000):  # bounded temporaries on long sessions
        ev = evaluate(model, body, sup, t[k0 : k0 + 6000])
        for s in Side:
            a = ev[s]
            for key, name in names.items():
                scale = 1.0 if key == "contact" else DEG_PER_RAD
                per[s][name][k0 : k0 + 6000] = a[key] * scale
    for s in Side:
        signals[s.value] = per[s]
    sens = [
        {
            "sensor_id": x.sensor_id,
            "location": x.location.value,
            "fs_hz": x.fs_hz,
            "n_samples": x.n,
            "mounting_R": x.mounting_R,
            "mounting_error_deg": list(x.mounting_error_deg),
            "joint_axis_sensor": x.joint_axis_sensor,
            "joint_pos_sensor_m": x.joint_pos_sensor_m,
            "site_segment_m": list(body.sensor_site(x.location)),
            "errors": x.errors.to_dict(),
            "gyr_bias_end_rad_s": x.gyr_bias_rad_s()[-1] if x.n else [],
        }
        for x in sensors
    ]
    model_info = {
        "body": {k: float(v) for k, v in vars(body).items()},
        "hip_scale": model.hip_scale,
        "pelvic_tilt_deg": model.tilt_rad * DEG_PER_RAD,
        "foot_flat_window": list(model.foot_window),
        "stride_time_s": model.stride_time_s,
        "stance_frac": {s.value: model.stance[s] for s in Side},
        "hx_deg_per_cycle": {s.value: model.hx_rad[s] * DEG_PER_RAD for s in Side},
        "hx_affected_per_cycle": {s.value: model.hx_affected[s].astype(float) for s in Side},
        "impact_factor_per_cycle": {s.value: model.impact_factor[s] for s in Side},
        "lead_leg_per_bout": [b.lead.value for b in model.bouts],
        "pelvis": "C2 path through the pattern chain's pelvis at IC/FC; stance legs by inverse "
        "kinematics (kinematics.py)",
    }
    return GroundTruth(
        scenario=sc.to_dict(),
        model=model_info,
        conventions=dict(CONVENTIONS),
        sensors=sens,
        events=events,
        strides={s.value: strides[s] for s in Side},
        symmetry=symmetry(strides),
        injected_symmetry=injected_symmetry(model),
        intervals={
            "standing": standing,
            "walking": walking,
            "pauses": [[t0, t0 + d] for t0, d in sc.pauses],
            "turns": [[t0, t0 + d, ang] for t0, d, ang in sc.turns],
        },
        signals=signals,
    )
