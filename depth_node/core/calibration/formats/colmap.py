"""COLMAP ``cameras.txt`` (text model). Imports no bpy.

``CAMERA_ID MODEL WIDTH HEIGHT PARAMS[]``; COLMAP puts the top-left pixel's centre at (0.5, 0.5), OpenCV at
(0, 0): ``cx = cx_colmap - 0.5``. Models: SIMPLE_PINHOLE (f, cx, cy), PINHOLE (fx, fy, cx, cy), SIMPLE_RADIAL
(f, cx, cy, k), RADIAL (f, cx, cy, k1, k2), OPENCV (fx, fy, cx, cy, k1, k2, p1, p2), FULL_OPENCV (+ k3, k4, k5,
k6), OPENCV_FISHEYE (fx, fy, cx, cy, k1, k2, k3, k4). A file with several cameras needs the camera's id.
"""

from __future__ import annotations

import numpy as np

from .. import Calibration, CalibrationError
from .opencv import calibration_from_matrix
from .reader import choose

MODELS = {
    # name: (parameter count, model, how the parameters map to fx, fy, cx, cy and OpenCV's coefficients)
    "SIMPLE_PINHOLE": (3, "radtan", lambda p: ((p[0], p[0], p[1], p[2]), ())),
    "PINHOLE": (4, "radtan", lambda p: ((p[0], p[1], p[2], p[3]), ())),
    "SIMPLE_RADIAL": (4, "radtan", lambda p: ((p[0], p[0], p[1], p[2]), (p[3], 0.0, 0.0, 0.0))),
    "RADIAL": (5, "radtan", lambda p: ((p[0], p[0], p[1], p[2]), (p[3], p[4], 0.0, 0.0))),
    "OPENCV": (8, "radtan", lambda p: (tuple(p[:4]), tuple(p[4:8]))),
    "FULL_OPENCV": (12, "radtan", lambda p: (tuple(p[:4]), (*p[4:8], *p[8:12]))),
    "OPENCV_FISHEYE": (8, "fisheye", lambda p: (tuple(p[:4]), tuple(p[4:8]))),
}


def claims(text: object) -> bool:
    if not isinstance(text, str):
        return False
    rows = [line.split() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return bool(rows) and all(len(row) >= 4 and row[0].isdigit() for row in rows)


def read(text: str, camera: str | None = None) -> Calibration:
    rows = {row[0]: row for row in (line.split() for line in text.splitlines())
            if row and not row[0].startswith("#")}
    camera_id, name, width, height, *params = choose(rows, camera, "cameras.txt")
    if name not in MODELS:
        raise CalibrationError(f"camera model {name} is not supported; supported: {', '.join(MODELS)}")
    count, model, split = MODELS[name]
    if len(params) != count:
        raise CalibrationError(f"{name} takes {count} parameters, got {len(params)}")
    try:
        values = [float(value) for value in params]
        size = int(width), int(height)
    except ValueError as error:
        raise CalibrationError(f"camera {camera_id}: {error}") from None
    (fx, fy, cx, cy), coefficients = split(values)
    K = np.array([[fx, 0.0, cx - 0.5], [0.0, fy, cy - 0.5], [0.0, 0.0, 1.0]])
    if size[0] < 1 or size[1] < 1:
        raise CalibrationError(f"camera {camera_id}: size must be positive, got {width}x{height}")
    return calibration_from_matrix(K, size[0], size[1], model, coefficients)


def read_cameras(text: str) -> dict[int, Calibration]:
    """Every camera of a ``cameras.txt``, by its integer id (each read as :func:`read` reads one)."""
    rows = [line.split() for line in text.splitlines()]
    ids = [row[0] for row in rows if row and not row[0].startswith("#")]
    if not ids:
        raise CalibrationError("cameras.txt lists no cameras")
    cameras: dict[int, Calibration] = {}
    for camera_id in ids:
        if not camera_id.isdigit():
            raise CalibrationError(f"camera id {camera_id!r} is not a non-negative integer")
        if int(camera_id) in cameras:
            raise CalibrationError(f"camera id {camera_id} is listed twice")
        try:
            cameras[int(camera_id)] = read(text, camera_id)
        except CalibrationError as error:
            message = str(error)
            prefix = f"camera {camera_id}: "
            raise CalibrationError(message if message.startswith(prefix) else prefix + message) from None
    return cameras
