"""Calibrated cameras against OpenCV's own code: each pixel's ray (cv2.undistortPoints / cv2.fisheye.undistortPoints,
iterated to convergence) and back (cv2.projectPoints / cv2.fisheye.projectPoints)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from depth_node.core.calibration import Calibration, CalibrationError, models

cv2 = pytest.importorskip("cv2", reason="OpenCV is the oracle (opencv-python-headless, a test dependency)")

CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-15)
STRONG_RADTAN = Calibration(97, 61, 70.0, 72.5, 51.3, 27.8, "radtan", (-0.32, 0.11, 0.0012, -0.0018, -0.015))
RATIONAL = Calibration(80, 50, 60.0, 61.0, 37.2, 26.9, "radtan", (0.4, -0.3, -0.002, 0.001, 0.05, 0.6, -0.2, 0.08))
FISHEYE = Calibration(90, 90, 28.0, 28.4, 45.7, 43.9, "fisheye", (0.05, -0.012, 0.004, -0.0006))


def pixel_grid(calibration: Calibration) -> np.ndarray:
    v, u = np.mgrid[0:calibration.height, 0:calibration.width].astype(np.float64)
    return np.stack([u, v], axis=-1).reshape(-1, 2)


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
