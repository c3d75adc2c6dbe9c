"""Depth images to point clouds and binary PLY files. Imports no bpy (numpy only).

Points are in the OpenCV camera frame of :mod:`depth_node.core.camera` (x right,
y down, z forward), or in world coordinates with a camera-to-world matrix in
the OpenCV convention (the camera JSON's ``camera_to_world_opencv``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..calibration import Calibration, from_sidecar
from ..camera import BlenderCamera
from ..projections.base import Projection
from ..reference import unproject
from .preview import surface_mask
from .sidecar import camera_from_metadata

BLENDER_TO_OPENCV = np.array([1.0, -1.0, -1.0])
"""Blender camera axes (x right, y up, looking down -z) to OpenCV's (x right, y down, z forward)."""


def calibrated_points(depth: np.ndarray, calibration: Calibration, stride: int = 1,
                      max_depth: float | None = None) -> np.ndarray:
    """The surface points (Nx3, OpenCV camera frame) of a calibrated camera's planar ``depth``: each pixel's
    exact ray scaled to its depth (rays beyond 90 degrees have negative depth). Background dropped as above."""
    return _calibrated_surface(depth, calibration, stride, max_depth)[1]


def _calibrated_surface(depth: np.ndarray, calibration: Calibration, stride: int, max_depth: float | None
                        ) -> tuple[np.ndarray, np.ndarray]:
    """``(kept pixels of the strided grid, their points)``."""
    _check_stride(stride)
    depth = np.asarray(depth, dtype=np.float64)
    if depth.shape != (calibration.height, calibration.width):
        raise ValueError(f"the depth image is {depth.shape[1]}x{depth.shape[0]}, the calibration "
                         f"{calibration.width}x{calibration.height}")
    rays = calibration.pixel_rays()[::stride, ::stride]
    z = depth[::stride, ::stride]
    keep = surface_mask(np.abs(z)) & np.isfinite(rays).all(axis=-1) & (rays[..., 2] != 0)
    if max_depth is not None:
        keep &= np.abs(z) <= max_depth
    return keep, rays[keep] * (z[keep] / rays[keep][:, 2])[:, np.newaxis]


def depth_to_points(depth: np.ndarray, K: np.ndarray | BlenderCamera, projection: str | Projection = "PERSP",
                    stride: int = 1, max_depth: float | None = None) -> np.ndarray:
    """An Nx3 float64 array of the surface points of ``depth`` (every ``stride``-th row and column).

    ``K``: the 3x3 matrix of a pinhole-like ``projection``, or the camera (any projection). Background
    pixels (0, non-finite, >= 1e9, beyond ``max_depth``; negative too, except for panoramic cameras,
    whose rays can look backwards) are dropped.
    """
    return _surface(depth, K, projection, stride, max_depth)[1]


def _surface(depth: np.ndarray, K: np.ndarray | BlenderCamera, projection: str | Projection, stride: int,
             max_depth: float | None) -> tuple[np.ndarray, np.ndarray]:
    """``(kept pixels of the strided grid, their points)``."""
    _check_stride(stride)
    depth = np.asarray(depth)
    if depth.ndim != 2:
        raise ValueError(f"expected an HxW depth image, got shape {depth.shape}")
    rows, columns = np.mgrid[0:depth.shape[0]:stride, 0:depth.shape[1]:stride]
    z = depth[rows, columns].astype(np.float64)
    signed = isinstance(K, BlenderCamera) and not K.has_matrix
    keep = surface_mask(np.abs(z) if signed else z)
    if max_depth is not None:
        keep &= np.abs(z) <= max_depth
    return keep, unproject(z[keep], K, projection, rows[keep], columns[keep])


def _check_stride(stride: int) -> None:
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")


def point_map(depth: np.ndarray, meta: dict, distance: np.ndarray | None = None) -> np.ndarray:
    """(H, W, 3) float64: each pixel's surface point in the OpenCV camera frame (scene units), from its planar
    ``depth`` and the camera of the sidecar ``meta``, by the same unprojection as the PLY; 0 where there is no
    surface (the background, beyond the clip end). A panorama's points lie along its pixel's ray at the ray
    ``distance`` when given: from depth they divide by the ray's cosine to the view axis, which amplifies float32
    depth steps where the ray is nearly perpendicular to it."""
    depth = np.asarray(depth, dtype=np.float64)
    calibration = from_sidecar(meta)
    clip_end = meta.get("clip_end")
    image = np.zeros(depth.shape + (3,))
    if calibration is not None:
        keep, points = _calibrated_surface(depth, calibration, 1, clip_end)
        image[keep] = points
        return image
    camera = camera_from_metadata(meta)
    if depth.shape != (camera.height, camera.width):
        raise ValueError(f"the depth image is {depth.shape[1]}x{depth.shape[0]}, the camera "
                         f"{camera.width}x{camera.height}")
    if distance is not None and not camera.has_matrix:
        distance = np.asarray(distance)
        rows, columns = np.mgrid[0:camera.height, 0:camera.width].astype(np.float64)
        directions, has_ray = camera.model.pixel_directions(camera, columns, rows)
        keep = has_ray & surface_mask(distance)
        if clip_end is not None:
            keep &= distance <= clip_end
        image[keep] = directions[keep] * distance[keep][:, np.newaxis] * BLENDER_TO_OPENCV
        return image
    keep, points = _surface(depth, camera, camera.model, 1, clip_end)
    image[keep] = points
    return image


