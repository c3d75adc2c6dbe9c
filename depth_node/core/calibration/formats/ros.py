"""ROS ``camera_info`` YAML (camera_calibration_parsers' layout). Imports no bpy.

``image_width``, ``image_height``, ``camera_matrix`` and ``distortion_coefficients`` (``rows``, ``cols``,
``data``), ``distortion_model``: ``plumb_bob`` (k1, k2, p1, p2, k3), ``rational_polynomial`` (k1, k2, p1, p2,
k3, k4, k5, k6) or ``equidistant`` (fisheye k1..k4). ROS's K follows OpenCV's pixel convention.
"""

from __future__ import annotations

from typing import Any

from .. import Calibration, CalibrationError
from .opencv import calibration_from_matrix
from .reader import Format, integer, matrix

MODELS = {"plumb_bob": ("radtan", (5,)), "rational_polynomial": ("radtan", (8,)), "equidistant": ("fisheye", (4,))}


def claims(document: Any) -> bool:
    return isinstance(document, dict) and "camera_matrix" in document and (
        "rectification_matrix" in document or "projection_matrix" in document
        or document.get("distortion_model") in MODELS)


def read(document: dict, camera: str | None = None) -> Calibration:
    name = document.get("distortion_model")
    if name is None:
        raise CalibrationError(f"no distortion_model; supported: {', '.join(MODELS)}")
    if name not in MODELS:
        raise CalibrationError(f"distortion_model {name!r} is not supported; supported: {', '.join(MODELS)}")
    model, counts = MODELS[name]
    K = matrix(document["camera_matrix"], (3, 3), "camera_matrix")
    coefficients = tuple(matrix(document.get("distortion_coefficients", []), None,
                                "distortion_coefficients").ravel())
    if len(coefficients) not in counts and not (model == "radtan" and len(coefficients) in (4, 5, 8)):
        raise CalibrationError(f"{name} takes {counts[0]} coefficients, got {len(coefficients)}")
    return calibration_from_matrix(K, integer(document.get("image_width"), "image_width"),
                                   integer(document.get("image_height"), "image_height"), model, coefficients)


FORMAT = Format("ROS camera_info (distortion_model plumb_bob, rational_polynomial, equidistant)", claims, read)
