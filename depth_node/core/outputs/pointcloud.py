"""Depth images to point clouds and binary PLY files. Imports no bpy (numpy only).

Points are in the OpenCV camera frame of :mod:`depth_node.core.camera` (x right,
y down, z forward), or in world coordinates with a camera-to-world matrix in
the OpenCV convention (the camera JSON's ``camera_to_world_opencv``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..calibration import Calibration
from ..camera import BlenderCamera
from ..projections.base import Projection
from ..reference import unproject
from .preview import surface_mask


def calibrated_points(depth: np.ndarray, calibration: Calibration, stride: int = 1,
                      max_depth: float | None = None) -> np.ndarray:
    """The surface points (Nx3, OpenCV camera frame) of a calibrated camera's planar ``depth``: each pixel's
    exact ray scaled to its depth (rays beyond 90 degrees have negative depth). Background dropped as above."""
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    depth = np.asarray(depth, dtype=np.float64)
    if depth.shape != (calibration.height, calibration.width):
        raise ValueError(f"the depth image is {depth.shape[1]}x{depth.shape[0]}, the calibration "
                         f"{calibration.width}x{calibration.height}")
    rays = calibration.pixel_rays()[::stride, ::stride]
    z = depth[::stride, ::stride]
    keep = surface_mask(np.abs(z)) & np.isfinite(rays).all(axis=-1) & (rays[..., 2] != 0)
    if max_depth is not None:
        keep &= np.abs(z) <= max_depth
    return rays[keep] * (z[keep] / rays[keep][:, 2])[:, np.newaxis]


def depth_to_points(depth: np.ndarray, K: np.ndarray | BlenderCamera, projection: str | Projection = "PERSP",
                    stride: int = 1, max_depth: float | None = None) -> np.ndarray:
    """An Nx3 float64 array of the surface points of ``depth`` (every ``stride``-th row and column).

    ``K``: the 3x3 matrix of a pinhole-like ``projection``, or the camera (any projection). Background
    pixels (0, non-finite, >= 1e9, beyond ``max_depth``; negative too, except for panoramic cameras,
    whose rays can look backwards) are dropped.
    """
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    depth = np.asarray(depth)
    if depth.ndim != 2:
        raise ValueError(f"expected an HxW depth image, got shape {depth.shape}")
    rows, columns = np.mgrid[0:depth.shape[0]:stride, 0:depth.shape[1]:stride]
    z = depth[rows, columns].astype(np.float64)
    signed = isinstance(K, BlenderCamera) and not K.has_matrix
    keep = surface_mask(np.abs(z) if signed else z)
    if max_depth is not None:
        keep &= np.abs(z) <= max_depth
    return unproject(z[keep], K, projection, rows[keep], columns[keep])


def to_world(points: np.ndarray, camera_to_world: np.ndarray) -> np.ndarray:
    """Transform Nx3 camera points with a 4x4 camera-to-world matrix (OpenCV camera convention)."""
    matrix = np.asarray(camera_to_world, dtype=np.float64)
    if matrix.shape != (4, 4):
        raise ValueError(f"camera_to_world must be 4x4, got {matrix.shape}")
    return points @ matrix[:3, :3].T + matrix[:3, 3]


def write_ply(path: str | Path, points: np.ndarray) -> None:
    """Write Nx3 points as a binary little-endian PLY (float32 x, y, z)."""
    points = np.asarray(points, dtype="<f4").reshape(-1, 3)
    header = ("ply\nformat binary_little_endian 1.0\ncomment written by True Depth\n"
              f"element vertex {len(points)}\nproperty float x\nproperty float y\nproperty float z\nend_header\n")
    Path(path).write_bytes(header.encode("ascii") + points.tobytes())


def read_ply(path: str | Path) -> np.ndarray:
    """Read back a PLY written by :func:`write_ply` (Nx3 float32)."""
    data = Path(path).read_bytes()
    end = data.index(b"end_header\n") + len(b"end_header\n")
    header = data[:end].decode("ascii").splitlines()
    count = int(next(line for line in header if line.startswith("element vertex")).split()[-1])
    return np.frombuffer(data[end:], dtype="<f4", count=count * 3).reshape(count, 3)
