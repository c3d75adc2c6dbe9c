"""depth_node.reference against direct ray/plane geometry, without Blender."""

from __future__ import annotations

import numpy as np
import pytest

from depth_node.core.camera import BlenderCamera
from depth_node.core.reference import depth_to_distance, distance_to_depth, pixel_geometry, ray_length


def plane_distances(K: np.ndarray, shape: tuple[int, int], normal: np.ndarray, offset: float,
                    projection: str = "PERSP") -> tuple:
    """Distance from the camera origin and planar depth of the plane n.X = offset at every pixel centre.

    Intersects each pixel's ray with the plane: from the origin along (tx, ty, 1)
    for a perspective camera, from (tx, ty, 0) along (0, 0, 1) for an orthographic one.
    """
    height, width = shape
    x, y = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    t = np.stack([(x - K[0, 2]) / K[0, 0], (y - K[1, 2]) / K[1, 1], np.zeros_like(x)], axis=-1)
    forward = np.array([0.0, 0.0, 1.0])
    if projection == "PERSP":
        origins, directions = np.zeros_like(t), t + forward
    else:
        origins, directions = t, np.broadcast_to(forward, t.shape)
    scale = (offset - origins @ normal) / (directions @ normal)
    points = origins + directions * scale[..., None]
    return np.linalg.norm(points, axis=-1), points[..., 2]


CAMERAS = [
    BlenderCamera.from_settings(lens=20, resolution_x=48, resolution_y=32),
    BlenderCamera.from_settings(lens=35, sensor_fit="VERTICAL", shift_x=0.2, shift_y=-0.3, resolution_x=40,
                                resolution_y=60,
                      pixel_aspect_x=2.0),
    BlenderCamera.from_settings(lens=85, resolution_x=64, resolution_y=64, resolution_percentage=50,
                                pixel_aspect_y=1.7),
    BlenderCamera.from_settings(lens=24, resolution_x=48, resolution_y=32, use_border=True, crop_to_border=True,
                  border=(0.1, 0.6, 0.2, 0.9), shift_y=0.1),
    BlenderCamera.from_settings(projection="ORTHO", ortho_scale=4.0, resolution_x=48, resolution_y=32, shift_x=0.1),
    BlenderCamera.from_settings(projection="ORTHO", ortho_scale=2.5, sensor_fit="VERTICAL", resolution_x=40,
                                resolution_y=60,
                  pixel_aspect_x=1.5, use_border=True, crop_to_border=True, border=(0.3, 0.8, 0.0, 0.5)),
]


@pytest.mark.parametrize("cam", CAMERAS)
@pytest.mark.parametrize("normal", [(0.0, 0.0, 1.0), (0.3, -0.2, 1.0), (-0.5, 0.4, 0.8)])
def test_distance_to_depth_matches_ray_plane_geometry(cam: BlenderCamera, normal: tuple) -> None:
    K = cam.matrix()
    normal = np.asarray(normal) / np.linalg.norm(normal)
    distance, depth = plane_distances(K, (cam.height, cam.width), normal, 5.0, cam.projection)
    assert np.ptp(distance) / distance.mean() > 0.02  # the conversion has work to do
    np.testing.assert_allclose(distance_to_depth(distance, K, cam.projection), depth, rtol=1e-12)
    np.testing.assert_allclose(depth_to_distance(depth, K, cam.projection), distance, rtol=1e-12)


def test_ortho_distance_shorter_than_lateral_offset_gives_zero_not_nan() -> None:
    K = BlenderCamera.from_settings(projection="ORTHO", ortho_scale=10.0, resolution_x=8, resolution_y=8).matrix()
    distance = np.array([[0.0, 0.1, -0.1, 20.0]] * 2, dtype=np.float32)
    depth = distance_to_depth(distance, K, "ORTHO")
    assert np.all(np.isfinite(depth))
    assert depth[0, 0] == depth[0, 1] == depth[0, 2] == 0.0  # corner pixels sit > 0.1 units off-axis
    assert 19.0 < depth[0, 3] < 20.0
    assert np.all(depth_to_distance(np.zeros((2, 2)), K, "ORTHO") == 0.0)  # background stays background


def test_fronto_parallel_wall_comes_out_flat() -> None:
    cam = CAMERAS[0]
    distance, _ = plane_distances(cam.matrix(), (cam.height, cam.width), np.array([0, 0, 1.0]), 5.0)
    depth = distance_to_depth(distance.astype(np.float32), cam.matrix())
    assert depth.dtype == np.float32
    np.testing.assert_allclose(depth, 5.0, rtol=1e-6)


def test_centre_pixel_of_odd_image_has_unit_ray_length() -> None:
    K = BlenderCamera.from_settings(resolution_x=5, resolution_y=3).matrix()
    lengths = ray_length(K, (3, 5))
    assert lengths[1, 2] == 1.0
    assert lengths.min() == 1.0


def test_original_writeup_formula_is_measurably_wrong() -> None:
    """The write-up's fixed focal 500 and centre width//2 are what this project replaces."""
    cam = BlenderCamera.from_settings(lens=50, resolution_x=640, resolution_y=480)
    distance, depth = plane_distances(cam.matrix(), (480, 640), np.array([0, 0, 1.0]), 5.0)
    x, y = np.meshgrid(np.arange(640) - 640 // 2, np.arange(480) - 480 // 2)
    writeup = distance / np.sqrt(1 + (x / 500.0) ** 2 + (y / 500.0) ** 2)
    assert np.max(np.abs(writeup - depth) / depth) > 0.01
    assert np.max(np.abs(distance_to_depth(distance, cam.matrix()) - depth) / depth) < 1e-12


def test_integer_input_gives_float64() -> None:
    K = BlenderCamera.from_settings(resolution_x=4, resolution_y=4).matrix()
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


def test_unknown_projection_is_refused() -> None:
    with pytest.raises(ValueError, match="projection"):
        distance_to_depth(np.ones((2, 2)), np.eye(3), "PANO")


FISHEYE = BlenderCamera.from_settings(projection="PANO", panorama_type="FISHEYE_EQUIDISTANT", fisheye_fov=2.0,
                                      resolution_x=40, resolution_y=30)


@pytest.mark.parametrize("cam", [*CAMERAS, FISHEYE])
def test_a_reused_pixel_geometry_gives_the_same_bits(cam: BlenderCamera) -> None:
    """convert computes a camera's pixel geometry once per sequence; every frame must equal a fresh conversion."""
    shape = (cam.height, cam.width)
    geometry = pixel_geometry(cam, shape)
    image = np.random.default_rng(5).uniform(0.5, 50.0, shape).astype(np.float32)
    image[0, :3] = (np.inf, np.nan, 0.0)
    for convert in (distance_to_depth, depth_to_distance):
        np.testing.assert_array_equal(convert(image, geometry), convert(image, cam))
    assert geometry.every_pixel_has_a_ray == (cam.projection != "PANO"), "the fisheye's corners have no ray"


def test_a_pixel_geometry_of_another_size_is_refused() -> None:
    geometry = pixel_geometry(CAMERAS[0], (CAMERAS[0].height, CAMERAS[0].width))
    with pytest.raises(ValueError, match="pixel geometry is for 48x32 images, got 32x48"):
        distance_to_depth(np.ones((48, 32)), geometry)
