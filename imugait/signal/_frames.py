"""Internal container of decoded frames for the clock stage."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from imugait.types import F64, I64

Bool = NDArray[np.bool_]


@dataclass(slots=True)
class _Frames:
    """Frames of one sensor with their samples (internal; sensor time already unwrapped)."""

    h: F64  # (m,) host arrival, session clock
    s_last: F64  # (m,) sensor time of each frame's last sample
    n: I64  # (m,) samples per frame (> 0)
    restart: Bool  # (m,) frame starts a new anchor
    lost: I64  # (m,) samples lost right before the frame (-1: unknown, estimate on output)
    s: F64  # (N,) sensor time of the samples
    acc: F64  # (N, 3)
    gyr: F64  # (N, 3)

    @property
    def m(self) -> int:
        return len(self.h)

    def take(self, lo: int, hi: int) -> _Frames:
        ends = np.cumsum(self.n)
        a = int(ends[lo - 1]) if lo > 0 else 0
        b = int(ends[hi - 1]) if hi > 0 else 0
        return _Frames(
            self.h[lo:hi],
            self.s_last[lo:hi],
            self.n[lo:hi],
            self.restart[lo:hi],
            self.lost[lo:hi],
            self.s[a:b],
            self.acc[a:b],
            self.gyr[a:b],
        )

    @staticmethod
    def cat(a: _Frames, b: _Frames) -> _Frames:
        return _Frames(
            np.concatenate([a.h, b.h]),
            np.concatenate([a.s_last, b.s_last]),
            np.concatenate([a.n, b.n]),
            np.concatenate([a.restart, b.restart]),
            np.concatenate([a.lost, b.lost]),
            np.concatenate([a.s, b.s]),
            np.concatenate([a.acc, b.acc]),
            np.concatenate([a.gyr, b.gyr]),
        )

    @staticmethod
    def empty() -> _Frames:
        e, i = np.empty(0), np.empty(0, dtype=np.int64)
        return _Frames(e, e, i, np.empty(0, dtype=bool), i, e, np.empty((0, 3)), np.empty((0, 3)))
