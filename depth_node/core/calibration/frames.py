"""The per-frame cameras of a reconstruction: COLMAP's text model and nerfstudio's transforms.json. Imports no bpy.

Each image of the reconstruction becomes a :class:`FrameCamera`: its name, its intrinsics (a
:class:`~depth_node.core.calibration.Calibration`, pixel centres at integers) and its camera-to-world pose in
OpenCV camera axes (x right, y down, z forward). :func:`match_frames` pairs them with the frames of an image
sequence. Both readers read what :mod:`depth_node.core.outputs.exports` writes and the tools' own documented layouts:

* COLMAP (https://colmap.github.io/format.html, text model): ``cameras.txt`` through
  :func:`~depth_node.core.calibration.formats.colmap.read_cameras` (COLMAP's pixel centres are at +0.5), and
  ``images.txt``: per image ``IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME`` then its ``POINTS2D[] as (X, Y,
  POINT3D_ID)`` line (possibly empty); the pose is world-to-camera (``x_cam = R(q) @ x_world + t``, Hamilton
  quaternion, normalised as COLMAP does).
* nerfstudio (https://docs.nerf.studio/quickstart/data_conventions.html): ``fl_x fl_y cx cy w h`` and
  distortion at the top (shared) or per frame, ``camera_model`` at the top only; ``transform_matrix``
  camera-to-world in OpenGL camera axes (x right, y up, z back), in the file's world as written (its
  ``applied_transform`` and nerfstudio's own re-orientation and scaling at training time are not applied).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import Calibration, CalibrationError
from .formats import colmap
from .ray_matrix import RayMatrix, integral

OPENGL_TO_OPENCV = np.diag([1.0, -1.0, -1.0, 1.0])
"""Right-multiplying a camera-to-world matrix by this turns OpenGL camera axes into OpenCV's (and back)."""
RIGID_TOLERANCE = 1e-5
"""How far a pose's rotation may be from orthonormal (float32 writers) before it is refused as not rigid."""


@dataclass(frozen=True, eq=False)
class FrameCamera:
    """One image of a reconstruction: its name (as the file names it), intrinsics and pose."""

    name: str
    camera: Calibration | RayMatrix
    camera_to_world_opencv: np.ndarray | None
    """4x4, camera axes x right, y down, z forward; None where the file gives no pose."""


# --- COLMAP ---------------------------------------------------------------------------------------------------


def quaternion_rotation(qw: float, qx: float, qy: float, qz: float) -> np.ndarray:
    """The rotation matrix of a Hamilton quaternion (normalised first, as COLMAP does)."""
    q = np.array([qw, qx, qy, qz], dtype=np.float64)
    norm = np.linalg.norm(q)
    if not np.isfinite(q).all() or norm == 0:
        raise CalibrationError(f"quaternion {q.tolist()} is not a rotation (zero or not finite)")
    w, x, y, z = q / norm
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])


def _colmap_paths(path: Path) -> tuple[Path, Path]:
    folder = path if path.is_dir() else path.parent
    images = path / "images.txt" if path.is_dir() else path
    cameras = folder / "cameras.txt"
    for needed in (images, cameras):
        if not needed.is_file():
            binary = needed.with_suffix(".bin")
            hint = (f" (found {binary.name}: convert the binary model with 'colmap model_converter --output_type TXT')"
                    if binary.is_file() else "")
            raise CalibrationError(f"{needed}: no such file; a COLMAP text model is a folder with cameras.txt and "
                                   f"images.txt{hint}")
    return cameras, images


def _read_text(path: Path) -> str:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise CalibrationError(f"{path}: cannot read ({error})") from None


def _float(token: str, what: str) -> float:
    try:
        value = float(token)
    except ValueError:
        raise CalibrationError(f"{what} is not a number: {token!r}") from None
    if not math.isfinite(value):
        raise CalibrationError(f"{what} is not finite: {token!r}")
    return value


def _points_line(line: str, where: str, image: str) -> None:
    """A ``POINTS2D[]`` line: ``X Y POINT3D_ID`` triples (none for an image without points)."""
    tokens = line.split()
    if len(tokens) % 3:
        raise CalibrationError(f"{where}: expected the POINTS2D line (X Y POINT3D_ID triples) of image {image}, "
                               f"got {line.strip()!r}; every image takes two lines (the second may be empty)")
    for token in tokens:
        _float(token, f"{where}: POINTS2D of image {image}")


