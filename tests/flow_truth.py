"""An optical-flow ground truth that involves no renderer: the hit tracked on the mesh to the other frame.

Per pixel centre of frame f: a BVH ray cast (``scene.ray_cast`` on the evaluated depsgraph) finds the surface
point, its triangle of the evaluated mesh and its barycentric coordinates; at frame f+-1 the same triangle
of the evaluated mesh (modifiers, shape keys, armatures) carries the point, which is projected with that
frame's camera. The point is visible there when a ray cast from that camera reaches it first. A ray that
escapes gets the projection of its direction (a point at infinity, seen from that frame's camera position).

The camera of a frame is either the scene camera, through Blender's own ``view_frame`` and
``world_to_camera_view`` (:class:`SceneCamera`), or a sidecar's K and pose (:class:`SidecarCamera`: stereo
eyes and Multi-View cameras, whose sidecars other tests check against rays). Perspective and orthographic; and
equirectangular and equidistant fisheye panoramas by their formulas (:class:`PanoramaCamera`).
"""

from __future__ import annotations

import math
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


class SceneCamera:
    """The scene's camera at the current frame, through Blender's own camera functions."""

    def __init__(self, scene: bpy.types.Scene) -> None:
        self.scene, self.camera = scene, scene.camera
        render = scene.render
        scale = render.resolution_percentage / 100
        self.width, self.height = int(render.resolution_x * scale), int(render.resolution_y * scale)
        self.matrix = self.camera.matrix_world.normalized()
        self.orthographic = self.camera.data.type == "ORTHO"
        self.axis = (self.matrix.to_3x3() @ Vector((0.0, 0.0, -1.0))).normalized()

    def ray(self, x: float, y: float) -> tuple[Vector, Vector]:
        frame = self.camera.data.view_frame(scene=self.scene)  # top-right, bottom-right, bottom-left, top-left
        top_right, _, bottom_left, _ = frame
        s, t = (x + 0.5) / self.width, (y + 0.5) / self.height
        local = Vector((bottom_left.x + s * (top_right.x - bottom_left.x),
                        top_right.y - t * (top_right.y - bottom_left.y), frame[0].z))
        if self.orthographic:
            return self.matrix @ Vector((local.x, local.y, 0.0)), self.axis
        return self.matrix.translation.copy(), (self.matrix.to_3x3() @ local).normalized()

    def project(self, point: Vector) -> tuple[float, float, float]:
        ndc = world_to_camera_view(self.scene, self.camera, point)
        return ndc.x * self.width - 0.5, (1.0 - ndc.y) * self.height - 0.5, ndc.z

    @property
    def position(self) -> Vector:
        return self.matrix.translation.copy()


OPENCV_RADTAN = ("k1", "k2", "p1", "p2", "k3", "k4", "k5", "k6")
"""OpenCV's order of the radial-tangential coefficients (``cv2.projectPoints``' distCoeffs)."""


class SidecarCamera:
    """A camera sidecar's K and OpenCV camera-to-world pose (a pinhole or orthographic view); a calibrated camera's
    radial-tangential distortion through OpenCV itself (``cv2.undistortPoints``, ``cv2.projectPoints``)."""

    def __init__(self, meta: dict) -> None:
        distortion = meta.get("distortion") or {"model": "pinhole"}
        if distortion["model"] not in ("pinhole", "radtan"):
            raise ValueError(f"the truth knows pinhole and radtan sidecars, not {distortion['model']}")
        self.distortion = None if distortion["model"] == "pinhole" else np.array(
            [distortion["coefficients"].get(name, 0.0) for name in OPENCV_RADTAN], dtype=np.float64)
        self.K = np.asarray(meta["K"], dtype=np.float64)
        to_world = np.asarray(meta["camera_to_world_opencv"], dtype=np.float64)
        self.rotation, self.origin = to_world[:3, :3], to_world[:3, 3]
        self.width, self.height = int(meta["width"]), int(meta["height"])
        self.orthographic = meta["projection"] == "ORTHO"
        self.axis = Vector(self.rotation[:, 2])

    def ray(self, x: float, y: float) -> tuple[Vector, Vector]:
        t = np.linalg.solve(self.K, [x, y, 1.0])
        if self.distortion is not None:
            import cv2

            undistorted = cv2.undistortPointsIter(np.array([[[x, y]]], dtype=np.float64), self.K, self.distortion,
                                                  None, None, (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS,
                                                               100, 1e-14))
            t = np.array([*undistorted.ravel(), 1.0])
        if self.orthographic:
            return Vector(self.origin + self.rotation[:, :2] @ t[:2]), self.axis
        return Vector(self.origin), Vector(self.rotation @ t).normalized()

    def project(self, point: Vector) -> tuple[float, float, float]:
        camera = (np.asarray(point) - self.origin) @ self.rotation
        if self.orthographic:
            x, y, _ = self.K @ [camera[0], camera[1], 1.0]
            return x, y, camera[2]
        if self.distortion is not None:
            import cv2

            image, _ = cv2.projectPoints(camera.reshape(1, 1, 3), np.zeros(3), np.zeros(3), self.K, self.distortion)
            return float(image.ravel()[0]), float(image.ravel()[1]), camera[2]
        image = self.K @ camera
        return image[0] / image[2], image[1] / image[2], camera[2]

    @property
    def position(self) -> Vector:
        return Vector(self.origin)


