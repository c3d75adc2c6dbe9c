"""The cameras ``convert`` takes without Blender: each input frame's sidecar and per-pixel terms. No bpy.

``--camera FILE`` is, by its content: the camera JSON this tool writes (any JSON with K, width, height); a
nerfstudio ``transforms.json`` (per-frame intrinsics and poses by ``file_path``); a COLMAP text model (a folder
or its ``images.txt``, each frame's camera by its image name); or a calibration file (OpenCV, ROS, Kalibr,
COLMAP ``cameras.txt``: one camera for every frame, no pose). Without a file: ``--fov-x`` (and ``--fov-y``) with
the images' size, or ``--ray-matrix`` (9 numbers, row-major: pixel ``(x, y, 1)`` -> camera-space ray, OpenCV
axes; skew and tilt-shift included). Hypersim's ``metadata_camera_parameters.csv`` with ``--scene NAME`` gives
that scene's ``M_cam_from_uv`` as a ray matrix.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from ...core import formats, reference
from ...core.calibration import Calibration, CalibrationError, from_sidecar
from ...core.calibration.formats import read as read_calibration
from ...core.calibration.frames import FrameCamera, colmap_frames, match_frames, nerfstudio_frames
from ...core.calibration.ray_matrix import RayMatrix
from ...core.outputs import sidecar
from ..base import JobError
from .numpy_engine import Source

Cameras = dict[int, tuple[dict, reference.PixelGeometry]]


def camera_meta(camera: Calibration | RayMatrix, pose: np.ndarray | None, source: str) -> dict:
    """The sidecar of a camera known from another tool's file: K (None for a general ray matrix), size, how a
    pixel maps to a ray, the distortion, and the pose where the file gives one."""
    if isinstance(camera, RayMatrix):
        meta = {"K": None, "width": camera.width, "height": camera.height, "projection": "RAY_MATRIX",
                "projection_model": camera.describe()}
    else:
        meta = {"K": camera.K.tolist(), "width": camera.width, "height": camera.height, "projection": "PERSP"}
        if camera.distorted:
            meta["distortion"] = camera.describe()
            meta["projection_model"] = {"type": "CALIBRATED", "model": camera.model,
                                        "pixel_to_ray": "OpenCV's model inverted exactly (cv2.undistortPoints); "
                                                        "K is the pinhole part"}
        else:
            meta["projection_model"] = {"type": "PERSP", "pixel_to_ray": "ray = inv(K) @ [x, y, 1]"}
    if pose is not None:
        pose = np.asarray(pose, dtype=np.float64)
        meta["camera_to_world_opencv"] = pose.tolist()
        meta["camera_to_world_blender"] = (pose @ sidecar.BLENDER_TO_OPENCV_CAMERA).tolist()
    meta["source"] = source
    return meta


def geometry_of(camera: Calibration | RayMatrix) -> reference.PixelGeometry:
    """The per-pixel terms of a camera (an undistorted calibration: the pinhole formula of its K)."""
    if isinstance(camera, Calibration) and not camera.distorted:
        return reference.pixel_geometry(camera.K, (camera.height, camera.width))
    return reference.calibrated_geometry(camera)


def _sidecar_cameras(path: Path, document: dict, inputs: dict[int, Path]) -> tuple[Cameras, str]:
    """Every frame with the camera of one camera JSON (the sidecar itself is written for each frame)."""
    try:
        rays = sidecar.ray_camera_from_metadata(document)
        calibration = None if rays is not None else from_sidecar(document)
        camera = None if rays is not None else sidecar.load(path)[1]
    except (sidecar.SidecarError, CalibrationError) as error:
        raise JobError(f"{path}: {error}") from None
    if rays is not None:
        geometry = reference.calibrated_geometry(rays)
    elif calibration is not None:
        geometry = reference.calibrated_geometry(calibration)
    else:
        geometry = reference.pixel_geometry(camera, (camera.height, camera.width))
    name = str(document.get("blender", {}).get("scene") or "converted") if isinstance(
        document.get("blender"), dict) else "converted"
    meta = {**document, "projection": document.get("projection", "PERSP")}  # what a K without one describes
    return {frame: (meta, geometry) for frame in inputs}, name


def _frames_cameras(frames: list[FrameCamera], inputs: dict[int, Path], path: Path) -> Cameras:
    try:
        matched = match_frames(frames, inputs)
    except CalibrationError as error:
        raise JobError(f"{path}: {error}") from None
    geometries: dict[int, reference.PixelGeometry] = {}
    cameras: Cameras = {}
    for frame, found in matched.items():
        key = id(found.camera)
        if key not in geometries:  # a reconstruction's images share a few cameras: their terms once each
            geometries[key] = geometry_of(found.camera)
        cameras[frame] = (camera_meta(found.camera, found.camera_to_world_opencv, f"{path}: {found.name}"),
                          geometries[key])
    return cameras


def _hypersim_camera(path: Path, scene: str | None) -> tuple[RayMatrix, str]:
    """The camera of one scene of Hypersim's ``metadata_camera_parameters.csv`` (``--scene``, or its only row)."""
    try:
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise JobError(f"{path}: cannot read the CSV ({error})") from None
    names = [row.get("scene_name", "") for row in rows]
    if scene is None and len(rows) != 1:
        listed = ", ".join(names[:5]) + (f" ... ({len(names)} scenes)" if len(names) > 5 else "")
        raise JobError(f"{path}: choose the scene with --scene ({listed})")
    row = rows[0] if scene is None else next((row for row in rows if row.get("scene_name") == scene), None)
    if row is None:
        raise JobError(f"{path} has no scene {scene!r}")
    try:
        return RayMatrix.from_hypersim_csv_row(row), row.get("scene_name") or "converted"
    except CalibrationError as error:
        raise JobError(f"{path}: {error}") from None


