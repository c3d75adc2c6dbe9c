"""A job's frames handed to SLURM (commands/slurm/submit.py): the launcher the tasks run, the batch scripts written,
the array and its finishing job submitted to a fake sbatch (the scripts it was given are then run by bash)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from depth_node.commands.base import JobError
from depth_node.commands.frame_files import Request
from depth_node.commands.slurm import submit
from depth_node.commands.slurm.batch import Resources
from depth_node.commands.slurm.submit import Slurm, launcher
from depth_node.core import outputs

from .fake_slurm import calls, fake

REQUEST = Request(outputs.select(["depth", "camera", "colmap"]), outputs.Options())
ARGUMENTS = ("/data/shot.blend", "--output", "/data/out", "--scene", "Shot 1")


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The submitting command's folder, and a launcher given relative to it (as tools/true_depth.sh sets it) in a
    folder with a space, that prints its arguments one a line."""
    folder = tmp_path / "work"
    script = tmp_path / "my tools" / "true_depth.sh"
    script.parent.mkdir()
    folder.mkdir()
    script.write_text('#!/bin/bash\nprintf \'%s\\n\' "$@"\n')
    script.chmod(0o755)
    monkeypatch.chdir(folder)
    monkeypatch.setenv("TRUE_DEPTH_LAUNCHER", "../my tools/true_depth.sh")
    for name in submit.PASSED_ON:
        monkeypatch.delenv(name, raising=False)
    return folder


@pytest.fixture()
def sbatch(bin_dir: Path) -> Path:
    """sbatch answering 101, 102...; it keeps a copy of each script it is given (bin/script-<id>)."""
    return fake_sbatch(bin_dir)


def fake_sbatch(bin_dir: Path, refuse: int | None = None, account: Path | None = None) -> Path:
    """``refuse``: the id whose submission is refused; ``account``: written when finish.sbatch is submitted."""
    body = (f"n=$(cat '{bin_dir}/count' 2>/dev/null || echo 100); n=$((n + 1)); echo $n > '{bin_dir}/count'\n"
            f"if [ $n -eq {refuse or 0} ]; then echo 'sbatch: error: QOSMaxSubmitJobPerUserLimit' >&2; exit 1; fi\n"
            f"cp \"${{@: -1}}\" '{bin_dir}/script-'$n\n")
    if account is not None:
        body += f"case \"${{@: -1}}\" in *finish.sbatch) echo '{{}}' > '{account}';; esac\n"
    fake(bin_dir, "sbatch", body + 'echo "$n;cluster"')
    fake(bin_dir, "scancel", "exit 0")
    return bin_dir


