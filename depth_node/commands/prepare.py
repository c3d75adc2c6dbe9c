"""``prepare``: the job ``render`` would run, saved as a .blend for a farm (no Python, no extension needed there)."""

from __future__ import annotations

from pathlib import Path

import bpy

from ..blender import compat, flow, job_graph
from ..blender.binding import camera_segments
from ..core import outputs
from ..core.flow import describe as describe_flow
from ..core.outputs import OutputKind, exports, job_paths
from .base import JobError, check_outputs_free, log, safe_folder_name
from .frame_files import Request, describe_files
from .frames import (
    NO_CALIBRATION,
    Calibrated,
    frame_camera,
    open_blend,
    render_views,
    view_sidecars,
)
from .render import describe_plan, for_scene, plan_render

FARM_VALID = ("0 everywhere: a farm render runs no Python, and only ray casts on the scene's geometry can tell a "
              "hidden point from a seen one (render --outputs flow decides it)")


def check_farm_flow(kinds: tuple[OutputKind, ...], flow_format: str) -> None:
    """Refuse flow files a farm render cannot write (the True Flow node refuses the rest: see
    :func:`~depth_node.blender.job_graph.wire_farm_flow`)."""
    if kinds and flow_format != "exr":
        raise JobError(f"--flow-format {flow_format}: a farm render writes flow as EXR only (the .flo and KITTI "
                       "files are written by Python); use render for those")


def run_prepare(blend: Path, job_blend: Path, render_output: Path, frames: list[int] | None, scene_name: str | None,
                source: str, overwrite: bool, request: Request, view_layer: str | None = None,
                calibration: Calibrated = NO_CALIBRATION) -> int:
    """Write ``job_blend``: the job ``render`` would run, for a farm.

    Its File Output node writes the depth and distance EXRs (and Blender's render output the ``rgb`` beauty)
    straight into ``render_output/<scene>/``; the files that need Python (camera JSON, COLMAP, nerfstudio)
    are written here for the whole frame range. ``blend`` is never written.
    """
    later = [kind.name for kind in request.kinds if kind.needs_pixels and not kind.flow and not kind.normal]
    flow_kinds = tuple(kind for kind in request.kinds if kind.flow)
    normal_kinds = tuple(kind for kind in request.kinds if kind.normal)
    check_farm_flow(flow_kinds, request.options.flow_format)
    if later:
        raise JobError(f"--outputs {','.join(later)} need the rendered images: prepare writes the render job "
                       "and the camera files; use render for those kinds")
    if job_blend.resolve() == blend.resolve():
        raise JobError(f"{job_blend} is the scene file itself; prepare never writes it")
    if job_blend.exists() and not overwrite:
        raise JobError(f"{job_blend} exists; pass --overwrite to replace")
    scene = open_blend(blend, scene_name)
    calibration.apply(scene)
    frames = frames or list(range(scene.frame_start, scene.frame_end + 1))
    if frames != list(range(frames[0], frames[-1] + 1)):
        raise JobError("prepare renders one frame range (--frames A-B), as a farm does")
    request = for_scene(request, scene)
    folder = render_output.resolve() / safe_folder_name(scene.name)
    views = render_views(scene)
    check_outputs_free(((folder, frame) for frame in frames), overwrite, request.kinds, [v.suffix for v in views])
    segments = camera_segments(scene)
    plan = plan_render(scene, frames, source, request, segments, view_layer)
    if request.beauty is not None and normal_kinds:
        raise JobError(f"--outputs rgb,{','.join(kind.name for kind in normal_kinds)}: the normals come from a "
                       "1-sample render whose materials lose their bump and normal maps, which the beauty keeps; a "
                       "farm job is one render: prepare the beauty and the normals as two jobs")
    if request.beauty is not None and not plan.shared:
        raise JobError(f"--outputs rgb: {plan.reason}, so the depth needs a render of its own; a farm job is one "
                       "render: use render, or prepare the beauty and the depth as two jobs (without rgb here)")
    layer = scene.view_layers[plan.layer]
    if request.beauty is not None:
        job_graph.beauty_settings(scene)
        scene.render.filepath = str(folder / "rgb_####")
        tree = compat.tree_beside_user_compositor(scene)
    else:
        tree = compat.fresh_compositor_tree(scene)
    graph_kinds = tuple(kind for kind in request.kinds if kind.graph_value is not None)
    file_output, _ = job_graph.wire_render(scene, tree, layer, source, segments, graph_kinds, frames)
    if not plan.shared:
        job_graph.depth_only_settings(scene, layer)
    compat.set_output_directory(file_output, str(folder))
    scene.frame_start, scene.frame_end = frames[0], frames[-1]
    if flow_kinds:  # keyed for the frame range, so after it is set
        compat.set_output_directory(job_graph.wire_farm_flow(scene, tree, layer, flow_kinds), str(folder))
    if normal_kinds:
        compat.set_output_directory(job_graph.wire_farm_normals(scene, tree, layer, normal_kinds), str(folder))
    records = []
    folder.mkdir(parents=True, exist_ok=True)
    for frame in frames:
        scene.frame_set(frame)
        camera_object, _ = frame_camera(scene, frame, segments)
        for view, meta in view_sidecars(scene, frame, camera_object, views):
            meta = describe_files(request, frame, view.suffix, meta)
            if flow_kinds:
                meta = {**meta, "flow": describe_flow(frame, flow.camera_cuts(scene, frame, segments), FARM_VALID)}
            if request.has("camera"):
                outputs.write_sidecar(folder / outputs.BY_NAME["camera"].filename(frame, view.suffix), meta)
            depth = folder / outputs.BY_NAME["depth"].filename(frame, view.suffix)
            records.append(exports.Record(frame, view.suffix, meta, depth.name))
    for kind in request.kinds:
        if kind.write_job is not None:
            kind.write_job(folder, records, request.options)
    scene.frame_set(frames[0])
    job_blend.parent.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(job_blend.resolve()), copy=True, compress=True)
    log(f"{scene.name}: {describe_plan(plan)}")
    if flow_kinds:
        log(f"{scene.name}: {', '.join(kind.name for kind in flow_kinds)} from the True Flow node: u, v exact, "
            "B (valid) 0 everywhere (a farm runs no Python to cast the visibility rays)")
    if normal_kinds:
        log(f"{scene.name}: {', '.join(kind.name for kind in normal_kinds)} from the True Normal node (the job "
            "file's materials lost their bump and normal maps: the mesh's own normal)")
    log(f"wrote {job_blend} (frames {frames[0]}-{frames[-1]}, renders into {folder}) and "
        f"{len(records) * request.has('camera') + len(job_paths(folder, request.kinds))} camera files; render it "
        f"anywhere: blender -b {job_blend.name} -a (or -s/-e per machine)")
    return 0