def frame_cameras(path: Path | None, inputs: dict[int, Path], source: Source, options: dict
                  ) -> tuple[Cameras, str, str]:
    """``({frame: (sidecar, geometry)}, output folder name, what the log says the camera is)``."""
    fov_x, fov_y, matrix = options.get("fov_x"), options.get("fov_y"), options.get("ray_matrix")
    chosen = [name for name, value in (("--camera", path), ("--fov-x", fov_x), ("--ray-matrix", matrix))
              if value is not None]
    if len(chosen) != 1:
        raise JobError("convert needs exactly one camera: --camera FILE, --fov-x DEGREES or --ray-matrix "
                       + (f"(got {' and '.join(chosen)})" if chosen else "(got none)"))
    if path is None:
        first = next(iter(inputs.values()))
        try:
            width, height = formats.image_size(first, source.read)
            camera = (RayMatrix.from_fov(fov_x, width, height, fov_y) if fov_x is not None
                      else RayMatrix(width, height, np.asarray(matrix, dtype=np.float64).reshape(3, 3)))
        except formats.FormatError as error:
            raise JobError(str(error)) from None
        except (CalibrationError, ValueError) as error:
            raise JobError(f"{chosen[0]}: {error}") from None
        if fov_x is not None and isinstance(camera, RayMatrix) and np.allclose(camera.matrix[2], (0, 0, 1)):
            K = np.linalg.inv(camera.matrix)
            K /= K[2, 2]
            camera_for_meta: Calibration | RayMatrix = Calibration(width, height, K[0, 0], K[1, 1], K[0, 2], K[1, 2])
        else:
            camera_for_meta = camera
        what = f"a {fov_x} degree horizontal field of view" if fov_x is not None else "the ray matrix"
        meta = camera_meta(camera_for_meta, None, chosen[0])
        geometry = geometry_of(camera_for_meta)
        return {frame: (meta, geometry) for frame in inputs}, "converted", f"{what} ({width}x{height})"
    if not path.exists():
        raise JobError(f"{path}: no such file")
    if path.suffix.lower() == ".csv":
        camera, name = _hypersim_camera(path, options.get("scene"))
        meta = camera_meta(camera, None, f"{path}: {name}")
        return ({frame: (meta, reference.calibrated_geometry(camera)) for frame in inputs}, name,
                f"Hypersim's camera of {name} ({path.name})")
    if path.is_dir() or path.name.lower() == "images.txt":
        try:
            return _frames_cameras(colmap_frames(path), inputs, path), "converted", f"the COLMAP model {path}"
        except CalibrationError as error:
            raise JobError(f"{path}: {error}") from None
    document = None
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise JobError(f"{path}: cannot read ({error})") from None
    if path.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise JobError(f"{path}: not a readable JSON file ({error})") from None
    if isinstance(document, dict) and isinstance(document.get("frames"), list):
        try:
            frames = nerfstudio_frames(path)
        except CalibrationError as error:
            raise JobError(f"{path}: {error}") from None
        return _frames_cameras(frames, inputs, path), "converted", f"the nerfstudio cameras of {path}"
    if isinstance(document, dict) and ("K" in document or "camera_model" in document):
        cameras, name = _sidecar_cameras(path, document, inputs)
        return cameras, name, f"the camera of {path}"
    try:
        calibration = read_calibration(path, options.get("calibration_camera"))
    except CalibrationError as error:
        raise JobError(str(error)) from None
    meta, geometry = camera_meta(calibration, None, str(path)), geometry_of(calibration)
    return {frame: (meta, geometry) for frame in inputs}, "converted", f"the calibration in {path}"
