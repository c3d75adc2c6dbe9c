"""What every job inside Blender shares: the request, views, sidecars, staging, publishing and the frame loop.

Files are written to a hidden staging folder first and moved into place once the frame is complete, so a
failure never leaves a half-written frame under a final name, and nothing that exists is replaced without
``overwrite``. What a frame writes is the table :data:`depth_node.core.outputs.OUTPUT_KINDS`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import bpy
import numpy as np

from ..blender import calibrated, compat, flow
from ..blender.binding import Segments, camera_at_frame, camera_segments
from ..blender.job_graph import job_calibration, job_cameras, stereo_of
from ..blender.views import view_cameras
from ..core import outputs
from ..core.calibration import CalibrationError
from ..core.camera import BlenderCamera, UnsupportedCameraError, camera_from_scene, stereo_views
from ..core.flow import describe as describe_flow
from ..core.outputs import exports, job_paths, passes_file, sidecar
from .base import (
    JobError,
    Progress,
    blender_output_hidden,
    check_outputs_free,
    log,
    safe_folder_name,
    staging,
)
from .frame_files import (
    DEFAULT_REQUEST,
    PLAIN_VIEW,
    FlowStep,
    FrameResult,
    Request,
    StagedFrame,
    View,
    account,
    finish_job,
    kept_record,
    plan_frames,
    publish_frame,
    stage_frame,
    summarize,
    with_depth_file,
)
from .workers import Split, Submit

__all__ = ["DEFAULT_REQUEST", "FrameResult", "Request", "StagedFrame", "View", "finish_job", "publish_frame",
           "stage_frame", "summarize"]


@dataclass(frozen=True)
class Calibrated:
    """``--calibration FILE`` (and which camera of it): applied to the scene camera before the job."""

    path: Path | None = None
    camera: str | None = None

    def apply(self, scene: bpy.types.Scene) -> None:
        """Give ``scene``'s camera the calibration (nothing without a file), or a :class:`JobError`."""
        if self.path is None:
            return
        try:
            calibrated.apply_calibration(scene, self.path, self.camera)
        except CalibrationError as error:
            raise JobError(str(error)) from None
        log(f"{scene.name}: camera {scene.camera.name!r} calibrated from {self.path}")


NO_CALIBRATION = Calibrated()


def view_camera_object(view: View, scene: bpy.types.Scene, camera_object: bpy.types.Object) -> bpy.types.Object:
    """The camera object ``view`` renders with."""
    if view.stereo or not view.name:
        return camera_object
    return view_cameras(scene, camera_object).get(view.name, camera_object)


def render_views(scene: bpy.types.Scene) -> tuple[View, ...]:
    """The views of ``scene``'s render."""
    eyes = stereo_views(scene)
    if eyes:
        return tuple(View(name, scene.render.views[name].file_suffix, stereo=True) for name in eyes)
    if scene.render.use_multiview:
        return tuple(View(view.name, view.file_suffix) for view in scene.render.views if view.use)
    return (View(),)


def camera_json(scene: bpy.types.Scene, frame: int, camera_object: bpy.types.Object, camera: BlenderCamera,
                view: View = PLAIN_VIEW) -> dict:
    """The sidecar of ``frame`` (and ``view``), rendered with ``camera_object`` (read as ``camera``)."""
    # Blender renders with the camera's world matrix normalized (object scale does not scale the view).
    to_world = np.array(camera_object.matrix_world.normalized())
    blender = {"version": bpy.app.version_string, "scene": scene.name, "camera": camera_object.name, "frame": frame}
    stereo = None
    if view.stereo:
        stereo = stereo_of(camera_object)
        to_world = stereo.eye_to_world(to_world, view.name)
    if view.name:
        blender["view"] = view.name
    meta = sidecar.camera_metadata(camera, to_world, camera_object.data.clip_start, camera_object.data.clip_end,
                                   scene.unit_settings.scale_length, blender=blender)
    if stereo is not None:
        meta["stereo"] = {**stereo.describe(), "view": view.name}
    return meta


