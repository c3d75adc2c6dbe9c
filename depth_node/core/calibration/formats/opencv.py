"""OpenCV FileStorage calibrations (YAML or JSON), as OpenCV's calibration samples write them. Imports no bpy.

Keys: ``camera_matrix`` (or ``cameraMatrix``, ``K``), ``distortion_coefficients`` (or ``dist_coeffs``,
``distCoeffs``, ``D``), ``image_width`` and ``image_height`` (or ``image_size``/``imageSize`` ``[w, h]``).
The fisheye model when marked: ``fisheye_model: 1`` (OpenCV's sample), or ``distortion_model`` /
``model`` ``fisheye``/``equidistant``; otherwise OpenCV's pinhole model with 4, 5 or 8 coefficients (4 unmarked
coefficients are k1, k2, p1, p2, as ``cv::calibrateCamera`` gives them). Matrices are OpenCV matrices
(``rows``, ``cols``, ``data``; JSON: ``type_id: opencv-matrix``) or plain lists.
"""

from __future__ import annotations

from typing import Any

from .. import Calibration, CalibrationError
from .reader import Format, integer, matrix, pick

MATRIX_KEYS = ("camera_matrix", "cameraMatrix", "K")
DISTORTION_KEYS = ("distortion_coefficients", "dist_coeffs", "distCoeffs", "D")
FISHEYE_MARKS = ("fisheye", "equidistant", "kannala_brandt", "kb4")


def claims(document: Any) -> bool:
    return isinstance(document, dict) and any(key in document for key in MATRIX_KEYS)


def _fisheye(document: dict) -> bool:
    mark = document.get("distortion_model", document.get("model"))
    return bool(document.get("fisheye_model")) or (isinstance(mark, str) and mark.lower() in FISHEYE_MARKS)


def read(document: dict, camera: str | None = None) -> Calibration:
    K = matrix(pick(document, MATRIX_KEYS, "camera matrix"), (3, 3), "camera_matrix")
    coefficients = matrix(pick(document, DISTORTION_KEYS, "distortion coefficients"), None,
                          "distortion_coefficients").ravel()
    if "image_width" in document or "image_height" in document:
        width, height = document.get("image_width"), document.get("image_height")
    else:
        size = pick(document, ("image_size", "imageSize"), "image size (image_width, image_height)")
        if not isinstance(size, list) or len(size) != 2:
            raise CalibrationError(f"image_size must be [width, height], got {size!r}")
        width, height = size
    model = "fisheye" if _fisheye(document) else "radtan"
    if model == "fisheye" and len(coefficients) != 4:
        raise CalibrationError(f"the fisheye model takes 4 coefficients (k1..k4), got {len(coefficients)}")
    if model == "radtan" and len(coefficients) in (12, 14):
        raise CalibrationError("thin-prism (s1..s4) and tilt (tauX, tauY) coefficients are not supported; "
                               "supported: 4, 5 or 8 coefficients (k1, k2, p1, p2[, k3[, k4, k5, k6]])")
    return calibration_from_matrix(K, integer(width, "image_width"), integer(height, "image_height"), model,
                                   tuple(coefficients))


def calibration_from_matrix(K: Any, width: int, height: int, model: str, coefficients: tuple) -> Calibration:
    """A calibration from an OpenCV K (checked: no skew, last row 0 0 1)."""
    from .. import check_pinhole_matrix

    check_pinhole_matrix(K)
    if model == "radtan" and not any(coefficients):
        model, coefficients = "pinhole", ()
    return Calibration(width, height, float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2]), model,
                       coefficients)


FORMAT = Format("OpenCV FileStorage (camera_matrix, distortion_coefficients, image_width, image_height; fisheye when "
                "marked)", claims, read)
