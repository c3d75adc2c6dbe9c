"""The "True Flow" compositor node: the group described by :mod:`depth_node.core.graph.true_flow`, bound to a scene.

What the group needs of the cameras of f-1 and f+1 (:mod:`depth_node.core.flow.camera_pair`) cannot come from a
driver, which reads the current frame only: the binding keys it, CONSTANT, on every frame of the scene's range
(and 0, invalid, outside it), so a saved .blend renders right without this extension. ``Input Exact`` stays a
driver of the render settings. The extension re-keys a node when the cameras' animation, the markers, the frame
range or the resolution change (:func:`refresh_flow_bindings`, on every depsgraph update and before saving); a
render job binds its own copy before it renders.
"""

from __future__ import annotations

import bpy

from ...core.camera import UnsupportedCameraError, camera_from_scene
from ...core.flow import BACKWARD, DIRECTIONS, FORWARD, STEP
from ...core.flow.camera_pair import CameraPair, across_cut, camera_pair
from ...core.graph import true_flow
from ...core.outputs import sidecar
from .. import calibrated, compat, keyed_nodes
from ..binding import Segments, camera_at_frame, camera_segments, drive_input
from ..group import group_spec, true_flow_nodes

FLOW_BINDING_PROPERTY = "true_flow_binding"
"""Stored on each bound True Flow node: what its keys were made from (see :func:`flow_signature`)."""
SCENE_PROPERTY = "true_flow_scene"
"""Stored on each bound True Flow node: the name of the scene it is bound to."""
_PAIRED_TYPES = ("PERSP", "ORTHO")


def _frame_sidecar(scene: bpy.types.Scene, camera_object: bpy.types.Object) -> dict:
    """The camera sidecar of the scene's current frame as seen by ``camera_object``."""
    camera = camera_from_scene(scene, camera_object)
    return sidecar.camera_metadata(camera, camera_object.matrix_world.normalized(), camera_object.data.clip_start,
                                   camera_object.data.clip_end, scene.unit_settings.scale_length)


def frame_pairs(scene: bpy.types.Scene, segments: Segments) -> dict[int, dict[str, CameraPair]]:
    """Per frame of the scene's range, each direction's :class:`CameraPair` (the scene is left at its frame)."""
    first, last = scene.frame_start, scene.frame_end
    current = scene.frame_current
    cameras, sidecars = {}, {}
    try:
        for frame in range(first - 1, last + 2):
            scene.frame_set(frame)
            camera_object = cameras[frame] = camera_at_frame(scene, frame, segments)
            paired = camera_object is not None and camera_object.data.type in _PAIRED_TYPES and (
                calibrated.calibration_of(camera_object.data) is None)
            sidecars[frame] = _frame_sidecar(scene, camera_object) if paired else None
    finally:
        scene.frame_set(current)
    pairs = {}
    for frame in range(first, last + 1):
        pairs[frame] = {}
        for direction in DIRECTIONS:
            other = frame + STEP[direction]
            usable = (cameras[other] == cameras[frame] and sidecars[frame] is not None and sidecars[other] is not None
                      and (direction == BACKWARD or compat.COMPOSITOR_KEEPS_VECTOR_W))
            pairs[frame][direction] = camera_pair(sidecars[frame], sidecars[other]) if usable else across_cut()
    return pairs


def flow_signature(scene: bpy.types.Scene, segments: Segments) -> str:
    """A hash of what a True Flow node's keys depend on (:func:`~depth_node.blender.keyed_nodes.cameras_signature`)."""
    return keyed_nodes.cameras_signature(scene, segments)


