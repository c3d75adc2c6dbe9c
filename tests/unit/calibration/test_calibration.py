"""Calibrations and their lens models (core/calibration/__init__.py, models.py): rays against OpenCV's
undistortion and projection, folds, checked values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from depth_node.core.calibration import Calibration, CalibrationError, check_pinhole_matrix, from_sidecar, models

cv2 = pytest.importorskip("cv2", reason="OpenCV is the oracle (opencv-python-headless, a test dependency)")


CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-15)


STRONG_RADTAN = Calibration(97, 61, 70.0, 72.5, 51.3, 27.8, "radtan", (-0.32, 0.11, 0.0012, -0.0018, -0.015))


RATIONAL = Calibration(80, 50, 60.0, 61.0, 37.2, 26.9, "radtan", (0.4, -0.3, -0.002, 0.001, 0.05, 0.6, -0.2, 0.08))


FISHEYE = Calibration(90, 90, 28.0, 28.4, 45.7, 43.9, "fisheye", (0.05, -0.012, 0.004, -0.0006))


def pixel_grid(calibration: Calibration) -> np.ndarray:
    v, u = np.mgrid[0:calibration.height, 0:calibration.width].astype(np.float64)
    return np.stack([u, v], axis=-1).reshape(-1, 2)


RADTAN_VALUES = (0.21, -0.13, 0.011, -0.017, 0.07, 0.19, -0.06, 0.03)


FISHEYE_VALUES = (0.08, -0.02, 0.006, -0.0011)


def one_hot(index: int, size: int, values: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(values[i] if i == index else 0.0 for i in range(size))


def sample_points() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    x = rng.uniform(-0.7, 0.8, 60)
    y = rng.uniform(-0.6, 0.5, 60)
    return x, y


# The radius where d/dr [r q(r^2)] = 0, one coefficient at a time (closed form).
FOLDS = [
    ((-0.3, 0, 0, 0, 0, 0, 0, 0), 1 / math.sqrt(0.9)),  # 1 + 3 k1 r^2 = 0
    ((0, -0.2, 0, 0, 0, 0, 0, 0), (1 / (5 * 0.2)) ** 0.25),  # 1 + 5 k2 r^4 = 0
    ((0, 0, 0.3, 0.3, -0.1, 0, 0, 0), (1 / (7 * 0.1)) ** (1 / 6)),  # 1 + 7 k3 r^6 = 0 (p1, p2 play no part)
    ((0, 0, 0, 0, 0, 0.25, 0, 0), 2.0),  # r / (1 + k4 r^2): 1 - k4 r^2 = 0
    ((0, 0, 0, 0, 0, 0, 0.12, 0), (1 / (3 * 0.12)) ** 0.25),  # r / (1 + k5 r^4): 1 - 3 k5 r^4 = 0
    ((0, 0, 0, 0, 0, 0, 0, 0.04), (1 / (5 * 0.04)) ** (1 / 6)),  # r / (1 + k6 r^6): 1 - 5 k6 r^6 = 0
]


FISHEYE_FOLDS = [
    ((-1.0, 0.0, 0.0, 0.0), 1 / math.sqrt(3.0)),  # a fold below 1 radian
    ((-0.2, 0.0, 0.0, 0.0), 1 / math.sqrt(0.6)),  # 1 + 3 k1 t^2 = 0
    ((0.0, -0.05, 0.0, 0.0), (1 / 0.25) ** 0.25),  # 1 + 5 k2 t^4 = 0
    ((0.0, 0.0, -0.01, 0.0), (1 / 0.07) ** (1 / 6)),  # 1 + 7 k3 t^6 = 0
    ((0.0, 0.0, 0.0, -0.004), (1 / 0.036) ** (1 / 8)),  # 1 + 9 k4 t^8 = 0
]


@pytest.mark.parametrize("calibration", [STRONG_RADTAN, RATIONAL], ids=["k1-0.32+tangential", "rational-8"])
def test_radtan_rays_are_opencvs_and_project_back_onto_their_pixels(calibration: Calibration) -> None:
    pixels = pixel_grid(calibration)
    distortion = np.array(calibration.coefficients)
    normalized = cv2.undistortPointsIter(pixels.reshape(-1, 1, 2), calibration.K, distortion, None, None,
                                         CRITERIA).reshape(-1, 2)
    rays = calibration.pixel_rays().reshape(-1, 3)
    ok = np.isfinite(rays).all(axis=1)
    assert ok.mean() > 0.99, "the model folds only beyond the frame here"
    ours = rays[ok, :2] / rays[ok, 2:]
    assert np.abs(ours - normalized[ok]).max() < 1e-9
    assert np.all(np.abs(np.linalg.norm(rays[ok], axis=1) - 1) < 1e-12)
    back, _ = cv2.projectPoints(rays[ok].reshape(-1, 1, 3), np.zeros(3), np.zeros(3), calibration.K, distortion)
    assert np.abs(back.reshape(-1, 2) - pixels[ok]).max() < 1e-6
    assert np.abs(calibration.project(rays[ok]) - pixels[ok]).max() < 1e-6


def test_fisheye_rays_are_opencvs_and_reach_beyond_90_degrees() -> None:
    pixels = pixel_grid(FISHEYE)
    rays = FISHEYE.pixel_rays().reshape(-1, 3)
    assert np.isfinite(rays).all()
    theta = np.degrees(np.arccos(np.clip(rays[:, 2], -1, 1)))
    assert theta.max() > 95, "a field of view beyond 180 degrees"
    front = rays[:, 2] > 0.05
    distortion = np.array(FISHEYE.coefficients)
    normalized = cv2.fisheye.undistortPoints(pixels.reshape(-1, 1, 2), FISHEYE.K, distortion,
                                             criteria=CRITERIA).reshape(-1, 2)
    # OpenCV clamps the distorted radius to pi/2 before inverting: compare where it does not
    xd, yd = FISHEYE.normalized(pixels[:, 0], pixels[:, 1])
    inside = front & (np.hypot(xd, yd) < math.pi / 2 - 1e-3)
    assert inside.mean() > 0.5
    assert np.abs(rays[inside, :2] / rays[inside, 2:] - normalized[inside]).max() < 1e-7
    back, _ = cv2.fisheye.projectPoints(rays[front].reshape(-1, 1, 3), np.zeros(3), np.zeros(3), FISHEYE.K,
                                        distortion)
    assert np.abs(back.reshape(-1, 2) - pixels[front]).max() < 1e-6
    assert np.abs(FISHEYE.project(rays) - pixels).max() < 1e-6  # atan2: also behind the image plane


def test_directions_point_where_the_pixel_is() -> None:
    """Right of and below the principal point -> +x and +y in OpenCV axes (x right, y down)."""
    for calibration in (STRONG_RADTAN, FISHEYE):
        ray = calibration.rays(np.array(calibration.cx + 10.0), np.array(calibration.cy + 5.0))
        assert ray[0] > 0 and ray[1] > 0 and ray[2] > 0
        assert math.isclose(ray[0] / ray[1], 10.0 * calibration.fy / (5.0 * calibration.fx), rel_tol=0.05)


def test_a_folding_model_leaves_the_pixels_beyond_the_fold_without_a_ray() -> None:
    folding = Calibration(200, 120, 190.0, 190.0, 99.5, 59.5, "radtan", (-0.45, 0.0, 0.0, 0.0))
    rays = folding.pixel_rays()
    missing = ~np.isfinite(rays).all(axis=-1)
    assert 0.001 < missing.mean() < 0.2, "the corners lie beyond the largest radius the lens reaches"
    assert not missing[60, :].any() and missing[0, 0] and missing[-1, -1]
    r_fold = models.radtan_max_radius(folding.coefficients)
    reach = r_fold * (1 - 0.45 * r_fold ** 2)  # the largest distorted radius
    xd, yd = folding.normalized(*np.meshgrid(np.arange(200.0), np.arange(120.0)))
    assert np.all(np.hypot(xd, yd)[missing] >= reach * (1 - 1e-9))
    assert np.all(np.hypot(xd, yd)[~missing] <= reach)


@pytest.mark.parametrize("fields, message", [
    ({"width": 64.5}, "width must be a positive integer"),
    ({"width": True}, "width must be a positive integer"),
    ({"height": 0}, "height must be a positive integer"),
    ({"fx": -3.0}, "focal lengths must be positive"),
    ({"model": "kb8"}, "unknown distortion model 'kb8'; supported: pinhole, radtan, fisheye"),
    ({"model": "fisheye", "coefficients": (0.1, 0.2)}, None),
    ({"model": "radtan", "coefficients": (0.1, 0.2, 0.0)}, "takes 4, 5 or 8 coefficients"),
    ({"model": "radtan", "coefficients": (0.1,) * 12}, "takes 4, 5 or 8 coefficients"),
    ({"cx": float("nan")}, "cx must be a finite number"),
])
def test_calibration_values_are_checked(fields: dict, message: str | None) -> None:
    base = {"width": 64, "height": 48, "fx": 50.0, "fy": 50.0, "cx": 31.5, "cy": 23.5}
    if message is None:
        assert Calibration(**{**base, **fields}).coefficients == (0.1, 0.2, 0.0, 0.0)
        return
    with pytest.raises(CalibrationError, match=message):
        Calibration(**{**base, **fields})


def test_round_trip_through_the_sidecar_layout_and_skew_is_refused() -> None:
    for calibration in (STRONG_RADTAN, RATIONAL, FISHEYE):
        assert Calibration.from_dict(calibration.to_dict()) == calibration
    skewed = {**STRONG_RADTAN.to_dict(), "K": [[70.0, 3.0, 51.3], [0, 72.5, 27.8], [0, 0, 1]]}
    with pytest.raises(CalibrationError, match="no skew, last row 0 0 1"):
        Calibration.from_dict(skewed)
    scaled = {**STRONG_RADTAN.to_dict(), "K": [[70.0, 0, 51.3], [0, 72.5, 27.8], [0, 0, 2]]}
    with pytest.raises(CalibrationError, match="no skew"):
        Calibration.from_dict(scaled)


@pytest.mark.parametrize("index", range(8), ids=models.RADTAN_COEFFICIENTS)
def test_each_radtan_coefficient_on_its_own_is_opencvs(index: int) -> None:
    c = one_hot(index, 8, RADTAN_VALUES)
    x, y = sample_points()
    ours = np.stack(models.radtan_distort(x, y, c), axis=-1)
    points = np.stack([x, y, np.ones_like(x)], axis=-1).reshape(-1, 1, 3)
    theirs, _ = cv2.projectPoints(points, np.zeros(3), np.zeros(3), np.eye(3), np.array(c))
    assert np.abs(ours - theirs.reshape(-1, 2)).max() < 1e-12


def test_all_radtan_coefficients_together_are_opencvs() -> None:
    x, y = sample_points()
    ours = np.stack(models.radtan_distort(x, y, RADTAN_VALUES), axis=-1)
    points = np.stack([x, y, np.ones_like(x)], axis=-1).reshape(-1, 1, 3)
    theirs, _ = cv2.projectPoints(points, np.zeros(3), np.zeros(3), np.eye(3), np.array(RADTAN_VALUES))
    assert np.abs(ours - theirs.reshape(-1, 2)).max() < 1e-12


@pytest.mark.parametrize("c", [one_hot(i, 8, RADTAN_VALUES) for i in range(8)] + [RADTAN_VALUES],
                         ids=[*models.RADTAN_COEFFICIENTS, "all"])
def test_the_radtan_jacobian_is_the_derivative(c: tuple[float, ...]) -> None:
    x, y = sample_points()
    h = 1e-6
    exact = models._radtan_jacobian(x, y, c)
    dx_plus, dx_minus = models.radtan_distort(x + h, y, c), models.radtan_distort(x - h, y, c)
    dy_plus, dy_minus = models.radtan_distort(x, y + h, c), models.radtan_distort(x, y - h, c)
    numeric = ((dx_plus[0] - dx_minus[0]) / (2 * h), (dy_plus[0] - dy_minus[0]) / (2 * h),
               (dx_plus[1] - dx_minus[1]) / (2 * h), (dy_plus[1] - dy_minus[1]) / (2 * h))
    for ours, finite_difference in zip(exact, numeric, strict=True):
        assert np.abs(ours - finite_difference).max() < 1e-7


@pytest.mark.parametrize("c", [one_hot(i, 8, RADTAN_VALUES) for i in range(8)] + [RADTAN_VALUES],
                         ids=[*models.RADTAN_COEFFICIENTS, "all"])
def test_radtan_undistort_is_opencvs_iterated_to_convergence(c: tuple[float, ...]) -> None:
    x, y = sample_points()
    xd, yd = models.radtan_distort(x, y, c)
    ux, uy = models.radtan_undistort(xd, yd, c)
    assert np.abs(ux - x).max() < 1e-11 and np.abs(uy - y).max() < 1e-11
    theirs = cv2.undistortPointsIter(np.stack([xd, yd], axis=-1).reshape(-1, 1, 2), np.eye(3), np.array(c), None,
                                     None, CRITERIA).reshape(-1, 2)
    assert np.abs(np.stack([ux, uy], axis=-1) - theirs).max() < 1e-9


def test_radtan_undistort_keeps_the_shape_and_the_centre() -> None:
    c = RADTAN_VALUES
    grid_x, grid_y = np.meshgrid(np.linspace(-0.3, 0.3, 4), np.linspace(-0.2, 0.2, 3))
    xd, yd = models.radtan_distort(grid_x, grid_y, c)
    ux, uy = models.radtan_undistort(xd, yd, c)
    assert ux.shape == (3, 4) and uy.shape == (3, 4)
    assert np.abs(ux - grid_x).max() < 1e-12 and np.abs(uy - grid_y).max() < 1e-12
    zero_x, zero_y = models.radtan_undistort(np.zeros(2), np.zeros(2), c)
    assert np.array_equal(zero_x, np.zeros(2)) and np.array_equal(zero_y, np.zeros(2))
    # a scalar broadcast against an array
    bx, by = models.radtan_undistort(0.0, np.zeros(3), c)
    assert bx.shape == (3,) and by.shape == (3,)


def test_a_large_undistorted_radius_converges_to_the_relative_tolerance() -> None:
    """Far from the centre (distorted radius about 5) the tolerance is relative to it, not 1e-13 absolute."""
    c = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    x, y = models.radtan_undistort(np.array([3.0, -4.0]), np.array([4.0, 3.0]), c)
    assert np.array_equal(x, [3.0, -4.0]) and np.array_equal(y, [4.0, 3.0])
    c = (0.05, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    x0, y0 = np.array([2.0, 3.5]), np.array([1.5, -2.0])
    xd, yd = models.radtan_distort(x0, y0, c)
    x, y = models.radtan_undistort(xd, yd, c)
    assert np.abs(x - x0).max() < 1e-11 and np.abs(y - y0).max() < 1e-11


@pytest.mark.parametrize("c, radius", FOLDS, ids=["k1", "k2", "k3", "k4", "k5", "k6"])
def test_the_fold_radius_is_the_root_of_the_derivative(c: tuple[float, ...], radius: float) -> None:
    step = 20.0 / 400000
    found = models.radtan_max_radius(tuple(float(v) for v in c))
    assert radius - step <= found <= radius + step


def test_no_fold_over_the_whole_scan_is_infinite() -> None:
    assert models.radtan_max_radius((0.0,) * 8) == math.inf
    assert models.radtan_max_radius((0.1, 0.01, 0.0, 0.0, 0.001, 0.0, 0.0, 0.0)) == math.inf
    assert models.RADIUS_SCAN[0] == 0.0 and models.RADIUS_SCAN[-1] == 20.0 and len(models.RADIUS_SCAN) == 400001


def test_beyond_the_fold_there_is_no_ray_and_just_inside_there_is() -> None:
    c = (-0.3, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    fold = 1 / math.sqrt(0.9)
    reach = fold * (1 - 0.3 * fold ** 2)  # the largest distorted radius, 2/3 of the fold radius
    inside_x, inside_y = models.radtan_undistort(np.array([reach * 0.99]), np.array([0.0]), c)
    assert math.isclose(inside_x[0] * (1 - 0.3 * inside_x[0] ** 2), reach * 0.99, rel_tol=1e-12)
    assert inside_y[0] == 0.0
    outside_x, outside_y = models.radtan_undistort(np.array([reach * 1.01]), np.array([0.0]), c)
    assert np.isnan(outside_x[0]) and np.isnan(outside_y[0])


@pytest.mark.parametrize("index", range(4), ids=models.FISHEYE_COEFFICIENTS)
def test_each_fisheye_coefficient_on_its_own_is_opencvs(index: int) -> None:
    c = one_hot(index, 4, FISHEYE_VALUES)
    x, y = sample_points()
    rays = np.stack([x, y, np.ones_like(x)], axis=-1)
    ours = np.stack(models.fisheye_project(rays * 2.5, c), axis=-1)
    theirs, _ = cv2.fisheye.projectPoints(rays.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), np.eye(3), np.array(c))
    assert np.abs(ours - theirs.reshape(-1, 2)).max() < 1e-12
    theta = np.arctan(np.hypot(x, y))
    assert np.abs(models.fisheye_theta_d(theta, c) - np.hypot(*theirs.reshape(-1, 2).T)).max() < 1e-12
    back = models.fisheye_undistort(ours[:, 0], ours[:, 1], c)
    unit = rays / np.linalg.norm(rays, axis=-1, keepdims=True)
    assert np.abs(back - unit).max() < 1e-12
    normalized = cv2.fisheye.undistortPoints(ours.reshape(-1, 1, 2), np.eye(3), np.array(c),
                                             criteria=CRITERIA).reshape(-1, 2)
    assert np.abs(back[:, :2] / back[:, 2:] - normalized).max() < 1e-8


def test_the_fisheye_centre_and_the_far_side() -> None:
    c = (0.02, -0.003, 0.0005, -0.00004)
    x, y = models.fisheye_project(np.array([0.0, 0.0, 3.0]), c)
    assert x == 0.0 and y == 0.0
    assert np.array_equal(models.fisheye_undistort(0.0, 0.0, c), [0.0, 0.0, 1.0])
    theta = 2.0  # 115 degrees off the axis, behind the image plane
    ray = np.array([math.sin(theta) * 0.6, math.sin(theta) * 0.8, math.cos(theta)])
    xd, yd = models.fisheye_project(ray, c)
    theta_d = theta * (1 + 0.02 * theta ** 2 - 0.003 * theta ** 4 + 0.0005 * theta ** 6 - 0.00004 * theta ** 8)
    assert math.isclose(float(xd), 0.6 * theta_d, rel_tol=1e-13) and math.isclose(float(yd), 0.8 * theta_d,
                                                                                   rel_tol=1e-13)
    assert np.abs(models.fisheye_undistort(xd, yd, c) - ray).max() < 1e-12


@pytest.mark.parametrize("c, theta", FISHEYE_FOLDS, ids=["k1-strong", *models.FISHEYE_COEFFICIENTS])
def test_the_fisheye_fold_is_the_root_of_the_derivative(c: tuple[float, ...], theta: float) -> None:
    step = math.pi / 20000
    assert theta - step <= models.fisheye_max_theta(c) <= theta + step
    reach = float(models.fisheye_theta_d(np.array(theta), c))
    inside = models.fisheye_undistort(np.array(reach * 0.98), np.array(0.0), c)
    assert np.isfinite(inside).all() and math.isclose(float(models.fisheye_theta_d(np.arccos(inside[2]), c)),
                                                      reach * 0.98, rel_tol=1e-12)
    assert np.arccos(inside[2]) < theta, "the root before the fold, not the one past it"
    outside = models.fisheye_undistort(np.array(reach * 1.02), np.array(0.0), c)
    assert np.isnan(outside).all()


def test_an_equidistant_fisheye_reaches_a_full_sphere() -> None:
    c = (0.0, 0.0, 0.0, 0.0)
    assert models.fisheye_max_theta(c) == math.pi
    ray = models.fisheye_undistort(np.array(0.0), np.array(math.pi * 0.999), c)
    assert np.abs(ray - [0.0, math.sin(math.pi * 0.999), math.cos(math.pi * 0.999)]).max() < 1e-13


def test_a_pinhole_pixel_ray_is_the_normalized_direction() -> None:
    calibration = Calibration(40, 30, 50.0, 25.0, 19.5, 14.5)
    ray = calibration.rays(np.array(29.5), np.array(4.5))
    expected = np.array([10.0 / 50.0, -10.0 / 25.0, 1.0])
    assert np.abs(ray - expected / np.linalg.norm(expected)).max() < 1e-15
    rays = calibration.pixel_rays()
    assert rays.shape == (30, 40, 3)
    expected = np.array([(3 - 19.5) / 50.0, (7 - 14.5) / 25.0, 1.0])
    assert np.abs(rays[7, 3] - expected / np.linalg.norm(expected)).max() < 1e-15
    assert np.abs(calibration.project(np.array([2.0, -8.0, 10.0])) - [19.5 + 10.0, 14.5 - 20.0]).max() < 1e-12
    assert not calibration.distorted


def test_radtan_and_fisheye_pixels_follow_k() -> None:
    c = (0.1, -0.05, 0.002, 0.001, 0.01)
    calibration = Calibration(64, 48, 60.0, 55.0, 30.5, 22.0, "radtan", c)
    u, v = np.array([3.0, 50.0]), np.array([40.0, 7.0])
    points = calibration.rays(u, v)
    theirs, _ = cv2.projectPoints(points.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), calibration.K, np.array(c))
    assert np.abs(theirs.reshape(-1, 2) - np.stack([u, v], axis=-1)).max() < 1e-9
    assert np.abs(calibration.project(points * 4.0) - np.stack([u, v], axis=-1)).max() < 1e-9
    assert calibration.distorted
    assert Calibration(64, 48, 60.0, 55.0, 30.5, 22.0, "radtan", (0.0,) * 5).distorted is False
    assert Calibration(64, 48, 60.0, 55.0, 30.5, 22.0, "fisheye").distorted is True
    assert Calibration(64, 48, 60.0, 55.0, 30.5, 22.0, "radtan", (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1e-9)).distorted
    fisheye = Calibration(64, 48, 20.0, 21.0, 30.5, 22.0, "fisheye", FISHEYE_VALUES)
    rays = fisheye.rays(u, v)
    theirs, _ = cv2.fisheye.projectPoints(rays.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), fisheye.K,
                                          np.array(FISHEYE_VALUES))
    assert np.abs(theirs.reshape(-1, 2) - np.stack([u, v], axis=-1)).max() < 1e-9


def test_the_sidecar_entries() -> None:
    calibration = Calibration(64, 48, 60.0, 55.0, 30.5, 22.0, "radtan", (0.1, -0.05, 0.002, 0.001))
    assert calibration.K.tolist() == [[60.0, 0.0, 30.5], [0.0, 55.0, 22.0], [0.0, 0.0, 1.0]]
    assert calibration.describe() == {"model": "radtan", "coefficients": {
        "k1": 0.1, "k2": -0.05, "p1": 0.002, "p2": 0.001, "k3": 0.0, "k4": 0.0, "k5": 0.0, "k6": 0.0}}
    assert calibration.to_dict() == {"width": 64, "height": 48, "K": calibration.K.tolist(),
                                     "distortion": calibration.describe()}
    assert Calibration(8, 6, 5.0, 5.0, 3.5, 2.5).describe() == {"model": "pinhole", "coefficients": {}}


def test_from_dict_reads_named_listed_and_missing_coefficients() -> None:
    K = [[60.0, 0.0, 30.5], [0.0, 55.0, 22.0], [0.0, 0.0, 1.0]]
    named = Calibration.from_dict({"K": K, "width": 64, "height": 48,
                                   "distortion": {"model": "fisheye", "coefficients": {"k3": 0.5}}})
    assert named == Calibration(64, 48, 60.0, 55.0, 30.5, 22.0, "fisheye", (0.0, 0.0, 0.5, 0.0))
    listed = Calibration.from_dict({"K": K, "width": 64, "height": 48,
                                    "distortion": {"model": "radtan", "coefficients": [0.1, 0.2, 0.3, 0.4]}})
    assert listed.coefficients == (0.1, 0.2, 0.3, 0.4, 0.0, 0.0, 0.0, 0.0)
    plain = Calibration.from_dict({"K": K, "width": 64, "height": 48})
    assert plain == Calibration(64, 48, 60.0, 55.0, 30.5, 22.0)
    no_coefficients = Calibration.from_dict({"K": K, "width": 64, "height": 48, "distortion": {"model": "fisheye"}})
    assert no_coefficients.coefficients == (0.0, 0.0, 0.0, 0.0)
    assert Calibration.from_dict({"K": K, "width": 64, "height": 48, "distortion": None}).model == "pinhole"


@pytest.mark.parametrize("data, message", [
    ({"width": 64, "height": 48}, r"^a calibration needs K, width, height \(and distortion\): 'K'$"),
    ({"K": [[1, 0, 0], [0, 1, 0], [0, 0, 1]], "width": 64, "height": 48, "distortion": {"coefficients": {}}},
     r"^a calibration needs K, width, height \(and distortion\): 'model'$"),
    ({"K": [[1, 0, 0], [0, 1, 0], [0, 0, 1]], "width": 64, "height": 48, "distortion": {"model": "kb8"}},
     r"^unknown distortion model 'kb8'; supported: pinhole, radtan, fisheye$"),
    ({"K": [[1, 0, 0], [0, 1, 0], [0, 0, 1]], "width": 64, "height": 48,
      "distortion": {"model": "fisheye", "coefficients": {"k5": 1.0, "p1": 0.0, "k1": 0.1}}},
     r"^the fisheye model has no coefficient\(s\) k5, p1$"),
    ({"K": [[1, 0, 0], [0, 1, 0]], "width": 64, "height": 48},
     r"^K must be a finite 3x3 matrix, got \[\[1\.0, 0\.0, 0\.0\], \[0\.0, 1\.0, 0\.0\]\]$"),
    ({"K": [[1, 0, 0], [0, 1, 0], [0, 0, float("inf")]], "width": 64, "height": 48}, r"^K must be a finite 3x3"),
    ({"K": "no", "width": 64, "height": 48}, r"^a calibration needs K, width, height \(and distortion\): "),
])
def test_from_dict_refusals(data: dict, message: str) -> None:
    with pytest.raises(CalibrationError, match=message):
        Calibration.from_dict(data)


@pytest.mark.parametrize("K", [
    [[1, 0.5, 0], [0, 1, 0], [0, 0, 1]], [[1, 0, 0], [0.5, 1, 0], [0, 0, 1]], [[1, 0, 0], [0, 1, 0], [0.5, 0, 1]],
    [[1, 0, 0], [0, 1, 0], [0, 0.5, 1]], [[1, 0, 0], [0, 1, 0], [0, 0, 2]],
])
def test_every_entry_outside_fx_fy_cx_cy_is_checked(K: list) -> None:
    with pytest.raises(CalibrationError, match=r"^K must be \[\[fx, 0, cx\], \[0, fy, cy\], \[0, 0, 1\]\] \(no skew, "
                                               r"last row 0 0 1\); got \[\["):
        check_pinhole_matrix(np.array(K, dtype=np.float64))
    check_pinhole_matrix(np.array([[3.0, 0.0, 1.0], [0.0, 4.0, 2.0], [0.0, 0.0, 1.0]]))


@pytest.mark.parametrize("fields, message", [
    ({"width": 0}, r"^width must be a positive integer, got 0$"),
    ({"height": "48"}, r"^height must be a positive integer, got '48'$"),
    ({"height": False}, r"^height must be a positive integer, got False$"),
    ({"fx": True}, r"^fx must be a finite number, got True$"),
    ({"fy": "50"}, r"^fy must be a finite number, got '50'$"),
    ({"cy": float("inf")}, r"^cy must be a finite number, got inf$"),
    ({"fy": 0.0}, r"^focal lengths must be positive, got fx=50.0, fy=0.0$"),
    ({"fx": -1.0}, r"^focal lengths must be positive, got fx=-1.0, fy=50.0$"),
    ({"fx": 0.0}, r"^focal lengths must be positive, got fx=0.0, fy=50.0$"),
    ({"fx": 0}, r"^focal lengths must be positive, got fx=0, fy=50.0$"),
    ({"model": "fisheye", "coefficients": (0.1,) * 5},
     r"^the fisheye model takes 4 coefficients \(k1, k2, k3, k4\), got 5$"),
    ({"model": "radtan", "coefficients": (0.1,) * 6},
     r"^the radtan model takes 4, 5 or 8 coefficients \(k1, k2, p1, p2, k3, k4, k5, k6\), got 6$"),
    ({"model": "pinhole", "coefficients": (0.1,)}, r"^the pinhole model takes 0 coefficients \(\), got 1$"),
    ({"model": "radtan", "coefficients": (0.1, 0.0, 0.0, float("nan"))},
     r"^distortion coefficients must be finite, got \[0\.1, 0\.0, 0\.0, nan\]$"),
])
def test_calibration_refusals_say_exactly_why(fields: dict, message: str) -> None:
    base = {"width": 64, "height": 48, "fx": 50.0, "fy": 50.0, "cx": 31.5, "cy": 23.5}
    with pytest.raises(CalibrationError, match=message):
        Calibration(**{**base, **fields})


def test_numpy_scalars_and_small_sizes_are_accepted() -> None:
    calibration = Calibration(np.int64(1), np.int32(1), np.float32(2.0), 3, np.float64(0.0), -4.0, "radtan",
                              (0.1, 0.2, 0.3, 0.4, 0.5))
    assert type(calibration.width) is int and type(calibration.height) is int
    assert calibration.width == 1 and calibration.height == 1
    assert calibration.coefficients == (0.1, 0.2, 0.3, 0.4, 0.5, 0.0, 0.0, 0.0)
    eight = Calibration(2, 2, 1.0, 1.0, 0.5, 0.5, "radtan", tuple(range(1, 9)))
    assert eight.coefficients == (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0)


def test_from_sidecar_only_for_distortion() -> None:
    K = [[60.0, 0.0, 30.5], [0.0, 55.0, 22.0], [0.0, 0.0, 1.0]]
    assert from_sidecar({"K": K, "width": 64, "height": 48}) is None
    assert from_sidecar({"K": K, "width": 64, "height": 48, "distortion": None}) is None
    assert from_sidecar({"K": K, "width": 64, "height": 48, "distortion": {"model": "pinhole"}}) is None
    assert from_sidecar({"K": K, "width": 64, "height": 48, "distortion": {}}) is None
    fisheye = from_sidecar({"K": K, "width": 64, "height": 48, "distortion": {"model": "fisheye"}})
    assert fisheye == Calibration(64, 48, 60.0, 55.0, 30.5, 22.0, "fisheye", (0.0,) * 4)
    with pytest.raises(CalibrationError, match="unknown distortion model 'kb8'"):
        from_sidecar({"K": K, "width": 64, "height": 48, "distortion": {"model": "kb8"}})


@pytest.mark.filterwarnings("error")
def test_no_numpy_warnings_where_the_models_meet_zeros_and_folds() -> None:
    """The centre pixel (0 / 0), rays in the image plane (z = 0), poles of the rational model and pixels beyond a
    fold are answered without RuntimeWarnings (a render would print one per frame)."""
    fisheye = (0.05, -0.012, 0.004, -0.0006)
    assert np.array_equal(models.fisheye_undistort(np.zeros(2), np.zeros(2), fisheye), [[0.0, 0.0, 1.0]] * 2)
    x, y = models.fisheye_project(np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]), fisheye)
    assert np.array_equal(x, [0.0, 0.0]) and np.array_equal(y, [0.0, 0.0])
    folding = (-0.45, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    x, y = models.radtan_undistort(np.array([0.0, 5.0, 1e300]), np.array([0.0, 5.0, 1e300]), folding)
    assert x[0] == 0.0 and np.isnan(x[1:]).all() and np.isnan(y[1:]).all()
    pole = (0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0)  # 1 / (1 - r^2): infinite at r = 1, in the scan
    assert models.RADIUS_SCAN[20000] == 1.0
    assert models.radtan_max_radius(pole) == 1.0
    calibration = Calibration(8, 6, 5.0, 5.0, 3.5, 2.5)
    flat = calibration.project(np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]]))
    assert np.isinf(flat[0]).all() and np.isnan(flat[1]).all()
    radtan = Calibration(8, 6, 5.0, 5.0, 3.5, 2.5, "radtan", folding[:4])
    assert np.isnan(radtan.rays(np.array([-1e3]), np.array([-1e3]))).all()
    assert np.isfinite(Calibration(8, 6, 5.0, 5.0, 3.5, 2.5, "fisheye", fisheye).pixel_rays()).all()


def test_integer_pixel_coordinates_are_undistorted_in_float64() -> None:
    c = (0.1, -0.05, 0.002, 0.001, 0.01, 0.0, 0.0, 0.0)
    for xd, yd in [(np.array([1]), np.array([0.5])), (np.array([0.5]), np.array([1])), (np.array([1]), np.array([-1]))]:
        x, y = models.radtan_undistort(xd, yd, c)
        fx, fy = models.radtan_distort(x, y, c)
        assert abs(fx[0] - xd[0]) < 1e-12 and abs(fy[0] - yd[0]) < 1e-12
        assert x.dtype == np.float64 and y.dtype == np.float64
