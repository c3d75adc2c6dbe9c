"""tools/bench.py runs end to end on a tiny frame (not timed: it only keeps the script from rotting)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import REPO


def test_benchmark_script_runs_on_a_tiny_frame() -> None:
    blender = os.environ.get("TRUE_DEPTH_BLENDER_EXECUTABLE")
    if not blender:
        pytest.skip("TRUE_DEPTH_BLENDER_EXECUTABLE is not set: run through tools/run_tests.sh")
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "bench.py"), "--blender", blender, "--sizes", "64x48",
         "--repeat", "1", "--frames", "2", "--sequence-size", "64x48"],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    row = next(line for line in lines if line.startswith("| ") and "64x48 |" in line and "/" in line)
    accuracy = float(row.rstrip(" |").rsplit("|", 1)[-1])
    assert accuracy <= 2e-6, row
    assert any("2 x 64x48" in line for line in lines), "the sequence mode must report frames/s"


def test_the_group_costs_run_for_every_group_of_the_family() -> None:
    blender = os.environ.get("TRUE_DEPTH_BLENDER_EXECUTABLE")
    if not blender:
        pytest.skip("TRUE_DEPTH_BLENDER_EXECUTABLE is not set: run through tools/run_tests.sh")
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "bench.py"), "--blender", blender, "--groups", "--sizes", "64x48",
         "--repeat", "1"], capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = [line.split(" | ") for line in result.stdout.splitlines() if line.startswith("| ") and "64x48" in line]
    assert [row[3] for row in rows] == ["True Depth", "True Flow", "True Normal"]
    assert all(float(row[2]) > 0 for row in rows), "each row measured a baseline"
