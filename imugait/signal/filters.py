"""Causal Butterworth filters with carried state (``LowPass``, ``HighPass``, ``BandPass``).

Design: ``scipy.signal.butter(order, Wn, output="sos", fs=fs_hz)`` (second-order sections;
Butterworth 1930, "On the theory of filter amplifiers"); run with ``sosfilt`` along time with
the final state ``zf`` of one block fed back as ``zi`` of the next, per sensor. Filtering a
stream in any chunking is therefore bit-identical to filtering it in one piece (checked in the
tests). At the first block of a sensor and after every gap (``first_seq`` jump) the state is
reset to the steady state for the first sample (``sosfilt_zi(sos) * x0``), so a low-pass starts
without a transient and a high-pass starts at zero. The filters are causal (phase lag), the
same live and offline; acc and gyro are filtered alike.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from scipy.signal import butter, sosfilt, sosfilt_zi

from imugait.errors import ConfigError
from imugait.types import F64, SampleBlock

_Kind = Literal["lowpass", "highpass", "bandpass"]


@dataclass(slots=True)
class _State:
    next_seq: int
    fs_hz: float
    zi: F64  # (n_sections, 2, 6)


class _SosFilter:
    """Shared machinery: per-sensor ``sosfilt`` with carried ``zi``."""

    def __init__(self, *, kind: _Kind, wn_hz: tuple[float, ...], order: int) -> None:
        if not 1 <= order <= 12:
            raise ConfigError(f"filter order must be in 1..12, got {order}")
        if not all(w > 0 for w in wn_hz) or list(wn_hz) != sorted(set(wn_hz)):
            raise ConfigError(f"cut-off frequencies must be positive and increasing: {wn_hz}")
        self.kind, self.wn_hz, self.order = kind, wn_hz, order
        self._sos: dict[float, F64] = {}
        self._state: dict[str, _State] = {}

    def _design(self, fs_hz: float) -> F64:
        sos = self._sos.get(fs_hz)
        if sos is None:
            if max(self.wn_hz) >= fs_hz / 2:
                raise ConfigError(
                    f"{self.kind} cut-off {max(self.wn_hz)} Hz is not below the Nyquist "
                    f"frequency {fs_hz / 2} Hz"
                )
            wn = self.wn_hz[0] if len(self.wn_hz) == 1 else self.wn_hz
            sos = np.asarray(butter(self.order, wn, btype=self.kind, output="sos", fs=fs_hz))
            self._sos[fs_hz] = sos
        return sos

    def push(self, block: SampleBlock) -> list[SampleBlock]:
        """Filter one block; returns it filtered (nothing is held back)."""
        if block.n == 0:
            return [block]
        sos = self._design(block.fs_hz)
        x = np.concatenate([block.acc_m_s2, block.gyr_rad_s], axis=1)
        st = self._state.get(block.sensor)
        if st is None or st.next_seq != block.first_seq or st.fs_hz != block.fs_hz:
            zi = sosfilt_zi(sos)[:, :, None] * x[0][None, None, :]
        else:
            zi = st.zi
        y, zf = sosfilt(sos, x, axis=0, zi=zi)
        self._state[block.sensor] = _State(block.first_seq + block.n, block.fs_hz, zf)
        return [replace(block, acc_m_s2=y[:, :3], gyr_rad_s=y[:, 3:])]

    def flush(self) -> list[SampleBlock]:
        """Nothing is held back."""
        return []

    def reset(self) -> None:
        """Forget all per-sensor state."""
        self._state.clear()


class LowPass(_SosFilter):
    """Causal Butterworth low-pass, per sensor, chunk-invariant.

    Parameters
    ----------
    cutoff_hz
        -3 dB frequency.
    order
        Filter order (default 4).
    """

    def __init__(self, *, cutoff_hz: float, order: int = 4) -> None:
        super().__init__(kind="lowpass", wn_hz=(cutoff_hz,), order=order)
        self.cutoff_hz = cutoff_hz


class HighPass(_SosFilter):
    """Causal Butterworth high-pass, per sensor, chunk-invariant (see :class:`LowPass`)."""

    def __init__(self, *, cutoff_hz: float, order: int = 2) -> None:
        super().__init__(kind="highpass", wn_hz=(cutoff_hz,), order=order)
        self.cutoff_hz = cutoff_hz


class BandPass(_SosFilter):
    """Causal Butterworth band-pass ``[low_hz, high_hz]`` (order per edge), chunk-invariant."""

    def __init__(self, *, low_hz: float, high_hz: float, order: int = 2) -> None:
        super().__init__(kind="bandpass", wn_hz=(low_hz, high_hz), order=order)
        self.low_hz, self.high_hz = low_hz, high_hz
