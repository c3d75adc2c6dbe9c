"""SLURM figures: a job array against one local render of the same frames, on the same machine, same run.

    tools/bench_slurm.py [--version 5.0] [--frames 24] [--size 160x120] [--samples 48] [--rounds 2]

Starts a throw-away one-node SLURM cluster (tools/slurm_cluster.py, Debian's packages), builds one animated
Cycles scene (tests/slurm/make_scene.py) and times, per round, whole commands of tools/true_depth.sh:

  local       render --outputs rgb,depth,camera: one Blender, Cycles on every core
  array-T     slurm render ... --tasks T --cpus-per-task 1 --wait (T = cores, and the default frames per task)

and the per-task start-up: ``render --help`` (the launcher and Blender starting), ``render --frames 1
--outputs camera`` (plus opening the file and setting up the job, no pixel rendered) and one frame with depth
(plus building the graph and one depth frame). Prints a Markdown table of median seconds and ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
sys.path.insert(0, str(REPO))

import slurm_cluster  # noqa: E402

TOOL = REPO / "tools" / "true_depth.sh"
OUTPUTS = "rgb,depth,camera"


def timed(args: list[str], environment: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run([str(TOOL), *args], capture_output=True, text=True, env=environment,
                            stdin=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    if result.returncode not in (0,):
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return seconds, result.stdout


def bpy_python(version: str) -> str:
    found = subprocess.run(["bash", "-c", f"source {REPO}/tools/blender_env.sh && td_ensure_bpy_venv {version}"],
                           capture_output=True, text=True, check=True).stdout.strip()
    return f"{found}/bin/python"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", default="5.0")
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--size", default="160x120")
    parser.add_argument("--samples", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    width, height = (int(part) for part in args.size.split("x"))
    cores = os.cpu_count() or 1
    from depth_node.commands.slurm.batch import DEFAULT_FRAMES_PER_TASK  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="true-depth-bench-slurm-") as work:
        work_path = Path(work)
        scene = work_path / "bench.blend"
        subprocess.run([bpy_python(args.version), str(REPO / "tests" / "slurm" / "make_scene.py"), str(scene),
                        str(args.frames), str(width), str(height), str(args.samples), "0"], check=True,
                       capture_output=True)
        environment = {**os.environ, "TRUE_DEPTH_BLENDER": args.version,
                       **slurm_cluster.start(work_path / "cluster", cores)}
        default_tasks = -(-args.frames // DEFAULT_FRAMES_PER_TASK)
        variants = {"local": lambda out: ["render", str(scene), "--output", out, "--outputs", OUTPUTS],
                    f"array-{cores}": lambda out: ["slurm", "render", str(scene), "--output", out, "--outputs",
                                                   OUTPUTS, "--tasks", str(cores), "--cpus-per-task", "1", "--wait"],
                    f"array-{default_tasks} (default)": lambda out: [
                        "slurm", "render", str(scene), "--output", out, "--outputs", OUTPUTS, "--cpus-per-task", "1",
                        "--wait"]}
        startup = {"Blender start (render --help)": ["render", "--help"],
                   "+ file and job set-up (1 frame, camera only)": ["render", str(scene), "--frames", "1",
                                                                   "--outputs", "camera", "--output"],
                   "+ graph and one depth frame": ["render", str(scene), "--frames", "1", "--outputs", "depth",
                                                   "--output"]}
        times: dict[str, list[float]] = {name: [] for name in [*variants, *startup]}
        try:
            for round_index in range(args.rounds):
                for name, command in variants.items():
                    out = str(work_path / f"{round_index}-{len(times[name])}-{name.split()[0]}")
                    times[name].append(timed(command(out), environment)[0])
                for name, command in startup.items():
                    if command[-1] == "--output":
                        command = [*command, str(work_path / f"s{round_index}-{len(times[name])}")]
                    times[name].append(timed(command, environment)[0])
        finally:
            slurm_cluster.stop(work_path / "cluster")
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"Blender {args.version}, {args.frames} frames {args.size} at {args.samples} samples, outputs {OUTPUTS}, "
          f"{cores} cores, {args.rounds} rounds (median seconds)\n")
    print("| command | seconds | / local |\n|---|---|---|")
    for name in variants:
        print(f"| {name} | {median[name]:.2f} | {median[name] / median['local']:.2f} |")
    print("\n| a task's start-up: whole commands, each doing more | seconds |\n|---|---|")
    for name in startup:
        print(f"| {name} | {median[name]:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
