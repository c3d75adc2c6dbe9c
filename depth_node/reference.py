"""Pure-numpy reference of the True Depth conversion. Imports no bpy.

Arrays are HxW, row 0 is the top row, and K follows the OpenCV convention of
:mod:`depth_node.camera` (pixel centres at integer coordinates). For a pixel
centre ``(x, y)``::

    t = ((x - cx) / fx, (y - cy) / fy)
    depth = distance / sqrt(1 + |t|^2)

The maths runs in float64; a floating-point input keeps its dtype on output.
"""

from __future__ import annotations

import numpy as np


def _check_intrinsics(K: np.ndarray) -> np.ndarray:
    K = np.asarray(K, dtype=np.float64)
    if K.shape != (3, 3):
        raise ValueError(f"K must be a 3x3 matrix, got shape {K.shape}")
    fx, fy = K[0, 0], K[1, 1]
    if not (np.isfinite(K).all() and fx > 0 and fy > 0):
        raise ValueError(f"K must be finite with positive focal lengths, got fx={fx}, fy={fy}")
    return K


def _check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"expected an HxW array, got shape {image.shape}")
    return image


def ray_length(K: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``sqrt(1 + |t|^2)`` for every pixel centre of an image of ``shape`` (H, W), float64."""
    K = _check_intrinsics(K)
    height, width = shape
    tx = (np.arange(width, dtype=np.float64) - K[0, 2]) / K[0, 0]
    ty = (np.arange(height, dtype=np.float64) - K[1, 2]) / K[1, 1]
    return np.sqrt(1.0 + tx[np.newaxis, :] ** 2 + ty[:, np.newaxis] ** 2)


def _output_dtype(image: np.ndarray) -> np.dtype:
    return image.dtype if np.issubdtype(image.dtype, np.floating) else np.dtype(np.float64)


def distance_to_depth(distance: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Convert ray distance (camera origin to surface) into planar depth along the view axis."""
    distance = _check_image(distance)
    depth = distance.astype(np.float64) / ray_length(K, distance.shape)
    return depth.astype(_output_dtype(distance))


def depth_to_distance(depth: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Convert planar depth into ray distance: the exact inverse of :func:`distance_to_depth`."""
    depth = _check_image(depth)
    distance = depth.astype(np.float64) * ray_length(K, depth.shape)
    return distance.astype(_output_dtype(depth))
