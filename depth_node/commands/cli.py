"""True Depth's command line: ``example``, ``render``, ``convert`` and ``pointcloud``.

Runs inside Blender (``tools/true_depth.sh``, ``blender -c true_depth ...`` once
the extension is installed, or ``python -m depth_node`` next to the bpy wheel).
``pointcloud`` needs only numpy (and OpenEXR or Blender to read the EXR).
Exit codes: 0 ok, 1 failed, 2 bad usage. Errors are one line on stderr;
existing outputs are never replaced without ``--overwrite``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core import outputs
from .base import ENGINES, SOURCES, JobError

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


def _view_layer_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--view-layer", help="the view layer whose depth is written (default: the only one "
                                             "rendered; several rendered layers need this choice)")


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
    example.add_argument("--overwrite", action="store_true", help="replace existing output files")
    _calibration_options(example)
    _output_options(example, "example")

    render = commands.add_parser("render", help="render true depth for a .blend (the file is not modified)",
                                 description=f"Render a scene of a .blend through the True Depth node. {layout} "
                                             "Works on an in-memory copy: the .blend is never written.")
    render.add_argument("blend", type=Path, help="the .blend file")
    render.add_argument("--output", type=Path, required=True, help="output folder")
    render.add_argument("--frames", type=_frames, help="frames, e.g. 1-250 (default: the scene's range)")
    render.add_argument("--scene", help="scene name (default: the file's active scene)")
    render.add_argument("--source", choices=SOURCES, default=SOURCES[0],
                        help="z (default): Cycles' Z pass is the depth (first surface at or above the alpha "
                             "threshold), distance comes from the True Depth Inverse node; aov: a View Distance "
                             "AOV added to the materials; mist: the Mist pass with linear falloff over the "
                             "camera's clip range. aov and mist add up through transparent surfaces")
    render.add_argument("--overwrite", action="store_true", help="replace existing output files")
    _view_layer_option(render)
    _calibration_options(render)
    _output_options(render, "render")
    render.add_argument("--jobs", type=_positive, default=1, help="worker processes splitting the frames (1)")

    convert = commands.add_parser("convert", help="convert an existing distance (or depth) EXR sequence",
                                  description=f"Convert EXRs with the node's maths, without rendering. "
                                              f"{layout} Frame numbers come from the file names.")
    convert.add_argument("pattern", help="input files: distance_####.exr, distance_%%04d.exr or a glob")
    convert.add_argument("--camera", type=Path, required=True,
                         help="camera JSON (as written by this tool, or any JSON with K, width, height) or a "
                              ".blend whose scene camera (animation and markers included) is used")
    convert.add_argument("--scene", help="scene name in the .blend (default: the active scene)")
    convert.add_argument("--output", type=Path, required=True, help="output folder")
    convert.add_argument("--to", choices=("depth", "distance"), default="depth",
                         help="depth: the inputs are distances (default); distance: the inputs are depths")
    convert.add_argument("--frames", type=_frames, help="only these frames (all of them must exist)")
    convert.add_argument("--overwrite", action="store_true", help="replace existing output files")
    _output_options(convert, "convert")
    convert.add_argument("--engine", choices=ENGINES, default=ENGINES[0],
                         help="numpy (default): the reference maths, a frame per core at a time (about 2x the "
                              "frames/s of a plain numpy loop on 2 cores); node: every frame through the True Depth "
                              "node in Blender's compositor, written by its File Output node")
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
    cloud.add_argument("--overwrite", action="store_true", help="replace an existing .ply")
    return parser


_SPLIT_OPTIONS = ("--frames", "--jobs", "--outputs")


def worker_argv(argv: list[str], frames: list[int], kinds: list[str]) -> list[str]:
    """``argv`` for a worker: the same command on ``frames``, writing ``kinds``, in one process."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _SPLIT_OPTIONS:
            skip = True
        elif not arg.startswith(tuple(f"{option}=" for option in _SPLIT_OPTIONS)):
            kept.append(arg)
    return kept + ["--frames", ",".join(str(frame) for frame in frames), "--jobs", "1", "--outputs", ",".join(kinds)]


def run(args: argparse.Namespace, argv: list[str] | None = None) -> int:
    """Call the job of ``args.command`` (Blender's jobs are imported only when needed)."""
    if args.command == "pointcloud":
        from .pointcloud import run_pointcloud

        return run_pointcloud(args.depth, args.camera, args.ply, args.stride, args.world, args.overwrite)
    from . import base
    from .frames import Calibrated, Request

    base.VERBOSE = getattr(args, "verbose", False)
    base.keep_large_buffers()
    request = None
    if args.outputs is not None or args.command != "convert":
        request = Request(outputs.select(args.outputs, args.command),
                          outputs.Options(args.depth16_scale, args.image_name))
    if args.command == "example":
        from .example import run_example

        return run_example(args.output, args.resolution, args.lens, args.overwrite, request,
                           Calibrated(args.calibration, args.calibration_camera))
    if args.command == "prepare":
        from .prepare import run_prepare

        return run_prepare(args.blend, args.output, args.render_output, args.frames, args.scene, args.source,
                           args.overwrite, request, args.view_layer, Calibrated(args.calibration,
                                                                                args.calibration_camera))
    split = None
    if getattr(args, "jobs", 1) > 1:
        from .workers import Split

        split = Split(args.jobs, lambda frames, kinds: worker_argv(list(argv or []), frames, kinds))
    if args.command == "render":
        from .render import run_render

        return run_render(args.blend, args.output, args.frames, args.scene, args.source, args.overwrite,
                          request, split, args.view_layer, Calibrated(args.calibration, args.calibration_camera))
    from .convert import run_convert

    return run_convert(args.pattern, args.camera, args.scene, args.output, args.to, args.frames, args.overwrite,
                       request, outputs.Options(args.depth16_scale, args.image_name), split, args.engine)


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
