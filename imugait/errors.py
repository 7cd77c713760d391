"""Exceptions raised by imugait.

The tree::

    ImugaitError                 any fault in the user's data, files, devices or configuration
    ├── DecodeError              a BLE payload that does not follow its protocol (typed, never a crash)
    ├── RecordingError           a file that is not an imugait recording, or is unreadable
    ├── InputDataError           a samples table or other user data that is wrong (names file/field)
    ├── ConfigError              a session/CLI configuration that cannot work
    └── DeviceError              BLE device faults (not found, lost)

Programming mistakes (bad arguments to a function) raise ``ValueError``/``TypeError`` as usual.
The CLI turns every ``ImugaitError`` into one clear line on stderr and a non-zero exit.
"""

from __future__ import annotations


class ImugaitError(Exception):
    """Base of all user-facing imugait errors."""


class DecodeError(ImugaitError):
    """A notification payload could not be decoded by its protocol decoder."""


class RecordingError(ImugaitError):
    """A recording file is missing, of another kind, or unreadable."""


class InputDataError(ImugaitError):
    """User-supplied data (e.g. a samples table) is invalid."""


class ConfigError(ImugaitError):
    """A configuration value is invalid."""


class DeviceError(ImugaitError):
    """A BLE device could not be found, connected or kept."""
