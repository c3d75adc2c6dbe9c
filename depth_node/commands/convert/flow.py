"""``convert --to flow``: the Vector passes people already hold (their own multilayer EXRs; BlenderProc, Kubric and
vision_blender keep Blender's layout) into this tool's flow files, with the cameras of f-1, f and f+1.

What a frame needs: its multilayer EXR with one layer's ``Vector`` pass and that layer's ``Depth`` (Z tells the
sky, where the pass holds 0, from surfaces), and a camera for f-1, f and f+1:

* a .blend (:func:`~depth_node.commands.convert.blend_file.run_blender_flow`): the same files ``render`` writes,
  visibility decided by ray casts on the scene's geometry;
* the camera JSONs this tool writes (``--camera 'camera_####.json'``), with no Blender: the same flow, and
  ``valid`` 0 everywhere (nothing here can tell a hidden point from a seen one without the geometry), counted.

Refused before any work: a file with no single Vector pass (an RGBA EXR does not say what its channels hold), no
Depth beside it, cameras other than perspective and panoramic (the Vector pass of orthographic cameras is wrong
before Blender 5.2 and a file does not say which Blender wrote it; a calibrated camera's is wrong). Said in one
line: a pass rendered at more than one sample (Cycles names its samples in the header), where it is a
filter-weighted average.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...core.flow import DIRECTIONS, STEP, Flow, describe
from ...core.flow.infinity import has_rays, lands_on_image, pixel_rays, with_background
from ...core.flow.vector_pass import RenderedPass, from_vector_pass
from ...core.formats import exr
from ...core.outputs import preview, sidecar
from ..base import JobError, check_outputs_free, input_sequence, log, safe_folder_name, staging
from ..frame_files import (
    FlowStep,
    Request,
    account,
    finish_job,
    kept_record,
    plan_frames,
    publish_frame,
    stage_frame,
    summarize,
)

FLOW_CAMERAS = ("PERSP", "PANO")
OTHER_CAMERAS = ("the Vector pass of orthographic cameras is wrong before Blender 5.2 and a file does not say which "
                 "Blender wrote it, and a calibrated (OSL) camera's is wrong (measured: 1.9 px median); render "
                 "--outputs flow writes both where it can be exact")
FLOW_KINDS = ("camera",)
"""What convert writes beside the flow kinds themselves."""
NO_GEOMETRY = ("0 everywhere: converted with camera files only, which cannot tell a hidden point from a seen one "
               "(convert with the scene's .blend to decide it by ray casts)")
UNDECIDED_KEY = "flow pixels undecided (no scene geometry: valid 0)"


def check_flow_request(request: Request) -> None:
    """Refuse kinds ``convert --to flow`` cannot write (it converts Vector passes: flow and the camera files)."""
    other = [kind.name for kind in request.kinds if not kind.flow and kind.name not in FLOW_KINDS]
    if other:
        raise JobError(f"--outputs {','.join(other)}: convert --to flow writes flow and camera files; convert the "
                       "depth with --to depth")
    if not request.flow:
        raise JobError("convert --to flow: --outputs names no flow kind (flow, flow_forward, flow_backward)")


def read_pass(path: Path) -> RenderedPass:
    """A frame's Vector pass with its Depth, or a :class:`JobError` saying what the file holds instead."""
    try:
        rendered = exr.read_rendered_pass(path)
    except exr.ExrError as error:
        raise JobError(f"{error}; convert --to flow reads a multilayer EXR with one layer's Vector pass (Passes > "
                       "Data > Vector; a single-layer RGBA EXR does not say what its channels hold)") from None
    if rendered.depth is None:
        raise JobError(f"{path}: layer {rendered.layer or '(none)'!r} has a Vector pass but no Depth "
                       f"({rendered.layer + '.' if rendered.layer else ''}Depth.Z): flow needs Z to tell the sky, "
                       "where the pass holds 0, from surfaces (Passes > Data > Z)")
    return rendered


def samples_note(rendered: RenderedPass, path: Path) -> str | None:
    """The one line saying a pass cannot be exact (rendered at more than one sample), or None."""
    if rendered.samples is None or rendered.samples <= 1:
        return None
    return (f"{path.name}: rendered at {rendered.samples} samples (its header says): Blender's Vector pass is then "
            "a filter-weighted average of the samples, not the flow at the pixel centre (measured up to 4.7 px wrong "
            "at silhouettes); only 1-sample passes are exact")


def escaped(rendered: RenderedPass) -> np.ndarray:
    """Where the pixel's ray hit nothing: Cycles writes 1e10 into Z there."""
    depth = rendered.depth.astype(np.float64)
    return ~(np.isfinite(depth) & (depth < preview.BACKGROUND_LIMIT))


def planar_depth(rendered: RenderedPass, meta: dict) -> np.ndarray:
    """The pass's Z as the depth files hold it: planar depth, 0 where rays escaped. A panorama's Z is the ray's
    length (measured), its planar depth that times the cosine to the view axis (negative looking backwards)."""
    depth = np.where(escaped(rendered), 0.0, rendered.depth.astype(np.float64))
    if meta.get("projection") == "PANO":
        _, directions = pixel_rays(meta)
        depth = depth * (directions @ np.asarray(meta["camera_to_world_opencv"], dtype=np.float64)[:3, 2])
    return depth


def check_moving_pass(rendered: RenderedPass, meta: dict, others: dict[str, dict | None], path: Path) -> None:
    """Refuse a pass that is 0 on every surface while the camera moves: Blender writes that with motion blur on
    (all four channels 0, measured), which is no flow at all."""
    surfaces = ~escaped(rendered)
    if not surfaces.any() or np.any(rendered.vector[surfaces] != 0):
        return
    pose = np.asarray(meta["camera_to_world_opencv"], dtype=np.float64)
    if any(other is not None and not np.allclose(np.asarray(other["camera_to_world_opencv"]), pose, atol=1e-9)
           for other in others.values()):
        raise JobError(f"{path}: the Vector pass is 0 on every surface although the camera moves: Blender writes "
                       "that when motion blur is on; render the pass with motion blur off")


