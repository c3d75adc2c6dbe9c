"""The flow of rays that hit nothing: where the other frame's camera sees the same direction. Imports no bpy.

Blender's Vector pass writes 0 there on most versions (5.2.3 writes something else: measured 1.47 px where
the truth was 1.80 px), but a direction at infinity moves with the camera's rotation and its change of
intrinsics. Works on two camera sidecars (``K``, ``camera_to_world_opencv``, ``projection``; a panoramic
sidecar's ``camera_model`` gives its rays and, inverted, where it sees a direction:
:meth:`~depth_node.core.projections.panoramic.Panoramic.project`).
"""

from __future__ import annotations

import numpy as np

from ..calibration import Calibration, from_sidecar
from ..camera import BlenderCamera

_DIRECTION_IMAGES = ("PERSP", "PANO")
"""The cameras in whose image a direction (a point at infinity) has a place."""


def _normalized(meta: dict) -> np.ndarray:
    """(H, W, 2) K^-1 of the pixel centres (skew included)."""
    K = np.asarray(meta["K"], dtype=np.float64)
    rows, columns = np.mgrid[0:int(meta["height"]), 0:int(meta["width"])].astype(np.float64)
    ty = (rows - K[1, 2]) / K[1, 1]
    return np.stack([(columns - K[0, 2] - K[0, 1] * ty) / K[0, 0], ty], axis=-1)


def _projection(meta: dict) -> str:
    return meta.get("projection", "PERSP")


def panorama_of(meta: dict) -> BlenderCamera:
    """The camera of a panoramic sidecar (its ``camera_model``)."""
    return BlenderCamera.from_settings(**meta["camera_model"])


def _centres(meta: dict) -> tuple[np.ndarray, np.ndarray]:
    rows, columns = np.mgrid[0:int(meta["height"]), 0:int(meta["width"])].astype(np.float64)
    return columns, rows


def _blender_rotation(meta: dict) -> np.ndarray:
    """Blender camera axes (-Z forward, +Y up) to world: the OpenCV pose with its y and z columns negated."""
    return np.asarray(meta["camera_to_world_opencv"], dtype=np.float64)[:3, :3] * [1.0, -1.0, -1.0]


def pixel_directions(meta: dict) -> np.ndarray:
    """(H, W, 3) world directions (not unit) through the pixel centres of a perspective sidecar, or unit ones of a
    panoramic or calibrated sidecar (0 where its image has no ray: outside a fisheye's circle)."""
    calibration = from_sidecar(meta)
    if calibration is not None:
        rays = calibration.pixel_rays() @ np.asarray(meta["camera_to_world_opencv"], dtype=np.float64)[:3, :3].T
        return np.where(np.isfinite(rays), rays, 0.0)
    if _projection(meta) == "PANO":
        camera = panorama_of(meta)
        directions, has_ray = camera.model.pixel_directions(camera, *_centres(meta))
        return np.where(has_ray[..., None], directions @ _blender_rotation(meta).T, 0.0)
    rotation = np.asarray(meta["camera_to_world_opencv"], dtype=np.float64)[:3, :3]
    t = _normalized(meta)
    return np.concatenate([t, np.ones(t.shape[:2] + (1,))], axis=-1) @ rotation.T


def has_rays(meta: dict) -> np.ndarray:
    """(H, W): the pixels whose centre has a ray (every one but a panorama's outside its image circle or disc, or
    a calibration's beyond the radius its model inverts)."""
    calibration = from_sidecar(meta)
    if calibration is not None:
        return np.isfinite(calibration.pixel_rays()).all(axis=-1)
    if _projection(meta) == "PANO":
        camera = panorama_of(meta)
        return camera.model.pixel_directions(camera, *_centres(meta))[1]
    return np.ones((int(meta["height"]), int(meta["width"])), dtype=bool)


def lands_on_image(other: dict, uv: np.ndarray) -> np.ndarray:
    """Where pixel centre + flow falls on a pixel of ``other``'s image that has a ray (the pixel squares; a
    panorama's image circle or disc too)."""
    from . import lands_inside  # noqa: PLC0415  (the room's package imports no module of its own)

    if _projection(other) != "PANO":
        return lands_inside(uv)
    camera = panorama_of(other)
    columns, rows = _centres(other)
    with np.errstate(invalid="ignore"):
        return camera.model.pixel_directions(camera, columns + uv[..., 0], rows + uv[..., 1])[1]


