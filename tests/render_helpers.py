"""Scenes and renders for the in-Blender tests: Cycles CPU, tiny frames, native File Output EXRs."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bpy
import numpy as np

from depth_node.core.camera import BlenderCamera

WALL_DISTANCE = 5.0
REFERENCE_RTOL = 2e-6  # node vs numpy on the same input: float32 arithmetic
CYCLES_RTOL = 5e-6  # node vs Cycles (Z pass, View Distance AOV): measured <= 2.5e-6 on a 60-unit wall


TEST_CAMERA = {"lens": 20.0, "resolution_x": 48, "resolution_y": 32}
"""Tiny frames with a wide lens: the distance varies > 10 % across a wall, renders take milliseconds."""


def CameraSetup(**settings: Any) -> BlenderCamera:
    """The camera of one test case: the test defaults overridden by ``settings``."""
    return BlenderCamera.from_settings(**{**TEST_CAMERA, **settings})


def apply_camera(scene: bpy.types.Scene, camera: BlenderCamera) -> None:
    """Set the scene's camera and render settings to ``camera``'s (the installed extension's helper)."""
    _scenes().apply_camera(scene, camera)


def _scenes():
    """The installed extension's scene helpers (tests/blender/conftest.py installs it first)."""
    return importlib.import_module("bl_ext.user_default.true_depth.depth_node.blender.scenes")


def new_scene(camera: BlenderCamera, *, with_suzanne: bool = False, name: str = "wall") -> bpy.types.Scene:
    """An empty file with a camera looking down -Z at a 1000x1000 wall ``WALL_DISTANCE`` away.

    With ``with_suzanne`` the original write-up's monkey sits between camera and wall.
    """
    scenes = _scenes()
    # read_homefile keeps the preferences (and so the installed extension); read_factory_settings does not.
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    scene = bpy.context.scene
    scene.name = name
    scenes.setup_cycles(scene, samples=1, filter_width=0.01)
    scene.render.threads_mode = "FIXED"
    scene.render.threads = 2
    scenes.add_camera(scene)
    apply_camera(scene, camera)
    scenes.add_wall(scene, WALL_DISTANCE)
    if with_suzanne:
        scenes.add_suzanne(scene, distance=3.0)
    scenes.enable_depth_passes(scene)
    return scene


def render_layers_node(tree: bpy.types.NodeTree, scene: bpy.types.Scene) -> bpy.types.Node:
    node = next((n for n in tree.nodes if n.bl_idname == "CompositorNodeRLayers"), None)
    if node is None:
        node = tree.nodes.new("CompositorNodeRLayers")
    node.scene = scene
    return node


def render_frame(scene: bpy.types.Scene, frame: int = 1) -> None:
    scene.frame_set(frame)
    with bpy.context.temp_override(scene=scene):
        bpy.ops.render.render(write_still=False, scene=scene.name)


@dataclass
class BothModes:
    """One render's EXRs: the AOV distance, Cycles' Z, and both True Depth modes fed from them."""

    distance: np.ndarray
    z: np.ndarray
    depth_node: np.ndarray
    distance_node: np.ndarray


BOTH_MODES_STEMS = ("distance", "z", "depth_node", "distance_node")


def wire_both_modes(scene: bpy.types.Scene, out_dir: Path, depth_node_module: Any) -> None:
    """AOV -> True Depth and Z -> True Depth Inverse, all four written by one File Output node."""
    compat = importlib.import_module(f"{depth_node_module.__name__}.blender.compat")
    tree = compat.compositor_tree(scene)
    layers = render_layers_node(tree, scene)
    forward = depth_node_module.add_true_depth_node(scene, mode="DISTANCE_TO_DEPTH")
    inverse = depth_node_module.add_true_depth_node(scene, mode="DEPTH_TO_DISTANCE", location=(0, -400))
    distance, z = layers.outputs[_scenes().DISTANCE_AOV], layers.outputs["Depth"]
    tree.links.new(distance, forward.inputs[0])
    tree.links.new(z, inverse.inputs[0])
    _, sockets = compat.new_exr_file_output(tree, str(out_dir), [f"{stem}_####" for stem in BOTH_MODES_STEMS])
    for source, socket in zip((distance, z, forward.outputs[0], inverse.outputs[0]), sockets, strict=True):
        tree.links.new(source, socket)


def read_both_modes(out_dir: Path, depth_node_module: Any, frame: int = 1, view_suffix: str = "") -> BothModes:
    read_single_channel = importlib.import_module(f"{depth_node_module.__name__}.core.formats.exr").read_single_channel
    return BothModes(*(read_single_channel(out_dir / f"{stem}_{frame:04d}{view_suffix}.exr")
                       for stem in BOTH_MODES_STEMS))


@dataclass
class RenderResult:
    distance: np.ndarray
    z: np.ndarray
    node: np.ndarray


def render_through_node(
    scene: bpy.types.Scene, out_dir: Path, depth_node_module: Any, mode: str = "DISTANCE_TO_DEPTH",
    frame: int = 1,
) -> RenderResult:
    """Wire AOV (or Z, for the inverse mode) -> True Depth -> File Output, render, read the EXRs."""
    compat = importlib.import_module(f"{depth_node_module.__name__}.blender.compat")
    read_single_channel = importlib.import_module(f"{depth_node_module.__name__}.core.formats.exr").read_single_channel
    tree = compat.compositor_tree(scene)
    layers = render_layers_node(tree, scene)
    node = depth_node_module.add_true_depth_node(scene, mode=mode)
    distance = layers.outputs[_scenes().DISTANCE_AOV]
    source = distance if mode == "DISTANCE_TO_DEPTH" else layers.outputs["Depth"]
    tree.links.new(source, node.inputs[0])
    _, sockets = compat.new_exr_file_output(tree, str(out_dir), ["distance_####", "z_####", "node_####"])
    tree.links.new(distance, sockets[0])
    tree.links.new(layers.outputs["Depth"], sockets[1])
    tree.links.new(node.outputs[0], sockets[2])
    render_frame(scene, frame)
    return RenderResult(*(read_single_channel(out_dir / f"{stem}_{frame:04d}.exr")
                          for stem in ("distance", "z", "node")))


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.max(np.abs(got.astype(np.float64) - want) / np.abs(want)))


