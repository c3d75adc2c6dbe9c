"""True Depth's command line: ``example``, ``render``, ``convert`` and ``pointcloud``.

Runs inside Blender (``tools/true_depth.sh``, ``blender -c true_depth ...`` once
the extension is installed, or ``python -m depth_node`` next to the bpy wheel).
``pointcloud`` needs only numpy (and OpenEXR or Blender to read the EXR).
Exit codes: 0 ok, 1 failed, 2 bad usage. Errors are one line on stderr;
existing outputs are never replaced without ``--overwrite``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..core import formats, outputs
from .base import ENGINES, SOURCES, JobError, log
from .slurm.batch import DEFAULT_FRAMES_PER_TASK

PROG = "true_depth"


class _Parser(argparse.ArgumentParser):
    """Raise instead of exiting, so the Blender command handler can return the exit code."""

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        if message:
            sys.stderr.write(message)
        raise _ParserExitError(status)


class _ParserExitError(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _resolution(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None
    if width < 1 or height < 1:
        raise argparse.ArgumentTypeError(f"resolution must be positive, got {text!r}")
    return width, height


def _frames(text: str) -> list[int]:
    """``1-250``, ``7`` or ``1,3,10-12``."""
    frames: list[int] = []
    try:
        for part in text.split(","):
            first, _, last = part.strip().partition("-")
            start, end = int(first), int(last or first)
            if end < start:
                raise ValueError
            frames.extend(range(start, end + 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected frames like 1-250, 7 or 1,3,10-12, got {text!r}") from None
    return list(dict.fromkeys(frames))


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _degrees(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 180:
        raise argparse.ArgumentTypeError(f"expected a field of view in degrees between 0 and 180, got {text!r}")
    return value


def _ray_matrix(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.replace(";", ",").replace(" ", ",").split(",") if part]
    except ValueError:
        values = []
    if len(values) != 9 or not all(abs(value) < float("inf") for value in values):
        raise argparse.ArgumentTypeError(f"expected 9 finite numbers (row-major 3x3), got {text!r}")
    return values


def _kinds(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    try:
        outputs.select(names)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return names


def _scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _output_options(parser: argparse.ArgumentParser, command: str) -> None:
    defaults = ",".join(kind.name for kind in outputs.select(None, command))
    if command == "convert":
        defaults = "the converted kind (--to),camera"
    parser.add_argument("--outputs", type=_kinds, default=None,
                        help=f"comma-separated kinds ({defaults} by default): {outputs.describe()}")
    parser.add_argument("--depth16-scale", type=_scale, default=outputs.Options.depth16_scale,
                        help="depth16 value = round(depth in metres x SCALE) (1000: millimetres)")
    parser.add_argument("--flow-format", choices=outputs.FLOW_FORMATS, default=outputs.Options.flow_format,
                        help="how flow is written: exr (float32 R = u, G = v, B = valid), flo (Middlebury, as "
                             "Sintel ships it, with flow_*_valid_####.png beside) or kitti (16-bit PNG: u x 64 + "
                             "2^15, v x 64 + 2^15, valid)")
    parser.add_argument("--image-name", default=outputs.Options.image_name,
                        help="the RGB frames named in colmap/nerf files (default: the rgb files when written, else "
                             f"{outputs.DEFAULT_IMAGE_NAME}); a pattern such as image_####.png names your own")
    parser.add_argument("--verbose", action="store_true", help="show Blender's own lines while it renders")


def _calibration_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--calibration", type=Path,
                        help="a real camera's calibration (OpenCV FileStorage YAML/JSON, ROS camera_info, Kalibr "
                             "camchain, COLMAP cameras.txt or a camera JSON): the scene camera keeps its pose and "
                             "animation, intrinsics, distortion and resolution come from the file")
    parser.add_argument("--calibration-camera", help="which camera of a calibration file holding several "
                                                     "(Kalibr's cam1, COLMAP's camera id)")


def _resume_option(parser: argparse.ArgumentParser) -> None:
    """``--resume`` or ``--overwrite`` (together: a usage error)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--overwrite", action="store_true", help="replace existing output files")
    group.add_argument("--resume", action="store_true",
                       help="make only the frames whose files are missing or do not read back whole (an "
                            "interrupted job), keep the others, rewrite the once-per-job files (COLMAP, nerfstudio) "
                            "from every frame")


