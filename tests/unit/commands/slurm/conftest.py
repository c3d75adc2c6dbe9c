"""The fixture of the SLURM tests: a folder first on PATH for fake sbatch, squeue and scancel (see fake_slurm)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture()
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder first on PATH for the fake commands."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return folder
