"""Fake sbatch, squeue and scancel: executables put first on PATH that record their arguments and answer as
SLURM's commands do (no cluster needed)."""

from __future__ import annotations

from pathlib import Path


def fake(bin_dir: Path, name: str, body: str) -> Path:
    """An executable ``name`` in ``bin_dir`` that appends its arguments (one a line, then ``--``) to
    ``bin_dir/name.args``, then runs the bash ``body``."""
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / name
    path.write_text(f"#!/bin/bash\nprintf '%s\\n' \"$@\" -- >> '{bin_dir / name}.args'\n{body}\n")
    path.chmod(0o755)
    return path


def calls(bin_dir: Path, name: str) -> list[list[str]]:
    """The argument lists ``name`` was called with, in order."""
    record = bin_dir / f"{name}.args"
    if not record.is_file():
        return []
    found, current = [], []
    for line in record.read_text().splitlines():
        if line == "--":
            found.append(current)
            current = []
        else:
            current.append(line)
    return found