def check_both_modes(reference: Any, result: BothModes, camera: BlenderCamera, inside: np.ndarray,
                     flat_wall: bool = True) -> None:
    """Both modes against Cycles (Z pass, View Distance AOV) and ``reference`` on the same input.

    ``flat_wall``: the camera looks straight at the test wall (false for a toed-in stereo eye).
    """
    K = camera.matrix()
    # Orthographic depth = sqrt(d^2 - lateral^2) multiplies the distance's relative error by (d / depth)^2:
    # Cycles' float32 distance is compared with that allowance (1 for perspective cameras).
    conditioning = 1.0
    if camera.projection == "ORTHO":
        conditioning = np.maximum(1.0, (result.distance[inside].astype(np.float64) / result.z[inside]) ** 2)
    depth_error = np.abs(result.depth_node[inside].astype(np.float64) - result.z[inside]) / result.z[inside]
    assert np.all(depth_error <= CYCLES_RTOL * conditioning), float(np.max(depth_error / conditioning))
    if flat_wall:
        assert np.allclose(result.z[inside], WALL_DISTANCE, rtol=1e-6), "the test scene is a flat wall"
    expected_depth = reference.distance_to_depth(result.distance, K, camera.projection)
    assert relative_error(result.depth_node[inside], expected_depth[inside]) <= REFERENCE_RTOL
    assert relative_error(result.distance_node[inside], result.distance[inside]) <= CYCLES_RTOL
    expected_distance = reference.depth_to_distance(result.z, K, camera.projection)
    assert relative_error(result.distance_node[inside], expected_distance[inside]) <= REFERENCE_RTOL


ANIMATION_FRAMES = range(1, 9)


