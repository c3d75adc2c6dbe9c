"""Which surface point each pixel sees, and whether another frame's camera sees the same point: ray casts
on one BVH of the evaluated scene (modifiers, shape keys, armatures, instances) per frame.

The point is tracked exactly (:func:`tracked_points`): with its part's world matrix (an object, or one instance
of it) where the part keeps its shape, and on the same triangle at the same barycentric coordinates of the
evaluated mesh where its vertices move but its triangles stay (shape keys, armatures); a ray cast from the other
frame's camera must then reach it before any other surface. A part the other frame lacks, or whose triangles
change (remeshing, a changing vertex count), cannot be decided this way, nor can a pixel where the render saw
another surface than the ray cast (transparency, holdouts): those pixels are :data:`UNDECIDED` and written
invalid.

The rays of a frame are cast all at once on one mesh of every part's world triangles
(:class:`~depth_node.blender.ray_cast.RayCaster`): on the benchmark scene (37 objects, 567k triangles) 0.37 us a
ray on 5.3.0, against 66 us for ``scene.ray_cast`` and 2.7 us for ``BVHTree.ray_cast`` called per ray from
Python; a frame's mesh is kept while the frames next to it need it (:func:`scene_geometry`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import bpy
import numpy as np

from ...core.errors import JobError
from ...core.flow.infinity import pixel_rays
from ..ray_cast import RayCaster, forget_ray_casters

HIDDEN, SEEN, UNDECIDED = 0, 1, 2
BACKGROUND, NO_PART = -1, -2
DEPTH_RTOL = 1e-4
"""How close the ray cast's depth must be to the rendered one for the two to be the same surface (Cycles' Z
is within 5e-6 relative of the BVH ray cast, measured on 4.5-5.3)."""
MARGIN = 1e-4
"""How much nearer than the point (relative to its distance) another surface must be to hide it."""
GEOMETRY_TYPES = {"MESH", "CURVE", "SURFACE", "META", "FONT"}
"""What the tree holds: surfaces (a volume writes no depth and hides no surface from Cycles' Z)."""
UNSUPPORTED_TYPES = {"CURVES": "hair curves", "POINTCLOUD": "point clouds"}
"""Rendered geometry the tree cannot hold yet: it would hide points the tree calls visible, so flow refuses it."""


@dataclass
class SceneGeometry:
    """One frame's evaluated scene: its world triangles to cast rays on, and per part (an object or an instance)
    its key, world matrix and object-space vertices."""

    frame: int
    caster: RayCaster | None
    starts: np.ndarray
    """The first triangle of each part (ascending)."""
    keys: list[tuple]
    matrices: list[np.ndarray]
    shapes: list[np.ndarray]
    corners: list[np.ndarray]
    """Per part: its triangles' vertex indices (T, 3), in tree order."""

    def part_of(self, triangle: int) -> int:
        return int(np.searchsorted(self.starts, triangle, side="right")) - 1

    def cast(self, starts: np.ndarray, directions: np.ndarray, lengths: np.ndarray | float
             ) -> tuple[np.ndarray, np.ndarray]:
        """``(triangle, distance)`` of each ray's first surface within its length (-1 and 0: none)."""
        lengths = np.broadcast_to(np.asarray(lengths, dtype=np.float64), (len(starts),))
        if self.caster is None:
            return np.full(len(starts), -1, dtype=np.int64), np.zeros(len(starts))
        return self.caster.cast(starts, directions, lengths)

    def blocked(self, starts: np.ndarray, directions: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Whether any surface lies within each ray's length."""
        return np.zeros(len(starts), dtype=bool) if self.caster is None else \
            self.caster.blocked(starts, directions, lengths)


_KEPT: dict[tuple[str, int], SceneGeometry] = {}


def forget_geometry() -> None:
    """Drop the kept geometry and its meshes (a job's flow starts or ends)."""
    _KEPT.clear()
    forget_ray_casters()


def scene_geometry(scene: bpy.types.Scene, frame: int) -> SceneGeometry:
    """The geometry of ``scene`` at ``frame`` (the scene is at it), kept for the frames next to it. A frame whose
    parts all sit where a kept frame's do (a static scene under a moving camera) shares that frame's tree."""
    key = (scene.name, frame)
    if key not in _KEPT:
        for old in [old for old in _KEPT if old[0] == scene.name and abs(old[1] - frame) > 2]:
            dropped = _KEPT.pop(old).caster
            if dropped is not None and all(kept.caster is not dropped for kept in _KEPT.values()):
                dropped.free()
        _KEPT[key] = _build(scene, frame, [kept for name, kept in _KEPT.items() if name[0] == scene.name])
    return _KEPT[key]


def _same_parts(first: SceneGeometry, keys: list[tuple], matrices: list[np.ndarray], shapes: list[np.ndarray]
                ) -> bool:
    return first.keys == keys and all(np.array_equal(a, b) for a, b in zip(first.matrices, matrices, strict=True)) \
        and all(np.array_equal(a, b) for a, b in zip(first.shapes, shapes, strict=True))


def rendered_depsgraph(scene: bpy.types.Scene) -> bpy.types.Depsgraph:
    """The evaluated depsgraph of the view layer ``scene`` renders (the job leaves one on), brought to the
    scene's frame. Not the context's: the built-in example renders two scenes from one file, and the context's
    depsgraph is the first one's (measured: 876 of the second scene's pixels undecided)."""
    layer = next((layer for layer in scene.view_layers if layer.use), scene.view_layers[0])
    depsgraph = layer.depsgraph
    depsgraph.update()
    return depsgraph


def _build(scene: bpy.types.Scene, frame: int, kept: list[SceneGeometry]) -> SceneGeometry:
    depsgraph = rendered_depsgraph(scene)
    local: dict[str, np.ndarray] = {}
    keys, matrices, shapes, objects = [], [], [], []
    for instance in depsgraph.object_instances:
        obj = instance.object
        if obj.type in UNSUPPORTED_TYPES and obj.original.visible_camera:
            raise JobError(f"--outputs flow: {obj.original.name!r} is one of the scene's "
                           f"{UNSUPPORTED_TYPES[obj.type]}, which flow's visibility cannot see yet (they would hide "
                           "points it calls visible); "
                           "turn its camera visibility off for this render or leave flow out")
        if obj.type not in GEOMETRY_TYPES or not obj.original.visible_camera:
            continue
        if obj.name not in local:
            local[obj.name] = _local_vertices(obj)
        if not len(local[obj.name]):
            continue
        parent = instance.parent.original.name if instance.is_instance and instance.parent else ""
        keys.append((obj.original.name, parent, tuple(instance.persistent_id) if instance.is_instance else ()))
        matrices.append(np.array(instance.matrix_world, dtype=np.float64))
        shapes.append(local[obj.name])
        objects.append(obj.name)
    for other in kept:
        if _same_parts(other, keys, matrices, shapes):
            return SceneGeometry(frame, other.caster, other.starts, keys, matrices, shapes, other.corners)
    triangles_of: dict[str, np.ndarray] = {}
    for instance in depsgraph.object_instances:  # instanced objects are not in depsgraph.objects
        if instance.object.name in local and instance.object.name not in triangles_of:
            triangles_of[instance.object.name] = _local_triangles(instance.object)
    corners_of = [triangles_of[name] for name in objects]
    starts = np.cumsum([0] + [len(corners) for corners in corners_of[:-1]]).astype(np.int64) if keys else \
        np.zeros(0, dtype=np.int64)
    caster = None
    if keys:
        offsets = np.cumsum([0] + [len(shape) for shape in shapes[:-1]])
        vertices = np.concatenate([shape @ matrix[:3, :3].T + matrix[:3, 3]
                                   for shape, matrix in zip(shapes, matrices, strict=True)])
        triangles = np.concatenate([corners + offset for corners, offset in zip(corners_of, offsets, strict=True)])
        caster = RayCaster(vertices, triangles)
    return SceneGeometry(frame, caster, starts, keys, matrices, shapes, corners_of)


@contextmanager
def _evaluated_mesh(obj: bpy.types.Object) -> Iterator[bpy.types.Mesh]:
    """An evaluated object's mesh: a mesh's evaluated data read in place, other types through ``to_mesh``."""
    if obj.type == "MESH":
        yield obj.data
        return
    try:
        yield obj.to_mesh()
    finally:
        obj.to_mesh_clear()


def _local_vertices(obj: bpy.types.Object) -> np.ndarray:
    """An evaluated object's vertices (object space, float64)."""
    with _evaluated_mesh(obj) as mesh:
        coordinates = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
        mesh.vertices.foreach_get("co", coordinates)
    return coordinates.reshape(-1, 3).astype(np.float64)


def _local_triangles(obj: bpy.types.Object) -> np.ndarray:
    """Its triangles (read only when a frame needs a tree of its own: triangulating cost 6 ms an object)."""
    with _evaluated_mesh(obj) as mesh:
        corners = np.empty(len(mesh.loop_triangles) * 3, dtype=np.int64)
        mesh.loop_triangles.foreach_get("vertices", corners)
    return corners.reshape(-1, 3)


@dataclass
class Hits:
    """Per pixel of one frame: the surface point and its part (or the ray's direction where it escaped)."""

    points: np.ndarray
    """(H, W, 3) world points (escaped rays: their unit direction)."""
    parts: np.ndarray
    """(H, W) the part of :attr:`geometry` hit; :data:`BACKGROUND` or :data:`NO_PART` (undecided)."""
    geometry: SceneGeometry
    triangles: np.ndarray
    """(H, W) the tree's triangle hit (-1 where none)."""

    @property
    def background(self) -> np.ndarray:
        return self.parts == BACKGROUND


def evaluate_as_rendered(scene: bpy.types.Scene) -> int:
    """Make the scene's evaluation (what ``ray_cast`` sees) the render's: objects and collections shown where
    they render, modifiers at their render settings (subdivision levels, render-only modifiers), particles at
    their render amount. The job works on an in-memory copy of the file. Returns how many settings changed.

    ``scene.ray_cast`` sees the viewport evaluation; a subdivision's viewport level (1) against its render level
    (2) moved the test scene's surface by up to 2.7 px of flow, and an object hidden only in the viewport would
    not hide what it covers.
    """
    changed = 0

    def match(owner: object, viewport: str, render: str) -> None:
        nonlocal changed
        if getattr(owner, viewport) != getattr(owner, render):
            setattr(owner, viewport, getattr(owner, render))
            changed += 1

    for collection in bpy.data.collections:
        match(collection, "hide_viewport", "hide_render")
    for layer in scene.view_layers:
        stack = list(layer.layer_collection.children)
        while stack:
            layer_collection = stack.pop()
            stack += list(layer_collection.children)
            if layer_collection.hide_viewport and not layer_collection.collection.hide_render:
                layer_collection.hide_viewport = False
                changed += 1
    for obj in scene.objects:
        match(obj, "hide_viewport", "hide_render")
        if obj.hide_get() and not obj.hide_render:
            obj.hide_set(False)
            changed += 1
        for modifier in obj.modifiers:
            match(modifier, "show_viewport", "show_render")
            if modifier.type in ("SUBSURF", "MULTIRES"):
                match(modifier, "levels", "render_levels")
        for system in obj.particle_systems:
            if system.settings.display_percentage != 100:
                system.settings.display_percentage = 100
                changed += 1
    return changed


def first_hits(scene: bpy.types.Scene, frame: int, meta: dict, depth: np.ndarray) -> Hits:
    """Cast the rays of ``meta``'s pixel centres (the scene is at ``frame``); a hit whose depth is not the
    rendered ``depth`` (0: no surface) is undecided, and so is a rendered surface the ray cast misses."""
    geometry = scene_geometry(scene, frame)
    starts, directions = pixel_rays(meta)
    to_world = np.asarray(meta["camera_to_world_opencv"], dtype=np.float64)
    axis, origin = to_world[:3, 2], to_world[:3, 3]
    height, width = depth.shape
    reach = float(meta["clip_end"]) * 1.01
    # a panorama's pixels outside its image circle have no ray (a zero direction): nothing is cast there
    has_ray = np.any(directions != 0, axis=-1)
    triangles = np.full((height, width), -1, dtype=np.int64)
    lengths = np.zeros((height, width), dtype=np.float64)
    triangles[has_ray], lengths[has_ray] = geometry.cast(starts[has_ray], directions[has_ray], reach)
    rendered = np.asarray(depth, dtype=np.float64)
    missed = triangles < 0
    # a panorama's rays that look backwards have a negative planar depth
    parts = np.where(missed, np.where(rendered != 0, NO_PART, BACKGROUND),
                     np.searchsorted(geometry.starts, triangles, side="right") - 1)
    points = np.where(missed[..., None], directions, starts + directions * lengths[..., None])
    hits = Hits(points, parts, geometry, triangles)
    surfaces = hits.parts >= 0
    cast_depth = (hits.points - origin) @ axis
    differs = surfaces & (np.abs(cast_depth - rendered) > DEPTH_RTOL * np.maximum(np.abs(rendered), 1e-9))
    hits.parts[differs] = NO_PART
    return hits


def tracked_points(hits: Hits, later: SceneGeometry) -> tuple[np.ndarray, np.ndarray]:
    """``(points, tracked)``: each hit point at the frame of ``later``, where it can be known exactly. A part that
    keeps its shape moves with its world matrix; one whose vertices move but whose triangles stay (shape keys,
    armatures) carries the point on the same triangle at the same barycentric coordinates, as the truth does
    (tests/flow_truth.py). Parts the other frame lacks, or whose triangles change (remeshing), are not tracked."""
    index_later = {key: index for index, key in enumerate(later.keys)}
    geometry = hits.geometry
    moved = np.zeros_like(hits.points)
    tracked = np.zeros(hits.parts.shape, dtype=bool)
    for part, key in enumerate(geometry.keys):
        other = index_later.get(key)
        mask = hits.parts == part
        if other is None or not mask.any():
            continue
        before, after = geometry.shapes[part], later.shapes[other]
        if np.array_equal(after, before):
            if np.array_equal(later.matrices[other], geometry.matrices[part]):
                moved[mask] = hits.points[mask]  # it stays: exactly where it was
            else:
                move = later.matrices[other] @ np.linalg.inv(geometry.matrices[part])
                moved[mask] = hits.points[mask] @ move[:3, :3].T + move[:3, 3]
            tracked[mask] = True
            continue
        if before.shape != after.shape or not np.array_equal(geometry.corners[part], later.corners[other]):
            continue
        inverse = np.linalg.inv(geometry.matrices[part])
        local = hits.points[mask] @ inverse[:3, :3].T + inverse[:3, 3]
        corners = geometry.corners[part][hits.triangles[mask] - geometry.starts[part]]  # (n, 3) vertex indices
        weights = _barycentric(local, before[corners])
        carried = np.einsum("nk,nkd->nd", weights, after[corners])
        matrix = later.matrices[other]
        moved[mask] = carried @ matrix[:3, :3].T + matrix[:3, 3]
        tracked[mask] = True
    return moved, tracked


def _barycentric(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(n, 3) barycentric coordinates of ``points`` (n, 3) on ``triangles`` (n, 3 corners, 3): least squares in
    the triangle's plane (the hit lies on it up to float rounding)."""
    first, second = triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0]
    offset = points - triangles[:, 0]
    gram = np.stack([np.stack([(first * first).sum(-1), (first * second).sum(-1)], -1),
                     np.stack([(first * second).sum(-1), (second * second).sum(-1)], -1)], -2)
    right = np.stack([(offset * first).sum(-1), (offset * second).sum(-1)], -1)
    v, w = np.linalg.solve(gram, right[..., None])[..., 0].T
    return np.stack([1.0 - v - w, v, w], axis=-1)


def seen_from(scene: bpy.types.Scene, frame: int, hits: Hits, meta: dict) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel: :data:`SEEN`, :data:`HIDDEN` or :data:`UNDECIDED` from the camera of ``meta`` (the scene is
    at ``frame``, that sidecar's), and the hit points tracked to that frame (:func:`tracked_points`). Escaped rays
    are seen where no surface lies in their direction."""
    later = scene_geometry(scene, frame)
    to_world = np.asarray(meta["camera_to_world_opencv"], dtype=np.float64)
    axis, origin = to_world[:3, 2], to_world[:3, 3]
    orthographic = meta.get("projection") == "ORTHO"
    clip_start, clip_end = float(meta["clip_start"]), float(meta["clip_end"])
    moved, tracked = tracked_points(hits, later)
    state = np.where(tracked, SEEN, UNDECIDED)  # seen until a ray cast says otherwise
    # Cycles clips a panorama's rays by their length, the others by planar depth
    depth = np.linalg.norm(moved - origin, axis=-1) if meta.get("projection") == "PANO" else (moved - origin) @ axis
    state[(state == SEEN) & ~((depth >= clip_start) & (depth <= clip_end))] = HIDDEN
    tracked = state == SEEN
    starts = moved - axis * depth[..., None] if orthographic else np.broadcast_to(origin, moved.shape)
    offsets = moved - starts
    lengths = np.linalg.norm(offsets, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        directions = offsets / lengths[..., None]
    reach = lengths[tracked] * (1 - MARGIN)
    if orthographic:
        state[hits.background] = HIDDEN  # a direction has no orthographic image
        sky = np.zeros(hits.background.shape, dtype=bool)
    else:  # a panorama's pixels outside its image circle have no direction to look along
        sky = hits.background & np.any(hits.points != 0, axis=-1)
    # one cast: the tracked points (hidden by any surface before them), then the sky (seen where none lies ahead)
    blocked = later.blocked(np.concatenate([starts[tracked], np.broadcast_to(origin, (int(sky.sum()), 3))]),
                            np.concatenate([directions[tracked], hits.points[sky]]),
                            np.concatenate([reach, np.full(int(sky.sum()), clip_end)]))
    count = int(tracked.sum())
    state[tracked] = np.where(blocked[:count], HIDDEN, SEEN)
    state[sky] = np.where(blocked[count:], HIDDEN, SEEN)
    return state, moved
