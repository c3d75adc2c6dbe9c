"""Command line of True Depth (Blender-facing). Run it through ``tools/true_depth.sh``.

Subcommands so far: ``example`` renders the built-in example (a wall, and
Suzanne in front of the wall) through the True Depth node and Blender's native
File Output node. Exit codes: 0 ok, 1 failed, 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import bpy
import numpy as np

from . import compat, scenes
from .camera import intrinsics
from .graph import add_true_depth_node

EXAMPLE_WALL_DISTANCE = 5.0
EXAMPLE_SCENES = (("wall", False), ("suzanne", True))
OUTPUT_STEMS = ("depth", "distance")
# Blender cameras look down -Z with +Y up; OpenCV cameras look down +Z with +Y down.
BLENDER_TO_OPENCV_CAMERA = np.diag([1.0, -1.0, -1.0, 1.0])


class CliError(Exception):
    """A failure reported as one line on stderr with exit code 1."""


def _parse_resolution(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None
    if width < 1 or height < 1:
        raise argparse.ArgumentTypeError(f"resolution must be positive, got {text!r}")
    return width, height


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="true_depth", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    example = commands.add_parser("example", help="render the built-in example scenes",
                                  description="Render a wall and Suzanne in front of it; write depth and "
                                              "distance EXRs and a camera JSON per scene and frame.")
    example.add_argument("--output", type=Path, default=Path("true_depth_output"), help="output folder")
    example.add_argument("--resolution", type=_parse_resolution, default=(320, 240), help="WIDTHxHEIGHT")
    example.add_argument("--lens", type=float, default=35.0, help="focal length in mm")
    example.add_argument("--overwrite", action="store_true", help="replace existing output files")
    return parser


def camera_metadata(scene: bpy.types.Scene) -> dict:
    """The camera JSON sidecar: K (OpenCV convention), size, poses, clip range, units."""
    K, (width, height) = intrinsics(scene)
    camera = scene.camera
    to_world = np.array(camera.matrix_world, dtype=np.float64)
    return {
        "K": K.tolist(),
        "width": width,
        "height": height,
        "camera_to_world_blender": to_world.tolist(),
        "camera_to_world_opencv": (to_world @ BLENDER_TO_OPENCV_CAMERA).tolist(),
        "clip_start": camera.data.clip_start,
        "clip_end": camera.data.clip_end,
        "unit_scale": scene.unit_settings.scale_length,
        "depth_unit": "Blender units along the camera's view axis (planar depth)",
        "blender": {
            "version": bpy.app.version_string,
            "camera": camera.name,
            "lens": camera.data.lens,
            "sensor_width": camera.data.sensor_width,
            "sensor_height": camera.data.sensor_height,
            "sensor_fit": camera.data.sensor_fit,
            "shift_x": camera.data.shift_x,
            "shift_y": camera.data.shift_y,
            "pixel_aspect_x": scene.render.pixel_aspect_x,
            "pixel_aspect_y": scene.render.pixel_aspect_y,
            "resolution_percentage": scene.render.resolution_percentage,
        },
    }


def _output_paths(folder: Path, frame: int) -> list[Path]:
    return [folder / f"{stem}_{frame:04d}.exr" for stem in OUTPUT_STEMS] + [folder / f"camera_{frame:04d}.json"]


def _wire_outputs(scene: bpy.types.Scene, folder: Path) -> None:
    """Render Layers (distance AOV) -> True Depth -> File Output (depth and distance EXRs)."""
    tree = compat.compositor_tree(scene)
    layers = tree.nodes.new("CompositorNodeRLayers")
    layers.scene = scene
    true_depth = add_true_depth_node(scene, location=(300.0, 0.0))
    tree.links.new(layers.outputs[scenes.DISTANCE_AOV], true_depth.inputs["Distance"])
    output, sockets = compat.new_exr_file_output(tree, str(folder), [f"{stem}_####" for stem in OUTPUT_STEMS])
    output.location = (600.0, 0.0)
    tree.links.new(true_depth.outputs["Depth"], sockets[0])
    tree.links.new(layers.outputs[scenes.DISTANCE_AOV], sockets[1])


def _read_exr(path: Path) -> np.ndarray:
    """Read a written EXR back: with OpenEXR where installed, else with Blender's image loader."""
    try:
        from .exr import read_single_channel

        return read_single_channel(path)
    except ImportError:
        image = bpy.data.images.load(str(path), check_existing=False)
        try:
            width, height = image.size
            pixels = np.empty(width * height * 4, dtype=np.float32)
            image.pixels.foreach_get(pixels)
            return pixels.reshape(height, width, 4)[::-1, :, 0].copy()
        finally:
            bpy.data.images.remove(image)


def run_example(args: argparse.Namespace) -> int:
    frame = 1
    planned = {name: args.output / name for name, _ in EXAMPLE_SCENES}
    existing = [path for folder in planned.values() for path in _output_paths(folder, frame) if path.exists()]
    if existing and not args.overwrite:
        raise CliError(f"{existing[0]} exists (and {len(existing) - 1} more); pass --overwrite to replace")
    if args.output.exists() and not args.output.is_dir():
        raise CliError(f"--output {args.output} exists and is not a folder")

    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    first = bpy.context.scene
    written: list[Path] = []
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
        scenes.enable_depth_passes(scene)
        folder = planned[name]
        folder.mkdir(parents=True, exist_ok=True)
        _wire_outputs(scene, folder.resolve())
        scene.frame_set(frame)
        print(f"[true-depth] {name}: rendering frame {frame} ({args.resolution[0]}x{args.resolution[1]})", flush=True)
        with bpy.context.temp_override(scene=scene):
            bpy.ops.render.render(scene=scene.name)
        depth_path, distance_path, camera_path = _output_paths(folder, frame)
        camera_path.write_text(json.dumps(camera_metadata(scene), indent=2) + "\n")
        for path in (depth_path, distance_path, camera_path):
            if not path.is_file():
                raise CliError(f"{path} was not written")
            written.append(path)
        depth, distance = _read_exr(depth_path), _read_exr(distance_path)
        if name == "wall":
            flatness = float(np.max(np.abs(depth - EXAMPLE_WALL_DISTANCE)) / EXAMPLE_WALL_DISTANCE)
            spread = float((distance.max() - distance.min()) / distance.min())
            print(f"[true-depth] wall: distance varies {spread:.1%} across the frame; depth is flat to "
                  f"{flatness:.1e} (relative) around {EXAMPLE_WALL_DISTANCE}", flush=True)
        else:
            print(f"[true-depth] {name}: depth {depth.min():.3f} .. {depth.max():.3f}", flush=True)
    print(f"[true-depth] wrote {len(written)} files under {args.output}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: the arguments after ``--``) and run; returns the exit code."""
    if argv is None:
        argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    args = build_parser().parse_args(argv or ["example"])
    try:
        return run_example(args)
    except CliError as error:
        print(f"true_depth: error: {error}", file=sys.stderr, flush=True)
        return 1
