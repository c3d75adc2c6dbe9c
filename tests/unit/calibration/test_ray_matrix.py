"""Ray-matrix cameras (core/calibration/ray_matrix.py): any K, skew and tilt-shift, exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from depth_node.core import reference
from depth_node.core.calibration import Calibration, CalibrationError
from depth_node.core.calibration.ray_matrix import RayMatrix

SKEWED = [[1 / 500.0, -3.0 / (500.0 * 510.0), -0.6], [0.0, 1 / 510.0, -0.47], [0.0, 0.0, 1.0]]


K = np.array([[512.25, 0.0, 319.75], [0.0, 515.5, 241.125], [0.0, 0.0, 1.0]])


def pixel_grid(width: int, height: int) -> np.ndarray:
    """(H, W, 3) homogeneous pixel centres [x, y, 1], row 0 at the top."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    return np.stack([x, y, np.ones_like(x)], axis=-1)


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def test_equality_needs_the_same_size_and_the_same_matrix() -> None:
    a = RayMatrix(4, 3, SKEWED)
    assert a == RayMatrix(4, 3, np.array(SKEWED))
    assert a != RayMatrix(4, 3, np.eye(3)), "same size, another matrix"
    assert a != RayMatrix(3, 4, SKEWED), "same matrix, another size"
    assert a != RayMatrix(4, 4, SKEWED)
    assert a.__eq__("a") is NotImplemented
    assert len({a, RayMatrix(4, 3, SKEWED), RayMatrix(4, 3, np.eye(3))}) == 2


def test_from_dict_without_a_model_is_a_ray_matrix() -> None:
    camera = RayMatrix.from_dict({"width": 4, "height": 3, "ray_matrix": SKEWED})
    assert camera == RayMatrix(4, 3, SKEWED)


@pytest.mark.parametrize("data, message", [
    ({"ray_matrix": SKEWED}, r"^a ray-matrix camera needs width, height and ray_matrix; missing width, height$"),
    ({"width": 4}, r"^a ray-matrix camera needs width, height and ray_matrix; missing height, ray_matrix$"),
    ({"width": 4, "height": 3, "ray_matrix": SKEWED, "model": "pinhole"},
     r"^not a ray-matrix camera \(model 'pinhole'\)$"),
    ({"width": 4, "height": 3, "ray_matrix": SKEWED, "model": None}, r"^not a ray-matrix camera \(model None\)$"),
    ("ray_matrix", r"^a ray-matrix camera is a mapping with width, height and ray_matrix, got 'ray_matrix'$"),
])
def test_from_dict_refusals_word_for_word(data: object, message: str) -> None:
    with pytest.raises(CalibrationError, match=message):
        RayMatrix.from_dict(data)


def test_a_singular_k_is_named_k() -> None:
    with pytest.raises(CalibrationError, match=r"^K is singular \(not invertible\): \[\[1\.0, 0\.0, 0\.0\], "):
        RayMatrix.from_K([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]], 4, 3)
    with pytest.raises(CalibrationError, match=r"^M_cam_from_uv is singular"):
        RayMatrix.from_hypersim(np.zeros((3, 3)), 4, 3)


@pytest.mark.filterwarnings("error")
def test_projection_of_points_on_the_vanishing_plane_gives_inf_and_nan_quietly() -> None:
    camera = RayMatrix(4, 3, np.eye(3))
    pixels = camera.project(np.array([[1.0, 2.0, 0.0], [0.0, 0.0, 0.0], [2.0, 4.0, 2.0]]))
    assert np.isinf(pixels[0]).all() and np.isnan(pixels[1]).all()
    assert pixels[2].tolist() == [1.0, 2.0]
    assert camera.project(np.array([3, 6, 3])).tolist() == [1.0, 2.0]


