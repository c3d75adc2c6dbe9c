"""``--jobs N``: split a job's frames over N worker processes, as a farm does.

Each worker is the same Blender (or the same Python with the bpy module) running the same command on
a contiguous part of the frames, writing straight into the shared output folder (each into its own
staging folder). The parent checks every output before any work, waits for all workers, reports the
first failure in one line, and writes the once-per-job files (COLMAP, nerfstudio) from the frames'
camera files.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .base import JobError, log

Argv = Callable[[list[int], list[str]], list[str]]
"""The worker's command-line arguments for its frames and output kinds."""


class Submit(ABC):
    """Frames made by a cluster's scheduler instead of here (``slurm render``, ``slurm convert``): the job checks
    everything it checks before any work, then hands over the frames left to make."""

    @abstractmethod
    def submit(self, folder: Path, job_frames: list[int], todo: list[int], view_suffixes: Sequence[str],
               request: object) -> int:
        """Submit ``todo`` (of the job's ``job_frames``) writing into ``folder``; returns the exit code."""


def chunks(frames: list[int], count: int) -> list[list[int]]:
    """``frames`` in at most ``count`` contiguous, nearly equal parts (none empty)."""
    count = max(1, min(count, len(frames)))
    size, extra = divmod(len(frames), count)
    parts, start = [], 0
    for index in range(count):
        end = start + size + (index < extra)
        parts.append(frames[start:end])
        start = end
    return parts


def worker_command(argv: list[str]) -> list[str]:
    """The command that runs the CLI with ``argv`` in a new process of this Blender (or bpy Python)."""
    import bpy

    package_parent = Path(__file__).resolve().parents[2]
    code = (f"import sys; sys.path.insert(0, {str(package_parent)!r}); "
            f"from depth_node.commands.cli import main; sys.exit(main({argv!r}))")
    binary = Path(bpy.app.binary_path) if bpy.app.binary_path else None
    if binary is not None and binary.is_file() and not binary.name.startswith("python"):
        return [str(binary), "-b", "--factory-startup", "--python-exit-code", "1", "--python-expr", code]
    return [sys.executable, "-c", code]


@dataclass(frozen=True)
class Split:
    """How a job is split: the number of workers and how to make a worker's arguments."""

    jobs: int
    argv: Argv

    def run(self, frames: list[int], kinds: list[str]) -> None:
        """Run the workers (in parallel) over ``frames``; a :class:`JobError` names the first that failed."""
        with tempfile.TemporaryDirectory(prefix="true-depth-workers-") as logs:
            running = []
            for index, part in enumerate(chunks(frames, self.jobs)):
                out, err = Path(logs) / f"{index}.out", Path(logs) / f"{index}.err"
                with out.open("w") as stdout, err.open("w") as stderr:
                    process = subprocess.Popen(worker_command(self.argv(part, kinds)), stdout=stdout, stderr=stderr,
                                               stdin=subprocess.DEVNULL)
                running.append((part, process, out, err))
            failures = []
            for part, process, out, err in running:
                code = process.wait()
                lines = [line for line in out.read_text().splitlines() if line.startswith("[true-depth]")]
                for line in lines:
                    print(line, flush=True)
                if code != 0:
                    reason = [line for line in err.read_text().splitlines() if line.strip()]
                    failures.append(f"frames {part[0]}-{part[-1]}: {reason[-1] if reason else f'exit {code}'}")
            if failures:
                raise JobError(f"{len(failures)} of {len(running)} workers failed; {failures[0]}")
        log(f"{len(frames)} frame(s) done by {len(running)} worker process(es)")
