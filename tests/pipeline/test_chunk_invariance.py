"""The one-processing-path guarantee: any chunking of a recording gives the whole-push result.

The live path pushes one notification at a time, interleaved across sensors in arrival order;
the offline path pushes each sensor's whole stream. Both must give identical strides and knee
angles, for any cut points (hypothesis).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imugait.ingest.recording import read_recording
from imugait.ingest.replay import DecodedSensor, decode_recording
from imugait.pipeline import GaitPipeline, PipelineOutput, SensorSpec
from imugait.sim import PRESETS, simulate
from imugait.sim.record import write_simulation


@pytest.fixture(scope="module")
def decoded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, DecodedSensor]:
    sc = PRESETS["lossy_drift"].with_(duration_s=30.0, stand_start_s=2.0, stand_end_s=2.0, seed=7)
    out = Path(tmp_path_factory.mktemp("rec")) / "chunk.imurec"
    write_simulation(simulate(sc), out)
    return decode_recording(read_recording(out))


def _specs(decoded: dict[str, DecodedSensor]) -> list[SensorSpec]:
    return [SensorSpec(sid, d.entry.location, d.nominal_fs_hz) for sid, d in decoded.items()]


def _result(outs: list[PipelineOutput]) -> tuple[list[object], dict[str, np.ndarray]]:
    strides = sorted((s for o in outs for s in o.strides), key=lambda s: (s.side, s.ic_t_s))
    knee: dict[str, list[np.ndarray]] = {}
    for o in outs:
        for k in o.knee:
            knee.setdefault(k.side.value, []).append(np.column_stack([k.t_s, k.knee_flexion_rad]))
    return list(strides), {s: np.concatenate(v) for s, v in knee.items()}


def _whole(decoded: dict[str, DecodedSensor]) -> tuple[list[object], dict[str, np.ndarray]]:
    p = GaitPipeline(_specs(decoded))
    outs = [p.push_frames(sid, d.batch) for sid, d in decoded.items()]
    outs.append(p.flush())
    return _result(outs)


def _chunked(
    decoded: dict[str, DecodedSensor], cuts: dict[str, list[int]]
) -> tuple[list[object], dict[str, np.ndarray]]:
    """Push chunks of all sensors interleaved by their first frame's arrival time (live-like)."""
    p = GaitPipeline(_specs(decoded))
    items = []
    for sid, d in decoded.items():
        edges = [0, *sorted(c for c in cuts[sid] if 0 < c < d.batch.n_frames), d.batch.n_frames]
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            if hi > lo:
                items.append((float(d.batch.host_t_s[lo]), sid, d.batch.take(lo, hi)))
    items.sort(key=lambda x: (x[0], x[1]))
    outs = [p.push_frames(sid, b) for _, sid, b in items]
    outs.append(p.flush())
    return _result(outs)


def _assert_same(
    a: tuple[list[object], dict[str, np.ndarray]], b: tuple[list[object], dict[str, np.ndarray]]
) -> None:
    assert a[0] == b[0]
    assert a[1].keys() == b[1].keys()
    for side in a[1]:
        np.testing.assert_array_equal(a[1][side], b[1][side])


def test_whole_push_finds_strides_and_knee(decoded: dict[str, DecodedSensor]) -> None:
    strides, knee = _whole(decoded)
    assert len(strides) >= 20
    assert set(knee) == {"left", "right"}


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_chunking_gives_the_same_strides_and_knee(
    decoded: dict[str, DecodedSensor], data: st.DataObject
) -> None:
    cuts = {
        sid: data.draw(st.lists(st.integers(1, d.batch.n_frames - 1), max_size=40), label=sid)
        for sid, d in decoded.items()
    }
    _assert_same(_whole(decoded), _chunked(decoded, cuts))


def test_one_notification_at_a_time_equals_whole(decoded: dict[str, DecodedSensor]) -> None:
    cuts = {sid: list(range(1, d.batch.n_frames)) for sid, d in decoded.items()}
    _assert_same(_whole(decoded), _chunked(decoded, cuts))
