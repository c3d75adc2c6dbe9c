"""RayMatrix's equality, its dict layout's refusals word for word, and projection without numpy warnings where
a point lies on the plane of no pixel (homogeneous z = 0)."""

from __future__ import annotations

import numpy as np
import pytest

from depth_node.core.calibration import CalibrationError
from depth_node.core.calibration.ray_matrix import RayMatrix

SKEWED = [[1 / 500.0, -3.0 / (500.0 * 510.0), -0.6], [0.0, 1 / 510.0, -0.47], [0.0, 0.0, 1.0]]


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
