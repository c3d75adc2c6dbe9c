"""sbatch, squeue and scancel as commands/slurm/scheduler.py calls them: fake commands first on PATH record their
arguments and answer as SLURM does."""

from __future__ import annotations

from pathlib import Path

import pytest

from depth_node.commands.base import JobError
from depth_node.commands.slurm import scheduler

from .fake_slurm import calls, fake


def test_submit_returns_the_job_id_of_a_parsable_answer(bin_dir: Path, tmp_path: Path) -> None:
    fake(bin_dir, "sbatch", 'echo "42;cluster"')
    script = tmp_path / "my jobs" / "render.sbatch"
    assert scheduler.submit(script, ["--dependency=afterany:7", "--hold"]) == "42"
    assert calls(bin_dir, "sbatch") == [["--parsable", "--dependency=afterany:7", "--hold", str(script)]]
    assert scheduler.sbatch() == str(bin_dir / "sbatch")


def test_submit_returns_a_plain_job_id(bin_dir: Path, tmp_path: Path) -> None:
    fake(bin_dir, "sbatch", 'echo "  1234  "')
    assert scheduler.submit(tmp_path / "a.sbatch") == "1234"
    assert calls(bin_dir, "sbatch") == [["--parsable", str(tmp_path / "a.sbatch")]]


def test_a_refused_submission_is_one_line_with_sbatch_s_last_line(bin_dir: Path, tmp_path: Path) -> None:
    fake(bin_dir, "sbatch", 'echo "sbatch: warning: something" >&2\n'
                            'echo "sbatch: error: Batch job submission failed: Invalid partition name specified" >&2\n'
                            'echo "" >&2\nexit 1')
    with pytest.raises(JobError) as error:
        scheduler.submit(tmp_path / "render.sbatch")
    assert str(error.value) == ("sbatch refused render.sbatch: sbatch: error: Batch job submission failed: Invalid "
                                "partition name specified")


def test_a_refusal_without_a_message_gives_the_exit_code(bin_dir: Path, tmp_path: Path) -> None:
    fake(bin_dir, "sbatch", "exit 3")
    with pytest.raises(JobError, match=r"^sbatch refused finish\.sbatch: exit 3$"):
        scheduler.submit(tmp_path / "finish.sbatch")


def test_without_sbatch_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(JobError, match="^no sbatch on PATH: "):
        scheduler.sbatch()
    with pytest.raises(JobError, match="^no sbatch on PATH: "):
        scheduler.submit(tmp_path / "render.sbatch")


def test_cancel_calls_scancel_with_the_job(bin_dir: Path) -> None:
    fake(bin_dir, "scancel", "exit 1")  # an error of scancel is not raised: the job may have ended already
    scheduler.cancel("42")
    assert calls(bin_dir, "scancel") == [["42"]]


def test_states_of_array_tasks_and_jobs(bin_dir: Path) -> None:
    fake(bin_dir, "squeue", 'printf "12_0 RUNNING\\n12_1 PENDING\\n13 PENDING\\n\\n"')
    assert scheduler.states(["12", "13"]) == {"12_0": "RUNNING", "12_1": "PENDING", "13": "PENDING"}
    assert calls(bin_dir, "squeue") == [["-h", "-j", "12,13", "-o", "%i %T"]]
    assert scheduler.active(["12", "13"]) is True


def test_a_pending_array_is_one_line_and_active(bin_dir: Path) -> None:
    fake(bin_dir, "squeue", 'echo "12_[0-5] PENDING"')
    assert scheduler.states(["12"]) == {"12_[0-5]": "PENDING"}
    assert scheduler.active(["12"]) is True


def test_jobs_that_ended_are_not_active(bin_dir: Path) -> None:
    fake(bin_dir, "squeue", "exit 0")
    assert scheduler.states(["12"]) == {}
    assert scheduler.active(["12"]) is False
    fake(bin_dir, "squeue", 'echo "12_3 COMPLETED"; echo "13 CANCELLED"')
    assert scheduler.active(["12", "13"]) is False
    fake(bin_dir, "squeue", 'echo "12_3 COMPLETED"; echo "13 COMPLETING"')
    assert scheduler.active(["12", "13"]) is True


def test_jobs_that_left_squeue_s_memory_are_ended(bin_dir: Path) -> None:
    fake(bin_dir, "squeue", 'echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1')
    assert scheduler.states(["12"]) == {}
    assert scheduler.active(["12"]) is False


def test_a_squeue_that_cannot_answer(bin_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake(bin_dir, "squeue", 'echo "squeue: error: Unable to contact slurm controller (connect failure)" >&2; exit 1')
    assert scheduler.states(["12"]) is None
    assert scheduler.active(["12"]) is None
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert scheduler.states(["12"]) is None
    assert scheduler.active(["12"]) is None
