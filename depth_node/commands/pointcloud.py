"""``pointcloud``: a depth image (EXR, npy, PFM...) and its camera JSON to a binary PLY. Needs numpy (and OpenEXR
or Blender for EXRs)."""

from __future__ import annotations

from pathlib import Path

from ..core import formats
from ..core.calibration import CalibrationError, from_sidecar
from ..core.outputs import pointcloud, sidecar
from .base import JobError, log, read_exr


def run_pointcloud(depth_path: Path, camera_path: Path, ply: Path, stride: int = 1, world: bool = False,
                   overwrite: bool = False) -> int:
    """Back-project ``depth_path`` with ``camera_path`` into ``ply``; returns the exit code."""
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
    if calibration is not None:  # a calibrated camera: each pixel's ray comes from its distortion model
        points = pointcloud.calibrated_points(depth, calibration, stride, meta.get("clip_end"))
    else:
        points = pointcloud.depth_to_points(depth, camera, camera.model, stride, max_depth=meta.get("clip_end"))
    if world:
        if "camera_to_world_opencv" not in meta:
            raise JobError(f"{camera_path} has no camera_to_world_opencv (needed by --world)")
        points = pointcloud.to_world(points, meta["camera_to_world_opencv"])
    temporary = ply.with_name(f".{ply.name}.partial")
    try:
        pointcloud.write_ply(temporary, points)
        temporary.replace(ply)
    except OSError as error:
        raise JobError(f"cannot write {ply}: {error.strerror or error}") from None
    finally:
        temporary.unlink(missing_ok=True)
    log(f"{len(points)} points -> {ply}")
    return 0
