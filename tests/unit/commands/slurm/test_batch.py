"""The blocks of frames of a SLURM job array and its batch scripts (commands/slurm/batch.py), the scripts run by
bash with a fake launcher in place of true_depth."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from depth_node.commands.slurm.batch import DEFAULT_FRAMES_PER_TASK, Resources, array_script, finish_script, task_blocks

ENVIRONMENT = {"TRUE_DEPTH_BLENDER": "/opt/my blender/blender", "QUOTED": "it's \"quoted\" $HOME `x`"}
ARGUMENTS = ["render", "/data/my shots/shot.blend", "--output", "/data/out dir", "--scene", "it's"]


@pytest.fixture()
def launcher(tmp_path: Path) -> Path:
    """A launcher at a path with a space: prints each argument on its own line, then the environment it got."""
    path = tmp_path / "my tools" / "launch"
    path.parent.mkdir()
    path.write_text('#!/bin/bash\nprintf \'%s\\n\' "$@"\necho "--- environment"\n'
                    'printf \'%s\\n\' "$TRUE_DEPTH_BLENDER" "$QUOTED"\n')
    path.chmod(0o755)
    return path


def run(script: Path, **environment: str) -> tuple[list[str], list[str], str]:
    """``bash script`` with ``environment``: (the launcher's arguments, the environment it saw, the echo line)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("SLURM_")}
    result = subprocess.run(["bash", str(script)], env={**env, **environment}, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    echo = [line for line in lines if line.startswith("[true-depth] task")]
    lines = [line for line in lines if not line.startswith("[true-depth] task")]
    cut = lines.index("--- environment")
    return lines[:cut], lines[cut + 1:], echo[0] if echo else ""


def sbatch_options(text: str) -> list[str]:
    """The options of the #SBATCH lines, split as sbatch splits them (whitespace, quotes)."""
    return [option for line in text.splitlines() if line.startswith("#SBATCH ")
            for option in shlex.split(line[len("#SBATCH "):])]


def test_blocks_are_balanced_and_contiguous() -> None:
    frames = list(range(1, 25))
    blocks = task_blocks(frames, tasks=5)
    assert [len(block) for block in blocks] == [5, 5, 5, 5, 4]
    assert sum(blocks, []) == frames
    assert [len(block) for block in task_blocks(list(range(20)), frames_per_task=8)] == [7, 7, 6]
    assert [len(block) for block in task_blocks(list(range(20)), frames_per_task=10)] == [10, 10]


def test_the_default_size_of_a_block() -> None:
    assert DEFAULT_FRAMES_PER_TASK == 8
    assert [len(block) for block in task_blocks(list(range(1, 18)))] == [6, 6, 5]  # ceil(17 / 8) = 3 tasks
    assert task_blocks(list(range(1, 9))) == [list(range(1, 9))]
    assert len(task_blocks(list(range(1, 10)))) == 2


def test_blocks_keep_the_order_of_frames_that_are_not_contiguous() -> None:
    assert task_blocks([9, 3, 4, 20, 21, 1], tasks=3) == [[9, 3], [4, 20], [21, 1]]
    assert task_blocks([1, 5, 9, 13], tasks=2) == [[1, 5], [9, 13]]


def test_more_tasks_than_frames_give_one_frame_per_task() -> None:
    assert task_blocks([4, 7, 8], tasks=10) == [[4], [7], [8]]
    assert task_blocks([4], tasks=3) == [[4]]
    assert all(task_blocks(list(range(5)), tasks=5))


def test_resources_are_sbatch_options() -> None:
    assert Resources().directives() == []
    resources = Resources("gpu", "2:00:00", 4, "8G", "1", ("--account=lab", "--qos=long"))
    assert resources.directives() == ["--partition=gpu", "--time=2:00:00", "--cpus-per-task=4", "--mem=8G",
                                      "--gpus=1", "--account=lab", "--qos=long"]
    assert Resources(cpus_per_task=2, extra=("--exclusive",)).directives() == ["--cpus-per-task=2", "--exclusive"]


def write_array(tmp_path: Path, launcher: Path, overwrite: bool = False,
                resources: Resources | None = None) -> Path:
    script = tmp_path / "render.sbatch"
    script.write_text(array_script("true-depth-shot", [str(launcher), "--flag"], ENVIRONMENT, ARGUMENTS,
                                   [[1, 2, 3], [4, 5, 6], [10, 12, 13]], tmp_path / "logs", tmp_path / "work",
                                   resources or Resources(), overwrite))
    return script


def test_each_task_of_the_array_runs_its_block_with_resume(tmp_path: Path, launcher: Path) -> None:
    script = write_array(tmp_path, launcher)
    arguments, environment, echo = run(script, SLURM_ARRAY_TASK_ID="1")
    assert arguments == ["--flag", *ARGUMENTS, "--frames", "4-6", "--resume"]
    assert environment == [ENVIRONMENT["TRUE_DEPTH_BLENDER"], ENVIRONMENT["QUOTED"]]
    assert echo.startswith("[true-depth] task 1 of 3: frames 4-6 on ") and echo.endswith(", run 0")
    assert run(script, SLURM_ARRAY_TASK_ID="0")[0][-3:] == ["--frames", "1-3", "--resume"]
    assert run(script, SLURM_ARRAY_TASK_ID="2", SLURM_RESTART_COUNT="2")[0][-3:] == ["--frames", "10,12-13",
                                                                                   "--resume"]


def test_with_overwrite_a_task_overwrites_on_its_first_run_and_resumes_once_requeued(tmp_path: Path,
                                                                                    launcher: Path) -> None:
    script = write_array(tmp_path, launcher, overwrite=True)
    assert run(script, SLURM_ARRAY_TASK_ID="2")[0][-3:] == ["--frames", "10,12-13", "--overwrite"]
    assert run(script, SLURM_ARRAY_TASK_ID="2", SLURM_RESTART_COUNT="0")[0][-1] == "--overwrite"
    arguments, _, echo = run(script, SLURM_ARRAY_TASK_ID="0", SLURM_RESTART_COUNT="1")
    assert arguments == ["--flag", *ARGUMENTS, "--frames", "1-3", "--resume"]
    assert echo.endswith(", run 1")


def test_the_array_script_asks_the_scheduler_for_what_the_tasks_need(tmp_path: Path, launcher: Path) -> None:
    resources = Resources("gpu", "1:30:00", 4, "8G", "a100:1", ("--account=my lab", "--comment=it's"))
    text = write_array(tmp_path, launcher, resources=resources).read_text()
    assert text.startswith("#!/bin/bash\n")
    assert sbatch_options(text) == [
        "--job-name=true-depth-shot", "--array=0-2", f"--output={tmp_path / 'logs'}/task-%A_%a.out",
        f"--chdir={tmp_path / 'work'}", "--requeue", "--open-mode=append", "--partition=gpu", "--time=1:30:00",
        "--cpus-per-task=4", "--mem=8G", "--gpus=a100:1", "--account=my lab", "--comment=it's"]
    # sbatch reads #SBATCH lines up to the first command: every one comes before it
    header = text.split("\nset -u\n")[0]
    assert header.count("#SBATCH") == text.count("#SBATCH") == 13


def test_an_array_of_one_block(tmp_path: Path, launcher: Path) -> None:
    script = tmp_path / "one.sbatch"
    script.write_text(array_script("n", [str(launcher)], {}, ["convert", "/in/d_####.exr"], [[7]], tmp_path,
                                   tmp_path, Resources(), False))
    assert "--array=0-0" in sbatch_options(script.read_text())
    arguments, environment, _ = run(script, SLURM_ARRAY_TASK_ID="0")
    assert arguments == ["convert", "/in/d_####.exr", "--frames", "7", "--resume"]
    assert environment == ["", ""]  # nothing exported


def test_the_finishing_job_writes_the_account_of_every_frame(tmp_path: Path, launcher: Path) -> None:
    script = tmp_path / "finish.sbatch"
    account = tmp_path / "slurm dir" / "account.json"
    script.write_text(finish_script("true-depth-shot", [str(launcher)], ENVIRONMENT, [*ARGUMENTS, "--outputs",
                                                                                   "depth,colmap"],
                                    [5, 1, 2, 3, 9], account, tmp_path / "logs", tmp_path / "work"))
    arguments, environment, echo = run(script)
    assert arguments == [*ARGUMENTS, "--outputs", "depth,colmap", "--frames", "1-3,5,9", "--finish", str(account)]
    assert environment == [ENVIRONMENT["TRUE_DEPTH_BLENDER"], ENVIRONMENT["QUOTED"]]
    assert echo == ""
    options = sbatch_options(script.read_text())
    assert options == ["--job-name=true-depth-shot-finish", f"--output={tmp_path / 'logs'}/finish-%j.out",
                       f"--chdir={tmp_path / 'work'}", "--requeue", "--open-mode=append"]
    assert not any(option.startswith("--array") for option in options)


def test_the_finishing_job_runs_where_the_tasks_run_but_asks_for_no_cpus_or_gpus(tmp_path: Path,
                                                                                  launcher: Path) -> None:
    resources = Resources("long queue", "4:00:00", 8, "16G", "2", ("--account=vision", "--qos=low"))
    text = finish_script("n", [str(launcher)], {}, ["render"], [1], tmp_path / "a.json", tmp_path / "logs",
                         tmp_path, resources)
    assert sbatch_options(text)[5:] == ["--partition=long queue", "--time=4:00:00", "--mem=16G",
                                        "--account=vision", "--qos=low"]


def test_log_and_work_folders_with_a_space_reach_sbatch_whole(tmp_path: Path, launcher: Path) -> None:
    logs, work = tmp_path / "my renders" / "logs", tmp_path / "my work"
    text = array_script("n", [str(launcher)], {}, ["render"], [[1]], logs, work, Resources(), False)
    assert f"--output={logs}/task-%A_%a.out" in sbatch_options(text)
    assert f"--chdir={work}" in sbatch_options(text)
