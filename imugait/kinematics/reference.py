"""Knee-angle references (goniometer calibrations and poses) in a recording header or CAL file.

Layout of ``RecordingHeader.calibration`` (and of the file written by ``imugait calibrate``);
each leg is optional and holds exactly one of ``pose`` or ``calibration``::

    {
      "knee": {
        "left":  {"pose": {"t_start_s": 0.5, "t_end_s": 3.5, "known_angle_deg": 2.0}},
        "right": {"calibration": {"kind": "imugait.knee_calibration", "version": 1, ...}}
      }
    }

* ``pose`` (:class:`~imugait.kinematics.calibration.KneePose`): a static pose in *this*
  session (session-clock seconds) with its goniometer angle; applied by the estimator when it
  identifies the joint (the pose must precede the walking used for identification).
* ``calibration`` (:meth:`KneeCalibration.to_dict`): a complete calibration (axis, knee centre,
  zero) from ``imugait calibrate``; valid for the same sensor mounting only (sensors not
  re-strapped), e.g. the same session.

Other keys (of the header, of ``knee`` or of a leg, such as informative sensor ids) are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from imugait.errors import InputDataError
from imugait.kinematics.calibration import KneeCalibration, KneePose
from imugait.types import Side

__all__ = ["KneeReference", "knee_calibration_from_header", "knee_calibration_to_header"]

#: What a leg's knee angle can be referenced to.
KneeReference = KneeCalibration | KneePose


def knee_calibration_from_header(calibration: Mapping[str, Any]) -> dict[Side, KneeReference]:
    """Per leg, the knee reference stored in a header ``calibration`` dict (see module doc).

    Returns ``{}`` when the dict has no ``knee`` entry. Raises ``InputDataError`` naming the
    leg when an entry is malformed, has both or neither of ``pose``/``calibration``, or holds a
    calibration of the other leg.
    """
    if not isinstance(calibration, Mapping):
        raise InputDataError("header calibration must be a JSON object")
    knee = calibration.get("knee")
    if knee is None:
        return {}
    if not isinstance(knee, Mapping):
        raise InputDataError('header calibration "knee" must be an object')
    out: dict[Side, KneeReference] = {}
    for side in Side:
        entry = knee.get(side.value)
        if entry is None:
            continue
        if not isinstance(entry, Mapping):
            raise InputDataError(f'header calibration "knee.{side}" must be an object')
        kinds = [k for k in ("pose", "calibration") if k in entry]
        if len(kinds) != 1:
            raise InputDataError(
                f'header calibration "knee.{side}" needs exactly one of "pose" or "calibration"'
            )
        try:
            if kinds[0] == "pose":
                out[side] = KneePose.from_dict(dict(entry["pose"]))
            else:
                cal = KneeCalibration.from_dict(dict(entry["calibration"]))
                if cal.side is not side:
                    raise InputDataError(f"it is a calibration of the {cal.side} leg")
                out[side] = cal
        except (InputDataError, TypeError, ValueError) as e:
            raise InputDataError(f'header calibration "knee.{side}": {e}') from e
    return out


def knee_calibration_to_header(
    references: Mapping[Side, KneeReference], **extra: Mapping[str, Any]
) -> dict[str, Any]:
    """Inverse of :func:`knee_calibration_from_header` (JSON-able dict).

    ``extra`` adds informative keys to a leg's entry, e.g. ``left={"thigh_sensor": "A1"}``.
    """
    knee: dict[str, Any] = {}
    for side, ref in references.items():
        side = Side(side)
        if isinstance(ref, KneeCalibration):
            if ref.side is not side:
                raise ValueError(f"calibration of the {ref.side} leg given for the {side} leg")
            entry: dict[str, Any] = {"calibration": ref.to_dict()}
        else:
            entry = {"pose": ref.to_dict()}
        entry.update(extra.get(side.value, {}))
        knee[side.value] = entry
    return {"knee": knee}