class PanoramaCamera:
    """The scene's equirectangular or equidistant-fisheye camera at the current frame, by the formulas of Blender's
    manual (Cycles' ``kernel/camera/projection.h``) written out here: a frame fraction ``(u, v)``, v up, is a
    longitude and latitude, or a radius and angle on the fisheye's inscribed circle."""

    def __init__(self, scene: bpy.types.Scene) -> None:
        self.scene, self.camera = scene, scene.camera
        data = self.camera.data
        self.kind = data.panorama_type
        if self.kind not in ("EQUIRECTANGULAR", "FISHEYE_EQUIDISTANT"):
            raise ValueError(f"the truth knows equirectangular and equidistant fisheye panoramas, not {self.kind}")
        render = scene.render
        scale = render.resolution_percentage / 100
        self.width, self.height = int(render.resolution_x * scale), int(render.resolution_y * scale)
        self.matrix = self.camera.matrix_world.normalized()
        self.orthographic = False
        self.axis = (self.matrix.to_3x3() @ Vector((0.0, 0.0, -1.0))).normalized()
        self.longitude = (data.longitude_min, data.longitude_max)
        self.latitude = (data.latitude_min, data.latitude_max)
        self.fov = data.fisheye_fov

    def _local(self, u: float, v: float) -> Vector | None:
        if self.kind == "EQUIRECTANGULAR":
            lon = self.longitude[0] + u * (self.longitude[1] - self.longitude[0])
            lat = self.latitude[0] + v * (self.latitude[1] - self.latitude[0])
            return Vector((math.cos(lat) * math.sin(lon), math.sin(lat), -math.cos(lat) * math.cos(lon)))
        a, c = 2.0 * u - 1.0, 2.0 * v - 1.0
        r = math.hypot(a, c)
        if r > 1.0:
            return None
        theta, phi = r * self.fov / 2.0, math.atan2(c, a)
        return Vector((math.cos(phi) * math.sin(theta), math.sin(phi) * math.sin(theta), -math.cos(theta)))

    def ray(self, x: float, y: float) -> tuple[Vector, Vector | None]:
        local = self._local((x + 0.5) / self.width, 1.0 - (y + 0.5) / self.height)
        return self.position, None if local is None else (self.matrix.to_3x3() @ local).normalized()

    def project(self, point: Vector) -> tuple[float, float, float]:
        """``(x, y, 1)`` in OpenCV pixels, or ``(x, y, -1)`` where the direction is off the image."""
        local = (self.matrix.to_3x3().inverted() @ (point - self.position)).normalized()
        if self.kind == "EQUIRECTANGULAR":
            lon, lat = math.atan2(local.x, -local.z), math.asin(max(-1.0, min(1.0, local.y)))
            while lon < self.longitude[0]:
                lon += 2 * math.pi
            u = (lon - self.longitude[0]) / (self.longitude[1] - self.longitude[0])
            v = (lat - self.latitude[0]) / (self.latitude[1] - self.latitude[0])
            on_image = 0.0 <= u <= 1.0 and 0.0 <= v <= 1.0
        else:
            r = math.acos(max(-1.0, min(1.0, -local.z))) / (self.fov / 2.0)
            phi = math.atan2(local.y, local.x)
            u, v = (r * math.cos(phi) + 1.0) / 2.0, (r * math.sin(phi) + 1.0) / 2.0
            on_image = r <= 1.0
        return u * self.width - 0.5, (1.0 - v) * self.height - 0.5, 1.0 if on_image else -1.0

    @property
    def position(self) -> Vector:
        return self.matrix.translation.copy()


Camera = SceneCamera | SidecarCamera | PanoramaCamera


def scene_camera(scene: bpy.types.Scene) -> SceneCamera | PanoramaCamera:
    """The scene camera at the current frame, for its type."""
    return PanoramaCamera(scene) if scene.camera.data.type == "PANO" else SceneCamera(scene)


