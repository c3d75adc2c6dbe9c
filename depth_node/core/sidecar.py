"""The camera JSON written next to every frame, and reading it back. Imports no bpy.

Keys (all lengths in scene units unless noted):

* ``K``: 3x3 intrinsics of the written image (OpenCV convention, see :mod:`depth_node.core.camera`);
  for ``projection == "ORTHO"`` K maps pixels to lateral offsets (fx = pixels per unit); null for
  panoramic cameras, whose ``projection_model`` (type, parameters, pixel mapping) and ``camera_model`` say it;
* ``width``, ``height``: image size in pixels; ``projection``: ``"PERSP"``, ``"ORTHO"`` or ``"PANO"``;
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

from .camera import BlenderCamera

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


def camera_from_metadata(meta: dict) -> BlenderCamera:
    """The camera a sidecar describes: from ``camera_model`` when present, else from ``K`` and the size."""
    try:
        if "camera_model" in meta:
            return BlenderCamera.from_settings(**meta["camera_model"])
        return BlenderCamera.from_matrix(meta["K"], int(meta["width"]), int(meta["height"]),
                                         meta.get("projection", "PERSP"))
    except KeyError as error:
        raise SidecarError(f"camera JSON lacks {error.args[0]!r} (needs camera_model, or K, width and height)"
                           ) from None
    except (TypeError, ValueError) as error:
        raise SidecarError(f"camera JSON does not describe a valid camera: {error}") from None


def load(path: str | Path) -> tuple[dict, BlenderCamera]:
    """Read a camera JSON: ``(metadata, camera)``; raises :class:`SidecarError` with the reason."""
    path = Path(path)
    if not path.is_file():
        raise SidecarError(f"{path}: no such file")
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SidecarError(f"{path}: not a readable JSON file ({error})") from None
    if not isinstance(meta, dict):
        raise SidecarError(f"{path}: expected a JSON object")
    try:
        return meta, camera_from_metadata(meta)
    except SidecarError as error:
        raise SidecarError(f"{path}: {error}") from None
