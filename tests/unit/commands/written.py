"""Frames written as a job writes them (a depth EXR and a camera JSON per view), for the tests of what ``--resume``,
``--finish`` and ``slurm status`` count as complete."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from depth_node.core import outputs

pytest.importorskip("OpenEXR", reason="OpenEXR is a test dependency (tools/requirements-test.txt)")

KINDS = ("depth", "camera")
"""The per-frame kinds these frames have."""
CAMERA = {"K": [[50.0, 0.0, 2.0], [0.0, 50.0, 1.5], [0.0, 0.0, 1.0]], "width": 4, "height": 3}


def write_frame(folder: Path, frame: int, suffix: str = "") -> dict[str, Path]:
    """One complete frame (view) of :data:`KINDS` in ``folder``; returns ``{kind: path}``."""
    from depth_node.core.formats import exr

    folder.mkdir(parents=True, exist_ok=True)
    paths = outputs.frame_paths(folder, frame, outputs.select(KINDS), suffix)
    exr.write_single_channel(paths["depth"], np.full((3, 4), 2.0 + frame, np.float32))
    paths["camera"].write_text(json.dumps({**CAMERA, "frame": frame}) + "\n")
    return paths


def truncate(path: Path) -> None:
    """Cut a file short, as a job killed while writing it leaves it."""
    data = path.read_bytes()
    path.write_bytes(data[:len(data) - 8])
