"""The camera JSON written next to every frame, and reading it back. Imports no bpy.

Keys (all lengths in scene units unless noted):

* ``K``: 3x3 intrinsics of the written image (OpenCV convention, see :mod:`depth_node.core.camera`);
  for ``projection == "ORTHO"`` K maps pixels to lateral offsets (fx = pixels per unit); null for
  panoramic cameras, whose ``projection_model`` (type, parameters, pixel mapping) and ``camera_model`` say it;
* ``width``, ``height``: image size in pixels (positive integers); ``projection``: ``"PERSP"``, ``"ORTHO"`` or
  ``"PANO"``;
* ``projection_model``: how a pixel maps to a ray (the projection's own description);
* ``camera_to_world_blender`` / ``camera_to_world_opencv``: 4x4 matrices (camera looking down -Z, +Y up /
  down +Z, +Y down);
* ``clip_start``, ``clip_end``, ``unit_scale`` (metres per scene unit), ``depth_unit``;
* ``camera_model``: every Blender setting of :class:`~depth_node.core.camera.BlenderCamera` (flat names);
* ``blender``: version, scene, camera object and frame (informational).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..calibration import CalibrationError
from ..calibration.ray_matrix import RayMatrix
from ..camera import BlenderCamera, finite_matrix

# Blender cameras look down -Z with +Y up; OpenCV cameras look down +Z with +Y down.
BLENDER_TO_OPENCV_CAMERA = np.diag([1.0, -1.0, -1.0, 1.0])
DEPTH_UNIT = "scene units along the camera's view axis (planar depth); metres = value * unit_scale"


class SidecarError(ValueError):
    """A camera JSON that is missing, unreadable or incomplete."""


def camera_metadata(camera: BlenderCamera, camera_to_world_blender: Any, clip_start: float, clip_end: float,
                    unit_scale: float, blender: dict | None = None) -> dict:
    """The JSON-ready sidecar dictionary for one frame."""
    to_world = np.asarray(camera_to_world_blender, dtype=np.float64)
    return {
        "K": camera.matrix().tolist() if camera.has_matrix else None,
        "width": camera.width,
        "height": camera.height,
        "projection": camera.projection,
        "projection_model": camera.model.describe(camera.lens),
        "camera_to_world_blender": to_world.tolist(),
        "camera_to_world_opencv": (to_world @ BLENDER_TO_OPENCV_CAMERA).tolist(),
        "clip_start": float(clip_start),
        "clip_end": float(clip_end),
        "unit_scale": float(unit_scale),
        "depth_unit": DEPTH_UNIT,
        "camera_model": camera.settings(),
        "blender": blender or {},
    }


def _size(meta: dict, name: str) -> int:
    """``width`` / ``height``: a positive JSON integer (not ``true``, not 64.5, not 64.0)."""
    value = meta[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SidecarError(f"camera JSON's {name} must be a positive integer, got {value!r}")
    return value


def camera_from_metadata(meta: dict) -> BlenderCamera:
    """The camera a sidecar describes: from ``camera_model`` when present, else from ``K`` and the size.

    A K with last row ``(0, 0, s)`` is divided by ``s``; a K with skew or another last row has no Blender camera
    and is refused (:func:`ray_camera_from_metadata` gives its exact rays)."""
    try:
        if "camera_model" in meta:
            return BlenderCamera.from_settings(**meta["camera_model"])
        return BlenderCamera.from_matrix(meta["K"], _size(meta, "width"), _size(meta, "height"),
                                         meta.get("projection", "PERSP"))
    except KeyError as error:
        raise SidecarError(f"camera JSON lacks {error.args[0]!r} (needs camera_model, or K, width and height)"
                           ) from None
    except SidecarError:
        raise
    except (TypeError, ValueError) as error:
        raise SidecarError(f"camera JSON does not describe a valid camera: {error}") from None


def ray_camera_from_metadata(meta: dict) -> RayMatrix | None:
    """The exact rays of a perspective sidecar whose K no Blender camera has (skew, or a last row other than
    ``(0, 0, s)``), as a :class:`~depth_node.core.calibration.ray_matrix.RayMatrix` (``ray = inv(K) @ [x, y, 1]``,
    K first divided by ``s`` where its last row is ``(0, 0, s)``), or of a sidecar whose ``projection_model`` is
    a ``RAY_MATRIX`` (:meth:`RayMatrix.describe`, with ``width`` and ``height``); None for every other sidecar (a
    plain K, a panoramic camera's null K), which :func:`camera_from_metadata` describes exactly.

    Raises :class:`SidecarError` for a K that is not a finite invertible 3x3 matrix, a skewed K on a
    non-perspective camera (an orthographic K maps pixels to offsets, not rays) and a size that is not a positive
    integer."""
    model = meta.get("projection_model")
    if isinstance(model, dict) and model.get("type") == "RAY_MATRIX":  # a sidecar written for a RayMatrix camera
        try:
            return RayMatrix(_size(meta, "width"), _size(meta, "height"), model["matrix"])
        except KeyError as error:
            raise SidecarError(f"camera JSON lacks {error.args[0]!r} (a RAY_MATRIX camera needs width, height and "
                               "projection_model.matrix)") from None
        except CalibrationError as error:
            raise SidecarError(f"camera JSON's ray matrix: {error}") from None
    K = meta.get("K")
    if K is None:
        return None
    try:
        K = finite_matrix(K, "camera JSON's K")
    except ValueError as error:
        raise SidecarError(str(error)) from None
    if K[2, 0] == 0 and K[2, 1] == 0 and K[2, 2] != 0:
        K = K / K[2, 2]
        if K[0, 1] == 0 and K[1, 0] == 0:
            return None
    projection = meta.get("projection", "PERSP")
    if projection != "PERSP":
        raise SidecarError(f"camera JSON's K has skew or a projective last row ({K.tolist()}), which only a "
                           f"perspective camera's rays can honour; this camera is {projection!r}")
    try:
        width, height = _size(meta, "width"), _size(meta, "height")
    except KeyError as error:
        raise SidecarError(f"camera JSON lacks {error.args[0]!r} (needs K, width and height)") from None
    try:
        return RayMatrix.from_K(K, width, height)
    except CalibrationError as error:
        raise SidecarError(f"camera JSON's K cannot give rays: {error}") from None


def read_metadata(path: str | Path) -> dict:
    """A camera JSON's dictionary, unchecked beyond being a JSON object (:class:`SidecarError` otherwise)."""
    path = Path(path)
    if not path.is_file():
        raise SidecarError(f"{path}: no such file")
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SidecarError(f"{path}: not a readable JSON file ({error})") from None
    if not isinstance(meta, dict):
        raise SidecarError(f"{path}: expected a JSON object")
    return meta


def load(path: str | Path) -> tuple[dict, BlenderCamera]:
    """Read a camera JSON: ``(metadata, camera)``; raises :class:`SidecarError` with the reason."""
    meta = read_metadata(path)
    try:
        return meta, camera_from_metadata(meta)
    except SidecarError as error:
        raise SidecarError(f"{path}: {error}") from None
