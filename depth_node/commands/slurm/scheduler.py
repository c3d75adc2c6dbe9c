"""The SLURM commands a job uses: sbatch, squeue and scancel. No bpy; no sacct (clusters without accounting
have none, and ``squeue`` answers on every cluster)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from ..base import JobError

ACTIVE_STATES = frozenset({"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED", "REQUEUE_HOLD",
                           "REQUEUE_FED", "RESIZING", "SUSPENDED", "STAGE_OUT", "SIGNALING", "STOPPED"})
"""squeue states of a job that has not ended."""


def sbatch() -> str:
    """The sbatch on PATH, or a :class:`JobError` saying where to run."""
    found = shutil.which("sbatch")
    if found is None:
        raise JobError("no sbatch on PATH: run slurm commands on a machine that submits to SLURM (a login node), "
                       "or install SLURM's client (Debian: slurm-client)")
    return found


def submit(script: Path, options: Sequence[str] = ()) -> str:
    """Submit ``script``; returns the job id, or a :class:`JobError` with sbatch's own message."""
    result = subprocess.run([sbatch(), "--parsable", *options, str(script)], capture_output=True, text=True,
                            stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        lines = [line.strip() for line in (result.stderr + result.stdout).splitlines() if line.strip()]
        raise JobError(f"sbatch refused {script.name}: {lines[-1] if lines else f'exit {result.returncode}'}")
    return result.stdout.strip().split(";")[0]


def cancel(job_id: str) -> None:
    """Cancel a job (one that must not run after its partner was refused)."""
    subprocess.run(["scancel", job_id], capture_output=True, stdin=subprocess.DEVNULL)


def states(job_ids: Sequence[str]) -> dict[str, str] | None:
    """``{job id or array task id (12_3): state}`` of the jobs squeue still lists; None when squeue cannot answer.
    A pending array's tasks show as one line (``12_[0-5]``)."""
    if shutil.which("squeue") is None:
        return None
    result = subprocess.run(["squeue", "-h", "-j", ",".join(job_ids), "-o", "%i %T"], capture_output=True,
                            text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        if "Invalid job id" in result.stderr:  # every job has left the queue (and squeue's memory)
            return {}
        return None
    found = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2:
            found[parts[0]] = parts[1]
    return found


def active(job_ids: Sequence[str]) -> bool | None:
    """Whether any of the jobs (or their array tasks) has not ended; None when squeue cannot answer."""
    found = states(job_ids)
    if found is None:
        return None
    return any(state in ACTIVE_STATES for state in found.values())