def to_world(points: np.ndarray, camera_to_world: np.ndarray) -> np.ndarray:
    """Transform Nx3 camera points with a 4x4 camera-to-world matrix (OpenCV camera convention)."""
    matrix = np.asarray(camera_to_world, dtype=np.float64)
    if matrix.shape != (4, 4):
        raise ValueError(f"camera_to_world must be 4x4, got {matrix.shape}")
    return points @ matrix[:3, :3].T + matrix[:3, 3]


POINT_PROPERTIES = (("x", "<f4"), ("y", "<f4"), ("z", "<f4"))
NORMAL_PROPERTIES = (("nx", "<f4"), ("ny", "<f4"), ("nz", "<f4"), ("red", "u1"), ("green", "u1"), ("blue", "u1"))
"""PLY's usual names (Open3D, MeshLab, CloudCompare, plyfile): the normal, and the normal as a colour."""
_PLY_TYPES = {"<f4": "float", "u1": "uchar"}


def surface_values(image: np.ndarray, keep: np.ndarray, stride: int = 1) -> np.ndarray:
    """The pixels of ``image`` (H, W, ...) the points kept with the mask ``keep`` (of the ``stride`` grid, as
    :func:`surface_points` returns it) come from, in the points' order."""
    return np.asarray(image)[::stride, ::stride][keep]


def surface_points(depth: np.ndarray, camera: BlenderCamera, calibration: Calibration | None, stride: int = 1,
                   max_depth: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(kept pixels of the stride grid, their points (Nx3, OpenCV camera frame))``: :func:`calibrated_points`
    for a calibrated camera, else :func:`depth_to_points` with the camera's own projection."""
    if calibration is not None:
        return _calibrated_surface(depth, calibration, stride, max_depth)
    return _surface(depth, camera, camera.model, stride, max_depth)


def write_ply(path: str | Path, points: np.ndarray, normals: np.ndarray | None = None) -> None:
    """Write Nx3 points as a binary little-endian PLY (float32 x, y, z); with ``normals`` (Nx3, unit) also
    float32 nx, ny, nz and uchar red, green, blue = ``round((n + 1) / 2 x 255)``: the normals as colours, which
    every viewer shows."""
    points = np.asarray(points).reshape(-1, 3)
    properties = POINT_PROPERTIES + (NORMAL_PROPERTIES if normals is not None else ())
    vertices = np.empty(len(points), dtype=list(properties))
    for axis, name in enumerate("xyz"):
        vertices[name] = points[:, axis]
    if normals is not None:
        normals = np.asarray(normals).reshape(-1, 3)
        if len(normals) != len(points):
            raise ValueError(f"{len(normals)} normals for {len(points)} points")
        colours = np.round((normals + 1.0) / 2.0 * 255.0)
        for axis, (normal, colour) in enumerate((("nx", "red"), ("ny", "green"), ("nz", "blue"))):
            vertices[normal], vertices[colour] = normals[:, axis], colours[:, axis]
    header = "".join(f"property {_PLY_TYPES[kind]} {name}\n" for name, kind in properties)
    Path(path).write_bytes((f"ply\nformat binary_little_endian 1.0\ncomment written by True Depth\n"
                            f"element vertex {len(points)}\n{header}end_header\n").encode("ascii")
                           + vertices.tobytes())


def read_ply(path: str | Path) -> np.ndarray:
    """Read back the points of a PLY written by :func:`write_ply` (Nx3 float32)."""
    vertices = read_ply_vertices(path)
    return np.stack([vertices[name] for name in "xyz"], axis=-1)


def read_ply_vertices(path: str | Path) -> np.ndarray:
    """Every vertex property of a PLY written by :func:`write_ply`, as a structured array."""
    data = Path(path).read_bytes()
    end = data.index(b"end_header\n") + len(b"end_header\n")
    header = data[:end].decode("ascii").splitlines()
    count = int(next(line for line in header if line.startswith("element vertex")).split()[-1])
    types = {ply: kind for kind, ply in _PLY_TYPES.items()}
    dtype = [(line.split()[2], types[line.split()[1]]) for line in header if line.startswith("property ")]
    return np.frombuffer(data[end:], dtype=dtype, count=count)
