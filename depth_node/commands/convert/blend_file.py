"""``convert`` inside Blender: a .blend's camera (animation and markers included) for the numpy engine, and the
node engine (every frame through the True Depth node, written by File Output: :mod:`.node_engine`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import bpy

from ...blender import scenes
from ...blender.binding import camera_segments
from ...blender.calibrated import apply_calibration
from ...blender.job_graph import check_single_view, job_calibration
from ...core import reference
from ...core.calibration import CalibrationError, from_sidecar
from ...core.camera import BlenderCamera
from ...core.outputs import exports, sidecar
from ..base import JobError
from ..frame_files import kept_record
from ..frames import (
    FrameResult,
    Request,
    camera_json,
    check_request,
    frame_camera,
    frames_job,
    open_blend,
    scene_records,
)
from ..workers import Split, Submit
from .node_engine import convert_frames
from .numpy_engine import FrameInput, Source, convert_inputs


def scene_inputs(scene: bpy.types.Scene, inputs: dict[int, Path], request: Request) -> list[FrameInput]:
    """Each frame's input with the sidecar and pixel geometry of the camera the scene renders it with."""
    check_single_view(scene)
    segments = camera_segments(scene)
    check_request(scene, segments, request)
    cameras: list[tuple[int, dict, BlenderCamera]] = []
    for frame in inputs:
        scene.frame_set(frame)
        camera_object, camera = frame_camera(scene, frame, segments)
        cameras.append((frame, camera_json(scene, frame, camera_object, camera), camera))
    calibration = job_calibration(scene, segments)  # a calibrated camera: its own rays, not its K's
    geometries = {camera: reference.calibrated_geometry(calibration) if calibration is not None
                  else reference.pixel_geometry(camera, (camera.height, camera.width))
                  for camera in {camera for _, _, camera in cameras}}
    return [FrameInput(frame, inputs[frame], meta, geometries[camera]) for frame, meta, camera in cameras]


def sidecar_scene(camera_path: Path) -> bpy.types.Scene:
    """A scene holding the camera of a camera JSON (for the node engine)."""
    try:
        meta, camera = sidecar.load(camera_path)
    except sidecar.SidecarError as error:
        raise JobError(str(error)) from None
    scene = scenes.scene_from_sidecar(meta, camera)
    try:  # a calibrated camera's sidecar: the same camera, with its model's rays
        calibration = from_sidecar(meta)
        if calibration is not None:
            apply_calibration(scene, calibration)
    except CalibrationError as error:
        raise JobError(f"{camera_path}: {error}") from None
    return scene


def world_mist(scene: bpy.types.Scene) -> tuple[float, float]:
    """``(start, depth)`` of the scene World's mist, which must fall off linearly (convert inverts that one)."""
    world = scene.world
    if world is None:
        raise JobError(f"scene {scene.name!r} has no World, so no mist settings: give --mist-start and --mist-depth")
    settings = world.mist_settings
    if settings.falloff != "LINEAR":
        raise JobError(f"scene {scene.name!r}'s mist falls off as {settings.falloff}; convert reads LINEAR mist "
                       "(set it, or give --mist-start and --mist-depth of a linear Mist pass)")
    if not settings.depth > 0:
        raise JobError(f"scene {scene.name!r}'s mist depth is {settings.depth}; it must be positive")
    return float(settings.start), float(settings.depth)


def run_blender_convert(inputs: dict[int, Path], pattern: str, camera_path: Path | None, scene_name: str | None,
                        output: Path, to: str, overwrite: bool, request: Request, split: Split | Submit | None,
                        engine: str, source: Source, camera_options: dict, resume: bool = False,
                        finish: Path | None = None) -> int:
    """Convert ``inputs`` with a .blend's scene camera (either engine) or a camera JSON (node engine)."""
    if camera_path is None or camera_options:
        raise JobError("--engine node takes its camera from --camera (a camera JSON or a .blend)")
    if camera_path.suffix.lower() == ".blend":
        scene = open_blend(camera_path, scene_name)
    elif camera_path.suffix.lower() == ".json":
        scene = sidecar_scene(camera_path)
    else:
        raise JobError(f"--engine node takes a camera JSON or a .blend, not {camera_path.name}; "
                       "use the numpy engine for calibration files and reconstructions")

    if source.mist == "blend":
        source = dataclasses.replace(source, mist=world_mist(scene))

    def numpy_job(folder: Path, todo: list[int], kept: list[exports.Record]) -> list[FrameResult]:
        wanted = {frame: inputs[frame] for frame in todo}
        return convert_inputs(folder, scene_inputs(scene, wanted, request), to, request, source,
                              label=f"{scene.name}: ", kept=kept)

    def node_job(folder: Path, todo: list[int], kept: list[exports.Record]) -> list[FrameResult]:
        return convert_frames(scene, folder, {frame: inputs[frame] for frame in todo}, to, request, kept)

    def records(frames: list[int]) -> list[exports.Record]:
        if engine == "node":
            return scene_records(scene, frames, request)
        return [kept_record(item.frame, "", item.meta, request)
                for item in scene_inputs(scene, {frame: inputs[frame] for frame in frames}, request)]

    return frames_job(scene, output, list(inputs), overwrite,
                      f"converting {len(inputs)} frame(s) of {pattern} to {to} with the camera of {camera_path} "
                      f"({engine} engine)", numpy_job if engine == "numpy" else node_job, request, split, resume,
                      records, finish)
