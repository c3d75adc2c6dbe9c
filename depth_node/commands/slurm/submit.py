"""Hand a job's frames to SLURM: the :class:`~depth_node.commands.workers.Submit` of ``slurm render`` and
``slurm convert``. The job has checked everything it checks before any work (outputs free or ``--resume``d, the
kinds its cameras can give); this writes the batch scripts, submits the array and the finishing job, and waits
when asked."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..base import JobError, frame_ranges, log
from ..frame_files import Request
from ..workers import Submit
from . import batch, scheduler, status

PASSED_ON = ("TRUE_DEPTH_BLENDER", "BLENDER", "TRUE_DEPTH_VENV_DIR", "TRUE_DEPTH_PYTHON_3_11", "TRUE_DEPTH_PYTHON_3_13")
"""What picks the Blender of tools/true_depth.sh: the tasks run the same one."""


def launcher() -> tuple[list[str], dict[str, str]]:
    """The command (and environment) that runs this CLI as the submitting command did: tools/true_depth.sh (it
    sets ``TRUE_DEPTH_LAUNCHER``), an installed extension's ``blender -c true_depth``, or this Python."""
    script = os.environ.get("TRUE_DEPTH_LAUNCHER")
    if script:
        return [str(Path(script).resolve())], {name: os.environ[name] for name in PASSED_ON if name in os.environ}
    package_parent = str(Path(__file__).resolve().parents[3])
    try:
        import bpy  # noqa: PLC0415  (only inside Blender)
    except ImportError:
        return [sys.executable, "-m", "depth_node"], {"PYTHONPATH": package_parent}
    binary = Path(bpy.app.binary_path) if bpy.app.binary_path else None
    if binary is not None and binary.is_file() and not binary.name.startswith("python"):
        return [str(binary), "-c", "true_depth"], {}  # the extension registers the command: no --factory-startup
    return [sys.executable, "-m", "depth_node"], {"PYTHONPATH": package_parent}


@dataclass(frozen=True)
class Slurm(Submit):
    """``slurm render`` / ``slurm convert``: ``arguments`` are the command's own (absolute paths; no --frames,
    --overwrite or --resume: each task gets its frames and ``--resume``)."""

    command: str
    arguments: tuple[str, ...]
    tasks: int | None = None
    frames_per_task: int | None = None
    resources: batch.Resources = batch.Resources()
    wait: bool = False
    overwrite: bool = False

    def submit(self, folder: Path, job_frames: list[int], todo: list[int], view_suffixes: Sequence[str],
               request: Request) -> int:
        per_frame = [kind for kind in request.kinds if kind.per_frame]
        blocks = []
        if todo and per_frame:
            if self.tasks is not None and self.tasks > len(todo):
                log(f"slurm: {self.tasks} tasks for {len(todo)} frame(s): one task per frame ({len(todo)} tasks)")
            blocks = batch.task_blocks(todo, self.tasks, self.frames_per_task)
        kinds = [(kind.name, kind.extension) for kind in per_frame]
        submission = status.Submission(self.command, str(folder), list(job_frames), blocks, kinds, list(view_suffixes))
        submission.log_folder.mkdir(parents=True, exist_ok=True)
        submission.account_path.unlink(missing_ok=True)  # the account of this submission, not of an earlier one
        command, environment = launcher()
        name = f"true-depth-{folder.name}"
        arguments = [self.command, *self.arguments]
        every_kind = ["--outputs", ",".join(kind.name for kind in request.kinds)]
        task_kinds = ["--outputs", ",".join(kind.name for kind in per_frame)]  # the once-per-job files: once
        workdir = Path.cwd()
        scripts = submission.slurm_folder
        finish = scripts / "finish.sbatch"
        finish.write_text(batch.finish_script(name, command, environment, arguments + every_kind, job_frames,
                                              submission.account_path, submission.log_folder, workdir,
                                              self.resources))
        dependency: list[str] = []
        if blocks:
            array = scripts / f"{self.command}.sbatch"
            array.write_text(batch.array_script(name, command, environment, arguments + task_kinds, blocks,
                                                submission.log_folder, workdir, self.resources, self.overwrite))
            submission.array_job = scheduler.submit(array)
            dependency = [f"--dependency=afterany:{submission.array_job}"]
            log(f"slurm: job array {submission.array_job}: {len(blocks)} task(s) over {len(todo)} frame(s) "
                f"({frame_ranges(todo)}); batch script {array}")
        elif todo:
            log(f"slurm: {', '.join(kind.name for kind in request.kinds)} are written once per job: only the "
                "finishing job is submitted")
        else:
            log(f"slurm: every frame of {folder} is complete; only the finishing job is submitted")
        try:
            submission.finish_job = scheduler.submit(finish, dependency)
        except JobError:
            if submission.array_job:
                scheduler.cancel(submission.array_job)
                log(f"slurm: job array {submission.array_job} cancelled (its finishing job was refused)")
            raise
        record = submission.save()
        log(f"slurm: finishing job {submission.finish_job} (after the array): the once-per-job files and the "
            f"account; batch script {finish}")
        log(f"slurm: logs in {submission.log_folder}; submission in {record}")
        if not self.wait:
            log(f"slurm: follow it with: true_depth slurm status {folder.parent}")
            return 0
        return status.wait(submission)
