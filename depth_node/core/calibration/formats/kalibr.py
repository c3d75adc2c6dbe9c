"""Kalibr camchain YAML (``cam0``, ``cam1``, ...). Imports no bpy.

Each camera: ``camera_model: pinhole``, ``intrinsics: [fu, fv, pu, pv]``, ``distortion_model: radtan``
(``distortion_coeffs: [k1, k2, r1, r2]``, OpenCV's k1, k2, p1, p2) or ``equidistant`` (``[k1, k2, k3, k4]``,
OpenCV's fisheye), ``resolution: [width, height]``. Kalibr's pinhole projection uses OpenCV's pixel
convention. A file with several cameras needs the camera's name (``cam1``); the only one is taken otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import Calibration, CalibrationError
from .opencv import calibration_from_matrix
from .reader import choose, integer

MODELS = {"radtan": "radtan", "equidistant": "fisheye", "none": "radtan"}


def claims(document: Any) -> bool:
    return isinstance(document, dict) and any(isinstance(value, dict) and "intrinsics" in value
                                              for value in document.values())


def read(document: dict, camera: str | None = None) -> Calibration:
    cameras = {name: value for name, value in document.items() if isinstance(value, dict) and "intrinsics" in value}
    entry = choose(cameras, camera, "the camchain")
    if entry.get("camera_model", "pinhole") != "pinhole":
        raise CalibrationError(f"camera_model {entry.get('camera_model')!r} is not supported; supported: pinhole "
                               "(with radtan or equidistant distortion)")
    name = entry.get("distortion_model", "none")
    if name not in MODELS:
        raise CalibrationError(f"distortion_model {name!r} is not supported; supported: radtan, equidistant")
    intrinsics = entry["intrinsics"]
    if not isinstance(intrinsics, list) or len(intrinsics) != 4:
        raise CalibrationError(f"intrinsics must be [fu, fv, pu, pv], got {intrinsics!r}")
    fu, fv, pu, pv = (float(value) for value in intrinsics)
    resolution = entry.get("resolution")
    if not isinstance(resolution, list) or len(resolution) != 2:
        raise CalibrationError(f"resolution must be [width, height], got {resolution!r}")
    coefficients = tuple(float(value) for value in entry.get("distortion_coeffs") or ())
    if len(coefficients) != 4 and name != "none":
        raise CalibrationError(f"{name} takes 4 coefficients, got {len(coefficients)}")
    K = np.array([[fu, 0.0, pu], [0.0, fv, pv], [0.0, 0.0, 1.0]])
    return calibration_from_matrix(K, integer(resolution[0], "resolution[0]"), integer(resolution[1], "resolution[1]"),
                                   MODELS[name], coefficients)


FORMAT_NAME = "Kalibr camchain (pinhole-radtan, pinhole-equi)"