@pytest.mark.parametrize("make, message", [
    (lambda: RayMatrix(4, 3, "eye"), r"^the ray matrix must be a 3x3 matrix of numbers, got 'eye'$"),
    (lambda: RayMatrix(4, 3, np.eye(2)), r"^the ray matrix must be a finite 3x3 matrix, got \[\[1\.0, 0\.0\], "
                                         r"\[0\.0, 1\.0\]\]$"),
    (lambda: RayMatrix(4, 3, np.diag([1.0, 1.0, 0.0])), r"^the ray matrix is singular \(not invertible\): "),
    (lambda: RayMatrix.from_K(np.eye(2), 4, 3), r"^K must be a finite 3x3 matrix, got "),
    (lambda: RayMatrix.from_K("K", 4, 3), r"^K must be a 3x3 matrix of numbers, got 'K'$"),
    (lambda: RayMatrix.from_hypersim("x", 4, 3), r"^M_cam_from_uv must be a 3x3 matrix of numbers, got 'x'$"),
    (lambda: RayMatrix.from_hypersim(np.eye(3), 0, 3), r"^width must be a positive integer, got 0$"),
    (lambda: RayMatrix.from_hypersim(np.eye(3), 4, 2.5), r"^height must be a positive integer, got 2\.5$"),
    (lambda: RayMatrix.from_fov(90.0, 0, 3), r"^width must be a positive integer, got 0$"),
    (lambda: RayMatrix.from_fov(90.0, 4, True), r"^height must be a positive integer, got True$"),
    (lambda: RayMatrix.from_fov(180.0, 4, 3), r"^fov_x_degrees must be between 0 and 180 degrees \(exclusive\), "
                                              r"got 180\.0$"),
    (lambda: RayMatrix.from_fov(90.0, 4, 3, "60"), r"^fov_y_degrees must be a number of degrees, got '60'$"),
    (lambda: RayMatrix.from_fov(90.0, 4, 3, 0), r"^fov_y_degrees must be between 0 and 180 degrees \(exclusive\), "
                                                r"got 0\.0$"),
])
def test_every_refusal_names_its_argument(make, message: str) -> None:  # noqa: ANN001
    with pytest.raises(CalibrationError, match=message):
        make()


def test_hypersim_rows_name_every_missing_column() -> None:
    from depth_node.core.calibration.ray_matrix import HYPERSIM_COLUMNS

    row = {name: 0.0 for name in HYPERSIM_COLUMNS[2:]}
    with pytest.raises(CalibrationError, match=r"^not a Hypersim camera row: no column\(s\) M_cam_from_uv_00, "
                                               r"M_cam_from_uv_01, settings_output_img_width, "
                                               r"settings_output_img_height$"):
        RayMatrix.from_hypersim_csv_row(row)


def test_integral_sizes_from_csv_text() -> None:
    from depth_node.core.calibration.ray_matrix import integral

    assert integral("1", "w") == 1 and integral("1.0", "w") == 1 and integral(1.0, "w") == 1
    assert integral(np.int64(7), "w") == 7 and type(integral(np.int64(7), "w")) is int
    for value, shown in [("0.0", "'0.0'"), ("0.5", "'0.5'"), (np.int64(0), "0"), ("inf", "'inf'"), ("x", "'x'")]:
        with pytest.raises(CalibrationError, match=rf"^settings_output_img_width must be a positive integer, got "
                                                   rf"(np\.int64\()?{shown}\)?$"):
            integral(value, "settings_output_img_width")


def test_numpy_sizes_become_python_integers() -> None:
    camera = RayMatrix(np.int16(4), np.int32(3), np.eye(3))
    assert type(camera.width) is int and type(camera.height) is int
    assert camera.pixel_rays().shape == (3, 4, 3)


def test_from_K_without_skew_is_the_pinhole_calibration() -> None:
    camera = RayMatrix.from_K(K, 64, 48)
    expected = unit(pixel_grid(64, 48) @ np.linalg.inv(K).T)
    np.testing.assert_allclose(camera.pixel_rays(), expected, rtol=0, atol=1e-15)
    pinhole = Calibration(64, 48, K[0, 0], K[1, 1], K[0, 2], K[1, 2]).pixel_rays()
    np.testing.assert_allclose(camera.pixel_rays(), pinhole, rtol=0, atol=1e-15)
    np.testing.assert_allclose(reference.calibrated_geometry(camera).ray,
                               reference.ray_length(K, (48, 64)), rtol=1e-14)


@pytest.mark.parametrize("matrix", [
    [[500.0, 3.0, 320.0], [0.0, 510.0, 240.0], [0.0, 0.0, 1.0]],  # skew 3 px
    [[1000.0, 6.0, 640.0], [0.0, 1020.0, 480.0], [0.0, 0.0, 2.0]],  # the same, scaled by K[2][2] = 2
    [[500.0, -40.0, 320.0], [12.0, 510.0, 240.0], [0.0, 0.0, 1.0]],  # both off-diagonal terms
    [[500.0, 3.0, 320.0], [0.0, 510.0, 240.0], [1e-4, -2e-4, 1.0]],  # a projective last row
])
def test_any_K_projects_its_rays_back_onto_the_pixel_centres(matrix: list) -> None:
    camera = RayMatrix.from_K(matrix, 40, 30)
    projected = camera.pixel_rays() @ np.asarray(matrix).T
    np.testing.assert_allclose(projected[..., :2] / projected[..., 2:], pixel_grid(40, 30)[..., :2], rtol=0,
                               atol=1e-9)
    np.testing.assert_allclose(camera.project(camera.pixel_rays() * 7.0), pixel_grid(40, 30)[..., :2], atol=1e-9)


