"""Scenes like users' own, for the ground-truth tests: what a depth pass meets in real files.

One scene holds alpha-textured decal planes in front of other surfaces, an instanced collection, a
mesh with Array and Subdivision modifiers, an object hidden from render (visible in the viewport, so
a naive ray cast would hit it), a camera parented to a rotated empty with a non-unit object scale,
and depth of field on.
"""

from __future__ import annotations

import math

import bpy
import numpy as np
from mathutils import Vector

DECAL_PREFIX = "Decal"
DECAL_CELLS = 8
"""The decals' alpha is a checker of DECAL_CELLS x DECAL_CELLS cells: 1 (opaque) or 0 (transparent)."""


def eevee_engine() -> str:
    """EEVEE's engine id in this Blender (BLENDER_EEVEE_NEXT on 4.5, BLENDER_EEVEE on 5.x)."""
    items = bpy.types.RenderSettings.bl_rna.properties["engine"].enum_items.keys()
    return next(item for item in ("BLENDER_EEVEE_NEXT", "BLENDER_EEVEE") if item in items)


def decal_alpha(cell_x: int, cell_y: int) -> float:
    return float((cell_x + cell_y) % 2)


def decal_is_transparent(obj: bpy.types.Object, location: Vector) -> bool:
    """Where a decal's alpha is 0 (the ground truth's view of the checker texture)."""
    if not obj.name.startswith(DECAL_PREFIX):
        return False
    local = obj.matrix_world.inverted() @ location
    u, v = (local.x + 1.0) / 2.0, (local.y + 1.0) / 2.0  # the plane primitive's UVs, size 2
    cell_x = min(int(math.floor(u * DECAL_CELLS)), DECAL_CELLS - 1)
    cell_y = min(int(math.floor(v * DECAL_CELLS)), DECAL_CELLS - 1)
    return decal_alpha(cell_x, cell_y) == 0.0


def _decal_material() -> bpy.types.Material:
    image = bpy.data.images.new("Decal Alpha", DECAL_CELLS, DECAL_CELLS, alpha=True)
    pixels = np.ones((DECAL_CELLS, DECAL_CELLS, 4), dtype=np.float32) * 0.8
    for row in range(DECAL_CELLS):  # Blender's pixel rows start at the bottom, like v
        for column in range(DECAL_CELLS):
            pixels[row, column, 3] = decal_alpha(column, row)
    image.pixels.foreach_set(pixels.ravel())
    image.pack()
    material = bpy.data.materials.new("Decal")
    if material.node_tree is None:  # 4.5
        material.use_nodes = True
    nodes, links = material.node_tree.nodes, material.node_tree.links
    texture = nodes.new("ShaderNodeTexImage")
    texture.image = image
    texture.interpolation = "Closest"
    transparent = nodes.new("ShaderNodeBsdfTransparent")
    surface = nodes.get("Principled BSDF") or nodes.new("ShaderNodeBsdfPrincipled")
    mix = nodes.new("ShaderNodeMixShader")
    output = next(node for node in nodes if node.bl_idname == "ShaderNodeOutputMaterial")
    links.new(texture.outputs["Alpha"], mix.inputs["Fac"])
    links.new(transparent.outputs[0], mix.inputs[1])
    links.new(surface.outputs[0], mix.inputs[2])
    links.new(mix.outputs[0], output.inputs["Surface"])
    return material


def _plane(scene: bpy.types.Scene, name: str, size: float, location: tuple, rotation: tuple = (0, 0, 0)
           ) -> bpy.types.Object:
    half = size / 2.0
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata([(-half, -half, 0), (half, -half, 0), (half, half, 0), (-half, half, 0)], [], [(0, 1, 2, 3)])
    uv = mesh.uv_layers.new()
    for loop, corner in zip(uv.data, ((0, 0), (1, 0), (1, 1), (0, 1)), strict=True):
        loop.uv = corner
    obj = bpy.data.objects.new(name, mesh)
    obj.location, obj.rotation_euler = location, rotation
    scene.collection.objects.link(obj)
    return obj


def _cube(name: str, size: float) -> bpy.types.Object:
    half = size / 2.0
    corners = [(x, y, z) for x in (-half, half) for y in (-half, half) for z in (-half, half)]
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(corners, [], faces)
    return bpy.data.objects.new(name, mesh)


def build(name: str = "real", projection: str = "PERSP", engine: str = "CYCLES",
          size: tuple[int, int] = (64, 48)) -> bpy.types.Scene:
    """A new file holding the scene described in the module docstring."""
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    scene = bpy.context.scene
    scene.name = name
    scene.render.engine = engine
    scene.render.resolution_x, scene.render.resolution_y = size
    scene.render.resolution_percentage = 100
    scene.cycles.samples = 4
    scene.frame_start = scene.frame_end = 1
    _plane(scene, "Wall", 60.0, (0.0, 0.0, -9.0))
    decal_material = _decal_material()
    for index, (location, rotation) in enumerate((((-0.9, 0.4, -3.0), (0.2, -0.3, 0.1)),
                                                  ((1.1, -0.5, -4.0), (-0.1, 0.4, 0.0)))):
        decal = _plane(scene, f"{DECAL_PREFIX} {index}", 2.0, location, rotation)
        decal.data.materials.append(decal_material)
    props = bpy.data.collections.new("Props")
    props.objects.link(_cube("Prop", 0.8))
    for index, location in enumerate(((-2.0, -1.2, -6.0), (2.2, 1.3, -7.0))):
        instancer = bpy.data.objects.new(f"Props Instance {index}", None)
        instancer.instance_type = "COLLECTION"
        instancer.instance_collection = props
        instancer.location = location
        instancer.rotation_euler = (0.3 * index, 0.5, 0.2)
        scene.collection.objects.link(instancer)
    rail = _cube("Rail", 0.5)
    rail.location, rail.rotation_euler = (-1.6, 1.5, -5.0), (0.4, 0.2, 0.3)
    array = rail.modifiers.new("Array", "ARRAY")
    array.count, array.relative_offset_displace = 4, (1.3, 0.0, 0.0)
    subdivision = rail.modifiers.new("Subdivision", "SUBSURF")
    subdivision.levels = subdivision.render_levels = 2
    scene.collection.objects.link(rail)
    hidden = _plane(scene, "Hidden From Render", 20.0, (0.0, 0.0, -1.0))
    hidden.hide_render = True
    rig = bpy.data.objects.new("Camera Rig", None)
    rig.location, rig.rotation_euler, rig.scale = (0.3, -0.2, 0.5), (0.05, -0.04, 0.1), (0.5, 0.5, 0.5)
    scene.collection.objects.link(rig)
    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    camera.parent = rig
    camera.scale = (3.4, 3.4, 3.4)  # world scale 1.7
    camera.data.type = projection
    camera.data.lens, camera.data.ortho_scale = 22.0, 7.0
    camera.data.dof.use_dof = True
    camera.data.dof.focus_distance, camera.data.dof.aperture_fstop = 2.0, 0.3
    scene.collection.objects.link(camera)
    scene.camera = camera
    return scene
