"""Long jobs: a render killed (SIGKILL, a real child process) after its first frames and resumed equals one
uninterrupted run; --resume redoes a truncated or missing file and nothing else; the account of every frame;
--device gpu on a machine without one; --resume with --overwrite is a usage error."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import submodule
from mathutils import Vector
from real_scenes import build
from render_helpers import animated_scene

bpy = pytest.importorskip("bpy")
FRAMES = "1-8"
OUTPUTS = "depth,distance,camera,colmap,nerf"


@pytest.fixture(scope="module")
def shot(td, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The real scene seen by a moving camera, and one uninterrupted render of it."""
    scene = build("Shot")
    scene.frame_start, scene.frame_end = 1, 8
    camera = scene.camera
    for frame, shift in ((1, -0.4), (8, 0.4)):  # a camera moving along its own x axis
        camera.location = camera.matrix_world @ Vector((shift, 0.0, 0.0))
        camera.keyframe_insert("location", frame=frame)
    folder = tmp_path_factory.mktemp("resume")
    blend = folder / "shot.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    assert run_cli(td, "render", blend, "--output", folder / "whole", "--frames", FRAMES, "--outputs", OUTPUTS) == 0
    return {"blend": blend, "whole": folder / "whole" / "Shot"}


def run_cli(td, *args: object) -> int:
    return submodule(td, "commands.cli").main([str(arg) for arg in args])


def render_args(shot: dict, output: Path, *extra: str) -> list[str]:
    return ["render", str(shot["blend"]), "--output", str(output), "--frames", FRAMES, "--outputs", OUTPUTS, *extra]


def assert_same_files(td, got: Path, want: Path) -> None:
    """The same files; EXRs with equal pixels (bit for bit), every other file byte for byte."""
    names = sorted(str(path.relative_to(want)) for path in want.rglob("*") if path.is_file())
    assert sorted(str(path.relative_to(got)) for path in got.rglob("*") if path.is_file()) == names
    read = submodule(td, "core.formats.exr").read_single_channel
    for name in names:
        if name.endswith(".exr"):
            assert np.array_equal(read(got / name), read(want / name)), name
        else:
            assert (got / name).read_bytes() == (want / name).read_bytes(), name


def test_a_killed_render_resumes_to_what_one_run_writes(td, shot: dict, tmp_path: Path, capsys) -> None:
    command = submodule(td, "commands.workers").worker_command(render_args(shot, tmp_path))
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    folder, deadline = tmp_path / "Shot", time.monotonic() + 120
    while not (folder / "camera_0002.json").exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL  # killed while it worked, not after it finished
    made = sorted(path.name for path in folder.glob("depth_*.exr"))
    assert 2 <= len(made) < 8 and not (folder / "transforms.json").exists()
    capsys.readouterr()
    assert run_cli(td, *render_args(shot, tmp_path, "--resume")) == 0
    out = capsys.readouterr().out
    assert f"--resume: {len(made)} complete frame(s) kept" in out or f"--resume: {len(made) - 1} complete" in out
    assert "frames: " in out and "skipped (--resume), 0 failed" in out
    assert not list(folder.glob(".true-depth-partial-*"))  # the killed run's staging folder is gone
    assert_same_files(td, folder, shot["whole"])


def test_resume_redoes_only_incomplete_frames(td, shot: dict, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "Shot"
    assert run_cli(td, *render_args(shot, tmp_path)) == 0
    depth = folder / "depth_0003.exr"
    depth.write_bytes(depth.read_bytes()[:-300])  # truncated, as a killed writer leaves it
    (folder / "camera_0005.json").unlink()
    untouched = (folder / "distance_0001.exr").stat().st_mtime_ns
    capsys.readouterr()
    assert run_cli(td, *render_args(shot, tmp_path, "--resume")) == 0
    out = capsys.readouterr().out
    assert "--resume: 6 complete frame(s) kept, 2 to make" in out and "frames: 2 made, 6 skipped" in out
    assert (folder / "distance_0001.exr").stat().st_mtime_ns == untouched
    assert_same_files(td, folder, shot["whole"])
    # nothing missing: nothing made, nothing touched
    assert run_cli(td, *render_args(shot, tmp_path, "--resume")) == 0
    assert "frames: 0 made, 8 skipped" in capsys.readouterr().out
    assert (folder / "distance_0001.exr").stat().st_mtime_ns == untouched


@pytest.mark.parametrize("args, code, message", [
    (["--resume", "--overwrite"], 2, "not allowed with argument"),
    (["--device", "gpu"], 1, "--device gpu: no usable GPU in this Blender (looked for Cycles' OPTIX, CUDA, HIP"),
    (["--device", "gpu", "--gpu-backend", "cuda"], 1, "(looked for Cycles' CUDA devices)"),
])
def test_bad_device_or_flags_are_one_line(td, shot: dict, tmp_path: Path, capsys, args: list[str], code: int,
                                           message: str) -> None:
    assert run_cli(td, *render_args(shot, tmp_path), *args) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1]
    assert not (tmp_path / "Shot").exists()


def test_the_file_asking_for_the_gpu_renders_on_the_cpu_with_a_line(td, tmp_path: Path, capsys) -> None:
    scene, _ = animated_scene()
    scene.cycles.device = "GPU"
    blend = tmp_path / "gpu.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    assert run_cli(td, "render", blend, "--output", tmp_path / "out", "--frames", "1", "--outputs", "depth") == 0
    assert "Cycles on the CPU (the file asks for the GPU; none found" in capsys.readouterr().out


def test_example_resumes_the_scene_that_is_not_complete(td, tmp_path: Path, capsys) -> None:
    args = ["example", "--output", str(tmp_path), "--resolution", "32x24"]
    assert run_cli(td, *args) == 0
    wall = (tmp_path / "wall" / "depth_0001.exr").stat().st_mtime_ns
    (tmp_path / "suzanne" / "preview_0001.png").unlink()
    capsys.readouterr()
    assert run_cli(td, *args, "--resume") == 0
    out = capsys.readouterr().out
    assert "wall: complete, kept (--resume)" in out and "suzanne: rendering frame 1" in out
    assert (tmp_path / "suzanne" / "preview_0001.png").is_file()
    assert (tmp_path / "wall" / "depth_0001.exr").stat().st_mtime_ns == wall


@pytest.mark.parametrize("engine", ["numpy", "node"])
def test_convert_with_a_blend_camera_resumes(td, shot: dict, tmp_path: Path, capsys, engine: str) -> None:
    """Both engines with the .blend's animated camera: a missing frame is made, the nerfstudio file rewritten
    from every frame, equal to one run."""
    args = ["convert", str(shot["whole"] / "distance_####.exr"), "--camera", str(shot["blend"]), "--outputs",
            "depth,camera,nerf", "--engine", engine]
    assert run_cli(td, *args, "--output", tmp_path / "whole") == 0
    assert run_cli(td, *args, "--output", tmp_path / "resumed") == 0
    folder = tmp_path / "resumed" / "Shot"
    (folder / "depth_0004.exr").unlink()
    (folder / "transforms.json").unlink()
    capsys.readouterr()
    assert run_cli(td, *args, "--output", tmp_path / "resumed", "--resume") == 0
    assert "frames: 1 made, 7 skipped" in capsys.readouterr().out
    assert_same_files(td, folder, tmp_path / "whole" / "Shot")
