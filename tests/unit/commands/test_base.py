"""What every job shares (commands/base.py): progress lines, and the buffers a job keeps for its next frame."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

KEPT_AFTER_FREE = """
import os, sys
import numpy as np
sys.path.insert(0, {repo!r})
from depth_node.commands import base
print(base.keep_large_buffers() if {keep} else "off")
def resident():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
frame = np.ones(200 << 20, dtype=np.uint8)  # a frame-sized buffer, filled
during = resident()
del frame
print((during - resident()) >> 20)  # MiB returned to the system when it was freed
"""


def test_progress_lines_give_seconds_per_frame_and_time_left(capsys: pytest.CaptureFixture, monkeypatch) -> None:
    from depth_node.commands import base

    clock = iter([100.0, 102.0, 106.0])
    monkeypatch.setattr(base.time, "perf_counter", lambda: next(clock))
    progress = base.Progress(4, "shot: ")
    progress.tick(7, " -> a")
    progress.tick(8, " -> b")
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["[true-depth] shot: frame 7 (1/4) 2.00 s/frame, ETA 0:06 -> a",
                     "[true-depth] shot: frame 8 (2/4) 3.00 s/frame, ETA 0:06 -> b"]
    assert [base.clock(seconds) for seconds in (0.4, 65, 3725)] == ["0:00", "1:05", "1:02:05"]


@pytest.mark.skipif(not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None,
                    reason="the setting is glibc's")
def test_jobs_keep_frame_sized_buffers_for_the_next_frame() -> None:
    """What the CLI sets for its jobs (docs/benchmarks.md: on 5.3 a 1080p buffer was mapped, faulted in (~6,100
    pages) and returned on every frame without it): a freed frame-sized buffer stays for reuse."""
    returned = {}
    for keep in (False, True):
        code = KEPT_AFTER_FREE.format(repo=str(Path(__file__).resolve().parents[3]), keep=keep)
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        flag, mib = result.stdout.split()
        returned[keep] = int(mib)
    assert flag == "True"
    assert returned[False] >= 190, "by default glibc maps such a buffer and returns it on free"
    assert returned[True] <= 10, "with the jobs' setting it stays in the heap for the next frame"


SLURM_VARIABLES = ("SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_CPUS_PER_TASK",
                   "SLURM_JOB_CPUS_PER_NODE")


@pytest.fixture()
def outside_slurm(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in SLURM_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_frame_ranges_are_sorted_runs() -> None:
    from depth_node.commands.base import frame_ranges

    assert frame_ranges([9, 1, 3, 2, 7, 8, 5]) == "1-3,5,7-9"
    assert frame_ranges([4, 4, 5, 4]) == "4-5"
    assert frame_ranges([12]) == "12"
    assert frame_ranges([2, 4, 6]) == "2,4,6"
    assert frame_ranges(range(1, 251)) == "1-250"
    assert frame_ranges(frame for frame in (0, 1, 10)) == "0-1,10"
    assert frame_ranges([]) == ""


def test_a_slurm_task_s_cpus(outside_slurm: pytest.MonkeyPatch) -> None:
    from depth_node.commands.base import allocated_cpus, slurm_cpus

    outside_slurm.setenv("SLURM_CPUS_PER_TASK", "6")
    assert slurm_cpus() is None  # not in a SLURM job: the variable is left over
    outside_slurm.setenv("SLURM_JOB_ID", "77")
    assert slurm_cpus() == 6
    assert allocated_cpus() == 6
    outside_slurm.delenv("SLURM_CPUS_PER_TASK")
    outside_slurm.setenv("SLURM_JOB_CPUS_PER_NODE", "2(x3)")
    assert slurm_cpus() == 2
    outside_slurm.setenv("SLURM_JOB_CPUS_PER_NODE", "12,4(x2)")
    assert slurm_cpus() == 12
    outside_slurm.setenv("SLURM_CPUS_PER_TASK", "0")  # not a count: the job's CPUs on this node
    assert slurm_cpus() == 12
    outside_slurm.setenv("SLURM_JOB_CPUS_PER_NODE", "")
    outside_slurm.setenv("SLURM_CPUS_PER_TASK", "many")
    assert slurm_cpus() is None


def test_allocated_cpus_outside_slurm_are_this_process_s(outside_slurm: pytest.MonkeyPatch) -> None:
    from depth_node.commands.base import allocated_cpus

    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert allocated_cpus() == expected >= 1
    outside_slurm.setenv("SLURM_JOB_ID", "77")  # a job that gives no CPU count
    assert allocated_cpus() == expected


def test_staging_owner_of_an_array_task_a_job_and_a_process(outside_slurm: pytest.MonkeyPatch) -> None:
    from depth_node.commands import base

    outside_slurm.setattr(base.socket, "gethostname", lambda: "node-07.cluster.example.org")
    assert base.staging_owner() == f"node_07-{os.getpid()}"
    outside_slurm.setenv("SLURM_JOB_ID", "15")
    assert base.staging_owner() == "slurm-15"
    outside_slurm.setenv("SLURM_ARRAY_JOB_ID", "12")
    assert base.staging_owner() == "slurm-15"  # not a task of an array without its index
    outside_slurm.setenv("SLURM_ARRAY_TASK_ID", "3")
    assert base.staging_owner() == "slurm-12_3"  # the same when SLURM requeues the task (a new job id)


def test_staging_folders_are_named_after_their_owner(tmp_path: Path, outside_slurm: pytest.MonkeyPatch) -> None:
    from depth_node.commands import base

    outside_slurm.setenv("SLURM_ARRAY_JOB_ID", "12")
    outside_slurm.setenv("SLURM_ARRAY_TASK_ID", "3")
    with base.staging(tmp_path / "out") as first, base.staging(tmp_path / "out") as second:
        assert first.parent == second.parent == tmp_path / "out" and first != second
        assert first.is_dir() and first.name.startswith(".true-depth-partial-slurm-12_3-")
        suffix = first.name.removeprefix(".true-depth-partial-slurm-12_3-")
        assert suffix and "-" not in suffix  # so that the owner reads back (frame_files.is_stale)
        (first / "depth_0001.exr").write_bytes(b"partial")
    assert not first.exists() and not second.exists()
    outside_slurm.delenv("SLURM_ARRAY_JOB_ID")
    outside_slurm.delenv("SLURM_ARRAY_TASK_ID")
    with base.staging(tmp_path) as path:
        assert path.name.startswith(f"{base.STAGING_PREFIX}{base.staging_owner()}-")
        assert base.staging_owner().endswith(f"-{os.getpid()}")


def test_staging_in_a_folder_that_cannot_be_made(tmp_path: Path) -> None:
    from depth_node.commands import base

    (tmp_path / "file").write_text("x")
    with pytest.raises(base.JobError, match="^cannot write to "), base.staging(tmp_path / "file" / "out"):
        pass
