"""``pip install .`` in a fresh virtual environment without Blender: the ``true-depth`` command converts (numpy
engine) and makes point clouds; the Blender subcommands answer with one line. Needs pip's network or cache for
numpy and OpenEXR (what CI has)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def true_depth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``true-depth`` script of a fresh environment with this repository pip-installed."""
    folder = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=True).create(folder)
    python = folder / "bin" / "python"
    environment = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    source = tmp_path_factory.mktemp("source")  # pip builds in the tree: not in the repository's
    shutil.copytree(REPO / "depth_node", source / "depth_node", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    subprocess.run([python, "-m", "pip", "install", "-q", str(source)], check=True, env=environment,
                   stdout=subprocess.DEVNULL)
    found = subprocess.run([python, "-c", "import importlib.util; print(importlib.util.find_spec('bpy'))"],
                           check=True, capture_output=True, text=True).stdout.strip()
    assert found == "None"  # a Python without Blender
    return folder / "bin" / "true-depth"


def test_the_installed_command_converts_without_blender(true_depth: Path, tmp_path: Path) -> None:
    K = np.array([[20.0, 0.0, 9.5], [0.0, 20.0, 7.5], [0.0, 0.0, 1.0]])
    depth = np.random.default_rng(3).uniform(1.0, 9.0, (16, 20))
    y, x = np.mgrid[0:16, 0:20]
    distance = depth * np.sqrt(((x - 9.5) / 20.0) ** 2 + ((y - 7.5) / 20.0) ** 2 + 1.0)
    np.save(tmp_path / "distance_0001.npy", distance)
    (tmp_path / "camera.json").write_text(json.dumps({"K": K.tolist(), "width": 20, "height": 16}))
    run = subprocess.run([true_depth, "convert", tmp_path / "distance_0001.npy", "--camera", tmp_path / "camera.json",
                          "--output", tmp_path / "out", "--format", "npy"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert np.abs(np.load(tmp_path / "out" / "converted" / "depth_0001.npy") - depth).max() <= 1e-6 * depth.max()
    cloud = subprocess.run([true_depth, "pointcloud", tmp_path / "out" / "converted" / "depth_0001.npy",
                            tmp_path / "camera.json", tmp_path / "points.ply"], capture_output=True, text=True)
    assert cloud.returncode == 0, cloud.stderr


@pytest.mark.parametrize("args", [["render", "shot.blend", "--output", "out"], ["convert", "d.exr", "--camera",
                                                                                 "c.json", "--output", "o",
                                                                                 "--engine", "node"]])
def test_blender_subcommands_say_they_need_blender(true_depth: Path, args: list[str], tmp_path: Path) -> None:
    (tmp_path / "d.exr").write_bytes(b"")
    run = subprocess.run([true_depth, *args], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 1
    assert run.stderr.count("\n") == 1 and ("needs Blender" in run.stderr or "renders with Blender" in run.stderr)


def test_the_module_is_the_same_command() -> None:
    """``python -m depth_node`` (next to a bpy wheel) and ``true-depth`` share the parser."""
    run = subprocess.run([sys.executable, "-m", "depth_node", "convert", "--help"], capture_output=True, text=True,
                         cwd=REPO)
    assert run.returncode == 0 and "--fov-x" in run.stdout and "--ray-matrix" in run.stdout
