"""True Depth's own camera sidecar (``camera_####.json``): ``K``, ``width``, ``height`` and ``distortion``.
Imports no bpy."""

from __future__ import annotations

from typing import Any

from .. import Calibration, CalibrationError


def claims(document: Any) -> bool:
    return isinstance(document, dict) and "K" in document and "width" in document


def read(document: dict, camera: str | None = None) -> Calibration:
    if document.get("projection", "PERSP") != "PERSP":
        raise CalibrationError(f"a {document.get('projection')} camera is not a calibration (perspective only)")
    return Calibration.from_dict(document)
