"""What the per-frame keyed nodes (True Flow, True Normal) share: the hash of what their keys were made from,
the scene they are bound to, and re-keying them when it changes.

A driver reads the current frame's data only; what such a node needs (another frame's camera, a camera's world
rotation through markers and parents) is keyed instead, CONSTANT, on every frame of the scene's range, so a saved
.blend renders right without this extension. The extension re-keys a node when its cameras' animation, the
markers, the frame range or the resolution change (:func:`refresh`, on every depsgraph update and before saving);
a render job binds its own copy before it renders.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import bpy

from ..core.camera import UnsupportedCameraError
from . import animation, compat
from .binding import Segments, camera_at_frame, camera_segments
from .group import ensure_group

_TRANSFORMS = ("location", "rotation_mode", "rotation_euler", "rotation_quaternion", "rotation_axis_angle", "scale",
               "delta_location", "delta_rotation_euler", "delta_rotation_quaternion", "delta_scale")
_CAMERA_SETTINGS = ("type", "lens", "ortho_scale", "sensor_width", "sensor_height", "sensor_fit", "shift_x", "shift_y",
                    "clip_start", "clip_end")


def _settings(id_data: bpy.types.ID, names: tuple[str, ...]) -> tuple:
    """Keyframes of ``id_data``, and its values of ``names`` that are not keyframed (the keyed ones change with
    the frame; their keys stand for them)."""
    curves = animation.fcurves(id_data)
    keyed = [(curve.data_path, curve.array_index, tuple(tuple(point.co) for point in curve.keyframe_points))
             for curve in curves or ()]
    animated = {path for path, _, _ in keyed}
    values = []
    for name in names:
        if name not in animated:
            value = getattr(id_data, name)
            values.append((name, value if isinstance(value, str | float | int) else tuple(value)))
    return tuple(keyed), tuple(values)


def cameras_signature(scene: bpy.types.Scene, segments: Segments) -> str:
    """A hash of what a keyed node's keys depend on: frame range, resolution, markers, and each camera's (and
    its parents') transform, settings, constraints and keyframes. (What a driver or a constraint's target does to
    a camera is not in it: a render job re-binds before it renders.)"""
    render = scene.render
    parts: list[object] = [scene.frame_start, scene.frame_end, render.resolution_x, render.resolution_y,
                           render.resolution_percentage, render.pixel_aspect_x, render.pixel_aspect_y,
                           render.use_border, render.use_crop_to_border,
                           (render.border_min_x, render.border_max_x, render.border_min_y, render.border_max_y),
                           [(frame, camera.name) for frame, camera in segments], compat.BLENDER_VERSION]
    cameras = list(dict.fromkeys([camera for _, camera in segments] + [scene.camera]))
    for camera in cameras:
        owner = camera
        while owner is not None:
            parts += [owner.name, _settings(owner, _TRANSFORMS),
                      [(constraint.type, getattr(getattr(constraint, "target", None), "name", None))
                       for constraint in owner.constraints]]
            owner = owner.parent
        if camera is not None:
            parts.append(_settings(camera.data, _CAMERA_SETTINGS))
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def new_group_node(scene: bpy.types.Scene, mode: str, location: tuple[float, float], tree: bpy.types.NodeTree | None,
                   width: float) -> bpy.types.Node:
    """A node of ``mode``'s group (built or upgraded as needed) in ``tree`` (default: ``scene``'s compositor),
    named and labelled after the group; unbound."""
    if tree is None:
        tree = compat.compositor_tree(scene)
    group = ensure_group(mode)
    node = tree.nodes.new(compat.GROUP_NODE_IDNAME)
    node.node_tree = group
    node.name = node.label = group.name
    node.location = location
    node.width = width
    return node


def key_inputs(node: bpy.types.Node, frames: Sequence[int], columns: dict[str, list[float]]) -> None:
    """CONSTANT keys on ``frames`` for each input of ``node`` named in ``columns`` (one value per frame); a driver
    on it goes."""
    for name, values in columns.items():
        socket = node.inputs[name]
        socket.driver_remove("default_value")
        animation.set_constant_keys(node.id_data, socket.path_from_id("default_value"), frames, values)


def bound_scene(node: bpy.types.Node, scene_property: str) -> bpy.types.Scene | None:
    """The scene a keyed node was bound to (None when unbound or the scene is gone)."""
    return bpy.data.scenes.get(node.get(scene_property, ""))


def stamp(node: bpy.types.Node, scene: bpy.types.Scene, segments: Segments, binding_property: str,
          scene_property: str) -> None:
    """Record on ``node`` what its keys were made from."""
    node[binding_property] = cameras_signature(scene, segments)
    node[scene_property] = scene.name


def is_stale(node: bpy.types.Node, scene: bpy.types.Scene, segments: Segments, binding_property: str) -> bool:
    """Whether ``node``'s keys were made from other cameras, markers, range or resolution than the scene's now."""
    return node.get(binding_property) != cameras_signature(scene, segments)


def binding_problem(node: bpy.types.Node, scene_property: str, binding_property: str
                    ) -> tuple[bpy.types.Scene | None, Segments, str | None]:
    """``(bound scene, its camera segments, why the keys cannot be trusted or None)``."""
    scene = bound_scene(node, scene_property)
    if scene is None:
        return None, [], "not bound to a scene"
    segments = camera_segments(scene)
    if is_stale(node, scene, segments, binding_property):
        return scene, segments, "the cameras, markers, frame range or resolution changed since the node was bound"
    return scene, segments, None


@dataclass(frozen=True)
class PassReasons:
    """What a node says when its data pass cannot be exact (each measured for that pass)."""

    engine: str
    motion_blur: str
    averaged: str
    multiview: str


def data_pass_problem(scene: bpy.types.Scene, segments: Segments, reasons: PassReasons,
                      camera_problem: Callable[[bpy.types.Object], str | None] = lambda camera: None) -> str | None:
    """Why a 1-sample data pass (Vector, Normal) is not exact at the pixel centres of ``scene``'s range (the rule of
    ``Input Exact``'s driver, and Cycles, one view, a camera on every frame, no depth of field), or what
    ``camera_problem`` says of one of the range's cameras; None when it is exact."""
    cycles = scene.cycles
    if scene.render.engine != "CYCLES":
        return reasons.engine
    if scene.render.use_motion_blur:
        return reasons.motion_blur
    if cycles.samples > 1 or cycles.filter_width > 0.01:
        return reasons.averaged
    if scene.render.use_multiview:
        return reasons.multiview
    for camera in {camera_at_frame(scene, frame, segments) for frame in range(scene.frame_start, scene.frame_end + 1)}:
        if camera is None:
            return "a frame has no camera"
        problem = camera_problem(camera)
        if problem is not None:
            return problem
        if camera.data.dof.use_dof:
            return f"camera {camera.name!r} has depth of field on: the pass samples the aperture, not the pixel's ray"
    return None


_refreshing: list[bool] = []
"""Not empty while :func:`refresh` runs (binding sets frames, which calls the handlers again)."""


def refresh(nodes: Callable[[bpy.types.NodeTree], Iterator[bpy.types.Node]], binding_property: str,
            scene_property: str, bind: Callable[[bpy.types.Node, bpy.types.Scene, Segments], None]) -> int:
    """Re-key (with ``bind``) every node of ``nodes`` whose keys are stale; returns how many."""
    if _refreshing:
        return 0
    _refreshing.append(True)
    try:
        rebound = 0
        for _scene, tree in compat.compositor_trees():
            for node in nodes(tree):
                scene = bound_scene(node, scene_property)
                if scene is None:
                    continue  # reported by the node's problem
                segments = camera_segments(scene)
                if not is_stale(node, scene, segments, binding_property):
                    continue
                try:
                    bind(node, scene, segments)
                except UnsupportedCameraError:
                    continue  # reported by the node's problem
                rebound += 1
        return rebound
    finally:
        _refreshing.clear()
