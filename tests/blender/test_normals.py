"""True Normals from the render job, against a ground truth that involves no renderer: the evaluated mesh's
interpolated (smooth) or face (flat) normal at each pixel centre's BVH hit (tests/normal_truth.py).

The scene has what bends Cycles' Normal pass away from the mesh's normal (a glossy sphere with a bump map,
whose bump map correction bends it at grazing angles; a bump node inside a node group; a bump-only
displacement), a non-uniform scale, a subdivided smooth mesh, collection instances, a back face and sky.
The job's data pass writes the mesh's own normal, turned towards the camera at back faces.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import submodule
from ground_truth import read_point_map
from normal_truth import RayGrid, angle_between, normal_truth

bpy = pytest.importorskip("bpy")
REQUIRED = 0.995
TOLERANCE = 1e-3  # rad
OPENCV_FROM_BLENDER_CAMERA = np.diag([1.0, -1.0, -1.0])
"""Blender's camera axes (x right, y up, looking down -z) to OpenCV's (x right, y down, z forward)."""


def _bump(tree: bpy.types.NodeTree) -> bpy.types.NodeSocket:
    noise = tree.nodes.new("ShaderNodeTexNoise")
    noise.inputs["Scale"].default_value = 12.0
    bump = tree.nodes.new("ShaderNodeBump")
    bump.inputs["Strength"].default_value = 0.8
    tree.links.new(noise.outputs["Fac"], bump.inputs["Height"])
    return bump.outputs["Normal"]


def _glossy_bumped(name: str) -> bpy.types.Material:
    material = bpy.data.materials.new(name)
    material.use_nodes = True
    tree = material.node_tree
    shader = tree.nodes["Principled BSDF"]
    shader.inputs["Metallic"].default_value, shader.inputs["Roughness"].default_value = 1.0, 0.05
    tree.links.new(_bump(tree), shader.inputs["Normal"])
    return material


def _grouped_bump(name: str) -> bpy.types.Material:
    """A material whose shader, bumped, sits inside a node group."""
    group = bpy.data.node_groups.new(f"{name} Shader", "ShaderNodeTree")
    group.interface.new_socket("Shader", in_out="OUTPUT", socket_type="NodeSocketShader")
    output = group.nodes.new("NodeGroupOutput")
    shader = group.nodes.new("ShaderNodeBsdfPrincipled")
    group.links.new(_bump(group), shader.inputs["Normal"])
    group.links.new(shader.outputs[0], output.inputs[0])
    material = bpy.data.materials.new(name)
    material.use_nodes = True
    tree = material.node_tree
    tree.nodes.remove(tree.nodes["Principled BSDF"])
    node = tree.nodes.new("ShaderNodeGroup")
    node.node_tree = group
    tree.links.new(node.outputs[0], tree.nodes["Material Output"].inputs["Surface"])
    return material


def _bump_displaced(name: str) -> bpy.types.Material:
    material = bpy.data.materials.new(name)
    material.use_nodes = True
    material.displacement_method = "BUMP"
    tree = material.node_tree
    noise = tree.nodes.new("ShaderNodeTexNoise")
    displacement = tree.nodes.new("ShaderNodeDisplacement")
    displacement.inputs["Scale"].default_value = 0.3
    tree.links.new(noise.outputs["Fac"], displacement.inputs["Height"])
    tree.links.new(displacement.outputs[0], tree.nodes["Material Output"].inputs["Displacement"])
    return material


def _add(scene: bpy.types.Scene, name: str, mesh_op, location: tuple, rotation: tuple = (0, 0, 0),
         scale: tuple = (1, 1, 1), smooth: bool = False, material: bpy.types.Material | None = None,
         **kwargs) -> bpy.types.Object:
    mesh_op(location=location, rotation=rotation, scale=scale, **kwargs)
    obj = bpy.context.object
    obj.name = name
    if smooth:
        obj.data.shade_smooth()
    if material is not None:
        obj.data.materials.append(material)
    return obj


def build(projection: str) -> bpy.types.Scene:
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    scene = bpy.context.scene
    scene.name = f"normals {projection.lower()}"
    scene.render.engine = "CYCLES"
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 64, 48, 100
    scene.cycles.samples = 8
    scene.frame_start = scene.frame_end = 1
    mesh = bpy.ops.mesh
    _add(scene, "Sphere", mesh.primitive_uv_sphere_add, (-1.1, 0.3, -5.0), scale=(1.3, 0.8, 1.0), smooth=True,
         material=_glossy_bumped("Glossy Bumped"), segments=24, ring_count=12)
    _add(scene, "Box", mesh.primitive_cube_add, (1.3, 0.6, -6.0), rotation=(0.5, 0.3, 0.2), size=1.4,
         material=_grouped_bump("Grouped Bump"))
    blob = _add(scene, "Blob", mesh.primitive_cube_add, (0.4, -1.1, -4.5), rotation=(0.3, 0.6, 0.0), size=1.0,
                smooth=True, material=_bump_displaced("Bump Displaced"))
    subdivision = blob.modifiers.new("Subdivision", "SUBSURF")
    subdivision.levels = subdivision.render_levels = 2
    back = _add(scene, "Back Face", mesh.primitive_plane_add, (-1.6, -1.2, -4.0), rotation=(math.pi - 0.4, 0.3, 0))
    props = bpy.data.collections.new("Props")
    prop = _add(scene, "Prop", mesh.primitive_ico_sphere_add, (0, 0, 0), subdivisions=1)
    for collection in prop.users_collection:
        collection.objects.unlink(prop)
    props.objects.link(prop)
    for index, location in enumerate(((2.2, -1.2, -5.5), (0.2, 1.6, -7.0))):
        instancer = bpy.data.objects.new(f"Props Instance {index}", None)
        instancer.instance_type, instancer.instance_collection = "COLLECTION", props
        instancer.location, instancer.rotation_euler = location, (0.4 * index, 0.7, 0.2)
        instancer.scale = (0.6, 0.6, 0.6)
        scene.collection.objects.link(instancer)
    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    camera.rotation_euler = (0.04, -0.03, 0.05)
    camera.data.type = "PANO" if projection == "EQUIRECTANGULAR" else projection
    if projection == "EQUIRECTANGULAR":
        compat_panorama(camera.data)
    camera.data.lens, camera.data.ortho_scale = 24.0, 6.5
    scene.collection.objects.link(camera)
    scene.camera = camera
    assert (back.matrix_world.to_3x3() @ back.data.polygons[0].normal).z < 0  # it faces away from the camera
    return scene


def compat_panorama(data: bpy.types.Camera) -> None:
    data.panorama_type = "EQUIRECTANGULAR"
    data.longitude_min, data.longitude_max = -1.0, 1.0
    data.latitude_min, data.latitude_max = -0.75, 0.75


def opencv_rotation(scene: bpy.types.Scene) -> np.ndarray:
    """The scene camera's camera-to-world rotation in OpenCV axes, from Blender's own matrix."""
    return np.array(scene.camera.matrix_world.normalized().to_3x3(), dtype=np.float64) @ OPENCV_FROM_BLENDER_CAMERA


@pytest.mark.parametrize("projection", ["PERSP", "ORTHO", "EQUIRECTANGULAR"])
def test_render_writes_the_meshs_normal_in_the_camera_frame_and_the_world(td, tmp_path: Path, projection: str,
                                                                          capsys: pytest.CaptureFixture) -> None:
    import cv2

    blend = tmp_path / f"{projection}.blend"
    build(projection)
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    out = tmp_path / "out"
    assert submodule(td, "commands.cli").main(["render", str(blend), "--output", str(out), "--outputs",
                                               "depth,camera,normal,normal_world,normal16"]) == 0
    assert "3 material(s) without bump or normal maps" in capsys.readouterr().out
    (folder,) = out.iterdir()
    bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)
    scene = bpy.data.scenes[0]
    scene.frame_set(1)
    truth = normal_truth(scene)
    rotation = opencv_rotation(scene)
    want = {"normal_world": truth.normals, "normal": truth.normals @ rotation}  # rows: R^T n
    depth = submodule(td, "core.formats.exr").read_single_channel(folder / "depth_0001.exr")
    assert 0.1 < truth.hit.mean() < 0.9, "objects and sky"
    assert truth.back_face.sum() >= 20
    for name, normals in want.items():
        got = read_point_map(folder / f"{name}_0001.exr")
        error = angle_between(got, normals)
        within = error[truth.hit] <= TOLERANCE
        back = np.mean(error[truth.back_face] <= TOLERANCE)
        print(f"{projection} {name}: {within.mean():.2%} of {truth.hit.sum()} hit px within {TOLERANCE} rad, "
              f"median {np.median(error[truth.hit]):.1e}; back faces {back:.2%}")
        assert within.mean() >= REQUIRED, (name, float(np.median(error[truth.hit])))
        assert back >= REQUIRED, "turned towards the camera"
        lengths = np.linalg.norm(got, axis=-1)
        assert np.all(np.abs(lengths[depth > 0] - 1.0) <= 1e-6)
        assert np.all(got[depth == 0] == 0), "no surface, no normal"
        assert np.mean((depth > 0) == truth.hit) >= REQUIRED
    camera_frame = read_point_map(folder / "normal_0001.exr")
    facing = np.einsum("...i,...i", camera_frame[truth.hit], [0.0, 0.0, 1.0])
    if projection != "EQUIRECTANGULAR":
        assert np.mean(facing < 0) > 0.95, "seen surfaces face the camera: z < 0 in the OpenCV frame"
    # OpenCV reads 16-bit RGB PNGs as they are (Pillow, under imageio, makes them 8-bit), in B, G, R order
    encoded = cv2.imread(str(folder / "normal16_0001.png"), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert encoded.dtype == np.uint16 and encoded.shape == camera_frame.shape
    independent = np.round((camera_frame.astype(np.float64) + 1.0) / 2.0 * 65535)
    surface = depth > 0
    assert np.abs(encoded[surface].astype(np.int64) - independent[surface]).max() <= 1  # .5 may round either way
    assert np.all(encoded[~surface] == 0)
    # the PLY in the world, each point with its normal (plyfile reads it)
    from plyfile import PlyData

    ply = tmp_path / "cloud.ply"
    assert submodule(td, "commands.cli").main(["pointcloud", str(folder / "depth_0001.exr"),
                                               str(folder / "camera_0001.json"), str(ply), "--world",
                                               "--normals", str(folder / "normal_0001.exr")]) == 0
    vertex = PlyData.read(str(ply))["vertex"]
    normals = np.stack([vertex[f"n{axis}"] for axis in "xyz"], axis=1)
    assert len(normals) == np.count_nonzero(surface)
    error = angle_between(normals[:, None], truth.normals[surface][:, None])[:, 0]
    assert np.mean(error[truth.hit[surface]] <= TOLERANCE) >= REQUIRED


def test_the_users_file_keeps_its_bump_maps(td, tmp_path: Path) -> None:
    blend = tmp_path / "bumped.blend"
    build("PERSP")
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    before = blend.read_bytes()
    assert submodule(td, "commands.cli").main(["render", str(blend), "--output", str(tmp_path / "out"),
                                               "--outputs", "normal"]) == 0
    assert blend.read_bytes() == before
    bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)
    assert bpy.data.materials["Glossy Bumped"].node_tree.nodes["Principled BSDF"].inputs["Normal"].is_linked
    assert bpy.data.materials["Glossy Bumped"].cycles.use_bump_map_correction


def test_normals_beside_the_beauty_and_flow_on_deforming_meshes(td, tmp_path: Path) -> None:
    """One data pass writes the Vector and Normal passes; shape keys, an armature and instances, at frame 2 of a
    moving scene whose beauty renders at 16 samples with a 1.5 px filter (where the pass is an average)."""
    from flow_scenes import moving_scene, open_for_truth

    blend = tmp_path / "moving.blend"
    moving_scene()
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    out = tmp_path / "out"
    assert submodule(td, "commands.cli").main(["render", str(blend), "--output", str(out), "--frames", "2",
                                               "--outputs", "rgb,depth,flow,normal_world"]) == 0
    (folder,) = out.iterdir()
    assert sorted(path.name for path in folder.iterdir()) == [
        "depth_0002.exr", "flow_backward_0002.exr", "flow_forward_0002.exr", "normal_world_0002.exr",
        "rgb_0002.png"]  # the staged passes file is not published
    scene = open_for_truth(blend)
    scene.frame_set(2)
    truth = normal_truth(scene)
    error = angle_between(read_point_map(folder / "normal_world_0002.exr"), truth.normals)
    print(f"moving: {np.mean(error[truth.hit] <= TOLERANCE):.2%} of {truth.hit.sum()} hit px within {TOLERANCE} rad")
    assert truth.hit.mean() > 0.2
    assert np.mean(error[truth.hit] <= TOLERANCE) >= REQUIRED, float(np.median(error[truth.hit]))


def _eye_rays(meta: dict) -> RayGrid:
    """A pinhole eye's rays from its sidecar: K^-1 (u, v, 1) through OpenCV pixel centres, turned by its pose."""
    rows, columns = np.mgrid[0:meta["height"], 0:meta["width"]].astype(np.float64)
    pixels = np.stack([columns, rows, np.ones_like(rows)], axis=-1)
    pose = np.asarray(meta["camera_to_world_opencv"])
    return RayGrid(pose[:3, 3], pixels @ np.linalg.inv(np.asarray(meta["K"])).T @ pose[:3, :3].T)


