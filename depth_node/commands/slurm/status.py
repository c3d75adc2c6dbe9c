"""What a submitted job has done, read from its output folder and squeue: progress, the wait, ``slurm status``.
No bpy.

A frame counts as complete when every per-frame file of every view exists and reads back whole (what
``--resume`` keeps); the frames of a failed or cancelled task are the ones that are not, and the task's log says
why.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from ...core import outputs
from ...core.formats.complete import is_complete
from ...core.outputs import OutputKind, frame_paths
from ..base import JobError, clock, frame_ranges, log
from . import scheduler

FOLDER = "slurm"
"""Inside the scene's output folder: the batch scripts, the logs, the submission and the account."""
SUBMISSION = "submission.json"
ACCOUNT = "account.json"


@dataclass
class Submission:
    """One ``slurm render`` / ``slurm convert`` submission, as ``submission.json`` keeps it."""

    command: str
    folder: str
    frames: list[int]
    blocks: list[list[int]]
    kinds: list[tuple[str, str]]
    """The per-frame kinds: (name, file extension)."""
    view_suffixes: list[str]
    array_job: str = ""
    finish_job: str = ""
    submitted: float = field(default_factory=time.time)

    @property
    def slurm_folder(self) -> Path:
        return Path(self.folder) / FOLDER

    @property
    def log_folder(self) -> Path:
        return self.slurm_folder / "logs"

    @property
    def account_path(self) -> Path:
        return self.slurm_folder / ACCOUNT

    def output_kinds(self) -> list[OutputKind]:
        return [dataclasses.replace(outputs.BY_NAME[name], extension=extension) for name, extension in self.kinds]

    def save(self) -> Path:
        path = self.slurm_folder / SUBMISSION
        path.write_text(json.dumps(dataclasses.asdict(self), indent=1) + "\n")
        return path

    @classmethod
    def load(cls, path: Path) -> Submission:
        try:
            document = json.loads(path.read_text())
            document["kinds"] = [tuple(kind) for kind in document["kinds"]]
            return cls(**document)
        except (OSError, ValueError, TypeError, KeyError) as error:
            raise JobError(f"{path}: not a submission of true_depth slurm ({error})") from None


def find_submissions(path: Path) -> list[Submission]:
    """The submissions under ``path``: the job's output folder, a scene's folder or a submission.json."""
    if path.is_file():
        return [Submission.load(path)]
    found = sorted(path.glob(f"{FOLDER}/{SUBMISSION}")) + sorted(path.glob(f"*/{FOLDER}/{SUBMISSION}"))
    if not found:
        raise JobError(f"{path}: no SLURM submission here (looked for {FOLDER}/{SUBMISSION} and "
                       f"*/{FOLDER}/{SUBMISSION})")
    return [Submission.load(item) for item in found]


class Tracker:
    """Which frames of a submission are complete (a complete frame stays complete: it is not read again)."""

    def __init__(self, submission: Submission) -> None:
        self.submission = submission
        self.kinds = submission.output_kinds()
        self.complete: set[int] = set()

    def update(self) -> int:
        folder = Path(self.submission.folder)
        for frame in self.submission.frames:
            if frame not in self.complete and all(
                    is_complete(path) for suffix in self.submission.view_suffixes
                    for path in frame_paths(folder, frame, self.kinds, suffix).values()):
                self.complete.add(frame)
        return len(self.complete)

    @property
    def incomplete(self) -> list[int]:
        return [frame for frame in self.submission.frames if frame not in self.complete]


def task_reason(submission: Submission, index: int) -> str:
    """Why task ``index`` did not finish, from its log: its error line, or SLURM's cancellation line."""
    log_file = submission.log_folder / f"task-{submission.array_job}_{index}.out"
    try:
        lines = log_file.read_text(errors="replace").splitlines()
    except OSError:
        return f"no log ({log_file})"
    for marker in ("true_depth: error:", "CANCELLED", "DUE TO TIME LIMIT", "error:"):
        found = [line.strip() for line in lines if marker in line]
        if found:
            return found[-1]
    return f"ended without an error line (see {log_file})"


