"""How binding and per-frame evaluation scale with the number of marker-bound cameras (a camera array).

Run with a bpy environment's Python (tools/run_tests.sh creates them), e.g.::

    .venvs/bpy-5.0.1-py3.11/bin/python tools/bench_cameras.py [--counts 10 100 300 500]

Prints, per camera count: adding a True Depth node (binding: keys for every switch), a re-bind
check (what the extension's handler does on every depsgraph update), and one frame change with the
node's keyed inputs evaluated. Times are medians of repeats, in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import bpy  # noqa: E402

from depth_node.blender import binding, compat, scenes  # noqa: E402


def build(count: int) -> bpy.types.Scene:
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y = 64, 48
    first = scenes.add_camera(scene)
    for index in range(count):
        camera = first if index == 0 else first.copy()
        if index:
            camera.data = first.data.copy()
            scene.collection.objects.link(camera)
        camera.data.lens = 20.0 + index * 0.1
        scene.timeline_markers.new(f"C{index}", frame=index + 1).camera = camera
    scene.frame_start, scene.frame_end = 1, count
    return scene


def median_ms(action, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def measure(scene: bpy.types.Scene, count: int, repeat: int) -> tuple[float, float, float]:
    """(add a node, one re-bind check, one frame change), median ms."""
    tree = compat.compositor_tree(scene)
    add_ms = median_ms(lambda: binding.add_true_depth_node(scene, tree=tree), repeat)
    node = tree.nodes[-1]
    check_ms = median_ms(lambda: binding.node_problem(node, tree), repeat)
    frames = iter(range(1, 10 * repeat + 1))
    frame_ms = median_ms(lambda: scene.frame_set(next(frames) % count + 1), repeat)
    return add_ms, check_ms, frame_ms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[10, 100, 300, 500])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else None)
    print(f"Blender {bpy.app.version_string}")
    print("| cameras | add node ms | per camera ms | re-bind check ms | frame change ms |")
    print("|---|---|---|---|---|")
    for count in args.counts:
        scene = build(count)
        add_ms, check_ms, frame_ms = measure(scene, count, args.repeat)
        print(f"| {count} | {add_ms:.1f} | {add_ms / count:.3f} | {check_ms:.1f} | {frame_ms:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
