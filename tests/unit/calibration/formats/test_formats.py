"""Calibration files (core/calibration/formats/): OpenCV, ROS, Kalibr, COLMAP and True Depth sidecars."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from depth_node.core.calibration import Calibration, CalibrationError
from depth_node.core.calibration.formats import (
    FORMATS,
    CalibrationFormatError,
    colmap,
    kalibr,
    opencv,
    read,
    read_document,
    ros,
)
from depth_node.core.calibration.formats import sidecar as sidecar_format
from depth_node.core.calibration.formats.reader import parse_yaml

cv2 = pytest.importorskip("cv2", reason="OpenCV writes the FileStorage fixtures (a test dependency)")


DATA = Path(__file__).resolve().parents[3] / "data" / "calibration"


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


K_LIST = [[512.25, 0.0, 319.75], [0.0, 515.5, 241.125], [0.0, 0.0, 1.0]]


FLAT_K = [512.25, 0.0, 319.75, 0.0, 515.5, 241.125, 0.0, 0.0, 1.0]


RADTAN5 = (-0.31, 0.12, 0.001, -0.002, -0.03)


FISHEYE4 = (0.05, -0.01, 0.004, -0.0006)


NAMES = ["True Depth camera sidecar (K, width, height, distortion)",
         "ROS camera_info (distortion_model plumb_bob, rational_polynomial, equidistant)",
         "OpenCV FileStorage (camera_matrix, distortion_coefficients, image_width, image_height; fisheye when marked)",
         "Kalibr camchain (pinhole-radtan, pinhole-equi)",
         "COLMAP cameras.txt (SIMPLE_PINHOLE, PINHOLE, SIMPLE_RADIAL, RADIAL, OPENCV, FULL_OPENCV, OPENCV_FISHEYE)"]


SUPPORTED = ("True Depth camera sidecar (K, width, height, distortion); ROS camera_info (distortion_model plumb_bob, "
             "rational_polynomial, equidistant); OpenCV FileStorage (camera_matrix, distortion_coefficients, "
             "image_width, image_height; fisheye when marked); Kalibr camchain (pinhole-radtan, pinhole-equi); COLMAP "
             "cameras.txt (SIMPLE_PINHOLE, PINHOLE, SIMPLE_RADIAL, RADIAL, OPENCV, FULL_OPENCV, OPENCV_FISHEYE)")


def expected(model: str = "radtan", coefficients: tuple = RADTAN5, width: int = 640, height: int = 480
             ) -> Calibration:
    return Calibration(width, height, 512.25, 515.5, 319.75, 241.125, model, coefficients)


def refused(document: object, message: str, camera: str | None = None) -> None:
    with pytest.raises(CalibrationFormatError, match="^" + message + "$"):
        read_document(document, "cal.yaml", camera)


def ros_document(model: str, coefficients: tuple, **extra: object) -> dict:
    return {"image_width": 640, "image_height": 480, "camera_name": "c",
            "camera_matrix": {"rows": 3, "cols": 3, "data": FLAT_K}, "distortion_model": model,
            "distortion_coefficients": {"rows": 1, "cols": len(coefficients), "data": list(coefficients)}, **extra}


def kalibr_entry(**fields: object) -> dict:
    return {"camera_model": "pinhole", "intrinsics": [512.25, 515.5, 319.75, 241.125], "resolution": [640, 480],
            "distortion_model": "radtan", "distortion_coeffs": list(RADTAN5[:4]), **fields}


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


@pytest.mark.parametrize("matrix_key", opencv.MATRIX_KEYS)
@pytest.mark.parametrize("distortion_key", opencv.DISTORTION_KEYS)
def test_opencv_every_key_spelling(matrix_key: str, distortion_key: str) -> None:
    document = {matrix_key: FLAT_K, distortion_key: list(RADTAN5), "image_width": 640, "image_height": 480}
    assert read_document(document) == expected()


@pytest.mark.parametrize("size_key", ["image_size", "imageSize"])
def test_opencv_image_size_is_width_then_height(size_key: str) -> None:
    document = {"cameraMatrix": K_LIST, "distCoeffs": list(RADTAN5), size_key: [640, 480]}
    assert read_document(document) == expected()


def test_opencv_image_width_wins_over_image_size() -> None:
    document = {"cameraMatrix": K_LIST, "distCoeffs": list(RADTAN5), "image_width": 640, "image_height": 480,
                "image_size": [1, 1]}
    assert read_document(document) == expected()


@pytest.mark.parametrize("marks", [
    {"fisheye_model": 1}, {"fisheye_model": True}, {"distortion_model": "fisheye"}, {"distortion_model": "Fisheye"},
    {"distortion_model": "EQUIDISTANT"}, {"distortion_model": "kannala_brandt"}, {"distortion_model": "KB4"},
    {"model": "equidistant"}, {"model": "kb4", "fisheye_model": 0},
])
def test_opencv_fisheye_marks(marks: dict) -> None:
    document = {"K": K_LIST, "D": list(FISHEYE4), "image_width": 640, "image_height": 480, **marks}
    assert read_document(document) == expected("fisheye", FISHEYE4)


@pytest.mark.parametrize("marks", [
    {}, {"fisheye_model": 0}, {"distortion_model": "radtan"}, {"distortion_model": 1}, {"model": "pinhole"},
    {"distortion_model": "plumb_bob", "model": "fisheye"},
])
def test_opencv_unmarked_four_are_k1_k2_p1_p2(marks: dict) -> None:
    document = {"K": K_LIST, "D": list(FISHEYE4), "image_width": 640, "image_height": 480, **marks}
    assert read_document(document) == expected("radtan", FISHEYE4)


def test_opencv_zero_coefficients_are_a_pinhole_but_a_zero_fisheye_stays_a_fisheye() -> None:
    assert read_document({"K": K_LIST, "D": [0.0] * 5, "image_size": [640, 480]}) == expected("pinhole", ())
    assert read_document({"K": K_LIST, "D": [], "image_size": [640, 480]}) == expected("pinhole", ())
    assert read_document({"K": K_LIST, "D": [0.0] * 4, "image_size": [640, 480], "fisheye_model": 1}) == expected(
        "fisheye", (0.0,) * 4)


def test_opencv_written_by_opencv_with_a_column_vector_and_image_size(tmp_path: Path) -> None:
    path = tmp_path / "c.yml"
    storage = cv2.FileStorage(str(path), cv2.FILE_STORAGE_WRITE)
    storage.write("cameraMatrix", np.array(K_LIST))
    storage.write("distCoeffs", np.array(RADTAN5 + (0.01, 0.02, 0.03)).reshape(-1, 1))
    storage.startWriteStruct("imageSize", cv2.FileNode_SEQ | cv2.FileNode_FLOW)  # how C++ writes a cv::Size
    storage.write("", 640)
    storage.write("", 480)
    storage.endWriteStruct()
    storage.release()
    document = read_document({"cameraMatrix": K_LIST, "distCoeffs": list(RADTAN5 + (0.01, 0.02, 0.03)),
                              "imageSize": [640, 480]})
    assert document == expected("radtan", RADTAN5 + (0.01, 0.02, 0.03))
    assert read(path) == document


@pytest.mark.parametrize("extra, message", [
    ({"image_size": [640]}, r"image_size must be \[width, height\], got \[640\]"),
    ({"image_size": [640, 480, 3]}, r"image_size must be \[width, height\], got \[640, 480, 3\]"),
    ({"image_size": "640x480"}, r"image_size must be \[width, height\], got '640x480'"),
    ({}, r"no image size \(image_width, image_height\) \(image_size or imageSize\)"),
    ({"image_width": 640}, "image_height must be a positive integer, got None"),
    ({"image_height": 480}, "image_width must be a positive integer, got None"),
    ({"image_size": [640.5, 480]}, "image_width must be a positive integer, got 640.5"),
    ({"image_size": [640, 0]}, "image_height must be a positive integer, got 0"),
])
def test_opencv_size_refusals(extra: dict, message: str) -> None:
    refused({"K": K_LIST, "D": list(RADTAN5), **extra}, r"cal\.yaml: OpenCV FileStorage \(camera_matrix, "
            r"distortion_coefficients, image_width, image_height; fisheye when marked\): " + message)


@pytest.mark.parametrize("document, message", [
    ({"K": K_LIST, "D": list(RADTAN5), "image_size": [640, 480], "fisheye_model": 1},
     r"the fisheye model takes 4 coefficients \(k1\.\.k4\), got 5"),
    ({"K": K_LIST, "D": [0.1] * 12, "image_size": [640, 480]},
     r"thin-prism \(s1\.\.s4\) and tilt \(tauX, tauY\) coefficients are not supported; supported: 4, 5 or 8 "
     r"coefficients \(k1, k2, p1, p2\[, k3\[, k4, k5, k6\]\]\)"),
    ({"K": K_LIST, "D": [0.1] * 14, "image_size": [640, 480]}, r"thin-prism .*"),
    ({"K": K_LIST, "D": [0.1] * 6, "image_size": [640, 480]},
     r"the radtan model takes 4, 5 or 8 coefficients .*, got 6"),
    ({"K": FLAT_K[:8], "D": [0.1] * 4, "image_size": [640, 480]}, r"camera_matrix must have 9 values, got 8"),
    ({"K": K_LIST, "image_size": [640, 480]},
     r"no distortion coefficients \(distortion_coefficients or dist_coeffs or distCoeffs or D\)"),
    ({"K": [[512.25, 1.0, 319.75], [0.0, 515.5, 241.125], [0.0, 0.0, 1.0]], "D": [], "image_size": [640, 480]},
     r"K must be \[\[fx, 0, cx\], \[0, fy, cy\], \[0, 0, 1\]\] .*"),
])
def test_opencv_refusals(document: dict, message: str) -> None:
    refused(document, r"cal\.yaml: OpenCV FileStorage \(camera_matrix, distortion_coefficients, image_width, "
            r"image_height; fisheye when marked\): " + message)


def test_opencv_reader_on_its_own_names_what_is_missing() -> None:
    with pytest.raises(CalibrationError, match=r"^no camera matrix \(camera_matrix or cameraMatrix or K\)$"):
        opencv.read({"D": [0.1] * 4, "image_size": [640, 480]})
    with pytest.raises(CalibrationError, match=r"^distortion_coefficients: 1x5 matrix with 4 values$"):
        opencv.read({"K": K_LIST, "D": {"rows": 1, "cols": 5, "data": [0.1] * 4}, "image_size": [640, 480]})
    with pytest.raises(CalibrationError, match=r"^camera_matrix: 3x3 matrix with 8 values$"):
        opencv.read({"K": {"rows": 3, "cols": 3, "data": FLAT_K[:8]}, "D": [], "image_size": [640, 480]})


def test_opencv_claims() -> None:
    for key in opencv.MATRIX_KEYS:
        assert opencv.claims({key: 1})
    assert not opencv.claims({"k": 1}) and not opencv.claims([["K"]]) and not opencv.claims("K")


@pytest.mark.parametrize("model, coefficients, result", [
    ("plumb_bob", RADTAN5, "radtan"), ("plumb_bob", RADTAN5[:4], "radtan"),
    ("plumb_bob", RADTAN5 + (0.01, 0.02, 0.03), "radtan"), ("rational_polynomial", RADTAN5 + (0.01, 0.02, 0.03),
                                                             "radtan"),
    ("rational_polynomial", RADTAN5, "radtan"), ("equidistant", FISHEYE4, "fisheye"), ("plumb_bob", (0.0,) * 5,
                                                                                      "pinhole"),
])
def test_ros_models(model: str, coefficients: tuple, result: str) -> None:
    calibration = read_document(ros_document(model, coefficients))
    assert calibration == expected(result, () if result == "pinhole" else coefficients)


def test_ros_claims_by_any_of_its_marks() -> None:
    base = {"camera_matrix": FLAT_K}
    assert not ros.claims(base) and not ros.claims([]) and not ros.claims({"distortion_model": "plumb_bob"})
    assert ros.claims({**base, "rectification_matrix": 1})
    assert ros.claims({**base, "projection_matrix": 1})
    for name in ros.MODELS:
        assert ros.claims({**base, "distortion_model": name})
    assert not ros.claims({**base, "distortion_model": "fov"})


@pytest.mark.parametrize("model, coefficients, message", [
    ("plumb_bob", (0.1,) * 6, "plumb_bob takes 5 coefficients, got 6"),
    ("rational_polynomial", (0.1,) * 3, "rational_polynomial takes 8 coefficients, got 3"),
    ("equidistant", (0.1,) * 5, "equidistant takes 4 coefficients, got 5"),
    ("equidistant", (0.1,) * 8, "equidistant takes 4 coefficients, got 8"),
    ("fov", (0.1,), "distortion_model 'fov' is not supported; supported: plumb_bob, rational_polynomial, equidistant"),
])
def test_ros_refusals(model: str, coefficients: tuple, message: str) -> None:
    refused(ros_document(model, coefficients, rectification_matrix=np.eye(3).ravel().tolist()),
            r"cal\.yaml: ROS camera_info \(distortion_model plumb_bob, rational_polynomial, equidistant\): " + message)


def test_ros_missing_coefficients_and_sizes() -> None:
    document = ros_document("plumb_bob", ())
    del document["distortion_coefficients"]
    refused(document, r"cal\.yaml: ROS camera_info .*: plumb_bob takes 5 coefficients, got 0")
    document = ros_document("plumb_bob", RADTAN5)
    del document["image_height"]
    refused(document, r"cal\.yaml: ROS camera_info .*: image_height must be a positive integer, got None")
    document = ros_document("plumb_bob", RADTAN5)
    document["image_width"] = True
    refused(document, r"cal\.yaml: ROS camera_info .*: image_width must be a positive integer, got True")


def test_kalibr_models() -> None:
    assert read_document({"cam0": kalibr_entry()}) == expected("radtan", RADTAN5[:4])
    fisheye = {"cam0": kalibr_entry(distortion_model="equidistant", distortion_coeffs=list(FISHEYE4))}
    assert read_document(fisheye) == expected("fisheye", FISHEYE4)
    plain = kalibr_entry()
    del plain["camera_model"], plain["distortion_model"], plain["distortion_coeffs"]
    assert read_document({"cam0": plain}) == expected("pinhole", ())
    none = {"cam0": kalibr_entry(distortion_model="none", distortion_coeffs=[])}
    assert read_document(none) == expected("pinhole", ())
    two = {"cam0": kalibr_entry(), "cam1": kalibr_entry(resolution=[320, 240]), "T_cn_cnm1": [[1]], "note": "x"}
    assert read_document(two, camera="cam1") == expected("radtan", RADTAN5[:4], 320, 240)


def test_kalibr_claims() -> None:
    assert kalibr.claims({"x": 1, "cam3": {"intrinsics": []}})
    assert not kalibr.claims({"cam0": {"resolution": []}}) and not kalibr.claims(["cam0"])
    assert not kalibr.claims({"intrinsics": [1, 2, 3, 4]})


@pytest.mark.parametrize("fields, message", [
    ({"camera_model": "omni"},
     r"camera_model 'omni' is not supported; supported: pinhole \(with radtan or equidistant distortion\)"),
    ({"distortion_model": "fov"}, "distortion_model 'fov' is not supported; supported: radtan, equidistant"),
    ({"intrinsics": [1.0, 2.0, 3.0]}, r"intrinsics must be \[fu, fv, pu, pv\], got \[1\.0, 2\.0, 3\.0\]"),
    ({"intrinsics": "1 2 3 4"}, r"intrinsics must be \[fu, fv, pu, pv\], got '1 2 3 4'"),
    ({"resolution": [640]}, r"resolution must be \[width, height\], got \[640\]"),
    ({"resolution": None}, r"resolution must be \[width, height\], got None"),
    ({"resolution": [640, 480.5]}, r"resolution\[1\] must be a positive integer, got 480\.5"),
    ({"resolution": [0, 480]}, r"resolution\[0\] must be a positive integer, got 0"),
    ({"distortion_coeffs": [0.1] * 5}, "radtan takes 4 coefficients, got 5"),
    ({"distortion_model": "equidistant", "distortion_coeffs": None}, "equidistant takes 4 coefficients, got 0"),
])
def test_kalibr_refusals(fields: dict, message: str) -> None:
    refused({"cam0": kalibr_entry(**fields)}, r"cal\.yaml: Kalibr camchain \(pinhole-radtan, pinhole-equi\): "
            + message)


def test_kalibr_camera_choice_refusals() -> None:
    refused({"cam0": kalibr_entry(), "cam1": kalibr_entry()}, r"cal\.yaml: Kalibr camchain \(pinhole-radtan, "
            r"pinhole-equi\): the camchain holds 2 cameras \(cam0, cam1\): name one")
    refused({"cam0": kalibr_entry()}, r"cal\.yaml: Kalibr camchain \(pinhole-radtan, pinhole-equi\): no camera "
            r"'cam1' \(the camchain has cam0\)", camera="cam1")


@pytest.mark.parametrize("line, result", [
    ("7 SIMPLE_PINHOLE 640 480 512.25 320.25 241.625", Calibration(640, 480, 512.25, 512.25, 319.75, 241.125)),
    ("7 PINHOLE 640 480 512.25 515.5 320.25 241.625", expected("pinhole", ())),
    ("7 SIMPLE_RADIAL 640 480 512.25 320.25 241.625 -0.31",
     Calibration(640, 480, 512.25, 512.25, 319.75, 241.125, "radtan", (-0.31, 0.0, 0.0, 0.0))),
    ("7 RADIAL 640 480 512.25 320.25 241.625 -0.31 0.12",
     Calibration(640, 480, 512.25, 512.25, 319.75, 241.125, "radtan", (-0.31, 0.12, 0.0, 0.0))),
    ("7 OPENCV 640 480 512.25 515.5 320.25 241.625 -0.31 0.12 0.001 -0.002",
     expected("radtan", RADTAN5[:4])),
    ("7 FULL_OPENCV 640 480 512.25 515.5 320.25 241.625 -0.31 0.12 0.001 -0.002 -0.03 0.01 0.02 0.03",
     expected("radtan", RADTAN5 + (0.01, 0.02, 0.03))),
    ("7 OPENCV_FISHEYE 640 480 512.25 515.5 320.25 241.625 0.05 -0.01 0.004 -0.0006", expected("fisheye", FISHEYE4)),
    ("7 OPENCV_FISHEYE 640 480 512.25 515.5 320.25 241.625 0 0 0 0", expected("fisheye", (0.0,) * 4)),
])
def test_colmap_every_model(line: str, result: Calibration) -> None:
    text = "# Camera list with one line of data per camera:\n" + line + "\n"
    assert colmap.claims(text)
    assert read_document(text) == result
    assert colmap.read_cameras(text) == {7: result}


def test_a_colmap_line_without_parameters_is_claimed_and_refused() -> None:
    refused("1 PINHOLE 64 48\n", r"cal\.yaml: COLMAP cameras\.txt .*: PINHOLE takes 4 parameters, got 0")


def test_colmap_claims() -> None:
    assert not colmap.claims({"x": 1}) and not colmap.claims("") and not colmap.claims("# only\n\n")
    assert not colmap.claims("1 PINHOLE 640\n") and not colmap.claims("a PINHOLE 640 480 1 1 1 1\n")
    assert colmap.claims("# c\n\n1 PINHOLE 640 480 1 1 1 1\n")


@pytest.mark.parametrize("text, camera, message", [
    ("1 OPENCV 64 48 50 50 32 24 0.1\n", None, "OPENCV takes 8 parameters, got 5"),
    ("1 FULL_OPENCV 64 48 50 50 32 24 0 0 0 0\n", None, "FULL_OPENCV takes 12 parameters, got 8"),
    ("1 PINHOLE 64 48 50 50 32 x\n", None, "camera 1: could not convert string to float: 'x'"),
    ("1 PINHOLE 64 4.5 50 50 32 24\n", None, r"camera 1: invalid literal for int\(\) with base 10: '4\.5'"),
    ("1 PINHOLE 0 48 50 50 32 24\n", None, "camera 1: size must be positive, got 0x48"),
    ("1 PINHOLE 64 0 50 50 32 24\n", None, "camera 1: size must be positive, got 64x0"),
    ("1 FOV 64 48 50 50 32 24 0.1\n", None, "camera model FOV is not supported; supported: SIMPLE_PINHOLE, PINHOLE, "
                                            "SIMPLE_RADIAL, RADIAL, OPENCV, FULL_OPENCV, OPENCV_FISHEYE"),
    ("1 PINHOLE 64 48 50 50 32 24\n2 PINHOLE 64 48 50 50 32 24\n", None,
     r"cameras\.txt holds 2 cameras \(1, 2\): name one"),
    ("1 PINHOLE 64 48 50 50 32 24\n", "3", r"no camera '3' \(cameras\.txt has 1\)"),
])
def test_colmap_refusals(text: str, camera: str | None, message: str) -> None:
    refused(text, r"cal\.yaml: COLMAP cameras\.txt \(SIMPLE_PINHOLE, PINHOLE, SIMPLE_RADIAL, RADIAL, OPENCV, "
            r"FULL_OPENCV, OPENCV_FISHEYE\): " + message, camera)


def test_colmap_read_cameras() -> None:
    text = "# header\n\n3 PINHOLE 64 48 50 51 32.5 24.5\n10 SIMPLE_PINHOLE 32 24 40 16.5 12.5\n"
    assert colmap.read_cameras(text) == {3: Calibration(64, 48, 50.0, 51.0, 32.0, 24.0),
                                         10: Calibration(32, 24, 40.0, 40.0, 16.0, 12.0)}
    with pytest.raises(CalibrationError, match=r"^cameras\.txt lists no cameras$"):
        colmap.read_cameras("# nothing\n\n")
    with pytest.raises(CalibrationError, match=r"^camera id 'a' is not a non-negative integer$"):
        colmap.read_cameras("1 PINHOLE 64 48 50 51 32.5 24.5\na PINHOLE 64 48 50 51 32.5 24.5\n")
    with pytest.raises(CalibrationError, match=r"^camera id 1 is listed twice$"):
        colmap.read_cameras("1 PINHOLE 64 48 50 51 32.5 24.5\n1 PINHOLE 64 48 50 51 32.5 24.5\n")
    with pytest.raises(CalibrationError, match=r"^camera 2: OPENCV takes 8 parameters, got 4$"):
        colmap.read_cameras("1 PINHOLE 64 48 50 51 32.5 24.5\n2 OPENCV 64 48 50 51 32.5 24.5\n")
    with pytest.raises(CalibrationError, match=r"^camera 2: size must be positive, got 0x48$"):
        colmap.read_cameras("2 PINHOLE 0 48 50 51 32.5 24.5\n")


def test_the_sidecar_format() -> None:
    document = {"K": K_LIST, "width": 640, "height": 480, "distortion": {"model": "radtan", "coefficients": {
        "k1": -0.31, "k2": 0.12, "p1": 0.001, "p2": -0.002, "k3": -0.03}}}
    assert sidecar_format.claims(document)
    assert not sidecar_format.claims({"K": K_LIST}) and not sidecar_format.claims("K")
    assert read_document(document) == expected()
    assert read_document({**document, "projection": "PERSP"}) == expected()
    refused({**document, "projection": "ORTHO"}, r"cal\.yaml: True Depth camera sidecar \(K, width, height, "
            r"distortion\): a ORTHO camera is not a calibration \(perspective only\)")


def test_the_registry_order_names_and_refusal(tmp_path: Path) -> None:
    assert [candidate.name for candidate in FORMATS] == NAMES and "; ".join(NAMES) == SUPPORTED
    refused({"just": "words"}, r"cal\.yaml: not a calibration this tool reads; supported: " + re.escape(SUPPORTED))
    with pytest.raises(CalibrationFormatError, match=r"^calibration: not a calibration this tool reads; "):
        read_document(["a list"])
    with pytest.raises(CalibrationFormatError, match=r"^calibration: Kalibr camchain .*: resolution must be"):
        read_document({"cam0": kalibr_entry(resolution=[1])})
    missing = tmp_path / "missing.yaml"
    with pytest.raises(CalibrationFormatError, match=rf"^{re.escape(str(missing))}: no such file$"):
        read(missing)
    with pytest.raises(CalibrationFormatError, match=r": no such file$"):
        read(tmp_path)
    (tmp_path / "cams.txt").write_text("1 PINHOLE 64 48 50 51 32.5 24.5\n2 PINHOLE 32 24 40 41 16.5 12.5\n")
    assert read(str(tmp_path / "cams.txt"), "2") == Calibration(32, 24, 40.0, 41.0, 16.0, 12.0)


def test_a_sidecar_that_also_looks_like_opencv_is_read_as_the_sidecar() -> None:
    document = {"K": K_LIST, "width": 640, "height": 480, "D": [0.5, 0.5, 0.5, 0.5], "image_size": [1, 1]}
    assert read_document(document) == expected("pinhole", ())
    ros_like = ros_document("equidistant", FISHEYE4, K=K_LIST)  # ROS is tried before OpenCV
    assert read_document(ros_like) == expected("fisheye", FISHEYE4)


def test_ros_matrices_without_rows_and_cols_and_their_names_in_refusals() -> None:
    document = ros_document("plumb_bob", RADTAN5)
    document["camera_matrix"] = {"data": FLAT_K}  # no rows/cols: the 3x3 shape still applies
    assert read_document(document) == expected()
    document["camera_matrix"] = {"rows": 3, "cols": 3, "data": FLAT_K[:8]}
    refused(document, r"cal\.yaml: ROS camera_info .*: camera_matrix: 3x3 matrix with 8 values")
    document["camera_matrix"] = FLAT_K[:8]
    refused(document, r"cal\.yaml: ROS camera_info .*: camera_matrix must have 9 values, got 8")
    document = ros_document("plumb_bob", RADTAN5)
    document["distortion_coefficients"] = {"rows": 1, "cols": 5, "data": list(RADTAN5[:4])}
    refused(document, r"cal\.yaml: ROS camera_info .*: distortion_coefficients: 1x5 matrix with 4 values")
    document["distortion_coefficients"] = {"rows": 1, "cols": 5}
    refused(document, r"cal\.yaml: ROS camera_info .*: distortion_coefficients has no data")


def test_kalibr_ignores_entries_that_are_not_cameras() -> None:
    camchain = {"cam0": kalibr_entry(), "T_cam_imu": {"rows": 4, "data": [1]}, "notes": "intrinsics: none",
                "list": ["intrinsics"]}
    assert read_document(camchain) == expected("radtan", RADTAN5[:4])
    refused(camchain, r"cal\.yaml: Kalibr camchain .*: no camera 'T_cam_imu' \(the camchain has cam0\)",
            camera="T_cam_imu")


def test_a_one_pixel_colmap_camera_is_accepted() -> None:
    assert read_document("1 PINHOLE 1 1 2 3 0.5 0.5\n") == Calibration(1, 1, 2.0, 3.0, 0.0, 0.0)


def test_a_ros_file_without_distortion_model_is_one_line() -> None:
    with pytest.raises(CalibrationFormatError, match="no distortion_model"):
        read_document({"camera_matrix": [1, 0, 0, 0, 1, 0, 0, 0, 1], "rectification_matrix": [1]}, "c.yaml")
