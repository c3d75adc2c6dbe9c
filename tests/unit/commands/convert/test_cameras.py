"""convert's cameras without Blender (commands/convert/cameras.py): fields of view against OpenCV, Hypersim's
tilt-shift cameras against their notebook's ray casting."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from depth_node.core.calibration import CalibrationError
from depth_node.core.calibration.ray_matrix import RayMatrix

DATA = Path(__file__).resolve().parents[3] / "data" / "cameras"


def pixel_grid(width: int, height: int) -> np.ndarray:
    """(H, W, 3) homogeneous pixel centres [x, y, 1], row 0 at the top."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    return np.stack([x, y, np.ones_like(x)], axis=-1)


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def hypersim_rows() -> dict[str, dict]:
    with (DATA / "hypersim_metadata_camera_parameters.csv").open(newline="") as file:
        return {row["scene_name"]: row for row in csv.DictReader(file)}


def hypersim_rays_as_their_notebook_casts_them(M_cam_from_uv: np.ndarray, width: int, height: int) -> np.ndarray:
    """apple/ml-hypersim contrib/mikeroberts3000/jupyter/01_casting_rays_that_match_hypersim_images.ipynb, step by
    step: u, v over [-1, 1] at pixel centres, v reversed (up), rays M_cam_from_uv @ [u, v, 1] in camera axes with
    +y up and +z away from the view; then OpenCV axes (y and z flipped)."""
    u_min, u_max, v_min, v_max = -1.0, 1.0, -1.0, 1.0
    half_du = 0.5 * (u_max - u_min) / width
    half_dv = 0.5 * (v_max - v_min) / height
    u, v = np.meshgrid(np.linspace(u_min + half_du, u_max - half_du, width),
                       np.linspace(v_min + half_dv, v_max - half_dv, height)[::-1])
    uvs_2d = np.dstack((u, v, np.ones_like(u)))
    P_uv = uvs_2d.reshape(-1, 3).T
    rays = (M_cam_from_uv @ P_uv).T.reshape(height, width, 3)
    return unit(rays * np.array([1.0, -1.0, -1.0]))


@pytest.mark.parametrize("fov_x, width, height, fov_y", [(90.0, 256, 144, None), (60.0, 640, 480, None),
                                                         (120.0, 33, 17, 100.0), (1.0, 7, 5, 179.0)])
