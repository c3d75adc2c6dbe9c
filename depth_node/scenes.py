"""Scene building blocks shared by the built-in example and the tests (Blender-facing)."""

from __future__ import annotations

import math

import bpy

DISTANCE_AOV = "distance"
"""Name of the AOV that carries Camera Data 'View Distance' (ray distance)."""


def distance_aov_material() -> bpy.types.Material:
    """A material writing Camera Data 'View Distance' into the :data:`DISTANCE_AOV` AOV."""
    material = bpy.data.materials.get("True Depth View Distance")
    if material is not None:
        return material
    material = bpy.data.materials.new("True Depth View Distance")
    if material.node_tree is None:  # 4.5; 5.x materials always have a node tree
        material.use_nodes = True
    nodes = material.node_tree.nodes
    camera_data = nodes.new("ShaderNodeCameraData")
    aov = nodes.new("ShaderNodeOutputAOV")
    aov.aov_name = DISTANCE_AOV
    material.node_tree.links.new(camera_data.outputs["View Distance"], aov.inputs["Value"])
    return material


def enable_depth_passes(scene: bpy.types.Scene) -> None:
    """Turn on Cycles' Z pass and the distance AOV on every view layer of ``scene``."""
    for view_layer in scene.view_layers:
        view_layer.use_pass_z = True
        if DISTANCE_AOV not in view_layer.aovs:
            aov = view_layer.aovs.add()
            aov.name = DISTANCE_AOV
            aov.type = "VALUE"


def setup_cycles(scene: bpy.types.Scene, samples: int = 1, filter_width: float = 0.01) -> None:
    """Cycles on the CPU; Cycles' Z is one jittered sample, so a tiny filter keeps it at the pixel centre."""
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.cycles.use_denoising = False
    scene.cycles.use_adaptive_sampling = False
    scene.cycles.filter_width = filter_width


def add_camera(scene: bpy.types.Scene, name: str = "Camera") -> bpy.types.Object:
    """A camera at the origin looking down -Z, made the scene's active camera."""
    camera = bpy.data.objects.new(name, bpy.data.cameras.new(name))
    scene.collection.objects.link(camera)
    scene.camera = camera
    return camera


def add_wall(scene: bpy.types.Scene, distance: float, size: float = 1000.0) -> bpy.types.Object:
    """A square wall facing the camera ``distance`` away, writing the distance AOV."""
    mesh = bpy.data.meshes.new("Wall")
    half = size / 2.0
    mesh.from_pydata([(-half, -half, 0), (half, -half, 0), (half, half, 0), (-half, half, 0)], [], [(0, 1, 2, 3)])
    mesh.materials.append(distance_aov_material())
    wall = bpy.data.objects.new("Wall", mesh)
    wall.location = (0.0, 0.0, -distance)
    scene.collection.objects.link(wall)
    return wall


def add_suzanne(scene: bpy.types.Scene, distance: float = 3.0, size: float = 1.6) -> bpy.types.Object:
    """Blender's monkey facing the camera ``distance`` away, writing the distance AOV."""
    view_layer = scene.view_layers[0]
    with bpy.context.temp_override(scene=scene, view_layer=view_layer):
        bpy.ops.mesh.primitive_monkey_add(size=size, location=(0.0, 0.0, -distance), rotation=(math.pi / 2, 0, 0))
    monkey = view_layer.objects.active
    monkey.name = "Suzanne"
    monkey.data.materials.append(distance_aov_material())
    return monkey
