"""The numpy reference (core/reference.py): distance <-> depth for every projection against plane geometry,
properties under random cameras (hypothesis), and special values (0, inf, NaN, subnormal, huge) without warnings."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from depth_node.core.camera import BlenderCamera
from depth_node.core.reference import depth_to_distance, distance_to_depth, pixel_geometry, ray_length

from .samples import SPECIAL_VALUE_CAMERAS, special


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


FISHEYE = BlenderCamera.from_settings(projection="PANO", panorama_type="FISHEYE_EQUIDISTANT", fisheye_fov=2.0,
                                      resolution_x=40, resolution_y=30)


finite = {"allow_nan": False, "allow_infinity": False}


@st.composite
def cameras(draw: st.DrawFn) -> BlenderCamera:
    """Any camera Blender accepts, on small frames (with crop, the region keeps at least one pixel)."""
    resolution_x = draw(st.integers(2, 64))
    resolution_y = draw(st.integers(2, 64))
    min_x = draw(st.floats(0.0, 0.5, **finite))
    min_y = draw(st.floats(0.0, 0.5, **finite))
    settings = dict(
        lens=draw(st.floats(1.0, 500.0, **finite)),
        sensor_width=draw(st.floats(1.0, 100.0, **finite)),
        sensor_height=draw(st.floats(1.0, 100.0, **finite)),
        sensor_fit=draw(st.sampled_from(["AUTO", "HORIZONTAL", "VERTICAL"])),
        shift_x=draw(st.floats(-2.0, 2.0, **finite)),
        shift_y=draw(st.floats(-2.0, 2.0, **finite)),
        resolution_x=resolution_x,
        resolution_y=resolution_y,
        resolution_percentage=draw(st.sampled_from([100, 50, 150, 37])) if min(resolution_x, resolution_y) > 2
        else 100,
        pixel_aspect_x=draw(st.floats(0.5, 3.0, **finite)),
        pixel_aspect_y=draw(st.floats(0.5, 3.0, **finite)),
        projection=draw(st.sampled_from(["PERSP", "ORTHO"])),
        ortho_scale=draw(st.floats(0.01, 100.0, **finite)),
        use_border=True,
        crop_to_border=draw(st.booleans()),
        border=(min_x, draw(st.floats(min_x + 0.5, 1.0, **finite)),
                min_y, draw(st.floats(min_y + 0.5, 1.0, **finite))),
    )
    try:
        return BlenderCamera.from_settings(**settings)
    except ValueError:  # a crop of less than one pixel: Blender refuses to render it too
        assume(False)
        raise


def ortho_rtol(camera: BlenderCamera, distance: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """1e-9, widened for orthographic cameras: sqrt(distance^2 - lateral^2) loses (distance / depth)^2 ulps."""
    if camera.projection == "PERSP":
        return np.full(depth.shape, 1e-9)
    return 1e-9 + 1e-15 * (distance / np.maximum(np.abs(depth), 1e-300)) ** 2


def orthographic_depth(distance: np.ndarray, camera: BlenderCamera) -> np.ndarray:
    """sqrt(d^2 - l^2) with the sign of d, 0 below the lateral offset l (l from K, independent of the code)."""
    K = camera.matrix()
    rows, columns = np.mgrid[0:camera.height, 0:camera.width]
    lateral = np.hypot((columns - K[0, 2]) / K[0, 0], (rows - K[1, 2]) / K[1, 1])
    with np.errstate(invalid="ignore", over="ignore"):
        return np.sign(distance) * np.sqrt(np.maximum(distance.astype(np.float64) ** 2 - lateral ** 2, 0.0))


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


@settings(max_examples=300, deadline=None)
@given(camera=cameras(), depth=st.floats(1e-3, 1e6, **finite))
def test_depth_to_distance_to_depth_round_trips(camera: BlenderCamera, depth: float) -> None:
    K = camera.matrix()
    planar = np.full((camera.height, camera.width), depth)
    distance = depth_to_distance(planar, K, camera.projection)
    back = distance_to_depth(distance, K, camera.projection)
    np.testing.assert_array_less(np.abs(back - planar), depth * ortho_rtol(camera, distance, planar))


@settings(max_examples=300, deadline=None)
@given(camera=cameras(), tilt=st.tuples(st.floats(-0.5, 0.5, **finite), st.floats(-0.5, 0.5, **finite)),
       offset=st.floats(0.1, 1e4, **finite))
def test_reference_agrees_with_direct_ray_plane_intersection(camera: BlenderCamera, tilt: tuple,
                                                            offset: float) -> None:
    K = camera.matrix()
    normal = np.array([tilt[0], tilt[1], 1.0])
    normal /= np.linalg.norm(normal)
    distance, depth = plane_distances(K, (camera.height, camera.width), normal, offset, camera.projection)
    visible = depth > 0  # a tilted plane can pass behind a steep off-axis ray
    got = distance_to_depth(distance, K, camera.projection)
    rtol = ortho_rtol(camera, distance, depth)
    np.testing.assert_array_less(np.abs(got - depth)[visible], (rtol * np.abs(depth) + 1e-12)[visible])
    np.testing.assert_allclose(depth_to_distance(depth, K, camera.projection)[visible], distance[visible],
                               rtol=1e-9)


@pytest.mark.usefixtures("warnings_are_errors")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("convert", [distance_to_depth, depth_to_distance])
@pytest.mark.parametrize("camera", SPECIAL_VALUE_CAMERAS.values(), ids=SPECIAL_VALUE_CAMERAS.keys())
def test_special_values_convert_without_warnings(camera: BlenderCamera, convert, dtype) -> None:
    image = special(dtype, (camera.height, camera.width))
    result = convert(image, camera)
    assert result.dtype == dtype and result.shape == image.shape
    has_ray = camera.model.camera_geometry(camera, image.shape)[1] != 0
    assert has_ray.any()
    assert np.isnan(result[np.isnan(image) & has_ray]).all() and (result[~has_ray & np.isfinite(image)] == 0).all()
    assert not np.isinf(result[np.isfinite(image)]).any(), "a finite value never becomes inf"
    assert (result[image == 0] == 0).all()
    infinite = np.isposinf(image) & has_ray
    if convert is depth_to_distance and dtype == np.float32:
        assert (np.abs(result[infinite]) == np.finfo(dtype).max).all(), "float32 saturates like the node"
    else:
        assert np.isinf(result[infinite]).all(), "an infinite value stays infinite (backward rays: -inf)"
    ordinary = np.isfinite(image) & (np.abs(image) < 1e30)
    if camera.projection == "ORTHO" and convert is distance_to_depth:
        np.testing.assert_allclose(result[ordinary], orthographic_depth(image, camera)[ordinary], rtol=1e-6)
    if camera.projection == "ORTHO" and convert is depth_to_distance:
        back = distance_to_depth(result.astype(np.float64), camera)  # depths far below l cancel: not those
        kept = ordinary & (np.abs(image) >= 0.25)
        np.testing.assert_allclose(back[kept], image[kept], rtol=1e-5)


def test_the_default_projection_of_a_K_is_perspective() -> None:
    camera = SPECIAL_VALUE_CAMERAS["perspective"]
    image = np.random.default_rng(4).uniform(1, 9, (camera.height, camera.width))
    for convert in (distance_to_depth, depth_to_distance):
        assert np.array_equal(convert(image, camera.matrix()), convert(image, camera.matrix(), "PERSP"))
        assert np.array_equal(convert(image, camera.matrix()), convert(image, camera))


@pytest.mark.parametrize("value", [np.finfo(np.float64).smallest_subnormal, 1e-200, 0.0, -1e-200])
def test_a_tiny_orthographic_distance_on_the_optical_axis_keeps_its_value(value: float) -> None:
    """At the centre pixel of an odd-sized orthographic image the ray starts at the camera origin: depth equals
    distance however small (d^2 underflows to 0 there, so l^2 / d^2 would be 0 / 0)."""
    camera = SPECIAL_VALUE_CAMERAS["orthographic 7x5"]
    distance = np.full((5, 7), 3.0)
    distance[2, 3] = value
    assert distance_to_depth(distance, camera)[2, 3] == value
