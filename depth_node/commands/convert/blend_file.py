"""``convert`` inside Blender: a .blend's camera (animation and markers included) for the numpy engine, and the
node engine (every frame through the True Depth node, written by File Output: :mod:`.node_engine`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import bpy
import numpy as np

from ...blender import flow, scenes
from ...blender.binding import camera_at_frame, camera_segments
from ...blender.calibrated import apply_calibration
from ...blender.flow.visibility import evaluate_as_rendered, forget_geometry
from ...blender.job_graph import check_single_view, job_calibration, job_cameras
from ...core import reference
from ...core.calibration import CalibrationError, from_sidecar
from ...core.camera import BlenderCamera
from ...core.flow import DIRECTIONS, STEP, describe
from ...core.outputs import exports, sidecar
from ..base import JobError, log, staging
from ..frame_files import PLAIN_VIEW, finish_job, kept_record, publish_frame, stage_frame
from ..frames import (
    FrameResult,
    Request,
    camera_json,
    check_request,
    frame_camera,
    frames_job,
    open_blend,
    scene_records,
    view_sidecars,
)
from ..workers import Split, Submit
from .flow import FLOW_CAMERAS, OTHER_CAMERAS, check_moving_pass, planar_depth, read_pass, samples_note
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


def run_blender_flow(inputs: dict[int, Path], pattern: str, camera_path: Path, scene_name: str | None,
                     output: Path, overwrite: bool, request: Request, split: Split | Submit | None = None,
                     resume: bool = False, finish: Path | None = None) -> int:
    """``convert --to flow`` with a .blend: each frame's pass with the scene's cameras of f-1, f and f+1 (markers
    included), visibility by ray casts on its geometry, as ``render`` decides it."""
    scene = open_blend(camera_path, scene_name)
    check_single_view(scene)
    segments = camera_segments(scene)
    cameras = job_cameras(scene, segments)
    if job_calibration(scene, segments) is not None or any(camera.projection not in FLOW_CAMERAS
                                                           for camera in cameras):
        raise JobError(f"{camera_path}: convert --to flow takes perspective and panoramic cameras (this scene's are "
                       f"{', '.join(sorted({camera.model.label for camera in cameras}))}): {OTHER_CAMERAS}")
    forget_geometry()
    changed = evaluate_as_rendered(scene)
    if changed:
        log(f"{scene.name}: flow's ray casts see the scene as it renders ({changed} viewport setting(s) set to "
            "their render value in this in-memory copy)")

    def sidecar_of(frame: int) -> dict:
        """The sidecar of ``frame`` (the scene is at it)."""
        return view_sidecars(scene, frame, camera_at_frame(scene, frame, segments), (PLAIN_VIEW,))[0][1]

    def sidecar_at(frame: int) -> dict:
        scene.frame_set(frame)
        return sidecar_of(frame)

    def job(folder: Path, todo: list[int], kept: list[exports.Record]) -> list[FrameResult]:
        said, results = False, []
        with staging(folder) as stage:
            for frame in todo:
                rendered = read_pass(inputs[frame])
                meta, cut = sidecar_at(frame), flow.camera_cuts(scene, frame, segments)
                height, width = rendered.vector.shape[:2]
                if (width, height) != (int(meta["width"]), int(meta["height"])):
                    raise JobError(f"{inputs[frame]}: the pass is {width}x{height}, the scene's camera renders "
                                   f"{meta['width']}x{meta['height']} at frame {frame}")
                others = {direction: None if cut[direction] else sidecar_at(frame + STEP[direction])
                          for direction in DIRECTIONS}
                scene.frame_set(frame)
                check_moving_pass(rendered, meta, others, inputs[frame])
                note = samples_note(rendered, inputs[frame])
                if note is not None and not said:
                    said = True
                    log(note)
                meta = {**meta, "flow": describe(frame, cut, samples=rendered.samples, source=inputs[frame].name)}
                step = flow.frame_flows(scene, frame, meta, rendered.vector, cut, sidecar_of)
                depth = planar_depth(rendered, meta).astype(np.float32)
                staged = stage_frame(frame, meta, stage, request, images={"depth": depth, "distance": None},
                                     flows=step)
                results.append(publish_frame(staged, folder, request))
            finish_job(folder, stage, request, results, kept)
        return results

    return frames_job(scene, output, list(inputs), overwrite,
                      f"converting {len(inputs)} Vector pass(es) of {pattern} to flow with the scene of {camera_path}",
                      job, request, split, resume, lambda frames: [kept_record(frame, "", sidecar_at(frame), request)
                                                                   for frame in frames], finish)