def bind_flow(node: bpy.types.Node, scene: bpy.types.Scene, segments: Segments | None = None) -> None:
    """Key the True Flow node's camera inputs for every frame of ``scene``'s range and drive ``Input Exact``."""
    if segments is None:
        segments = camera_segments(scene)
    spec = group_spec(true_flow.FLOW_MODE)
    pairs = frame_pairs(scene, segments)
    # one frame either side of the range: CONSTANT extrapolation then gives 0 and invalid outside it
    frames = [scene.frame_start - 1, *pairs, scene.frame_end + 1]
    outside = {direction: across_cut() for direction in DIRECTIONS}
    columns: dict[str, list[float]] = {}
    for frame in frames:
        per_direction = pairs.get(frame, outside)
        for direction in DIRECTIONS:
            for name, value in zip(true_flow.keyed_inputs(direction), true_flow.keyed_values(per_direction[direction]),
                                   strict=True):
                columns.setdefault(name, []).append(value)
    width, height = _image_size(scene)
    for name in true_flow.SIZE_INPUTS:
        columns[name] = [float(width if name == "Width" else height)] * len(frames)
    keyed_nodes.key_inputs(node, frames, columns)
    for socket_spec in spec.camera_inputs:
        socket = node.inputs[socket_spec.name]
        socket.driver_remove("default_value")
        drive_input(socket, socket_spec, scene)
    keyed_nodes.stamp(node, scene, segments, FLOW_BINDING_PROPERTY, SCENE_PROPERTY)


def _image_size(scene: bpy.types.Scene) -> tuple[int, int]:
    camera = camera_from_scene(scene, scene.camera) if scene.camera is not None else None
    if camera is None:
        raise UnsupportedCameraError(f"scene {scene.name!r} has no active camera")
    return camera.width, camera.height


def add_true_flow_node(scene: bpy.types.Scene, location: tuple[float, float] = (0.0, 0.0),
                       tree: bpy.types.NodeTree | None = None) -> bpy.types.Node:
    """Add a True Flow node to ``scene``'s compositor (or ``tree``), bound to the scene's cameras.

    Raises :class:`~depth_node.core.camera.UnsupportedCameraError` when the scene has no camera.
    """
    _image_size(scene)  # fail early, before anything is added
    node = keyed_nodes.new_group_node(scene, true_flow.FLOW_MODE, location, tree, 220)
    bind_flow(node, scene)
    return node


def bound_scene(node: bpy.types.Node) -> bpy.types.Scene | None:
    """The scene a True Flow node was bound to (None when unbound or the scene is gone)."""
    return keyed_nodes.bound_scene(node, SCENE_PROPERTY)


_VECTOR_PASS_REASONS = keyed_nodes.PassReasons(
    engine="the Vector pass is exact in Cycles only (EEVEE's is half precision: measured up to 0.013 px)",
    motion_blur="motion blur is on: the Vector pass is 0 (measured); flow is 0 and not in view",
    averaged=("the Vector pass is averaged over the samples and the pixel filter (measured: up to 4.7 px wrong at "
              "silhouettes): render 1 sample with a 0.01 px filter; flow is 0 and not in view"),
    multiview="Stereo 3D and Multi-View: the node knows one camera; the render job writes each view's flow")


def _camera_problem(camera: bpy.types.Object) -> str | None:
    """Why the node cannot pair ``camera`` with its neighbour frames (None when it can)."""
    if calibrated.calibration_of(camera.data) is not None or camera.data.type not in _PAIRED_TYPES:
        return (f"camera {camera.name!r}: the node knows perspective and orthographic cameras; the render job "
                "refuses the others too")
    return compat.vector_pass_refusal(camera.data.type)


def flow_problem(node: bpy.types.Node, forward: bool = True) -> str | None:
    """Why the True Flow node cannot give exact flow right now (None when it can); ``forward=False``: the backward
    flow alone."""
    scene, segments, problem = keyed_nodes.binding_problem(node, SCENE_PROPERTY, FLOW_BINDING_PROPERTY)
    if problem is not None:
        return problem
    problem = keyed_nodes.data_pass_problem(scene, segments, _VECTOR_PASS_REASONS, _camera_problem)
    if problem is not None:
        return problem
    if forward and not compat.COMPOSITOR_KEEPS_VECTOR_W:
        return (f"Blender {bpy.app.version_string}'s compositor drops the Vector pass's 4th component (measured: it "
                "arrives as 1): Forward is 0 and not in view; Backward is exact")
    return None


def refresh_flow_bindings() -> int:
    """Re-key every True Flow node whose cameras, markers, range or resolution changed; returns how many."""
    return keyed_nodes.refresh(true_flow_nodes, FLOW_BINDING_PROPERTY, SCENE_PROPERTY, bind_flow)


__all__ = ["FLOW_BINDING_PROPERTY", "FORWARD", "add_true_flow_node", "bind_flow", "bound_scene", "flow_problem",
           "flow_signature", "frame_pairs", "refresh_flow_bindings"]
