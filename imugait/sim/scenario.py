"""The simulation scenario: every parameter of a synthetic recording, JSON-serialisable.

Units follow the project rule (SI inside; a few user-facing parameters are in degrees, %, g, ppm,
which their names say). Defaults describe a healthy adult walking at 1.3 m/s for 120 s with 4 s
of quiet standing at start and end, four sensors (left/right thigh and shank) at 100 Hz with
realistic consumer-MEMS errors (``docs/biomechanics.md`` §5.8).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from imugait.types import Location, Side

from .curves import P_TO_REF

#: The default sensor set: thighs and shanks.
LEGS_4 = (Location.LEFT_THIGH, Location.RIGHT_THIGH, Location.LEFT_SHANK, Location.RIGHT_SHANK)
#: Thighs, shanks and feet.
LEGS_6 = (*LEGS_4, Location.LEFT_FOOT, Location.RIGHT_FOOT)


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """All parameters of one simulated session. See the module docstring for the defaults.

    Time-line: ``stand_start_s`` of quiet standing, walking, optional standing ``pauses``
    (``(start_s, duration_s)``) and ``turns`` (``(start_s, duration_s, angle_deg)``, positive =
    to the left, about the vertical), then ``stand_end_s`` of standing. Pathologies: stance knee
    hyperextension (``hx_*``, §5.9) and left/right asymmetry (``asym_*``, §5.10).
    Packet-loss / BLE fields are not used by :func:`simulate`; the recording writer applies them.
    """

    seed: int = 0
    # --- time-line -------------------------------------------------------------------------
    duration_s: float = 120.0
    stand_start_s: float = 4.0
    stand_end_s: float = 4.0
    pauses: tuple[tuple[float, float], ...] = ()
    turns: tuple[tuple[float, float, float], ...] = ()
    # --- subject and gait ------------------------------------------------------------------
    height_m: float = 1.75
    speed_m_s: float = 1.3
    stride_time_s: float | None = None  # None: from speed and height (walk ratio, see gait.py)
    stride_cv: float = 0.02
    stance_frac: float = P_TO_REF
    ramp_strides: float = 0.5
    sway_deg: float = 0.3
    stand_knee_deg: float = 3.0
    # --- sensors -----------------------------------------------------------------------------
    locations: tuple[Location, ...] = LEGS_4
    fs_hz: float = 100.0
    fs_hz_by_location: tuple[tuple[Location, float], ...] = ()
    mounting_error_deg: float = 10.0
    # --- sensor errors (§5.8) ----------------------------------------------------------------
    gyr_noise_dps_rthz: float = 0.01
    acc_noise_ug_rthz: float = 200.0
    gyr_bias_dps: float = 1.0
    gyr_bias_rw_dps_rts: float = 0.02
    acc_bias_mg: float = 40.0
    scale_error_pct: float = 1.5
    misalignment_deg: float = 0.2
    clock_offset_max_s: float = 0.02
    clock_drift_ppm: float = 20.0
    # --- impacts at IC (§5.7) ----------------------------------------------------------------
    impact_shank_g: float = 1.0
    impact_foot_g: float = 2.5
    impact_thigh_ratio: float = 0.2
    impact_freq_hz: float = 20.0
    impact_tau_s: float = 0.015
    impact_cv: float = 0.1
    #: peak sagittal gyro transient of a segment at IC per g of its impact (sharp backward
    #: rotation, then a damped oscillation of the segment angle with ``impact_freq_hz`` and
    #: ``impact_tau_s``; zero net rotation) [E, see ``sensors.add_impacts``]
    impact_gyr_dps_per_g: float = 30.0
    # --- knee hyperextension (§5.9) ----------------------------------------------------------
    hx_deg: float = 0.0
    hx_side: Side = Side.LEFT
    hx_frac: float = 1.0
    hx_sd_deg: float = 1.0
    hx_window: tuple[float, float, float, float] = (0.12, 0.22, 0.42, 0.52)
    # --- left/right asymmetry (§5.10) --------------------------------------------------------
    asym_side: Side = Side.RIGHT
    asym_stance_frac: float | None = None
    asym_step_delta: float = 0.0
    asym_impact_rho: float = 0.0
    asym_lr_kappa: float = 1.0
    # --- recording-writer parameters (not applied by simulate) -------------------------------
    packet_loss_prob: float = 0.0
    loss_burst_len: float = 1.0
    ble_latency_ms: float = 30.0
    ble_jitter_ms: float = 10.0
    disconnects: tuple[tuple[Location, float, float], ...] = field(default=())

    def __post_init__(self) -> None:
        _check(self)

    # ------------------------------------------------------------------------------------------
    def stance_frac_of(self, side: Side) -> float:
        """Stance fraction of ``side`` (fraction of its own stride)."""
        if self.asym_stance_frac is not None and side is self.asym_side:
            return self.asym_stance_frac
        return self.stance_frac

    def fs_of(self, location: Location) -> float:
        """Sampling rate of the sensor at ``location``."""
        return dict(self.fs_hz_by_location).get(location, self.fs_hz)

    def with_(self, **changes: Any) -> Scenario:
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (enums as strings, tuples as lists)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            out[f.name] = _jsonable(getattr(self, f.name))
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Scenario:
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError``."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown Scenario fields: {sorted(unknown)}")
        kw: dict[str, Any] = dict(d)
        if "locations" in kw:
            kw["locations"] = tuple(Location(x) for x in kw["locations"])
        if "fs_hz_by_location" in kw:
            kw["fs_hz_by_location"] = tuple(
                (Location(a), float(b)) for a, b in kw["fs_hz_by_location"]
            )
        if "disconnects" in kw:
            kw["disconnects"] = tuple(
                (Location(a), float(b), float(c)) for a, b, c in kw["disconnects"]
            )
        for k in ("pauses", "turns", "hx_window"):
            if k in kw:
                v = kw[k]
                kw[k] = tuple(v) if k == "hx_window" else tuple(tuple(x) for x in v)
        for k in ("hx_side", "asym_side"):
            if k in kw:
                kw[k] = Side(kw[k])
        return cls(**kw)


def _jsonable(v: object) -> Any:
    if isinstance(v, Side | Location):
        return v.value
    if isinstance(v, tuple | list):
        return [_jsonable(x) for x in v]
    return v


def _check(s: Scenario) -> None:
    """Validate a scenario (``ValueError`` names the field)."""

    def need(cond: bool, msg: str) -> None:
        if not cond:
            raise ValueError(msg)

    need(s.duration_s > 0, "duration_s must be > 0")
    need(s.stand_start_s >= 0 and s.stand_end_s >= 0, "stand_start_s/stand_end_s must be >= 0")
    need(s.stand_start_s + s.stand_end_s <= s.duration_s, "standing longer than duration_s")
    need(0.5 <= s.height_m <= 2.3, "height_m must be in [0.5, 2.3]")
    need(0.2 <= s.speed_m_s <= 2.5, "speed_m_s must be in [0.2, 2.5]")
    need(s.stride_time_s is None or 0.6 <= s.stride_time_s <= 2.5, "stride_time_s in [0.6, 2.5]")
    need(0.0 <= s.stride_cv <= 0.15, "stride_cv must be in [0, 0.15]")
    need(0.5 < s.stance_frac < 0.75, "stance_frac must be in (0.5, 0.75)")
    need(0.25 <= s.ramp_strides <= 3.0, "ramp_strides must be in [0.25, 3]")
    need(s.sway_deg >= 0, "sway_deg must be >= 0")
    need(
        len(s.locations) > 0 and len(set(s.locations)) == len(s.locations),
        "locations must be unique and non-empty",
    )
    need(all(isinstance(x, Location) for x in s.locations), "locations must be Location values")
    for fs in (s.fs_hz, *(f for _, f in s.fs_hz_by_location)):
        need(10.0 <= fs <= 1000.0, "sample rates must be in [10, 1000] Hz")
    need(0.0 <= s.mounting_error_deg <= 60.0, "mounting_error_deg must be in [0, 60]")
    for name in (
        "gyr_noise_dps_rthz", "acc_noise_ug_rthz", "gyr_bias_dps", "gyr_bias_rw_dps_rts",
        "acc_bias_mg", "scale_error_pct", "misalignment_deg", "clock_offset_max_s",
        "clock_drift_ppm", "impact_shank_g", "impact_foot_g", "impact_thigh_ratio",
        "impact_cv", "hx_sd_deg", "impact_gyr_dps_per_g",
    ):  # fmt: skip
        need(getattr(s, name) >= 0, f"{name} must be >= 0")
    need(s.clock_drift_ppm <= 1000, "clock_drift_ppm must be <= 1000")
    need(5.0 <= s.impact_freq_hz <= 100.0 and 0.002 <= s.impact_tau_s <= 0.1, "impact shape")
    need(-5.0 <= s.hx_deg <= 30.0, "hx_deg must be in [-5, 30]")
    need(0.0 <= s.hx_frac <= 1.0, "hx_frac must be in [0, 1]")
    w = s.hx_window
    need(
        len(w) == 4 and 0 < w[0] < w[1] <= w[2] < w[3] < 0.6, "hx_window must be 0<p1<p2<=p3<p4<0.6"
    )
    if s.asym_stance_frac is not None:
        need(0.5 < s.asym_stance_frac < 0.75, "asym_stance_frac must be in (0.5, 0.75)")
    need(abs(s.asym_step_delta) <= 0.1, "asym_step_delta must be in [-0.1, 0.1]")
    # double support after each IC must be positive (§5.10.1)
    s_l, s_r, d = s.stance_frac_of(Side.LEFT), s.stance_frac_of(Side.RIGHT), s.asym_step_delta
    need(
        s_l - 0.5 + d > 0.02 and s_r - 0.5 - d > 0.02,
        "double support must stay > 2 % of the stride",
    )
    need(0.0 <= s.asym_impact_rho < 1.0, "asym_impact_rho must be in [0, 1)")
    need(0.0 <= s.asym_lr_kappa <= 1.5, "asym_lr_kappa must be in [0, 1.5]")
    need(0.0 <= s.packet_loss_prob < 1.0 and s.loss_burst_len >= 1.0, "packet loss parameters")
    for t0, dur in s.pauses:
        need(
            dur > 0 and s.stand_start_s < t0 and t0 + dur < s.duration_s - s.stand_end_s,
            "pause outside walking",
        )
    for t0, dur, ang in s.turns:
        need(dur > 0 and t0 >= 0 and t0 + dur <= s.duration_s and math.isfinite(ang), "bad turn")