def pixel_rays(meta: dict) -> tuple[np.ndarray, np.ndarray]:
    """``(starts, unit directions)``, each (H, W, 3) in world space, of a perspective or orthographic sidecar's
    pixel centres (an orthographic ray starts on the camera plane)."""
    to_world = np.asarray(meta["camera_to_world_opencv"], dtype=np.float64)
    rotation, origin = to_world[:3, :3], to_world[:3, 3]
    if meta.get("projection", "PERSP") == "ORTHO":
        starts = origin + _normalized(meta) @ rotation[:, :2].T
        return starts, np.broadcast_to(rotation[:, 2], starts.shape).copy()
    directions = pixel_directions(meta)
    length = np.linalg.norm(directions, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        units = np.where(length > 0, directions / np.where(length > 0, length, 1.0), 0.0)
    return np.broadcast_to(origin, directions.shape).copy(), units


def infinity_flow(meta: dict, other: dict) -> tuple[np.ndarray, np.ndarray]:
    """``(uv, ahead)`` of the directions of ``meta``'s pixels as ``other`` sees them: (H, W, 2) flow (0 where the
    direction is behind the other camera, or where a panorama's formula reaches no such direction) and where it is
    seen. Perspective and panoramic sidecars."""
    for sidecar in (meta, other):
        if _projection(sidecar) not in _DIRECTION_IMAGES:
            raise ValueError(f"a direction has an image only in a perspective or panoramic camera, not "
                             f"{sidecar['projection']}")
    directions = pixel_directions(meta)
    columns, rows = _centres(meta)
    if from_sidecar(other) is not None:
        to_world = np.asarray(other["camera_to_world_opencv"], dtype=np.float64)
        positions, ahead = project_points(other, to_world[:3, 3] + directions)
        uv = positions - np.stack([columns, rows], axis=-1)
        in_front = (directions @ to_world[:3, :3])[..., 2] > 0  # off the image the model continues, as K does
        return np.where(in_front[..., None] & np.isfinite(uv), uv, 0.0), ahead
    if _projection(other) == "PANO":
        camera = panorama_of(other)
        seen_columns, seen_rows, ahead = camera.model.project(camera, directions @ _blender_rotation(other))
        uv = np.stack([seen_columns - columns, seen_rows - rows], axis=-1)
        return np.where(np.isfinite(uv), uv, 0.0), ahead
    K_other = np.asarray(other["K"], dtype=np.float64)
    rotation = np.asarray(other["camera_to_world_opencv"], dtype=np.float64)[:3, :3]
    seen = directions @ rotation @ K_other.T  # rows: K R^T d
    ahead = seen[..., 2] > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        image = seen[..., :2] / seen[..., 2:]
    uv = image - np.stack([columns, rows], axis=-1)
    return np.where(ahead[..., None], uv, 0.0), ahead


def with_background(uv: np.ndarray, background: np.ndarray, meta: dict, other: dict) -> tuple[np.ndarray, np.ndarray]:
    """``(uv, ahead)`` of a pass's (H, W, 2) flow towards ``other``'s camera: the pixels that hit nothing
    (``background``) take their direction's flow (a perspective or panoramic camera; an orthographic image has no
    directions: 0 there), ``ahead`` says where the pixel can be in front of the other camera at all."""
    if _projection(meta) in _DIRECTION_IMAGES:
        directions, ahead = infinity_flow(meta, other)
        return np.where(background[..., None], directions, uv), ahead
    return np.where(background[..., None], 0.0, uv), ~background


ROUND_TRIP = 1e-7
"""Chord between unit rays (~ radians) under which a calibration's ray at an image position is the point's."""


def project_points(meta: dict, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(positions, seen)``: (..., 2) where a calibrated sidecar's camera images world ``points`` (..., 3), by its
    own model (OpenCV's distortion), and whether it sees them there: inside its image, and the ray of that image
    position goes back through the point (beyond the radius a radial model inverts it folds over)."""
    calibration: Calibration = from_sidecar(meta)
    to_world = np.asarray(meta["camera_to_world_opencv"], dtype=np.float64)
    local = (np.asarray(points, dtype=np.float64) - to_world[:3, 3]) @ to_world[:3, :3]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        positions = calibration.project(local)
        x, y = positions[..., 0], positions[..., 1]
        inside = (x >= -0.5) & (x < calibration.width - 0.5) & (y >= -0.5) & (y < calibration.height - 0.5)
        back = calibration.rays(np.where(inside, x, 0.0), np.where(inside, y, 0.0))
        length = np.linalg.norm(local, axis=-1, keepdims=True)
        unit = local / np.where(length > 0, length, 1.0)
        seen = inside & (np.linalg.norm(back - unit, axis=-1) < ROUND_TRIP) & (length[..., 0] > 0)
    return positions, seen
