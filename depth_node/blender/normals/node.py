"""The "True Normal" compositor node: the group described by :mod:`depth_node.core.graph.true_normal`, bound to a
scene.

Its nine rotation inputs are the world-to-camera rotation of each frame's camera (markers, parents and constraints
as the frame renders them), which no simple-expression driver can compose: the binding keys them, CONSTANT, on
every frame of the scene's range (:mod:`depth_node.blender.keyed_nodes`); ``Input Exact`` stays a driver of the
render settings. Every camera type turns a normal the same way, so the node takes them all.
"""

from __future__ import annotations

import bpy
import numpy as np

from ...core.camera import UnsupportedCameraError
from ...core.graph import true_normal
from ...core.outputs import sidecar
from .. import keyed_nodes
from ..binding import Segments, camera_at_frame, camera_segments, drive_input
from ..group import group_spec, true_normal_nodes

NORMAL_BINDING_PROPERTY = "true_normal_binding"
"""Stored on each bound True Normal node: what its keys were made from."""
SCENE_PROPERTY = "true_normal_scene"
"""Stored on each bound True Normal node: the name of the scene it is bound to."""


def frame_rotations(scene: bpy.types.Scene, segments: Segments) -> dict[int, tuple[float, ...]]:
    """Per frame of the scene's range, the values of the rotation inputs (the scene is left at its frame)."""
    current = scene.frame_current
    rotations = {}
    try:
        for frame in range(scene.frame_start, scene.frame_end + 1):
            scene.frame_set(frame)
            camera_object = camera_at_frame(scene, frame, segments)
            if camera_object is None:
                raise UnsupportedCameraError(f"scene {scene.name!r} has no camera at frame {frame}")
            pose = np.asarray(camera_object.matrix_world.normalized()) @ sidecar.BLENDER_TO_OPENCV_CAMERA
            rotations[frame] = true_normal.keyed_values(pose)
    finally:
        scene.frame_set(current)
    return rotations


def bind_normal(node: bpy.types.Node, scene: bpy.types.Scene, segments: Segments | None = None,
                rotations: dict[int, tuple[float, ...]] | None = None) -> None:
    """Key the True Normal node's rotation for every frame of ``scene``'s range (``rotations``: already made by
    :func:`frame_rotations`) and drive ``Input Exact``."""
    if segments is None:
        segments = camera_segments(scene)
    if rotations is None:
        rotations = frame_rotations(scene, segments)
    frames = list(rotations)
    keyed_nodes.key_inputs(node, frames, {name: [rotations[frame][index] for frame in frames]
                                          for index, name in enumerate(true_normal.ROTATION_INPUTS)})
    for socket_spec in group_spec(true_normal.NORMAL_MODE).camera_inputs:
        socket = node.inputs[socket_spec.name]
        socket.driver_remove("default_value")
        drive_input(socket, socket_spec, scene)
    keyed_nodes.stamp(node, scene, segments, NORMAL_BINDING_PROPERTY, SCENE_PROPERTY)


def add_true_normal_node(scene: bpy.types.Scene, location: tuple[float, float] = (0.0, 0.0),
                         tree: bpy.types.NodeTree | None = None) -> bpy.types.Node:
    """Add a True Normal node to ``scene``'s compositor (or ``tree``), bound to the scene's cameras.

    Raises :class:`~depth_node.core.camera.UnsupportedCameraError` when a frame has no camera.
    """
    segments = camera_segments(scene)
    rotations = frame_rotations(scene, segments)  # fails before anything is added
    node = keyed_nodes.new_group_node(scene, true_normal.NORMAL_MODE, location, tree, 200)
    bind_normal(node, scene, segments, rotations)
    return node


_NORMAL_PASS_REASONS = keyed_nodes.PassReasons(
    engine="the Normal pass is measured exact in Cycles only",
    motion_blur="motion blur is on: the Normal pass averages the surface over the shutter; the node gives 0",
    averaged=("the Normal pass is the filter-weighted average of the samples' normals (measured: length 0.43 at "
              "edges): render 1 sample with a 0.01 px filter; the node gives 0"),
    multiview="Stereo 3D and Multi-View: the node knows one camera; the render job writes each view's normals")


def normal_problem(node: bpy.types.Node) -> str | None:
    """Why the True Normal node cannot give the exact normal right now (None when it can)."""
    scene, segments, problem = keyed_nodes.binding_problem(node, SCENE_PROPERTY, NORMAL_BINDING_PROPERTY)
    if problem is not None:
        return problem
    return keyed_nodes.data_pass_problem(scene, segments, _NORMAL_PASS_REASONS)


def refresh_normal_bindings() -> int:
    """Re-key every True Normal node whose cameras, markers or range changed; returns how many."""
    return keyed_nodes.refresh(true_normal_nodes, NORMAL_BINDING_PROPERTY, SCENE_PROPERTY, bind_normal)


__all__ = ["add_true_normal_node", "bind_normal", "frame_rotations", "normal_problem", "refresh_normal_bindings"]
