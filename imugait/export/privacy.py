"""Keep exports free of identifying data other than the subject id the user gave.

Exports never hold user or host names, absolute paths, file names or BLE addresses.
:func:`scrub_json` removes such entries from free-form JSON (recording metadata, calibration)
and :func:`scrub_text` replaces known identifying strings in messages (warnings).
"""

from __future__ import annotations

import contextlib
import getpass
import re
import socket
from collections.abc import Iterable
from typing import Any

#: JSON keys (case-insensitive) whose values are dropped wherever they appear.
IDENTIFYING_KEYS = frozenset(
    {
        "user",
        "username",
        "user_name",
        "login",
        "host",
        "hostname",
        "host_name",
        "computer",
        "machine",
        "node",
        "operator",
        "cwd",
        "home",
        "path",
        "file",
        "filename",
        "source_path",
        "address",
        "mac",
        "email",
        "name",
        "patient_name",
        "birthdate",
        "dob",
    }
)

_ABS_PATH = re.compile(r"(^|[\s'\"=(])(/|~/|[A-Za-z]:[\\/]|\\\\)[^\s'\"]*")


def _local_identities() -> list[str]:
    out: list[str] = []
    with contextlib.suppress(OSError, KeyError):  # no passwd entry: nothing to hide
        out.append(getpass.getuser())
    host = socket.gethostname()
    out.extend([host, host.split(".")[0]])
    return [s for s in dict.fromkeys(out) if len(s) >= 3]


def looks_identifying(value: str, extra: Iterable[str] = ()) -> bool:
    """True if ``value`` is (or contains) an absolute path or a local user/host name."""
    if _ABS_PATH.search(value):
        return True
    return any(tok and tok in value for tok in [*_local_identities(), *extra])


def scrub_json(obj: Any, *, extra: Iterable[str] = ()) -> Any:
    """A copy of JSON data without identifying keys and without identifying strings."""
    extra = tuple(extra)
    if isinstance(obj, dict):
        return {
            str(k): scrub_json(v, extra=extra)
            for k, v in obj.items()
            if str(k).lower() not in IDENTIFYING_KEYS
            and not (isinstance(v, str) and looks_identifying(v, extra))
        }
    if isinstance(obj, list | tuple):
        return [
            scrub_json(v, extra=extra)
            for v in obj
            if not (isinstance(v, str) and looks_identifying(v, extra))
        ]
    return obj


def scrub_text(text: str, *, replace: Iterable[str] = ()) -> str:
    """``text`` with the strings in ``replace`` (e.g. the input's file name), absolute paths and
    local user/host names replaced by ``<redacted>``."""
    out = text
    for s in sorted({*replace, *_local_identities()}, key=len, reverse=True):
        if s:
            out = out.replace(s, "<redacted>")
    return _ABS_PATH.sub(lambda m: f"{m.group(1)}<path>", out)
