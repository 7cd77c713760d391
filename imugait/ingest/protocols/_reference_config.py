"""Constants and configuration of the imugait reference BLE protocol ("imugait-ref-1").

The normative description is ``firmware_notes/reference_protocol.md``; this module holds the
numbers that both the host code and the emulator take from it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, TypeGuard

from imugait.errors import ConfigError
from imugait.units import G_M_S2, RAD_PER_DEG

PROTOCOL_NAME: Final = "imugait-ref-1"
PROTOCOL_VERSION: Final = 1

#: GATT UUIDs: one random 128-bit base, the first 16 bits number the attributes.
SERVICE_UUID: Final = "7a6d0001-83c2-4735-9464-b8bd3127cd78"
DATA_UUID: Final = "7a6d0002-83c2-4735-9464-b8bd3127cd78"
CONTROL_UUID: Final = "7a6d0003-83c2-4735-9464-b8bd3127cd78"
INFO_UUID: Final = "7a6d0004-83c2-4735-9464-b8bd3127cd78"

#: DATA frame type byte of an IMU6 frame (int16 acc + gyro). Other values are reserved.
FRAME_TYPE_IMU6: Final = 0x01
FRAME_HEADER_BYTES: Final = 8
SAMPLE_BYTES: Final = 12
#: An ATT attribute value is at most 512 bytes, so a frame holds at most (512 - 8) // 12 samples.
MAX_ATTRIBUTE_BYTES: Final = 512
MAX_SAMPLES_PER_FRAME: Final = (MAX_ATTRIBUTE_BYTES - FRAME_HEADER_BYTES) // SAMPLE_BYTES  # 42
MIN_ATT_MTU: Final = 23

SEQ_MODULO: Final = 1 << 16
T0_MODULO_US: Final = 1 << 32
SENSOR_T_WRAP_S: Final = T0_MODULO_US * 1e-6

ODR_MIN_HZ: Final = 50.0
ODR_MAX_HZ: Final = 400.0
ACC_RANGES_G: Final = (2, 4, 8, 16)
GYR_RANGES_DPS: Final = (250, 500, 1000, 2000)
#: Full scale maps to 32768 counts: LSB per unit = 32768 / range.
FULL_SCALE_COUNTS: Final = 32768

_CONFIG_KEYS: Final = frozenset({"odr_hz", "acc_range_g", "gyr_range_dps", "samples_per_frame"})


def max_samples_per_frame(att_mtu: int) -> int:
    """Largest number of samples per DATA frame that fits one notification.

    A notification carries at most ``ATT_MTU - 3`` bytes (Bluetooth Core 5.x, Vol 3 Part F
    §3.4.7.1) and an attribute value at most 512 bytes; a frame is ``8 + 12 n`` bytes.

    Parameters
    ----------
    att_mtu
        Negotiated ATT MTU in bytes (>= 23).

    Returns
    -------
    int
        1 at MTU 23, 4 at MTU 59, 19 at MTU 247, 42 from MTU 515 up.
    """
    if isinstance(att_mtu, bool) or not isinstance(att_mtu, int) or att_mtu < MIN_ATT_MTU:
        raise ValueError(f"att_mtu must be an int >= {MIN_ATT_MTU}, got {att_mtu!r}")
    value_bytes = min(att_mtu - 3, MAX_ATTRIBUTE_BYTES)
    return (value_bytes - FRAME_HEADER_BYTES) // SAMPLE_BYTES


def frame_bytes(n_samples: int) -> int:
    """Size in bytes of a DATA frame with ``n_samples`` samples (``8 + 12 n``)."""
    return FRAME_HEADER_BYTES + SAMPLE_BYTES * n_samples


def _is_int(x: object) -> TypeGuard[int]:
    return isinstance(x, int) and not isinstance(x, bool)


@dataclass(frozen=True, slots=True)
class ReferenceConfig:
    """Stream configuration of one reference sensor (what INFO reports).

    Parameters
    ----------
    odr_hz
        Output data rate, 50..400 Hz, a whole number of mHz (INFO carries mHz).
    acc_range_g
        Accelerometer full scale, one of 2, 4, 8, 16 (g).
    gyr_range_dps
        Gyroscope full scale, one of 250, 500, 1000, 2000 (deg/s).
    samples_per_frame
        Samples per DATA frame, 1..42 (see :func:`max_samples_per_frame`).
    """

    odr_hz: float = 200.0
    acc_range_g: int = 16
    gyr_range_dps: int = 2000
    samples_per_frame: int = 4

    def __post_init__(self) -> None:
        odr = self.odr_hz
        if isinstance(odr, bool) or not isinstance(odr, int | float) or not math.isfinite(odr):
            raise ValueError(f"odr_hz must be a finite number, got {odr!r}")
        if not ODR_MIN_HZ <= odr <= ODR_MAX_HZ:
            raise ValueError(f"odr_hz must be in [{ODR_MIN_HZ}, {ODR_MAX_HZ}], got {odr}")
        if abs(odr * 1000.0 - round(odr * 1000.0)) > 1e-6:
            raise ValueError(f"odr_hz must be a whole number of mHz, got {odr}")
        object.__setattr__(self, "odr_hz", float(odr))
        if not _is_int(self.acc_range_g) or self.acc_range_g not in ACC_RANGES_G:
            raise ValueError(f"acc_range_g must be one of {ACC_RANGES_G}, got {self.acc_range_g!r}")
        if not _is_int(self.gyr_range_dps) or self.gyr_range_dps not in GYR_RANGES_DPS:
            raise ValueError(
                f"gyr_range_dps must be one of {GYR_RANGES_DPS}, got {self.gyr_range_dps!r}"
            )
        spf = self.samples_per_frame
        if not _is_int(spf) or not 1 <= spf <= MAX_SAMPLES_PER_FRAME:
            raise ValueError(
                f"samples_per_frame must be an int in [1, {MAX_SAMPLES_PER_FRAME}], got {spf!r}"
            )

    @property
    def acc_lsb_per_g(self) -> float:
        """Accelerometer counts per g (32768 / range: 16384 at ±2 g, 2048 at ±16 g)."""
        return FULL_SCALE_COUNTS / self.acc_range_g

    @property
    def gyr_lsb_per_dps(self) -> float:
        """Gyroscope counts per deg/s (32768 / range: 131.072 at ±250, 16.384 at ±2000)."""
        return FULL_SCALE_COUNTS / self.gyr_range_dps

    @property
    def acc_m_s2_per_lsb(self) -> float:
        """SI value of one accelerometer count, m/s²."""
        return G_M_S2 / self.acc_lsb_per_g

    @property
    def gyr_rad_s_per_lsb(self) -> float:
        """SI value of one gyroscope count, rad/s."""
        return RAD_PER_DEG / self.gyr_lsb_per_dps

    @property
    def odr_mhz(self) -> int:
        """ODR in integer mHz, as carried by INFO."""
        return round(self.odr_hz * 1000.0)

    @property
    def frame_bytes(self) -> int:
        """Size of a full DATA frame in bytes."""
        return frame_bytes(self.samples_per_frame)

    def to_dict(self) -> dict[str, float | int]:
        """JSON-able form, as stored in recording headers."""
        return {
            "odr_hz": self.odr_hz,
            "acc_range_g": self.acc_range_g,
            "gyr_range_dps": self.gyr_range_dps,
            "samples_per_frame": self.samples_per_frame,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> ReferenceConfig:
        """Inverse of :meth:`to_dict`; raises :class:`ConfigError` on a bad dict."""
        if not isinstance(d, Mapping):
            raise ConfigError(
                f"reference protocol config must be a mapping, got {type(d).__name__}"
            )
        keys = set(d)
        if keys != _CONFIG_KEYS:
            missing, extra = sorted(_CONFIG_KEYS - keys), sorted(map(str, keys - _CONFIG_KEYS))
            raise ConfigError(
                f"reference protocol config: missing keys {missing}, unknown keys {extra}"
            )
        odr, acc, gyr, spf = (
            d["odr_hz"],
            d["acc_range_g"],
            d["gyr_range_dps"],
            d["samples_per_frame"],
        )
        if isinstance(odr, bool) or not isinstance(odr, int | float):
            raise ConfigError(f"reference protocol config: odr_hz must be a number, got {odr!r}")
        if not (_is_int(acc) and _is_int(gyr) and _is_int(spf)):
            raise ConfigError(
                "reference protocol config: acc_range_g, gyr_range_dps and samples_per_frame "
                f"must be integers, got {acc!r}, {gyr!r}, {spf!r}"
            )
        try:
            return cls(odr_hz=odr, acc_range_g=acc, gyr_range_dps=gyr, samples_per_frame=spf)
        except ValueError as exc:
            raise ConfigError(f"reference protocol config: {exc}") from exc