def _camera_copy(scene: bpy.types.Scene, source: bpy.types.Object, name: str) -> bpy.types.Object:
    camera = source.copy()
    camera.data = source.data.copy()
    camera.animation_data_clear()
    camera.data.animation_data_clear()
    camera.name = camera.data.name = name
    scene.collection.objects.link(camera)
    return camera


def animated_scene() -> tuple[bpy.types.Scene, dict[int, bpy.types.Object]]:
    """Cameras switched at timeline markers, each with keyframed settings.

    (Render settings such as the resolution cannot be keyframed in Blender: not animatable, measured.)

    Returns the scene and, per frame of ``ANIMATION_FRAMES``, the camera that frame must see
    (worked out from the markers by hand, independently of the code under test).
    """
    scene = new_scene(CameraSetup(lens=20))
    wide = scene.camera
    wide.name = "Wide"
    ortho = _camera_copy(scene, wide, "Ortho")
    tele = _camera_copy(scene, wide, "Tele")
    ortho.data.type = "ORTHO"
    tele.data.lens, tele.data.sensor_fit, tele.data.sensor_height, tele.data.shift_y = 45.0, "VERTICAL", 16.0, 0.1
    for frame, lens, shift_x, ortho_scale, sensor in ((1, 20.0, 0.0, 5.0, 16.0), (8, 35.0, 0.2, 7.0, 24.0)):
        wide.data.lens, wide.data.shift_x = lens, shift_x
        wide.data.keyframe_insert("lens", frame=frame)
        wide.data.keyframe_insert("shift_x", frame=frame)
        ortho.data.ortho_scale = ortho_scale
        ortho.data.keyframe_insert("ortho_scale", frame=frame)
        tele.data.sensor_height = sensor
        tele.data.keyframe_insert("sensor_height", frame=frame)
    for frame, camera in ((1, wide), (3, ortho), (5, wide), (7, tele)):
        scene.timeline_markers.new(f"F_{frame:02d}", frame=frame).camera = camera
    scene.frame_start, scene.frame_end = ANIMATION_FRAMES[0], ANIMATION_FRAMES[-1]
    expected = {1: wide, 2: wide, 3: ortho, 4: ortho, 5: wide, 6: wide, 7: tele, 8: tele}
    return scene, expected


def render_animation(scene: bpy.types.Scene, out_dir: Path) -> None:
    scene.render.filepath = str(out_dir / "beauty_")
    with bpy.context.temp_override(scene=scene):
        bpy.ops.render.render(animation=True, scene=scene.name)


def camera_array_scene(count: int) -> tuple[bpy.types.Scene, dict[int, bpy.types.Object]]:
    """``count`` cameras, one per frame through timeline markers (a multi-view dataset in one animation).

    Each camera has its own lens, sensor, fit, shift and type (perspective or orthographic), so every
    frame has its own projection. Returns the scene and the camera each frame must see.
    """
    scene = new_scene(CameraSetup(lens=20, resolution_x=24, resolution_y=16))
    first = scene.camera
    rng = np.random.default_rng(count)
    cameras = [first] + [_camera_copy(scene, first, f"Array {index:03d}") for index in range(1, count)]
    for index, camera in enumerate(cameras):
        data = camera.data
        data.type = "ORTHO" if index % 5 == 4 else "PERSP"
        data.lens = 16.0 + index * 0.25  # distinct for every camera
        data.ortho_scale = 4.0 + index * 0.01
        data.sensor_fit = ("AUTO", "HORIZONTAL", "VERTICAL")[index % 3]
        data.sensor_width, data.sensor_height = float(rng.uniform(20, 40)), float(rng.uniform(15, 30))
        data.shift_x, data.shift_y = float(rng.uniform(-0.15, 0.15)), float(rng.uniform(-0.15, 0.15))
        scene.timeline_markers.new(f"C{index:03d}", frame=index + 1).camera = camera
    scene.frame_start, scene.frame_end = 1, count
    return scene, {index + 1: camera for index, camera in enumerate(cameras)}
