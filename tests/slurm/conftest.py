"""The SLURM tests' cluster and scenes: a throw-away one-node SLURM (tools/slurm_cluster.py, Debian's packages)
started for the session and stopped after it, and small animated Cycles scenes made by the bpy wheel.

tools/run_tests.sh runs this folder once (not once per Blender) with the Python of one Blender's environment;
``tools/true_depth.sh`` renders with that Blender (``TRUE_DEPTH_BLENDER``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import OpenEXR
import pytest

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / "tools" / "true_depth.sh"
sys.path.insert(0, str(REPO / "tools"))

import slurm_cluster  # noqa: E402  (tools/ on the path first)

SHOT_OUTPUTS = "rgb,depth,distance,camera,colmap,nerf"


def true_depth(*args: object, cwd: Path | None = None, env: dict | None = None,
               timeout: float = 600) -> subprocess.CompletedProcess:
    """``tools/true_depth.sh ARGS`` as a user runs it."""
    return subprocess.run([str(TOOL), *(str(arg) for arg in args)], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=timeout, stdin=subprocess.DEVNULL)


def make_scene(path: Path, frames: int, size: tuple[int, int], samples: int, failing: int = 0) -> Path:
    subprocess.run([sys.executable, str(Path(__file__).with_name("make_scene.py")), str(path), str(frames),
                    str(size[0]), str(size[1]), str(samples), str(failing)], check=True, capture_output=True)
    return path


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    """``SLURM_CONF`` of a running one-node cluster (set in this process's environment for every client)."""
    missing = slurm_cluster.missing_commands()
    if missing:
        pytest.fail(f"SLURM is not installed here (missing {', '.join(missing)}): {slurm_cluster.INSTALL}")
    folder = tmp_path_factory.mktemp("cluster")
    environment = slurm_cluster.start(folder)
    saved = os.environ.get("SLURM_CONF")
    os.environ.update(environment)
    yield folder
    slurm_cluster.stop(folder)
    if saved is None:
        os.environ.pop("SLURM_CONF", None)
    else:
        os.environ["SLURM_CONF"] = saved


@pytest.fixture(scope="session")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("scenes")
    return {"shot": make_scene(folder / "shot.blend", 6, (64, 48), 4),
            "slow": make_scene(folder / "slow.blend", 6, (160, 120), 192),
            "failing": make_scene(folder / "failing.blend", 6, (64, 48), 4, failing=4)}


@pytest.fixture(scope="session")
def local_shot(scenes: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One local ``render`` of the shot: what the cluster's files must equal."""
    out = tmp_path_factory.mktemp("local")
    result = true_depth("render", scenes["shot"], "--output", out, "--outputs", SHOT_OUTPUTS)
    assert result.returncode == 0, result.stderr
    return out / "Shot"


def exr_pixels(path: Path) -> dict[str, np.ndarray]:
    with OpenEXR.File(str(path)) as exr:
        return {name: channel.pixels.copy() for name, channel in exr.channels().items()}


def assert_same_files(got: Path, want: Path) -> None:
    """The same files but the cluster's own folder (slurm/); EXR pixels bit for bit, PNG pixels bit for bit (their
    text chunks hold Blender's render date), every other file byte for byte."""
    def files(folder: Path) -> list[str]:
        return sorted(str(path.relative_to(folder)) for path in folder.rglob("*")
                      if path.is_file() and path.relative_to(folder).parts[0] != "slurm")
    names = files(want)
    assert files(got) == names
    for name in names:
        if name.endswith(".exr"):
            expected = exr_pixels(want / name)
            assert exr_pixels(got / name).keys() == expected.keys(), name
            for channel, pixels in exr_pixels(got / name).items():
                assert np.array_equal(pixels, expected[channel]), name
        elif name.endswith(".png"):
            assert np.array_equal(cv2.imread(str(got / name), cv2.IMREAD_UNCHANGED),
                                  cv2.imread(str(want / name), cv2.IMREAD_UNCHANGED)), name
        else:
            assert (got / name).read_bytes() == (want / name).read_bytes(), name


def submission(folder: Path) -> dict:
    return json.loads((folder / "slurm" / "submission.json").read_text())


def task_logs(folder: Path, array_job: str) -> dict[int, str]:
    logs = (folder / "slurm" / "logs").glob(f"task-{array_job}_*.out")
    return {int(path.stem.rpartition("_")[2]): path.read_text() for path in logs}


def wait_until_ended(job_ids: list[str], timeout: float = 300) -> None:
    """Until squeue lists none of the jobs any more (or only ended ones)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = subprocess.run(["squeue", "-h", "-j", ",".join(job_ids), "-o", "%T"], capture_output=True,
                                text=True)
        if listed.returncode == 0 and not listed.stdout.split():
            return
        if listed.returncode != 0 and "Invalid job id" in listed.stderr:
            return
        time.sleep(0.2)
    raise AssertionError(f"jobs {job_ids} still queued after {timeout} s")
