"""Blender cameras as OpenCV intrinsics (core/camera.py, core/frame.py): K against an independent port of
Blender's view plane, border crops, resolution percentage, refusals, cameras read from scenes and rebuilt from K."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from depth_node.core.calibration.osl import bytecode_hash
from depth_node.core.camera import BlenderCamera, UnsupportedCameraError, camera_from_scene, intrinsics
from depth_node.core.frame import RenderFrame
from depth_node.core.reference import calibrated_geometry, depth_to_distance, distance_to_depth

from .samples import CAMERAS
from .viewplane import viewplane_k

CASES = {
    "auto-landscape": BlenderCamera.from_settings(lens=35, resolution_x=640, resolution_y=480),
    "auto-portrait": BlenderCamera.from_settings(lens=35, resolution_x=480, resolution_y=640),
    "horizontal-portrait": BlenderCamera.from_settings(sensor_fit="HORIZONTAL", resolution_x=480, resolution_y=640),
    "vertical-landscape": BlenderCamera.from_settings(sensor_fit="VERTICAL", sensor_height=20, resolution_x=640,
                                            resolution_y=480),
    "pixel-aspect-2": BlenderCamera.from_settings(resolution_x=320, resolution_y=240, pixel_aspect_x=2.0),
    "pixel-aspect-flips-auto": BlenderCamera.from_settings(resolution_x=400, resolution_y=300, pixel_aspect_y=1.5),
    "shift": BlenderCamera.from_settings(shift_x=0.2, shift_y=-0.1, resolution_x=300, resolution_y=200),
    "shift-vertical-fit-small-side": BlenderCamera.from_settings(sensor_fit="VERTICAL", shift_x=0.15, shift_y=0.25,
                                                       resolution_x=300, resolution_y=200, pixel_aspect_x=1.3),
    "shift-horizontal-fit-small-side": BlenderCamera.from_settings(sensor_fit="HORIZONTAL", shift_x=-0.3, shift_y=0.1,
                                                         resolution_x=200, resolution_y=300),
    "percentage-truncates": BlenderCamera.from_settings(resolution_x=1001, resolution_y=333, resolution_percentage=37),
    "ortho": BlenderCamera.from_settings(projection="ORTHO", ortho_scale=7.5, resolution_x=640, resolution_y=480),
    "ortho-vertical-shift-aspect": BlenderCamera.from_settings(projection="ORTHO", ortho_scale=3.0,
                                                               sensor_fit="VERTICAL",
                                                 shift_x=0.2, shift_y=-0.1, resolution_x=300, resolution_y=200,
                                                 pixel_aspect_y=1.4),
    "border-crop": BlenderCamera.from_settings(shift_x=0.1, resolution_x=48, resolution_y=32, use_border=True,
                                 crop_to_border=True, border=(0.2, 0.7, 0.3, 0.9)),
    "border-crop-ortho-percentage": BlenderCamera.from_settings(projection="ORTHO", resolution_x=333, resolution_y=201,
                                                  resolution_percentage=61, use_border=True, crop_to_border=True,
                                                  border=(0.111, 0.555, 0.249, 0.751)),
    "border-without-crop": BlenderCamera.from_settings(use_border=True, border=(0.2, 0.7, 0.3, 0.9), resolution_x=48,
                                         resolution_y=32),
}


def fake_scene(camera_type: str = "PERSP", use_border: bool = False, crop: bool = False, camera: bool = True):
    data = SimpleNamespace(type=camera_type, lens=30.0, sensor_width=36.0, sensor_height=24.0, sensor_fit="AUTO",
                           shift_x=0.1, shift_y=0.0, ortho_scale=5.0, panorama_type="EQUIRECTANGULAR")
    render = SimpleNamespace(resolution_x=64, resolution_y=48, resolution_percentage=50, pixel_aspect_x=1.0,
                             pixel_aspect_y=1.0, use_border=use_border, use_crop_to_border=crop,
                             border_min_x=0.25, border_max_x=0.75, border_min_y=0.0, border_max_y=0.5)
    return SimpleNamespace(name="Scene", render=render,
                           camera=SimpleNamespace(name="Camera", data=data) if camera else None)


F32_MAX = 3.4028234663852886e38  # (2 - 2**-23) * 2**127


def scene(**data_settings) -> SimpleNamespace:
    data = SimpleNamespace(**{"type": "PERSP", "lens": 42.0, "sensor_width": 31.0, "sensor_height": 19.0,
                              "sensor_fit": "VERTICAL", "shift_x": 0.07, "shift_y": -0.03, "ortho_scale": 4.5,
                              **data_settings})
    render = SimpleNamespace(resolution_x=71, resolution_y=53, resolution_percentage=83, pixel_aspect_x=1.25,
                             pixel_aspect_y=1.75, use_border=True, use_crop_to_border=True, border_min_x=0.1,
                             border_max_x=0.8, border_min_y=0.15, border_max_y=0.95)
    return SimpleNamespace(name="Scene", camera=SimpleNamespace(name="Cam", data=data), render=render)


class Rays:
    """A camera known only by its rays (reference.RayCamera), rays of any length."""

    width, height = 3, 2

    def pixel_rays(self) -> np.ndarray:
        rays = np.array([[[0.0, 0.0, 5.0], [3.0, 0.0, 4.0], [0.0, -2.0, 2.0]],
                         [[np.nan, np.nan, np.nan], [1.0, 0.0, 0.0], [0.0, 0.0, -0.5]]])
        return rays


K = np.array([[512.25, 0.0, 319.75], [0.0, 515.5, 241.125], [0.0, 0.0, 1.0]])


SKEWED = [[500.0, 3.0, 320.0], [0.0, 510.0, 240.0], [0.0, 0.0, 1.0]]


@pytest.mark.parametrize("cam", CASES.values(), ids=CASES.keys())
def test_matrix_matches_blender_viewplane(cam: BlenderCamera) -> None:
    np.testing.assert_allclose(cam.matrix(), viewplane_k(cam), rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize(
    "border, size",
    # Measured: Blender 5.0.1 writes these image sizes for a 48x32 frame (width, height).
    [((0.2, 0.7, 0.3, 0.9), (24, 19)), ((0.111, 0.555, 0.249, 0.751), (21, 17))],
)
def test_crop_to_border_size_matches_blender(border: tuple, size: tuple) -> None:
    cam = BlenderCamera.from_settings(resolution_x=48, resolution_y=32, use_border=True, crop_to_border=True,
                                      border=border)
    assert (cam.width, cam.height) == size
    assert (cam.frame.full_width, cam.frame.full_height) == (48, 32)


def test_orthographic_focal_length_is_pixels_per_scene_unit() -> None:
    K = BlenderCamera.from_settings(projection="ORTHO", ortho_scale=4.0, resolution_x=400, resolution_y=300).matrix()
    assert K[0, 0] == K[1, 1] == 100.0


def test_resolution_percentage_truncates_like_blender() -> None:
    cam = CASES["percentage-truncates"]
    assert (cam.width, cam.height) == (1001 * 37 // 100, 333 * 37 // 100) == (370, 123)


def test_square_pixels_have_equal_focal_lengths_and_centred_principal_point() -> None:
    K = BlenderCamera.from_settings(lens=50, sensor_width=36, resolution_x=1920, resolution_y=1080).matrix()
    assert K[0, 0] == K[1, 1] == pytest.approx(50 / 36 * 1920)
    assert (K[0, 2], K[1, 2]) == (959.5, 539.5)


def test_auto_fit_uses_sensor_width_even_when_vertical() -> None:
    portrait = BlenderCamera.from_settings(lens=50, sensor_width=36, sensor_height=10, resolution_x=100,
                                           resolution_y=200)
    assert not portrait.lens.fits_horizontally(portrait.frame)
    assert portrait.matrix()[1, 1] == pytest.approx(50 / 36 * 200)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"sensor_fit": "DIAGONAL"}, "sensor_fit"),
        ({"lens": 0.0}, "lens"),
        ({"lens": float("nan")}, "lens"),
        ({"pixel_aspect_x": -1.0}, "pixel_aspect_x"),
        ({"shift_x": float("inf")}, "shift_x"),
        ({"resolution_x": 1, "resolution_percentage": 50}, "smaller than one pixel"),
        ({"projection": "CUSTOM"}, "projection"),
        ({"projection": "PANO", "panorama_type": "A_FUTURE_TYPE"}, "projection"),
        ({"ortho_scale": 0.0}, "ortho_scale"),
        ({"border": (0.0, 1.5, 0.0, 1.0)}, "border"),
        ({"use_border": True, "crop_to_border": True, "border": (0.5, 0.5, 0.0, 1.0)}, "less than one pixel"),
    ],
)
def test_invalid_settings_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BlenderCamera.from_settings(**kwargs)


def test_intrinsics_reads_scene_attributes() -> None:
    K, size = intrinsics(fake_scene(use_border=True))  # border without crop keeps the full frame
    assert size == (32, 24)
    np.testing.assert_allclose(K, BlenderCamera.from_settings(lens=30, shift_x=0.1, resolution_x=64, resolution_y=48,
                                                    resolution_percentage=50).matrix())


def test_intrinsics_reads_ortho_and_crop() -> None:
    K, size = intrinsics(fake_scene("ORTHO", use_border=True, crop=True))
    assert size == (16, 12)
    expected = BlenderCamera.from_settings(projection="ORTHO", ortho_scale=5.0, shift_x=0.1, resolution_x=64,
                                           resolution_y=48,
                             resolution_percentage=50, use_border=True, crop_to_border=True,
                             border=(0.25, 0.75, 0.0, 0.5))
    np.testing.assert_allclose(K, expected.matrix())


@pytest.mark.parametrize(
    "scene, message",
    [
        (fake_scene(camera=False), "has no active camera"),
        (fake_scene("CUSTOM"), r"'CUSTOM'"),
    ],
    ids=["no-camera", "custom"],
)
def test_unsupported_scenes_raise(scene, message: str) -> None:
    with pytest.raises(UnsupportedCameraError, match=message):
        camera_from_scene(scene)


def test_one_pixel_frames_and_crops_are_valid() -> None:
    assert (RenderFrame(resolution_x=1, resolution_y=1).width, RenderFrame(resolution_x=1, resolution_y=1).height
            ) == (1, 1)
    half = RenderFrame(resolution_x=3, resolution_y=2, resolution_percentage=50)  # 1.5 x 1 truncates to 1 x 1
    assert (half.full_width, half.full_height) == (1, 1)
    crop = RenderFrame(resolution_x=10, resolution_y=10, use_border=True, crop_to_border=True,
                       border=(0.5, 0.6, 0.5, 0.6))
    assert (crop.width, crop.height) == (1, 1)
    with pytest.raises(ValueError, match=r"^resolution 3x1 at 50% is smaller than one pixel$"):
        RenderFrame(resolution_x=3, resolution_y=1, resolution_percentage=50)
    with pytest.raises(ValueError, match=r"crops the frame to less than one pixel$"):
        RenderFrame(resolution_x=10, resolution_y=10, use_border=True, crop_to_border=True,
                    border=(0.5, 0.55, 0.5, 0.6))


@pytest.mark.parametrize("name", ["resolution_x", "resolution_y", "resolution_percentage", "pixel_aspect_x",
                                  "pixel_aspect_y"])
def test_a_zero_setting_is_refused_by_name(name: str) -> None:
    with pytest.raises(ValueError, match=rf"^{name} must be a finite positive number, got 0$"):
        RenderFrame(**{name: 0})


@pytest.mark.parametrize("width, height, K", [
    (1, 1, [[0.5, 0, 0.0], [0, 0.5, 0.0], [0, 0, 1]]),  # a one-pixel image, focal lengths below 1
    (30, 80, [[40.0, 0, 14.5], [0, 40.0, -3.0], [0, 0, 1]]),  # portrait, principal point above the image
    (64, 48, [[90.0, 0, 31.5], [0, 60.0, 23.5], [0, 0, 1]]),  # fx > fy
    (64, 48, [[60.0, 0, 31.5], [0, 90.0, 23.5], [0, 0, 1]]),  # fy > fx
])
@pytest.mark.parametrize("projection", ["PERSP", "ORTHO"])
def test_from_matrix_round_trips_with_pixel_aspects_of_at_least_one(width: int, height: int, K: list,
                                                                    projection: str) -> None:
    camera = BlenderCamera.from_matrix(K, width, height, projection)
    assert camera.projection == projection
    assert min(camera.frame.pixel_aspect_x, camera.frame.pixel_aspect_y) == 1.0  # Blender's aspects are >= 1
    assert camera.lens.sensor_width == 36.0 and camera.lens.sensor_fit == "HORIZONTAL"
    assert (camera.width, camera.height) == (width, height)
    np.testing.assert_allclose(camera.matrix(), K, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fy", [0.0, -2.0])
def test_from_matrix_refuses_a_focal_length_that_is_not_positive(fy: float) -> None:
    with pytest.raises(ValueError, match="K must have positive focal lengths"):
        BlenderCamera.from_matrix([[50.0, 0, 10], [0, fy, 10], [0, 0, 1]], 20, 20)


def test_from_matrix_names_the_skew_terms() -> None:
    # (the values' repr differs between numpy 1 and 2: "0.25" or "np.float64(0.25)")
    number = r"(np\.float64\()?{}\)?"
    with pytest.raises(ValueError, match=rf"^K has skew \(K\[0\]\[1\] = {number.format('0.25')}, "
                                         rf"K\[1\]\[0\] = {number.format('0.0')} after"):
        BlenderCamera.from_matrix([[50.0, 0.5, 10], [0, 50.0, 10], [0, 0, 2]], 20, 20)
    with pytest.raises(ValueError, match=rf"^K has skew \(K\[0\]\[1\] = {number.format('0.0')}, "
                                         rf"K\[1\]\[0\] = {number.format('0.125')} after"):
        BlenderCamera.from_matrix([[50.0, 0, 10], [0.25, 50.0, 10], [0, 0, 2]], 20, 20)


def test_camera_from_scene_reads_every_setting_from_its_own_property() -> None:
    camera = camera_from_scene(scene())
    assert camera.settings() == {**BlenderCamera.from_settings().settings(),
                                 "projection": "PERSP", "lens": 42.0, "sensor_width": 31.0, "sensor_height": 19.0,
                                 "sensor_fit": "VERTICAL", "shift_x": 0.07, "shift_y": -0.03, "ortho_scale": 4.5,
                                 "resolution_x": 71, "resolution_y": 53, "resolution_percentage": 83,
                                 "pixel_aspect_x": 1.25, "pixel_aspect_y": 1.75, "use_border": True,
                                 "crop_to_border": True, "border": (0.1, 0.8, 0.15, 0.95)}
    pano = camera_from_scene(scene(type="PANO", panorama_type="MIRRORBALL"))
    assert pano.lens.panorama_type == "MIRRORBALL" and pano.model.name == "MIRRORBALL"


def test_camera_from_scene_explains_cameras_it_cannot_convert() -> None:
    with pytest.raises(UnsupportedCameraError, match=r"^camera 'Cam' of scene 'Scene' is of type 'PANO' "
                                                     r"\(SPHERICAL\); True Depth supports PERSP, ORTHO, "):
        camera_from_scene(scene(type="PANO", panorama_type="SPHERICAL"))
    with pytest.raises(UnsupportedCameraError, match=r"is of type 'SOMETHING'; True Depth supports"):
        camera_from_scene(scene(type="SOMETHING"))
    shader = "shader camera() {}"
    calibrated = scene(type="CUSTOM", custom_bytecode=shader, custom_bytecode_hash=bytecode_hash(shader))
    calibrated.camera.data.get = {"true_depth_calibration": "{...}"}.get
    with pytest.raises(UnsupportedCameraError, match=r"'CUSTOM' \(an OSL camera\): a calibrated camera "
                                                     r"\(depth_node\.apply_calibration\), whose rays come from"):
        camera_from_scene(calibrated)
    for edited in (scene(type="CUSTOM", custom_bytecode=shader + " ", custom_bytecode_hash=bytecode_hash(shader)),
                   scene(type="CUSTOM", custom_bytecode=shader, custom_bytecode_hash=bytecode_hash(shader))):
        edited.camera.data.get = ({"true_depth_calibration": "{...}"} if edited.camera.data.custom_bytecode
                                  != shader else {}).get  # an edited shader, or no calibration stored
        with pytest.raises(UnsupportedCameraError, match=r"'CUSTOM' \(an OSL camera\), whose rays only its "
                                                         r"shader knows: True Depth cannot convert its depth$"):
            camera_from_scene(edited)


@pytest.mark.parametrize("projection", ["PERSP", "ORTHO"])
def test_float32_distance_saturates_at_the_largest_float32_in_both_directions(projection: str) -> None:
    camera = BlenderCamera.from_settings(projection=projection, resolution_x=4, resolution_y=2, lens=5.0,
                                         ortho_scale=1e39)  # every pixel far from the axis: distance > depth
    depth = np.array([[3e38, -3e38, 1e-30, 2.0], [np.nan, 0.0, F32_MAX, -F32_MAX]], dtype=np.float32)
    distance = depth_to_distance(depth, camera.matrix(), projection)
    assert distance.dtype == np.float32
    assert distance[0, 0] == F32_MAX and distance[0, 1] == -F32_MAX
    assert distance[1, 2] == F32_MAX and distance[1, 3] == -F32_MAX
    assert np.isnan(distance[1, 0]) and distance[1, 1] == 0.0
    assert np.isfinite(distance).sum() == 7
    # float64 keeps its range: nothing is clipped
    wide = depth_to_distance(depth.astype(np.float64) * 1e10, camera.matrix(), projection)
    assert wide.dtype == np.float64 and abs(wide[0, 0]) > 1e48 and abs(wide[0, 1]) > 1e48


def test_calibrated_geometry_is_one_over_the_cosine_of_each_ray_and_zero_without_one() -> None:
    geometry = calibrated_geometry(Rays())
    expected = np.array([[1.0, 5.0 / 4.0, np.sqrt(2.0)], [0.0, 0.0, -1.0]])  # |ray| / z
    np.testing.assert_allclose(geometry.ray, expected, rtol=1e-15)
    assert geometry.every_pixel_has_a_ray is False and geometry.lateral_sq is None and geometry.shape == (2, 3)
    depth = distance_to_depth(np.full((2, 3), 10.0), geometry)
    np.testing.assert_allclose(depth, [[10.0, 8.0, 10.0 / np.sqrt(2.0)], [0.0, 0.0, -10.0]], rtol=1e-15)

    class Forward(Rays):
        def pixel_rays(self) -> np.ndarray:
            return np.abs(np.nan_to_num(super().pixel_rays())) + [0.0, 0.0, 1.0]

    assert calibrated_geometry(Forward()).every_pixel_has_a_ray is True


@pytest.mark.parametrize("camera", CAMERAS.values(), ids=CAMERAS.keys())
def test_from_matrix_rebuilds_the_same_projection(camera: BlenderCamera) -> None:
    rebuilt = BlenderCamera.from_matrix(camera.matrix(), camera.width, camera.height, camera.projection)
    np.testing.assert_allclose(rebuilt.matrix(), camera.matrix(), rtol=1e-12, atol=1e-9)
    assert rebuilt.frame.pixel_aspect_x >= 1 and rebuilt.frame.pixel_aspect_y >= 1  # Blender's minimum


@pytest.mark.parametrize("matrix, message", [
    (SKEWED, "K has skew"),
    ([[500.0, 0.0, 320.0], [2.0, 510.0, 240.0], [0.0, 0.0, 1.0]], "K has skew"),
    ([[500.0, 0.0, 320.0], [0.0, 510.0, 240.0], [1e-4, 0.0, 1.0]], "last row must be \\(0, 0, s\\)"),
    ([[500.0, 0.0, 320.0], [0.0, 510.0, 240.0], [0.0, 0.0, 0.0]], "last row must be \\(0, 0, s\\)"),
    ([[500.0, 0.0, 320.0], [0.0, 510.0, 240.0], [0.0, 0.0, -1.0]], "positive focal lengths"),
    ([[500.0, 0.0], [0.0, 510.0]], "finite 3x3"),
])
def test_from_matrix_refuses_what_no_blender_camera_is(matrix: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BlenderCamera.from_matrix(matrix, 640, 480)


def test_from_matrix_divides_out_the_last_row_scale() -> None:
    plain = BlenderCamera.from_matrix(K, 640, 480)
    for scale in (2.0, 0.5, -3.0):
        np.testing.assert_allclose(BlenderCamera.from_matrix(K * scale, 640, 480).matrix(), K, rtol=1e-12)
        assert BlenderCamera.from_matrix(K * scale, 640, 480).matrix() == pytest.approx(plain.matrix())


@pytest.mark.parametrize("size", [64.5, 64.0, True, 0, -3, "64"])
def test_from_matrix_sizes_are_positive_integers(size: object) -> None:
    with pytest.raises(ValueError, match="must be a positive integer"):
        BlenderCamera.from_matrix(K, size, 480)
    with pytest.raises(ValueError, match="must be a positive integer"):
        BlenderCamera.from_matrix(K, 640, size)