def _opencv_rays(calibration, camera: bpy.types.Object) -> RayGrid:
    """A calibrated camera's rays from OpenCV's own inverse of the model, turned by Blender's camera matrix."""
    import cv2

    rows, columns = np.mgrid[0:calibration.height, 0:calibration.width].astype(np.float64)
    pixels = np.stack([columns, rows], axis=-1).reshape(-1, 1, 2)
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-15)
    normalized = cv2.undistortPointsIter(pixels, calibration.K, np.array(calibration.coefficients), None, None,
                                         criteria).reshape(calibration.height, calibration.width, 2)
    local = np.concatenate([normalized, np.ones(normalized.shape[:2] + (1,))], axis=-1)
    pose = np.array(camera.matrix_world.normalized(), dtype=np.float64)
    return RayGrid(pose[:3, 3], local @ (pose[:3, :3] @ OPENCV_FROM_BLENDER_CAMERA).T)


@pytest.mark.parametrize("camera", ["toe-in stereo", "radtan calibration"])
def test_each_stereo_eye_and_a_calibrated_camera_see_the_normal_in_their_own_frame(td, tmp_path: Path,
                                                                                  camera: str) -> None:
    """A toe-in eye is turned against the other (each has its own frame); a calibrated camera's pixel sees along
    OpenCV's distorted ray. The truth casts each pixel's own ray."""
    import json

    blend = tmp_path / "scene.blend"
    scene = build("PERSP")
    if camera == "toe-in stereo":
        scene.render.use_multiview, scene.render.views_format = True, "STEREO_3D"
        stereo = scene.camera.data.stereo
        stereo.convergence_mode, stereo.pivot = "TOE", "CENTER"
        stereo.interocular_distance, stereo.convergence_distance = 0.6, 5.0
    else:
        from test_calibrated import CALIBRATIONS  # strong radial-tangential distortion, 67x45, a ROS file

        name, text = CALIBRATIONS["radtan"]
        (tmp_path / name).write_text(text)
        td.apply_calibration(scene, tmp_path / name)
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    assert submodule(td, "commands.cli").main(["render", str(blend), "--output", str(tmp_path / "out"), "--outputs",
                                               "depth,camera,normal"]) == 0
    (folder,) = (tmp_path / "out").iterdir()
    bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)
    scene = bpy.data.scenes[0]
    scene.frame_set(1)
    suffixes = ("_L", "_R") if camera == "toe-in stereo" else ("",)
    seen = {}
    for suffix in suffixes:
        meta = json.loads((folder / f"camera_0001{suffix}.json").read_text())
        if camera == "toe-in stereo":
            rays = _eye_rays(meta)
        else:
            rays = _opencv_rays(submodule(td, "blender.calibrated").calibration_of(scene.camera.data), scene.camera)
        truth = normal_truth(scene, rays)
        rotation = np.asarray(meta["camera_to_world_opencv"])[:3, :3]
        got = seen[suffix] = read_point_map(folder / f"normal_0001{suffix}.exr")
        error = angle_between(got, truth.normals @ rotation)
        share = float(np.mean(error[truth.hit] <= TOLERANCE))
        print(f"{camera}{suffix}: {share:.2%} of {truth.hit.sum()} hit px within {TOLERANCE} rad, median "
              f"{np.median(error[truth.hit]):.1e}")
        assert 0.1 < truth.hit.mean() < 0.9 and share >= REQUIRED, (suffix, float(np.median(error[truth.hit])))
        assert not got[~truth.hit].any()
    if camera == "toe-in stereo":
        both = np.any(seen["_L"] != 0, axis=-1) & np.any(seen["_R"] != 0, axis=-1)
        assert np.median(angle_between(seen["_L"], seen["_R"])[both]) > 0.01, "each eye has its own frame"
