"""Every panoramic camera type, exact: node vs Cycles' own Position pass (the hit point) in a closed room.

For panoramic cameras Cycles' Z pass is the ray distance (checked here against |hit - camera|), so the
Distance to Depth node is fed with Z, and its depth is compared with the hit point's coordinate along the
view axis: <= 1e-5 x distance. The inverse node gets that true depth back to the distance.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import submodule
from ground_truth import read_point_map

bpy = pytest.importorskip("bpy")

PANORAMAS = {
    "EQUIRECTANGULAR-full": dict(panorama_type="EQUIRECTANGULAR"),
    "EQUIRECTANGULAR-ranges-shift": dict(panorama_type="EQUIRECTANGULAR", latitude_min=-1.0, latitude_max=1.3,
                                         longitude_min=-2.6, longitude_max=2.2, shift_x=0.03, shift_y=-0.05),
    "EQUIANGULAR_CUBEMAP_FACE": dict(panorama_type="EQUIANGULAR_CUBEMAP_FACE"),
    "EQUIANGULAR_CUBEMAP_FACE-shift": dict(panorama_type="EQUIANGULAR_CUBEMAP_FACE", shift_x=0.1, shift_y=0.05),
    "MIRRORBALL": dict(panorama_type="MIRRORBALL"),
    "MIRRORBALL-shift": dict(panorama_type="MIRRORBALL", shift_x=-0.04),
    "FISHEYE_EQUIDISTANT-180": dict(panorama_type="FISHEYE_EQUIDISTANT", fisheye_fov=math.pi),
    "FISHEYE_EQUIDISTANT-270-portrait": dict(panorama_type="FISHEYE_EQUIDISTANT", fisheye_fov=4.7, portrait=True),
    "FISHEYE_EQUISOLID": dict(panorama_type="FISHEYE_EQUISOLID"),
    "FISHEYE_EQUISOLID-vertical-aspect": dict(panorama_type="FISHEYE_EQUISOLID", fisheye_lens=7.0, fisheye_fov=3.4,
                                              sensor_fit="VERTICAL", portrait=True, pixel_aspect_x=2.0),
    "FISHEYE_LENS_POLYNOMIAL": dict(panorama_type="FISHEYE_LENS_POLYNOMIAL"),
    "FISHEYE_LENS_POLYNOMIAL-custom": dict(panorama_type="FISHEYE_LENS_POLYNOMIAL", fisheye_polynomial_k1=-0.03,
                                           fisheye_polynomial_k2=2e-5, fisheye_fov=3.9, sensor_fit="VERTICAL",
                                           shift_y=0.05),
    "CENTRAL_CYLINDRICAL": dict(panorama_type="CENTRAL_CYLINDRICAL"),
    "CENTRAL_CYLINDRICAL-custom": dict(panorama_type="CENTRAL_CYLINDRICAL", central_cylindrical_range_u_min=-2.0,
                                       central_cylindrical_range_u_max=2.8, central_cylindrical_range_v_min=-0.7,
                                       central_cylindrical_range_v_max=1.4, central_cylindrical_radius=1.7,
                                       shift_x=0.02),
}
STEMS = ("z", "px", "py", "pz", "depth_node", "distance_node")


def room_scene(settings: dict, size: tuple[int, int] = (48, 32)) -> bpy.types.Scene:
    """A camera at an off-centre point of a closed box (every ray hits a wall), rotated, panoramic."""
    settings = dict(settings)
    portrait = settings.pop("portrait", False)
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y = size[::-1] if portrait else size
    scene.render.resolution_percentage = 100
    scene.render.pixel_aspect_x = settings.pop("pixel_aspect_x", 1.0)
    scene.render.engine = "CYCLES"
    scene.cycles.samples = 1
    scene.cycles.device = "CPU"
    scene.cycles.filter_width = 0.01
    half = (7.0, 5.0, 4.0)
    corners = [(sx * half[0], sy * half[1], sz * half[2]) for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)]
    mesh = bpy.data.meshes.new("Room")
    mesh.from_pydata(corners, [], [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4),
                                   (1, 5, 7, 3)])
    scene.collection.objects.link(bpy.data.objects.new("Room", mesh))
    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    camera.location, camera.rotation_euler = (1.3, -0.8, 0.6), (1.2, 0.1, 0.7)
    camera.data.type = "PANO"
    for name, value in settings.items():
        setattr(camera.data, name, value)
    scene.collection.objects.link(camera)
    scene.camera = camera
    view_layer = scene.view_layers[0]
    view_layer.use_pass_z = True
    view_layer.use_pass_position = True
    return scene


def wire(td, scene: bpy.types.Scene, out_dir: Path) -> None:
    compat = submodule(td, "blender.compat")
    tree = compat.fresh_compositor_tree(scene)
    layers = tree.nodes.new("CompositorNodeRLayers")
    layers.scene = scene
    separate = tree.nodes.new("CompositorNodeSeparateColor")
    tree.links.new(layers.outputs["Position"], separate.inputs[0])
    forward = td.add_true_depth_node(scene, mode="DISTANCE_TO_DEPTH")
    inverse = td.add_true_depth_node(scene, mode="DEPTH_TO_DISTANCE", location=(0, -400))
    tree.links.new(layers.outputs["Depth"], forward.inputs[0])
    tree.links.new(forward.outputs[0], inverse.inputs[0])
    _, sockets = compat.new_exr_file_output(tree, str(out_dir), [f"{stem}_####" for stem in STEMS])
    sources = (layers.outputs["Depth"], separate.outputs[0], separate.outputs[1], separate.outputs[2],
               forward.outputs[0], inverse.outputs[0])
    for source, socket in zip(sources, sockets, strict=True):
        tree.links.new(source, socket)
    compat.use_cpu_compositor(scene)


def truth(scene: bpy.types.Scene, position: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Planar depth and distance of the Position pass's hit points (camera world matrix normalized)."""
    to_camera = np.linalg.inv(np.array(scene.camera.matrix_world.normalized()))
    local = position @ to_camera[:3, :3].T + to_camera[:3, 3]
    return -local[..., 2], np.linalg.norm(local, axis=-1)