def colmap_frames(path: str | Path) -> list[FrameCamera]:
    """Every image of a COLMAP text model, in the file's order (``path``: the model's folder, or its images.txt
    with cameras.txt beside it)."""
    cameras_path, images_path = _colmap_paths(Path(path))
    try:
        cameras = colmap.read_cameras(_read_text(cameras_path))
    except CalibrationError as error:
        raise CalibrationError(f"{cameras_path}: {error}") from None
    lines = [(number, line) for number, line in enumerate(_read_text(images_path).splitlines(), start=1)
             if not line.lstrip().startswith("#")]
    while lines and not lines[-1][1].strip():  # blank lines after the last image's POINTS2D line
        lines.pop()
    frames: list[FrameCamera] = []
    seen: dict[int, str] = {}
    index = 0
    while index < len(lines):
        number, line = lines[index]
        where = f"{images_path}:{number}"
        tokens = line.split(maxsplit=9)
        if len(tokens) < 10:
            raise CalibrationError(f"{where}: expected 'IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME', got "
                                   f"{line.strip()!r}")
        image_id, camera_id, name = tokens[0], tokens[8], tokens[9].strip()
        if not image_id.isdigit() or not camera_id.isdigit():
            raise CalibrationError(f"{where}: IMAGE_ID and CAMERA_ID must be non-negative integers, got "
                                   f"{image_id!r} and {camera_id!r}")
        if int(image_id) in seen:
            raise CalibrationError(f"{where}: image id {image_id} is listed twice ({seen[int(image_id)]}, {name})")
        seen[int(image_id)] = name
        if int(camera_id) not in cameras:
            raise CalibrationError(f"{where}: image {name} uses camera {camera_id}, which {cameras_path.name} does "
                                   f"not list (it has {', '.join(str(key) for key in cameras)})")
        values = [_float(token, f"{where}: {label}") for token, label in zip(tokens[1:8], (
            "QW", "QX", "QY", "QZ", "TX", "TY", "TZ"), strict=True)]
        try:
            rotation = quaternion_rotation(*values[:4])
        except CalibrationError as error:
            raise CalibrationError(f"{where}: {error}") from None
        to_world = np.eye(4)
        to_world[:3, :3] = rotation.T
        to_world[:3, 3] = -rotation.T @ np.asarray(values[4:])
        frames.append(FrameCamera(name, cameras[int(camera_id)], to_world))
        if index + 1 < len(lines):
            points_number, points = lines[index + 1]
            _points_line(points, f"{images_path}:{points_number}", name)
        index += 2
    if not frames:
        raise CalibrationError(f"{images_path}: lists no images")
    return frames


# --- nerfstudio -----------------------------------------------------------------------------------------------

INTRINSICS = ("fl_x", "fl_y", "cx", "cy", "w", "h")
DISTORTION = ("k1", "k2", "k3", "k4", "p1", "p2")
"""nerfstudio's coefficients, in the order of its ``distortion_params`` (``camera_utils.get_distortion_params``)."""
FIXED_DISTORTION_KEYS = ("k1", "k2", "k3", "p1", "p2", "distortion_params")
"""nerfstudio's dataparser takes the distortion from the top of the file when one of these is there."""
PERSPECTIVE_MODELS = ("OPENCV", "PINHOLE", "SIMPLE_PINHOLE", "SIMPLE_RADIAL", "RADIAL")
FISHEYE_MODELS = ("OPENCV_FISHEYE",)


def _distortion(entry: Mapping, where: str) -> dict[str, float]:
    if "distortion_params" in entry:
        values = entry["distortion_params"]
        if not isinstance(values, list) or len(values) != 6:
            raise CalibrationError(f"{where}: distortion_params must be the 6 values [k1, k2, k3, k4, p1, p2], got "
                                   f"{values!r}")
        named = dict(zip(DISTORTION, values, strict=True))
        clash = [key for key in DISTORTION if key in entry and entry[key] != named[key]]
        if clash:
            raise CalibrationError(f"{where}: distortion_params and {', '.join(clash)} disagree")
    else:
        named = {key: entry.get(key, 0.0) for key in DISTORTION}
    result = {}
    for key, value in named.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise CalibrationError(f"{where}: {key} must be a finite number, got {value!r}")
        result[key] = float(value)
    return result


