"""Export a session as BIDS-motion (BIDS 1.9+, "Motion" modality, BEP029).

Written per session (``<id>`` labels are the ids with ``_``/``-`` removed: BIDS labels are
alphanumeric)::

    BIDS/
      dataset_description.json  README  participants.tsv
      sub-<s>/ses-<e>/sub-<s>_ses-<e>_scans.tsv
      sub-<s>/ses-<e>/motion/sub-<s>_ses-<e>_task-walk_tracksys-imu_motion.tsv   (no header)
                                                         ..._tracksys-imu_channels.tsv
                                                         ..._tracksys-imu_motion.json
                                                         ..._tracksys-imu_events.tsv / .json

The spec requires one ``*_motion.tsv`` per tracking system with all channels on one sample
grid. Our sensors each keep their own session-clock timestamps, so every channel is linearly
interpolated onto a uniform grid at the highest sensor rate; grid points inside a data gap
(more than 1.5 sample periods without data) are ``n/a``. Channels: ``ACCEL`` and ``GYRO`` per
sensor in sensor axes (``m/s^2``, ``rad/s``) and the estimated knee flexion per leg
(``JNTANG``, ``deg``, thigh relative to shank). Events: initial and final contacts per side and
stance hyperextension intervals, with ``onset`` relative to the first motion sample.
Reference: Jeung S. et al. (2024), "Motion-BIDS: an extension to the brain imaging data
structure to organize motion data for reproducible research", Scientific Data 11:716.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from imugait import __version__
from imugait.analyze import SessionAnalysis
from imugait.errors import InputDataError
from imugait.export.schema import validate_id
from imugait.ingest.recording_types import RecordingHeader
from imugait.types import F64, SampleBlock, Side

BIDS_VERSION = "1.10.0"
TASK = "walk"
TRACKSYS = "imu"


def bids_label(value: str, *, what: str) -> str:
    """A BIDS label (letters and digits) from an imugait id (``_`` and ``-`` removed)."""
    validate_id(value, what=what)
    label = re.sub(r"[^A-Za-z0-9]", "", value)
    if not label:
        raise InputDataError(f"{what} {value!r} has no letters or digits: not a BIDS label")
    return label


def _camel(location: str) -> str:
    return "".join(p.capitalize() for p in location.split("_"))


def _on_grid(t: F64, x: F64, grid: F64, max_step_s: float) -> F64:
    """``x(t)`` linearly interpolated at ``grid``; NaN outside the data or inside gaps."""
    out = np.full((len(grid), x.shape[1]), np.nan)
    if len(t) < 2:
        return out
    k = np.searchsorted(t, grid, side="right")  # t[k-1] <= grid < t[k]
    kk = np.clip(k, 1, len(t) - 1)
    inner = (k >= 1) & (k <= len(t) - 1) & ((t[kk] - t[kk - 1]) <= max_step_s)
    on_sample = (k >= 1) & (np.abs(grid - t[np.maximum(k - 1, 0)]) <= 1e-9)
    ok = inner | on_sample
    for j in range(x.shape[1]):
        out[ok, j] = np.interp(grid[ok], t, x[:, j])
    return out


def _sensor_series(blocks: Sequence[SampleBlock]) -> dict[str, tuple[SampleBlock, float]]:
    """Per sensor: all its samples as one block, and its effective rate on the session clock
    (sample-index span over time span; lost samples count)."""
    by: dict[str, list[SampleBlock]] = {}
    for b in blocks:
        if b.n:
            by.setdefault(b.sensor, []).append(b)
    out = {}
    for sid, bl in by.items():
        bl.sort(key=lambda b: float(b.t_s[0]))
        whole = SampleBlock.concat(bl)
        span_s = float(whole.t_s[-1] - whole.t_s[0])
        last = bl[-1].first_seq + bl[-1].n - 1
        out[sid] = (whole, (last - bl[0].first_seq) / span_s if span_s > 0 else math.nan)
    return out


def _write_tsv(
    df: pd.DataFrame, path: Path, *, header: bool = True, float_format: str = "%.7g"
) -> None:
    df.to_csv(path, sep="\t", index=False, header=header, na_rep="n/a", float_format=float_format)


def _events(res: SessionAnalysis, t0: float) -> pd.DataFrame:
    st = res.strides
    n = len(st)
    side = st["side"].astype(str).to_numpy()
    ic = st["ic_t_s"].to_numpy(dtype=np.float64) - t0
    fc = st["fc_t_s"].to_numpy(dtype=np.float64) - t0
    parts = [
        pd.DataFrame({"onset": ic, "duration": 0.0, "trial_type": "initial_contact", "side": side}),
        pd.DataFrame({"onset": fc, "duration": 0.0, "trial_type": "final_contact", "side": side}),
    ]
    if "hyperextension" in st and n:
        pos = st["hyperextension"].fillna(False).astype(bool).to_numpy()
        on = st["hyperext_onset_t_s"].to_numpy(dtype=np.float64)
        off = st["hyperext_offset_t_s"].to_numpy(dtype=np.float64)
        ok = pos & np.isfinite(on) & np.isfinite(off)
        parts.append(
            pd.DataFrame(
                {
                    "onset": on[ok] - t0,
                    "duration": off[ok] - on[ok],
                    "trial_type": "stance_hyperextension",
                    "side": side[ok],
                }
            )
        )
    df = pd.concat(parts, ignore_index=True)
    return df.sort_values(["onset", "trial_type"], kind="stable").reset_index(drop=True)


EVENTS_JSON: dict[str, Any] = {
    "onset": {"Description": "event time from the first motion sample", "Units": "s"},
    "duration": {"Description": "0 for contacts; length of the hyperextension", "Units": "s"},
    "trial_type": {
        "Description": "gait event",
        "Levels": {
            "initial_contact": "foot strike (IC) that starts a stride of this side",
            "final_contact": "toe-off (FC) of this side",
            "stance_hyperextension": "knee below -5 deg in stance (imugait rule)",
        },
    },
    "side": {"Description": "body side of the event", "Levels": {"left": "left", "right": "right"}},
}


def _top_level(root: Path, sub: str) -> None:
    desc = root / "dataset_description.json"
    if not desc.exists():
        body = {
            "Name": "imugait gait recordings",
            "BIDSVersion": BIDS_VERSION,
            "DatasetType": "raw",
            "GeneratedBy": [{"Name": "imugait", "Version": __version__}],
        }
        desc.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    readme = root / "README"
    if not readme.exists():
        readme.write_text(
            "Wearable-IMU walking sessions exported by imugait (BIDS-motion).\n"
            "IMU channels are in sensor axes, interpolated onto one grid per session; knee "
            "flexion (JNTANG) is imugait's estimate.\n",
            encoding="utf-8",
        )
    parts = root / "participants.tsv"
    ids = pd.read_csv(parts, sep="\t")["participant_id"].tolist() if parts.exists() else []
    if f"sub-{sub}" not in ids:
        ids.append(f"sub-{sub}")
        _write_tsv(pd.DataFrame({"participant_id": sorted(ids)}), parts)


def _bids_time(iso: str) -> str:
    """ISO 8601 with offset -> BIDS date-time (``YYYY-MM-DDThh:mm:ss.ffffffZ``, UTC)."""
    return re.sub(r"\+00:00$", "Z", iso)


def export_bids(
    analysis: SessionAnalysis,
    bids_root: str | os.PathLike[str],
    *,
    subject_id: str,
    session_id: str,
    samples: Sequence[SampleBlock],
    header: RecordingHeader | None = None,
) -> dict[str, Path]:
    """Write one session as BIDS-motion under ``bids_root`` (replacing an earlier export).

    Returns the written files by role (``motion``, ``channels``, ``motion_json``, ``events``,
    ``events_json``, ``scans``).
    """
    sub = bids_label(subject_id, what="subject id")
    ses = bids_label(session_id, what="session id")
    with_rate = _sensor_series(samples)
    series = {sid: b for sid, (b, _) in with_rate.items()}
    if not series:
        raise InputDataError("no samples to export as BIDS-motion")
    root = Path(bids_root)
    motion_dir = root / f"sub-{sub}" / f"ses-{ses}" / "motion"
    motion_dir.mkdir(parents=True, exist_ok=True)
    _top_level(root, sub)
    stem = f"sub-{sub}_ses-{ses}_task-{TASK}_tracksys-{TRACKSYS}"

    # 1. one uniform grid at the highest rate, covering all sensors
    fs = max(b.fs_hz for b in series.values())
    t_lo = min(float(b.t_s[0]) for b in series.values())
    t_hi = max(float(b.t_s[-1]) for b in series.values())
    k0 = math.floor(t_lo * fs)
    grid = (k0 + np.arange(math.floor(t_hi * fs) - k0 + 1)) / fs
    t0 = float(grid[0])

    # 2. channels: ACCEL + GYRO per sensor, then JNTANG per knee
    cols: dict[str, F64] = {}
    chans: list[dict[str, Any]] = []
    for sid in sorted(series, key=lambda s: series[s].location.value):
        b = series[sid]
        loc = b.location.value
        data = _on_grid(b.t_s, np.hstack([b.acc_m_s2, b.gyr_rad_s]), grid, 1.5 / b.fs_hz)
        for j, (kind, unit, what) in enumerate(
            [("ACCEL", "m/s^2", "specific force")] * 3 + [("GYRO", "rad/s", "angular rate")] * 3
        ):
            axis = "xyz"[j % 3]
            name = f"{loc}_{'acc' if kind == 'ACCEL' else 'gyr'}_{axis}"
            cols[name] = data[:, j]
            chans.append(
                {
                    "name": name,
                    "component": axis,
                    "type": kind,
                    "tracked_point": _camel(loc),
                    "units": unit,
                    "placement": f"{loc.replace('_', ' ')}, sensor {sid}",
                    "description": f"{what}, sensor axes, interpolated onto the common grid",
                    "sampling_frequency": b.fs_hz,
                }
            )
    knee = analysis.knee
    for side in Side:
        k = knee[knee["side"] == side.value]
        if len(k) < 2:
            continue
        t = k["t_s"].to_numpy(dtype=np.float64)
        step = float(np.median(np.diff(t)))
        x = k[["knee_flexion_deg"]].to_numpy(dtype=np.float64)
        name = f"{side.value}_knee_flexion"
        cols[name] = _on_grid(t, x, grid, 1.5 * step)[:, 0]
        chans.append(
            {
                "name": name,
                "component": "n/a",
                "type": "JNTANG",
                "tracked_point": f"{side.value.capitalize()}Knee",
                "units": "deg",
                "placement": f"{side.value} thigh and shank sensors",
                "description": "knee flexion (+) / extension (-), imugait estimate",
                "sampling_frequency": round(1.0 / step, 6),
            }
        )

    files = {
        "motion": motion_dir / f"{stem}_motion.tsv",
        "channels": motion_dir / f"{stem}_channels.tsv",
        "motion_json": motion_dir / f"{stem}_motion.json",
        "events": motion_dir / f"{stem}_events.tsv",
        "events_json": motion_dir / f"{stem}_events.json",
        "scans": root / f"sub-{sub}" / f"ses-{ses}" / f"sub-{sub}_ses-{ses}_scans.tsv",
    }
    _write_tsv(pd.DataFrame(cols), files["motion"], header=False)
    _write_tsv(pd.DataFrame(chans), files["channels"])

    # 3. sidecar: required TaskName + SamplingFrequency, recommended counts
    eff = [r for _, r in with_rate.values() if math.isfinite(r)]
    types = [c["type"] for c in chans]
    sidecar: dict[str, Any] = {
        "TaskName": TASK,
        "TaskDescription": "walking, wearable IMUs on thighs/shanks/feet",
        "SamplingFrequency": fs,
        "SamplingFrequencyEffective": float(np.median(eff)) if eff else "n/a",
        "TrackingSystemName": "imugait wearable IMUs",
        "SoftwareVersions": f"imugait {__version__}",
        "MotionChannelCount": len(chans),
        "ACCELChannelCount": types.count("ACCEL"),
        "GYROChannelCount": types.count("GYRO"),
        "JNTANGChannelCount": types.count("JNTANG"),
        "TrackedPointsCount": len({c["tracked_point"] for c in chans}),
        "MissingValues": "n/a",
        "RecordingDuration": float(grid[-1] - grid[0]),
        "SubjectArtefactDescription": "n/a",
    }
    files["motion_json"].write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")
    _write_tsv(_events(analysis, t0), files["events"], float_format="%.6f")
    files["events_json"].write_text(json.dumps(EVENTS_JSON, indent=2) + "\n", encoding="utf-8")
    scans = {"filename": [f"motion/{stem}_motion.tsv"]}
    if header is not None:
        scans["acq_time"] = [_bids_time(header.created_utc)]
    _write_tsv(pd.DataFrame(scans), files["scans"])
    return files