@pytest.mark.render
@pytest.mark.parametrize("settings", PANORAMAS.values(), ids=PANORAMAS.keys())
def test_panoramic_node_matches_the_hit_points(td, out_dir: Path, settings: dict) -> None:
    scene = room_scene(settings)
    wire(td, scene, out_dir)
    (node, _) = submodule(td, "blender.group").true_depth_nodes(submodule(td, "blender.compat").compositor_tree(scene))
    assert node.node_tree.name.endswith("(panoramic)"), "a panoramic camera gets the panoramic variant"
    scene.frame_set(1)
    with bpy.context.temp_override(scene=scene):
        bpy.ops.render.render(write_still=False)
    read = submodule(td, "core.formats.exr").read_single_channel
    z, px, py, pz, depth, distance = (read(out_dir / f"{stem}_0001.exr").astype(np.float64) for stem in STEMS)
    want_depth, want_distance = truth(scene, np.stack([px, py, pz], axis=-1))
    hit = z < 1e9
    assert hit.mean() > 0.3
    assert np.allclose(z[hit], want_distance[hit], rtol=1e-5), "Cycles' Z of a panoramic camera is the distance"
    error = np.abs(depth - want_depth)[hit] / want_distance[hit]
    print(f"{scene.camera.data.panorama_type}: max |depth error| / distance {error.max():.2e} over {hit.sum()} px; "
          f"{(want_depth[hit] < 0).sum()} px look backwards")
    assert error.max() <= 1e-5
    assert np.all(depth[~hit] == 0) and np.all(distance[~hit] == 0), "no ray: 0 in both directions"
    steep = hit & (np.abs(want_depth) > 0.05 * want_distance)  # the inverse divides by cos
    assert np.allclose(distance[steep], z[steep], rtol=2e-5 / 0.05)
    camera = submodule(td, "core.camera").camera_from_scene(scene)
    want = submodule(td, "core.reference").distance_to_depth(np.where(hit, z, 0.0), camera)
    assert np.all(np.abs(depth - want)[hit] <= 2e-6 * z[hit]), "node vs reference on the same input (float32)"
    assert np.all(want[~hit] == 0)


