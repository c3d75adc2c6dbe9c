"""The numpy reference and the helpers around it handle inf, NaN, 0 and pixels without a ray on purpose: they
give defined numbers and must not print numpy's floating-point warnings at users (a library used in data
pipelines is often run with warnings turned into errors)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from depth_node.core import outputs
from depth_node.core.camera import BlenderCamera
from depth_node.core.outputs import preview
from depth_node.core.outputs.pointcloud import depth_to_points
from depth_node.core.reference import depth_to_distance, distance_to_depth

CAMERAS = {
    "perspective": BlenderCamera.from_settings(resolution_x=6, resolution_y=4),
    # 7x5: the centre pixel's ray starts at the camera origin (lateral offset 0)
    "orthographic 7x5": BlenderCamera.from_settings(projection="ORTHO", ortho_scale=8.0, resolution_x=7,
                                                    resolution_y=5),
    "orthographic": BlenderCamera.from_settings(projection="ORTHO", ortho_scale=8.0, resolution_x=6, resolution_y=4),
    "fisheye": BlenderCamera.from_settings(projection="PANO", panorama_type="FISHEYE_EQUIDISTANT", fisheye_fov=3.0,
                                           resolution_x=6, resolution_y=4),
    # a 4 mm lens on a 36 mm sensor: the corners lie beyond the equisolid model's r = 2 f
    "equisolid": BlenderCamera.from_settings(projection="PANO", panorama_type="FISHEYE_EQUISOLID", fisheye_lens=4.0,
                                             fisheye_fov=3.1, resolution_x=6, resolution_y=4),
    "mirror ball": BlenderCamera.from_settings(projection="PANO", panorama_type="MIRRORBALL", resolution_x=6,
                                               resolution_y=4),
    "equirectangular": BlenderCamera.from_settings(projection="PANO", panorama_type="EQUIRECTANGULAR",
                                                   resolution_x=6, resolution_y=4),
}


def special(dtype: type, shape: tuple[int, int] = (4, 6)) -> np.ndarray:
    """0, +-inf, NaN, the smallest and largest magnitudes of ``dtype``, and ordinary values (0 in the middle)."""
    huge, tiny = np.finfo(dtype).max / 4, np.finfo(dtype).smallest_subnormal
    values = [0.0, np.inf, -np.inf, np.nan, tiny, -2.0, huge, 3.0, 0.5, 1e-20, 7.0, np.nan, np.inf, 0.0, 2.0, 4.0,
              -0.0, 1.0, 5.0, np.nan, -huge, 9.0, np.inf, 0.25]
    image = np.resize(np.array(values, dtype=dtype), shape)
    image[shape[0] // 2, shape[1] // 2] = 0.0
    return image


def orthographic_depth(distance: np.ndarray, camera: BlenderCamera) -> np.ndarray:
    """sqrt(d^2 - l^2) with the sign of d, 0 below the lateral offset l (l from K, independent of the code)."""
    K = camera.matrix()
    rows, columns = np.mgrid[0:camera.height, 0:camera.width]
    lateral = np.hypot((columns - K[0, 2]) / K[0, 0], (rows - K[1, 2]) / K[1, 1])
    with np.errstate(invalid="ignore", over="ignore"):
        return np.sign(distance) * np.sqrt(np.maximum(distance.astype(np.float64) ** 2 - lateral ** 2, 0.0))


@pytest.fixture()
def warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.mark.usefixtures("warnings_are_errors")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("convert", [distance_to_depth, depth_to_distance])
@pytest.mark.parametrize("camera", CAMERAS.values(), ids=CAMERAS.keys())
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


@pytest.mark.usefixtures("warnings_are_errors")
def test_preview_and_16_bit_depth_and_points_take_special_values_without_warnings(tmp_path) -> None:
    camera = CAMERAS["perspective"]
    depth = special(np.float64)
    surface = np.array([[not np.isnan(value) and 0 < value < 1e9 for value in row] for row in depth.tolist()])
    assert preview.surface_mask(depth).tolist() == surface.tolist()
    assert preview.side_by_side(depth, depth).dtype == np.uint8
    encoded, saturated = outputs.depth16(depth, 1.0, 1000.0)
    assert saturated == 0 and encoded[surface].tolist() == [round(value * 1000) for value in depth[surface]]
    assert (encoded[~surface] == 0).all()
    points = depth_to_points(depth, camera)
    assert len(points) == surface.sum() and np.isfinite(points).all()


def test_the_default_projection_of_a_K_is_perspective() -> None:
    camera = CAMERAS["perspective"]
    image = np.random.default_rng(4).uniform(1, 9, (camera.height, camera.width))
    for convert in (distance_to_depth, depth_to_distance):
        assert np.array_equal(convert(image, camera.matrix()), convert(image, camera.matrix(), "PERSP"))
        assert np.array_equal(convert(image, camera.matrix()), convert(image, camera))


@pytest.mark.parametrize("value", [np.finfo(np.float64).smallest_subnormal, 1e-200, 0.0, -1e-200])
def test_a_tiny_orthographic_distance_on_the_optical_axis_keeps_its_value(value: float) -> None:
    """At the centre pixel of an odd-sized orthographic image the ray starts at the camera origin: depth equals
    distance however small (d^2 underflows to 0 there, so l^2 / d^2 would be 0 / 0)."""
    camera = CAMERAS["orthographic 7x5"]
    distance = np.full((5, 7), 3.0)
    distance[2, 3] = value
    assert distance_to_depth(distance, camera)[2, 3] == value
