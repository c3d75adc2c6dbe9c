"""Which surface point each pixel sees, and whether another frame's camera sees the same point: ray casts
on the evaluated scene (modifiers, shape keys, armatures, instances).

Exact for static geometry and rigid motion: the point moves with its object's matrix, and a ray cast from
the other frame's camera must reach it before any other surface. A mesh whose evaluated vertices change
between the frames (shape keys, armatures, simulations) cannot be decided this way, nor can an instance (its
matrix at another frame is not known from the hit) or a pixel where the render saw another surface than the
ray cast (transparency, holdouts): those pixels are :data:`UNDECIDED` and written invalid.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import bpy
import numpy as np
from mathutils import Matrix, Vector

from ...core.flow.infinity import pixel_rays

HIDDEN, SEEN, UNDECIDED = 0, 1, 2
DEPTH_RTOL = 1e-4
"""How close the ray cast's depth must be to the rendered one for the two to be the same surface (Cycles' Z
is within 5e-6 relative of the BVH ray cast, measured on 4.5-5.3)."""
MARGIN = 1e-4
"""How much nearer than the point (relative to its distance) another surface must be to hide it."""


@dataclass
class Hits:
    """Per pixel of one frame: the surface point and its object (or the ray's direction where it escaped)."""

    points: np.ndarray
    """(H, W, 3) world points (escaped rays: their unit direction)."""
    objects: np.ndarray
    """(H, W) index into :attr:`names`; -1 for escaped rays, -2 for undecided pixels."""
    names: list[str]
    matrices: list[Matrix]
    shapes: list[np.ndarray | None] = field(default_factory=list)
    """Each object's evaluated vertex coordinates (object space): None for an instance."""

    @property
    def background(self) -> np.ndarray:
        return self.objects == -1


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


def _evaluated_vertices(obj: bpy.types.Object, depsgraph: bpy.types.Depsgraph) -> np.ndarray:
    evaluated = obj.evaluated_get(depsgraph)
    mesh = evaluated.to_mesh()
    try:
        coordinates = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
        mesh.vertices.foreach_get("co", coordinates)
    finally:
        evaluated.to_mesh_clear()
    return coordinates


def first_hits(scene: bpy.types.Scene, meta: dict, depth: np.ndarray) -> Hits:
    """Cast the rays of ``meta``'s pixel centres (the scene is at its frame); a hit whose depth is not the
    rendered ``depth`` (0: no surface) is undecided, and so is a rendered surface the ray cast misses."""
    depsgraph = bpy.context.evaluated_depsgraph_get()
    starts, directions = pixel_rays(meta)
    axis = np.asarray(meta["camera_to_world_opencv"], dtype=np.float64)[:3, 2]
    origin = np.asarray(meta["camera_to_world_opencv"], dtype=np.float64)[:3, 3]
    height, width = depth.shape
    hits = Hits(np.zeros((height, width, 3)), np.full((height, width), -2), [], [])
    index_of: dict[tuple[str, bytes], int] = {}
    clip_end = float(meta["clip_end"])
    for row in range(height):
        for column in range(width):
            start, direction = Vector(starts[row, column]), Vector(directions[row, column])
            hit, location, _normal, _index, obj, matrix = scene.ray_cast(depsgraph, start, direction,
                                                                         distance=clip_end * 1.01)
            rendered = float(depth[row, column])
            if not hit:
                if not rendered > 0:
                    hits.objects[row, column] = -1
                    hits.points[row, column] = directions[row, column]
                continue
            point = np.asarray(location)
            if abs((point - origin) @ axis - rendered) > DEPTH_RTOL * max(rendered, 1e-9):
                continue
            original = obj.original
            key = (original.name, np.asarray(matrix, dtype=np.float64).tobytes())
            if key not in index_of:
                index_of[key] = len(hits.names)
                hits.names.append(original.name)
                hits.matrices.append(matrix.copy())
                instance = not np.allclose(np.asarray(matrix), np.asarray(obj.matrix_world), rtol=0, atol=1e-9)
                hits.shapes.append(None if instance else _evaluated_vertices(original, depsgraph))
            hits.objects[row, column] = index_of[key]
            hits.points[row, column] = point
    return hits


def seen_from(scene: bpy.types.Scene, hits: Hits, meta: dict) -> np.ndarray:
    """Per pixel: :data:`SEEN`, :data:`HIDDEN` or :data:`UNDECIDED` from the camera of ``meta`` (the scene is
    at that sidecar's frame). Escaped rays are seen where no surface lies in their direction."""
    depsgraph = bpy.context.evaluated_depsgraph_get()
    to_world = np.asarray(meta["camera_to_world_opencv"], dtype=np.float64)
    axis, origin = to_world[:3, 2], to_world[:3, 3]
    orthographic = meta.get("projection") == "ORTHO"
    clip_start, clip_end = float(meta["clip_start"]), float(meta["clip_end"])
    moves = []
    for name, matrix, shape in zip(hits.names, hits.matrices, hits.shapes, strict=True):
        obj = bpy.data.objects.get(name)
        rigid = (shape is not None and obj is not None
                 and np.array_equal(_evaluated_vertices(obj, depsgraph), shape))
        moves.append(np.asarray(obj.evaluated_get(depsgraph).matrix_world @ matrix.inverted()) if rigid else None)
    state = np.full(hits.objects.shape, UNDECIDED)
    for (row, column), index in np.ndenumerate(hits.objects):
        if index == -2:
            continue
        if index == -1:
            if orthographic:
                state[row, column] = HIDDEN
                continue
            direction = Vector(hits.points[row, column])
            hit = scene.ray_cast(depsgraph, Vector(origin), direction, distance=clip_end)[0]
            state[row, column] = HIDDEN if hit else SEEN
            continue
        move = moves[index]
        if move is None:
            continue
        point = move[:3, :3] @ hits.points[row, column] + move[:3, 3]
        depth = (point - origin) @ axis
        if not clip_start <= depth <= clip_end:
            state[row, column] = HIDDEN
            continue
        start = point - axis * depth if orthographic else origin
        offset = point - start
        length = float(np.linalg.norm(offset))
        hit = scene.ray_cast(depsgraph, Vector(start), Vector(offset / length), distance=length * (1 - MARGIN))[0]
        state[row, column] = HIDDEN if hit else SEEN
    return state
