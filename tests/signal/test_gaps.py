"""Gap listing from SampleBlocks (seq jumps and time steps)."""

from __future__ import annotations

import numpy as np

from imugait.signal.gaps import Gap, GapDetector, find_gaps, time_gaps
from imugait.types import Location, SampleBlock


def _blk(first_seq: int, n: int, fs: float = 100.0, sensor: str = "a") -> SampleBlock:
    t = (first_seq + np.arange(n)) / fs
    z = np.zeros((n, 3))
    return SampleBlock(sensor=sensor, location=Location.LEFT_FOOT, t_s=t, acc_m_s2=z,
                       gyr_rad_s=z, fs_hz=fs, first_seq=first_seq)  # fmt: skip


def test_gaps_from_seq_jumps() -> None:
    gaps = find_gaps([_blk(0, 50), _blk(52, 10), _blk(70, 5), _blk(75, 5)])
    assert gaps == [
        Gap("a", 0.49, 0.52, 2, True),
        Gap("a", 0.61, 0.70, 8, False),
    ]
    assert gaps[1].overlaps(0.3, 0.62)
    assert not gaps[1].overlaps(0.70, 0.9)


def test_per_sensor_and_bridge_limit() -> None:
    det = GapDetector(max_bridge_samples=1)
    out = det.push(_blk(0, 10, sensor="a")) + det.push(_blk(0, 10, sensor="b"))
    out += det.push(_blk(12, 3, sensor="b")) + det.push(_blk(10, 3, sensor="a"))
    assert out == [Gap("b", 0.09, 0.12, 2, False)]


def test_time_gaps_without_counter() -> None:
    t = np.array([0.0, 0.01, 0.02, 0.05, 0.06, 0.0749, 0.2])
    cuts, lost = time_gaps(t, 100.0)
    assert cuts.tolist() == [3, 6]
    assert lost.tolist() == [2, 12]
    # a block whose samples jump in time (no seq information) also reports the gap
    b = SampleBlock(sensor="c", location=Location.LEFT_FOOT, t_s=t, acc_m_s2=np.zeros((7, 3)),
                    gyr_rad_s=np.zeros((7, 3)), fs_hz=100.0)  # fmt: skip
    assert [g.lost_samples for g in find_gaps([b])] == [2, 12]
