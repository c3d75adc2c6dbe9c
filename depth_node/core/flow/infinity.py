"""The flow of rays that hit nothing: where the other frame's camera sees the same direction. Imports no bpy.

Blender's Vector pass writes 0 there on most versions (5.2.3 writes something else: measured 1.47 px where
the truth was 1.80 px), but a direction at infinity moves with the camera's rotation and its change of
intrinsics. Works on two camera sidecars (``K``, ``camera_to_world_opencv``, ``projection``).
"""

from __future__ import annotations

import numpy as np


def _normalized(meta: dict) -> np.ndarray:
    """(H, W, 2) K^-1 of the pixel centres (skew included)."""
    K = np.asarray(meta["K"], dtype=np.float64)
    rows, columns = np.mgrid[0:int(meta["height"]), 0:int(meta["width"])].astype(np.float64)
    ty = (rows - K[1, 2]) / K[1, 1]
    return np.stack([(columns - K[0, 2] - K[0, 1] * ty) / K[0, 0], ty], axis=-1)


def pixel_directions(meta: dict) -> np.ndarray:
    """(H, W, 3) world directions (not unit) through the pixel centres of a perspective sidecar."""
    rotation = np.asarray(meta["camera_to_world_opencv"], dtype=np.float64)[:3, :3]
    t = _normalized(meta)
    return np.concatenate([t, np.ones(t.shape[:2] + (1,))], axis=-1) @ rotation.T


def pixel_rays(meta: dict) -> tuple[np.ndarray, np.ndarray]:
    """``(starts, unit directions)``, each (H, W, 3) in world space, of a perspective or orthographic sidecar's
    pixel centres (an orthographic ray starts on the camera plane)."""
    to_world = np.asarray(meta["camera_to_world_opencv"], dtype=np.float64)
    rotation, origin = to_world[:3, :3], to_world[:3, 3]
    if meta.get("projection", "PERSP") == "ORTHO":
        starts = origin + _normalized(meta) @ rotation[:, :2].T
        return starts, np.broadcast_to(rotation[:, 2], starts.shape).copy()
    directions = pixel_directions(meta)
    return np.broadcast_to(origin, directions.shape).copy(), directions / np.linalg.norm(directions, axis=-1,
                                                                                           keepdims=True)


def infinity_flow(meta: dict, other: dict) -> tuple[np.ndarray, np.ndarray]:
    """``(uv, ahead)`` of the directions of ``meta``'s pixels as ``other`` sees them: (H, W, 2) flow (0 where the
    direction is behind the other camera) and where it is in front of it. Perspective sidecars only."""
    for sidecar in (meta, other):
        if sidecar.get("projection", "PERSP") != "PERSP":
            raise ValueError(f"a direction has an image only in a perspective camera, not {sidecar['projection']}")
    K_other = np.asarray(other["K"], dtype=np.float64)
    rotation = np.asarray(other["camera_to_world_opencv"], dtype=np.float64)[:3, :3]
    seen = pixel_directions(meta) @ rotation @ K_other.T  # rows: K R^T d
    ahead = seen[..., 2] > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        image = seen[..., :2] / seen[..., 2:]
    rows, columns = np.mgrid[0:int(meta["height"]), 0:int(meta["width"])].astype(np.float64)
    uv = image - np.stack([columns, rows], axis=-1)
    return np.where(ahead[..., None], uv, 0.0), ahead


def with_background(uv: np.ndarray, background: np.ndarray, meta: dict, other: dict) -> tuple[np.ndarray, np.ndarray]:
    """``(uv, ahead)`` of a pass's (H, W, 2) flow towards ``other``'s camera: the pixels that hit nothing
    (``background``) take their direction's flow (a perspective camera; an orthographic image has no directions:
    0 there), ``ahead`` says where the pixel can be in front of the other camera at all."""
    if meta.get("projection", "PERSP") == "PERSP":
        directions, ahead = infinity_flow(meta, other)
        return np.where(background[..., None], directions, uv), ahead
    return np.where(background[..., None], 0.0, uv), ~background
