"""RGB-D figures: whole processes on a static scene with a moving camera, interleaved rounds, median ratios.

    tools/bench_rgbd.py [--versions 4.5 5.0 5.2 5.3] [--rounds 3] [--frames 6] [--size 480x270] [--samples 32]
                        [--before REV]

For each Blender (the cached environments of tools/blender_env.sh) it builds one scene (a grid of subdivided
monkeys on a floor, a sun, a camera moving past them; Cycles with ``--samples`` and adaptive sampling off)
and times, per round, these whole processes:

  floor       the hand-tuned depth-only Cycles set-up: 1 sample, no bounces, persistent data, Z pass only,
              nothing written (bpy.ops.render.render per frame)
  depth       true_depth render --outputs depth,camera
  plain       blender -b FILE -a (the beauty as the file renders it)
  rgbd        true_depth render --outputs rgb,depth,camera (one render: no depth of field)
  plain-dof   blender -b FILE -a with depth of field on
  rgbd-dof    true_depth render --outputs rgb,depth,camera with depth of field (beauty pass + depth pass)

and prints a Markdown table of the median seconds and the ratios depth/floor, rgbd/plain, rgbd-dof/plain-dof.
With ``--before REV`` the depth job of that commit (a git worktree) is timed too, in the same rounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

BUILD = """
import sys, bpy, math
bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
scene = bpy.context.scene
scene.name = "bench"
scene.render.engine = "CYCLES"
scene.cycles.device = "CPU"
scene.cycles.samples = {samples}
scene.cycles.use_adaptive_sampling = False
scene.cycles.use_denoising = False
scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = {width}, {height}, 100
scene.render.image_settings.file_format = "PNG"
scene.render.filepath = "//plain/rgb_####"
for index in range(36):
    bpy.ops.mesh.primitive_monkey_add(size=0.8, location=((index % 6) * 1.2 - 3.0, (index // 6) * 1.2 - 3.0, 0.4))
    modifier = bpy.context.object.modifiers.new("Subdivision", "SUBSURF")
    modifier.levels = modifier.render_levels = 2
bpy.ops.mesh.primitive_plane_add(size=20.0)
sun = bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN"))
sun.rotation_euler = (0.6, 0.2, 0.3)
scene.collection.objects.link(sun)
camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
scene.collection.objects.link(camera)
scene.camera = camera
camera.rotation_euler = (math.radians(55), 0.0, 0.0)
camera.data.dof.use_dof = {dof}
camera.data.dof.focus_distance, camera.data.dof.aperture_fstop = 7.0, 1.4
for frame, x in ((1, -2.0), ({frames}, 2.0)):
    camera.location = (x, -8.0, 5.0)
    camera.keyframe_insert("location", frame=frame)
scene.frame_start, scene.frame_end = 1, {frames}
bpy.ops.wm.save_as_mainfile(filepath=sys.argv[-1])
"""

FLOOR = """
import bpy
scene = bpy.context.scene
scene.cycles.samples = 1
scene.cycles.max_bounces = 0
scene.render.use_persistent_data = True
scene.view_layers[0].use_pass_z = True
scene.render.use_compositing = False
for frame in range(scene.frame_start, scene.frame_end + 1):
    scene.frame_set(frame)
    bpy.ops.render.render(write_still=False)
"""


def environment(series: str) -> Path:
    command = f'source "{REPO}/tools/blender_env.sh" && td_ensure_bpy_venv {series}'
    return Path(subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=True).stdout.strip())


def timed(command: list[str], cwd: Path = REPO) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return elapsed


def build_scene(blender: str, path: Path, args: argparse.Namespace, dof: bool = False) -> Path:
    """The benchmark scene saved at ``path`` (``args``: size, samples, frames)."""
    width, height = (int(part) for part in args.size.split("x"))
    code = BUILD.format(samples=args.samples, width=width, height=height, frames=args.frames, dof=dof)
    subprocess.run([blender, "-b", "--python-expr", code, "--", str(path)], check=True, capture_output=True)
    return path


def measure(series: str, args: argparse.Namespace) -> dict[str, float]:
    venv = environment(series)
    blender, python = str(venv / "bin" / "blender"), str(venv / "bin" / "python")
    with tempfile.TemporaryDirectory(prefix="true-depth-bench-rgbd-") as temp:
        folder = Path(temp)
        blends = {dof: build_scene(blender, folder / ("dof.blend" if dof else "scene.blend"), args, dof)
                  for dof in (False, True)}
        cli = [python, "-m", "depth_node", "render"]
        before = []
        if args.before:
            worktree = folder / "before"
            subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(worktree), args.before],
                           check=True, capture_output=True)
            before = [python, "-c", f"import sys; sys.path.insert(0, {str(worktree)!r}); "
                                    "from depth_node.commands.cli import main; sys.exit(main(sys.argv[1:]))", "render"]
        commands = {
            "floor": [blender, "-b", str(blends[False]), "--python-expr", FLOOR],
            "depth": cli + [str(blends[False]), "--output", "{out}", "--outputs", "depth,camera"],
            **({"depth-before": before + [str(blends[False]), "--output", "{out}", "--outputs", "depth,camera"]}
               if before else {}),
            "plain": [blender, "-b", str(blends[False]), "-a"],
            "rgbd": cli + [str(blends[False]), "--output", "{out}", "--outputs", "rgb,depth,camera"],
            "plain-dof": [blender, "-b", str(blends[True]), "-a"],
            "rgbd-dof": cli + [str(blends[True]), "--output", "{out}", "--outputs", "rgb,depth,camera"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for round_index in range(args.rounds):
            for name, command in commands.items():
                out = folder / f"out-{name}-{round_index}"
                times[name].append(timed([part.replace("{out}", str(out)) for part in command]))
        if args.before:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(folder / "before")],
                           check=True, capture_output=True)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", nargs="+", default=["4.5", "5.0", "5.2", "5.3"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--size", default="480x270")
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--before", help="also time the depth job of this commit (e.g. the previous release)")
    args = parser.parse_args()
    os.environ.pop("PYTHONPATH", None)
    print(f"{args.frames} frames at {args.size}, {args.samples} samples, median of {args.rounds} interleaved rounds "
          "(whole processes, seconds)\n")
    before = f" depth ({args.before}) / floor |" if args.before else ""
    print(f"| Blender | floor | depth | depth / floor |{before} plain -a | rgbd | rgbd / plain | plain -a (DoF) "
          "| rgbd (DoF) | rgbd / plain (DoF) |")
    print("|---|---|---|---|" + "---|" * bool(args.before) + "---|---|---|---|---|---|")
    for series in args.versions:
        t = measure(series, args)
        was = f" {t['depth-before'] / t['floor']:.2f} |" if args.before else ""
        print(f"| {series} | {t['floor']:.1f} | {t['depth']:.1f} | {t['depth'] / t['floor']:.2f} |{was} "
              f"{t['plain']:.1f} | {t['rgbd']:.1f} | {t['rgbd'] / t['plain']:.2f} | {t['plain-dof']:.1f} "
              f"| {t['rgbd-dof']:.1f} | {t['rgbd-dof'] / t['plain-dof']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