def view_sidecars(scene: bpy.types.Scene, frame: int, camera_object: bpy.types.Object,
                  views: tuple[View, ...]) -> list[tuple[View, dict]]:
    """Each view's sidecar of ``frame`` (the scene is at ``frame``)."""
    sidecars = []
    for view in views:
        view_object = view_camera_object(view, scene, camera_object)
        calibration = calibrated.calibration_of(view_object.data)
        if calibration is not None:
            meta = camera_json(scene, frame, view_object, calibrated.pinhole_part(calibration), view)
            sidecars.append((view, calibrated.describe(meta, calibration)))
            continue
        view_camera = camera_from_scene(scene, view_object, view.name if view.stereo else None)
        sidecars.append((view, camera_json(scene, frame, view_object, view_camera, view)))
    return sidecars


def frame_camera(scene: bpy.types.Scene, frame: int, segments: Segments) -> tuple[bpy.types.Object, BlenderCamera]:
    """The camera ``frame`` renders with, or a :class:`JobError` naming the frame (e.g. a type keyed to panoramic)."""
    camera_object = camera_at_frame(scene, frame, segments)
    calibration = calibrated.calibration_of(camera_object.data)
    if calibration is not None:
        return camera_object, calibrated.pinhole_part(calibration)
    try:
        return camera_object, camera_from_scene(scene, camera_object)
    except UnsupportedCameraError as error:
        raise JobError(f"frame {frame}: {error}") from None


def render_frame(scene: bpy.types.Scene, frame: int, beauty_folder: Path | None = None) -> None:
    """Render ``frame`` (the scene is at it); with ``beauty_folder`` Blender writes the beauty there as
    ``rgb_####.<ext>`` (each view with its suffix), exactly as its own render output would."""
    if beauty_folder is not None:
        scene.render.filepath = str(beauty_folder / f"rgb_{frame:04d}")
    try:
        with blender_output_hidden(), bpy.context.temp_override(scene=scene):
            bpy.ops.render.render(write_still=beauty_folder is not None, scene=scene.name)
    except RuntimeError as error:
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else "no reason given"
        raise FrameError(frame, f"frame {frame}: Blender could not render it ({reason})") from None


class FrameError(JobError):
    """A frame that failed: the job stops there, the frames before it stay complete."""

    def __init__(self, frame: int, message: str) -> None:
        super().__init__(message)
        self.frame = frame


def render_beauty_pass(scene: bpy.types.Scene, frames: list[int], stage: Path) -> None:
    """The beauty of every frame into ``stage``, the file untouched (before a separate depth pass)."""
    progress = Progress(len(frames), f"{scene.name}: beauty ")
    for frame in frames:
        scene.frame_set(frame)
        render_frame(scene, frame, stage)
        progress.tick(frame, "")


def run_frames(scene: bpy.types.Scene, folder: Path, frames: list[int], segments: Segments, request: Request,
               stage: Path, before_render: Callable[[int, BlenderCamera], str],
               after_render: Callable[[BlenderCamera], None] | None = None, beauty_here: bool = False,
               label: str = "", kept: Sequence[exports.Record] = ()) -> list[FrameResult]:
    """Render each frame (the File Output node writes every view into ``stage``; with ``beauty_here`` the same
    render writes the beauty), check it (``after_render``), finish each view, then write the once-per-job files
    (with the records of the frames ``--resume`` kept)."""
    views = render_views(scene)
    results: list[FrameResult] = []
    progress = Progress(len(frames), f"{scene.name}: {label}")
    for frame in frames:
        try:
            scene.frame_set(frame)
            camera_object, camera = frame_camera(scene, frame, segments)
            what = before_render(frame, camera)
            render_frame(scene, frame, stage if beauty_here else None)
            if after_render is not None:
                after_render(camera)
            published = [publish_frame(stage_frame(frame, meta, stage, request, view, flows=flows), folder, request)
                         for view, meta, flows in _with_flows(scene, frame, segments, request, stage,
                                                              view_sidecars(scene, frame, camera_object, views))]
        except JobError:
            log(f"{scene.name}: {account(len(results) // len(views), len(kept) // len(views), 1)} (frame {frame}); "
                "the frames before it are complete")
            raise
        results += published
        progress.tick(frame, f"{what} -> {next(iter(published[0].paths.values()))}")
    finish_job(folder, stage, request, results, kept)
    return results


