"""The command line (commands/cli.py) of ``slurm render`` and ``slurm convert``: what their tasks are given (the
job's own options, paths made absolute), exact option names only, and the checks made before anything is
submitted."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from depth_node.commands import cli
from depth_node.commands.slurm.batch import Resources
from depth_node.commands.slurm.submit import Slurm

from .slurm.fake_slurm import fake

SLURM_OPTIONS = ["--tasks", "4", "--wait", "--partition", "gpu", "--time=2:00:00", "--cpus-per-task", "8",
                 "--mem=8G", "--sbatch-arg=--account=lab", "--sbatch-arg=--qos=long"]
"""The scheduler's options, both forms (the tasks never see them)."""


def sub_parser(command: str) -> argparse.ArgumentParser:
    """The parser of ``slurm <command>``, as build_parser makes it."""
    parser = cli.build_parser()
    commands = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    slurm = commands.choices["slurm"]
    slurm_commands = next(action for action in slurm._actions if isinstance(action, argparse._SubParsersAction))
    return slurm_commands.choices[command]


@pytest.fixture()
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "work dir"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def test_slurm_render_gives_its_tasks_the_job_s_own_options(cwd: Path) -> None:
    argv = ["shots/shot.blend", "--output", "out", "--frames", "1-10", *SLURM_OPTIONS, "--gpus", "1",
            "--overwrite", "--outputs", "depth,camera", "--scene", "Shot 1", "--source=aov", "--calibration",
            "cal/cam.yaml", "--device", "gpu", "--view-layer", "View Layer", "--depth16-scale=100", "--verbose",
            "--image-name", "img_####.png", "--calibration-camera", "cam1"]
    sub_parser("render").parse_args(argv)  # a command line slurm render takes
    assert cli.task_arguments(sub_parser("render"), argv) == [
        str(cwd / "shots" / "shot.blend"), "--output", str(cwd / "out"), "--scene", "Shot 1", "--source=aov",
        "--calibration", str(cwd / "cal" / "cam.yaml"), "--device", "gpu", "--view-layer", "View Layer",
        "--depth16-scale=100", "--verbose", "--image-name", "img_####.png", "--calibration-camera", "cam1"]


def test_the_equals_form_of_paths_and_of_the_options_the_scripts_set(cwd: Path) -> None:
    argv = ["--output=out", "--frames=1-3", "--resume", "--outputs=depth", "--frames-per-task=2", "--gpus=1",
            "--partition=short", "--cpus-per-task=2", "--calibration=/abs/cam.yaml", "--finish", "x.json", "s.blend",
            "--mem", "4G", "--time", "10:00"]
    sub_parser("render").parse_args(argv)
    assert cli.task_arguments(sub_parser("render"), argv) == [
        f"--output={cwd / 'out'}", "--calibration=/abs/cam.yaml", str(cwd / "s.blend")]


def test_slurm_convert_gives_its_tasks_the_job_s_own_options(cwd: Path) -> None:
    argv = ["in/distance_####.exr", "--camera", "cam.json", "--output=../out", *SLURM_OPTIONS, "--to", "distance",
            "--format", "npy", "--mist", "--mist-start", "-0.5", "--mist-depth=10", "--engine", "numpy", "--frames",
            "4-9", "--outputs", "depth,colmap", "--channel", "Y", "--scale", "0.001", "--fov-x", "60"]
    sub_parser("convert").parse_args(argv)
    assert cli.task_arguments(sub_parser("convert"), argv) == [
        str(cwd / "in" / "distance_####.exr"), "--camera", str(cwd / "cam.json"),
        f"--output={cwd.parent / 'out'}", "--to", "distance", "--format", "npy", "--mist", "--mist-start", "-0.5",
        "--mist-depth=10", "--engine", "numpy", "--channel", "Y", "--scale", "0.001", "--fov-x", "60"]


def test_absolute_paths_stay_as_they_are(cwd: Path) -> None:
    argv = ["/data/shot.blend", "--output", "/data/out", "--calibration", "/data/cam.yaml"]
    assert cli.task_arguments(sub_parser("render"), argv) == argv


