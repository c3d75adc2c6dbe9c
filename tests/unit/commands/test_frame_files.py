"""A job's frames on disk (commands/frame_files.py): which frames ``--resume`` keeps, the account ``--finish`` (the
finishing job of ``slurm``) writes, and which staging folders belong to jobs that ended."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from depth_node.commands import frame_files
from depth_node.commands.base import STAGING_PREFIX, JobError, staging_owner
from depth_node.commands.frame_files import Request, clear_stale_staging, is_stale, plan_frames, write_account
from depth_node.core import outputs

from .written import truncate, write_frame

REQUEST = Request(outputs.select(["depth", "camera", "colmap"]), outputs.Options())
"""Two per-frame kinds, and a once-per-job one (never a frame's file)."""


@pytest.fixture()
def outside_slurm(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def staging_folder(folder: Path, owner: str, suffix: str = "k3x_9q") -> Path:
    path = folder / f"{STAGING_PREFIX}{owner}-{suffix}" if owner else folder / f"{STAGING_PREFIX}{suffix}"
    path.mkdir(parents=True)
    (path / "depth_0001.exr").write_bytes(b"half a frame")
    return path


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def this_host() -> str:
    return staging_owner().rpartition("-")[0]


def test_without_resume_every_frame_is_made(tmp_path: Path, outside_slurm: pytest.MonkeyPatch) -> None:
    write_frame(tmp_path, 2)
    stale = staging_folder(tmp_path, f"{this_host()}-{dead_pid()}")
    assert plan_frames(tmp_path, [3, 1, 2], REQUEST) == ([3, 1, 2], [])
    assert stale.is_dir()  # nothing is looked at, nothing removed


def test_resume_keeps_the_complete_frames(tmp_path: Path, outside_slurm: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture) -> None:
    for frame in (1, 2, 3, 4):
        write_frame(tmp_path, frame)
    truncate(tmp_path / "depth_0002.exr")
    (tmp_path / "camera_0003.json").unlink()
    stale = staging_folder(tmp_path, f"{this_host()}-{dead_pid()}")
    assert plan_frames(tmp_path, [1, 2, 3, 4, 5], REQUEST, resume=True) == ([2, 3, 5], [1, 4])
    assert not stale.exists()
    assert capsys.readouterr().out == ("[true-depth] --resume: 2 complete frame(s) kept, 3 to make; removed 1 staging "
                                       "folder(s) of an interrupted run\n")


def test_resume_redoes_a_frame_missing_a_view(tmp_path: Path, outside_slurm: pytest.MonkeyPatch) -> None:
    for suffix in ("_L", "_R"):
        write_frame(tmp_path, 1, suffix)
    write_frame(tmp_path, 2, "_L")
    assert plan_frames(tmp_path, [1, 2], REQUEST, ("_L", "_R"), resume=True) == ([2], [1])


def test_finish_with_every_frame_complete_writes_the_account(tmp_path: Path) -> None:
    for frame in (1, 2, 3, 5):
        write_frame(tmp_path, frame)
    account = tmp_path / "slurm" / "account.json"
    assert plan_frames(tmp_path, [1, 2, 3, 5], REQUEST, finish=account) == ([], [1, 2, 3, 5])
    assert json.loads(account.read_text()) == {"frames": 4, "complete": "1-3,5", "incomplete": "",
                                               "complete_count": 4, "incomplete_count": 0}
    assert list(account.parent.iterdir()) == [account]  # no partial file left


def test_finish_refuses_incomplete_frames_by_number(tmp_path: Path) -> None:
    for frame in (1, 3, 5, 6):
        write_frame(tmp_path, frame)
    truncate(tmp_path / "camera_0006.json")
    account = tmp_path / "account.json"
    with pytest.raises(JobError) as error:
        plan_frames(tmp_path, [1, 2, 3, 4, 5, 6], REQUEST, resume=True, finish=account)
    assert str(error.value) == ("3 of 6 frame(s) not complete: 2,4,6; the once-per-job files are written when every "
                                "frame is (resubmit with --resume)")
    assert json.loads(account.read_text()) == {"frames": 6, "complete": "1,3,5", "incomplete": "2,4,6",
                                               "complete_count": 3, "incomplete_count": 3}


def test_finish_removes_every_staging_folder(tmp_path: Path, outside_slurm: pytest.MonkeyPatch) -> None:
    write_frame(tmp_path, 1)
    folders = [staging_folder(tmp_path, "slurm-12_0"), staging_folder(tmp_path, f"{this_host()}-{os.getpid()}"),
               staging_folder(tmp_path, "elsewhere-4242")]
    plan_frames(tmp_path, [1], REQUEST, finish=tmp_path / "account.json")
    assert not any(folder.exists() for folder in folders)


def test_the_account_replaces_an_earlier_one(tmp_path: Path) -> None:
    path = tmp_path / "new" / "account.json"
    write_account(path, [1, 2, 3], [1, 3], [2])
    write_account(path, range(1, 5), [1, 2, 3, 4], [])
    assert json.loads(path.read_text()) == {"frames": 4, "complete": "1-4", "incomplete": "", "complete_count": 4,
                                            "incomplete_count": 0}
    assert path.read_text().endswith("}\n")
    assert sorted(item.name for item in path.parent.iterdir()) == ["account.json"]


def test_staging_folders_of_this_host_s_processes(tmp_path: Path, outside_slurm: pytest.MonkeyPatch) -> None:
    alive = staging_folder(tmp_path, f"{this_host()}-{os.getpid()}", "a")
    dead = staging_folder(tmp_path, f"{this_host()}-{dead_pid()}", "b")
    assert not is_stale(alive)
    assert is_stale(dead)
    assert not is_stale(staging_folder(tmp_path, f"{this_host()}-x7", "c"))  # not a pid: not this tool's name
    assert is_stale(alive, finishing=True)


def test_staging_folders_of_other_hosts_are_kept(tmp_path: Path, outside_slurm: pytest.MonkeyPatch) -> None:
    other = staging_folder(tmp_path, f"not_{this_host()}-{dead_pid()}")
    assert not is_stale(other)
    assert is_stale(other, finishing=True)


def test_staging_folders_of_slurm_tasks(tmp_path: Path, outside_slurm: pytest.MonkeyPatch) -> None:
    own = staging_folder(tmp_path, "slurm-12_3", "a")
    other_task = staging_folder(tmp_path, "slurm-12_4", "b")
    other_job = staging_folder(tmp_path, "slurm-12", "c")
    outside_slurm.setenv("SLURM_JOB_ID", "19")  # a requeued task has a new job id, the same array task
    outside_slurm.setenv("SLURM_ARRAY_JOB_ID", "12")
    outside_slurm.setenv("SLURM_ARRAY_TASK_ID", "3")
    assert is_stale(own)  # its own earlier run, requeued
    assert not is_stale(other_task)
    assert not is_stale(other_job)
    assert clear_stale_staging(tmp_path) == 1
    assert not own.exists() and other_task.is_dir() and other_job.is_dir()
    assert clear_stale_staging(tmp_path, finishing=True) == 2
    assert not other_task.exists() and not other_job.exists()


def test_a_slurm_task_keeps_this_host_s_other_processes_folders(tmp_path: Path,
                                                               outside_slurm: pytest.MonkeyPatch) -> None:
    host = this_host()
    local = staging_folder(tmp_path, f"{host}-{os.getpid()}")
    outside_slurm.setenv("SLURM_ARRAY_JOB_ID", "12")
    outside_slurm.setenv("SLURM_ARRAY_TASK_ID", "3")
    assert not is_stale(local)
    assert not is_stale(staging_folder(tmp_path, "slurm-12_30"))


def test_staging_folders_without_an_owner_are_stale(tmp_path: Path, outside_slurm: pytest.MonkeyPatch) -> None:
    older = tmp_path / ".true-depth-partial-abc123"
    older.mkdir()
    assert is_stale(older)
    assert clear_stale_staging(tmp_path) == 1
    assert not older.exists()


def test_clearing_skips_files_and_missing_folders(tmp_path: Path, outside_slurm: pytest.MonkeyPatch) -> None:
    (tmp_path / f"{STAGING_PREFIX}abc").write_text("a file, not a staging folder")
    (tmp_path / "depth_0001.exr").write_text("a frame")
    assert clear_stale_staging(tmp_path) == 0
    assert clear_stale_staging(tmp_path, finishing=True) == 0
    assert (tmp_path / f"{STAGING_PREFIX}abc").is_file()
    assert clear_stale_staging(tmp_path / "nothing") == 0
    assert frame_files.resume_plan(tmp_path / "nothing", [1, 2], REQUEST) == ([1, 2], [])
