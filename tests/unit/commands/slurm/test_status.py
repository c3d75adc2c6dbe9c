"""What a submitted job has done (commands/slurm/status.py): the submission record, the frames complete in the
output folder, why tasks failed, the wait and ``slurm status``, with a fake squeue."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from depth_node.commands.base import JobError
from depth_node.commands.slurm import status
from depth_node.commands.slurm.status import Submission, Tracker, failure_line, find_submissions, task_reason

from ..written import truncate, write_frame
from .fake_slurm import calls, fake

KINDS = [("depth", "exr"), ("camera", "json")]


def submission(folder: Path, frames: list[int] | None = None, blocks: list[list[int]] | None = None,
               view_suffixes: tuple[str, ...] = ("",)) -> Submission:
    frames = frames if frames is not None else list(range(1, 10))
    blocks = blocks if blocks is not None else [frames[0:3], frames[3:6], frames[6:9]]
    made = Submission("render", str(folder), frames, blocks, list(KINDS), list(view_suffixes), "12", "13",
                      submitted=1700000000.5)
    made.log_folder.mkdir(parents=True, exist_ok=True)
    return made


def test_a_submission_reads_back_as_it_was_saved(tmp_path: Path) -> None:
    made = submission(tmp_path / "shot")
    path = made.save()
    assert path == tmp_path / "shot" / "slurm" / "submission.json"
    assert json.loads(path.read_text())["kinds"] == [["depth", "exr"], ["camera", "json"]]
    loaded = Submission.load(path)
    assert loaded == made
    assert loaded.kinds == [("depth", "exr"), ("camera", "json")]
    assert all(isinstance(kind, tuple) for kind in loaded.kinds)
    assert [kind.name for kind in loaded.output_kinds()] == ["depth", "camera"]
    assert loaded.account_path == tmp_path / "shot" / "slurm" / "account.json"
    assert loaded.log_folder == tmp_path / "shot" / "slurm" / "logs"


def test_the_kinds_keep_their_extension(tmp_path: Path) -> None:
    made = Submission("convert", str(tmp_path), [1], [[1]], [("depth", "npy")], [""])
    assert [(kind.name, kind.extension) for kind in made.output_kinds()] == [("depth", "npy")]
    assert made.array_job == made.finish_job == ""


@pytest.mark.parametrize("text", ["{not json", '{"command": "render"}', '{"kinds": [], "other": 1}', "[1, 2]"])
def test_a_broken_submission_is_one_line(tmp_path: Path, text: str) -> None:
    path = tmp_path / "submission.json"
    path.write_text(text)
    with pytest.raises(JobError) as error:
        Submission.load(path)
    assert str(error.value).startswith(f"{path}: not a submission of true_depth slurm (")
    assert "\n" not in str(error.value)


def test_a_missing_submission_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(JobError, match="not a submission of true_depth slurm"):
        Submission.load(tmp_path / "nothing.json")


def test_submissions_are_found_from_the_output_the_scene_or_the_file(tmp_path: Path) -> None:
    first, second = submission(tmp_path / "a"), submission(tmp_path / "b", [4])
    first.save()
    record = second.save()
    assert [found.folder for found in find_submissions(tmp_path)] == [first.folder, second.folder]
    assert [found.folder for found in find_submissions(tmp_path / "b")] == [second.folder]
    assert find_submissions(record) == [second]
    with pytest.raises(JobError) as error:
        find_submissions(tmp_path / "b" / "slurm")
    assert str(error.value) == (f"{tmp_path / 'b' / 'slurm'}: no SLURM submission here (looked for "
                                "slurm/submission.json and */slurm/submission.json)")


def test_the_tracker_counts_frames_whose_files_read_back_whole(tmp_path: Path) -> None:
    made = submission(tmp_path, [1, 2, 3, 4])
    for frame in (1, 2, 3):
        write_frame(tmp_path, frame)
    truncate(tmp_path / "depth_0002.exr")
    (tmp_path / "camera_0003.json").write_text('{"K": [[1, 0')  # cut short
    tracker = Tracker(made)
    assert tracker.update() == 1
    assert tracker.incomplete == [2, 3, 4]
    write_frame(tmp_path, 2)
    write_frame(tmp_path, 4)
    assert tracker.update() == 3
    assert tracker.incomplete == [3]


def test_a_frame_missing_a_view_is_not_complete(tmp_path: Path) -> None:
    made = submission(tmp_path, [1, 2], [[1, 2]], view_suffixes=("_L", "_R"))
    for suffix in ("_L", "_R"):
        write_frame(tmp_path, 1, suffix)
    write_frame(tmp_path, 2, "_L")
    write_frame(tmp_path, 2, "")  # a plain file is not the right view
    tracker = Tracker(made)
    assert tracker.update() == 1
    assert tracker.incomplete == [2]


def test_a_task_s_reason_is_its_error_line(tmp_path: Path) -> None:
    made = submission(tmp_path)
    (made.log_folder / "task-12_0.out").write_text(
        "[true-depth] task 0 of 3: frames 1-3 on n1, run 0\nBlender 4.5 error: not this one\n"
        "true_depth: error: frame 2: Blender did not write depth_0002.exr (disk full or not writable?)\n"
        "slurmstepd: error: *** JOB 14 ON n1 CANCELLED AT 2025-01-01T10:00:00 ***\n")
    assert task_reason(made, 0) == ("true_depth: error: frame 2: Blender did not write depth_0002.exr (disk full or "
                                    "not writable?)")
    (made.log_folder / "task-12_1.out").write_text(
        "[true-depth] task 1 of 3: frames 4-6 on vm, run 0\n"
        "  slurmstepd: error: *** JOB 7 ON vm CANCELLED AT 2025-01-01T10:00:00 ***  \n")
    assert task_reason(made, 1) == "slurmstepd: error: *** JOB 7 ON vm CANCELLED AT 2025-01-01T10:00:00 ***"
    (made.log_folder / "task-12_2.out").write_text("[true-depth] task 2 of 3: frames 7-9 on vm, run 0\nsome error: x\n"
                                                   "another error: y\n")
    assert task_reason(made, 2) == "another error: y"


def test_a_task_without_log_or_error_line(tmp_path: Path) -> None:
    made = submission(tmp_path)
    log = made.log_folder / "task-12_0.out"
    assert task_reason(made, 0) == f"no log ({log})"
    log.write_text("[true-depth] task 0 of 3: frames 1-3 on vm, run 0\n[true-depth] frame 1 (1/3)\n")
    assert task_reason(made, 0) == f"ended without an error line (see {log})"
    log.write_bytes(b"\xff\xfe true_depth: error: bad \xff bytes\n")
    assert task_reason(made, 0) == "\ufffd\ufffd true_depth: error: bad \ufffd bytes"


def test_the_failure_line_names_frames_and_tasks(tmp_path: Path) -> None:
    made = submission(tmp_path, list(range(1, 11)), [[1, 2, 3], [4, 5, 6], [7, 8, 9]])  # 10: kept by --resume
    (made.log_folder / "task-12_2.out").write_text("true_depth: error: out of memory\n")
    line = failure_line(made, [2, 3, 8, 9, 10])
    assert line == (f"5 of 10 frame(s) not complete: 2-3,8-10; task 0 (frames 2-3): no log "
                    f"({made.log_folder / 'task-12_0.out'}); task 2 (frames 8-9): true_depth: error: out of memory; "
                    f"frames 10 were in no task of this submission; logs in {made.log_folder}; resubmit the same "
                    "command with --resume")


@pytest.fixture()
def ended(bin_dir: Path) -> Path:
    """squeue lists none of the jobs: they have ended."""
    fake(bin_dir, "squeue", "exit 0")
    return bin_dir


def test_wait_returns_0_when_every_frame_and_the_account_are_there(tmp_path: Path, ended: Path,
                                                                   capsys: pytest.CaptureFixture) -> None:
    made = submission(tmp_path / "shot", [1, 2], [[1, 2]])
    for frame in (1, 2):
        write_frame(tmp_path / "shot", frame)
    made.account_path.write_text("{}\n")
    assert status.wait(made, interval=0.0, queue_interval=0.0) == 0
    assert calls(ended, "squeue") == [["-h", "-j", "12,13", "-o", "%i %T"]]
    assert capsys.readouterr().out.splitlines() == [
        "[true-depth] slurm: 2/2 frames complete",
        f"[true-depth] slurm: all 2 frame(s) complete; the once-per-job files and the account are in {made.folder}"]


def test_wait_names_the_frames_and_tasks_that_failed(tmp_path: Path, ended: Path) -> None:
    made = submission(tmp_path, [1, 2, 3, 4], [[1, 2], [3, 4]])
    write_frame(tmp_path, 1)
    write_frame(tmp_path, 2)
    write_frame(tmp_path, 4)
    truncate(tmp_path / "depth_0004.exr")
    (made.log_folder / "task-12_1.out").write_text("slurmstepd: error: *** JOB 15 ON vm DUE TO TIME LIMIT ***\n")
    made.account_path.write_text("{}\n")
    with pytest.raises(JobError) as error:
        status.wait(made, interval=0.0, queue_interval=0.0)
    assert str(error.value) == failure_line(made, [3, 4])
    assert str(error.value).startswith("2 of 4 frame(s) not complete: 3-4; task 1 (frames 3-4): slurmstepd: error: "
                                       "*** JOB 15 ON vm DUE TO TIME LIMIT ***; logs in ")


def test_wait_refuses_when_the_finishing_job_wrote_no_account(tmp_path: Path, ended: Path) -> None:
    made = submission(tmp_path, [1], [[1]])
    write_frame(tmp_path, 1)
    with pytest.raises(JobError) as error:
        status.wait(made, interval=0.0, queue_interval=0.0)
    assert str(error.value) == (f"every frame is complete, but the finishing job 13 wrote no account (see "
                                f"{made.log_folder}); rerun the same command with --resume to finish")


def test_wait_follows_the_jobs_until_they_end(tmp_path: Path, bin_dir: Path, capsys: pytest.CaptureFixture) -> None:
    """squeue lists the array twice (a frame is written meanwhile), then nothing."""
    made = submission(tmp_path, [1, 2], [[1], [2]])
    write_frame(tmp_path, 1)
    made.account_path.write_text("{}\n")
    counter = bin_dir / "count"
    frame_2 = tmp_path / "depth_0002.exr"
    # the second squeue call writes frame 2 (copied from frame 1: every file whole) while the task "runs"
    fake(bin_dir, "squeue", f"n=$(cat '{counter}' 2>/dev/null || echo 0); echo $((n + 1)) > '{counter}'\n"
                            f"if [ $n -eq 1 ]; then cp '{tmp_path / 'depth_0001.exr'}' '{frame_2}'; "
                            f"cp '{tmp_path / 'camera_0001.json'}' '{tmp_path / 'camera_0002.json'}'; fi\n"
                            'if [ $n -lt 2 ]; then echo "12_1 RUNNING"; fi')
    assert status.wait(made, interval=0.0, queue_interval=0.0) == 0
    assert len(calls(bin_dir, "squeue")) == 3
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "[true-depth] slurm: 1/2 frames complete"
    assert lines[1].startswith("[true-depth] slurm: 2/2 frames complete")
    assert "ETA" not in lines[1]  # nothing is left
    assert lines[2].startswith("[true-depth] slurm: all 2 frame(s) complete")


def test_wait_asks_squeue_at_once_when_the_account_is_written(tmp_path: Path, bin_dir: Path) -> None:
    """squeue is asked every queue_interval, but at once when the finishing job has written the account."""
    made = submission(tmp_path, [1], [[1]])
    write_frame(tmp_path, 1)
    counter = bin_dir / "count"
    # the first answer: the finishing job runs, and writes the account; the second: it has ended
    fake(bin_dir, "squeue", f"if [ -e '{counter}' ]; then exit 0; fi; touch '{counter}'\n"
                            f"echo '{{}}' > '{made.account_path}'; echo \"13 RUNNING\"")
    started = time.monotonic()
    assert status.wait(made, interval=0.01, queue_interval=1000.0) == 0
    assert time.monotonic() - started < 100
    assert len(calls(bin_dir, "squeue")) == 2


def test_wait_asks_squeue_only_every_queue_interval(tmp_path: Path, bin_dir: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    made = submission(tmp_path, [1], [[1]])
    fake(bin_dir, "squeue", 'echo "12_0 RUNNING"')
    sleeps = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 5:  # the task "finishes" its frame and the finishing job its account
            write_frame(tmp_path, 1)
            made.account_path.write_text("{}\n")
            fake(bin_dir, "squeue", "exit 0")

    monkeypatch.setattr(status.time, "sleep", sleep)
    assert status.wait(made, interval=0.5, queue_interval=1000.0) == 0
    assert sleeps == [0.5] * 5
    assert len(calls(bin_dir, "squeue")) == 2  # the first round, then at once once the account is there


def test_wait_gives_up_when_squeue_does_not_answer(tmp_path: Path, bin_dir: Path) -> None:
    made = submission(tmp_path, [1], [[1]])
    fake(bin_dir, "squeue", 'echo "squeue: error: Unable to contact slurm controller" >&2; exit 1')
    with pytest.raises(JobError) as error:
        status.wait(made, interval=0.01, queue_interval=0.0, patience=0.05)
    assert str(error.value) == (f"squeue has not answered for 0 s; the jobs may still run: true_depth slurm status "
                                f"{made.folder}")


def test_status_exit_codes(tmp_path: Path, bin_dir: Path, capsys: pytest.CaptureFixture) -> None:
    made = submission(tmp_path / "shot", [1, 2], [[1, 2]])
    made.save()
    write_frame(tmp_path / "shot", 1)
    write_frame(tmp_path / "shot", 2)
    fake(bin_dir, "squeue", 'echo "12_0 RUNNING"; echo "13 PENDING"')
    assert status.run_status(tmp_path) == 3
    assert capsys.readouterr().out.splitlines() == [
        f"[true-depth] {made.folder}: 2/2 frames complete; array job 12, finishing job 13; queued: 12_0 RUNNING, "
        "13 PENDING"]
    fake(bin_dir, "squeue", "exit 0")
    assert status.run_status(tmp_path) == 1  # the finishing job wrote no account
    assert "wrote no account" in capsys.readouterr().out
    made.account_path.write_text("{}\n")
    assert status.run_status(tmp_path / "shot") == 0
    assert capsys.readouterr().out.splitlines() == [
        f"[true-depth] {made.folder}: 2/2 frames complete; array job 12, finishing job 13"]
    truncate(tmp_path / "shot" / "depth_0002.exr")
    assert status.run_status(tmp_path / "shot" / "slurm" / "submission.json") == 1
    assert capsys.readouterr().out.splitlines()[1] == "[true-depth] " + failure_line(made, [2])


def test_status_of_several_submissions_a_failure_outweighs_a_running_job(tmp_path: Path, bin_dir: Path) -> None:
    failed, running = submission(tmp_path / "a", [1], [[1]]), submission(tmp_path / "b", [1], [[1]])
    failed.array_job, failed.finish_job = "20", "21"
    failed.save()
    running.save()
    write_frame(tmp_path / "b", 1)
    fake(bin_dir, "squeue", 'for job in ${3//,/ }; do [ "$job" = 12 ] && echo "12_0 RUNNING"; done; exit 0')
    assert status.run_status(tmp_path) == 1
    assert status.run_status(tmp_path / "b") == 3


def test_status_when_squeue_does_not_answer(tmp_path: Path, bin_dir: Path, capsys: pytest.CaptureFixture) -> None:
    made = submission(tmp_path, [1], [[1]])
    made.save()
    fake(bin_dir, "squeue", 'echo "squeue: error: Unable to contact slurm controller" >&2; exit 1')
    assert status.run_status(tmp_path) == 3
    assert capsys.readouterr().out.rstrip().endswith("; squeue did not answer")