def _nerfstudio_calibration(document: dict, frame: dict, where: str) -> Calibration:
    """One frame's intrinsics: the top-level value where the file has one (as nerfstudio's dataparser reads it:
    a top-level value wins), else the frame's; a frame disagreeing with the top-level value is refused."""
    values: dict[str, Any] = {}
    for key in INTRINSICS:
        if key in document:
            if key in frame and frame[key] != document[key]:
                raise CalibrationError(f"{where}: {key} is {frame[key]!r} here and {document[key]!r} at the top of "
                                       "the file; nerfstudio uses the top-level value and ignores the frame's: remove "
                                       "one of them")
            values[key] = document[key]
        elif key in frame:
            values[key] = frame[key]
        else:
            raise CalibrationError(f"{where}: no {key} (neither at the top of the file nor in the frame)")
    if any(key in document for key in FIXED_DISTORTION_KEYS):
        distortion = _distortion(document, "transforms.json")
        if any(key in frame for key in (*DISTORTION, "distortion_params")) and _distortion(frame, where) != distortion:
            raise CalibrationError(f"{where}: the frame's distortion differs from the top-level one, which nerfstudio "
                                   "uses (ignoring the frame's): remove one of them")
    else:
        if "k4" in document and frame.get("k4", 0.0) != document["k4"]:
            raise CalibrationError(f"{where}: k4 alone at the top of the file is ignored by nerfstudio (it reads the "
                                   "frames' distortion then): give k4 per frame")
        distortion = _distortion(frame, where)
    for key in ("fl_x", "fl_y", "cx", "cy"):
        value = values[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise CalibrationError(f"{where}: {key} must be a finite number, got {value!r}")
    width, height = integral(values["w"], f"{where}: w"), integral(values["h"], f"{where}: h")
    model = document.get("camera_model", "OPENCV")
    if model in FISHEYE_MODELS:
        if distortion["p1"] or distortion["p2"]:
            raise CalibrationError(f"{where}: OPENCV_FISHEYE has no tangential terms, got p1={distortion['p1']}, "
                                   f"p2={distortion['p2']}")
        kind, coefficients = "fisheye", tuple(distortion[key] for key in ("k1", "k2", "k3", "k4"))
    elif model in PERSPECTIVE_MODELS:
        if distortion["k4"]:
            raise CalibrationError(f"{where}: k4={distortion['k4']} is nerfstudio's r^8 radial term, which OpenCV's "
                                   "radial-tangential model has no counterpart for")
        coefficients = tuple(distortion[key] for key in ("k1", "k2", "p1", "p2", "k3"))
        kind = "radtan" if any(coefficients) else "pinhole"
        coefficients = coefficients if any(coefficients) else ()
    else:
        raise CalibrationError(f"camera_model {model!r} is not supported; supported: "
                               f"{', '.join(PERSPECTIVE_MODELS + FISHEYE_MODELS)}")
    # nerfstudio casts the ray of pixel (i, j) through (j + 0.5, i + 0.5) (Cameras.get_image_coords, pixel_offset
    # 0.5; docs "Pixel coordinates": coordinates name pixel centres), so its cx, cy put the top-left pixel's centre
    # at (0.5, 0.5) like COLMAP's (its COLMAP converter copies them unchanged): OpenCV's are 0.5 less.
    return Calibration(width, height, float(values["fl_x"]), float(values["fl_y"]), float(values["cx"]) - 0.5,
                       float(values["cy"]) - 0.5, kind, coefficients)


def _rigid(matrix: Any, where: str) -> np.ndarray:
    try:
        pose = np.array(matrix, dtype=np.float64)
    except (TypeError, ValueError):
        raise CalibrationError(f"{where}: transform_matrix must be a 4x4 matrix of numbers, got {matrix!r}") from None
    if pose.shape == (3, 4):
        pose = np.vstack([pose, [0.0, 0.0, 0.0, 1.0]])
    if pose.shape != (4, 4) or not np.isfinite(pose).all():
        raise CalibrationError(f"{where}: transform_matrix must be a finite 4x4 matrix, got {np.asarray(matrix)!r}")
    if not np.array_equal(pose[3], [0.0, 0.0, 0.0, 1.0]):
        raise CalibrationError(f"{where}: transform_matrix's last row must be 0 0 0 1, got {pose[3].tolist()}")
    rotation = pose[:3, :3]
    if (not np.allclose(rotation.T @ rotation, np.eye(3), rtol=0.0, atol=RIGID_TOLERANCE)
            or np.linalg.det(rotation) <= 0):
        raise CalibrationError(f"{where}: transform_matrix is not a rigid motion (its 3x3 part is not a rotation: "
                               f"scaled, sheared or mirrored): {rotation.tolist()}")
    return pose


def nerfstudio_frames(path: str | Path) -> list[FrameCamera]:
    """Every frame of a nerfstudio ``transforms.json`` (``path``: the file or its folder), in the file's order."""
    path = Path(path)
    if path.is_dir():
        path = path / "transforms.json"
    if not path.is_file():
        raise CalibrationError(f"{path}: no such file")
    try:
        document = json.loads(_read_text(path))
    except json.JSONDecodeError as error:
        raise CalibrationError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("frames"), list):
        raise CalibrationError(f"{path}: not a nerfstudio transforms.json (no 'frames' list)")
    frames = []
    for index, frame in enumerate(document["frames"]):
        where = f"{path}: frames[{index}]"
        if not isinstance(frame, dict) or not isinstance(frame.get("file_path"), str) or not frame["file_path"]:
            raise CalibrationError(f"{where}: a frame needs a file_path")
        where += f" ({frame['file_path']})"
        if "camera_model" in frame and frame["camera_model"] != document.get("camera_model", "OPENCV"):
            raise CalibrationError(f"{where}: nerfstudio has no per-frame camera_model (the file's is "
                                   f"{document.get('camera_model', 'OPENCV')!r})")
        if "transform_matrix" not in frame:
            raise CalibrationError(f"{where}: no transform_matrix")
        try:
            calibration = _nerfstudio_calibration(document, frame, where)
        except CalibrationError as error:
            message = str(error)
            raise CalibrationError(message if message.startswith(str(path)) else f"{where}: {message}") from None
        pose = _rigid(frame["transform_matrix"], where) @ OPENGL_TO_OPENCV
        frames.append(FrameCamera(frame["file_path"], calibration, pose))
    if not frames:
        raise CalibrationError(f"{path}: lists no frames")
    return frames


