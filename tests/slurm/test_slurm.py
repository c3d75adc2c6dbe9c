"""``slurm render`` and ``slurm convert`` on a real SLURM (a one-node cluster of Debian's packages): the array's
files equal one local render bit for bit; a cancelled task, then the same command with --resume, equals it too
with no partial file left; a failing frame fails its task and the wait names both; the once-per-job files are
written once, by the finishing job; the task's CPUs reach Cycles; bad input is one line and submits nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from conftest import SHOT_OUTPUTS, assert_same_files, submission, task_logs, true_depth, wait_until_ended


def error_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("true_depth: error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def known_jobs() -> set[str]:
    """Every job the controller remembers (ended ones too, for MinJobAge seconds)."""
    listed = subprocess.run(["scontrol", "-o", "show", "jobs"], capture_output=True, text=True, check=True).stdout
    return {word.split("=")[1] for word in listed.split() if word.startswith("JobId=")}


def test_a_three_task_array_equals_a_local_render_and_writes_the_job_files_once(cluster, scenes, local_shot,
                                                                               tmp_path: Path) -> None:
    result = true_depth("slurm", "render", scenes["shot"], "--output", tmp_path, "--outputs", SHOT_OUTPUTS,
                        "--tasks", "3", "--wait")
    assert result.returncode == 0, result.stdout + result.stderr
    folder = tmp_path / "Shot"
    assert_same_files(folder, local_shot)
    record = submission(folder)
    assert record["blocks"] == [[1, 2], [3, 4], [5, 6]]  # balanced, contiguous
    assert f"job array {record['array_job']}: 3 task(s) over 6 frame(s)" in result.stdout
    assert "slurm: 6/6 frames complete" in result.stdout
    logs = task_logs(folder, record["array_job"])
    assert sorted(logs) == [0, 1, 2]
    for index, text in logs.items():
        assert f"task {index} of 3: frames {index * 2 + 1}-{index * 2 + 2}" in text
        assert "Cycles on the CPU (1 thread: the task's CPUs)" in text  # one CPU each (the cluster's default)
        # each task writes its frames' 2 x 4 files and no once-per-job file
        assert "wrote 8 files under" in text and "frames: 2 made, 0 skipped (--resume), 0 failed" in text
    finish = (folder / "slurm" / "logs" / f"finish-{record['finish_job']}.out").read_text()
    assert "frames: 0 made, 6 skipped (--resume), 0 failed" in finish
    assert f"wrote 4 files under {folder}" in finish  # colmap/ (3) and transforms.json, once
    account = json.loads((folder / "slurm" / "account.json").read_text())
    assert account == {"frames": 6, "complete": "1-6", "incomplete": "", "complete_count": 6, "incomplete_count": 0}
    status = true_depth("slurm", "status", tmp_path)
    assert status.returncode == 0 and "6/6 frames complete" in status.stdout, status.stdout + status.stderr
    # the batch script is readable and resubmittable by hand: it names the launcher, the file and every block
    script = (folder / "slurm" / "render.sbatch").read_text()
    assert "#SBATCH --array=0-2" in script and "#SBATCH --requeue" in script and "blocks=(1-2 3-4 5-6)" in script
    assert f"{Path(__file__).resolve().parents[2] / 'tools' / 'true_depth.sh'} render {scenes['shot']}" in script


def test_a_cancelled_task_resumed_equals_one_local_render_without_partial_files(cluster, scenes,
                                                                                tmp_path: Path) -> None:
    outputs = "rgb,depth,camera,colmap"
    local = tmp_path / "local"
    made = true_depth("render", scenes["slow"], "--output", local, "--outputs", outputs)
    assert made.returncode == 0, made.stderr
    out = tmp_path / "cluster"
    submitted = true_depth("slurm", "render", scenes["slow"], "--output", out, "--outputs", outputs, "--tasks", "3")
    assert submitted.returncode == 0, submitted.stderr
    assert "slurm status" in submitted.stdout  # without --wait it returns at once, saying how to follow it
    folder = out / "Shot"
    record = submission(folder)
    array = record["array_job"]
    deadline, victim = time.monotonic() + 300, None
    while victim is None and time.monotonic() < deadline:  # a task that finished its first frame, not its second
        for index, text in task_logs(folder, array).items():
            if "(1/2)" in text and "(2/2)" not in text:
                victim = index
                break
        time.sleep(0.05)
    assert victim is not None, "no task was caught between its two frames"
    subprocess.run(["scancel", f"{array}_{victim}"], check=True)
    wait_until_ended([array, record["finish_job"]])
    status = true_depth("slurm", "status", out)
    first, second = record["blocks"][victim]
    assert status.returncode == 1, status.stdout + status.stderr
    assert f"not complete: {second}" in status.stdout and f"task {victim} (frames {second})" in status.stdout
    assert "CANCELLED" in status.stdout
    kept = {path.name: path.stat().st_mtime_ns for path in folder.glob("*_*.*")}
    resumed = true_depth("slurm", "render", scenes["slow"], "--output", out, "--outputs", outputs, "--tasks", "3",
                         "--resume", "--wait")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    again = submission(folder)
    assert again["blocks"] == [[second]]  # only the frame the cancelled task had not finished
    assert "one task per frame (1 tasks)" in resumed.stdout
    assert all(folder.joinpath(name).stat().st_mtime_ns == mtime for name, mtime in kept.items()
               if f"_{second:04d}" not in name)  # complete frames untouched
    assert_same_files(folder, local / "Shot")
    assert not [path for path in folder.rglob(".true-depth-partial-*")]  # no staging folder left


def test_a_frame_that_fails_fails_its_task_and_the_wait_names_both(cluster, scenes, tmp_path: Path) -> None:
    result = true_depth("slurm", "render", scenes["failing"], "--output", tmp_path, "--outputs", "depth,camera",
                        "--tasks", "2", "--wait")
    assert result.returncode == 1, result.stdout + result.stderr
    line = error_line(result)
    assert "3 of 6 frame(s) not complete: 4-6" in line
    assert "task 1 (frames 4-6): true_depth: error:" in line and "frame 4" in line and "--resume" in line
    folder = tmp_path / "Shot"
    account = json.loads((folder / "slurm" / "account.json").read_text())  # the finishing job still writes it
    assert (account["complete"], account["incomplete"]) == ("1-3", "4-6")
    assert sorted(path.name for path in folder.glob("depth_*.exr")) == [f"depth_000{i}.exr" for i in (1, 2, 3)]


def test_the_tasks_cpus_reach_cycles(cluster, scenes, tmp_path: Path) -> None:
    result = true_depth("slurm", "render", scenes["shot"], "--output", tmp_path, "--frames", "1-2",
                        "--outputs", "depth", "--cpus-per-task", "2", "--wait")
    assert result.returncode == 0, result.stdout + result.stderr
    record = submission(tmp_path / "Shot")
    (text,) = task_logs(tmp_path / "Shot", record["array_job"]).values()
    assert "Cycles on the CPU (2 threads: the task's CPUs)" in text
    assert "#SBATCH --cpus-per-task=2" in (tmp_path / "Shot" / "slurm" / "render.sbatch").read_text()


def test_slurm_convert_equals_a_local_convert(cluster, scenes, local_shot, tmp_path: Path) -> None:
    pattern = str(local_shot / "depth_####.exr")
    local = true_depth("convert", pattern, "--camera", scenes["shot"], "--to", "distance", "--output",
                       tmp_path / "local")
    assert local.returncode == 0, local.stderr
    result = true_depth("slurm", "convert", pattern, "--camera", scenes["shot"], "--to", "distance", "--output",
                        tmp_path / "cluster", "--frames-per-task", "4", "--wait")
    assert result.returncode == 0, result.stdout + result.stderr
    assert submission(tmp_path / "cluster" / "Shot")["blocks"] == [[1, 2, 3], [4, 5, 6]]  # 2 balanced tasks
    assert_same_files(tmp_path / "cluster" / "Shot", tmp_path / "local" / "Shot")


def test_bad_input_is_one_line_and_submits_nothing(cluster, scenes, tmp_path: Path) -> None:
    def submit(*extra: object, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
        return true_depth("slurm", "render", scenes["shot"], "--frames", "1-2", "--outputs", "depth", *extra,
                          env=env, cwd=cwd)

    before = known_jobs()
    bin_without_sbatch = tmp_path / "bin"  # PATH's programs, every one but sbatch (it shares /usr/bin with bash)
    bin_without_sbatch.mkdir()
    for part in os.environ["PATH"].split(":"):
        for program in Path(part).glob("*") if Path(part).is_dir() else ():
            link = bin_without_sbatch / program.name
            if program.name != "sbatch" and not link.exists():
                link.symlink_to(program)
    without = {**os.environ, "PATH": str(bin_without_sbatch)}
    assert shutil.which("sbatch", path=without["PATH"]) is None
    result = submit("--output", tmp_path / "a", env=without)
    assert result.returncode == 1 and "no sbatch on PATH" in error_line(result)
    assert not (tmp_path / "a").exists()

    result = submit("--output", tmp_path / "b", "--partition", "nosuchpartition")
    assert result.returncode == 1
    assert "sbatch refused render.sbatch: sbatch: error: Batch job submission failed: Invalid partition name" in (
        error_line(result))

    result = submit("--output", tmp_path / "c", "--gpus", "1")
    assert result.returncode == 1 and "--gpus goes with --device gpu" in error_line(result)

    (tmp_path / "d" / "Shot").mkdir(parents=True)
    (tmp_path / "d" / "Shot" / "depth_0002.exr").write_bytes(b"not yet")
    result = submit("--output", tmp_path / "d")
    assert result.returncode == 1 and "depth_0002.exr exists; pass --overwrite to replace" in error_line(result)
    assert not (tmp_path / "d" / "Shot" / "slurm").exists()
    assert known_jobs() == before  # none of the four submitted anything

    result = submit("--output", "relative", "--tasks", "5", "--wait", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"--output relative is relative: the tasks write to {tmp_path / 'relative'}" in result.stdout
    assert "5 tasks for 2 frame(s): one task per frame (2 tasks)" in result.stdout
    assert sorted(path.name for path in (tmp_path / "relative" / "Shot").glob("depth_*.exr")) == [
        "depth_0001.exr", "depth_0002.exr"]
