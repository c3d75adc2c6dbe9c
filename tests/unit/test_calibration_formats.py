"""Every calibration reader on a file in its tool's documented layout (OpenCV's own writer where it has one),
and every bad file with its one-line reason."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from depth_node.core.calibration import Calibration
from depth_node.core.calibration.formats import CalibrationFormatError, read
from depth_node.core.calibration.formats.reader import parse_yaml

cv2 = pytest.importorskip("cv2", reason="OpenCV writes the FileStorage fixtures (a test dependency)")
DATA = Path(__file__).resolve().parents[1] / "data" / "calibration"
K = np.array([[512.25, 0.0, 319.75], [0.0, 515.5, 241.125], [0.0, 0.0, 1.0]])


def opencv_file(path: Path, distortion: np.ndarray, fisheye: bool = False) -> Path:
    """What OpenCV's calibration sample writes, through OpenCV's own FileStorage (YAML or JSON by extension)."""
    storage = cv2.FileStorage(str(path), cv2.FILE_STORAGE_WRITE)
    storage.write("image_width", 640)
    storage.write("image_height", 480)
    if fisheye:
        storage.write("fisheye_model", 1)
    storage.write("camera_matrix", K)
    storage.write("distortion_coefficients", distortion.reshape(1, -1))
    storage.write("avg_reprojection_error", 0.21)
    storage.release()
    return path


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
@pytest.mark.parametrize("distortion, fisheye, model", [
    (np.array([-0.31, 0.12, 0.001, -0.002, -0.03]), False, "radtan"),
    (np.array([0.2, -0.1, 0.003, 0.001, 0.01, 0.5, -0.2, 0.04]), False, "radtan"),
    (np.array([-0.31, 0.12, 0.001, -0.002]), False, "radtan"),  # 4 unmarked: k1, k2, p1, p2
    (np.array([0.05, -0.01, 0.004, -0.0006]), True, "fisheye"),
    (np.zeros(5), False, "pinhole"),
])
def test_opencv_filestorage_written_by_opencv(tmp_path: Path, suffix: str, distortion: np.ndarray, fisheye: bool,
                                              model: str) -> None:
    calibration = read(opencv_file(tmp_path / f"calibration{suffix}", distortion, fisheye))
    assert (calibration.width, calibration.height, calibration.model) == (640, 480, model)
    assert np.array_equal(calibration.K, K)
    if model != "pinhole":
        assert np.array_equal(calibration.coefficients[:len(distortion)], distortion)
        assert not any(calibration.coefficients[len(distortion):])


def test_opencv_wraps_long_data_over_lines_and_the_yaml_reader_follows(tmp_path: Path) -> None:
    distortion = np.array([0.123456789012345, -0.2345678901234567, 0.00345678901234567, -0.000456789012345678,
                           0.0567890123456789, 0.678901234567890, -0.0789012345678901, 0.0890123456789012])
    path = opencv_file(tmp_path / "long.yaml", distortion)
    assert "\n" in path.read_text().split("data:")[-1].strip().rstrip("]"), "OpenCV wrapped the data"
    assert np.array_equal(read(path).coefficients, distortion)


@pytest.mark.parametrize("name, expected", [
    ("ros_plumb_bob.yaml", Calibration(640, 480, 423.0917, 424.5651, 331.6912, 241.2764, "radtan",
                                       (-0.356341, 0.133185, 0.000683, -0.000346, -0.020471))),
    ("ros_equidistant.yaml", Calibration(752, 480, 190.978, 190.973, 254.932, 256.897, "fisheye",
                                         (0.00348238, 0.000715034, -0.00205323, 0.000202936))),
])
def test_ros_camera_info(name: str, expected: Calibration) -> None:
    assert read(DATA / name) == expected


def test_kalibr_camchain_by_camera_name() -> None:
    assert read(DATA / "kalibr_camchain.yaml", "cam0") == Calibration(
        752, 480, 458.654, 457.296, 367.215, 248.375, "radtan", (-0.28340811, 0.07395907, 0.00019359, 1.76187114e-05))
    fisheye = read(DATA / "kalibr_camchain.yaml", "cam1")
    assert fisheye.model == "fisheye" and (fisheye.width, fisheye.height) == (512, 512)
    assert fisheye.coefficients == (0.0034823894022493434, 0.0007150348452162257, -0.0020532361418706202,
                                    0.00020293673591811182)
    with pytest.raises(CalibrationFormatError, match=r"kalibr_camchain.yaml: Kalibr .* holds 2 cameras \(cam0, cam1\)"):
        read(DATA / "kalibr_camchain.yaml")


@pytest.mark.parametrize("camera, model, fx, cx, coefficients", [
    ("1", "radtan", 2559.81, 1535.5, (-0.0204997, 0.0, 0.0, 0.0)),
    ("2", "radtan", 423.09, 331.69, (-0.3563, 0.1332, 0.000683, -0.000346)),
    ("3", "radtan", 500.1, 399.8, (0.4, -0.3, -0.002, 0.001, 0.05, 0.6, -0.2, 0.08)),
    ("4", "fisheye", 190.98, 254.93, (0.00348, 0.000715, -0.00205, 0.000203)),
])
def test_colmap_cameras_txt_moves_the_principal_point_by_half_a_pixel(camera: str, model: str, fx: float, cx: float,
                                                                       coefficients: tuple) -> None:
    calibration = read(DATA / "colmap_cameras.txt", camera)
    assert calibration.model == model and calibration.fx == fx
    assert calibration.cx == pytest.approx(cx, abs=1e-9), "COLMAP's (0.5, 0.5) is OpenCV's (0, 0)"
    assert calibration.coefficients[:len(coefficients)] == coefficients


def test_the_sidecar_layout_round_trips(tmp_path: Path) -> None:
    calibration = Calibration(97, 61, 70.0, 72.5, 51.3, 27.8, "radtan", (-0.32, 0.11, 0.0012, -0.0018, -0.015))
    path = tmp_path / "camera_0001.json"
    path.write_text(json.dumps({**calibration.to_dict(), "projection": "PERSP"}))
    assert read(path) == calibration


@pytest.mark.parametrize("name, text, message", [
    ("bad.yaml", "camera_matrix: [1, 0, 0, 0, 1, 0, 0, 0, 1]\nimage_width: 64\nimage_height: 48\n",
     "OpenCV FileStorage .*: no distortion coefficients"),
    ("ros.yaml", (DATA / "ros_plumb_bob.yaml").read_text().replace("plumb_bob", "fov"),
     r"OpenCV FileStorage .*: the fisheye model takes 4|distortion_model 'fov' is not supported"),
    ("odd.yaml", (DATA / "ros_plumb_bob.yaml").read_text().replace("image_width: 640", "image_width: 64.5"),
     "image_width must be a positive integer, got 64.5"),
    ("skew.yaml", (DATA / "ros_plumb_bob.yaml").read_text().replace("423.0917, 0.000000", "423.0917, 3.0"),
     "no skew, last row 0 0 1"),
    ("prism.yaml", "camera_matrix: [100, 0, 32, 0, 100, 24, 0, 0, 1]\ndistortion_coefficients: [0, 0, 0, 0, 0, "
                   "0, 0, 0, 0.1, 0, 0, 0]\nimage_width: 64\nimage_height: 48\n", "thin-prism"),
    ("cameras.txt", "1 SIMPLE_RADIAL_FISHEYE 64 48 50 32 24 0.1\n",
     "camera model SIMPLE_RADIAL_FISHEYE is not supported; supported: SIMPLE_PINHOLE, PINHOLE"),
    ("cameras2.txt", "1 OPENCV 64 48 50 50 32 24 0.1\n", "OPENCV takes 8 parameters, got 5"),
    ("kalibr.yaml", "cam0:\n  camera_model: omni\n  intrinsics: [1, 2, 3, 4]\n  resolution: [64, 48]\n",
     "camera_model 'omni' is not supported; supported: pinhole"),
    ("notes.yaml", "just: words\n", "not a calibration this tool reads; supported: True Depth camera sidecar"),
    ("broken.yaml", "camera_matrix: [1, 0\nimage_width: 3\n", "unterminated"),
    ("flow.yaml", "camera_matrix: {rows: 3}\n", "flow mappings are not supported"),
])
def test_bad_files_are_refused_with_the_file_the_format_and_the_reason(tmp_path: Path, name: str, text: str,
                                                                         message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(CalibrationFormatError, match=message) as caught:
        read(path)
    assert str(caught.value).startswith(str(path)) and "\n" not in str(caught.value)


def test_the_yaml_reader_on_what_calibration_files_use() -> None:
    document = parse_yaml("%YAML:1.0\n---\na: 1  # comment\nb: !!opencv-matrix\n   rows: 1\n   data: [ 1., -2.5e-3,\n"
                          "      .5 ]\nc:\n- [1, 2]\n- [3, 4]\nd: 'x # y'\ne: true\nf: ~\n")
    assert document == {"a": 1, "b": {"rows": 1, "data": [1.0, -0.0025, 0.5]}, "c": [[1, 2], [3, 4]],
                        "d": "x # y", "e": True, "f": None}


@pytest.mark.parametrize("calibration, colmap_model, nerf_model", [
    (Calibration(97, 61, 70.0, 72.5, 51.3, 27.8, "radtan", (-0.32, 0.11, 0.0012, -0.0018)), "OPENCV", "OPENCV"),
    (Calibration(97, 61, 70.0, 72.5, 51.3, 27.8, "radtan", (-0.32, 0.11, 0.0012, -0.0018, -0.015)), "FULL_OPENCV",
     "OPENCV"),
    (Calibration(90, 90, 28.0, 28.4, 45.7, 43.9, "fisheye", (0.05, -0.012, 0.004, -0.0006)), "OPENCV_FISHEYE",
     "OPENCV_FISHEYE"),
])
def test_colmap_and_nerfstudio_exports_of_a_calibrated_sidecar_read_back(tmp_path: Path, calibration: Calibration,
                                                                         colmap_model: str, nerf_model: str) -> None:
    """What the jobs write for a calibrated camera, read back with the COLMAP reader: the same calibration."""
    from depth_node.core.outputs import exports

    meta = {**calibration.to_dict(), "projection": "PERSP", "camera_to_world_opencv": np.eye(4).tolist(),
            "camera_to_world_blender": np.eye(4).tolist()}
    record = exports.Record(1, "", meta, "depth_0001.exr")
    exports.write_colmap(tmp_path / "colmap", [record], None)
    line = (tmp_path / "colmap" / "cameras.txt").read_text().splitlines()[-1]
    assert line.split()[1] == colmap_model
    assert read(tmp_path / "colmap" / "cameras.txt") == calibration
    exports.write_nerfstudio(tmp_path / "transforms.json", [record], None)
    document = json.loads((tmp_path / "transforms.json").read_text())
    frame = document["frames"][0]
    assert document["camera_model"] == nerf_model
    assert (frame["cx"], frame["cy"]) == (calibration.cx + 0.5, calibration.cy + 0.5)
    names = ("k1", "k2", "k3", "k4") if nerf_model == "OPENCV_FISHEYE" else ("k1", "k2", "p1", "p2")
    assert [frame[name] for name in names] == list(calibration.coefficients[:4])


def test_nerfstudio_has_no_rational_coefficients() -> None:
    from depth_node.core.outputs import exports

    rational = Calibration(80, 50, 60.0, 61.0, 37.2, 26.9, "radtan", (0.4, -0.3, -0.002, 0.001, 0.05, 0.6, -0.2, 0.08))
    with pytest.raises(ValueError, match="no rational coefficients"):
        exports.nerfstudio_camera({**rational.to_dict(), "projection": "PERSP"})
    assert exports.colmap_camera({**rational.to_dict(), "projection": "PERSP"})[0] == "FULL_OPENCV"