@dataclass
class _Hit:
    name: str
    triangle: tuple[int, int, int]
    local: Vector
    instance: tuple | None = None
    """(instancer, persistent id) of an instance's hit, found by its matrix among the frame's instances."""


def _instances(depsgraph: bpy.types.Depsgraph) -> list[tuple[str, tuple, object]]:
    """(object name, (instancer name, persistent id), world matrix) of every instance of the frame."""
    return [(instance.object.original.name, (instance.parent.original.name, tuple(instance.persistent_id)),
             instance.matrix_world.copy()) for instance in depsgraph.object_instances
            if instance.is_instance and instance.parent is not None]


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


def _outside(point: Vector, vertices: np.ndarray, triangle: tuple[int, int, int]) -> float:
    corners = [Vector(vertices[index]) for index in triangle]
    return 0.0 if intersect_point_tri(point, *corners) is not None else min((point - c).length for c in corners)


def _first_hits(scene: bpy.types.Scene, camera: Camera) -> dict[tuple[int, int], _Hit | Vector]:
    """Per pixel: the hit (object, triangle, local point), or the ray's direction where it escapes."""
    depsgraph = bpy.context.evaluated_depsgraph_get()
    triangles: dict[str, dict] = {}
    vertices: dict[str, np.ndarray] = {}
    instances = _instances(depsgraph)
    hits: dict[tuple[int, int], _Hit | Vector] = {}
    for row in range(camera.height):
        for column in range(camera.width):
            start, direction = camera.ray(column, row)
            if direction is None:  # a fisheye's pixel outside its image circle has no ray
                continue
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
            instance = None
            if matrix != obj.original.evaluated_get(depsgraph).matrix_world or name not in scene.objects:
                (instance,) = [key for other, key, at in instances if other == name and at == matrix]
            hits[row, column] = _Hit(name, triangle, local, instance)
    return hits


def _reaches(scene: bpy.types.Scene, camera: Camera, point: Vector) -> bool:
    depsgraph = bpy.context.evaluated_depsgraph_get()
    start = point - camera.axis * (point - camera.position).dot(camera.axis) if camera.orthographic \
        else camera.position
    offset = point - start
    hit, location, *_ = scene.ray_cast(depsgraph, start, offset.normalized())
    return not hit or (location - start).length >= offset.length * (1 - TOLERANCE)


def flow_truth(scene: bpy.types.Scene, frame: int, other: int, meta: dict | None = None,
               other_meta: dict | None = None) -> FlowTruth:
    """The flow of ``frame`` to ``other`` (f+1 forward, f-1 backward): with the scene camera of each frame, or
    with the sidecars ``meta`` (of ``frame``) and ``other_meta`` (of ``other``)."""
    scene.frame_set(frame)
    camera = scene_camera(scene) if meta is None else SidecarCamera(meta)
    hits = _first_hits(scene, camera)
    names = {hit.name for hit in hits.values() if isinstance(hit, _Hit)}
    depsgraph = bpy.context.evaluated_depsgraph_get()
    before = {name: _vertices(bpy.data.objects[name], depsgraph) for name in names}
    scene.frame_set(other)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    camera = scene_camera(scene) if other_meta is None else SidecarCamera(other_meta)
    after = {name: _vertices(bpy.data.objects[name], depsgraph) for name in names}
    instance_matrices = {(name, key): at for name, key, at in _instances(depsgraph)}
    shape = (camera.height, camera.width)
    flow, visible = np.zeros(shape + (2,)), np.zeros(shape, dtype=bool)
    hit_mask, objects = np.zeros(shape, dtype=bool), np.full(shape, "", dtype=object)
    for (row, column), hit in hits.items():
        if isinstance(hit, _Hit):
            moved = barycentric_transform(hit.local, *(Vector(before[hit.name][i]) for i in hit.triangle),
                                          *(Vector(after[hit.name][i]) for i in hit.triangle))
            matrix = (bpy.data.objects[hit.name].evaluated_get(depsgraph).matrix_world if hit.instance is None
                      else instance_matrices[hit.name, hit.instance])
            point = matrix @ moved
            hit_mask[row, column], objects[row, column] = True, hit.name
            seen = _reaches(scene, camera, point)
        elif camera.orthographic:
            continue  # a direction has no orthographic image
        else:
            point = camera.position + hit  # a direction, seen from the other frame's camera position
            seen = not scene.ray_cast(depsgraph, camera.position, hit)[0]
        x, y, depth = camera.project(point)
        flow[row, column] = (x - column, y - row)
        inside = -0.5 <= x < camera.width - 0.5 and -0.5 <= y < camera.height - 0.5
        visible[row, column] = inside and depth > 0 and seen
    scene.frame_set(frame)
    return FlowTruth(flow, visible, hit_mask, objects)