def _device_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", choices=("cpu", "gpu"),
                        help="Cycles renders on the CPU or the GPU (default: the CPU, unless the file asks for the GPU "
                             "and one is found); gpu without one is an error, never a silent CPU render")
    parser.add_argument("--gpu-backend", choices=("cuda", "optix", "hip", "metal", "oneapi"),
                        help="with --device gpu: only this backend (default: OptiX, CUDA, HIP, Metal, oneAPI in turn)")


def _view_layer_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--view-layer", help="the view layer whose depth is written (default: the only one "
                                             "rendered; several rendered layers need this choice)")


def _render_arguments(render: argparse.ArgumentParser) -> None:
    """Every option of ``render`` but ``--jobs`` (``slurm render`` takes them too)."""
    render.add_argument("blend", type=Path, help="the .blend file")
    render.add_argument("--output", type=Path, required=True, help="output folder")
    render.add_argument("--frames", type=_frames, help="frames, e.g. 1-250 (default: the scene's range)")
    render.add_argument("--scene", help="scene name (default: the file's active scene)")
    render.add_argument("--source", choices=SOURCES, default=SOURCES[0],
                        help="z (default): Cycles' Z pass is the depth (first surface at or above the alpha "
                             "threshold), distance comes from the True Depth Inverse node; aov: a View Distance "
                             "AOV added to the materials; mist: the Mist pass with linear falloff over the "
                             "camera's clip range. aov and mist add up through transparent surfaces")
    _resume_option(render)
    _device_options(render)
    _view_layer_option(render)
    _calibration_options(render)
    _output_options(render, "render")
    render.add_argument("--finish", type=Path, help=argparse.SUPPRESS)  # slurm's finishing job: see plan_frames


