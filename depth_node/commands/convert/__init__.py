"""``convert``: distance (or depth) images people already hold into the other, with the camera they came from.

Two engines compute the same maths; both are tested against Blender's own passes and ray casts:

* ``numpy`` (default): the reference conversion (:mod:`depth_node.core.reference`) with each camera's
  pixel geometry computed once per sequence, frames read, converted and written by a pool of threads
  (OpenEXR and numpy release the GIL). Needs no Blender unless the camera is a .blend.
* ``node``: every frame through the True Depth node in Blender's compositor, written by Blender's File
  Output node: what a user's own compositor writes (:mod:`.blend_file`).

Why numpy is the default (docs/benchmarks.md, 1080p, 2 cores): Blender spends ~180 ms of CPU per frame
(EXR decode ~50, compositor ~37, ZIP write ~70), more than the whole numpy loop (~145), so no number of
Blender processes reaches 2x that loop; the numpy engine needs ~125 ms of CPU per frame and overlaps
two frames.

Inputs: any format of :mod:`depth_node.core.formats` (EXR single/multilayer/multi-part, PFM, npy/npz, 16-bit
PNG/TIFF, HDF5), or Blender's Mist pass with its linear falloff. Cameras (:mod:`.cameras`): a .blend,
the camera JSON this tool writes, a calibration file, a COLMAP model, a nerfstudio transforms.json, a field of
view or a ray matrix.
"""

from __future__ import annotations

from pathlib import Path

from ...core import formats, outputs, reference
from ...core.outputs import Options, sidecar
from ..base import ENGINES, JobError, check_outputs_free, input_sequence, log, safe_folder_name, select_frames
from ..frame_files import Request, account, kept_record, plan_frames, summarize
from ..workers import Submit
from .numpy_engine import PLAIN_SOURCE, FrameInput, Source, convert_inputs, has_blender


def output_request(request: Request, output_format: str) -> Request:
    """``request`` with depth and distance written as ``output_format`` (exr, npy, pfm, png16)."""
    if output_format == "exr":
        return request
    return Request(outputs.with_value_extension(request.kinds, formats.output_suffix(output_format).lstrip(".")),
                   request.options)


def run_convert(pattern: str, camera_path: Path | None, scene_name: str | None, output: Path, to: str,
                frames: list[int] | None, overwrite: bool, request: Request | None = None,
                options: Options | None = None, split: object = None, engine: str = ENGINES[0],
                source: Source = PLAIN_SOURCE, camera_options: dict | None = None, resume: bool = False,
                finish: Path | None = None) -> int:
    """Convert an image sequence with its camera (a .blend, a camera JSON, a calibration, a reconstruction, a
    field of view or a ray matrix)."""
    inputs = select_frames(input_sequence(pattern), frames)
    options = options or Options()
    if request is None:  # convert's defaults: the converted image (both flow directions) and the sidecar
        names = ("flow", "camera") if to == "flow" else (to, "camera")
        request = Request(outputs.select(names, "convert", options.flow_format), options)
    if request.beauty is not None:
        raise JobError("--outputs rgb: convert renders nothing (it converts existing images); use render")
    if to == "flow":
        return convert_flow(inputs, pattern, camera_path, scene_name, output, overwrite, request, split, engine,
                            resume, finish)
    if request.flow:
        raise JobError("--outputs flow: convert writes flow from Blender's Vector pass with --to flow")
    if request.normal:
        raise JobError(f"--outputs {','.join(kind.name for kind in request.kinds if kind.normal)}: normals come from "
                       "Blender's Normal pass, which convert does not read; render them (render --outputs normal)")
    blend = camera_path is not None and camera_path.suffix.lower() == ".blend"
    if source.mist == "blend" and not blend:
        raise JobError("--mist without --mist-start and --mist-depth takes the World's mist settings of a .blend "
                       "camera; give both numbers with any other camera")
    if engine == "node" and (source != PLAIN_SOURCE or any(path.suffix.lower() != ".exr"
                                                           for path in inputs.values())):
        raise JobError("--engine node reads single-channel EXRs (Blender's image loader) and writes EXRs; "
                       "use the numpy engine for other formats, channels, Mist or --format")
    if engine == "node" or blend:
        if not has_blender():
            what = "--engine node" if engine == "node" else "a .blend camera"
            raise JobError(f"convert with {what} needs Blender: run it through tools/true_depth.sh (or "
                           "blender -c true_depth); the numpy engine with a camera file needs no Blender")
        from .blend_file import run_blender_convert

        return run_blender_convert(inputs, pattern, camera_path, scene_name, output, to, overwrite,
                                   output_request(request, source.output_format), split, engine, source,
                                   camera_options or {}, resume, finish)
    from .cameras import frame_cameras

    cameras, name, description = frame_cameras(camera_path, inputs, source,
                                               {**(camera_options or {}), "scene": scene_name})
    request = output_request(request, source.output_format)
    check_kinds(request, cameras)
    folder = output / safe_folder_name(name)
    todo, kept = plan_frames(folder, list(cameras), request, resume=resume, finish=finish)
    check_outputs_free(((folder, frame) for frame in todo), overwrite or resume or finish is not None, request.kinds)
    if isinstance(split, Submit):
        return split.submit(folder, list(cameras), todo, ("",), request)
    log(f"converting {len(todo)} frame(s) of {pattern} to {to} with {description} (numpy engine)")
    items = [FrameInput(frame, inputs[frame], *cameras[frame]) for frame in todo]
    kept_records = [kept_record(frame, "", cameras[frame][0], request) for frame in kept]
    results = convert_inputs(folder, items, to, request, source, label=f"{name}: ", kept=kept_records)
    summarize(folder, results, request, account(len(todo), len(kept)))
    return 0


