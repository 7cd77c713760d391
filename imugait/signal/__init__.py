"""imugait.signal stage: sensor clock -> session clock, gaps, alignment and filters."""

from imugait.signal.clock import ClockStats, SensorClock
from imugait.signal.filters import BandPass, HighPass, LowPass
from imugait.signal.gaps import MAX_BRIDGE_SAMPLES, Gap, GapDetector, find_gaps, time_gaps
from imugait.signal.resample import Resampler

__all__ = [
    "MAX_BRIDGE_SAMPLES",
    "BandPass",
    "ClockStats",
    "Gap",
    "GapDetector",
    "HighPass",
    "LowPass",
    "Resampler",
    "SensorClock",
    "find_gaps",
    "time_gaps",
]