def _convert_arguments(convert: argparse.ArgumentParser) -> None:
    """Every option of ``convert`` but ``--jobs`` (``slurm convert`` takes them too)."""
    convert.add_argument("pattern", help="input files: distance_####.exr, distance_%%04d.pfm or a glob; EXR "
                                         "(single, multilayer, multi-part), PFM, .npy/.npz, 16-bit PNG/TIFF, HDF5")
    convert.add_argument("--camera", type=Path,
                         help="the camera JSON this tool writes (or any JSON with K, width, height), a calibration "
                              "(OpenCV, ROS, Kalibr, COLMAP cameras.txt), a COLMAP model (folder or images.txt: "
                              "each frame's camera by image name), a nerfstudio transforms.json, Hypersim's "
                              "metadata_camera_parameters.csv (with --scene), or a .blend whose scene camera "
                              "(animation and markers included) is used")
    convert.add_argument("--fov-x", type=_degrees, help="no camera file: a centred pinhole with this horizontal "
                                                         "field of view in degrees, at the images' size")
    convert.add_argument("--fov-y", type=_degrees, help="with --fov-x: the vertical field of view (default: square "
                                                         "pixels)")
    convert.add_argument("--ray-matrix", type=_ray_matrix,
                         help="no camera file: 9 numbers, row-major, taking a pixel (x, y, 1) (pixel centres at "
                              "integers, y down) to its camera-space ray (x right, y down, z forward); e.g. "
                              "inv(K) of a skewed K, or Hypersim's M_cam_from_uv mapped as docs/converting.md shows")
    convert.add_argument("--calibration-camera", help="which camera of a calibration file holding several")
    convert.add_argument("--scene", help="scene name in the .blend (default: the active scene), or the scene_name "
                                         "of Hypersim's metadata_camera_parameters.csv given as --camera")
    convert.add_argument("--output", type=Path, required=True, help="output folder")
    convert.add_argument("--to", choices=("depth", "distance", "flow"), default="depth",
                         help="depth: the inputs are distances (default); distance: the inputs are depths; flow: "
                              "the inputs are multilayer EXRs with Blender's Vector and Depth passes, the camera a "
                              ".blend or the camera JSONs of every frame ('camera_####.json')")
    convert.add_argument("--channel", help="the EXR channel (multilayer: ViewLayer.Depth.Z; multi-part: "
                                           "part.channel); or R, G, B of a color PFM")
    convert.add_argument("--key", help="the array of an .npz holding several")
    convert.add_argument("--dataset", help="the dataset of an HDF5 file holding several (needs h5py)")
    convert.add_argument("--scale", type=_scale, help="16-bit PNG/TIFF inputs: units per count (default 0.001: "
                                                      "millimetres to metres); 0 counts are no data")
    convert.add_argument("--mist", action="store_true",
                         help="the inputs are Blender's Mist pass (linear falloff): distance = start + mist x depth; "
                              "pixels at 0 or 1 (outside the mist range) become 0 (no data)")
    convert.add_argument("--mist-start", type=float, help="Mist start (default: the .blend's World mist settings)")
    convert.add_argument("--mist-depth", type=float, help="Mist depth (default: the .blend's World mist settings)")
    convert.add_argument("--format", choices=("exr", "npy", "pfm", "png16"), default="exr",
                         help="depth and distance files: exr (default, float32, one channel 'Y'), npy (float32), "
                              "pfm (Middlebury), png16 (round(value x --depth16-scale), 0 = no data)")
    convert.add_argument("--frames", type=_frames, help="only these frames (all of them must exist)")
    _resume_option(convert)
    _output_options(convert, "convert")
    convert.add_argument("--engine", choices=ENGINES, default=ENGINES[0],
                         help="numpy (default): the reference maths, a frame per core at a time (about 2x the "
                              "frames/s of a plain numpy loop on 2 cores); node: every frame through the True Depth "
                              "node in Blender's compositor, written by its File Output node")
    convert.add_argument("--finish", type=Path, help=argparse.SUPPRESS)  # slurm's finishing job: see plan_frames


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    layout = ("Writes OUT/<scene>/<kind>_####.<ext> per frame (per eye with _L/_R for Stereo 3D) for the kinds "
              "of --outputs.")

    example = commands.add_parser("example", help="render the built-in example scenes",
                                  description=f"Render a wall and Suzanne in front of it. {layout}")
    example.add_argument("--output", type=Path, default=Path("true_depth_output"), help="output folder")
    example.add_argument("--resolution", type=_resolution, default=(320, 240), help="WIDTHxHEIGHT (320x240)")
    example.add_argument("--lens", type=float, default=35.0, help="focal length in mm (35)")
    _resume_option(example)
    _device_options(example)
    _calibration_options(example)
    _output_options(example, "example")

    render = commands.add_parser("render", help="render true depth for a .blend (the file is not modified)",
                                 description=f"Render a scene of a .blend through the True Depth node. {layout} "
                                             "Works on an in-memory copy: the .blend is never written.")
    _render_arguments(render)
    render.add_argument("--jobs", type=_positive, default=1, help="worker processes splitting the frames (1)")

    convert = commands.add_parser("convert", help="convert existing distance (or depth) images",
                                  description=f"Convert distance (or depth) images with the node's maths, without "
                                              f"rendering. {layout} Frame numbers come from the file names. "
                                              "Needs no Blender with the numpy engine and a camera file.")
    _convert_arguments(convert)
    convert.add_argument("--jobs", type=_positive, default=1,
                         help="worker processes splitting the frames (1; the numpy engine already uses every core)")

    prepare = commands.add_parser("prepare", help="write the render job as a .blend for a farm",
                                  description="Write JOB.blend: the job `render` would run (same source, passes, "
                                              "sampling, depth of field off, File Output paths under "
                                              "RENDER_OUTPUT/<scene>/). Rendering it with any Blender >= 4.5, "
                                              "without this extension and with Python auto-execution off, on one "
                                              "machine or split over many (-s/-e), writes the depth/distance EXRs; "
                                              "the camera JSON, COLMAP and NeRF files are written now. The scene "
                                              ".blend is never written.")
    prepare.add_argument("blend", type=Path, help="the scene .blend")
    prepare.add_argument("--output", type=Path, required=True, help="the job .blend to write")
    prepare.add_argument("--render-output", type=Path, required=True, help="where the farm writes the EXRs")
    prepare.add_argument("--frames", type=_frames, help="a frame range A-B (default: the scene's range)")
    prepare.add_argument("--scene", help="scene name (default: the file's active scene)")
    prepare.add_argument("--source", choices=SOURCES, default=SOURCES[0], help="as for render")
    prepare.add_argument("--overwrite", action="store_true", help="replace existing files")
    _view_layer_option(prepare)
    _calibration_options(prepare)
    _output_options(prepare, "prepare")

    cloud = commands.add_parser("pointcloud", help="turn a depth EXR and its camera JSON into a PLY",
                                description="Back-project a depth EXR with its camera JSON into a binary "
                                            "little-endian PLY; background pixels are dropped.")
    cloud.add_argument("depth", type=Path, help="depth EXR (planar depth)")
    cloud.add_argument("camera", type=Path, help="camera JSON of that frame")
    cloud.add_argument("ply", type=Path, help="output .ply")
    cloud.add_argument("--stride", type=_positive, default=1, help="use every N-th row and column (1)")
    cloud.add_argument("--world", action="store_true", help="world coordinates (default: OpenCV camera frame)")
    cloud.add_argument("--normals", type=Path, metavar="NORMAL_EXR",
                       help="the frame's normal_####.exr (render --outputs normal): adds nx, ny, nz and colours "
                            "the points by their normal (red, green, blue = (n + 1) / 2 x 255)")
    cloud.add_argument("--overwrite", action="store_true", help="replace an existing .ply")

    slurm = commands.add_parser("slurm", help="run render or convert as a SLURM job array",
                                description="Submit a job's frames as one SLURM job array (each task a balanced block "
                                            "of frames, run with --resume) and a finishing job after it (the "
                                            "once-per-job files, the account of every frame). The nodes must share "
                                            "the filesystem of the output, the .blend and this tool.")
    slurm_commands = slurm.add_subparsers(dest="slurm_command", required=True, parser_class=_Parser)
    slurm_render = slurm_commands.add_parser("render", allow_abbrev=False, help="render on SLURM",
                                             description="render's job on SLURM: every option of render, and the "
                                                         "scheduler's.")
    _render_arguments(slurm_render)
    _slurm_options(slurm_render, gpus=True)
    slurm_convert = slurm_commands.add_parser("convert", allow_abbrev=False, help="convert on SLURM",
                                              description="convert's job on SLURM: every option of convert, and the "
                                                          "scheduler's.")
    _convert_arguments(slurm_convert)
    _slurm_options(slurm_convert, gpus=False)
    slurm_status = slurm_commands.add_parser("status", help="what a submitted job has done",
                                             description="Frames complete, jobs still queued, frames that failed and "
                                                         "why. Exit 0: every frame complete; 3: still queued or "
                                                         "running; 1: frames failed.")
    slurm_status.add_argument("folder", type=Path, help="the job's --output folder (or a scene's folder in it)")
    return parser


