"""``convert``: an existing distance (or depth) EXR sequence into the other, with the camera of a sidecar or a .blend.

Two engines compute the same maths; both are tested against Blender's own passes and ray casts:

* ``numpy`` (default): the reference conversion (:mod:`depth_node.core.reference`) with each camera's
  pixel geometry computed once per sequence, frames read, converted and written by a pool of threads
  (OpenEXR and numpy release the GIL). Nothing but the camera comes from Blender.
* ``node``: every frame through the True Depth node in Blender's compositor, written by Blender's File
  Output node: what a user's own compositor writes.

Why numpy is the default (BENCHMARKS.md, 1080p, 2 cores): Blender spends ~180 ms of CPU per frame
(EXR decode ~50, compositor ~37, ZIP write ~70), more than the whole numpy loop (~145), so no number of
Blender processes reaches 2x that loop; the numpy engine needs ~125 ms of CPU per frame and overlaps
two frames.
"""

from __future__ import annotations

import dataclasses
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import bpy
import numpy as np

from ..blender import scenes
from ..blender.binding import camera_segments
from ..blender.calibrated import apply_calibration
from ..blender.job_graph import check_single_view, job_calibration
from ..core import exr, reference, sidecar
from ..core.calibration import CalibrationError, from_sidecar
from ..core.camera import BlenderCamera
from ..core.outputs import OUTPUT_KINDS, Options
from .base import ENGINES, JobError, Progress, check_input, input_sequence, select_frames, staging
from .convert_node import convert_frames
from .frames import (
    FrameResult,
    Request,
    StagedFrame,
    camera_json,
    check_request,
    frame_camera,
    frames_job,
    open_blend,
    publish_frame,
    stage_frame,
)
from .workers import Split

MAX_THREADS = 8
"""Each frame in flight costs memory: peak RSS measured at 1080p grew by 44 MB with 2 threads and 111 MB
with 4 (over 1), ~14 MB per frame in flight, ~4x that at 4K. Eight threads, two frames each, keep a
many-core machine under ~1 GB at 4K."""


def cores() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def read_input(path: Path, size: tuple[int, int]) -> np.ndarray:
    """One input frame as HxW float32, checked against the camera's size (from the header, before decoding)."""
    check_input(path, size)
    try:
        return exr.read_value_channel(path)
    except exr.ExrDecodeError:  # the structure was sound: OpenEXR's own reason is printed above ours
        raise JobError(f"{path}: cannot read image (corrupt pixel data)") from None
    except exr.ExrError as error:
        raise JobError(str(error)) from None
    except ImportError:
        raise JobError("the numpy engine needs the OpenEXR package (pip install OpenEXR); "
                       "or convert with --engine node") from None


def convert_frames_numpy(scene: bpy.types.Scene, folder: Path, inputs: dict[int, Path], to: str,
                         request: Request, threads: int | None = None) -> list[FrameResult]:
    """Convert ``inputs`` (frame -> EXR) with the reference maths, ``threads`` frames at a time (default: cores).

    Frames are published in order: after a failure the frames before it are complete and nothing after it
    is left behind.
    """
    check_single_view(scene)
    segments = camera_segments(scene)
    check_request(scene, segments, request)
    convert = reference.distance_to_depth if to == "depth" else reference.depth_to_distance
    source_name = "distance" if to == "depth" else "depth"
    cameras: list[tuple[int, dict, BlenderCamera]] = []
    for frame in inputs:  # bpy only here, in this thread
        scene.frame_set(frame)
        camera_object, camera = frame_camera(scene, frame, segments)
        cameras.append((frame, camera_json(scene, frame, camera_object, camera), camera))
    distinct = {camera for _, _, camera in cameras}
    calibration = job_calibration(scene, segments)  # a calibrated camera: its own rays, not its K's
    geometries = {camera: reference.calibrated_geometry(calibration) if calibration is not None
                  else reference.pixel_geometry(camera, (camera.height, camera.width)) for camera in distinct}
    written = [kind for kind in request.kinds if kind.graph_value is not None]

    with staging(folder) as stage:

        def one_frame(frame: int, meta: dict, camera: BlenderCamera) -> StagedFrame:
            source = read_input(inputs[frame], (camera.width, camera.height))
            images = {to: convert(source, geometries[camera]), source_name: source}
            for kind in written:
                path = stage / kind.filename(frame)
                try:
                    exr.write_single_channel(path, images[kind.graph_value])
                except (OSError, RuntimeError) as error:  # OpenEXR reports a failed write as RuntimeError
                    raise JobError(f"frame {frame}: cannot write {path}: {error}") from None
            return stage_frame(frame, meta, stage, request, images=images)

        progress = Progress(len(cameras), f"{scene.name}: ")
        return _in_order(cameras, one_frame, threads or min(cores(), MAX_THREADS), lambda staged, index: _publish(
            staged, folder, request, progress, f" {inputs[staged.frame].name}"))


def _publish(staged: StagedFrame, folder: Path, request: Request, progress: Progress, what: str) -> FrameResult:
    result = publish_frame(staged, folder, request)
    progress.tick(staged.frame, f"{what} -> {next(iter(result.paths.values()))}")
    return dataclasses.replace(result, depth=None, distance=None)  # a long sequence must not pile up in memory


def _in_order(items: list[tuple], work: Callable[..., StagedFrame], threads: int,
              finish: Callable[[StagedFrame, int], FrameResult]) -> list[FrameResult]:
    """``work(*item)`` on ``threads`` threads (two items in flight per thread), ``finish`` in item order."""
    results: list[FrameResult] = []
    queue: deque[Future] = deque()
    upcoming = iter(items)
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="true-depth-convert") as pool:
        try:
            for item in upcoming:
                queue.append(pool.submit(work, *item))
                if len(queue) >= 2 * threads:
                    break
            while queue:
                results.append(finish(queue.popleft().result(), len(results) + 1))
                item = next(upcoming, None)
                if item is not None:
                    queue.append(pool.submit(work, *item))
        finally:
            for future in queue:
                future.cancel()
    return results


def run_convert(pattern: str, camera_path: Path, scene_name: str | None, output: Path, to: str,
                frames: list[int] | None, overwrite: bool, request: Request | None = None,
                options: Options | None = None, split: Split | None = None, engine: str = ENGINES[0]) -> int:
    """Convert an EXR sequence with the camera of a sidecar JSON or a .blend."""
    inputs = select_frames(input_sequence(pattern), frames)
    if camera_path.suffix.lower() == ".blend":
        scene = open_blend(camera_path, scene_name)
    else:
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
    if request is None:  # convert's defaults: the converted image and the sidecar
        request = Request(tuple(kind for kind in OUTPUT_KINDS if kind.name in (to, "camera")), options or Options())
    if request.beauty is not None:
        raise JobError("--outputs rgb: convert renders nothing (it converts existing images); use render")
    job = convert_frames_numpy if engine == "numpy" else convert_frames
    return frames_job(scene, output, list(inputs), overwrite,
                      f"converting {len(inputs)} frame(s) of {pattern} to {to} with the camera of {camera_path} "
                      f"({engine} engine)",
                      lambda folder: job(scene, folder, inputs, to, request), request, split)
