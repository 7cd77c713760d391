"""Synthetic BLE frame streams with known truth, for the signal-stage tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imugait.types import F64, I64, FrameBatch


@dataclass(frozen=True)
class Stream:
    batch: FrameBatch
    true_t_s: F64  # (N,) true session time of every delivered sample
    sample_idx: I64  # (N,) index of every delivered sample in the sensor's sample stream
    lat_min_s: float
    skew: float  # true d(session)/d(sensor) - 1


def make_stream(
    *,
    duration_s: float,
    fs_hz: float = 200.0,
    n_per_frame: int = 4,
    offset_s: float = 12.3,
    skew_ppm: float = 150.0,
    sensor_t0_s: float = 1000.0,
    lat_min_s: float = 0.008,
    lat_scale_s: float = 0.010,
    spike_prob: float = 0.01,
    drop_prob: float = 0.0,
    drop_burst: tuple[int, int] | None = None,
    seq0: int = 0,
    with_seq: bool = True,
    wrap_s: float | None = None,
    seed: int = 0,
) -> Stream:
    """One connection: sensor time ``s = sensor_t0 + k / fs``; session time
    ``t = offset + (1 + skew) (s - sensor_t0)``; frame arrival = time of its last sample plus a
    one-sided latency (min + exponential + rare 100-400 ms spikes), delivered in FIFO order."""
    rng = np.random.default_rng(seed)
    m = int(duration_s * fs_hz) // n_per_frame
    k = np.arange(m * n_per_frame)
    s = sensor_t0_s + k / fs_hz
    skew = skew_ppm * 1e-6
    t_true = offset_s + (1.0 + skew) * (s - sensor_t0_s)
    last = t_true[n_per_frame - 1 :: n_per_frame]
    lat = lat_min_s + rng.exponential(lat_scale_s, m)
    spikes = rng.random(m) < spike_prob
    lat[spikes] += rng.uniform(0.1, 0.4, int(spikes.sum()))
    host = np.maximum.accumulate(last + lat)
    keep = rng.random(m) >= drop_prob
    keep[0] = True
    if drop_burst is not None:
        keep[drop_burst[0] : drop_burst[1]] = False
    seq = (seq0 + np.arange(m)) % (1 << 16) if with_seq else np.full(m, -1)
    skeep = np.repeat(keep, n_per_frame)
    raw = s[skeep] % wrap_s if wrap_s is not None else s[skeep]
    nk = int(keep.sum())
    phase = np.linspace(0, 40 * np.pi, len(k))
    acc = np.stack([np.sin(phase), np.cos(phase), 9.81 + 0 * phase], axis=1)[skeep]
    gyr = np.stack([np.cos(3 * phase), 0.1 * phase, -np.sin(phase)], axis=1)[skeep]
    batch = FrameBatch(
        host_t_s=host[keep],
        seq=seq[keep],
        frame_start=np.arange(nk) * n_per_frame,
        sensor_t_s=raw,
        acc_m_s2=acc,
        gyr_rad_s=gyr,
        sensor_t_wrap_s=wrap_s,
    )
    return Stream(batch, t_true[skeep], k[skeep], lat_min_s, skew)


def cat_batches(batches: list[FrameBatch]) -> FrameBatch:
    """Concatenate batches of one sensor (same protocol)."""
    lens = [b.n_samples for b in batches]
    offs = np.concatenate([[0], np.cumsum(lens)[:-1]])
    return FrameBatch(
        host_t_s=np.concatenate([b.host_t_s for b in batches]),
        seq=np.concatenate([b.seq for b in batches]),
        frame_start=np.concatenate([b.frame_start + o for b, o in zip(batches, offs, strict=True)]),
        sensor_t_s=np.concatenate([b.sensor_t_s for b in batches]),
        acc_m_s2=np.concatenate([b.acc_m_s2 for b in batches]),
        gyr_rad_s=np.concatenate([b.gyr_rad_s for b in batches]),
        seq_modulo=batches[0].seq_modulo,
        sensor_t_wrap_s=batches[0].sensor_t_wrap_s,
    )


def frames(batch: FrameBatch, lo: int, hi: int) -> FrameBatch:
    """Frames ``[lo, hi)`` of a batch as a new batch."""
    return batch.take(lo, hi)


def split(batch: FrameBatch, cuts: list[int]) -> list[FrameBatch]:
    edges = [0, *sorted(c for c in set(cuts) if 0 < c < batch.n_frames), batch.n_frames]
    return [frames(batch, a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]