def _slurm_options(parser: argparse.ArgumentParser, gpus: bool) -> None:
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--tasks", type=_positive, help="array tasks: balanced blocks of frames (at most one per frame)")
    size.add_argument("--frames-per-task", type=_positive,
                      help=f"frames per task (default {DEFAULT_FRAMES_PER_TASK}: see docs/benchmarks.md)")
    parser.add_argument("--wait", action="store_true",
                        help="block until every task and the finishing job have ended, with progress; exit 0 when "
                             "every frame is complete, 1 naming the frames and tasks that failed")
    parser.add_argument("--partition", help="sbatch --partition")
    parser.add_argument("--time", help="sbatch --time, per task (e.g. 2:00:00)")
    parser.add_argument("--cpus-per-task", type=_positive,
                        help="sbatch --cpus-per-task: Cycles renders with this many threads")
    parser.add_argument("--mem", help="sbatch --mem, per task (e.g. 8G)")
    if gpus:
        parser.add_argument("--gpus", help="sbatch --gpus, per task; goes with --device gpu")
    parser.add_argument("--sbatch-arg", action="append", default=[], metavar="ARG",
                        help="another sbatch option for the tasks, as --sbatch-arg=--account=NAME (repeatable)")


_SLURM_DESTS = frozenset({"tasks", "frames_per_task", "wait", "partition", "time", "cpus_per_task", "mem", "gpus",
                          "sbatch_arg"})
