"""Named scenarios (``PRESETS``) used by tests, benchmarks and demo recordings."""

from __future__ import annotations

from imugait.types import Side

from .scenario import LEGS_6, Scenario

PRESETS: dict[str, Scenario] = {
    # healthy adult, 1.3 m/s, 120 s, thighs + shanks at 100 Hz, realistic errors
    "healthy": Scenario(),
    # stance hyperextension of about 10 deg on most left strides (§5.9)
    "left_hyperextension": Scenario(
        hx_deg=10.0, hx_side=Side.LEFT, hx_frac=0.9, hx_sd_deg=1.5, seed=1
    ),
    # right side offloaded: shorter stance, reduced impact and loading-response flexion (§5.10)
    "right_antalgic": Scenario(
        asym_side=Side.RIGHT,
        asym_stance_frac=0.57,
        asym_impact_rho=0.3,
        asym_lr_kappa=0.6,
        seed=2,
    ),
    # clock offsets and tens of ppm drift, 200 Hz, lossy BLE link (writer applies the loss)
    "lossy_drift": Scenario(
        clock_offset_max_s=0.05,
        clock_drift_ppm=60.0,
        fs_hz=200.0,
        packet_loss_prob=0.03,
        loss_burst_len=3.0,
        ble_jitter_ms=25.0,
        seed=3,
    ),
    # no sensor errors at all, no clock offset/drift, no mounting error: for self-checks
    "noise_free": Scenario(
        mounting_error_deg=0.0,
        gyr_noise_dps_rthz=0.0,
        acc_noise_ug_rthz=0.0,
        gyr_bias_dps=0.0,
        gyr_bias_rw_dps_rts=0.0,
        acc_bias_mg=0.0,
        scale_error_pct=0.0,
        misalignment_deg=0.0,
        clock_offset_max_s=0.0,
        clock_drift_ppm=0.0,
        stride_cv=0.0,
        sway_deg=0.0,
        seed=4,
    ),
    # free living: six sensors, pauses, turns, slower walking, larger mounting errors
    "free_living": Scenario(
        duration_s=180.0,
        locations=LEGS_6,
        speed_m_s=1.1,
        pauses=((60.0, 8.0), (120.0, 5.0)),
        turns=((30.0, 2.5, 180.0), (95.0, 2.0, -90.0), (150.0, 2.5, 180.0)),
        mounting_error_deg=25.0,
        seed=5,
    ),
    # stroke-like: left paretic limb with longer swing (shorter stance), recurvatum, step asymmetry
    "left_paretic_recurvatum": Scenario(
        speed_m_s=0.8,
        hx_deg=12.0,
        hx_side=Side.LEFT,
        hx_frac=0.7,
        asym_side=Side.LEFT,
        asym_stance_frac=0.56,
        asym_step_delta=0.03,
        asym_impact_rho=0.2,
        seed=6,
    ),
}
