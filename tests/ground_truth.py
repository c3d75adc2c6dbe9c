"""A depth ground truth that involves no renderer: rays through pixel centres, cast with Blender's BVH.

``scene.ray_cast`` on the evaluated depsgraph sees modifiers and instances. The rays come from a camera
sidecar (K and the OpenCV camera-to-world pose), so the truth also checks what the sidecar says.
Objects that do not render are passed through, and so are surfaces a caller calls transparent at the
hit point (e.g. an alpha-textured decal where its alpha is 0).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import bpy
import numpy as np
from mathutils import Vector

Transparent = Callable[[bpy.types.Object, Vector], bool]
STEP = 1e-4
"""How far past a skipped surface the ray continues (scene units)."""


@dataclass
class Truth:
    """Per pixel: planar depth, ray distance from the camera origin (0 where the ray escapes), world point."""

    depth: np.ndarray
    distance: np.ndarray
    points: np.ndarray

    @property
    def hit(self) -> np.ndarray:
        return self.depth > 0


def cast(scene: bpy.types.Scene, meta: dict, transparent: Transparent | None = None,
         max_distance: float = 1e4) -> Truth:
    """Cast one ray per pixel centre of the sidecar ``meta``'s image."""
    K = np.asarray(meta["K"], dtype=np.float64)
    to_world = np.asarray(meta["camera_to_world_opencv"], dtype=np.float64)
    rotation, origin = to_world[:3, :3], to_world[:3, 3]
    rows, columns = np.mgrid[0:int(meta["height"]), 0:int(meta["width"])].astype(np.float64)
    t = np.stack([(columns - K[0, 2]) / K[0, 0], (rows - K[1, 2]) / K[1, 1]], axis=-1)
    if meta["projection"] == "ORTHO":
        starts = origin + t @ rotation[:, :2].T
        directions = np.broadcast_to(rotation[:, 2], starts.shape)
    else:
        starts = origin
        directions = np.concatenate([t, np.ones(t.shape[:2] + (1,))], axis=-1) @ rotation.T
    return cast_rays(scene, starts, directions, origin, rotation[:, 2], transparent, max_distance)


def cast_rays(scene: bpy.types.Scene, starts: np.ndarray, directions: np.ndarray, origin: np.ndarray,
              view_axis: np.ndarray, transparent: Transparent | None = None, max_distance: float = 1e4) -> Truth:
    """Cast one ray per pixel from ``starts`` (one point, or H x W x 3) along ``directions`` (H, W, 3, world
    space, any length; NaN: no ray, a miss); depth and distance are measured from the camera ``origin``, depth
    along ``view_axis``."""
    depsgraph = scene.view_layers[0].depsgraph
    depsgraph.update()
    height, width = directions.shape[:2]
    depth, distance, points = np.zeros((height, width)), np.zeros((height, width)), np.zeros((height, width, 3))
    for row in range(height):
        for column in range(width):
            direction = directions[row, column]
            if not np.isfinite(direction).all():
                continue
            direction = direction / np.linalg.norm(direction)
            start = starts if np.ndim(starts) == 1 else starts[row, column]
            point = _first_surface(scene, depsgraph, Vector(start), Vector(direction), transparent, max_distance)
            if point is not None:
                points[row, column] = point
                offset = np.asarray(point) - origin
                depth[row, column] = offset @ view_axis
                distance[row, column] = np.linalg.norm(offset)
    return Truth(depth, distance, points)


def _first_surface(scene: bpy.types.Scene, depsgraph: bpy.types.Depsgraph, start: Vector, direction: Vector,
                   transparent: Transparent | None, max_distance: float) -> Vector | None:
    for _ in range(64):
        hit, location, _normal, _index, obj, _matrix = scene.ray_cast(depsgraph, start, direction,
                                                                       distance=max_distance)
        if not hit:
            return None
        original = obj.original if obj is not None else None
        if original is not None and (original.hide_render or (transparent and transparent(original, location))):
            start = location + direction * STEP
            continue
        return location
    raise RuntimeError("more than 64 skipped surfaces along one ray")


def read_point_map(path: str) -> np.ndarray:
    """A ``points`` or ``points_world`` file's (H, W, 3) R, G, B as float64, read with OpenEXR (float32 RGB only)."""
    import OpenEXR  # noqa: PLC0415  (the format's own reader, installed beside bpy for the tests)

    with OpenEXR.File(str(path), separate_channels=True) as exr_file:
        channels = exr_file.channels()
        assert sorted(channels) == ["B", "G", "R"] and channels["R"].pixels.dtype == np.float32, list(channels)
        return np.stack([channels[name].pixels for name in "RGB"], axis=-1).astype(np.float64)


def share_within(got: np.ndarray, want: np.ndarray, mask: np.ndarray, rtol: float = 1e-4) -> float:
    """The share of ``mask`` pixels where ``got`` is within ``rtol`` (relative) of ``want``."""
    close = np.abs(got.astype(np.float64) - want) <= rtol * np.abs(want)
    return float(close[mask].mean())
