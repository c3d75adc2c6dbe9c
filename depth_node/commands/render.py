"""``render``: a scene of a .blend through the True Depth node, with its beauty (``rgb``) when asked for.

One render gives both where Cycles' Z pass is exact for the beauty's own samples
(:func:`~depth_node.blender.job_graph.shared_render_reason`); otherwise the beauty is rendered first with the
file untouched, then the depth in a pass of its own (Cycles, one sample at the pixel centre, no bounces).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import bpy

from ..blender import compat, job_graph, normals
from ..blender.binding import Segments, camera_at_frame, camera_segments
from ..blender.devices import CPU, Device
from ..blender.flow.visibility import evaluate_as_rendered, forget_geometry
from ..core.outputs import PASSES_PATTERN, exports
from .base import SOURCES, JobError, log, slurm_cpus, staging
from .frames import (
    DEFAULT_REQUEST,
    NO_CALIBRATION,
    Calibrated,
    FrameResult,
    Request,
    check_request,
    frames_job,
    open_blend,
    render_beauty_pass,
    run_frames,
)
from .workers import Split, Submit


@dataclass(frozen=True)
class Plan:
    """How a render job makes its files: the view layer its depth comes from, and whether the beauty's own
    render also gives the depth (``reason``: why not, for the log)."""

    layer: str
    shared: bool
    reason: str | None
    beauty: bool = False


def job_camera_objects(scene: bpy.types.Scene, frames: list[int], segments: Segments) -> list[bpy.types.Object]:
    """The camera objects ``frames`` render with (markers included), once each."""
    if not segments:
        return [scene.camera]
    return list(dict.fromkeys(camera_at_frame(scene, frame, segments) for frame in frames))


def plan_render(scene: bpy.types.Scene, frames: list[int], source: str, request: Request, segments: Segments,
                view_layer: str | None) -> Plan:
    """Decide, before any work, where the depth comes from (and refuse what cannot be written)."""
    if source not in SOURCES:
        raise JobError(f"--source must be one of {SOURCES}, got {source!r}")
    layer = job_graph.pick_view_layer(scene, view_layer)
    check_request(scene, segments, request)
    if source == "z":
        job_graph.z_is_distance(scene, segments)  # refuses a mix of panoramic and other cameras
    reason = job_graph.shared_render_reason(scene, source, job_camera_objects(scene, frames, segments))
    if request.flow and reason is None:
        reason = "flow needs Cycles' Vector pass at one sample through each pixel centre (more samples average it)"
    if request.normal and reason is None:
        reason = "normals need Cycles' Normal pass at one sample through each pixel centre (more samples average it)"
    if request.beauty is not None and scene.render.engine != "CYCLES" and job_graph.job_calibration(scene, segments):
        raise JobError(f"--outputs rgb: the file renders with {scene.render.engine}, which has no custom cameras, so "
                       "its beauty cannot show the calibrated camera; render the depth without rgb (it is rendered "
                       "with Cycles), or switch the file to Cycles")
    if request.beauty is None:
        engine_only = scene.render.engine != "CYCLES"
        return Plan(layer.name, False, reason if engine_only else None)
    return Plan(layer.name, reason is None, reason, beauty=True)


def describe_plan(plan: Plan) -> str:
    """How the depth is obtained, in one line."""
    if plan.shared:
        return "rgb and depth from one render (Cycles' Z pass: sample 0 through each pixel centre)"
    pass_ = "a Cycles pass (one sample through each pixel centre)"
    if plan.beauty:
        return f"depth from {pass_} after the beauty: {plan.reason}"
    return f"depth from {pass_}" + (f"; {plan.reason}" if plan.reason else "")


def render_frames(scene: bpy.types.Scene, folder: Path, frames: list[int], source: str = SOURCES[0],
                  request: Request = DEFAULT_REQUEST, view_layer: str | None = None,
                  kept: Sequence[exports.Record] = ()) -> list[FrameResult]:
    """Render ``frames`` of ``scene`` into ``folder`` (outputs checked free by the caller; ``kept``: the records
    of the frames ``--resume`` kept, for the once-per-job files)."""
    segments = camera_segments(scene)
    plan = plan_render(scene, frames, source, request, segments, view_layer)
    log(f"{scene.name}: {describe_plan(plan)}")
    layer = scene.view_layers[plan.layer]
    if request.beauty is not None:
        job_graph.beauty_settings(scene)
    with staging(folder) as stage:
        if plan.shared:
            tree = compat.tree_beside_user_compositor(scene)
        else:
            if request.beauty is not None:
                render_beauty_pass(scene, frames, stage)
            tree = compat.fresh_compositor_tree(scene)
        file_output, passes_output = job_graph.wire_render(scene, tree, layer, source, segments,
                                                           request.graph_kinds, frames, request.data_passes)
        if not plan.shared:
            job_graph.depth_only_settings(scene, layer)
        if request.normal:
            changed = normals.mesh_normals_only()
            log(f"{scene.name}: normals are the mesh's own ({changed} material(s) without bump or normal maps and "
                "bump map correction in this in-memory copy)")
        if request.flow:
            forget_geometry()
            changed = evaluate_as_rendered(scene)
            if changed:
                log(f"{scene.name}: flow's ray casts see the scene as it renders ({changed} viewport setting(s) "
                    "set to their render value in this in-memory copy)")
        compat.set_output_directory(file_output, str(stage))
        if passes_output is not None:
            compat.set_multilayer_directory(passes_output, str(stage), PASSES_PATTERN)
        try:
            return run_frames(scene, folder, frames, segments, request, stage, lambda frame, camera: "",
                              beauty_here=plan.shared, kept=kept)
        finally:
            if request.flow:
                forget_geometry()  # the ray casts' scene and meshes go before the next scene's job


def for_scene(request: Request, scene: bpy.types.Scene) -> Request:
    """``request`` with the beauty's extension of ``scene``'s output format (refusing movies)."""
    if request.beauty is None:
        return request
    return request.for_extension(job_graph.check_beauty_format(scene))


def run_render(blend: Path, output: Path, frames: list[int] | None, scene_name: str | None, source: str,
               overwrite: bool, request: Request = DEFAULT_REQUEST, split: Split | Submit | None = None,
               view_layer: str | None = None, calibration: Calibrated = NO_CALIBRATION, resume: bool = False,
               device: Device = CPU, finish: Path | None = None) -> int:
    """Render true depth (and the beauty) for a scene of ``blend`` (an in-memory copy: the file is never
    written)."""
    scene = open_blend(blend, scene_name)
    calibration.apply(scene)
    frames = frames or list(range(scene.frame_start, scene.frame_end + 1))
    request = for_scene(request, scene)
    used = device.apply(scene, slurm_cpus())
    return frames_job(scene, output, frames, overwrite,
                      f"{blend}: scene {scene.name!r}, {len(frames)} frame(s), source: {source}, Cycles on {used}",
                      lambda folder, todo, kept: render_frames(scene, folder, todo, source, request, view_layer, kept),
                      request, split, resume, finish=finish)