def pass_flows(rendered: RenderedPass, meta: dict, others: dict[str, dict | None]) -> tuple[dict[str, Flow], int]:
    """Both directions' flow of one frame's pass, with no geometry: ``(flows, pixels undecided)``. A direction
    whose other camera is None (a cut, or no camera file) is 0 and invalid; ``valid`` is 0 everywhere."""
    background = escaped(rendered) | ~has_rays(meta)
    pass_flow = from_vector_pass(rendered.vector)
    flows, undecided = {}, 0
    for direction in DIRECTIONS:
        uv, other = pass_flow[direction].astype(np.float64), others[direction]
        invalid = np.zeros(uv.shape[:2], dtype=bool)
        if other is None:
            flows[direction] = Flow(np.zeros_like(uv, dtype=np.float32), invalid)
            continue
        uv, ahead = with_background(uv, background, meta, other)
        undecided += int((ahead & lands_on_image(other, uv) & has_rays(meta)).sum())
        flows[direction] = Flow(uv.astype(np.float32), invalid)
    return flows, undecided


def camera_sequence(camera: Path) -> dict[int, dict]:
    """``{frame: sidecar}`` of a camera JSON pattern (``camera_####.json``), each a perspective or panoramic camera."""
    if camera.is_file() and "#" not in camera.name:
        raise JobError(f"{camera}: convert --to flow needs each frame's camera: give the pattern of the camera JSONs "
                       "(--camera 'camera_####.json'), or the .blend")
    metas = {}
    for frame, path in input_sequence(str(camera)).items():
        try:
            meta, _ = sidecar.load(path)
        except sidecar.SidecarError as error:
            raise JobError(f"{path}: {error}") from None
        projection = meta.get("projection", "PERSP")
        if projection not in FLOW_CAMERAS or "distortion" in meta or (projection == "PERSP" and meta.get("K") is None):
            raise JobError(f"{path}: convert --to flow takes perspective and panoramic cameras (this one is "
                           f"{meta.get('projection_model', {}).get('type', projection)}): {OTHER_CAMERAS}")
        if meta.get("camera_to_world_opencv") is None:
            raise JobError(f"{path}: the camera has no pose (camera_to_world_opencv): flow needs where it is")
        metas[frame] = meta
    return metas


def neighbours(frame: int, cameras: dict[int, dict]) -> dict[str, dict | None]:
    """The camera of f-1 and f+1 per direction, None where there is no camera file or another camera object
    renders it (a cut at a marker: Blender's pass still follows this frame's camera)."""
    meta, found = cameras[frame], {}
    name = (meta.get("blender") or {}).get("camera")
    for direction in DIRECTIONS:
        other = cameras.get(frame + STEP[direction])
        cut = other is not None and name is not None and (other.get("blender") or {}).get("camera") != name
        found[direction] = None if cut else other
    return found


def run_sidecar_flow(inputs: dict[int, Path], pattern: str, camera: Path, output: Path, overwrite: bool,
                     request: Request, resume: bool = False, finish: Path | None = None) -> int:
    """``convert --to flow`` with the camera JSONs of the frames (no Blender)."""
    cameras = camera_sequence(camera)
    missing = [frame for frame in inputs if frame not in cameras]
    if missing:
        raise JobError(f"no camera file for frame(s) {', '.join(map(str, missing[:10]))} in {camera}")
    name = str((cameras[next(iter(inputs))].get("blender") or {}).get("scene") or "converted")
    folder = output / safe_folder_name(name)
    todo, kept = plan_frames(folder, list(inputs), request, resume=resume, finish=finish)
    check_outputs_free(((folder, frame) for frame in todo), overwrite or resume or finish is not None, request.kinds)
    log(f"converting {len(todo)} Vector pass(es) of {pattern} to flow with the cameras of {camera}")
    said: list[str] = []
    results = []
    with staging(folder) as stage:
        for frame in todo:
            rendered, meta = read_pass(inputs[frame]), cameras[frame]
            height, width = rendered.vector.shape[:2]
            if (width, height) != (int(meta["width"]), int(meta["height"])):
                raise JobError(f"{inputs[frame]}: the pass is {width}x{height}, the camera of frame {frame} renders "
                               f"{meta['width']}x{meta['height']}")
            others = neighbours(frame, cameras)
            check_moving_pass(rendered, meta, others, inputs[frame])
            note = samples_note(rendered, inputs[frame])
            if note is not None and not said:
                said.append(note)
                log(note)
            meta = {**meta, "flow": describe(frame, {d: others[d] is None for d in DIRECTIONS}, NO_GEOMETRY,
                                             samples=rendered.samples, source=inputs[frame].name)}
            staged = stage_frame(frame, meta, stage, request, images={"depth": planar_depth(rendered, meta),
                                                                       "distance": None},
                                 flows=_step(rendered, meta, others))
            results.append(publish_frame(staged, folder, request))
        finish_job(folder, stage, request, results, [kept_record(frame, "", cameras[frame], request)
                                                     for frame in kept])
    summarize(folder, results, request, account(len(todo), len(kept)))
    return 0


def _step(rendered: RenderedPass, meta: dict, others: dict[str, dict | None]) -> FlowStep:
    def flows(_depth: np.ndarray) -> tuple[dict[str, Flow], dict[str, int]]:
        made, undecided = pass_flows(rendered, meta, others)
        return made, {UNDECIDED_KEY: undecided}

    return flows

