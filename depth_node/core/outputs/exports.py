"""Camera files for other tools: COLMAP's text model and nerfstudio's transforms.json. Imports no bpy.

Both take the sidecars of a job's frames (one entry per frame and view). Conventions:

* COLMAP: PINHOLE cameras ``fx fy cx cy`` with the centre of the top-left pixel at (0.5, 0.5) (the
  sidecar's OpenCV K puts it at (0, 0), so ``cx = K[0, 2] + 0.5``); images as the world-to-camera rotation
  (quaternion ``qw qx qy qz``) and translation in OpenCV camera axes (x right, y down, z forward).
* nerfstudio: per frame ``fl_x fl_y cx cy w h`` (pixel centres at +0.5 as COLMAP) and ``transform_matrix``,
  camera-to-world in OpenGL camera axes (x right, y up, z backwards; Blender's camera axes).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_IMAGE_NAME = "image_####.png"
"""The RGB frames' names when neither the job's rgb files nor ``--image-name`` name them."""


@dataclass(frozen=True)
class Record:
    """One written frame (and view) of a job."""

    frame: int
    view_suffix: str
    camera: dict
    depth_file: str | None
    """The depth file's name relative to the scene folder (16-bit PNG when written, else the EXR)."""


def image_name(pattern: str, frame: int, view_suffix: str = "") -> str:
    """``image_####.png`` -> ``image_0007.png`` (``image_0007_L.png`` for a view)."""
    hashes = pattern.count("#")
    name = pattern.replace("#" * hashes, f"{frame:0{max(hashes, 1)}d}") if hashes else pattern
    stem, dot, extension = name.rpartition(".")
    return f"{stem}{view_suffix}.{extension}" if dot else f"{name}{view_suffix}"


def frame_image_name(record: Record, pattern: str | None) -> str:
    """The RGB file a record's frame names: ``pattern``'s, else the ``image`` its sidecar names (the job's rgb
    file), else the default pattern's (``image_0007.png``)."""
    if pattern is None:
        if "image" in record.camera:
            return str(record.camera["image"])
        pattern = DEFAULT_IMAGE_NAME
    return image_name(pattern, record.frame, record.view_suffix)


def _pinhole(camera: dict) -> tuple[float, float, float, float]:
    K = camera.get("K")
    if K is None or camera.get("projection") != "PERSP":
        raise ValueError(f"a {camera.get('projection')} camera has no pinhole model; COLMAP and nerfstudio "
                         "files need perspective cameras")
    K = np.asarray(K, dtype=np.float64)
    return float(K[0, 0]), float(K[1, 1]), float(K[0, 2]) + 0.5, float(K[1, 2]) + 0.5


def _distortion(camera: dict) -> tuple[str, dict[str, float]]:
    """``(model, coefficients)`` of a sidecar (``pinhole`` and none when it has no ``distortion``)."""
    distortion = camera.get("distortion") or {"model": "pinhole", "coefficients": {}}
    return distortion["model"], {name: float(value) for name, value in distortion["coefficients"].items()}


def colmap_camera(camera: dict) -> tuple[str, tuple[float, ...]]:
    """COLMAP's camera model and parameters of a sidecar: PINHOLE, OPENCV (k1, k2, p1, p2), FULL_OPENCV (all
    eight radial-tangential coefficients) or OPENCV_FISHEYE (k1..k4)."""
    pinhole = _pinhole(camera)
    model, c = _distortion(camera)
    if model == "fisheye":
        return "OPENCV_FISHEYE", (*pinhole, c["k1"], c["k2"], c["k3"], c["k4"])
    if model == "radtan":
        opencv = (c["k1"], c["k2"], c["p1"], c["p2"])
        rest = (c["k3"], c["k4"], c["k5"], c["k6"])
        return ("FULL_OPENCV", (*pinhole, *opencv, *rest)) if any(rest) else ("OPENCV", (*pinhole, *opencv))
    return "PINHOLE", pinhole


