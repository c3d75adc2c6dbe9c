"""Outputs other tools load: 16-bit PNG depth, COLMAP and nerfstudio camera files, stereo disparity.

Each file is read back with its tool's own conventions and checked against the EXR depth, the camera
sidecar and (disparity) the rays cast with Blender's BVH.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import submodule
from ground_truth import cast
from real_scenes import build, decal_is_transparent

bpy = pytest.importorskip("bpy")


def run_cli(td, *args: object) -> int:
    return submodule(td, "commands.cli").main([str(arg) for arg in args])


@pytest.fixture(scope="module")
def rendered(td, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real scene (perspective), 2 frames with a moving camera, every single-view kind written."""
    folder = tmp_path_factory.mktemp("exports")
    scene = build("exports", size=(48, 32))
    camera = scene.camera
    for frame, x in ((1, 0.0), (2, 0.4)):
        camera.location.x = x
        camera.keyframe_insert("location", frame=frame)
    scene.frame_end = 2
    scene.unit_settings.scale_length = 0.5  # metres per scene unit: depth16 must honour it
    blend = folder / "exports.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    assert run_cli(td, "render", blend, "--output", folder / "out", "--outputs",
                   "depth,distance,camera,depth16,colmap,nerf", "--image-name", "rgb/frame_####.jpg") == 0
    return folder / "out" / "exports"


def world_points(depth: np.ndarray, K: np.ndarray, camera_to_world_opencv: np.ndarray) -> np.ndarray:
    rows, columns = np.mgrid[0:depth.shape[0], 0:depth.shape[1]]
    rays = np.stack([(columns - K[0, 2]) / K[0, 0], (rows - K[1, 2]) / K[1, 1], np.ones(depth.shape)], axis=-1)
    points = rays * depth[..., None]
    return points @ camera_to_world_opencv[:3, :3].T + camera_to_world_opencv[:3, 3]


def test_depth16_is_rounded_millimetres_read_by_opencv_and_imageio(td, rendered: Path) -> None:
    import cv2
    import imageio.v3 as iio

    read = submodule(td, "core.formats.exr").read_single_channel
    for frame in (1, 2):
        depth = read(rendered / f"depth_{frame:04d}.exr").astype(np.float64)
        meta = json.loads((rendered / f"camera_{frame:04d}.json").read_text())
        assert meta["depth16_scale"] == 1000.0 and meta["unit_scale"] == 0.5
        with_opencv = cv2.imread(str(rendered / f"depth16_{frame:04d}.png"), cv2.IMREAD_UNCHANGED)
        with_imageio = iio.imread(rendered / f"depth16_{frame:04d}.png")
        assert with_opencv.dtype == np.uint16 and np.array_equal(with_opencv, with_imageio)
        want = np.round(depth * 0.5 * 1000.0)
        inside = (depth > 0) & (want <= 65535)
        assert inside.mean() > 0.9
        assert np.array_equal(with_opencv[inside], want[inside].astype(np.uint16))
        assert np.all(with_opencv[~inside] == 0)


