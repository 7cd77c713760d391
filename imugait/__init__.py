"""imugait: wearable-IMU gait analysis.

Live BLE streaming from thigh/shank/foot IMUs, stride and gait-event detection, knee
flexion/extension, knee hyperextension in stance and left/right asymmetric loading.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("imugait")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
