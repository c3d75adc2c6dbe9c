"""The blocks of frames of a SLURM job array and its batch scripts. No bpy.

A task's frames come from a bash array indexed by ``SLURM_ARRAY_TASK_ID``, so the script says what every task
renders and can be resubmitted by hand (``sbatch render.sbatch``, then ``sbatch --dependency=afterany:ID
finish.sbatch``). Paths are absolute: the nodes must share the output's filesystem.
"""

from __future__ import annotations

import dataclasses
import math
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..base import frame_ranges
from ..workers import chunks

DEFAULT_FRAMES_PER_TASK = 8
"""Without --tasks or --frames-per-task. A task's start-up (Blender, the file, the job and its graph) measured
1.1 s, about one frame of a small scene on one CPU (1.2 s); 8 frames keep it near 10 % of a task even then, and
a requeued task redoes at most 8 frames (docs/benchmarks.md, "SLURM job arrays")."""


@dataclass(frozen=True)
class Resources:
    """What each task asks the scheduler for (``None``: the cluster's default), and any other sbatch option."""

    partition: str | None = None
    time: str | None = None
    cpus_per_task: int | None = None
    mem: str | None = None
    gpus: str | None = None
    extra: tuple[str, ...] = ()

    def directives(self) -> list[str]:
        """The sbatch options, as ``--name=value``."""
        named = (("partition", self.partition), ("time", self.time), ("cpus-per-task", self.cpus_per_task),
                 ("mem", self.mem), ("gpus", self.gpus))
        return [f"--{name}={value}" for name, value in named if value is not None] + list(self.extra)


def task_blocks(frames: Sequence[int], tasks: int | None = None, frames_per_task: int | None = None
                ) -> list[list[int]]:
    """``frames`` in balanced contiguous blocks: ``tasks`` of them, or as many as ``frames_per_task`` needs."""
    if tasks is None:
        tasks = math.ceil(len(frames) / (frames_per_task or DEFAULT_FRAMES_PER_TASK))
    return chunks(list(frames), tasks)


def _command_line(command: Sequence[str]) -> str:
    return " ".join(shlex.quote(part) for part in command)


def _header(name: str, log: str, workdir: Path, resources: Resources, description: str) -> list[str]:
    lines = ["#!/bin/bash", f"# {description}", "# Written by true_depth slurm; the nodes must share this filesystem.",
             f"#SBATCH {shlex.quote(f'--job-name={name}')}", f"#SBATCH {shlex.quote(f'--output={log}')}",
             f"#SBATCH {shlex.quote(f'--chdir={workdir}')}",
             "#SBATCH --requeue", "#SBATCH --open-mode=append"]
    lines += [f"#SBATCH {shlex.quote(option)}" for option in resources.directives()]
    return lines


def _environment(environment: Mapping[str, str]) -> list[str]:
    return [f"export {name}={shlex.quote(value)}" for name, value in sorted(environment.items())]


def array_script(name: str, launcher: Sequence[str], environment: Mapping[str, str], arguments: Sequence[str],
                 blocks: Sequence[Sequence[int]], log_dir: Path, workdir: Path, resources: Resources,
                 overwrite: bool) -> str:
    """The job array: task ``i`` runs ``launcher arguments --frames <block i>`` with ``--resume`` (with
    ``overwrite``: ``--overwrite`` on its first run, ``--resume`` once SLURM requeued it)."""
    texts = " ".join(shlex.quote(frame_ranges(block)) for block in blocks)
    lines = _header(name, str(log_dir / "task-%A_%a.out"), workdir, resources,
                    f"{len(blocks)} task(s) over {sum(len(block) for block in blocks)} frame(s)")
    lines.insert(4, f"#SBATCH --array=0-{len(blocks) - 1}")
    lines += ["set -u", f"blocks=({texts})", 'frames=${blocks[$SLURM_ARRAY_TASK_ID]}']
    if overwrite:  # replace what exists on the first run; a requeued task keeps what it already finished
        lines.append('if [ "${SLURM_RESTART_COUNT:-0}" -gt 0 ]; then mode=--resume; else mode=--overwrite; fi')
    else:
        lines.append("mode=--resume")
    lines += ['echo "[true-depth] task $SLURM_ARRAY_TASK_ID of ' + str(len(blocks))
              + ': frames $frames on $(hostname), run ${SLURM_RESTART_COUNT:-0}"']
    lines += _environment(environment)
    lines.append(f'exec {_command_line([*launcher, *arguments])} --frames "$frames" "$mode"')
    return "\n".join(lines) + "\n"


def finish_script(name: str, launcher: Sequence[str], environment: Mapping[str, str], arguments: Sequence[str],
                  frames: Sequence[int], account: Path, log_dir: Path, workdir: Path,
                  resources: Resources = Resources()) -> str:
    """The finishing job: no frame is made; the once-per-job files from every frame, and the account. It runs
    where the tasks run (partition, time, memory, the other sbatch options such as an account) but renders
    nothing, so it asks for no CPUs or GPUs of its own."""
    placed = dataclasses.replace(resources, cpus_per_task=None, gpus=None)
    lines = _header(f"{name}-finish", str(log_dir / "finish-%j.out"), workdir, placed,
                    "after the array (sbatch --dependency=afterany:ARRAY_ID): the once-per-job files and the account")
    lines += ["set -u"] + _environment(environment)
    finishing = [*launcher, *arguments, "--frames", frame_ranges(frames), "--finish", str(account)]
    lines.append(f"exec {_command_line(finishing)}")
    return "\n".join(lines) + "\n"