@pytest.mark.render
def test_render_job_pointcloud_and_sidecar_of_a_fisheye(td, tmp_path: Path) -> None:
    """`render` (Z is the distance here), the sidecar's projection model, and `pointcloud --world`."""
    scene = room_scene(PANORAMAS["FISHEYE_EQUISOLID-vertical-aspect"])
    scene.frame_end = 1
    blend = tmp_path / "fisheye.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    cli = submodule(td, "commands.cli")
    assert cli.main(["render", str(blend), "--output", str(tmp_path / "out"), "--outputs",
                     "depth,distance,preview,camera,points"]) == 0
    folder = tmp_path / "out" / "Scene"
    meta = json.loads((folder / "camera_0001.json").read_text())
    assert meta["K"] is None and meta["projection"] == "PANO"
    assert meta["projection_model"]["panorama_type"] == "FISHEYE_EQUISOLID"
    assert meta["projection_model"]["parameters"]["fisheye_lens"] == pytest.approx(7.0)
    read = submodule(td, "core.formats.exr").read_single_channel
    depth, distance = read(folder / "depth_0001.exr"), read(folder / "distance_0001.exr")
    bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)
    scene = bpy.context.scene
    wire(td, scene, tmp_path / "truth")
    with bpy.context.temp_override(scene=scene):
        bpy.ops.render.render(write_still=False)
    px, py, pz = (read(tmp_path / "truth" / f"{stem}_0001.exr").astype(np.float64) for stem in ("px", "py", "pz"))
    want_depth, want_distance = truth(scene, np.stack([px, py, pz], axis=-1))
    hit = distance > 0
    assert np.abs(depth - want_depth)[hit].max() <= 1e-5 * want_distance[hit].max()
    for engine in ("numpy", "node"):  # convert: the rendered distance back to depth, with the sidecar's model
        assert cli.main(["convert", str(folder / "distance_0001.exr"), "--camera", str(folder / "camera_0001.json"),
                         "--output", str(tmp_path / engine), "--engine", engine]) == 0
        converted = read(tmp_path / engine / "Scene" / "depth_0001.exr")
        assert np.abs(converted - want_depth)[hit].max() <= 1e-5 * want_distance[hit].max(), engine
        assert np.all(converted[~hit] == 0), engine
    ply = tmp_path / "points.ply"
    assert cli.main(["pointcloud", str(folder / "depth_0001.exr"), str(folder / "camera_0001.json"), str(ply),
                     "--world"]) == 0
    points = submodule(td, "core.outputs.pointcloud").read_ply(ply).astype(np.float64)
    want = np.stack([px, py, pz], axis=-1)[hit & (depth != 0)]
    assert points.shape == want.shape
    error = np.linalg.norm(points - want, axis=1) / want_distance[hit & (depth != 0)]
    # depth -> point divides by cos: rays nearly perpendicular to the view axis amplify float32 depth steps
    assert np.mean(error <= 1e-4) >= 0.995 and error.max() <= 1e-3, (np.mean(error <= 1e-4), error.max())
    # the job's point map lies along each pixel's ray at its distance: no such loss
    to_world = np.asarray(meta["camera_to_world_opencv"])
    local = (np.stack([px, py, pz], axis=-1) - to_world[:3, 3]) @ to_world[:3, :3]
    got = read_point_map(folder / "points_0001.exr")
    error = np.linalg.norm(got - local, axis=-1)[hit] / want_distance[hit]
    print(f"fisheye points: {np.mean(error <= 1e-4):.2%} of {hit.sum()} px within 1e-4 x distance, "
          f"max {error.max():.1e}")
    assert np.mean(error <= 1e-4) >= 0.995 and error.max() <= 1e-4, (np.mean(error <= 1e-4), error.max())
    assert np.all(got[~hit] == 0)


def test_a_camera_becoming_panoramic_swaps_the_group_and_keeps_links(td) -> None:
    from render_helpers import CameraSetup, new_scene

    scene = new_scene(CameraSetup())
    tree = submodule(td, "blender.compat").compositor_tree(scene)
    layers = tree.nodes.new("CompositorNodeRLayers")
    node = td.add_true_depth_node(scene)
    tree.links.new(layers.outputs["Depth"], node.inputs[0])
    viewer = tree.nodes.new("CompositorNodeViewer")
    tree.links.new(node.outputs[0], viewer.inputs[0])
    assert node.node_tree.name == "True Depth"
    scene.camera.data.type = "PANO"
    scene.camera.data.panorama_type = "EQUIRECTANGULAR"
    bpy.context.view_layer.update()  # the extension's handler re-binds
    assert node.node_tree.name == "True Depth (panoramic)"
    assert node.inputs[0].is_linked and node.outputs[0].is_linked
    assert submodule(td, "blender.binding").node_problem(node, tree) is None


def test_mixed_panoramic_and_pinhole_cameras_are_refused_by_render(td, tmp_path: Path) -> None:
    from render_helpers import CameraSetup, new_scene

    scene = new_scene(CameraSetup())
    fisheye = scene.camera.copy()
    fisheye.data = scene.camera.data.copy()
    fisheye.data.type = "PANO"
    scene.collection.objects.link(fisheye)
    scene.timeline_markers.new("A", frame=1).camera = scene.camera
    scene.timeline_markers.new("B", frame=2).camera = fisheye
    blend = tmp_path / "mixed.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    assert submodule(td, "commands.cli").main(["render", str(blend), "--output", str(tmp_path / "out")]) == 1
    assert not (tmp_path / "out").exists()