def test_colmap_files_reproduce_the_sidecar(td, rendered: Path) -> None:
    cameras = {}
    for line in (rendered / "colmap" / "cameras.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            camera_id, model, width, height, fx, fy, cx, cy = line.split()
            assert model == "PINHOLE"
            cameras[camera_id] = (int(width), int(height), float(fx), float(fy), float(cx), float(cy))
    images = [line for line in (rendered / "colmap" / "images.txt").read_text().splitlines()
              if line and not line.startswith("#")]
    assert [line.split()[-1] for line in images] == ["rgb/frame_0001.jpg", "rgb/frame_0002.jpg"]
    assert (rendered / "colmap" / "points3D.txt").is_file()
    read = submodule(td, "core.formats.exr").read_single_channel
    for frame, line in zip((1, 2), images, strict=True):
        _, qw, qx, qy, qz, tx, ty, tz, camera_id, _ = line.split()
        meta = json.loads((rendered / f"camera_{frame:04d}.json").read_text())
        width, height, fx, fy, cx, cy = cameras[camera_id]
        K = np.array([[fx, 0, cx - 0.5], [0, fy, cy - 0.5], [0, 0, 1]])  # COLMAP: pixel centres at +0.5
        np.testing.assert_allclose(K, meta["K"], rtol=1e-12)
        assert (width, height) == (meta["width"], meta["height"])
        w, x, y, z = (float(v) for v in (qw, qx, qy, qz))
        rotation = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                             [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                             [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])
        to_world = np.eye(4)
        to_world[:3, :3], to_world[:3, 3] = rotation.T, -rotation.T @ np.array([float(tx), float(ty), float(tz)])
        sidecar = np.array(meta["camera_to_world_opencv"])
        np.testing.assert_allclose(to_world[:3, 3], sidecar[:3, 3], atol=1e-9)  # the camera centre
        depth = read(rendered / f"depth_{frame:04d}.exr").astype(np.float64)
        # the quaternion is exactly orthonormal, Blender's float32 rotation to ~1e-7: compare at 1e-6 x distance
        difference = world_points(depth, K, to_world) - world_points(depth, np.array(meta["K"]), sidecar)
        assert np.max(np.linalg.norm(difference, axis=-1) / depth) <= 1e-6


def test_nerfstudio_transforms_reproduce_the_sidecar(td, rendered: Path) -> None:
    document = json.loads((rendered / "transforms.json").read_text())
    read = submodule(td, "core.formats.exr").read_single_channel
    assert document["depth_unit_scale_factor"] == pytest.approx(1e-3)  # the 16-bit PNG is written: millimetres
    for frame, entry in zip((1, 2), document["frames"], strict=True):
        meta = json.loads((rendered / f"camera_{frame:04d}.json").read_text())
        assert entry["file_path"] == f"rgb/frame_{frame:04d}.jpg"
        assert entry["depth_file_path"] == f"depth16_{frame:04d}.png"
        K = np.array(meta["K"])
        assert (entry["fl_x"], entry["fl_y"], entry["cx"] - 0.5, entry["cy"] - 0.5) == pytest.approx(
            (K[0, 0], K[1, 1], K[0, 2], K[1, 2]), rel=1e-12)
        # OpenGL camera axes: x right, y up, z backwards; pixel centres at +0.5
        depth = read(rendered / f"depth_{frame:04d}.exr").astype(np.float64)
        rows, columns = np.mgrid[0:depth.shape[0], 0:depth.shape[1]]
        rays = np.stack([(columns + 0.5 - entry["cx"]) / entry["fl_x"], -(rows + 0.5 - entry["cy"]) / entry["fl_y"],
                         -np.ones(depth.shape)], axis=-1) * depth[..., None]
        matrix = np.array(entry["transform_matrix"])
        via_nerf = rays @ matrix[:3, :3].T + matrix[:3, 3]
        np.testing.assert_allclose(via_nerf, world_points(depth, K, np.array(meta["camera_to_world_opencv"])),
                                   atol=1e-9)


def stereo_blend(path: Path, mode: str) -> Path:
    """The real scene as a Stereo 3D render, its interocular distance keyed from 0.4 (frame 1) to 0.6 (frame 2)."""
    scene = build("disparity", size=(48, 32))
    scene.render.use_multiview = True
    scene.render.views_format = "STEREO_3D"
    data = scene.camera.data
    data.stereo.convergence_mode, data.stereo.pivot = mode, "CENTER"
    data.stereo.convergence_distance = 4.0
    for frame, interocular in ((1, 0.4), (2, 0.6)):
        data.stereo.interocular_distance = interocular
        data.keyframe_insert("stereo.interocular_distance", frame=frame)
    scene.frame_start, scene.frame_end = 1, 2
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    return path


@pytest.mark.render
@pytest.mark.parametrize("mode", ["PARALLEL", "OFFAXIS"])
def test_disparity_warps_the_left_view_onto_the_right_views_surface_points(td, tmp_path: Path, mode: str) -> None:
    blend = stereo_blend(tmp_path / "disparity.blend", mode)
    assert run_cli(td, "render", blend, "--output", tmp_path / "out", "--outputs", "depth,camera,disparity") == 0
    folder = tmp_path / "out" / "disparity"
    read = submodule(td, "core.formats.exr").read_single_channel
    bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)
    scene = bpy.data.scenes["disparity"]
    for frame in (1, 2):
        scene.frame_set(frame)
        metas = {suffix: json.loads((folder / f"camera_{frame:04d}{suffix}.json").read_text())
                 for suffix in ("_L", "_R")}
        assert metas["_L"]["stereo"]["baseline"] == pytest.approx(0.4 + 0.2 * (frame - 1))
        for this, other, sign in (("_L", "_R", 1.0), ("_R", "_L", -1.0)):
            disparity = read(folder / f"disparity_{frame:04d}{this}.exr").astype(np.float64)
            depth = read(folder / f"depth_{frame:04d}{this}.exr")
            truth = cast(scene, metas[this], decal_is_transparent)
            target = np.array(metas[other]["camera_to_world_opencv"])
            local = (truth.points - target[:3, 3]) @ target[:3, :3]  # world -> the other eye's OpenCV axes
            K = np.array(metas[other]["K"])
            x_other = K[0, 0] * local[..., 0] / local[..., 2] + K[0, 2]
            y_other = K[1, 1] * local[..., 1] / local[..., 2] + K[1, 2]
            columns = np.arange(disparity.shape[1])[None, :]
            want = sign * (columns - x_other)  # x_left - x_right
            hit = truth.hit
            assert np.max(np.abs(y_other - np.arange(disparity.shape[0])[:, None])[hit]) < 1e-3, "same row"
            close = np.abs(disparity - want) <= 1e-3
            print(f"{mode} frame {frame}{this}: {close[hit].mean():.2%} within 1e-3 px; "
                  f"max {np.abs(disparity - want)[hit].max():.2e}")
            assert close[hit].mean() >= 0.995
            assert np.all(disparity[depth == 0] == 0), "no depth, no disparity"


