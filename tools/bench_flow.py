"""True Flow's cost: whole processes on the RGB-D benchmark's scene, interleaved rounds, median ratios.

    tools/bench_flow.py [--versions 4.5 5.0 5.1 5.2 5.3] [--rounds 3] [--frames 6] [--size 480x270] [--samples 16]

The scene is tools/bench_rgbd.py's (36 subdivided monkeys on a floor, a sun, a camera moving past them, Cycles
at ``--samples``). Per round it times:

  plain       blender -b FILE -a (the beauty as the file renders it)
  depth       true_depth render --outputs depth,camera
  depth-flow  true_depth render --outputs depth,flow,camera
  rgbd-flow   true_depth render --outputs rgb,depth,flow,camera (the beauty, then the 1-sample data pass)

and prints a Markdown table of the median seconds and the ratios rgbd-flow / plain and depth-flow / depth
(the issue's targets: at most 1.25 and 1.4).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_rgbd import build_scene, environment, timed  # noqa: E402  (the same scene and timing)


def measure(series: str, args: argparse.Namespace) -> dict[str, float]:
    venv = environment(series)
    blender, python = str(venv / "bin" / "blender"), str(venv / "bin" / "python")
    with tempfile.TemporaryDirectory(prefix="true-depth-bench-flow-") as temp:
        folder = Path(temp)
        blend = build_scene(blender, folder / "scene.blend", args)
        cli = [python, "-m", "depth_node", "render", str(blend), "--output", "{out}", "--outputs"]
        commands = {
            "plain": [blender, "-b", str(blend), "-a"],
            "depth": cli + ["depth,camera"],
            "depth-flow": cli + ["depth,flow,camera"],
            "rgbd-flow": cli + ["rgb,depth,flow,camera"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for round_index in range(args.rounds):
            for name, command in commands.items():
                out = folder / f"out-{name}-{round_index}"
                times[name].append(timed([part.replace("{out}", str(out)) for part in command]))
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", nargs="+", default=["4.5", "5.0", "5.1", "5.2", "5.3"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--size", default="480x270")
    parser.add_argument("--samples", type=int, default=16)
    args = parser.parse_args()
    os.environ.pop("PYTHONPATH", None)
    print(f"{args.frames} frames at {args.size}, {args.samples} samples, median of {args.rounds} interleaved rounds "
          "(whole processes, seconds)\n")
    print("| Blender | plain -a | depth | depth,flow | rgb,depth,flow | rgb,depth,flow / plain | depth,flow / depth |")
    print("|---|---|---|---|---|---|---|")
    for series in args.versions:
        t = measure(series, args)
        print(f"| {series} | {t['plain']:.1f} | {t['depth']:.1f} | {t['depth-flow']:.1f} | {t['rgbd-flow']:.1f} | "
              f"{t['rgbd-flow'] / t['plain']:.2f} | {t['depth-flow'] / t['depth']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
