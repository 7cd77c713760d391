"""Write a simulated session as a raw imugait recording, through the real protocol encoder.

Each simulated sensor streams in the reference protocol (``imugait-ref-1``): its samples are
quantised and framed by :func:`imugait.ingest.protocols.reference.encode_stream`, exactly as
firmware would, and every frame becomes one notification in a
:class:`~imugait.ingest.recording.RecordingWriter` file, in host arrival order.

Transport model (our estimate of a BLE link, docs/ble.md §3.2-3.4):

* a frame is sent once its last sample exists; it arrives after
  ``LATENCY_FLOOR_S + U(0, ble_latency_ms) + Exp(ble_jitter_ms)`` (connection-event wait plus
  host-stack jitter), with rare spikes (``SPIKE_PROB``, +50..300 ms); notifications of one
  sensor arrive in order (a late one delays those behind it);
* packet loss drops whole frames in bursts (mean length ``loss_burst_len``) with overall
  probability ``packet_loss_prob``; the sequence counter still advances, so the loss is
  countable, and the exact count per sensor is written to the ground truth;
* ``disconnects`` (location, start, end) drop every frame of that sensor in the interval and
  log ``disconnected``/``connected`` events, as the live session does.

The host clock equals the true (session) clock plus ``HOST_T0_S``: a recording's session clock
is therefore the simulator's true time, up to the latency floor the clock mapping cannot see.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from imugait import __version__
from imugait.ingest.protocols.reference import (
    DATA_UUID,
    PROTOCOL_NAME,
    ReferenceConfig,
    encode_stream,
    max_samples_per_frame,
)
from imugait.ingest.recording import RecordingHeader, RecordingWriter, SensorEntry
from imugait.kinematics import KneePose, KneeReference
from imugait.kinematics.reference import knee_calibration_to_header
from imugait.types import Location, Segment, Side

LATENCY_FLOOR_S = 0.0025
SPIKE_PROB = 0.005
#: Creation time written into simulated recordings.
SIM_CREATED_UTC = "2026-01-01T00:00:00+00:00"
#: Arbitrary host monotonic time of the session start (monotonic clocks never start at 0).
HOST_T0_S = 5000.0


@dataclass(frozen=True, slots=True)
class SensorLinkStats:
    """Exact transport facts of one simulated sensor (written to the ground truth)."""

    sensor_id: str
    frames_sent: int
    frames_lost: int
    samples_per_frame: int


def _loss_mask(n: int, prob: float, burst: float, rng: np.random.Generator) -> np.ndarray:
    """Bursty losses: a two-state Markov chain with mean burst ``burst`` and loss rate ``prob``."""
    lost = np.zeros(n, dtype=bool)
    if prob <= 0 or n == 0:
        return lost
    p_exit = 1.0 / max(burst, 1.0)
    p_enter = prob * p_exit / max(1.0 - prob, 1e-9)
    u = rng.random(n)
    state = False
    for i in range(n):
        state = (u[i] >= p_exit) if state else (u[i] < p_enter)
        lost[i] = state
    return lost


def _arrivals(sent_t_s: np.ndarray, sc: Any, rng: np.random.Generator) -> np.ndarray:
    n = len(sent_t_s)
    lat = (
        LATENCY_FLOOR_S
        + rng.uniform(0.0, sc.ble_latency_ms * 1e-3, n)
        + rng.exponential(max(sc.ble_jitter_ms, 1e-6) * 1e-3, n)
    )
    spikes = rng.random(n) < SPIKE_PROB
    lat[spikes] += rng.uniform(0.05, 0.3, int(spikes.sum()))
    arrive = sent_t_s + lat
    return np.maximum.accumulate(arrive)  # in-order delivery on one connection


def pose_calibration(sim: Any, *, margin_s: float = 0.5) -> dict[str, Any]:
    """The clinician's start-of-session knee calibration, as a recording header entry.

    The simulated subject stands still for ``stand_start_s`` before walking; a clinician would
    measure the standing knee angle with a goniometer then. The "goniometer reading" here is the
    true mean knee angle over that window (an exact goniometer: accuracy figures then measure
    imugait alone). ``{}`` when the scenario has less than 2 s of standing at the start.
    """
    sc = sim.scenario
    t0, t1 = margin_s, sc.stand_start_s - margin_s
    if t1 - t0 < 1.0:
        return {}
    refs: dict[Side, KneeReference] = {}
    for side in Side:
        locs = {s.location for s in sim.sensors}
        if not {Location.of(side, Segment.THIGH), Location.of(side, Segment.SHANK)} <= locs:
            continue
        t, knee = sim.truth.signal(side)
        m = (t >= t0) & (t <= t1)
        refs[side] = KneePose(t0, t1, float(np.mean(knee[m])))
    return knee_calibration_to_header(refs) if refs else {}


def write_simulation(
    sim: Any,
    path: str | Path,
    *,
    att_mtu: int = 59,
    acc_range_g: int = 16,
    gyr_range_dps: int = 2000,
    subject_id: str = "sim01",
    overwrite: bool = False,
    save_truth: bool = True,
    with_pose: bool = True,
) -> list[SensorLinkStats]:
    """Write ``sim`` (a :class:`~imugait.sim.Simulation`) to ``path``; truth to ``*.truth.json``.

    With ``with_pose`` the header carries the start-of-session goniometer pose
    (:func:`pose_calibration`), as a clinician's calibrated session would.

    Returns per-sensor link statistics (also stored in the truth under ``"link"``).
    """
    path = Path(path)
    sc = sim.scenario
    rng = np.random.default_rng([sc.seed, 0x5EC0])
    spf = max_samples_per_frame(att_mtu)
    entries: list[SensorEntry] = []
    streams: list[tuple[np.ndarray, str, list[bytes]]] = []
    stats: list[SensorLinkStats] = []
    events: list[tuple[float, str, str]] = []
    for s in sim.sensors:
        cfg = ReferenceConfig(
            odr_hz=float(s.fs_hz),
            acc_range_g=acc_range_g,
            gyr_range_dps=gyr_range_dps,
            samples_per_frame=spf,
        )
        t_first_us = round(float(s.sensor_t_s[0]) * 1e6) % (1 << 32)
        frames = encode_stream(s.acc_m_s2, s.gyr_rad_s, cfg, t_first_us=t_first_us)
        last_idx = np.minimum(np.arange(len(frames)) * spf + spf - 1, len(s.true_t_s) - 1)
        sent = np.asarray(s.true_t_s, dtype=np.float64)[last_idx]
        lost = _loss_mask(len(frames), sc.packet_loss_prob, sc.loss_burst_len, rng)
        for loc, t_a, t_b in sc.disconnects:
            if loc == s.location:
                lost |= (sent >= t_a) & (sent < t_b)
                events.append((t_a, s.sensor_id, "disconnected"))
                events.append((t_b, s.sensor_id, "connected"))
        arrive = _arrivals(sent, sc, rng)
        keep = ~lost
        streams.append(
            (arrive[keep], s.sensor_id, [f for f, k in zip(frames, keep, strict=True) if k])
        )
        entries.append(
            SensorEntry(
                sensor_id=s.sensor_id,
                protocol=PROTOCOL_NAME,
                location=s.location,
                name=f"imugait-sim-{s.sensor_id}",
                config=cfg.to_dict(),
            )
        )
        stats.append(SensorLinkStats(s.sensor_id, len(frames), int(lost.sum()), spf))
    header = RecordingHeader(
        session_id=path.stem,
        sensors=tuple(entries),
        host_t0_s=HOST_T0_S,
        subject_id=subject_id,
        metadata={"source": "imugait simulate", "scenario_seed": sc.seed},
        calibration=pose_calibration(sim) if with_pose else {},
        software_version=__version__,
        # Fixed, so that the same scenario always gives the same bytes (reproducible files).
        created_utc=SIM_CREATED_UTC,
    )
    times = np.concatenate([a for a, _, _ in streams])
    which = np.concatenate([np.full(len(a), i) for i, (a, _, _) in enumerate(streams)])
    pos = np.concatenate([np.arange(len(a)) for a, _, _ in streams])
    order = np.argsort(times, kind="stable")
    events.sort()
    ev_i = 0
    last_flush_t = -np.inf
    with RecordingWriter(path, header, overwrite=overwrite, clock=lambda: 0.0) as w:
        for k in order.tolist():
            t = float(times[k])
            while ev_i < len(events) and events[ev_i][0] <= t:
                te, sid, kind = events[ev_i]
                w.write_event(HOST_T0_S + te, kind, {}, sensor_id=sid)
                ev_i += 1
            _, sid, payloads = streams[int(which[k])]
            w.write_notification(sid, DATA_UUID, HOST_T0_S + t, payloads[int(pos[k])])
            if t - last_flush_t >= 1.0:  # one block per second of session, as live
                w.flush()
                last_flush_t = t
        for te, sid, kind in events[ev_i:]:
            w.write_event(HOST_T0_S + te, kind, {}, sensor_id=sid)
    if save_truth:
        truth = sim.truth
        extra = {
            "link": [
                {
                    "sensor_id": st.sensor_id,
                    "frames_sent": st.frames_sent,
                    "frames_lost": st.frames_lost,
                    "samples_per_frame": st.samples_per_frame,
                }
                for st in stats
            ],
            "recording": path.name,
            "latency_floor_s": LATENCY_FLOOR_S,
        }
        d = truth.to_dict()
        # Per-sample signals to 1e-4 deg: exact for any accuracy figure, a third of the size.
        for side in ("left", "right"):
            for name, vals in d["signals"].get(side, {}).items():
                d["signals"][side][name] = np.round(np.asarray(vals, dtype=float), 4).tolist()
        d.update(extra)
        truth_path(path).write_text(json.dumps(d), encoding="utf-8")
    return stats


def truth_path(recording: str | Path) -> Path:
    """Where the ground truth of a simulated recording lives: ``NAME.truth.json`` beside it."""
    p = Path(recording)
    return p.with_name(p.stem + ".truth.json")


def read_link_stats(recording: str | Path) -> list[SensorLinkStats]:
    """The exact transport facts stored in a simulated recording's truth file."""
    d = json.loads(truth_path(recording).read_text(encoding="utf-8"))
    return [SensorLinkStats(**x) for x in d["link"]]
