"""depth_node.reference against direct ray/plane geometry, without Blender."""

from __future__ import annotations

import numpy as np
import pytest

from depth_node.camera import PerspectiveCamera
from depth_node.reference import depth_to_distance, distance_to_depth, ray_length


def plane_distances(K: np.ndarray, shape: tuple[int, int], normal: np.ndarray, offset: float) -> tuple:
    """Ray distance and planar depth of the plane n.X = offset seen through every pixel centre."""
    height, width = shape
    x, y = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    rays = np.stack([(x - K[0, 2]) / K[0, 0], (y - K[1, 2]) / K[1, 1], np.ones_like(x)], axis=-1)
    scale = offset / (rays @ normal)  # point = scale * ray, so depth (OpenCV z) = scale
    points = rays * scale[..., None]
    return np.linalg.norm(points, axis=-1), points[..., 2]


CAMERAS = [
    PerspectiveCamera(lens=20, resolution_x=48, resolution_y=32),
    PerspectiveCamera(lens=35, sensor_fit="VERTICAL", shift_x=0.2, shift_y=-0.3, resolution_x=40, resolution_y=60,
                      pixel_aspect_x=2.0),
    PerspectiveCamera(lens=85, resolution_x=64, resolution_y=64, resolution_percentage=50, pixel_aspect_y=1.7),
]


@pytest.mark.parametrize("cam", CAMERAS)
@pytest.mark.parametrize("normal", [(0.0, 0.0, 1.0), (0.3, -0.2, 1.0), (-0.5, 0.4, 0.8)])
def test_distance_to_depth_matches_ray_plane_geometry(cam: PerspectiveCamera, normal: tuple) -> None:
    K = cam.matrix()
    normal = np.asarray(normal) / np.linalg.norm(normal)
    distance, depth = plane_distances(K, (cam.height, cam.width), normal, 5.0)
    assert np.ptp(distance) / distance.mean() > 0.02  # the conversion has work to do
    np.testing.assert_allclose(distance_to_depth(distance, K), depth, rtol=1e-12)
    np.testing.assert_allclose(depth_to_distance(depth, K), distance, rtol=1e-12)


def test_fronto_parallel_wall_comes_out_flat() -> None:
    cam = CAMERAS[0]
    distance, _ = plane_distances(cam.matrix(), (cam.height, cam.width), np.array([0, 0, 1.0]), 5.0)
    depth = distance_to_depth(distance.astype(np.float32), cam.matrix())
    assert depth.dtype == np.float32
    np.testing.assert_allclose(depth, 5.0, rtol=1e-6)


def test_centre_pixel_of_odd_image_has_unit_ray_length() -> None:
    K = PerspectiveCamera(resolution_x=5, resolution_y=3).matrix()
    lengths = ray_length(K, (3, 5))
    assert lengths[1, 2] == 1.0
    assert lengths.min() == 1.0


def test_original_writeup_formula_is_measurably_wrong() -> None:
    """The write-up's fixed focal 500 and centre width//2 are what this project replaces."""
    cam = PerspectiveCamera(lens=50, resolution_x=640, resolution_y=480)
    distance, depth = plane_distances(cam.matrix(), (480, 640), np.array([0, 0, 1.0]), 5.0)
    x, y = np.meshgrid(np.arange(640) - 640 // 2, np.arange(480) - 480 // 2)
    writeup = distance / np.sqrt(1 + (x / 500.0) ** 2 + (y / 500.0) ** 2)
    assert np.max(np.abs(writeup - depth) / depth) > 0.01
    assert np.max(np.abs(distance_to_depth(distance, cam.matrix()) - depth) / depth) < 1e-12


def test_integer_input_gives_float64() -> None:
    K = PerspectiveCamera(resolution_x=4, resolution_y=4).matrix()
    assert distance_to_depth(np.full((4, 4), 7, dtype=np.int32), K).dtype == np.float64


@pytest.mark.parametrize(
    "image, K, message",
    [
        (np.ones((2, 2, 1)), np.eye(3), "HxW"),
        (np.ones((2, 2)), np.eye(2), "3x3"),
        (np.ones((2, 2)), np.diag([0.0, 1.0, 1.0]), "positive focal"),
        (np.ones((2, 2)), np.diag([np.nan, 1.0, 1.0]), "finite"),
    ],
)
def test_bad_input_is_refused(image: np.ndarray, K: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        distance_to_depth(image, K)
