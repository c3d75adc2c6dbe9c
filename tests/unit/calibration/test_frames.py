"""Per-frame cameras of COLMAP models and nerfstudio transforms (core/calibration/frames.py), and matching them
to input frames."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from depth_node.core.calibration import Calibration, CalibrationError
from depth_node.core.calibration.frames import FrameCamera, colmap_frames, match_frames, nerfstudio_frames
from depth_node.core.outputs import exports


def missing(count: int) -> str:
    return "; ".join(f"frame {n} (depth_{n:04d}.exr) has no camera (no image named depth_{n:04d} or numbered {n})"
                     for n in range(1, count + 1))


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


def nerfstudio(tmp_path: Path, top: dict, frame: dict) -> Path:
    base = {"file_path": "a_0001.png", "fl_x": 50.0, "fl_y": 50.0, "cx": 32.0, "cy": 24.0, "w": 64, "h": 48,
            "transform_matrix": np.eye(4).tolist()}
    (tmp_path / "transforms.json").write_text(json.dumps({**top, "frames": [{**base, **frame}]}))
    return tmp_path / "transforms.json"


DATA = Path(__file__).resolve().parents[2] / "data" / "cameras"


K = np.array([[512.25, 0.0, 319.75], [0.0, 515.5, 241.125], [0.0, 0.0, 1.0]])


FLIP = np.diag([1.0, -1.0, -1.0, 1.0])


def rodrigues(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rotation by ``angle`` (radians) about ``axis``: Rodrigues' formula."""
    a = np.asarray(axis, dtype=np.float64) / np.linalg.norm(axis)
    cross = np.array([[0.0, -a[2], a[1]], [a[2], 0.0, -a[0]], [-a[1], a[0], 0.0]])
    return np.eye(3) + math.sin(angle) * cross + (1.0 - math.cos(angle)) * cross @ cross


def axis_angle_quaternion(axis: np.ndarray, angle: float) -> tuple[float, ...]:
    a = np.asarray(axis, dtype=np.float64) / np.linalg.norm(axis)
    return (math.cos(angle / 2), *(math.sin(angle / 2) * a))


def random_rotations(rng: np.random.Generator, count: int) -> list[tuple[np.ndarray, float]]:
    """Random axes with angles spread over [0, pi], plus angles at and just below 180 degrees."""
    axes = rng.normal(size=(count, 3))
    angles = list(rng.uniform(0.0, math.pi, size=count - 8)) + [math.pi, math.pi - 1e-12, math.pi - 1e-9,
                                                                   math.pi - 1e-6, math.pi - 1e-3, 1e-9, 0.0, 3.1]
    return list(zip(axes, angles, strict=True))


COLMAP_IMAGES = {  # the fixture's images: axis, angle (degrees), translation, camera id
    "images/frame_0001.png": ((1.0, 2.0, 3.0), 30.0, (0.25, -1.5, 4.0), 1),
    "images/frame_0002.png": ((1.0, 0.0, 0.0), 170.0, (-2.0, 0.5, 1.0), 1),
    "images/frame_0003.png": ((0.1, 1.0, 0.2), 175.0, (3.0, 0.0, -0.75), 2),
    "images/frame_0004.png": ((0.0, 0.0, 1.0), 180.0, (0.0, 1.0, 2.0), 2),
}


def quaternion_branch(R: np.ndarray) -> str:
    """Which branch of the usual rotation -> quaternion conversion (exports._quaternion's) a matrix takes."""
    if np.trace(R) > 0:
        return "trace"
    if R[0, 0] > R[1, 1] and R[0, 0] > R[2, 2]:
        return "x"
    return "y" if R[1, 1] > R[2, 2] else "z"


def write_images_txt(folder: Path, lines: list[str], cameras: str = "1 PINHOLE 64 48 50 50 32 24\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cameras.txt").write_text(cameras)
    (folder / "images.txt").write_text("# IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME\n"
                                       + "\n".join(lines) + "\n")
    return folder


def sidecar_record(frame: int, to_world_opencv: np.ndarray, K_: np.ndarray = K, distortion: dict | None = None
                   ) -> exports.Record:
    camera = {"K": K_.tolist(), "width": 640, "height": 480, "projection": "PERSP",
              "camera_to_world_opencv": to_world_opencv.tolist(),
              "camera_to_world_blender": (to_world_opencv @ FLIP).tolist()}
    if distortion is not None:
        camera["distortion"] = distortion
    return exports.Record(frame, "", camera, f"depth_{frame:04d}.exr")


