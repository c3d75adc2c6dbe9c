"""Point clouds (core/outputs/pointcloud.py): points re-projected by OpenCV onto their own pixels, random poses, and the
exact background and max-depth boundaries."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from depth_node.core.calibration import Calibration
from depth_node.core.camera import BlenderCamera
from depth_node.core.outputs import pointcloud
from depth_node.core.outputs.preview import BACKGROUND_LIMIT

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
