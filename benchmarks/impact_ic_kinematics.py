"""Where the impact SI of the hyperextension scenarios comes from (simulator, impacts off).

Run: ``.venv/bin/python benchmarks/impact_ic_kinematics.py``

Same scenario and seed with and without left stance hyperextension, injected impact
transients switched off, true ICs: the stride-averaged axial specific force of each shank
around its IC (raw and high-passed as ``imugait.analysis.impact``) and the mean shock
peak-to-peak of ``impact_metrics``. Any left/right difference here is kinematics of the
simulated legs, not the injected impact the simulator's truth SI counts.
"""

from __future__ import annotations

import numpy as np

from imugait.analysis.impact import impact_metrics, segment_long_axis, shock_signal
from imugait.sim import PRESETS, simulate
from imugait.types import Location, Side

LAGS = np.arange(-8, 16)  # samples around IC (100 Hz: -80..+150 ms)


def main() -> None:
    base = PRESETS["left_hyperextension"].with_(
        duration_s=60.0, hx_side=Side.LEFT, seed=32, impact_shank_g=0.0, impact_foot_g=0.0
    )
    print(f"lags (ms): {np.array2string(LAGS * 10, max_line_width=200)}")
    for hx_deg in (0.0, 15.0):
        sim = simulate(base.with_(hx_deg=hx_deg, hx_sd_deg=1.5 if hx_deg else 0.0))
        for s in sim.sensors:
            if s.location not in (Location.LEFT_SHANK, Location.RIGHT_SHANK):
                continue
            side = s.location.side
            t, fs = s.true_t_s, s.fs_hz
            ic = sim.truth.ic_t_s(side)
            fc = sim.truth.fc_t_s(side)
            fc = np.concatenate([fc, np.full(max(0, len(ic) - len(fc)), np.inf)])[: len(ic)]
            ax = segment_long_axis(t, s.acc_m_s2, s.gyr_rad_s, fs_hz=fs, ic_t_s=ic, fc_t_s=fc)
            axial = s.acc_m_s2 @ ax.axis
            shock = shock_signal(t, axial, fs_hz=fs)
            p2p = float(np.nanmean(impact_metrics(t, shock, ic, fs_hz=fs).peak_m_s2))
            idx = np.searchsorted(t, ic)
            idx = idx[(idx > 20) & (idx < len(t) - 20)][3:-3]  # steady strides
            raw = np.mean([axial[i + LAGS] for i in idx], axis=0)
            hp = np.mean([shock[i + LAGS] for i in idx], axis=0)
            print(f"hx {hx_deg:4.1f} deg {side.value:5s} shock p2p {p2p:5.2f} m/s^2")
            print(f"  axial  {np.array2string(raw, precision=1, max_line_width=200)}")
            print(f"  shock  {np.array2string(hp, precision=1, max_line_width=200)}")


if __name__ == "__main__":
    main()
