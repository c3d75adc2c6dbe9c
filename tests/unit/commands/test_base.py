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
    assert [base._clock(seconds) for seconds in (0.4, 65, 3725)] == ["0:00", "1:05", "1:02:05"]


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
