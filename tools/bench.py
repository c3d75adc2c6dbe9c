#!/usr/bin/env python3
"""Benchmark the True Depth node against the numpy post-process path, per Blender version.

    python3 tools/bench.py [--versions 4.5 5.0 5.2] [--sizes 1920x1080 3840x2160] [--repeat 7]
                           [--frames 50] [--sequence-size 1920x1080] [--compositor-device CPU|default]
                           [--blender /path/to/blender]
    python3 tools/bench.py --groups [--versions ...] [--sizes 1920x1080] [--codec NONE]   # each group's cost

Uses the same cached bpy environments as tools/run_tests.sh (created on first use).
Compositor only (no rendering): an Image node with a synthetic distance EXR feeds
(a) a trivial Math node -> File Output, (b) True Depth -> File Output; (c) is the numpy
path (OpenEXR read -> reference.distance_to_depth -> OpenEXR write). Reports median and
min over ``--repeat`` interleaved runs after a warm-up, the node's overhead (b - a) in
ms and ms per megapixel, its ratio to the numpy path, peak RSS of (a) and (b) (each in
its own process), and frames/s of converting a sequence with ``convert`` vs numpy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def supported_series() -> list[str]:
    """The Blender series of tools/blender_env.sh's TD_VERSIONS table (the one place versions are listed)."""
    script = f'source "{REPO}/tools/blender_env.sh" && echo "${{TD_SUPPORTED_SERIES[@]}}"'
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout.split()


def bpy_blender(series: str) -> str:
    """The launcher of the cached bpy venv for ``series`` (set up like the tests do)."""
    script = f'source "{REPO}/tools/blender_env.sh" && td_ensure_bpy_venv {series}'
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"cannot set up Blender {series}: {result.stderr.strip().splitlines()[-1:]}")
    return str(Path(result.stdout.strip()) / "bin" / "blender")


def run_in_blender(blender: str, *args: str) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    try:
        result = subprocess.run(
            [blender, "-b", "--python-exit-code", "1", "--python", str(REPO / "tools" / "bench_blender.py"),
             "--", "--json", str(out), *args],
            capture_output=True, text=True, timeout=3600,
        )
        if result.returncode != 0:
            raise SystemExit(f"benchmark failed in {blender}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
        return json.loads(out.read_text())
    finally:
        out.unlink(missing_ok=True)


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model}, {cores} cores available, {platform.system()} {platform.release()}"


