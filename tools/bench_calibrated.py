"""Inside Blender: the cost of a calibrated camera's True Depth group (its ray map) against the pinhole group.

    .venvs/bpy-5.0.1-py3.11/bin/blender -b --python tools/bench_calibrated.py -- OUT_DIR

Compositor only, a 1080p distance image, File Output uncompressed (the node's own cost), min ms of 7 renders
after a warm-up, interleaved; also how long the ray map (each pixel's exact ray, float64 Newton) takes.
"""

import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import bpy  # noqa: E402
import numpy as np  # noqa: E402

from depth_node.blender import calibrated, compat, scenes  # noqa: E402
from depth_node.blender.binding import add_true_depth_node  # noqa: E402
from depth_node.commands.base import keep_large_buffers  # noqa: E402
from depth_node.core import reference  # noqa: E402
from depth_node.core.calibration import Calibration  # noqa: E402
from depth_node.core.camera import BlenderCamera  # noqa: E402
from depth_node.core.formats import exr  # noqa: E402
from depth_node.core.modes import DISTANCE_TO_DEPTH  # noqa: E402

keep_large_buffers()  # as the CLI's jobs
W, H = 1920, 1080
work = Path(sys.argv[-1]) if "--" in sys.argv else Path(tempfile.mkdtemp(prefix="true-depth-bench-calibrated-"))
work.mkdir(parents=True, exist_ok=True)
bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
K = BlenderCamera.from_settings(lens=35, resolution_x=W, resolution_y=H).matrix()
SOURCE = work / "distance.exr"
exr.write_single_channel(SOURCE, (5.0 * reference.ray_length(K, (H, W))).astype(np.float32))
IMAGE = bpy.data.images.load(str(SOURCE))
IMAGE.colorspace_settings.name = "Non-Color"
CALIBRATION = Calibration(W, H, 1400.0, 1400.0, 959.5, 539.5, "radtan", (-0.3, 0.1, 0.001, -0.001, -0.02))


def build(variant: str) -> bpy.types.Scene:
    """Image -> Separate Color (R) -> Math x1 | pinhole True Depth | calibrated True Depth -> File Output."""
    scene = bpy.data.scenes.new(variant)
    compat.use_cpu_compositor(scene)
    scenes.add_camera(scene, f"{variant} camera").data.lens = 35
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = W, H, 100
    tree = compat.fresh_compositor_tree(scene)
    image = tree.nodes.new("CompositorNodeImage")
    image.image = IMAGE
    separate = tree.nodes.new("CompositorNodeSeparateColor")
    tree.links.new(image.outputs[0], separate.inputs[0])
    if variant == "math":
        node = tree.nodes.new("ShaderNodeMath")
        node.operation = "MULTIPLY"
        node.inputs[1].default_value = 1.0
    elif variant == "pinhole":
        node = add_true_depth_node(scene, tree=tree)
    else:
        node = tree.nodes.new(compat.GROUP_NODE_IDNAME)
        node.node_tree = calibrated.ensure_group(CALIBRATION, DISTANCE_TO_DEPTH, variant)
        node.inputs[calibrated.FRAME_CHECK].default_value = 1.0  # what the binding's driver gives at this size
    tree.links.new(separate.outputs[0], node.inputs[0])
    output, sockets = compat.new_exr_file_output(tree, str(work / variant), ["out_####"])
    output.format.exr_codec = "NONE"
    tree.links.new(node.outputs[0], sockets[0])
    return scene


def main() -> None:
    start = time.perf_counter()
    CALIBRATION.pixel_rays()
    rays_seconds = time.perf_counter() - start
    built = {variant: build(variant) for variant in ("math", "pinhole", "calibrated")}
    times: dict[str, list[float]] = {variant: [] for variant in built}
    for round_index in range(8):
        for variant, scene in built.items():
            start = time.perf_counter()
            with bpy.context.temp_override(scene=scene):
                bpy.ops.render.render(write_still=False, scene=scene.name)
            if round_index:  # round 0 warms up
                times[variant].append((time.perf_counter() - start) * 1e3)
    best = {variant: min(values) for variant, values in times.items()}
    print(f"| {bpy.app.version_string} | {rays_seconds:.2f} | {best['math']:.1f} "
          f"| {best['pinhole'] - best['math']:.1f} | {best['calibrated'] - best['math']:.1f} |")


main()