def test_slurm_render_takes_no_abbreviated_option(capsys: pytest.CaptureFixture) -> None:
    """A task is given the options by name: an abbreviation would reach it unrecognised (or as a positional)."""
    for abbreviated in (["--part", "gpu"], ["--task", "4"], ["--outp", "out"], ["--over"]):
        argv = ["slurm", "render", "shot.blend", "--output", "out", *abbreviated]
        assert cli.main(argv) == 2
        assert f"unrecognized arguments: {' '.join(abbreviated)}" in capsys.readouterr().err
    with pytest.raises(cli._ParserExitError) as stop:
        cli.build_parser().parse_args(["slurm", "convert", "d_####.exr", "--output", "o", "--cam", "c.json"])
    assert stop.value.code == 2
    # plain render still takes them
    plain = cli.build_parser().parse_args(["render", "shot.blend", "--output", "out", "--sce", "S", "--fram", "1-3"])
    assert plain.frames == [1, 2, 3] and plain.scene == "S"


def test_tasks_and_frames_per_task_go_not_together(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["slurm", "render", "s.blend", "--output", "o", "--tasks", "2", "--frames-per-task", "3"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err
    assert cli.main(["slurm", "convert", "d.exr", "--output", "o", "--gpus", "1"]) == 2  # no GPUs for convert


def test_without_sbatch_nothing_is_submitted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert cli.main(["slurm", "render", "s.blend", "--output", str(tmp_path / "o")]) == 1
    assert capsys.readouterr().err.startswith("true_depth: error: no sbatch on PATH: ")


def with_sbatch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    fake(bin_dir, "sbatch", "exit 1")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return bin_dir


def test_gpus_go_with_the_gpu_device(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture) -> None:
    with_sbatch(tmp_path, monkeypatch)
    assert cli.main(["slurm", "render", "s.blend", "--output", str(tmp_path / "o"), "--gpus", "1"]) == 1
    assert capsys.readouterr().err == ("true_depth: error: --gpus goes with --device gpu (without it Cycles renders "
                                       "on the CPU)\n")


def test_the_submission_of_slurm_render(tmp_path: Path, cwd: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture) -> None:
    with_sbatch(tmp_path, monkeypatch)
    monkeypatch.setattr(cli, "_NODE_LOCAL", (tmp_path,))  # as if it were /tmp
    argv = ["slurm", "render", "s.blend", "--output", "out", "--frames-per-task", "3", "--partition", "gpu",
            "--time", "1:00:00", "--cpus-per-task", "4", "--mem", "8G", "--gpus", "1", "--device", "gpu",
            "--sbatch-arg=--account=lab", "--overwrite", "--wait", "--scene", "S"]
    args = cli.build_parser().parse_args(argv)
    job = cli._slurm_split(args, argv)
    assert job == Slurm("render", (str(cwd / "s.blend"), "--output", str(cwd / "out"), "--device", "gpu",
                                   "--scene", "S"), None, 3, Resources("gpu", "1:00:00", 4, "8G", "1",
                                                                       ("--account=lab",)), True, True)
    assert args.output == cwd / "out"
    out = capsys.readouterr().out
    assert f"[true-depth] slurm: --output out is relative: the tasks write to {cwd / 'out'}" in out
    assert (f"[true-depth] slurm: {cwd / 'out'} is usually on each node's own disk: the tasks' files stay on their "
            "nodes unless it is shared (give --output on a filesystem every node mounts)") in out.splitlines()


def test_the_submission_of_slurm_convert(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture) -> None:
    with_sbatch(tmp_path, monkeypatch)
    monkeypatch.setattr(cli, "_NODE_LOCAL", (Path("/nowhere"),))
    argv = ["slurm", "convert", "/in/d_####.exr", "--output", str(tmp_path / "out"), "--tasks", "5"]
    job = cli._slurm_split(cli.build_parser().parse_args(argv), argv)
    assert job == Slurm("convert", ("/in/d_####.exr", "--output", str(tmp_path / "out")), 5, None, Resources(),
                        False, False)
    assert capsys.readouterr().out == ""