def group_costs(args: argparse.Namespace) -> int:
    """``--groups``: each group's compositor time on an RGBA image minus the image written as it is, per
    version and size (medians of ``--repeat`` interleaved runs)."""
    device = ("--compositor-device", args.compositor_device, "--codec", args.codec, "--malloc", args.malloc)
    print(f"machine: {machine()}; compositor device: {args.compositor_device}; File Output codec: {args.codec}; "
          f"allocator: {args.malloc}")
    rows = []
    for series in ([None] if args.blender else args.versions or supported_series()):
        blender = args.blender or bpy_blender(series)
        for size in args.sizes:
            result = run_in_blender(blender, "--task", "groups", "--size", size, "--repeat", str(args.repeat), *device)
            print(json.dumps(result), flush=True)
            rows.append(result)
    print()
    print("| Blender | size | baseline med ms | group | med / min ms | over baseline ms | ms / MP |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        median = {name: statistics.median(values) for name, values in row["times_ms"].items()}
        for name, values in row["times_ms"].items():
            if name == "baseline":
                continue
            over = median[name] - median["baseline"]
            print(f"| {row['blender']} | {row['size']} | {median['baseline']:.1f} | {name} | {median[name]:.1f} / "
                  f"{min(values):.1f} | {over:.1f} | {over / row['megapixels']:.2f} |")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", nargs="+", default=None, help="Blender series (default: every supported one)")
    parser.add_argument("--sizes", nargs="*", default=["1920x1080", "3840x2160"],
                        help="frame sizes of the node-overhead mode (none: skip it)")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--frames", type=int, nargs="+", default=[60],
                        help="sequence lengths (0 skips the sequence mode)")
    parser.add_argument("--sequence-size", default="1920x1080")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1], help="convert --jobs in the sequence mode")
    parser.add_argument("--rounds", type=int, default=3,
                        help="sequence mode: interleaved rounds of (numpy loop, convert, convert --engine node)")
    parser.add_argument("--noise", type=float, default=0.01,
                        help="noise added to the synthetic distance (0: a smooth, highly compressible image)")
    parser.add_argument("--codec", choices=("ZIP", "NONE"), default="ZIP",
                        help="the File Output EXRs' compression in the node-overhead mode (NONE: the compositor's "
                             "own cost, without the write's dependence on the output's content)")
    parser.add_argument("--malloc", choices=("cli", "default"), default="cli",
                        help="cli: glibc's buffer thresholds as the CLI's jobs set them; default: as a process starts")
    parser.add_argument("--compositor-device", choices=("CPU", "default"), default="CPU",
                        help="CPU (what the CLI uses) or the scene default (GPU on Blender 5.2 and 5.3)")
    parser.add_argument("--blender", help="a Blender executable to use instead of the cached bpy venvs "
                                          "(its Python needs numpy and OpenEXR)")
    parser.add_argument("--groups", action="store_true",
                        help="time each group of the family (True Depth, True Flow, True Normal) per pixel instead")
    args = parser.parse_args()
    if args.groups:
        return group_costs(args)
    if args.repeat < 5 and args.sizes:
        print(f"note: --repeat {args.repeat} is below the 5 the published numbers use", file=sys.stderr)

    print(f"machine: {machine()}; compositor device: {args.compositor_device}; noise: {args.noise:g}; "
          f"File Output codec: {args.codec}; allocator: {args.malloc}")
    rows, sequence_rows = [], []
    device = ("--compositor-device", args.compositor_device, "--noise", str(args.noise), "--codec", args.codec,
              "--malloc", args.malloc)
    for series in ([None] if args.blender else args.versions or supported_series()):
        blender = args.blender or bpy_blender(series)
        for size in args.sizes:
            timing = run_in_blender(blender, "--task", "time", "--size", size, "--repeat", str(args.repeat),
                                    *device)
            memory = {variant: run_in_blender(blender, "--task", "memory", "--size", size, "--variant", variant,
                                              *device)
                      for variant in "ab"}
            times = timing["times_ms"]
            median = {key: statistics.median(values) for key, values in times.items()}
            minimum = {key: min(values) for key, values in times.items()}
            overhead = median["b"] - median["a"]
            rows.append({
                "blender": timing["blender"], "size": size, "mp": timing["megapixels"],
                "a_med": median["a"], "a_min": minimum["a"], "b_med": median["b"], "b_min": minimum["b"],
                "c_med": median["c"], "c_min": minimum["c"], "overhead": overhead,
                "overhead_min": minimum["b"] - minimum["a"],
                "per_mp": overhead / timing["megapixels"], "ratio": overhead / median["c"],
                "rss_a": memory["a"]["peak_rss_mb"], "rss_b": memory["b"]["peak_rss_mb"],
                "numpy_parts": timing["numpy_parts_ms"], "accuracy": timing["node_vs_reference_max_rel"],
            })
            print(json.dumps(rows[-1]), flush=True)
        for frames in filter(None, args.frames):
            for jobs in args.jobs:
                result = run_in_blender(blender, "--task", "sequence", "--size", args.sequence_size,
                                        "--frames", str(frames), "--jobs", str(jobs), "--rounds", str(args.rounds),
                                        *device)
                sequence_rows.append(result)
                print(json.dumps(result), flush=True)

    print()
    header = ("| Blender | size | (a) baseline med / min ms | (b) True Depth med / min ms "
              "| (c) numpy med / min ms | overhead b-a ms (min-based) | ms / MP | overhead / numpy "
              "| peak RSS a / b MB | node vs numpy max rel |")
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    for row in rows:
        print(f"| {row['blender']} | {row['size']} | {row['a_med']:.1f} / {row['a_min']:.1f} "
              f"| {row['b_med']:.1f} / {row['b_min']:.1f} | {row['c_med']:.1f} / {row['c_min']:.1f} "
              f"| {row['overhead']:.1f} ({row['overhead_min']:.1f}) | {row['per_mp']:.2f} | {row['ratio']:.1%} "
              f"| {row['rss_a']:.0f} / {row['rss_b']:.0f} | {row['accuracy']:.1e} |")
    print()
    print("| Blender | numpy path parts (median ms): read / compute / write |")
    print("|---|---|")
    for row in rows:
        parts = row["numpy_parts"]
        print(f"| {row['blender']} {row['size']} | {parts['read']:.1f} / {parts['compute']:.1f} / "
              f"{parts['write']:.1f} |")
    if sequence_rows:
        print()
        print("| Blender | sequence | --jobs | rounds | numpy loop frames/s | convert frames/s (numpy engine) "
              "| / loop: median (min-max) | convert --engine node frames/s | / loop: median (min-max) |")
        print("|---|---|---|---|---|---|---|---|---|")
        for row in sequence_rows:
            ratio = {name: f"{row[f'{name}_ratio_median']:.2f}x ({row[f'{name}_ratio_min']:.2f}-"
                           f"{row[f'{name}_ratio_max']:.2f})" for name in ("numpy", "node")}
            print(f"| {row['blender']} | {row['frames']} x {row['size']} | {row['jobs']} | {row['rounds']} "
                  f"| {row['numpy_loop_fps']:.2f} | {row['engine_numpy_fps']:.2f} | {ratio['numpy']} "
                  f"| {row['engine_node_fps']:.2f} | {ratio['node']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