def test_planar_depth_of_a_skewed_camera_is_exact() -> None:
    """A plane z = 3 seen by a skewed camera: the distances through its rays convert back to depth 3."""
    matrix = np.array([[500.0, 30.0, 20.0], [0.0, 510.0, 15.0], [0.0, 0.0, 1.0]])
    camera = RayMatrix.from_K(matrix, 40, 30)
    rays = pixel_grid(40, 30) @ np.linalg.inv(matrix).T  # independent: points at depth 3 are 3 * ray / ray_z
    distance = np.linalg.norm(3.0 * rays / rays[..., 2:], axis=-1)
    depth = reference.distance_to_depth(distance, reference.calibrated_geometry(camera))
    np.testing.assert_allclose(depth, 3.0, rtol=1e-14)
    pinhole = reference.distance_to_depth(distance, np.diag([500.0, 510.0, 1.0]) + np.array(
        [[0, 0, 20.0], [0, 0, 15.0], [0, 0, 0]]))
    assert np.abs(pinhole - 3.0).max() > 1e-4, "the skew matters: a plain pinhole is off"


def test_rays_behind_the_image_plane_are_kept_and_give_negative_depth() -> None:
    camera = RayMatrix(8, 6, np.diag([1.0, 1.0, -1.0]))
    rays = camera.pixel_rays()
    assert (rays[..., 2] < 0).all() and np.isfinite(rays).all()
    depth = reference.distance_to_depth(np.full((6, 8), 2.0), reference.calibrated_geometry(camera))
    np.testing.assert_allclose(depth, 2.0 * rays[..., 2], rtol=1e-15)
    assert (depth < 0).all()


def test_ray_matrix_round_trips_through_json_and_describes_itself() -> None:
    camera = RayMatrix.from_K([[500.0, 3.0, 320.0], [0.0, 510.0, 240.0], [0.0, 0.0, 1.0]], 640, 480)
    data = json.loads(json.dumps(camera.to_dict()))
    assert data["model"] == "ray_matrix" and "ray_matrix" in data
    assert RayMatrix.from_dict(data) == camera
    described = json.loads(json.dumps(camera.describe()))
    assert described["type"] == "RAY_MATRIX" and np.array_equal(described["matrix"], camera.matrix)
    assert described["pixel_to_ray"] == "ray = matrix @ [x, y, 1], OpenCV axes, pixel centres at integers"
    assert camera.model == "ray_matrix"
    with pytest.raises(ValueError):
        camera.matrix[0, 0] = 1.0  # read-only
    assert hash(camera) == hash(RayMatrix.from_dict(data))


@pytest.mark.parametrize("width, height, matrix, message", [
    (64.5, 48, np.eye(3), "width must be a positive integer, got 64.5"),
    (64, True, np.eye(3), "height must be a positive integer, got True"),
    (64.0, 48, np.eye(3), "width must be a positive integer, got 64.0"),
    (0, 48, np.eye(3), "width must be a positive integer, got 0"),
    (64, 48, np.diag([1.0, 1.0, 0.0]), "singular"),
    (64, 48, [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 0.0, 1.0]], "singular"),
    (64, 48, np.full((3, 3), np.nan), "finite 3x3"),
    (64, 48, np.eye(2), "finite 3x3"),
    (64, 48, "eye", "3x3 matrix of numbers"),
])
def test_bad_ray_matrices_are_refused(width: object, height: object, matrix: object, message: str) -> None:
    with pytest.raises(CalibrationError, match=message):
        RayMatrix(width, height, matrix)


def test_numpy_integer_sizes_are_integers() -> None:
    camera = RayMatrix(np.int64(4), np.int32(3), np.eye(3))
    assert (camera.width, camera.height) == (4, 3) and type(camera.width) is int


@pytest.mark.parametrize("data, message", [
    ({"width": 4, "height": 3}, "missing ray_matrix"),
    ({"width": 4, "height": 3, "ray_matrix": np.eye(3).tolist(), "model": "pinhole"}, "not a ray-matrix"),
    ([1, 2], "a mapping"),
])
def test_bad_ray_matrix_dicts_are_refused(data: object, message: str) -> None:
    with pytest.raises(CalibrationError, match=message):
        RayMatrix.from_dict(data)
