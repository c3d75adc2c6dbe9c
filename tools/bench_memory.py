"""Memory over long jobs: peak RSS of whole processes for 10 and 200 frames (it must stay flat).

    tools/bench_memory.py [--versions 4.5 5.0 5.2 5.3] [--counts 10 200] [--size 320x240]

For each Blender (the cached environments of tools/blender_env.sh) it builds one scene (the RGB-D bench's grid
of monkeys, a camera moving over COUNT frames), then measures, for each count, the peak resident memory
(``wait4``'s ru_maxrss of that process alone) and the seconds of:

  render        true_depth render --outputs depth,distance,camera,colmap
  convert       true_depth convert (numpy engine) of COUNT distance EXRs with the camera JSON
  convert-node  the same with --engine node

and prints a Markdown table (MB at each count, and the growth per 100 frames).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench_rgbd import BUILD, environment

REPO = Path(__file__).resolve().parents[1]


def peak(command: list[str]) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of ``command`` run to its end (an error stops the bench)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{process.stderr.read().decode()[-2000:]}")
    return usage.ru_maxrss / 1024.0, seconds


def measure(series: str, counts: list[int], size: tuple[int, int]) -> dict[str, dict[int, tuple[float, float]]]:
    venv = environment(series)
    blender, python = str(venv / "bin" / "blender"), str(venv / "bin" / "python")
    cli = [python, "-m", "depth_node"]
    results: dict[str, dict[int, tuple[float, float]]] = {"render": {}, "convert": {}, "convert-node": {}}
    with tempfile.TemporaryDirectory(prefix="true-depth-bench-memory-") as temp:
        folder = Path(temp)
        blend = folder / "scene.blend"
        code = BUILD.format(samples=1, width=size[0], height=size[1], frames=max(counts), dof=False)
        subprocess.run([blender, "-b", "--python-expr", code, "--", str(blend)], check=True, capture_output=True)
        for count in counts:
            out = folder / f"render-{count}"
            results["render"][count] = peak(cli + ["render", str(blend), "--output", str(out), "--frames",
                                                   f"1-{count}", "--outputs", "depth,distance,camera,colmap"])
            rendered = out / "bench"
            sequence = folder / f"sequence-{count}"
            sequence.mkdir()
            for frame in range(1, count + 1):
                shutil.copy(rendered / f"distance_{frame:04d}.exr", sequence / f"distance_{frame:04d}.exr")
            for name, engine in (("convert", "numpy"), ("convert-node", "node")):
                results[name][count] = peak(cli + ["convert", str(sequence / "distance_####.exr"), "--camera",
                                                   str(rendered / "camera_0001.json"), "--output",
                                                   str(folder / f"{name}-{count}"), "--engine", engine])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--versions", nargs="+", default=["5.0"])
    parser.add_argument("--counts", nargs="+", type=int, default=[10, 200])
    parser.add_argument("--size", default="320x240")
    args = parser.parse_args()
    size = tuple(int(part) for part in args.size.split("x"))
    first, last = min(args.counts), max(args.counts)
    print("| Blender | job | " + " | ".join(f"{count} frames MB (s)" for count in args.counts)
          + " | growth MB per 100 frames |")
    print("|---|---|" + "---|" * len(args.counts) + "---|")
    for series in args.versions:
        for job, figures in measure(series, args.counts, size).items():
            growth = (figures[last][0] - figures[first][0]) / (last - first) * 100
            cells = " | ".join(f"{figures[count][0]:.0f} ({figures[count][1]:.0f})" for count in args.counts)
            print(f"| {series} | {job} | {cells} | {growth:+.1f} |", flush=True)


if __name__ == "__main__":
    main()