def nerfstudio_camera(camera: dict) -> dict[str, float | str]:
    """nerfstudio's per-frame camera: intrinsics, ``camera_model`` and its coefficients (k1..k4, p1, p2).
    nerfstudio's OPENCV model has k1..k4 radial terms without the rational k4..k6 of OpenCV's 8-term model:
    such a calibration is refused."""
    fx, fy, cx, cy = _pinhole(camera)
    entry: dict[str, float | str] = {"fl_x": fx, "fl_y": fy, "cx": cx, "cy": cy}
    model, c = _distortion(camera)
    if model == "fisheye":
        return {**entry, "camera_model": "OPENCV_FISHEYE", "k1": c["k1"], "k2": c["k2"], "k3": c["k3"],
                "k4": c["k4"]}
    if model == "radtan":
        if any(c[name] for name in ("k4", "k5", "k6")):
            raise ValueError("nerfstudio's OPENCV model has no rational coefficients (k4, k5, k6 of OpenCV's "
                             "8-term model)")
        return {**entry, "camera_model": "OPENCV", "k1": c["k1"], "k2": c["k2"], "k3": c["k3"], "k4": 0.0,
                "p1": c["p1"], "p2": c["p2"]}
    return {**entry, "camera_model": "OPENCV"}


def _quaternion(rotation: np.ndarray) -> tuple[float, float, float, float]:
    """(w, x, y, z) of a rotation matrix, w >= 0."""
    m = rotation
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    if trace > 0:
        s = 2.0 * np.sqrt(trace + 1.0)
        q = (0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s)
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = ((m[2, 1] - m[1, 2]) / s, 0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s)
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = ((m[0, 2] - m[2, 0]) / s, (m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s)
    else:
        s = 2.0 * np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = ((m[1, 0] - m[0, 1]) / s, (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s)
    q = np.asarray(q) / np.linalg.norm(q)
    return tuple(float(v) for v in (q if q[0] >= 0 else -q))


def write_colmap(folder: Path, records: Sequence[Record], image_pattern: str | None) -> list[Path]:
    """``folder/cameras.txt``, ``images.txt`` and an empty ``points3D.txt``; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    cameras: dict[tuple, int] = {}
    camera_lines, image_lines = [], []
    for index, record in enumerate(records, start=1):
        model, params = colmap_camera(record.camera)
        key = (model, params, int(record.camera["width"]), int(record.camera["height"]))
        if key not in cameras:
            cameras[key] = len(cameras) + 1
            camera_lines.append(f"{cameras[key]} {model} {key[2]} {key[3]} "
                                + " ".join(repr(float(value)) for value in params))
        to_world = np.asarray(record.camera["camera_to_world_opencv"], dtype=np.float64)
        rotation = to_world[:3, :3].T
        translation = -rotation @ to_world[:3, 3]
        numbers = " ".join(repr(float(value)) for value in (*_quaternion(rotation), *translation))
        name = frame_image_name(record, image_pattern)
        image_lines.append(f"{index} {numbers} {cameras[key]} {name}")
        image_lines.append("")
    header = "# written by True Depth; pixel centres at +0.5 (COLMAP's convention)\n"
    paths = [folder / "cameras.txt", folder / "images.txt", folder / "points3D.txt"]
    paths[0].write_text(header + "# CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]\n" + "\n".join(camera_lines) + "\n")
    paths[1].write_text(header + "# IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME\n# POINTS2D[] (none)\n"
                        + "\n".join(image_lines) + "\n")
    paths[2].write_text(header + "# no points\n")
    return paths


def write_nerfstudio(path: Path, records: Sequence[Record], image_pattern: str | None) -> list[Path]:
    """nerfstudio's ``transforms.json`` (per-frame intrinsics); returns ``[path]``."""
    frames = []
    for record in records:
        camera = nerfstudio_camera(record.camera)
        frames.append({
            "file_path": frame_image_name(record, image_pattern),
            "depth_file_path": record.depth_file,
            **{key: value for key, value in camera.items() if key != "camera_model"},
            "w": int(record.camera["width"]), "h": int(record.camera["height"]),
            "transform_matrix": record.camera["camera_to_world_blender"],
        })
    models = {nerfstudio_camera(record.camera)["camera_model"] for record in records} or {"OPENCV"}
    if len(models) > 1:
        raise ValueError(f"nerfstudio's transforms.json has one camera_model; these frames mix {sorted(models)}")
    unit = records[0].camera if records else {}
    document = {
        "camera_model": models.pop(),
        "depth_unit_scale_factor": (1.0 / float(unit["depth16_scale"]) if "depth16_scale" in unit
                                    else float(unit.get("unit_scale", 1.0))),
        "depth_unit": ("depth PNG value / depth16_scale = metres" if "depth16_scale" in unit
                       else "depth EXR value x unit_scale = metres (planar depth)"),
        "frames": frames,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return [path]
