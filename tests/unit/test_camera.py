"""depth_node.camera: K from Blender's settings, checked against an independent view-plane port."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from viewplane import viewplane_k

from depth_node.core.camera import BlenderCamera, UnsupportedCameraError, camera_from_scene, intrinsics

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


def fake_scene(camera_type: str = "PERSP", use_border: bool = False, crop: bool = False, camera: bool = True):
    data = SimpleNamespace(type=camera_type, lens=30.0, sensor_width=36.0, sensor_height=24.0, sensor_fit="AUTO",
                           shift_x=0.1, shift_y=0.0, ortho_scale=5.0, panorama_type="EQUIRECTANGULAR")
    render = SimpleNamespace(resolution_x=64, resolution_y=48, resolution_percentage=50, pixel_aspect_x=1.0,
                             pixel_aspect_y=1.0, use_border=use_border, use_crop_to_border=crop,
                             border_min_x=0.25, border_max_x=0.75, border_min_y=0.0, border_max_y=0.5)
    return SimpleNamespace(name="Scene", render=render,
                           camera=SimpleNamespace(name="Camera", data=data) if camera else None)


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
