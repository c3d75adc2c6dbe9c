"""The camera-per-frame readers' refusals word for word: how many unmatched frames one error names, COLMAP text
models (file, line, field) and nerfstudio transforms.json (file, frame, key)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from depth_node.core.calibration import Calibration, CalibrationError
from depth_node.core.calibration.frames import FrameCamera, colmap_frames, match_frames, nerfstudio_frames


def missing(count: int) -> str:
    return "; ".join(f"frame {n} (depth_{n:04d}.exr) has no camera (no image named depth_{n:04d} or numbered {n})"
                     for n in range(1, count + 1))


@pytest.mark.parametrize("count, message", [
    (1, missing(1)),
    (5, missing(5)),
    (6, missing(5) + "; ... and 1 more"),
    (8, missing(5) + "; ... and 3 more"),
])
def test_at_most_five_problems_are_listed(count: int, message: str) -> None:
    cameras = [FrameCamera("image_0100.png", Calibration(4, 3, 2.0, 2.0, 1.5, 1.0), None)]
    inputs = {n: Path(f"depth_{n:04d}.exr") for n in range(count, 0, -1)}
    with pytest.raises(CalibrationError) as error:
        match_frames(cameras, inputs)
    assert str(error.value) == message


# --- COLMAP text model: each refusal with its file and line -------------------------------------------------------

CAMERAS = "# Camera list\n1 PINHOLE 64 48 50 51 32.5 24.5\n2 PINHOLE 32 24 40 41 16.5 12.5\n"
IMAGE = "1 1 0 0 0 0.5 -0.25 2 1 a.png"


def colmap_model(tmp_path: Path, images: str) -> Path:
    (tmp_path / "cameras.txt").write_text(CAMERAS)
    (tmp_path / "images.txt").write_text(images)
    return tmp_path


def colmap_refused(tmp_path: Path, images: str, message: str) -> None:
    folder = colmap_model(tmp_path, images)
    with pytest.raises(CalibrationError) as error:
        colmap_frames(folder)
    assert str(error.value) == f"{folder / 'images.txt'}:{message}"


def test_colmap_line_numbers_count_from_one_and_indented_comments_are_skipped(tmp_path: Path) -> None:
    colmap_refused(tmp_path, "# header\n  # indented comment\n1 1 0 0 0 0 0 0 1\n",
                   "3: expected 'IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME', got '1 1 0 0 0 0 0 0 1'")


@pytest.mark.parametrize("position, label", list(enumerate(("QW", "QX", "QY", "QZ", "TX", "TY", "TZ"), start=1)))
def test_colmap_each_pose_value_is_named(tmp_path: Path, position: int, label: str) -> None:
    tokens = IMAGE.split()
    tokens[position] = "x"
    colmap_refused(tmp_path, " ".join(tokens) + "\n\n", f"1: {label} is not a number: 'x'")


def test_colmap_duplicates_unknown_cameras_and_points(tmp_path: Path) -> None:
    colmap_refused(tmp_path, IMAGE + "\n\n" + IMAGE.replace("a.png", "b.png") + "\n\n",
                   "3: image id 1 is listed twice (a.png, b.png)")
    colmap_refused(tmp_path, IMAGE.replace(" 1 a.png", " 9 a.png") + "\n\n",
                   "1: image a.png uses camera 9, which cameras.txt does not list (it has 1, 2)")
    colmap_refused(tmp_path, "# c\n" + IMAGE + "\n1.5 2.5 x\n", "3: POINTS2D of image a.png is not a number: 'x'")
    colmap_refused(tmp_path, IMAGE + "\n1.5 2.5\n",
                   "2: expected the POINTS2D line (X Y POINT3D_ID triples) of image a.png, got '1.5 2.5'; every "
                   "image takes two lines (the second may be empty)")


def test_colmap_a_valid_model_reads_its_pose(tmp_path: Path) -> None:
    (frame,) = colmap_frames(colmap_model(tmp_path, "# c\n" + IMAGE + "\n1.5 2.5 -1\n\n"))
    assert frame.name == "a.png" and frame.camera == Calibration(64, 48, 50.0, 51.0, 32.0, 24.0)
    assert np.array_equal(frame.camera_to_world_opencv, [[1, 0, 0, -0.5], [0, 1, 0, 0.25], [0, 0, 1, -2],
                                                         [0, 0, 0, 1]])


def test_colmap_missing_text_files_hint_at_the_binary_model(tmp_path: Path) -> None:
    (tmp_path / "cameras.txt").write_text(CAMERAS)
    with pytest.raises(CalibrationError) as error:
        colmap_frames(tmp_path)
    assert str(error.value) == (f"{tmp_path / 'images.txt'}: no such file; a COLMAP text model is a folder with "
                                "cameras.txt and images.txt")
    (tmp_path / "images.bin").write_bytes(b"\x00")
    with pytest.raises(CalibrationError) as error:
        colmap_frames(tmp_path)
    assert str(error.value) == (f"{tmp_path / 'images.txt'}: no such file; a COLMAP text model is a folder with "
                                "cameras.txt and images.txt (found images.bin: convert the binary model with 'colmap "
                                "model_converter --output_type TXT')")


# --- nerfstudio transforms.json: messages word for word -----------------------------------------------------------


def nerfstudio(tmp_path: Path, top: dict, frame: dict) -> Path:
    base = {"file_path": "a_0001.png", "fl_x": 50.0, "fl_y": 50.0, "cx": 32.0, "cy": 24.0, "w": 64, "h": 48,
            "transform_matrix": np.eye(4).tolist()}
    (tmp_path / "transforms.json").write_text(json.dumps({**top, "frames": [{**base, **frame}]}))
    return tmp_path / "transforms.json"


@pytest.mark.parametrize("top, frame, message", [
    ({}, {"camera_model": "OPENCV_FISHEYE"},
     "nerfstudio has no per-frame camera_model (the file's is 'OPENCV')"),
    ({"camera_model": "PINHOLE"}, {"camera_model": "OPENCV"},
     "nerfstudio has no per-frame camera_model (the file's is 'PINHOLE')"),
    ({}, {"k4": 0.01},
     "k4=0.01 is nerfstudio's r^8 radial term, which OpenCV's radial-tangential model has no counterpart for"),
    ({"camera_model": "EQUIRECTANGULAR"}, {},
     "camera_model 'EQUIRECTANGULAR' is not supported; supported: OPENCV, PINHOLE, SIMPLE_PINHOLE, SIMPLE_RADIAL, "
     "RADIAL, OPENCV_FISHEYE"),
    ({"k1": "x"}, {}, "transforms.json: k1 must be a finite number, got 'x'"),
    ({}, {"k2": float("inf")}, "k2 must be a finite number, got inf"),
    ({}, {"p1": True}, "p1 must be a finite number, got True"),
    ({}, {"distortion_params": [0.1, 0, 0, 0, 0, 0], "k1": 0.2, "p2": 0.3}, "distortion_params and k1, p2 disagree"),
])
def test_nerfstudio_refusals_word_for_word(tmp_path: Path, top: dict, frame: dict, message: str) -> None:
    path = nerfstudio(tmp_path, top, frame)
    with pytest.raises(CalibrationError) as error:
        nerfstudio_frames(path)
    assert str(error.value) == f"{path}: frames[0] (a_0001.png): {message}"


def test_nerfstudio_frame_model_equal_to_the_default_and_distortion_params() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = nerfstudio(Path(folder), {}, {"camera_model": "OPENCV",
                                             "distortion_params": [0.1, 0.2, 0.3, 0.0, 0.01, 0.02], "k1": 0.1})
        (frame,) = nerfstudio_frames(path)
    assert frame.camera == Calibration(64, 48, 50.0, 50.0, 31.5, 23.5, "radtan", (0.1, 0.2, 0.01, 0.02, 0.3))


def test_colmap_quaternions_are_normalized_and_unreadable_files_named(tmp_path: Path) -> None:
    # q = (2, 0, 0, 2): not unit; normalized, 90 degrees about z (world to camera), so camera to world is its inverse
    (frame,) = colmap_frames(colmap_model(tmp_path, "2 2 0 0 2 0.5 -0.25 2 1 b.png\n\n"))
    assert np.allclose(frame.camera_to_world_opencv[:3, :3], [[0, 1, 0], [-1, 0, 0], [0, 0, 1]], rtol=0, atol=1e-15)
    (tmp_path / "images.txt").write_bytes(b"\xff\xfe\xfa")
    with pytest.raises(CalibrationError) as error:
        colmap_frames(tmp_path)
    assert str(error.value).startswith(f"{tmp_path / 'images.txt'}: cannot read (")


@pytest.mark.parametrize("top, frame, message", [
    ({"fl_x": 55.0}, {}, "fl_x is 50.0 here and 55.0 at the top of the file; nerfstudio uses the top-level value and "
                         "ignores the frame's: remove one of them"),
    ({"k1": 0.1}, {"distortion_params": [0.2, 0, 0, 0, 0, 0]},
     "the frame's distortion differs from the top-level one, which nerfstudio uses (ignoring the frame's): remove one "
     "of them"),
    ({"k1": 0.1}, {"k2": "x"}, "k2 must be a finite number, got 'x'"),
    ({"k4": 0.1}, {}, "k4 alone at the top of the file is ignored by nerfstudio (it reads the frames' distortion "
                      "then): give k4 per frame"),
    ({}, {"transform_matrix": "abc"}, "transform_matrix must be a 4x4 matrix of numbers, got 'abc'"),
    ({}, {"transform_matrix": np.diag([1.0 + 7.5e-6] * 3 + [1.0]).tolist()},
     "transform_matrix is not a rigid motion (its 3x3 part is not a rotation: scaled, sheared or mirrored): "
     "[[1.0000075, 0.0, 0.0], [0.0, 1.0000075, 0.0], [0.0, 0.0, 1.0000075]]"),
    ({}, {"transform_matrix": np.diag([1.2, 1.2, 1.2, 1.0]).tolist()},
     "transform_matrix is not a rigid motion (its 3x3 part is not a rotation: scaled, sheared or mirrored): "
     "[[1.2, 0.0, 0.0], [0.0, 1.2, 0.0], [0.0, 0.0, 1.2]]"),
])
def test_nerfstudio_more_refusals_word_for_word(tmp_path: Path, top: dict, frame: dict, message: str) -> None:
    path = nerfstudio(tmp_path, top, frame)
    with pytest.raises(CalibrationError) as error:
        nerfstudio_frames(path)
    assert str(error.value) == f"{path}: frames[0] (a_0001.png): {message}"


def test_nerfstudio_tolerances_and_agreeing_values(tmp_path: Path) -> None:
    nearly = np.diag([1.0 + 2.5e-6] * 3 + [1.0]).tolist()  # R^T R off by 5e-6: within the 1e-5 tolerance
    (frame,) = nerfstudio_frames(nerfstudio(tmp_path, {"k4": 0.0}, {"transform_matrix": nearly}))
    assert frame.camera.model == "pinhole"
    (frame,) = nerfstudio_frames(nerfstudio(tmp_path, {"k4": 0.02, "camera_model": "OPENCV_FISHEYE"}, {"k4": 0.02}))
    assert frame.camera.coefficients == (0.0, 0.0, 0.0, 0.02)
    path = nerfstudio(tmp_path, {}, {"transform_matrix": [[1.0, 0.0, 0.0, 0.0]] * 3 + [[0.0, 0.0, 0.0, np.nan]]})
    with pytest.raises(CalibrationError) as error:
        nerfstudio_frames(path)
    message = str(error.value)
    assert message.startswith(f"{path}: frames[0] (a_0001.png): transform_matrix must be a finite 4x4 matrix, got ")
    assert "nan" in message and "None" not in message