# --- matching -------------------------------------------------------------------------------------------------

_DIGITS = re.compile(r"\d+")


def frame_number(name: str) -> int | None:
    """The last group of digits of a file name's stem (``images/frame_0007.png`` -> 7), None without one."""
    groups = _DIGITS.findall(Path(name).stem)
    return int(groups[-1]) if groups else None


def match_frames(cameras: list[FrameCamera], inputs: dict[int, Path]) -> dict[int, FrameCamera]:
    """Each input frame (number -> file) with its camera: the one whose image has the file's stem, else the one
    whose image name's last group of digits is the frame number (compared as integers). An input without a
    camera, or with two, is refused (all such inputs named in one error)."""
    by_stem: dict[str, list[FrameCamera]] = {}
    by_number: dict[int, list[FrameCamera]] = {}
    for camera in cameras:
        by_stem.setdefault(Path(camera.name).stem, []).append(camera)
        number = frame_number(camera.name)
        if number is not None:
            by_number.setdefault(number, []).append(camera)
    matched: dict[int, FrameCamera] = {}
    problems: list[str] = []
    for number, file in sorted(inputs.items()):
        candidates = by_stem.get(Path(file).stem) or by_number.get(int(number), [])
        if len(candidates) == 1:
            matched[number] = candidates[0]
        elif candidates:
            problems.append(f"frame {number} ({Path(file).name}) matches {len(candidates)} cameras: "
                            + ", ".join(camera.name for camera in candidates))
        else:
            problems.append(f"frame {number} ({Path(file).name}) has no camera (no image named {Path(file).stem} "
                            f"or numbered {number})")
    if problems:
        shown = problems[:5] + ([f"... and {len(problems) - 5} more"] if len(problems) > 5 else [])
        raise CalibrationError("; ".join(shown))
    return matched
