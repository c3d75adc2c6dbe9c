"""``pointcloud``: a depth image (EXR, npy, PFM...) and its camera JSON to a binary PLY, with the frame's normals
when given. Needs numpy (and OpenEXR or Blender for EXRs; OpenEXR for the normals)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core import formats
from ..core.calibration import CalibrationError, from_sidecar
from ..core.formats import exr
from ..core.normals import from_camera, unit_normals
from ..core.outputs import pointcloud, sidecar
from .base import JobError, log, read_exr


def _read_normals(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """A ``normal_####.exr`` (OpenCV camera frame) of the depth's size, (H, W, 3) unit or 0."""
    try:
        normals = exr.read_rgb(path)
    except exr.ExrError as error:
        raise JobError(str(error)) from None
    except ImportError:
        raise JobError(f"cannot read {path}: --normals needs the OpenEXR package (pip install OpenEXR)") from None
    if normals.shape[:2] != shape:
        raise JobError(f"{path} is {normals.shape[1]}x{normals.shape[0]} but the depth is {shape[1]}x{shape[0]}")
    return unit_normals(normals)[0]


def run_pointcloud(depth_path: Path, camera_path: Path, ply: Path, stride: int = 1, world: bool = False,
                   overwrite: bool = False, normals_path: Path | None = None) -> int:
    """Back-project ``depth_path`` with ``camera_path`` into ``ply`` (with the normals of ``normals_path``, a
    ``normal`` file: OpenCV camera frame); returns the exit code."""
    if ply.exists() and not overwrite:
        raise JobError(f"{ply} exists; pass --overwrite to replace")
    if not ply.parent.is_dir():
        raise JobError(f"{ply.parent} is not a folder")
    try:
        meta, camera = sidecar.load(camera_path)
    except sidecar.SidecarError as error:
        raise JobError(str(error)) from None
    if depth_path.suffix.lower() == ".exr":
        depth = read_exr(depth_path)
    else:
        try:
            depth, _ = formats.read_image(depth_path)
        except formats.FormatError as error:
            raise JobError(str(error)) from None
    if depth.shape != (camera.height, camera.width):
        raise JobError(f"{depth_path} is {depth.shape[1]}x{depth.shape[0]} but {camera_path} describes "
                       f"{camera.width}x{camera.height}")
    try:
        calibration = from_sidecar(meta)
    except CalibrationError as error:
        raise JobError(f"{camera_path}: {error}") from None
    normals = None if normals_path is None else _read_normals(normals_path, depth.shape)
    # a calibrated camera's rays come from its distortion model, the others' from their projection
    keep, points = pointcloud.surface_points(depth, camera, calibration, stride, meta.get("clip_end"))
    if normals is not None:
        normals = pointcloud.surface_values(normals, keep, stride)
        missing = int(np.count_nonzero(~normals.any(axis=1)))
        if missing:
            log(f"{missing} of {len(points)} points have no normal in {normals_path} (written as 0, 0, 0)")
    if world:
        if "camera_to_world_opencv" not in meta:
            raise JobError(f"{camera_path} has no camera_to_world_opencv (needed by --world)")
        points = pointcloud.to_world(points, meta["camera_to_world_opencv"])
        if normals is not None:
            normals = from_camera(normals[np.newaxis], meta["camera_to_world_opencv"])[0]
    temporary = ply.with_name(f".{ply.name}.partial")
    try:
        pointcloud.write_ply(temporary, points, normals)
        temporary.replace(ply)
    except OSError as error:
        raise JobError(f"cannot write {ply}: {error.strerror or error}") from None
    finally:
        temporary.unlink(missing_ok=True)
    log(f"{len(points)} points -> {ply}")
    return 0