def _with_flows(scene: bpy.types.Scene, frame: int, segments: Segments, request: Request, stage: Path,
                sidecars: list[tuple[View, dict]]) -> list[tuple[View, dict, FlowStep | None]]:
    """Each view's sidecar (saying which frames its flow refers to) and its flow step, when the request writes
    flow."""
    if not request.flow:
        return [(view, meta, None) for view, meta in sidecars]
    cut = flow.camera_cuts(scene, frame, segments)
    made = []
    for view, meta in sidecars:
        def sidecar_at(other: int, view: View = view) -> dict:
            return view_sidecars(scene, other, camera_at_frame(scene, other, segments), (view,))[0][1]

        meta = {**meta, "flow": describe_flow(frame, cut)}
        vector = passes_file(stage, frame, view.suffix)
        made.append((view, meta, flow.frame_flows(scene, frame, meta, vector, cut, sidecar_at)))
    return made


def scene_records(scene: bpy.types.Scene, frames: list[int], request: Request) -> list[exports.Record]:
    """The once-per-job records of ``frames`` as rendering them would give, without rendering (``--resume``)."""
    segments, views = camera_segments(scene), render_views(scene)
    records = []
    for frame in frames:
        scene.frame_set(frame)
        camera_object, _ = frame_camera(scene, frame, segments)
        records += [kept_record(frame, view.suffix, meta, request)
                    for view, meta in view_sidecars(scene, frame, camera_object, views)]
    return records


def check_request(scene: bpy.types.Scene, segments: Segments, request: Request) -> None:
    """Refuse kinds the scene's cameras cannot give, before any work (disparity, COLMAP, nerfstudio)."""
    cameras = job_cameras(scene, segments)
    for kind in request.kinds:
        if kind.stereo_only:
            if not stereo_views(scene):
                raise JobError(f"--outputs {kind.name} needs a Stereo 3D render (Output Properties > Stereoscopy)")
            modes_used = {camera_object.data.stereo.convergence_mode
                          for camera_object in [c for _, c in segments] or [scene.camera]}
            if "TOE" in modes_used:
                raise JobError(f"--outputs {kind.name}: toe-in stereo views are not rectified (their epipolar "
                               "lines are not rows); use OFF-AXIS or PARALLEL convergence")
        if kind.pinhole_only and any(camera.projection != "PERSP" for camera in cameras):
            raise JobError(f"--outputs {kind.name} describes perspective cameras only; this scene's cameras are "
                           f"{', '.join(sorted({camera.model.label for camera in cameras}))}")
    calibration = job_calibration(scene, segments)
    if request.flow:
        _check_flow(scene, cameras)
    if request.data_passes:
        _check_openexr(", ".join(kind.name for kind in request.kinds if kind.flow or kind.normal))
    if request.has("nerf") and calibration is not None:
        try:  # what the nerfstudio writer will be given, refused now rather than after every frame
            exports.nerfstudio_camera({**calibration.to_dict(), "projection": "PERSP"})
        except ValueError as error:
            raise JobError(f"--outputs nerf: {error}; COLMAP's FULL_OPENCV holds it (--outputs colmap)") from None


def _check_flow(scene: bpy.types.Scene, cameras: list[BlenderCamera]) -> None:
    """Refuse flow where this Blender's Vector pass is not exact or not measured."""
    for camera in cameras:
        reason = compat.vector_pass_refusal(camera.projection if camera.has_matrix else "PANO")
        if reason is not None:
            raise JobError(f"--outputs flow: {reason}")
    if scene.render.use_multiview and any(not camera.has_matrix for camera in cameras):
        raise JobError("--outputs flow: panoramic Multi-View renders are not measured yet; render each view's "
                       "camera alone")


def _check_openexr(kinds: str) -> None:
    """Refuse the data passes' kinds where the OpenEXR package that reads them is missing."""
    try:
        import OpenEXR  # noqa: F401, PLC0415  (reads the multilayer passes file)
    except ImportError:
        raise JobError(f"--outputs {kinds} reads Blender's passes with the OpenEXR package, which this Blender's "
                       "Python lacks: install it there (python -m pip install OpenEXR)") from None