def random_poses(seed: int, count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    poses = []
    for axis, angle in random_rotations(rng, count):
        pose = np.eye(4)
        pose[:3, :3] = rodrigues(axis, angle)
        pose[:3, 3] = rng.normal(size=3) * 3
        poses.append(pose)
    return poses


def nerfstudio_bad(tmp_path: Path, top: dict, frame: dict) -> Path:
    base = {"file_path": "a_0001.png", "fl_x": 50.0, "fl_y": 50.0, "cx": 32.0, "cy": 24.0, "w": 64, "h": 48,
            "transform_matrix": np.eye(4).tolist()}
    document = {**top, "frames": [{key: value for key, value in {**base, **frame}.items() if value is not None}]}
    (tmp_path / "transforms.json").write_text(json.dumps(document))
    return tmp_path / "transforms.json"


def cameras_named(*names: str) -> list[FrameCamera]:
    calibration = Calibration(4, 3, 2.0, 2.0, 1.5, 1.0)
    return [FrameCamera(name, calibration, None) for name in names]


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


def test_colmap_fixture_poses_and_intrinsics() -> None:
    for path in (DATA / "colmap", DATA / "colmap" / "images.txt"):
        frames = colmap_frames(path)
        assert [frame.name for frame in frames] == list(COLMAP_IMAGES)
        branches = set()
        for frame in frames:
            axis, angle, t, camera_id = COLMAP_IMAGES[frame.name]
            R = rodrigues(np.array(axis), math.radians(angle))  # world -> camera
            branches.add(quaternion_branch(R))
            np.testing.assert_allclose(frame.camera_to_world_opencv[:3, :3], R.T, rtol=0, atol=1e-12)
            np.testing.assert_allclose(frame.camera_to_world_opencv[:3, 3], -R.T @ np.array(t), rtol=0, atol=1e-12)
            np.testing.assert_array_equal(frame.camera_to_world_opencv[3], [0, 0, 0, 1])
            # the camera centre maps to the camera origin through COLMAP's x_cam = R x_world + t
            centre = frame.camera_to_world_opencv[:3, 3]
            np.testing.assert_allclose(R @ centre + np.array(t), 0.0, atol=1e-12)
        assert branches == {"trace", "x", "y", "z"}
    first, _, third, _ = frames
    np.testing.assert_array_equal(first.camera.K, [[500.0, 0.0, 320.0], [0.0, 510.0, 240.0], [0.0, 0.0, 1.0]])
    assert (first.camera.width, first.camera.height, first.camera.model) == (640, 480, "pinhole")
    assert third.camera == Calibration(320, 240, 250.25, 251.5, 160.25, 118.75, "radtan",
                                       (-0.12, 0.034, 0.0005, -0.0007))


def test_colmap_random_rotations_against_axis_angle(tmp_path: Path) -> None:
    rng = np.random.default_rng(20240611)
    rotations = random_rotations(rng, 300)
    lines, expected = [], []
    for index, (axis, angle) in enumerate(rotations, start=1):
        q = np.array(axis_angle_quaternion(axis, angle)) * rng.choice([-1.0, 1.0])  # q and -q: the same rotation
        t = rng.normal(size=3) * 5
        lines += [f"{index} " + " ".join(repr(float(v)) for v in (*q, *t)) + f" 1 img_{index:05d}.jpg", ""]
        R = rodrigues(axis, angle)
        expected.append((R.T, -R.T @ t))
    frames = colmap_frames(write_images_txt(tmp_path / "model", lines))
    assert len(frames) == len(rotations)
    branches = set()
    for frame, (rotation, centre) in zip(frames, expected, strict=True):
        branches.add(quaternion_branch(rotation.T))
        np.testing.assert_allclose(frame.camera_to_world_opencv[:3, :3], rotation, rtol=0, atol=1e-12)
        np.testing.assert_allclose(frame.camera_to_world_opencv[:3, 3], centre, rtol=0, atol=1e-11)
    assert branches == {"trace", "x", "y", "z"}


def test_colmap_reads_what_true_depth_writes(tmp_path: Path) -> None:
    poses = random_poses(11, 60)
    distortion = {"model": "radtan", "coefficients": {"k1": -0.2, "k2": 0.05, "p1": 0.001, "p2": -0.0004,
                                                      "k3": 0.01, "k4": 0.0, "k5": 0.0, "k6": 0.0}}
    records = [sidecar_record(index, pose, distortion=distortion if index % 2 else None)
               for index, pose in enumerate(poses)]
    exports.write_colmap(tmp_path / "sparse", records, "image_####.png")
    frames = colmap_frames(tmp_path / "sparse")
    assert [frame.name for frame in frames] == [f"image_{index:04d}.png" for index in range(len(poses))]
    for index, (frame, pose) in enumerate(zip(frames, poses, strict=True)):
        np.testing.assert_allclose(frame.camera_to_world_opencv, pose, rtol=0, atol=1e-12)
        np.testing.assert_allclose(frame.camera.K, K, rtol=1e-15)
        assert frame.camera.model == ("radtan" if index % 2 else "pinhole")


@pytest.mark.parametrize("lines, cameras, message", [
    (["1 0 0 0 0 0 0 0 1 a.png", ""], None, "not a rotation"),
    (["1 1 0 0 0 0 0 0 7 a.png", ""], None, "uses camera 7, which cameras.txt does not list"),
    (["1 1 0 0 0 0 0 0 1 a.png", "2 1 0 0 0 0 0 0 1 b.png", ""], None, "expected the POINTS2D line"),
    (["1 1 0 0 0 0 0 0 1 a.png", "", "1 1 0 0 0 0 0 0 1 b.png", ""], None, "image id 1 is listed twice"),
    (["1 1 0 0 0 0 0 1 a.png", ""], None, "expected 'IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME'"),
    (["1 1 0 0 zero 0 0 0 1 a.png", ""], None, "QZ is not a number"),
    (["1 1 0 0 0 0 inf 0 1 a.png", ""], None, "TY is not finite"),
    (["x 1 0 0 0 0 0 0 1 a.png", ""], None, "IMAGE_ID and CAMERA_ID must be non-negative integers"),
    ([], None, "lists no images"),
    (["1 1 0 0 0 0 0 0 1 a.png", ""], "1 EQUIRECTANGULAR 64 32 1 2 3\n", "camera 1: camera model EQUIRECTANGULAR"),
    (["1 1 0 0 0 0 0 0 1 a.png", ""], "1 PINHOLE 64 32 50 50 32\n", "camera 1: PINHOLE takes 4 parameters"),
    (["1 1 0 0 0 0 0 0 1 a.png", ""], "1 PINHOLE 64 32 50 50 32 16\n1 PINHOLE 64 32 50 50 32 16\n",
     "camera id 1 is listed twice"),
    (["1 1 0 0 0 0 0 0 1 a.png", ""], "# nothing\n", "lists no cameras"),
])
def test_bad_colmap_models_are_refused(tmp_path: Path, lines: list[str], cameras: str | None, message: str) -> None:
    folder = write_images_txt(tmp_path / "model", lines, *(() if cameras is None else (cameras,)))
    with pytest.raises(CalibrationError, match=message):
        colmap_frames(folder)


def test_colmap_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(CalibrationError, match="images.txt: no such file"):
        colmap_frames(tmp_path)
    (tmp_path / "images.txt").write_text("")
    (tmp_path / "cameras.bin").write_bytes(b"\0")
    with pytest.raises(CalibrationError, match="cameras.txt: no such file.*model_converter --output_type TXT"):
        colmap_frames(tmp_path / "images.txt")


def test_colmap_image_names_and_points_lines(tmp_path: Path) -> None:
    folder = write_images_txt(tmp_path / "model", [
        "1 1 0 0 0 0 0 0 1 cam 2/frame 0009.png", "1.5 2.5 -1 3.5 4.5 12",
        "2 1 0 0 0 0 0 0 1 b.png", "", "", ""])
    frames = colmap_frames(folder)
    assert [frame.name for frame in frames] == ["cam 2/frame 0009.png", "b.png"]


def test_nerfstudio_fixture_per_frame_intrinsics_and_poses() -> None:
    frames = nerfstudio_frames(DATA / "nerfstudio" / "transforms.json")
    assert [frame.name for frame in nerfstudio_frames(DATA / "nerfstudio")] == [frame.name for frame in frames]
    document = json.loads((DATA / "nerfstudio" / "transforms.json").read_text())
    first, second, third = frames
    # nerfstudio's cx, cy put the top-left pixel's centre at (0.5, 0.5): OpenCV's are 0.5 less
    assert first.camera == Calibration(64, 48, 60.0, 61.0, 31.5, 23.5)
    assert second.camera == Calibration(64, 48, 70.0, 70.0, 31.0, 24.0, "radtan", (-0.1, 0.02, 0.001, -0.002, 0.003))
    assert third.camera == Calibration(64, 48, 55.5, 56.5, 29.5, 21.5, "radtan", (0.05, 0.0, 0.0, 0.0, 0.0))
    for frame, entry in zip(frames, document["frames"], strict=True):
        assert frame.name == entry["file_path"]
        opengl = np.array(entry["transform_matrix"])
        np.testing.assert_array_equal(frame.camera_to_world_opencv[:, 0], opengl[:, 0])  # x right in both
        np.testing.assert_array_equal(frame.camera_to_world_opencv[:, 1], -opengl[:, 1])  # y: up -> down
        np.testing.assert_array_equal(frame.camera_to_world_opencv[:, 2], -opengl[:, 2])  # looks down -z (OpenGL)
        np.testing.assert_array_equal(frame.camera_to_world_opencv[:, 3], opengl[:, 3])


def test_nerfstudio_random_poses(tmp_path: Path) -> None:
    poses = random_poses(5, 200)
    document = {"camera_model": "OPENCV_FISHEYE", "fl_x": 300.0, "fl_y": 301.0, "cx": 320.0, "cy": 240.0,
                "w": 640, "h": 480, "k1": 0.01, "k2": -0.002, "k3": 0.0003, "k4": -0.00004,
                "frames": [{"file_path": f"images/frame_{index:05d}.png", "transform_matrix": (pose @ FLIP).tolist()}
                           for index, pose in enumerate(poses)]}
    (tmp_path / "transforms.json").write_text(json.dumps(document))
    frames = nerfstudio_frames(tmp_path)
    for frame, pose in zip(frames, poses, strict=True):
        np.testing.assert_allclose(frame.camera_to_world_opencv, pose, rtol=0, atol=1e-15)
        # OpenCV's forward axis is the direction nerfstudio's camera looks at: -Z of its transform_matrix
        np.testing.assert_allclose(frame.camera_to_world_opencv[:3, 2], -(pose @ FLIP)[:3, 2], atol=1e-15)
        assert frame.camera == Calibration(640, 480, 300.0, 301.0, 319.5, 239.5, "fisheye",
                                           (0.01, -0.002, 0.0003, -0.00004))


def test_nerfstudio_reads_what_true_depth_writes(tmp_path: Path) -> None:
    poses = random_poses(3, 40)
    K_ = np.array([[400.0, 0.0, 319.25], [0.0, 402.0, 240.75], [0.0, 0.0, 1.0]])
    records = [sidecar_record(index, pose, K_ @ np.diag([1 + index / 100, 1 - index / 300, 1.0]))
               for index, pose in enumerate(poses)]
    exports.write_nerfstudio(tmp_path / "transforms.json", records, None)
    frames = nerfstudio_frames(tmp_path / "transforms.json")
    for record, frame, pose in zip(records, frames, poses, strict=True):
        np.testing.assert_allclose(frame.camera_to_world_opencv, pose, rtol=0, atol=1e-12)
        np.testing.assert_allclose(frame.camera.K, record.camera["K"], rtol=1e-15, atol=1e-12)
        assert frame.camera.model == "pinhole" and (frame.camera.width, frame.camera.height) == (640, 480)
        assert frame.name == f"image_{record.frame:04d}.png"


@pytest.mark.parametrize("top, frame, message", [
    ({"fl_x": 55.0}, {}, "fl_x is 50.0 here and 55.0 at the top of the file; nerfstudio uses the top-level value"),
    ({}, {"fl_y": None}, r"frames\[0\] \(a_0001.png\): no fl_y"),
    ({}, {"w": 64.5}, "w must be a positive integer, got 64.5"),
    ({}, {"h": True}, "h must be a positive integer, got True"),
    ({}, {"cx": "32"}, "cx must be a finite number"),
    ({}, {"k4": 0.01}, "k4=0.01 is nerfstudio's r\\^8 radial term"),
    ({"camera_model": "OPENCV_FISHEYE"}, {"p1": 0.01}, "OPENCV_FISHEYE has no tangential terms"),
    ({"camera_model": "EQUIRECTANGULAR"}, {}, "camera_model 'EQUIRECTANGULAR' is not supported"),
    ({}, {"camera_model": "OPENCV_FISHEYE"}, "no per-frame camera_model"),
    ({"k1": 0.1}, {"k1": 0.2}, "the frame's distortion differs from the top-level one"),
    ({"k4": 0.1}, {}, "k4 alone at the top of the file is ignored by nerfstudio"),
    ({}, {"distortion_params": [0.1, 0.0]}, "distortion_params must be the 6 values"),
    ({}, {"distortion_params": [0.1, 0, 0, 0, 0, 0], "k1": 0.2}, "distortion_params and k1 disagree"),
    ({}, {"transform_matrix": None}, "no transform_matrix"),
    ({}, {"transform_matrix": (np.eye(4) * 2).tolist()}, "last row must be 0 0 0 1"),
    ({}, {"transform_matrix": np.diag([2.0, 2.0, 2.0, 1.0]).tolist()}, "not a rigid motion"),
    ({}, {"transform_matrix": np.diag([1.0, 1.0, -1.0, 1.0]).tolist()}, "not a rigid motion"),
    ({}, {"transform_matrix": [[1, 0], [0, 1]]}, "finite 4x4"),
    ({}, {"file_path": None}, "a frame needs a file_path"),
])
def test_bad_nerfstudio_files_are_refused(tmp_path: Path, top: dict, frame: dict, message: str) -> None:
    with pytest.raises(CalibrationError, match=message):
        nerfstudio_frames(nerfstudio_bad(tmp_path, top, frame))


def test_nerfstudio_agreeing_values_and_3x4_poses_are_read(tmp_path: Path) -> None:
    pose = np.eye(4)[:3].tolist()
    path = nerfstudio_bad(tmp_path, {"fl_x": 50.0, "k1": 0.1}, {"k1": 0.1, "transform_matrix": pose})
    (frame,) = nerfstudio_frames(path)
    assert frame.camera.coefficients[0] == 0.1
    np.testing.assert_array_equal(frame.camera_to_world_opencv, FLIP)


@pytest.mark.parametrize("content, message", [(None, "no such file"), ("{", "not valid JSON"),
                                              ('{"frames": 3}', "no 'frames' list"), ('{"frames": []}', "no frames")])
def test_bad_nerfstudio_documents_are_refused(tmp_path: Path, content: str | None, message: str) -> None:
    if content is not None:
        (tmp_path / "transforms.json").write_text(content)
    with pytest.raises(CalibrationError, match=message):
        nerfstudio_frames(tmp_path)


def test_match_by_stem_then_by_number() -> None:
    cameras = cameras_named("images/shot_0005.png", "other_0005.png", "images/frame_00007.jpg", "x12y3.png")
    matched = match_frames(cameras, {5: Path("renders/shot_0005.exr"), 7: Path("depth_0007.exr"),
                                     3: Path("depth_0003.exr")})
    assert matched[5].name == "images/shot_0005.png"  # the stem, though two cameras are numbered 5
    assert matched[7].name == "images/frame_00007.jpg"  # 00007 == 7 as integers
    assert matched[3].name == "x12y3.png"  # the last group of digits


def test_match_refuses_missing_and_ambiguous_frames() -> None:
    cameras = cameras_named("image_0007_L.png", "image_0007_R.png", "image_0008.png")
    with pytest.raises(CalibrationError) as error:
        match_frames(cameras, {7: Path("depth_0007.exr"), 8: Path("depth_0008.exr"), 9: Path("depth_0009.exr")})
    message = str(error.value)
    assert "frame 7 (depth_0007.exr) matches 2 cameras: image_0007_L.png, image_0007_R.png" in message
    assert "frame 9 (depth_0009.exr) has no camera" in message
    assert "frame 8" not in message
    with pytest.raises(CalibrationError, match="matches 2 cameras: a/x.png, b/x.png"):
        match_frames(cameras_named("a/x.png", "b/x.png"), {1: Path("x.exr")})


def test_match_frames_of_the_fixtures() -> None:
    frames = colmap_frames(DATA / "colmap")
    matched = match_frames(frames, {number: Path(f"distance_{number:04d}.exr") for number in (1, 2, 3, 4)})
    assert [matched[number].name for number in (1, 2, 3, 4)] == list(COLMAP_IMAGES)