def check_kinds(request: Request, cameras: dict[int, tuple[dict, reference.PixelGeometry]]) -> None:
    """Refuse, before any work, outputs the cameras cannot describe (a pose for COLMAP/nerfstudio, K...)."""
    metas = [meta for meta, _ in cameras.values()]
    for kind in request.kinds:
        if kind.name in ("colmap", "nerf") and any(meta.get("camera_to_world_opencv") is None for meta in metas):
            raise JobError(f"--outputs {kind.name} needs each frame's pose: give a camera JSON, a COLMAP model or "
                           "a nerfstudio transforms.json")
        if kind.name in ("colmap", "nerf") and any(meta.get("K") is None or sidecar.ray_camera_from_metadata(meta)
                                                   for meta in metas):
            raise JobError(f"--outputs {kind.name} describes cameras with a K without skew only")


def convert_flow(inputs: dict[int, Path], pattern: str, camera_path: Path | None, scene_name: str | None,
                 output: Path, overwrite: bool, request: Request, split: object, engine: str, resume: bool,
                 finish: Path | None) -> int:
    """``convert --to flow`` (:mod:`.flow`): with a .blend inside Blender, with camera JSONs without it."""
    from .flow import check_flow_request, run_sidecar_flow  # noqa: PLC0415  (numpy only: convert needs no bpy)

    check_flow_request(request)
    if camera_path is None:
        raise JobError("convert --to flow needs the cameras of f-1, f and f+1: --camera 'camera_####.json' (the "
                       "camera JSONs this tool writes) or --camera SCENE.blend")
    if engine != ENGINES[0]:
        raise JobError("convert --to flow has one engine (the Vector pass is read, not composited): drop --engine")
    if split is not None:
        raise JobError("convert --to flow runs in one process: drop --jobs (or split the frames with --frames)")
    if camera_path.suffix.lower() == ".blend":
        if not has_blender():
            raise JobError("convert --to flow with a .blend needs Blender: run it through tools/true_depth.sh (or "
                           "blender -c true_depth); with the camera JSONs it needs none")
        from .blend_file import run_blender_flow  # noqa: PLC0415

        return run_blender_flow(inputs, pattern, camera_path, scene_name, output, overwrite, request, None,
                                resume, finish)
    return run_sidecar_flow(inputs, pattern, camera_path, output, overwrite, request, resume, finish)
