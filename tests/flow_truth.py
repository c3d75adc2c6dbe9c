"""An optical-flow ground truth that involves no renderer: the hit tracked on the mesh to the other frame.

Per pixel centre of frame f: a BVH ray cast (``scene.ray_cast`` on the evaluated depsgraph) finds the surface
point, its triangle of the evaluated mesh and its barycentric coordinates; at frame f+-1 the same triangle
of the evaluated mesh (modifiers, shape keys, armatures) carries the point, which Blender's own
``world_to_camera_view`` projects with that frame's camera. The point is visible there when a ray cast from
that camera reaches it first. A ray that escapes gets the projection of its direction (a point at
infinity, seen from that frame's camera position). Only perspective and orthographic cameras (what
``world_to_camera_view`` projects).
"""

from __future__ import annotations

from dataclasses import dataclass

import bpy
import numpy as np
from bpy_extras.object_utils import world_to_camera_view
from mathutils import Vector
from mathutils.geometry import barycentric_transform, intersect_point_tri

TOLERANCE = 1e-4
"""Relative to the camera distance: how much nearer a surface must be to hide the point."""


@dataclass
class FlowTruth:
    """Per pixel: the flow (H, W, 2, OpenCV pixels), whether the point is seen there, whether the ray hit."""

    flow: np.ndarray
    visible: np.ndarray
    hit: np.ndarray
    objects: np.ndarray
    """(H, W) the name of the object hit ("" where the ray escaped)."""


@dataclass
class _Hit:
    name: str
    triangle: tuple[int, int, int]
    local: Vector


def _project(scene: bpy.types.Scene, camera: bpy.types.Object, point: Vector) -> tuple[float, float]:
    ndc = world_to_camera_view(scene, camera, point)
    width, height = _size(scene)
    return ndc.x * width - 0.5, (1.0 - ndc.y) * height - 0.5


def _size(scene: bpy.types.Scene) -> tuple[int, int]:
    render = scene.render
    scale = render.resolution_percentage / 100
    return int(render.resolution_x * scale), int(render.resolution_y * scale)


def _pixel_ray(scene: bpy.types.Scene, camera: bpy.types.Object, x: float, y: float) -> tuple[Vector, Vector]:
    """The world ray through pixel centre (x, y), from the camera's own view frame (Blender's code)."""
    width, height = _size(scene)
    frame = camera.data.view_frame(scene=scene)  # top-right, bottom-right, bottom-left, top-left (camera space)
    top_right, _, bottom_left, _ = frame
    s, t = (x + 0.5) / width, (y + 0.5) / height
    local = Vector((bottom_left.x + s * (top_right.x - bottom_left.x),
                    top_right.y - t * (top_right.y - bottom_left.y), frame[0].z))
    matrix = camera.matrix_world.normalized()
    if camera.data.type == "ORTHO":
        return matrix @ Vector((local.x, local.y, 0.0)), (matrix.to_3x3() @ Vector((0.0, 0.0, -1.0))).normalized()
    return matrix.translation.copy(), (matrix.to_3x3() @ local).normalized()


def _triangles(obj: bpy.types.Object, depsgraph: bpy.types.Depsgraph) -> dict[int, list[tuple[int, int, int]]]:
    mesh = obj.evaluated_get(depsgraph).data
    mesh.calc_loop_triangles()
    by_polygon: dict[int, list[tuple[int, int, int]]] = {}
    for triangle in mesh.loop_triangles:
        by_polygon.setdefault(triangle.polygon_index, []).append(tuple(triangle.vertices))
    return by_polygon


def _vertices(obj: bpy.types.Object, depsgraph: bpy.types.Depsgraph) -> np.ndarray:
    mesh = obj.evaluated_get(depsgraph).data
    coordinates = np.empty(len(mesh.vertices) * 3)
    mesh.vertices.foreach_get("co", coordinates)
    return coordinates.reshape(-1, 3)