def open_blend(path: Path, scene_name: str | None) -> bpy.types.Scene:
    """Open ``path`` (replacing the current file in memory) and return its scene ``scene_name`` (or the active one)."""
    if not path.is_file():
        raise JobError(f"{path}: no such file")
    try:
        bpy.ops.wm.open_mainfile(filepath=str(path.resolve()), load_ui=False)
    except RuntimeError as error:
        raise JobError(f"{path}: cannot open ({str(error).strip().splitlines()[-1]})") from None
    if scene_name is None:
        return bpy.context.scene
    if scene_name not in bpy.data.scenes:
        raise JobError(f"{path} has no scene {scene_name!r} (it has {', '.join(bpy.data.scenes.keys())})")
    return bpy.data.scenes[scene_name]


Job = Callable[[Path, list[int], list[exports.Record]], list[FrameResult]]
"""``job(folder, frames to make, records of the frames --resume kept)``."""


def frames_job(scene: bpy.types.Scene, output: Path, frames: list[int], overwrite: bool, announce: str,
               job: Job, request: Request, split: Split | Submit | None = None, resume: bool = False,
               records: Callable[[list[int]], list[exports.Record]] | None = None, finish: Path | None = None) -> int:
    """OUT/<scene>/: refuse existing outputs (unless ``overwrite``; with ``resume``, make only the frames that are
    not complete), run ``job``, report.

    ``records`` describes frames without making them (default: :func:`scene_records`). With ``split`` the frames
    go to worker processes instead (see :mod:`depth_node.commands.workers`), or to a cluster's scheduler (a
    :class:`Submit`, see :mod:`depth_node.commands.slurm`). ``finish``: see :func:`plan_frames`.
    """
    folder = output / safe_folder_name(scene.name)
    views = render_views(scene)
    suffixes = [view.suffix for view in views]
    job_frames = list(frames)
    frames, kept = plan_frames(folder, frames, request, suffixes, resume, finish)
    overwrite = overwrite or resume or finish is not None  # what is left of the frames to make is incomplete
    check_outputs_free(((folder, frame) for frame in frames), overwrite, request.kinds, suffixes)
    existing = [path for path in job_paths(folder, request.kinds) if path.exists()]
    if existing and not overwrite:
        raise JobError(f"{existing[0]} exists; pass --overwrite to replace")
    if isinstance(split, Submit):
        check_request(scene, camera_segments(scene), request)  # refused before anything is submitted
        return split.submit(folder, job_frames, frames, suffixes, request)
    log(announce)
    describe = records or (lambda wanted: scene_records(scene, wanted, request))
    kept_records = describe(kept) if kept and any(not kind.per_frame for kind in request.kinds) else []
    if not frames:  # --resume with every frame complete: only the once-per-job files are written again
        with staging(folder) as stage:
            finish_job(folder, stage, request, [], kept_records)
        summarize(folder, [], request, account(0, len(kept)))
        return 0
    if split is None or split.jobs < 2 or len(frames) < 2:
        results = job(folder, frames, kept_records)
        summarize(folder, results, request, account(len(frames), len(kept)))
        return 0
    check_request(scene, camera_segments(scene), request)  # refuse here, not once per worker
    per_frame = [kind.name for kind in request.kinds if kind.per_frame]
    once = [kind for kind in request.kinds if not kind.per_frame]
    split.run(frames, per_frame + (["camera"] if once and "camera" not in per_frame else []))
    camera_kind = outputs.BY_NAME["camera"]
    records_made = [exports.Record(frame, view.suffix, json.loads((folder / camera_kind.filename(
        frame, view.suffix)).read_text()), None) for frame in frames for view in views]
    if once:
        with staging(folder) as stage:
            finish_job(folder, stage, Request(tuple(once), request.options), [
                FrameResult(record.frame, {}, None, None, with_depth_file(record, request), {})
                for record in records_made], kept_records)
        if "camera" not in per_frame:
            for frame in frames:
                for view in views:
                    (folder / camera_kind.filename(frame, view.suffix)).unlink()
    written = len(frames) * len(views) * len(per_frame) + len(job_paths(folder, request.kinds))
    log(f"wrote {written} files under {folder}; {account(len(frames), len(kept))}")
    return 0