def failure_line(submission: Submission, incomplete: list[int]) -> str:
    """One line naming the frames that are not complete and, per task, why."""
    wanted = set(incomplete)
    tasks = [(index, [frame for frame in block if frame in wanted]) for index, block in enumerate(submission.blocks)]
    parts = [f"task {index} (frames {frame_ranges(frames)}): {task_reason(submission, index)}"
             for index, frames in tasks if frames]
    outside = wanted - {frame for block in submission.blocks for frame in block}
    if outside:
        parts.append(f"frames {frame_ranges(outside)} were in no task of this submission")
    return (f"{len(incomplete)} of {len(submission.frames)} frame(s) not complete: {frame_ranges(incomplete)}; "
            + "; ".join(parts) + f"; logs in {submission.log_folder}; resubmit the same command with --resume")


def jobs_of(submission: Submission) -> list[str]:
    return [job for job in (submission.array_job, submission.finish_job) if job]


def wait(submission: Submission, interval: float = 0.5, queue_interval: float = 10.0, patience: float = 120.0
         ) -> int:
    """Block until the array and the finishing job have ended, logging frames complete / total with an ETA;
    0 when every frame is complete, else a :class:`JobError` naming the frames and tasks that failed.

    The output folder is read every ``interval`` seconds; squeue is asked every ``queue_interval`` seconds (a
    shared cluster's controller is not polled hard), and as soon as the finishing job has written its account.
    """
    tracker = Tracker(submission)
    total = len(submission.frames)
    start, first = time.monotonic(), tracker.update()
    shown, asked, unanswered = -1, -queue_interval, None
    while True:
        done = tracker.update()
        if done != shown:
            elapsed, made = time.monotonic() - start, done - first
            eta = f", ETA {clock(elapsed / made * (total - done))}" if made and done < total else ""
            log(f"slurm: {done}/{total} frames complete{eta}")
            shown = done
        now = time.monotonic()
        if submission.account_path.is_file() or now - asked >= queue_interval:
            asked = now
            running = scheduler.active(jobs_of(submission))
            if running is None:
                unanswered = unanswered or now
                if now - unanswered > patience:
                    raise JobError(f"squeue has not answered for {patience:.0f} s; the jobs may still run: "
                                   f"true_depth slurm status {submission.folder}")
            elif not running:
                break
            else:
                unanswered = None
        time.sleep(interval)
    tracker.update()
    if tracker.incomplete:
        raise JobError(failure_line(submission, tracker.incomplete))
    if not submission.account_path.is_file():
        raise JobError(f"every frame is complete, but the finishing job {submission.finish_job} wrote no account "
                       f"(see {submission.log_folder}); rerun the same command with --resume to finish")
    log(f"slurm: all {total} frame(s) complete; the once-per-job files and the account are in {submission.folder}")
    return 0


def run_status(path: Path) -> int:
    """``slurm status DIR``: per submission, the frames complete, the jobs still queued and the failures.
    Exit 0: every frame complete and the jobs ended; 3: jobs still queued or running; 1: frames failed."""
    code = 0
    for submission in find_submissions(path):
        tracker = Tracker(submission)
        done = tracker.update()
        found = scheduler.states(jobs_of(submission))
        queued = {job: state for job, state in (found or {}).items()}
        log(f"{submission.folder}: {done}/{len(submission.frames)} frames complete; array job "
            f"{submission.array_job}, finishing job {submission.finish_job}"
            + (f"; queued: {', '.join(f'{job} {state}' for job, state in sorted(queued.items()))}" if queued else "")
            + ("; squeue did not answer" if found is None else ""))
        if queued or found is None:
            code = max(code, 3) if code != 1 else 1
        elif tracker.incomplete:
            log(failure_line(submission, tracker.incomplete))
            code = 1
        elif not submission.account_path.is_file():
            log("every frame is complete but the finishing job wrote no account; rerun with --resume")
            code = 1
    return code
