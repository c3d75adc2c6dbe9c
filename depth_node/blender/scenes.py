"""Scene building blocks shared by the built-in example and the tests (Blender-facing)."""

from __future__ import annotations

import dataclasses
import math

import bpy

from ..core.camera import BlenderCamera, Lens

DISTANCE_AOV = "distance"
"""Name of the AOV that carries Camera Data 'View Distance' (ray distance)."""


def distance_aov_material() -> bpy.types.Material:
    """A material writing Camera Data 'View Distance' into the :data:`DISTANCE_AOV` AOV."""
    material = bpy.data.materials.get("True Depth View Distance")
    if material is not None:
        return material
    material = bpy.data.materials.new("True Depth View Distance")
    _write_distance_aov(material)
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
    """Cycles (on the device the job chose, :mod:`.devices`); Cycles' Z is one jittered sample, so a tiny filter
    keeps it at the pixel centre."""
    scene.render.engine = "CYCLES"
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


def add_wall(scene: bpy.types.Scene, distance: float, size: float = 60.0) -> bpy.types.Object:
    """A square wall facing the camera ``distance`` away, writing the distance AOV.

    Not larger than the views need: Cycles' hit points lose precision with the
    triangle's size (measured: a 1000-unit wall jitters depth by 1.3e-5, a 60-unit one by far less).
    """
    mesh = bpy.data.meshes.new("Wall")
    half = size / 2.0
    mesh.from_pydata([(-half, -half, 0), (half, -half, 0), (half, half, 0), (-half, half, 0)], [], [(0, 1, 2, 3)])
    mesh.materials.append(distance_aov_material())
    wall = bpy.data.objects.new("Wall", mesh)
    wall.location = (0.0, 0.0, -distance)
    scene.collection.objects.link(wall)
    return wall


def add_light(scene: bpy.types.Scene, energy: float = 3.0) -> bpy.types.Object:
    """A sun shining along the camera's view (for a beauty that shows the shapes)."""
    light = bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN"))
    light.data.energy = energy
    light.rotation_euler = (0.4, -0.3, 0.0)
    scene.collection.objects.link(light)
    return light


def add_suzanne(scene: bpy.types.Scene, distance: float = 3.0, size: float = 1.6) -> bpy.types.Object:
    """Blender's monkey facing the camera ``distance`` away, writing the distance AOV."""
    view_layer = scene.view_layers[0]
    with bpy.context.temp_override(scene=scene, view_layer=view_layer):
        bpy.ops.mesh.primitive_monkey_add(size=size, location=(0.0, 0.0, -distance), rotation=(-math.pi / 2, 0, 0))
    monkey = view_layer.objects.active
    monkey.name = "Suzanne"
    monkey.data.materials.append(distance_aov_material())
    return monkey


def apply_camera(scene: bpy.types.Scene, camera: BlenderCamera, camera_object: bpy.types.Object | None = None
                 ) -> None:
    """Set a camera (default: the scene's active one) and the scene's render settings to ``camera``'s."""
    data = (camera_object or scene.camera).data
    lens = camera.lens
    data.type = lens.projection
    for field in dataclasses.fields(Lens):  # every setting camera_from_scene reads, the panoramic ones included
        if field.name != "projection" and hasattr(data, field.name):
            setattr(data, field.name, getattr(lens, field.name))
    frame = camera.frame
    render = scene.render
    for name in ("resolution_x", "resolution_y", "resolution_percentage", "pixel_aspect_x", "pixel_aspect_y",
                 "use_border"):
        setattr(render, name, getattr(frame, name))
    render.use_crop_to_border = frame.crop_to_border
    render.border_min_x, render.border_max_x, render.border_min_y, render.border_max_y = frame.border


def scene_from_sidecar(meta: dict, camera: BlenderCamera) -> bpy.types.Scene:
    """A new empty file whose scene has the camera a sidecar describes (settings, pose, clip range, unit scale)."""
    from mathutils import Matrix

    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    scene = bpy.context.scene
    scene.name = str(meta.get("blender", {}).get("scene") or "converted")
    camera_object = add_camera(scene)
    apply_camera(scene, camera)
    if "camera_to_world_blender" in meta:
        camera_object.matrix_world = Matrix(meta["camera_to_world_blender"])
    for key in ("clip_start", "clip_end"):
        if key in meta:
            setattr(camera_object.data, key, float(meta[key]))
    scene.unit_settings.scale_length = float(meta.get("unit_scale", 1.0))
    return scene


_GEOMETRY_TYPES = {"MESH", "CURVE", "SURFACE", "META", "FONT", "CURVES", "POINTCLOUD", "VOLUME"}


def _write_distance_aov(material: bpy.types.Material) -> bool:
    """Add Camera Data 'View Distance' -> AOV Output to a node material; False when it has one already."""
    if material.node_tree is None:  # 4.5 only: 5.x materials always have a node tree
        material.use_nodes = True
    nodes = material.node_tree.nodes
    if any(node.bl_idname == "ShaderNodeOutputAOV" and node.aov_name == DISTANCE_AOV for node in nodes):
        return False
    camera_data = nodes.new("ShaderNodeCameraData")
    aov = nodes.new("ShaderNodeOutputAOV")
    aov.aov_name = DISTANCE_AOV
    material.node_tree.links.new(camera_data.outputs["View Distance"], aov.inputs["Value"])
    return True


def add_distance_aov_to_materials(scene: bpy.types.Scene) -> int:
    """Make every surface the render of ``scene`` can show write View Distance into the :data:`DISTANCE_AOV` AOV.

    Every material of the file gets an AOV Output fed by Camera Data (also those only reached through
    instanced collections or geometry nodes, which ``scene.objects`` does not list: measured, an instanced
    collection's objects otherwise wrote 0), and every geometry object or slot without a material gets the
    distance material. Meant for a throw-away copy of a file: it changes the materials. Returns how many
    materials were changed.
    """
    fallback = distance_aov_material()
    for obj in bpy.data.objects:
        if obj.type not in _GEOMETRY_TYPES:
            continue
        if not obj.material_slots and obj.data is not None and hasattr(obj.data, "materials"):
            obj.data.materials.append(fallback)
        for slot in obj.material_slots:
            if slot.material is None:
                slot.material = fallback
    return sum(_write_distance_aov(material) for material in bpy.data.materials
               if material != fallback and not material.is_grease_pencil)


def setup_linear_mist(scene: bpy.types.Scene, start: float, depth: float) -> None:
    """Mist pass on, with linear falloff from ``start`` over ``depth`` (so distance = mist * depth + start)."""
    if scene.world is None:
        scene.world = bpy.data.worlds.new("True Depth World")
    mist = scene.world.mist_settings
    mist.start, mist.depth, mist.falloff = start, depth, "LINEAR"
    for view_layer in scene.view_layers:
        view_layer.use_pass_mist = True
