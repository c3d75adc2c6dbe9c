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

EXAMPLE_WALL_DISTANCE = 5.0
EXAMPLE_SCENES = (("wall", False), ("suzanne", True))
PROG = "true_depth"


class CliError(Exception):
    """A failure reported as one line on stderr with exit code 1."""


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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    layout = ("Writes OUT/<scene>/depth_####.exr, distance_####.exr (float32, one channel 'Y'), "
              "preview_####.png and camera_####.json per frame.")

    example = commands.add_parser("example", help="render the built-in example scenes",
                                  description=f"Render a wall and Suzanne in front of it. {layout}")
    example.add_argument("--output", type=Path, default=Path("true_depth_output"), help="output folder")
    example.add_argument("--resolution", type=_resolution, default=(320, 240), help="WIDTHxHEIGHT (320x240)")
    example.add_argument("--lens", type=float, default=35.0, help="focal length in mm (35)")
    example.add_argument("--overwrite", action="store_true", help="replace existing output files")

    render = commands.add_parser("render", help="render true depth for a .blend (the file is not modified)",
                                 description=f"Render a scene of a .blend through the True Depth node. {layout} "
                                             "Works on an in-memory copy: the .blend is never written.")
    render.add_argument("blend", type=Path, help="the .blend file")
    render.add_argument("--output", type=Path, required=True, help="output folder")
    render.add_argument("--frames", type=_frames, help="frames, e.g. 1-250 (default: the scene's range)")
    render.add_argument("--scene", help="scene name (default: the file's active scene)")
    render.add_argument("--source", choices=("aov", "mist"), default="aov",
                        help="distance source: a View Distance AOV added to the materials (default), or the "
                             "Mist pass with linear falloff over the camera's clip range (less precise)")
    render.add_argument("--overwrite", action="store_true", help="replace existing output files")

    convert = commands.add_parser("convert", help="convert an existing distance (or depth) EXR sequence",
                                  description=f"Convert EXRs through the same node graph, without rendering. "
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


def run_pointcloud(args: argparse.Namespace) -> int:
    from . import exr, pointcloud, sidecar

    if args.ply.exists() and not args.overwrite:
        raise CliError(f"{args.ply} exists; pass --overwrite to replace")
    if not args.ply.parent.is_dir():
        raise CliError(f"{args.ply.parent} is not a folder")
    try:
        meta, camera = sidecar.load(args.camera)
    except sidecar.SidecarError as error:
        raise CliError(str(error)) from None
    try:
        depth = exr.read_single_channel(args.depth)
    except exr.ExrError as error:
        raise CliError(str(error)) from None
    except ImportError:
        from .jobs import _read_exr  # inside Blender without OpenEXR: Blender's loader

        depth = _read_exr(args.depth)
    if depth.shape != (camera.height, camera.width):
        raise CliError(f"{args.depth} is {depth.shape[1]}x{depth.shape[0]} but {args.camera} describes "
                       f"{camera.width}x{camera.height}")
    points = pointcloud.depth_to_points(depth, camera.matrix(), camera.projection, args.stride,
                                        max_depth=meta.get("clip_end"))
    if args.world:
        if "camera_to_world_opencv" not in meta:
            raise CliError(f"{args.camera} has no camera_to_world_opencv (needed by --world)")
        points = pointcloud.to_world(points, meta["camera_to_world_opencv"])
    temporary = args.ply.with_name(f".{args.ply.name}.partial")
    try:
        pointcloud.write_ply(temporary, points)
        temporary.replace(args.ply)
    except OSError as error:
        raise CliError(f"cannot write {args.ply}: {error.strerror or error}") from None
    finally:
        temporary.unlink(missing_ok=True)
    print(f"[true-depth] {len(points)} points -> {args.ply}", flush=True)
    return 0


def _open_blend(path: Path, scene_name: str | None):
    import bpy

    if not path.is_file():
        raise CliError(f"{path}: no such file")
    try:
        bpy.ops.wm.open_mainfile(filepath=str(path.resolve()), load_ui=False)
    except RuntimeError as error:
        raise CliError(f"{path}: cannot open ({str(error).strip().splitlines()[-1]})") from None
    if scene_name is None:
        return bpy.context.scene
    if scene_name not in bpy.data.scenes:
        raise CliError(f"{path} has no scene {scene_name!r} (it has {', '.join(bpy.data.scenes.keys())})")
    return bpy.data.scenes[scene_name]


def run_example(args: argparse.Namespace) -> int:
    import bpy
    import numpy as np

    from . import jobs, scenes

    frame = 1
    folders = {name: args.output / name for name, _ in EXAMPLE_SCENES}
    jobs.check_outputs_free(((folder, frame) for folder in folders.values()), args.overwrite)
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    first = bpy.context.scene
    written = 0
    for index, (name, with_suzanne) in enumerate(EXAMPLE_SCENES):
        scene = first if index == 0 else bpy.data.scenes.new(name)
        scene.name = name
        scene.render.resolution_x, scene.render.resolution_y = args.resolution
        scene.render.resolution_percentage = 100
        scenes.setup_cycles(scene)
        scenes.add_camera(scene, f"{name} camera").data.lens = args.lens
        scenes.add_wall(scene, EXAMPLE_WALL_DISTANCE)
        if with_suzanne:
            scenes.add_suzanne(scene)
        scene.frame_start = scene.frame_end = frame
        jobs.log(f"{name}: rendering frame {frame} ({args.resolution[0]}x{args.resolution[1]}, {args.lens:g} mm)")
        (result,) = jobs.render_frames(scene, folders[name], [frame])
        written += len(result.paths)
        if name == "wall":
            flatness = float(np.max(np.abs(result.depth - EXAMPLE_WALL_DISTANCE)) / EXAMPLE_WALL_DISTANCE)
            spread = float((result.distance.max() - result.distance.min()) / result.distance.min())
            jobs.log(f"wall: distance varies {spread:.1%} across the frame; depth is flat to {flatness:.1e} "
                f"(relative) around {EXAMPLE_WALL_DISTANCE}")
        else:
            jobs.log(f"{name}: depth {result.depth.min():.3f} .. {result.depth.max():.3f}")
    jobs.log(f"wrote {written} files under {args.output} (previews: */preview_{frame:04d}.png)")
    return 0


def _run_frames(scene, args: argparse.Namespace, frames: list[int], announce: str, job) -> int:
    """OUT/<scene>/: refuse existing outputs (unless --overwrite), run ``job(folder)``, report."""
    from . import jobs

    folder = args.output / jobs.safe_folder_name(scene.name)
    jobs.check_outputs_free(((folder, frame) for frame in frames), args.overwrite)
    jobs.log(announce)
    results = job(folder)
    jobs.log(f"wrote {4 * len(results)} files under {folder}")
    return 0


def run_render(args: argparse.Namespace) -> int:
    from . import jobs

    scene = _open_blend(args.blend, args.scene)
    frames = args.frames or list(range(scene.frame_start, scene.frame_end + 1))
    return _run_frames(scene, args, frames,
                       f"{args.blend}: scene {scene.name!r}, {len(frames)} frame(s), distance from the {args.source}",
                       lambda folder: jobs.render_frames(scene, folder, frames, args.source))


def run_convert(args: argparse.Namespace) -> int:
    import bpy

    from . import jobs, scenes, sidecar

    inputs = jobs.select_frames(jobs.input_sequence(args.pattern), args.frames)
    if args.camera.suffix.lower() == ".blend":
        scene = _open_blend(args.camera, args.scene)
    else:
        try:
            meta, camera = sidecar.load(args.camera)
        except sidecar.SidecarError as error:
            raise CliError(str(error)) from None
        bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
        scene = bpy.context.scene
        scene.name = str(meta.get("blender", {}).get("scene") or "converted")
        camera_object = scenes.add_camera(scene)
        scenes.apply_camera(scene, camera)
        if "camera_to_world_blender" in meta:
            from mathutils import Matrix

            camera_object.matrix_world = Matrix(meta["camera_to_world_blender"])
        for key in ("clip_start", "clip_end"):
            if key in meta:
                setattr(camera_object.data, key, float(meta[key]))
        scene.unit_settings.scale_length = float(meta.get("unit_scale", 1.0))
    return _run_frames(scene, args, list(inputs),
                       f"converting {len(inputs)} frame(s) of {args.pattern} to {args.to} with the camera of "
                       f"{args.camera}",
                       lambda folder: jobs.convert_frames(scene, folder, inputs, args.to))


COMMANDS = {"example": run_example, "render": run_render, "convert": run_convert, "pointcloud": run_pointcloud}


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: the arguments after ``--``) and run; returns the exit code."""
    if argv is None:
        argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    try:
        args = build_parser().parse_args(list(argv) or ["example"])
    except _ParserExitError as stop:
        return stop.code
    try:
        return COMMANDS[args.command](args)
    except CliError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr, flush=True)
        return 1