def test_fov_camera_against_opencv(fov_x: float, width: int, height: int, fov_y: float | None) -> None:
    cv2 = pytest.importorskip("cv2", reason="opencv-python-headless is a test dependency")
    fx = (width / 2) / math.tan(math.radians(fov_x) / 2)
    fy = fx if fov_y is None else (height / 2) / math.tan(math.radians(fov_y) / 2)
    K_fov = np.array([[fx, 0.0, (width - 1) / 2], [0.0, fy, (height - 1) / 2], [0.0, 0.0, 1.0]])
    pixels = pixel_grid(width, height)[..., :2].reshape(-1, 1, 2)
    normalized = cv2.undistortPoints(pixels, K_fov, None).reshape(height, width, 2)
    rays = RayMatrix.from_fov(fov_x, width, height, fov_y).pixel_rays()
    np.testing.assert_allclose(rays[..., :2] / rays[..., 2:], normalized, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fov, width, height", [(90.0, 256, 144), (60.0, 7, 5), (150.0, 1000, 10)])
def test_fov_spans_the_image_edge_to_edge(fov: float, width: int, height: int) -> None:
    """The outer edges of the first and last columns (x = -0.5 and W - 0.5) are fov apart, symmetric about the
    axis: a principal point at W/2 - 1 (microsoft/AirSim#376) would tilt them by half a pixel."""
    camera = RayMatrix.from_fov(fov, width, height)
    left, right = camera.rays(np.array([-0.5, width - 0.5]), np.full(2, (height - 1) / 2))
    assert math.degrees(math.acos(np.clip(left @ right, -1, 1))) == pytest.approx(fov, abs=1e-9)
    assert left[0] == pytest.approx(-right[0], abs=1e-15) and left[1] == pytest.approx(0.0, abs=1e-15)
    top, bottom = camera.rays(np.full(2, (width - 1) / 2), np.array([-0.5, height - 0.5]))
    assert top[1] == pytest.approx(-bottom[1], abs=1e-15)


@pytest.mark.parametrize("fov, message", [(0.0, "between 0 and 180"), (180.0, "between 0 and 180"),
                                          (-5.0, "between 0 and 180"), (True, "number of degrees"),
                                          ("90", "number of degrees"), (float("nan"), "between 0 and 180")])
def test_bad_fields_of_view_are_refused(fov: object, message: str) -> None:
    with pytest.raises(CalibrationError, match=message):
        RayMatrix.from_fov(fov, 64, 48)
    with pytest.raises(CalibrationError, match=message):
        RayMatrix.from_fov(60.0, 64, 48, fov)


@pytest.mark.parametrize("scene", ["ai_037_002", "ai_001_001"])
def test_hypersim_matches_their_ray_casting(scene: str) -> None:
    row = hypersim_rows()[scene]
    M = np.array([[float(row[f"M_cam_from_uv_{i}{j}"]) for j in range(3)] for i in range(3)])
    width, height = int(float(row["settings_output_img_width"])), int(float(row["settings_output_img_height"]))
    camera = RayMatrix.from_hypersim_csv_row(row)
    assert (camera.width, camera.height) == (1024, 768)
    expected = hypersim_rays_as_their_notebook_casts_them(M, width, height)
    np.testing.assert_allclose(camera.pixel_rays(), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(RayMatrix.from_hypersim(M, width, height).pixel_rays(), expected, rtol=0, atol=1e-12)
    assert (camera.pixel_rays()[..., 2] > 0).all()


def test_hypersim_tilt_shift_on_a_small_image_and_a_made_up_matrix() -> None:
    M = np.array([[0.6, 0.05, -0.07], [0.01, 0.45, 0.09], [0.02, 0.004, -1.0]])
    for width, height in ((5, 3), (2, 7), (1, 1)):
        np.testing.assert_allclose(RayMatrix.from_hypersim(M, width, height).pixel_rays(),
                                   hypersim_rays_as_their_notebook_casts_them(M, width, height), rtol=0, atol=1e-12)


def test_hypersim_without_tilt_shift_is_a_centred_field_of_view() -> None:
    row = hypersim_rows()["ai_001_001"]
    tan_x, tan_y = float(row["M_cam_from_uv_00"]), float(row["M_cam_from_uv_11"])
    fov = RayMatrix.from_fov(math.degrees(2 * math.atan(tan_x)), 1024, 768, math.degrees(2 * math.atan(tan_y)))
    np.testing.assert_allclose(RayMatrix.from_hypersim_csv_row(row).matrix, fov.matrix, rtol=0, atol=1e-15)


def test_the_tilt_shift_camera_is_not_a_centred_pinhole() -> None:
    rows = hypersim_rows()
    tilted, plain = (RayMatrix.from_hypersim_csv_row(rows[name]).pixel_rays() for name in ("ai_037_002",
                                                                                           "ai_001_001"))
    assert np.abs(tilted[..., 2] - plain[..., 2]).max() > 1e-3


@pytest.mark.parametrize("change, message", [
    ({"settings_output_img_width": "1024.5"}, "settings_output_img_width must be a positive integer"),
    ({"settings_output_img_height": "-768"}, "settings_output_img_height must be a positive integer"),
    ({"settings_output_img_height": "wide"}, "settings_output_img_height must be a positive integer"),
    ({"M_cam_from_uv_12": "n/a"}, "M_cam_from_uv_12 must be a number"),
    ({"M_cam_from_uv_22": "0.0", "M_cam_from_uv_20": "0.0", "M_cam_from_uv_21": "0.0"}, "singular"),
    ({"M_cam_from_uv_00": None}, "M_cam_from_uv_00 must be a number"),
])
def test_bad_hypersim_rows_are_refused(change: dict, message: str) -> None:
    row = {**hypersim_rows()["ai_037_002"], **change}
    with pytest.raises(CalibrationError, match=message):
        RayMatrix.from_hypersim_csv_row(row)
    row = dict(hypersim_rows()["ai_037_002"])
    del row["M_cam_from_uv_21"]
    with pytest.raises(CalibrationError, match="no column.*M_cam_from_uv_21"):
        RayMatrix.from_hypersim_csv_row(row)


def test_hypersim_rows_from_pandas_like_floats() -> None:
    row = {key: (float(value) if key != "scene_name" else value) for key, value in
           hypersim_rows()["ai_037_002"].items()}
    assert RayMatrix.from_hypersim_csv_row(row) == RayMatrix.from_hypersim_csv_row(hypersim_rows()["ai_037_002"])
