"""Inside Blender: time the compositor with and without the True Depth node, and the numpy path.

Run by tools/bench.py as ``blender -b --python tools/bench_blender.py -- --json OUT ...``; prints
nothing useful itself, writes one JSON object with every measurement.

Variants, each an Image node holding a synthetic distance EXR that feeds File Output:
  a  Image -> Separate Color (R) -> Math (x 1) -> File Output      (baseline: writes a float image too)
  b  Image -> Separate Color (R) -> True Depth -> File Output
  c  numpy: OpenEXR read -> reference.distance_to_depth -> OpenEXR write (ZIP), what a user would run instead

The ``groups`` task times each group of the family (True Depth, True Flow, True Normal) on an RGBA image against
the image written as it is: the group's own per-pixel cost.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import bpy
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from depth_node.blender import compat, scenes  # noqa: E402
from depth_node.blender.binding import add_true_depth_node  # noqa: E402
from depth_node.core import reference  # noqa: E402
from depth_node.core.camera import BlenderCamera  # noqa: E402
from depth_node.core.formats import exr  # noqa: E402

NOISE = 0.01
JOBS = 1
ROUNDS = 3


def synthetic_distance(width: int, height: int) -> np.ndarray:
    """A wall 5 units away seen by a 35 mm camera, plus noise (``--noise``; 0 gives a smooth, compressible image)."""
    K = BlenderCamera.from_settings(lens=35, resolution_x=width, resolution_y=height).matrix()
    noise = np.random.default_rng(0).uniform(0.0, NOISE, (height, width))
    return (5.0 * reference.ray_length(K, (height, width)) + noise).astype(np.float32)


DEVICE = "CPU"
CODEC = "ZIP"
"""The File Output EXRs' compression; NONE leaves the compositor's own cost (the ZIP write of the two variants'
outputs differs with their content: a flat wall's depth compresses ~25 ms cheaper than a distance dome)."""


def bench_scene(name: str, image: bpy.types.Image, size: tuple[int, int]
                ) -> tuple[bpy.types.Scene, bpy.types.NodeTree, bpy.types.Node]:
    """A scene with a 35 mm camera, the compositor on ``DEVICE`` and an Image node holding ``image``."""
    scene = bpy.data.scenes.new(name)
    if DEVICE == "CPU":
        compat.use_cpu_compositor(scene)
    scenes.add_camera(scene, f"{name} camera").data.lens = 35
    scene.render.resolution_x, scene.render.resolution_y = size
    scene.render.resolution_percentage = 100
    scene.render.threads_mode = "AUTO"
    tree = compat.fresh_compositor_tree(scene)
    image_node = tree.nodes.new("CompositorNodeImage")
    image_node.image = image
    return scene, tree, image_node


def build_scene(name: str, variant: str, image: bpy.types.Image, out_dir: Path, size: tuple[int, int]):
    scene, tree, image_node = bench_scene(name, image, size)
    separate = tree.nodes.new("CompositorNodeSeparateColor")
    tree.links.new(image_node.outputs["Image"], separate.inputs[0])
    if variant == "a":
        node = tree.nodes.new("ShaderNodeMath")
        node.operation = "MULTIPLY"
        node.inputs[1].default_value = 1.0
    else:
        node = add_true_depth_node(scene, tree=tree)
    tree.links.new(separate.outputs[0], node.inputs[0])
    output, sockets = compat.new_exr_file_output(tree, str(out_dir / name), ["out_####"])
    output.format.exr_codec = CODEC
    tree.links.new(node.outputs[0], sockets[0])
    return scene


def render_ms(scene: bpy.types.Scene) -> float:
    start = time.perf_counter()
    with bpy.context.temp_override(scene=scene):
        bpy.ops.render.render(write_still=False, scene=scene.name)
    return (time.perf_counter() - start) * 1e3


def numpy_path_ms(source: Path, target: Path, K: np.ndarray) -> dict[str, float]:
    t0 = time.perf_counter()
    distance = exr.read_single_channel(source)
    t1 = time.perf_counter()
    depth = reference.distance_to_depth(distance, K)
    t2 = time.perf_counter()
    exr.write_single_channel(target, depth)
    t3 = time.perf_counter()
    return {"total": (t3 - t0) * 1e3, "read": (t1 - t0) * 1e3, "compute": (t2 - t1) * 1e3, "write": (t3 - t2) * 1e3}


def measure(size: tuple[int, int], repeat: int, work: Path) -> dict:
    width, height = size
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    source = work / f"distance_{width}x{height}.exr"
    distance = synthetic_distance(width, height)
    exr.write_single_channel(source, distance)
    image = bpy.data.images.load(str(source))
    image.colorspace_settings.name = "Non-Color"
    built = {variant: build_scene(f"variant_{variant}", variant, image, work, size) for variant in "ab"}
    K = BlenderCamera.from_settings(lens=35, resolution_x=width, resolution_y=height).matrix()
    times: dict[str, list[float]] = {"a": [], "b": [], "c": []}
    parts: list[dict[str, float]] = []
    for round_index in range(repeat + 1):  # round 0 warms up (image load, kernel compilation)
        for variant in "ab":
            elapsed = render_ms(built[variant])
            if round_index:
                times[variant].append(elapsed)
        numpy_times = numpy_path_ms(source, work / "numpy_depth.exr", K)
        if round_index:
            times["c"].append(numpy_times["total"])
            parts.append(numpy_times)
    node_out = exr.read_single_channel(work / "variant_b" / "out_0001.exr")
    expected = reference.distance_to_depth(distance, K)
    return {
        "size": f"{width}x{height}",
        "megapixels": width * height / 1e6,
        "times_ms": times,
        "numpy_parts_ms": {key: float(np.median([p[key] for p in parts])) for key in parts[0]},
        "node_vs_reference_max_rel": float(np.max(np.abs(node_out.astype(np.float64) - expected) / expected)),
    }


def peak_rss(size: tuple[int, int], variant: str, work: Path) -> dict:
    """Peak resident memory of this process after rendering one variant twice (run one variant per process)."""
    width, height = size
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    source = work / f"distance_{width}x{height}.exr"
    exr.write_single_channel(source, synthetic_distance(width, height))
    image = bpy.data.images.load(str(source))
    image.colorspace_settings.name = "Non-Color"
    scene = build_scene(f"variant_{variant}", variant, image, work, size)
    render_ms(scene)
    render_ms(scene)
    return {"size": f"{width}x{height}", "variant": variant,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def sequence(size: tuple[int, int], frames: int, work: Path) -> dict:
    """frames/s converting a distance EXR sequence: ``convert`` (both engines) vs the numpy loop, interleaved."""
    from depth_node.commands import cli
    from depth_node.core.outputs import sidecar

    width, height = size
    camera = BlenderCamera.from_settings(lens=35, resolution_x=width, resolution_y=height)
    inputs = work / "sequence"
    inputs.mkdir()
    base = synthetic_distance(width, height)
    for frame in range(1, frames + 1):
        exr.write_single_channel(inputs / f"distance_{frame:04d}.exr", base + np.float32(frame * 1e-3))
    camera_json = work / "camera.json"
    camera_json.write_text(json.dumps(sidecar.camera_metadata(camera, np.eye(4), 0.1, 100.0, 1.0)))
    K = camera.matrix()

    def numpy_loop(out: Path) -> None:
        out.mkdir()
        for frame in range(1, frames + 1):
            numpy_path_ms(inputs / f"distance_{frame:04d}.exr", out / f"depth_{frame:04d}.exr", K)

    def convert(engine: str, out: Path) -> None:
        code = cli.main(["convert", str(inputs / "distance_####.exr"), "--camera", str(camera_json),
                         "--output", str(out), "--jobs", str(JOBS), "--engine", engine])
        if code != 0:
            raise SystemExit(f"convert --engine {engine} failed with exit code {code}")

    runs = {"numpy_loop": numpy_loop, "numpy": lambda out: convert("numpy", out),
            "node": lambda out: convert("node", out)}
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for round_index in range(ROUNDS):  # interleaved, so a slow spell of the machine hits every path
        for name, run in runs.items():
            out = work / f"{name}_{round_index}"
            start = time.perf_counter()
            run(out)
            seconds[name].append(time.perf_counter() - start)
            shutil.rmtree(out)
    ratios = {name: [loop / own for loop, own in zip(seconds["numpy_loop"], seconds[name], strict=True)]
              for name in ("numpy", "node")}
    return {"size": f"{width}x{height}", "frames": frames, "jobs": JOBS, "rounds": ROUNDS,
            "numpy_loop_fps": frames / statistics.median(seconds["numpy_loop"]),
            "engine_numpy_fps": frames / statistics.median(seconds["numpy"]),
            "engine_node_fps": frames / statistics.median(seconds["node"]),
            **{f"{name}_ratio_{stat.__name__}": stat(values) for name, values in ratios.items()
               for stat in (statistics.median, min, max)}}


GROUPS = ("baseline", "True Depth", "True Flow", "True Normal")
"""The ``groups`` task's variants: each feeds one RGB File Output slot (``baseline``: the image itself)."""


def group_scene(name: str, image: bpy.types.Image, out_dir: Path, size: tuple[int, int]) -> bpy.types.Scene:
    """Image (RGBA: a pass's x, y, z, w; R doubles as the distance and depth) -> the group ``name`` -> File
    Output; the True Flow and True Normal nodes bound to a camera over frames 1-3."""
    from depth_node.blender.flow.node import add_true_flow_node
    from depth_node.blender.normals.node import add_true_normal_node

    scene, tree, image_node = bench_scene(name, image, size)
    scene.frame_start, scene.frame_end = 1, 3
    scene.frame_set(2)
    colour = image_node.outputs["Image"]
    separate = tree.nodes.new("CompositorNodeSeparateColor")
    tree.links.new(colour, separate.inputs[0])
    if name == "baseline":
        result = colour
    elif name == "True Depth":
        node = add_true_depth_node(scene, tree=tree)
        tree.links.new(separate.outputs[0], node.inputs[0])
        result = node.outputs[0]
    elif name == "True Flow":
        node = add_true_flow_node(scene, tree=tree)
        tree.links.new(colour, node.inputs["Vector"])
        tree.links.new(separate.outputs[0], node.inputs["Depth"])
        node.inputs["Input Exact"].driver_remove("default_value")
        node.inputs["Input Exact"].default_value = 1.0  # the image is no render: let the maths run
        result = node.outputs["Backward"]
    else:
        node = add_true_normal_node(scene, tree=tree)
        tree.links.new(colour, node.inputs["Normal"])
        node.inputs["Input Exact"].driver_remove("default_value")
        node.inputs["Input Exact"].default_value = 1.0
        result = node.outputs["Normal"]
    output, sockets = compat.new_exr_file_output(tree, str(out_dir / name.replace(" ", "_")), ["out_####"],
                                                 rgb=True)
    output.format.exr_codec = CODEC
    tree.links.new(result, sockets[0])
    return scene


def group_costs(size: tuple[int, int], repeat: int, work: Path) -> dict:
    """Compositor milliseconds of each of :data:`GROUPS`, interleaved, after a warm-up round."""
    width, height = size
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    source = work / f"pass_{width}x{height}.exr"
    values = np.random.default_rng(1).uniform(0.5, 5.0, (height, width, 4)).astype(np.float32)
    exr.write_channels(source, dict(zip("RGBA", np.moveaxis(values, -1, 0), strict=True)))
    image = bpy.data.images.load(str(source))
    image.colorspace_settings.name = "Non-Color"
    built = {name: group_scene(name, image, work, size) for name in GROUPS}
    times: dict[str, list[float]] = {name: [] for name in GROUPS}
    for round_index in range(repeat + 1):
        for name in GROUPS:
            elapsed = render_ms(built[name])
            if round_index:
                times[name].append(elapsed)
    return {"size": f"{width}x{height}", "megapixels": width * height / 1e6, "times_ms": times}


def main() -> None:
    global DEVICE, NOISE, JOBS, ROUNDS, CODEC
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--task", choices=("time", "memory", "sequence", "groups"), required=True)
    parser.add_argument("--size", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--variant", choices=("a", "b"), default="a")
    parser.add_argument("--frames", type=int, default=50)
    parser.add_argument("--compositor-device", choices=("CPU", "default"), default="CPU")
    parser.add_argument("--noise", type=float, default=NOISE)
    parser.add_argument("--codec", choices=("ZIP", "NONE"), default=CODEC)
    parser.add_argument("--malloc", choices=("cli", "default"), default="cli",
                        help="cli: the allocator settings the CLI's jobs use (commands.base.keep_large_buffers)")
    parser.add_argument("--jobs", type=int, default=JOBS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args(sys.argv[sys.argv.index("--") + 1:])
    JOBS, ROUNDS = args.jobs, args.rounds
    DEVICE, NOISE, CODEC = args.compositor_device, args.noise, args.codec
    if args.malloc == "cli":
        from depth_node.commands.base import keep_large_buffers

        keep_large_buffers()
    size = tuple(int(part) for part in args.size.split("x"))
    with tempfile.TemporaryDirectory(prefix="true-depth-bench-") as work:
        if args.task == "time":
            result = measure(size, args.repeat, Path(work))
        elif args.task == "groups":
            result = group_costs(size, args.repeat, Path(work))
        elif args.task == "memory":
            result = peak_rss(size, args.variant, Path(work))
        else:
            result = sequence(size, args.frames, Path(work))
    result["blender"] = bpy.app.version_string
    result["compositor_device"] = args.compositor_device
    args.json.write_text(json.dumps(result))


main()