_TASK_SETS = frozenset({"frames", "overwrite", "resume", "finish", "outputs"})
"""Options the batch scripts set (frames, --resume, the outputs of the tasks and of the finishing job)."""
_PATH_DESTS = frozenset({"blend", "pattern", "output", "camera", "calibration"})


def task_arguments(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """The arguments of ``slurm render|convert`` (``argv``, after the subcommand) for its tasks: without the
    scheduler's options and the ones the batch script sets, paths made absolute."""
    actions = {option: action for action in parser._actions for option in action.option_strings}
    positionals = [action for action in parser._actions if not action.option_strings]
    kept: list[str] = []
    tokens = iter(argv)
    position = 0
    for token in tokens:
        name, inline, value = token.partition("=") if token.startswith("--") else (token, "", "")
        action = actions.get(name)
        if action is None:
            dest = positionals[position].dest if position < len(positionals) else None
            position += 1
            kept.append(os.path.abspath(token) if dest in _PATH_DESTS else token)
            continue
        takes_value = action.nargs != 0
        if takes_value and not inline:
            value = next(tokens)
        if action.dest in _SLURM_DESTS | _TASK_SETS:
            continue
        if action.dest in _PATH_DESTS:
            value = os.path.abspath(value)
        kept += ([f"{name}={value}"] if inline else [name, value]) if takes_value else [name]
    return kept


def _slurm_split(args: argparse.Namespace, argv: list[str]):
    """The :class:`~depth_node.commands.slurm.submit.Slurm` of ``slurm render|convert`` (checked first)."""
    from .slurm import scheduler
    from .slurm.batch import Resources
    from .slurm.submit import Slurm

    scheduler.sbatch()  # no sbatch: one line before anything else
    gpus = getattr(args, "gpus", None)
    if gpus is not None and args.device != "gpu":
        raise JobError("--gpus goes with --device gpu (without it Cycles renders on the CPU)")
    if not args.output.is_absolute():
        log(f"slurm: --output {args.output} is relative: the tasks write to {args.output.absolute()}")
        args.output = args.output.absolute()
    if any(args.output.is_relative_to(local) for local in _NODE_LOCAL):
        log(f"slurm: {args.output} is usually on each node's own disk: the tasks' files stay on their nodes "
            "unless it is shared (give --output on a filesystem every node mounts)")
    parser = build_parser()
    sub = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    slurm = sub.choices["slurm"]
    slurm_sub = next(action for action in slurm._actions if isinstance(action, argparse._SubParsersAction))
    arguments = task_arguments(slurm_sub.choices[args.slurm_command], argv[2:])
    resources = Resources(args.partition, args.time, args.cpus_per_task, args.mem, gpus, tuple(args.sbatch_arg))
    return Slurm(args.slurm_command, tuple(arguments), args.tasks, args.frames_per_task, resources, args.wait,
                 args.overwrite)


_NODE_LOCAL = (Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"))


_SPLIT_OPTIONS = ("--frames", "--jobs", "--outputs")
_SPLIT_FLAGS = ("--resume", "--overwrite")
"""A worker is given the frames to make; what is left of them is replaced (the parent checked everything)."""


def worker_argv(argv: list[str], frames: list[int], kinds: list[str]) -> list[str]:
    """``argv`` for a worker: the same command on ``frames``, writing ``kinds``, in one process."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _SPLIT_OPTIONS:
            skip = True
        elif arg not in _SPLIT_FLAGS and not arg.startswith(tuple(f"{option}=" for option in _SPLIT_OPTIONS)):
            kept.append(arg)
    return kept + ["--frames", ",".join(str(frame) for frame in frames), "--jobs", "1", "--outputs", ",".join(kinds),
                   "--overwrite"]


def run(args: argparse.Namespace, argv: list[str] | None = None) -> int:
    """Call the job of ``args.command`` (Blender's jobs are imported only when needed)."""
    if args.command == "pointcloud":
        from .pointcloud import run_pointcloud

        return run_pointcloud(args.depth, args.camera, args.ply, args.stride, args.world, args.overwrite,
                              args.normals)
    split = None
    if args.command == "slurm":
        if args.slurm_command == "status":
            from .slurm.status import run_status

            return run_status(args.folder)
        split = _slurm_split(args, list(argv or []))
        args.command, args.jobs = args.slurm_command, 1
    from . import base
    from .convert.numpy_engine import has_blender
    from .frame_files import Request

    if args.command != "convert" and not has_blender():
        raise JobError(f"{args.command} renders with Blender: run it through tools/true_depth.sh (or blender -c "
                       "true_depth); without Blender this command runs convert (numpy engine) and pointcloud")
    base.VERBOSE = getattr(args, "verbose", False)
    base.keep_large_buffers()
    request = None
    if args.outputs is not None or args.command != "convert":
        request = Request(outputs.select(args.outputs, args.command, args.flow_format),
                          outputs.Options(args.depth16_scale, args.image_name, args.flow_format))
    if args.command != "convert":
        from ..blender.devices import Device
        from .frames import Calibrated
    if args.command == "example":
        from .example import run_example

        return run_example(args.output, args.resolution, args.lens, args.overwrite, request,
                           Calibrated(args.calibration, args.calibration_camera), args.resume,
                           Device(args.device, args.gpu_backend))
    if args.command == "prepare":
        from .prepare import run_prepare

        return run_prepare(args.blend, args.output, args.render_output, args.frames, args.scene, args.source,
                           args.overwrite, request, args.view_layer, Calibrated(args.calibration,
                                                                                args.calibration_camera))
    if getattr(args, "jobs", 1) > 1:
        from .workers import Split

        split = Split(args.jobs, lambda frames, kinds: worker_argv(list(argv or []), frames, kinds))
    if args.command == "render":
        from .render import run_render

        return run_render(args.blend, args.output, args.frames, args.scene, args.source, args.overwrite,
                          request, split, args.view_layer, Calibrated(args.calibration, args.calibration_camera),
                          args.resume or args.finish is not None, Device(args.device, args.gpu_backend), args.finish)
    from .convert import run_convert
    from .convert.numpy_engine import Source

    if (args.mist_start is not None or args.mist_depth is not None) and not args.mist:
        raise JobError("--mist-start and --mist-depth describe a Mist input: add --mist")
    mist = None
    if args.mist:
        if (args.mist_start is None) != (args.mist_depth is None):
            raise JobError("--mist needs both --mist-start and --mist-depth (or neither, with a .blend camera)")
        if args.mist_depth is not None and not args.mist_depth > 0:
            raise JobError(f"--mist-depth must be positive, got {args.mist_depth}")
        mist = (args.mist_start, args.mist_depth) if args.mist_start is not None else "blend"
    if args.fov_y is not None and args.fov_x is None:
        raise JobError("--fov-y goes with --fov-x")
    source = Source(formats.ReadOptions(args.channel, args.key, args.dataset, args.scale), mist, args.format)
    camera_options = {name: value for name, value in (("fov_x", args.fov_x), ("fov_y", args.fov_y),
                                                      ("ray_matrix", args.ray_matrix),
                                                      ("calibration_camera", args.calibration_camera))
                      if value is not None}
    return run_convert(args.pattern, args.camera, args.scene, args.output, args.to, args.frames, args.overwrite,
                       request, outputs.Options(args.depth16_scale, args.image_name, args.flow_format), split,
                       args.engine, source,
                       camera_options, args.resume or args.finish is not None, args.finish)


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: the arguments after ``--``) and run; returns the exit code."""
    if argv is None:
        argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    try:
        args = build_parser().parse_args(list(argv) or ["example"])
    except _ParserExitError as stop:
        return stop.code
    try:
        return run(args, list(argv))
    except JobError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr, flush=True)
        return 1


def console_main() -> None:
    """The ``true-depth`` command of ``pip install .``: convert (numpy engine) and pointcloud, without Blender."""
    sys.exit(main(sys.argv[1:] or ["--help"]))