def run_script(script: Path, **environment: str) -> list[str]:
    """The launcher's arguments when bash runs ``script`` (a batch script sbatch was given)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("SLURM_")}
    result = subprocess.run(["bash", str(script)], env={**env, **environment}, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if not line.startswith("[true-depth] task")]


def test_the_launcher_of_tools_true_depth_sh(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUE_DEPTH_BLENDER", "/opt/blender 4.5/blender")
    monkeypatch.setenv("TRUE_DEPTH_VENV_DIR", "/data/venvs")
    monkeypatch.setenv("UNRELATED", "x")
    command, environment = launcher()
    assert command == [str(workdir.parent / "my tools" / "true_depth.sh")]
    assert Path(command[0]).is_absolute()
    assert environment == {"TRUE_DEPTH_BLENDER": "/opt/blender 4.5/blender", "TRUE_DEPTH_VENV_DIR": "/data/venvs"}


def test_the_launcher_outside_blender_is_this_python(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRUE_DEPTH_LAUNCHER", raising=False)
    monkeypatch.setitem(sys.modules, "bpy", None)  # import bpy fails, as in a plain Python
    command, environment = launcher()
    assert command == [sys.executable, "-m", "depth_node"]
    assert environment == {"PYTHONPATH": str(Path(submit.__file__).resolve().parents[3])}
    assert (Path(environment["PYTHONPATH"]) / "depth_node" / "__init__.py").is_file()


def test_the_array_then_its_finishing_job(tmp_path: Path, workdir: Path, sbatch: Path,
                                          capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUE_DEPTH_BLENDER", "/opt/blender 4.5/blender")
    folder = tmp_path / "out" / "shot"
    (folder / "slurm").mkdir(parents=True)
    (folder / "slurm" / "account.json").write_text('{"frames": 3}\n')  # an earlier submission's
    frames = list(range(1, 11))
    job = Slurm("render", ARGUMENTS, frames_per_task=4, resources=Resources(partition="short"))
    assert job.submit(folder, frames, frames, ("",), REQUEST) == 0
    assert not (folder / "slurm" / "account.json").exists()
    slurm = folder / "slurm"
    assert calls(sbatch, "sbatch") == [["--parsable", str(slurm / "render.sbatch")],
                                       ["--parsable", "--dependency=afterany:101", str(slurm / "finish.sbatch")]]
    assert (sbatch / "script-101").read_text() == (slurm / "render.sbatch").read_text()
    assert (sbatch / "script-102").read_text() == (slurm / "finish.sbatch").read_text()
    assert "#SBATCH --partition=short" in (slurm / "render.sbatch").read_text()
    assert "#SBATCH --array=0-2" in (slurm / "render.sbatch").read_text()
    assert f"#SBATCH --chdir={workdir}" in (slurm / "render.sbatch").read_text()
    assert (slurm / "logs").is_dir()

    launch = shlex.quote(str(workdir.parent / "my tools" / "true_depth.sh"))
    assert run_script(sbatch / "script-101", SLURM_ARRAY_TASK_ID="1") == [
        "render", *ARGUMENTS, "--outputs", "depth,camera", "--frames", "5-7", "--resume"]
    assert run_script(sbatch / "script-102") == [
        "render", *ARGUMENTS, "--outputs", "depth,camera,colmap", "--frames", "1-10", "--finish",
        str(slurm / "account.json")]
    assert launch in (sbatch / "script-101").read_text()
    for script in ("script-101", "script-102"):  # the tasks run the Blender of the submitting command
        assert "export TRUE_DEPTH_BLENDER='/opt/blender 4.5/blender'\n" in (sbatch / script).read_text()

    record = json.loads((slurm / "submission.json").read_text())
    assert record["array_job"] == "101" and record["finish_job"] == "102"
    assert record["blocks"] == [[1, 2, 3, 4], [5, 6, 7], [8, 9, 10]]
    assert record["frames"] == frames and record["kinds"] == [["depth", "exr"], ["camera", "json"]]
    assert record["command"] == "render" and record["folder"] == str(folder) and record["view_suffixes"] == [""]
    out = capsys.readouterr().out
    assert (f"[true-depth] slurm: job array 101: 3 task(s) over 10 frame(s) (1-10); batch script "
            f"{slurm / 'render.sbatch'}") in out.splitlines()
    assert out.splitlines()[-1] == f"[true-depth] slurm: follow it with: true_depth slurm status {folder.parent}"


def test_only_the_frames_left_go_to_the_array(tmp_path: Path, workdir: Path, sbatch: Path) -> None:
    folder = tmp_path / "shot"
    job = Slurm("convert", ("/in/d_####.exr", "--output", str(tmp_path)), tasks=2, overwrite=True)
    job.submit(folder, list(range(1, 9)), [2, 3, 7], ("_L", "_R"), REQUEST)
    record = json.loads((folder / "slurm" / "submission.json").read_text())
    assert record["blocks"] == [[2, 3], [7]]
    assert record["view_suffixes"] == ["_L", "_R"]
    assert run_script(sbatch / "script-101", SLURM_ARRAY_TASK_ID="1")[-3:] == ["--frames", "7", "--overwrite"]
    assert run_script(sbatch / "script-101", SLURM_ARRAY_TASK_ID="1", SLURM_RESTART_COUNT="1")[-1] == "--resume"
    assert run_script(sbatch / "script-102")[-4:] == ["--frames", "1-8", "--finish",
                                                      str(folder / "slurm" / "account.json")]


def test_more_tasks_than_frames_are_clamped(tmp_path: Path, workdir: Path, sbatch: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "shot"
    Slurm("render", ARGUMENTS, tasks=20).submit(folder, [4, 5, 6], [4, 5, 6], ("",), REQUEST)
    assert "[true-depth] slurm: 20 tasks for 3 frame(s): one task per frame (3 tasks)" in capsys.readouterr().out
    assert "#SBATCH --array=0-2" in (folder / "slurm" / "render.sbatch").read_text()
    assert json.loads((folder / "slurm" / "submission.json").read_text())["blocks"] == [[4], [5], [6]]


def test_a_refused_finishing_job_cancels_the_array(tmp_path: Path, workdir: Path, bin_dir: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    fake_sbatch(bin_dir, refuse=102)
    folder = tmp_path / "shot"
    with pytest.raises(JobError, match=r"^sbatch refused finish\.sbatch: sbatch: error: QOSMaxSubmitJobPerUserLimit$"):
        Slurm("render", ARGUMENTS).submit(folder, [1, 2], [1, 2], ("",), REQUEST)
    assert calls(bin_dir, "scancel") == [["101"]]
    assert "[true-depth] slurm: job array 101 cancelled (its finishing job was refused)" in capsys.readouterr().out
    assert not (folder / "slurm" / "submission.json").exists()


def test_a_refused_array_submits_nothing_else(tmp_path: Path, workdir: Path, bin_dir: Path) -> None:
    fake_sbatch(bin_dir, refuse=101)
    with pytest.raises(JobError, match=r"^sbatch refused render\.sbatch: "):
        Slurm("render", ARGUMENTS).submit(tmp_path / "shot", [1, 2], [1, 2], ("",), REQUEST)
    assert len(calls(bin_dir, "sbatch")) == 1
    assert calls(bin_dir, "scancel") == []


def test_with_every_frame_done_only_the_finishing_job_is_submitted(tmp_path: Path, workdir: Path, sbatch: Path,
                                                                   capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "shot"
    assert Slurm("render", ARGUMENTS).submit(folder, [1, 2, 3], [], ("",), REQUEST) == 0
    assert calls(sbatch, "sbatch") == [["--parsable", str(folder / "slurm" / "finish.sbatch")]]
    assert not (folder / "slurm" / "render.sbatch").exists()
    record = json.loads((folder / "slurm" / "submission.json").read_text())
    assert record["array_job"] == "" and record["finish_job"] == "101" and record["blocks"] == []
    assert (f"[true-depth] slurm: every frame of {folder} is complete; only the finishing job is submitted"
            in capsys.readouterr().out)
    assert run_script(sbatch / "script-101")[-6:] == ["--outputs", "depth,camera,colmap", "--frames", "1-3",
                                                      "--finish", str(folder / "slurm" / "account.json")]


def test_once_per_job_kinds_alone_need_no_array(tmp_path: Path, workdir: Path, sbatch: Path) -> None:
    folder = tmp_path / "shot"
    request = Request(outputs.select(["colmap"]), outputs.Options())
    Slurm("render", ARGUMENTS).submit(folder, [1, 2, 3], [1, 2, 3], ("",), request)
    assert calls(sbatch, "sbatch") == [["--parsable", str(folder / "slurm" / "finish.sbatch")]]
    record = json.loads((folder / "slurm" / "submission.json").read_text())
    assert record["kinds"] == [] and record["blocks"] == []
    assert run_script(sbatch / "script-101")[-6:-4] == ["--outputs", "colmap"]


def test_with_wait_the_submission_waits_for_the_jobs(tmp_path: Path, workdir: Path, bin_dir: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    from ..written import write_frame

    folder = tmp_path / "shot"
    for frame in (1, 2):
        write_frame(folder, frame)  # as if the tasks had made them
    fake_sbatch(bin_dir, account=folder / "slurm" / "account.json")
    fake(bin_dir, "squeue", "exit 0")  # both jobs have ended
    assert Slurm("render", ARGUMENTS, wait=True).submit(folder, [1, 2], [1, 2], ("",), REQUEST) == 0
    assert calls(bin_dir, "squeue") == [["-h", "-j", "101,102", "-o", "%i %T"]]
    assert capsys.readouterr().out.splitlines()[-1].startswith("[true-depth] slurm: all 2 frame(s) complete")


def test_with_wait_a_failed_job_is_an_error(tmp_path: Path, workdir: Path, sbatch: Path) -> None:
    fake(sbatch, "squeue", "exit 0")
    folder = tmp_path / "shot"
    with pytest.raises(JobError, match=r"^2 of 2 frame\(s\) not complete: 1-2; task 0 \(frames 1-2\): no log"):
        Slurm("render", ARGUMENTS, wait=True).submit(folder, [1, 2], [1, 2], ("",), REQUEST)
