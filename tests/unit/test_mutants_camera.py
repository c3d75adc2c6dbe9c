"""Camera, frame and reference boundaries: one-pixel frames, K round trips that must stay Blender cameras,
every scene setting read from its own property, float32 saturation, cameras known only by their rays."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from depth_node.core.calibration.osl import bytecode_hash
from depth_node.core.camera import BlenderCamera, UnsupportedCameraError, camera_from_scene
from depth_node.core.frame import RenderFrame
from depth_node.core.reference import calibrated_geometry, depth_to_distance, distance_to_depth

F32_MAX = 3.4028234663852886e38  # (2 - 2**-23) * 2**127


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


def scene(**data_settings) -> SimpleNamespace:
    data = SimpleNamespace(**{"type": "PERSP", "lens": 42.0, "sensor_width": 31.0, "sensor_height": 19.0,
                              "sensor_fit": "VERTICAL", "shift_x": 0.07, "shift_y": -0.03, "ortho_scale": 4.5,
                              **data_settings})
    render = SimpleNamespace(resolution_x=71, resolution_y=53, resolution_percentage=83, pixel_aspect_x=1.25,
                             pixel_aspect_y=1.75, use_border=True, use_crop_to_border=True, border_min_x=0.1,
                             border_max_x=0.8, border_min_y=0.15, border_max_y=0.95)
    return SimpleNamespace(name="Scene", camera=SimpleNamespace(name="Cam", data=data), render=render)


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


class Rays:
    """A camera known only by its rays (reference.RayCamera), rays of any length."""

    width, height = 3, 2

    def pixel_rays(self) -> np.ndarray:
        rays = np.array([[[0.0, 0.0, 5.0], [3.0, 0.0, 4.0], [0.0, -2.0, 2.0]],
                         [[np.nan, np.nan, np.nan], [1.0, 0.0, 0.0], [0.0, 0.0, -0.5]]])
        return rays


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