def _first_hits(scene: bpy.types.Scene, camera: bpy.types.Object) -> dict[tuple[int, int], _Hit | Vector]:
    """Per pixel: the hit (object, triangle, local point), or the ray's direction where it escapes."""
    depsgraph = bpy.context.evaluated_depsgraph_get()
    width, height = _size(scene)
    triangles: dict[str, dict] = {}
    vertices: dict[str, np.ndarray] = {}
    hits: dict[tuple[int, int], _Hit | Vector] = {}
    for row in range(height):
        for column in range(width):
            start, direction = _pixel_ray(scene, camera, column, row)
            hit, location, _normal, index, obj, matrix = scene.ray_cast(depsgraph, start, direction)
            if not hit:
                hits[row, column] = direction
                continue
            name = obj.original.name
            if name not in triangles:
                triangles[name] = _triangles(obj.original, depsgraph)
                vertices[name] = _vertices(obj.original, depsgraph)
            local = matrix.inverted() @ location
            triangle = min(triangles[name][index], key=lambda tri: _outside(local, vertices[name], tri))
            hits[row, column] = _Hit(name, triangle, local)
    return hits


def _outside(point: Vector, vertices: np.ndarray, triangle: tuple[int, int, int]) -> float:
    corners = [Vector(vertices[index]) for index in triangle]
    inside = intersect_point_tri(point, *corners)
    return 0.0 if inside is not None else min((point - corner).length for corner in corners)


def _visible(scene: bpy.types.Scene, camera: bpy.types.Object, point: Vector) -> bool:
    depsgraph = bpy.context.evaluated_depsgraph_get()
    matrix = camera.matrix_world.normalized()
    if camera.data.type == "ORTHO":
        axis = (matrix.to_3x3() @ Vector((0.0, 0.0, -1.0))).normalized()
        start = point - axis * ((point - matrix.translation).dot(axis))
    else:
        start = matrix.translation
    offset = point - start
    hit, location, *_ = scene.ray_cast(depsgraph, start, offset.normalized())
    return not hit or (location - start).length >= offset.length * (1 - TOLERANCE)


def flow_truth(scene: bpy.types.Scene, frame: int, other: int) -> FlowTruth:
    """The flow of ``frame`` to ``other`` (f+1 forward, f-1 backward) with the scene's camera of each frame."""
    scene.frame_set(frame)
    camera = scene.camera
    hits = _first_hits(scene, camera)
    width, height = _size(scene)
    triangle_points = {}
    for hit in hits.values():
        if isinstance(hit, _Hit) and hit.name not in triangle_points:
            triangle_points[hit.name] = _vertices(bpy.data.objects[hit.name], bpy.context.evaluated_depsgraph_get())
    scene.frame_set(other)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    camera = scene.camera
    position = camera.matrix_world.normalized().translation
    later = {name: _vertices(bpy.data.objects[name], depsgraph) for name in triangle_points}
    flow = np.zeros((height, width, 2))
    visible = np.zeros((height, width), dtype=bool)
    hit_mask = np.zeros((height, width), dtype=bool)
    objects = np.full((height, width), "", dtype=object)
    for (row, column), hit in hits.items():
        if isinstance(hit, _Hit):
            objects[row, column] = hit.name
            before, after = triangle_points[hit.name], later[hit.name]
            moved = barycentric_transform(hit.local, *(Vector(before[i]) for i in hit.triangle),
                                          *(Vector(after[i]) for i in hit.triangle))
            point = bpy.data.objects[hit.name].evaluated_get(depsgraph).matrix_world @ moved
            hit_mask[row, column] = True
            seen = _visible(scene, camera, point)
        elif camera.data.type == "ORTHO":
            continue  # a direction has no orthographic image
        else:
            point = position + hit  # a direction, seen from the other frame's camera position
            seen = not scene.ray_cast(depsgraph, position, hit)[0]
        x, y = _project(scene, camera, point)
        flow[row, column] = (x - column, y - row)
        inside = -0.5 <= x < width - 0.5 and -0.5 <= y < height - 0.5
        ahead = world_to_camera_view(scene, camera, point).z > 0
        visible[row, column] = inside and ahead and seen
    scene.frame_set(frame)
    return FlowTruth(flow, visible, hit_mask, objects)