def test_disparity_renders_on_a_farm_without_python(td, tmp_path: Path) -> None:
    """The disparity comes from the graph (keyed terms): prepare's job, rendered by a fresh Blender without the
    extension and with auto-execution off, writes the disparity render writes."""
    from test_animation import render_in_fresh_blender

    blend = stereo_blend(tmp_path / "disparity.blend", "OFFAXIS")
    args = ["--outputs", "depth,camera,disparity"]
    assert run_cli(td, "render", blend, "--output", tmp_path / "render", *args) == 0
    assert run_cli(td, "prepare", blend, "--output", tmp_path / "job" / "job.blend", "--render-output",
                   tmp_path / "farm", *args) == 0
    render_in_fresh_blender(tmp_path / "job" / "job.blend", 1, 2, tmp_path)
    read = submodule(td, "core.formats.exr").read_single_channel
    for frame in (1, 2):
        for eye in ("_L", "_R"):
            name = f"disparity/disparity_{frame:04d}{eye}.exr"
            want = read(tmp_path / "render" / name)
            assert np.abs(want).max() > 1.0, "a real disparity"
            assert np.array_equal(read(tmp_path / "farm" / name), want), name


@pytest.mark.parametrize("setup, outputs, message", [
    ("plain", "disparity", "Stereo 3D"),
    ("toe-in", "disparity", "toe-in"),
    ("ortho", "colmap", "perspective cameras only"),
    ("fisheye", "nerf", "perspective cameras only"),
])
def test_outputs_a_scene_cannot_give_are_refused_before_any_work(td, tmp_path: Path, capsys, setup: str,
                                                                 outputs: str, message: str) -> None:
    from render_helpers import CameraSetup, new_scene

    scene = new_scene(CameraSetup())
    if setup == "toe-in":
        scene.render.use_multiview = True
        scene.camera.data.stereo.convergence_mode = "TOE"
    elif setup == "ortho":
        scene.camera.data.type = "ORTHO"
    elif setup == "fisheye":
        scene.camera.data.type = "PANO"
    blend = tmp_path / "scene.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    assert run_cli(td, "render", blend, "--output", tmp_path / "out", "--outputs", outputs) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "out").exists()


def test_unknown_output_kind_is_a_usage_error(td, tmp_path: Path, capsys) -> None:
    assert run_cli(td, "example", "--output", tmp_path, "--outputs", "depth,normals") == 2
    assert "unknown output kind" in capsys.readouterr().err
    assert not os.listdir(tmp_path)
