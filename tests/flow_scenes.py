"""A moving scene for the flow tests: camera motion, a rigidly moving and turning cube that passes over a
wall, a shape-keyed flag, an armature-bent plane, a sphere seen only as a moving collection instance, sky on
the right and points that leave the view."""

from __future__ import annotations

import importlib

import bpy

FLAG = "Flag"
CUBE = "Cube"
RIGGED = "Rigged"
DEFORMING = (FLAG, RIGGED)
"""The objects whose evaluated vertices change between frames (their visibility is undecided)."""


def _scenes():
    return importlib.import_module("bl_ext.user_default.true_depth.depth_node.blender.scenes")


def _keyed(obj: bpy.types.Object, frame: int, **values: tuple[float, float, float]) -> None:
    for name, value in values.items():
        setattr(obj, name, value)
        obj.keyframe_insert(name, frame=frame)


def moving_scene(projection: str = "PERSP", samples: int = 16) -> bpy.types.Scene:
    """Frames 1-3, 64 x 48, rendered by the file at ``samples`` samples with a 1.5 px filter."""
    scenes = _scenes()
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    scene = bpy.context.scene
    scenes.setup_cycles(scene, samples=samples, filter_width=1.5)
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 64, 48, 100
    scene.frame_start, scene.frame_end = 1, 3
    camera = scenes.add_camera(scene)
    camera.data.type, camera.data.lens, camera.data.ortho_scale = projection, 30.0, 8.0
    _keyed(camera, 1, location=(0.0, 0.0, 0.0), rotation_euler=(0.0, 0.0, 0.0))
    _keyed(camera, 3, location=(0.3, 0.1, 0.2), rotation_euler=(0.02, 0.03, 0.05))
    bpy.ops.mesh.primitive_plane_add(size=6, location=(-3.5, 0, -8))
    bpy.ops.mesh.primitive_cube_add(size=1.5, location=(-0.5, 0, -5))
    cube = bpy.context.object
    cube.name = CUBE
    # Turned at frame 1 too: an axis-aligned cube's side faces are edge-on to an unturned orthographic camera,
    # where whether a point on the front face's edge is hidden is a tie of two equal distances.
    _keyed(cube, 1, location=(-0.5, 0.0, -5.0), rotation_euler=(0.1, 0.15, 0.05))
    _keyed(cube, 3, location=(0.8, 0.4, -4.5), rotation_euler=(0.3, 0.2, 0.1))
    bpy.ops.mesh.primitive_plane_add(size=2, location=(1.8, -1, -6))
    flag = bpy.context.object
    flag.name = FLAG
    flag.shape_key_add(name="Basis", from_mix=False)
    bend = flag.shape_key_add(name="bend", from_mix=False)
    for index, vertex in enumerate(bend.data):
        vertex.co.z += 0.8 * (index % 2)
        vertex.co.x += 0.2 * (index // 2)
    bend.value = 0.0
    bend.keyframe_insert("value", frame=1)
    bend.value = 1.0
    bend.keyframe_insert("value", frame=3)
    _rigged_plane(scene)
    _instanced_sphere(scene)
    return scene


INSTANCER = "Props Instance"
INSTANCED = "Sphere"


def _instanced_sphere(scene: bpy.types.Scene) -> None:
    """A sphere seen only as an instance: a collection (not in the scene) instanced by a moving, turning empty."""
    props = bpy.data.collections.new("Props")
    mesh = bpy.data.meshes.new("Sphere")
    sphere = bpy.data.objects.new(INSTANCED, mesh)
    props.objects.link(sphere)
    import bmesh  # noqa: PLC0415

    shape = bmesh.new()
    bmesh.ops.create_icosphere(shape, subdivisions=2, radius=0.6)
    shape.to_mesh(mesh)
    shape.free()
    instancer = bpy.data.objects.new(INSTANCER, None)
    instancer.instance_type, instancer.instance_collection = "COLLECTION", props
    scene.collection.objects.link(instancer)
    _keyed(instancer, 1, location=(-1.8, 1.0, -4.5), rotation_euler=(0.0, 0.2, 0.0))
    _keyed(instancer, 3, location=(-1.4, 1.3, -4.2), rotation_euler=(0.3, 0.5, 0.1))

def _rigged_plane(scene: bpy.types.Scene) -> None:
    """A subdivided plane, half of it bent by an armature's bone (keyed)."""
    bpy.ops.mesh.primitive_plane_add(size=1.5, location=(1.5, 1.0, -5.0))
    mesh = bpy.context.object
    mesh.name = RIGGED
    mesh.modifiers.new("Subdivision", "SUBSURF").render_levels = 2  # the viewport's 1: the job must see 2
    rig = bpy.data.objects.new("Rig", bpy.data.armatures.new("Rig"))
    scene.collection.objects.link(rig)
    rig.location = mesh.location
    bpy.context.view_layer.objects.active = rig
    bpy.ops.object.mode_set(mode="EDIT")
    bone = rig.data.edit_bones.new("Bone")
    bone.head, bone.tail = (-0.75, 0.0, 0.0), (0.75, 0.0, 0.0)
    bpy.ops.object.mode_set(mode="OBJECT")
    mesh.modifiers.new("Armature", "ARMATURE").object = rig
    mesh.modifiers.move(1, 0)  # the armature first, then the subdivision
    mesh.vertex_groups.new(name="Bone").add([v.index for v in mesh.data.vertices if v.co.x > 0], 1.0, "REPLACE")
    pose = rig.pose.bones["Bone"]
    pose.rotation_mode = "XYZ"
    pose.rotation_euler = (0.0, 0.0, 0.0)
    pose.keyframe_insert("rotation_euler", frame=1)
    pose.rotation_euler = (0.4, 0.2, 0.3)
    pose.keyframe_insert("rotation_euler", frame=3)


def with_views(scene: bpy.types.Scene, kind: str) -> tuple[str, ...]:
    """Make ``scene`` render two views: a Stereo 3D pair (off-axis, 0.3 apart) or two Multi-View cameras (the
    second moving on its own path). Returns the views' file suffixes."""
    render = scene.render
    render.use_multiview = True
    if kind == "stereo":
        render.views_format = "STEREO_3D"
        stereo = scene.camera.data.stereo
        stereo.interocular_distance, stereo.convergence_mode, stereo.pivot = 0.3, "OFFAXIS", "CENTER"
        return ("_L", "_R")
    render.views_format = "MULTIVIEW"
    for view in render.views:
        view.use = False
    first = scene.camera
    first.name = "Camera_A"
    second = bpy.data.objects.new("Camera_B", first.data.copy())
    scene.collection.objects.link(second)
    _keyed(second, 1, location=(0.5, 0.3, 0.5), rotation_euler=(0.05, -0.08, 0.0))
    _keyed(second, 3, location=(0.7, 0.2, 0.4), rotation_euler=(0.03, -0.1, 0.02))
    for name in ("A", "B"):
        view = render.views.new(name)
        view.file_suffix = view.camera_suffix = f"_{name}"
    return ("_A", "_B")


def open_for_truth(blend) -> bpy.types.Scene:
    """Open a saved moving scene with the viewport evaluation set to the render's where the scene differs (the
    truth's ray casts see the viewport: the rigged plane subdivides twice when rendered, once in the viewport)."""
    bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)
    rigged = bpy.data.objects.get(RIGGED)
    if rigged is not None:
        rigged.modifiers["Subdivision"].levels = rigged.modifiers["Subdivision"].render_levels
    return bpy.context.scene
