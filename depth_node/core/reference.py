"""Pure-numpy reference of the True Depth conversion. Imports no bpy.

Arrays are HxW, row 0 is the top row, and K follows the convention of
:mod:`depth_node.core.camera` (pixel centres at integer coordinates). For a
pixel centre ``(x, y)`` let ``t = ((x - cx) / fx, (y - cy) / fy)``; the
projection gives the ray length at unit depth ``r`` and, for rays that do not
start at the camera origin, the lateral offset ``l`` (see
:mod:`depth_node.core.projection`):

* ``depth = distance / r`` (perspective: ``r = sqrt(1 + |t|^2)``);
* with a lateral offset (orthographic, ``l = |t|``, ``r = 1``):
  ``depth = sign(distance) * sqrt(max(distance^2 - l^2, 0)) / r``, so a distance
  shorter than the lateral offset (no real surface can give it) yields depth 0.
  The inverse is ``distance = sign(depth) * sqrt(depth^2 + l^2) * r`` with 0 kept
  at 0 (the background of an AOV), computed as
  ``depth * sqrt(min(1 + l^2 / depth^2, 1e38))`` like the node.

A float32 result of the inverse saturates at +-3.4028235e38 (float32's largest
value) instead of overflowing to inf; NaN stays NaN.

The maths runs in float64; a floating-point input keeps its dtype on output.
"""

from __future__ import annotations

import numpy as np

from . import projections
from .camera import BlenderCamera
from .projection import Projection, normalized_offsets

ORTHO_RATIO_LIMIT = 1e38
"""Lateral inverse: ``1 + (lateral / depth)^2`` is capped here, as in the node (float32 range), so a
depth below 1e-19 x the lateral offset gives ``depth * 1e19`` rather than overflowing."""


def _check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"expected an HxW array, got shape {image.shape}")
    return image


def ray_length(K: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``sqrt(1 + |t|^2)``: a perspective pixel's ray length at unit depth, float64."""
    _, length = projections.get("PERSP").pixel_geometry(*normalized_offsets(K, shape))
    return length


def _output_dtype(image: np.ndarray) -> np.dtype:
    return image.dtype if np.issubdtype(image.dtype, np.floating) else np.dtype(np.float64)


Camera = np.ndarray | BlenderCamera
"""K (pinhole-like projections) or the whole camera (any projection, panoramic ones included)."""


def _geometry(camera: Camera, shape: tuple[int, int], projection: str | Projection
              ) -> tuple[np.ndarray | None, np.ndarray]:
    if isinstance(camera, BlenderCamera):
        return camera.model.camera_geometry(camera, shape)
    return projections.get(projection).pixel_geometry(*normalized_offsets(camera, shape))


def distance_to_depth(distance: np.ndarray, K: Camera, projection: str | Projection = "PERSP") -> np.ndarray:
    """Convert ray distance (camera origin to surface) into planar depth along the view axis.

    ``K`` is the 3x3 matrix (with ``projection`` naming a pinhole-like projection) or a
    :class:`~depth_node.core.camera.BlenderCamera` (every projection; ``projection`` is then ignored).
    Pixels without a ray (outside a fisheye's image circle) and rays at 90 degrees to the view axis give 0.
    """
    distance = _check_image(distance)
    lateral_sq, ray = _geometry(K, distance.shape, projection)
    values = distance.astype(np.float64)
    if lateral_sq is not None:
        with np.errstate(invalid="ignore"):
            values = np.sign(values) * np.sqrt(np.maximum(values * values - lateral_sq, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = np.where(ray != 0, values / np.where(ray != 0, ray, 1.0), 0.0)  # the node's safe division
    return depth.astype(_output_dtype(distance))


def depth_to_distance(depth: np.ndarray, K: Camera, projection: str | Projection = "PERSP") -> np.ndarray:
    """Convert planar depth into ray distance: the inverse of :func:`distance_to_depth` (0 where it gives 0)."""
    depth = _check_image(depth)
    lateral_sq, ray = _geometry(K, depth.shape, projection)
    values = depth.astype(np.float64)
    distance = values * ray
    if lateral_sq is not None:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio_sq = np.where(values == 0, 0.0, lateral_sq / (values * values))
            distance = distance * np.sqrt(np.minimum(1.0 + ratio_sq, ORTHO_RATIO_LIMIT))
    dtype = _output_dtype(depth)
    if dtype == np.float32:  # saturate like the node: a finite depth never becomes inf
        limit = float(np.finfo(np.float32).max)
        distance = np.where(np.isnan(distance), distance, np.clip(distance, -limit, limit))
    return distance.astype(dtype)


def unproject(depth: np.ndarray, K: Camera, projection: str | Projection, rows: np.ndarray,
              columns: np.ndarray) -> np.ndarray:
    """Camera-space points (OpenCV axes, Nx3) of the pixels at ``rows, columns`` with planar ``depth``.

    ``K`` as in :func:`distance_to_depth`.
    """
    if isinstance(K, BlenderCamera):
        return K.model.unproject_camera(K, rows, columns, depth)
    tx, ty = normalized_offsets(K, (1, 1))  # checks K
    K = np.asarray(K, dtype=np.float64)
    tx = (columns - K[0, 2]) / K[0, 0]
    ty = (rows - K[1, 2]) / K[1, 1]
    return projections.get(projection).unproject(tx, ty, depth)
