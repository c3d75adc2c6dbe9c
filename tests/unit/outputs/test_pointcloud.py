"""Point clouds (core/outputs/pointcloud.py): points on known surfaces, calibrated rays reprojected by OpenCV,
PLY round trips."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from depth_node.core import outputs
from depth_node.core.calibration import Calibration
from depth_node.core.camera import BlenderCamera
from depth_node.core.formats import exr
from depth_node.core.outputs import pointcloud, sidecar
from depth_node.core.outputs.pointcloud import calibrated_points
from depth_node.core.outputs.preview import BACKGROUND_LIMIT
from depth_node.core.reference import depth_to_distance, distance_to_depth

from ..samples import CAMERAS, SPECIAL_VALUE_CAMERAS, rotation_about

RADTAN = Calibration(40, 30, 45.0, 47.5, 20.3, 14.1, "radtan", (-0.06, 0.01, 0.001, -0.0015, -0.002))


FISHEYE = Calibration(36, 36, 20.0, 20.3, 17.7, 18.1, "fisheye", (0.05, -0.012, 0.004, -0.0006))


def reprojected(points: np.ndarray, calibration: Calibration) -> np.ndarray:
    K = np.array([[calibration.fx, 0, calibration.cx], [0, calibration.fy, calibration.cy], [0, 0, 1]])
    coefficients = np.array(calibration.coefficients)
    if calibration.model == "fisheye":
        pixels = cv2.fisheye.projectPoints(points.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), K, coefficients)[0]
    else:
        pixels = cv2.projectPoints(points.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), K, coefficients)[0]
    return pixels.reshape(-1, 2)


REPO = Path(__file__).resolve().parents[3]


def test_calibrated_points_keep_every_pixel_with_a_ray_and_drop_folded_ones() -> None:
    # k1 this negative folds the model over near the corners: those pixels have no ray (NaN)
    folded = Calibration(41, 31, 30.0, 30.0, 20.0, 15.0, "radtan", (-0.6, 0.0, 0.0, 0.0, 0.0))
    rays = folded.pixel_rays()
    has_ray = np.isfinite(rays).all(axis=-1)
    assert 0 < (~has_ray).sum() < has_ray.sum(), "the fixture must fold somewhere, not everywhere"
    assert np.array_equal(rays[15, 20], [0.0, 0.0, 1.0]), "the principal point is a pixel centre: its ray is +z"
    depth = np.full((31, 41), 2.0)
    points = calibrated_points(depth, folded)
    assert len(points) == has_ray.sum()
    np.testing.assert_allclose(points[:, 2], 2.0)
    expected = rays[has_ray] * (2.0 / rays[has_ray][:, 2:3])
    np.testing.assert_allclose(points, expected, rtol=1e-12)


@pytest.mark.parametrize("calibration", [RADTAN, FISHEYE], ids=["radtan", "fisheye"])
def test_calibrated_points_lie_on_their_pixels_rays_at_their_depth(calibration: Calibration) -> None:
    depth = np.random.default_rng(4).uniform(0.5, 9.0, (calibration.height, calibration.width))
    points = pointcloud.calibrated_points(depth, calibration, stride=2)
    rows, columns = np.mgrid[0:calibration.height:2, 0:calibration.width:2]
    assert points.shape == (rows.size, 3)
    np.testing.assert_allclose(points[:, 2], depth[rows, columns].ravel(), rtol=1e-12)
    np.testing.assert_allclose(reprojected(points, calibration), np.column_stack([columns.ravel(), rows.ravel()]),
                               atol=1e-5)


def test_calibrated_points_drop_background_and_keep_the_max_depth_itself() -> None:
    depth = np.full((RADTAN.height, RADTAN.width), 3.0)
    depth[0, :4] = [BACKGROUND_LIMIT, np.nextafter(BACKGROUND_LIMIT, 0), 0.0, np.nan]
    depth[1, :3] = [5.0, np.nextafter(5.0, 9), -2.0]  # max depth 5: 5 is kept, the next float not
    points = pointcloud.calibrated_points(depth, RADTAN, max_depth=5.0)
    assert len(points) == depth.size - 5
    assert np.isclose(points[:, 2], 5.0, rtol=1e-12, atol=0).sum() == 1  # 5 itself, not the next float
    assert np.isclose(points[:, 2], -2.0, rtol=1e-12, atol=0).sum() == 1  # |depth| is what counts
    everything = pointcloud.calibrated_points(depth, RADTAN)
    assert len(everything) == depth.size - 3
    assert np.isclose(everything[:, 2], BACKGROUND_LIMIT, rtol=1e-12, atol=0).sum() == 1  # just below the limit


def test_calibrated_points_refuse_a_mismatched_image_and_a_zero_stride() -> None:
    with pytest.raises(ValueError, match=r"^the depth image is 40x31, the calibration 40x30$"):
        pointcloud.calibrated_points(np.ones((31, 40)), RADTAN)
    with pytest.raises(ValueError, match=r"^stride must be >= 1, got 0$"):
        pointcloud.calibrated_points(np.ones((30, 40)), RADTAN, stride=0)
    assert len(pointcloud.calibrated_points(np.ones((30, 40)), RADTAN, stride=1)) == 1200


def test_depth_to_points_background_limit_and_max_depth_are_exact() -> None:
    camera = BlenderCamera.from_settings(resolution_x=6, resolution_y=2, lens=30.0)
    depth = np.array([[BACKGROUND_LIMIT, np.nextafter(BACKGROUND_LIMIT, 0), 4.0, np.nextafter(4.0, 5), -1.0, 0.0],
                      [1.0, 2.0, np.inf, 3.0, 4.0, 1e10]])
    K = camera.matrix()
    everything = pointcloud.depth_to_points(depth, K)
    assert sorted(everything[:, 2]) == sorted([np.nextafter(BACKGROUND_LIMIT, 0), 4.0, np.nextafter(4.0, 5), 1.0,
                                              2.0, 3.0, 4.0])
    near = pointcloud.depth_to_points(depth, K, max_depth=4.0)
    assert sorted(near[:, 2]) == [1.0, 2.0, 3.0, 4.0, 4.0]
    # a perspective camera drops negative depth; a panoramic one keeps it (its rays can look backwards)
    pano = BlenderCamera.from_settings(projection="PANO", panorama_type="EQUIRECTANGULAR", resolution_x=6,
                                       resolution_y=2)
    assert -1.0 in pointcloud.depth_to_points(depth, pano, max_depth=4.0)[:, 2]
    assert -1.0 not in pointcloud.depth_to_points(depth, camera, max_depth=4.0)[:, 2]


def test_depth_to_points_refuses_what_is_not_an_image() -> None:
    with pytest.raises(ValueError, match=r"^expected an HxW depth image, got shape \(2, 2, 1\)$"):
        pointcloud.depth_to_points(np.ones((2, 2, 1)), np.eye(3))
    with pytest.raises(ValueError, match=r"^stride must be >= 1, got 0$"):
        pointcloud.depth_to_points(np.ones((2, 2)), np.eye(3), stride=0)


@pytest.mark.parametrize("seed", range(3))
def test_to_world_moves_points_with_a_random_pose_like_opencv(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rvec, tvec = rng.uniform(-2, 2, 3), rng.uniform(-10, 10, 3)
    rotation = cv2.Rodrigues(rvec)[0]  # world -> camera
    pose = np.eye(4)
    pose[:3, :3], pose[:3, 3] = rotation.T, -rotation.T @ tvec  # camera -> world
    world = rng.uniform(-5, 5, (20, 3))
    camera_points = world @ rotation.T + tvec
    np.testing.assert_allclose(pointcloud.to_world(camera_points, pose), world, atol=1e-12)
    # and through OpenCV's projector: the world points land where the camera points do
    K = np.array([[50.0, 0, 20], [0, 55.0, 15], [0, 0, 1]])
    front = camera_points[:, 2] > 0.5
    seen = cv2.projectPoints(world[front].reshape(-1, 1, 3), rvec, tvec, K, None)[0].reshape(-1, 2)
    direct = camera_points[front] @ K.T
    np.testing.assert_allclose(seen, direct[:, :2] / direct[:, 2:], atol=1e-9)
    with pytest.raises(ValueError, match=r"^camera_to_world must be 4x4, got \(3, 4\)$"):
        pointcloud.to_world(camera_points, pose[:3])


def test_ply_round_trip_survives_data_that_spells_the_header_end(tmp_path: Path) -> None:
    # 12 bytes of float data reading "end_header\n" followed by one more byte
    tricky = np.frombuffer(b"end_header\n\x00", dtype="<f4").reshape(1, 3)
    points = np.vstack([tricky, [[1.5, -2.0, 3.25]], tricky]).astype(np.float32)
    path = tmp_path / "p.ply"
    pointcloud.write_ply(path, points)
    data = path.read_bytes()
    assert data.startswith(b"ply\nformat binary_little_endian 1.0\n") and b"element vertex 3\n" in data
    assert data.count(b"end_header\n") == 3
    np.testing.assert_array_equal(pointcloud.read_ply(path).view(np.uint32), points.view(np.uint32))


@pytest.mark.parametrize("camera", CAMERAS.values(), ids=CAMERAS.keys())
def test_points_of_a_wall_lie_on_the_wall(camera: BlenderCamera) -> None:
    depth = np.full((camera.height, camera.width), 4.0, dtype=np.float32)
    depth[0, 0], depth[1, 1], depth[2, 2] = 0.0, 1e10, np.nan  # background: dropped
    points = pointcloud.depth_to_points(depth, camera.matrix(), camera.projection)
    assert points.shape == (depth.size - 3, 3)
    np.testing.assert_allclose(points[:, 2], 4.0)
    # The distance to the camera origin equals what the reference says the distance image holds.
    expected = depth_to_distance(np.full(depth.shape, 4.0), camera.matrix(), camera.projection)
    assert np.isclose(np.linalg.norm(points, axis=1).max(), expected.max())
    strided = pointcloud.depth_to_points(depth, camera.matrix(), camera.projection, stride=3)
    assert len(strided) == len(range(0, camera.height, 3)) * len(range(0, camera.width, 3)) - 1


def test_world_transform_and_ply_round_trip(tmp_path: Path) -> None:
    points = np.array([[0.0, 0.0, 1.0], [1.0, 2.0, 3.0]])
    to_world = np.eye(4)
    to_world[:3, 3] = (10.0, 20.0, 30.0)
    moved = pointcloud.to_world(points, to_world)
    np.testing.assert_allclose(moved, points + (10, 20, 30))
    path = tmp_path / "points.ply"
    pointcloud.write_ply(path, moved)
    assert path.read_bytes().startswith(b"ply\nformat binary_little_endian 1.0\n")
    np.testing.assert_array_equal(pointcloud.read_ply(path), moved.astype(np.float32))


def test_pointcloud_runs_in_plain_python_without_bpy(tmp_path: Path) -> None:
    """``python -m depth_node pointcloud`` needs numpy and OpenEXR only (the module import is bpy-free)."""
    pytest.importorskip("OpenEXR", reason="OpenEXR is a test dependency (tools/requirements-test.txt)")
    camera = CAMERAS["persp"]
    exr.write_single_channel(tmp_path / "depth.exr", np.full((camera.height, camera.width), 2.0, np.float32))
    (tmp_path / "camera.json").write_text(json.dumps(sidecar.camera_metadata(camera, np.eye(4), 0.1, 100, 1)))
    script = ("import sys, builtins; real = builtins.__import__\n"
              "def guard(name, *a, **k):\n"
              "    if name.split('.')[0] in ('bpy', 'mathutils'): raise ImportError('bpy is not allowed here')\n"
              "    return real(name, *a, **k)\n"
              "builtins.__import__ = guard\n"
              "import runpy; sys.argv = ['depth_node', *sys.argv[1:]]\n"
              "runpy.run_module('depth_node', run_name='__main__')\n")
    args = ["pointcloud", str(tmp_path / "depth.exr"), str(tmp_path / "camera.json"), str(tmp_path / "out.ply"),
            "--world", "--stride", "2"]
    result = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert result.returncode == 0, result.stderr
    points = pointcloud.read_ply(tmp_path / "out.ply")
    assert len(points) == 20 * 15
    np.testing.assert_allclose(points[:, 2], -2.0, rtol=1e-6)  # world: the camera looks down -Z
    again = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, cwd=REPO,
                           env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert again.returncode == 1 and "--overwrite" in again.stderr


def _sidecar(camera: BlenderCamera, to_world: np.ndarray, clip_end: float = 100.0) -> dict:
    return sidecar.camera_metadata(camera, to_world @ np.diag([1.0, -1.0, -1.0, 1.0]), 0.1, clip_end, 1.0)


def test_point_map_puts_each_pixels_point_at_its_own_pixel_centre_and_zero_where_no_surface() -> None:
    camera = BlenderCamera.from_settings(lens=30, resolution_x=40, resolution_y=30, shift_x=0.1, shift_y=-0.05)
    meta = _sidecar(camera, np.eye(4), clip_end=9.0)
    depth = np.linspace(1.0, 8.0, 40 * 30).reshape(30, 40)
    depth[3, 5], depth[4, 6], depth[5, 7], depth[6, 8] = 0.0, 1e10, np.nan, 9.5  # no surface; beyond the clip end
    points = pointcloud.point_map(depth, meta)
    K = np.asarray(meta["K"])
    rows, columns = np.mgrid[0:30, 0:40].astype(np.float64)  # OpenCV pixel centres are integers
    expected = np.stack([(columns - K[0, 2]) / K[0, 0] * depth, (rows - K[1, 2]) / K[1, 1] * depth, depth], -1)
    surface = np.ones((30, 40), dtype=bool)
    surface[3, 5] = surface[4, 6] = surface[5, 7] = surface[6, 8] = False
    np.testing.assert_allclose(points[surface], expected[surface], rtol=1e-12)
    assert np.all(points[~surface] == 0)
    # the same unprojection as the PLY's
    np.testing.assert_array_equal(points[surface], pointcloud.depth_to_points(depth, camera, camera.model,
                                                                              max_depth=9.0))


@pytest.mark.parametrize("name", ["orthographic", "equirectangular", "fisheye"])
def test_point_map_of_other_cameras_lies_on_their_rays_at_their_depth(name: str) -> None:
    camera = SPECIAL_VALUE_CAMERAS[name]
    meta = _sidecar(camera, np.eye(4))
    # an orthographic camera's planar depth 3 is a plane; a panorama's ray distance 3 a sphere around it
    depth = np.full((camera.height, camera.width), 3.0) if camera.projection == "ORTHO" else \
        distance_to_depth(np.full((camera.height, camera.width), 3.0), camera)
    points = pointcloud.point_map(depth, meta)
    surface = np.isfinite(depth) & (depth != 0)
    assert surface.sum() >= camera.width  # most pixels have a ray
    if camera.projection == "ORTHO":  # parallel rays: every point at its depth, spread over the view's width
        np.testing.assert_allclose(points[surface][:, 2], 3.0, rtol=1e-12)
        assert np.ptp(points[surface][:, 0]) > 4.0
    else:  # a sphere of radius 3 around the camera
        np.testing.assert_allclose(np.linalg.norm(points[surface], axis=-1), 3.0, rtol=1e-9)
    assert np.all(points[~surface] == 0)


def test_point_files_are_float32_rgb_exrs_in_the_camera_and_the_world_frame(tmp_path: Path) -> None:
    camera = BlenderCamera.from_settings(lens=35, resolution_x=12, resolution_y=8)
    to_world = np.eye(4)
    to_world[:3, :3] = rotation_about([0.3, 1.0, -0.2], 0.7)
    to_world[:3, 3] = [1.0, -2.0, 0.5]
    meta = _sidecar(camera, to_world)
    depth = np.full((8, 12), 2.5)
    depth[0, 0] = 0.0
    data = outputs.FrameData(1, depth, None, meta)
    for name in ("points", "points_world"):
        outputs.BY_NAME[name].write(tmp_path / f"{name}.exr", data)
    import OpenEXR  # noqa: PLC0415  (the format's own reader)

    read = {name: {key: channel.pixels for key, channel in
                   OpenEXR.File(str(tmp_path / f"{name}.exr"), separate_channels=True).channels().items()}
            for name in ("points", "points_world")}
    assert all(sorted(channels) == ["B", "G", "R"] for channels in read.values())
    assert all(channels["R"].dtype == np.float32 for channels in read.values())
    local = np.stack([read["points"][axis] for axis in "RGB"], -1).astype(np.float64)
    world = np.stack([read["points_world"][axis] for axis in "RGB"], -1).astype(np.float64)
    np.testing.assert_allclose(local[..., 2][depth > 0], 2.5, rtol=1e-7)
    np.testing.assert_allclose(world[depth > 0], local[depth > 0] @ to_world[:3, :3].T + to_world[:3, 3],
                               rtol=1e-6, atol=1e-6)
    assert np.all(local[0, 0] == 0) and np.all(world[0, 0] == 0)


@pytest.mark.parametrize("name", ["equirectangular", "fisheye", "mirror ball"])
def test_a_panoramas_point_map_from_the_ray_distance_agrees_with_the_one_from_depth(name: str) -> None:
    camera = SPECIAL_VALUE_CAMERAS[name]
    meta = _sidecar(camera, np.eye(4))
    distance = np.linspace(1.0, 5.0, camera.width * camera.height).reshape(camera.height, camera.width)
    depth = distance_to_depth(distance, camera)
    from_distance = pointcloud.point_map(depth, meta, np.where(depth != 0, distance, 0.0))
    from_depth = pointcloud.point_map(depth, meta)
    surface = np.any(from_depth != 0, axis=-1)
    assert surface.sum() >= camera.width
    np.testing.assert_allclose(np.linalg.norm(from_distance[surface], axis=-1), distance[surface], rtol=1e-12)
    np.testing.assert_allclose(from_distance[surface], from_depth[surface], rtol=1e-9, atol=1e-9)


def test_a_fisheyes_points_use_opencv_axes_x_right_y_down_z_forward() -> None:
    camera = BlenderCamera.from_settings(projection="PANO", panorama_type="FISHEYE_EQUIDISTANT", fisheye_fov=3.0,
                                         resolution_x=7, resolution_y=5)
    meta = _sidecar(camera, np.eye(4))
    distance = np.full((5, 7), 3.0)
    points = pointcloud.point_map(distance_to_depth(distance, camera), meta, distance)
    np.testing.assert_allclose(points[2, 3], [0.0, 0.0, 3.0], atol=1e-12)  # the centre pixel looks ahead
    assert points[2, 4, 0] > 0.5 and abs(points[2, 4, 1]) < 1e-12  # one to the right: +x
    assert points[3, 3, 1] > 0.5 and abs(points[3, 3, 0]) < 1e-12  # one down: +y
    assert np.all(points[1:4, 2:5, 2] > 0)


def test_a_calibrated_sidecars_point_map_follows_the_models_rays_to_each_depth() -> None:
    meta = {**RADTAN.to_dict(), "clip_end": 9.0}
    depth = np.linspace(1.0, 8.0, RADTAN.width * RADTAN.height).reshape(RADTAN.height, RADTAN.width)
    depth[2, 3], depth[4, 5] = 0.0, 9.5
    points = pointcloud.point_map(depth, meta)
    surface = np.ones(depth.shape, dtype=bool)
    surface[2, 3] = surface[4, 5] = False
    np.testing.assert_allclose(points[surface][:, 2], depth[surface], rtol=1e-12)
    pixels = reprojected(points[surface], RADTAN)  # OpenCV images each point back at its own pixel centre
    rows, columns = np.nonzero(surface)
    np.testing.assert_allclose(pixels, np.stack([columns, rows], axis=-1), atol=1e-6)
    assert np.all(points[~surface] == 0)


def test_a_point_map_refuses_a_depth_of_another_size_and_clips_a_panoramas_distance() -> None:
    camera = SPECIAL_VALUE_CAMERAS["fisheye"]
    meta = _sidecar(camera, np.eye(4), clip_end=4.0)
    with pytest.raises(ValueError, match=r"^the depth image is 5x4, the camera 6x4$"):
        pointcloud.point_map(np.ones((4, 5)), meta)
    distance = np.full((camera.height, camera.width), 3.0)
    distance[0, 2], distance[1, 3], distance[2, 2] = 4.5, 0.0, 4.0  # beyond the clip end; no surface; at it
    depth = distance_to_depth(np.where(distance > 4, 3.0, distance), camera)
    points = pointcloud.point_map(depth, meta, distance)
    assert np.all(points[0, 2] == 0) and np.all(points[1, 3] == 0)
    rows, columns = np.mgrid[0:camera.height, 0:camera.width].astype(np.float64)
    has_ray = camera.model.pixel_directions(camera, columns, rows)[1]
    assert 0 < (~has_ray).sum() and np.all(points[~has_ray] == 0)  # a pixel without a ray has no point
    np.testing.assert_allclose(np.linalg.norm(points[1, 2]), 3.0, rtol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(points[2, 2]), 4.0, rtol=1e-12)  # the clip end itself renders



def test_ply_with_normals_reads_in_plyfile_with_the_normal_as_colour(tmp_path: Path) -> None:
    from plyfile import PlyData

    rng = np.random.default_rng(4)
    points = rng.normal(size=(50, 3))
    normals = rng.normal(size=(50, 3))
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    normals[0] = [1.0, -1.0, 0.0] / np.sqrt(2.0)
    normals[1] = [0.0, 0.0, 0.0]  # no normal: 0 and mid-grey
    path = tmp_path / "n.ply"
    pointcloud.write_ply(path, points, normals)
    vertex = PlyData.read(str(path))["vertex"]
    assert [p.name for p in vertex.properties] == ["x", "y", "z", "nx", "ny", "nz", "red", "green", "blue"]
    assert vertex["red"].dtype == np.uint8 and vertex["nx"].dtype == np.float32
    np.testing.assert_array_equal(np.stack([vertex[a] for a in "xyz"], axis=1), points.astype(np.float32))
    np.testing.assert_array_equal(np.stack([vertex[f"n{a}"] for a in "xyz"], axis=1), normals.astype(np.float32))
    colours = np.stack([vertex[name] for name in ("red", "green", "blue")], axis=1).astype(np.int64)
    assert colours[0].tolist() == [218, 37, 128] and colours[1].tolist() == [128, 128, 128]
    assert np.abs(colours - (normals + 1.0) / 2.0 * 255.0).max() <= 0.5
    np.testing.assert_array_equal(pointcloud.read_ply(path), points.astype(np.float32))
    assert pointcloud.read_ply_vertices(path)["blue"].tolist() == vertex["blue"].tolist()
    with pytest.raises(ValueError, match="^49 normals for 50 points$"):
        pointcloud.write_ply(path, points, normals[1:])


def test_surface_values_follow_the_points_of_a_strided_grid() -> None:
    camera = CAMERAS["persp"]
    depth = np.full((camera.height, camera.width), 3.0)
    depth[2, 4] = 0.0  # background, on the grid
    keep, points = pointcloud.surface_points(depth, camera, None, stride=2)
    rows, columns = np.mgrid[0:camera.height, 0:camera.width]
    index = np.stack([rows, columns], axis=-1)
    picked = pointcloud.surface_values(index, keep, stride=2)
    assert len(picked) == len(points) == keep.sum() == keep.size - 1
    np.testing.assert_array_equal(picked, index[::2, ::2][keep])
    assert np.all(picked % 2 == 0)
    want = pointcloud.depth_to_points(depth, camera, camera.model, stride=2)
    np.testing.assert_array_equal(points, want)


def test_ply_headers_are_exactly_the_usual_ones_and_bytes_after_the_vertices_are_not_points(tmp_path: Path) -> None:
    path = tmp_path / "h.ply"
    pointcloud.write_ply(path, [0.5, 1.0, 2.0, 3.0, 4.0, 5.0])  # flat: two points
    expected = (b"ply\nformat binary_little_endian 1.0\ncomment written by True Depth\nelement vertex 2\n"
                b"property float x\nproperty float y\nproperty float z\nend_header\n")
    assert path.read_bytes() == expected + np.array([0.5, 1, 2, 3, 4, 5], "<f4").tobytes()
    pointcloud.write_ply(path, np.zeros((1, 3)), np.array([[0.0, 0.0, -1.0]]))
    header = path.read_bytes().split(b"end_header\n")[0].decode().splitlines()[4:]
    assert header == ["property float x", "property float y", "property float z", "property float nx",
                      "property float ny", "property float nz", "property uchar red", "property uchar green",
                      "property uchar blue"]
    data = path.read_bytes()
    assert len(data) == data.index(b"end_header\n") + len(b"end_header\n") + 3 * 4 + 3 * 4 + 3
    vertex = pointcloud.read_ply_vertices(path)[0]
    assert vertex["nz"] == -1.0 and (vertex["red"], vertex["green"], vertex["blue"]) == (128, 128, 0)
    path.write_bytes(path.read_bytes() + b"\x00" * 27)  # a second vertex's worth of bytes the header does not count
    assert len(pointcloud.read_ply_vertices(path)) == 1


def test_surface_points_of_a_calibrated_camera_are_its_calibrated_points() -> None:
    depth = np.random.default_rng(7).uniform(1.0, 6.0, (RADTAN.height, RADTAN.width))
    keep, points = pointcloud.surface_points(depth, CAMERAS["persp"], RADTAN, stride=3, max_depth=4.0)
    assert keep.shape == (10, 14) and 0 < keep.sum() < keep.size
    np.testing.assert_array_equal(keep, depth[::3, ::3] <= 4.0)
    np.testing.assert_array_equal(points, pointcloud.calibrated_points(depth, RADTAN, stride=3, max_depth=4.0))
    camera = CAMERAS["persp"]
    plain = np.full((camera.height, camera.width), 5.0)
    plain[0, 0] = 3.0
    keep, points = pointcloud.surface_points(plain, camera, None, max_depth=4.0)
    assert keep.shape == plain.shape and keep.sum() == 1 and keep[0, 0] and np.allclose(points[:, 2], 3.0)
    assert pointcloud.surface_values(np.arange(plain.size).reshape(plain.shape), keep).tolist() == [0]
