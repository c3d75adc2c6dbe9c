"""A normals ground truth that involves no renderer: the evaluated mesh's normal where a pixel centre's ray hits.

Per pixel centre (the rays of :func:`flow_truth.scene_camera`: Blender's own ``view_frame`` for pinhole and
orthographic cameras, the manual's formulas for panoramas) ``scene.ray_cast`` on the evaluated depsgraph finds
the object, polygon and point; the loop triangle of that polygon holding the point gives barycentric
coordinates. A smooth triangle's three corner normals (``split_normals``: sharp edges and custom normals
included), each turned into world axes by the inverse transpose of the object's (or instance's) matrix and
normalised, are interpolated and normalised; a flat triangle's normal is its own (for a quad that is not
planar, not the polygon's normal that Blender's corner normals give). A triangle whose geometric normal faces
away from the ray is a back face: its normal is turned towards the camera, as Cycles turns it.
"""

from __future__ import annotations

from dataclasses import dataclass

import bpy
import numpy as np
from flow_truth import scene_camera
from mathutils import Vector


@dataclass
class NormalTruth:
    """Per pixel: the unit world-axis normal (0 where the ray escapes), the ray hit, whether it is a back face."""

    normals: np.ndarray
    hit: np.ndarray
    back_face: np.ndarray


def _triangles(obj: bpy.types.Object) -> dict[int, list[tuple[np.ndarray, np.ndarray | None]]]:
    """Per polygon of the evaluated mesh: (corner positions 3 x 3, corner normals 3 x 3 or None where the
    triangle is flat) of its loop triangles."""
    mesh = obj.data
    mesh.calc_loop_triangles()
    positions = np.array([vertex.co[:] for vertex in mesh.vertices], dtype=np.float64)
    by_polygon: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
    for triangle in mesh.loop_triangles:
        corners = positions[list(triangle.vertices)]
        normals = np.array([normal[:] for normal in triangle.split_normals], dtype=np.float64) \
            if triangle.use_smooth else None
        by_polygon.setdefault(triangle.polygon_index, []).append((corners, normals))
    return by_polygon


def _barycentric(point: np.ndarray, corners: np.ndarray) -> np.ndarray:
    edges = np.stack([corners[1] - corners[0], corners[2] - corners[0]], axis=1)
    (u, v), *_ = np.linalg.lstsq(edges, point - corners[0], rcond=None)
    return np.array([1.0 - u - v, u, v])


@dataclass
class RayGrid:
    """Rays given per pixel (a Stereo 3D eye's, a calibrated camera's): one origin, (H, W, 3) world directions."""

    origin: np.ndarray
    directions: np.ndarray

    @property
    def height(self) -> int:
        return self.directions.shape[0]

    @property
    def width(self) -> int:
        return self.directions.shape[1]

    def ray(self, column: int, row: int) -> tuple[Vector, Vector]:
        return Vector(self.origin), Vector(self.directions[row, column])


def normal_truth(scene: bpy.types.Scene, camera: RayGrid | None = None) -> NormalTruth:
    """Cast one ray per pixel centre of ``camera`` (default: the scene camera at the current frame)."""
    camera = camera or scene_camera(scene)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    triangles: dict[str, dict] = {}
    normals = np.zeros((camera.height, camera.width, 3))
    back_face = np.zeros((camera.height, camera.width), dtype=bool)
    for row in range(camera.height):
        for column in range(camera.width):
            start, direction = camera.ray(column, row)
            if direction is None:  # a fisheye's pixel outside its image circle
                continue
            hit, location, _normal, polygon, obj, matrix = scene.ray_cast(depsgraph, start, direction)
            if not hit:
                continue
            evaluated = obj.original.evaluated_get(depsgraph)
            if obj.original.name not in triangles:
                triangles[obj.original.name] = _triangles(evaluated)
            local = np.array(matrix.inverted() @ location)
            weights, corners, corner_normals = min(
                ((_barycentric(local, c), c, n) for c, n in triangles[obj.original.name][polygon]),
                key=lambda found: -found[0].min())  # the triangle holding the point: no negative weight
            to_world = np.array(matrix.to_3x3(), dtype=np.float64)
            normal_matrix = np.linalg.inv(to_world).T
            geometric = normal_matrix @ np.cross(corners[1] - corners[0], corners[2] - corners[0])
            if corner_normals is None:
                normal = geometric
            else:
                world = corner_normals @ normal_matrix.T
                normal = weights @ (world / np.linalg.norm(world, axis=1, keepdims=True))
            normal = normal / np.linalg.norm(normal)
            ray = np.array(Vector(direction).normalized())
            if geometric @ ray > 0:
                normal, back_face[row, column] = -normal, True
            normals[row, column] = normal
    return NormalTruth(normals, np.linalg.norm(normals, axis=-1) > 0, back_face)


def angle_between(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Per pixel, the angle in radians between (H, W, 3) vectors, in float64 (mathutils' angle is float32:
    ~3e-4 rad resolution near 0)."""
    got, want = got.astype(np.float64), want.astype(np.float64)
    return np.arctan2(np.linalg.norm(np.cross(got, want), axis=-1), np.einsum("...i,...i", got, want))
