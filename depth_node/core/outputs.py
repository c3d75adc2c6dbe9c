"""The files a job writes per frame, as one table. Imports no bpy.

Each :class:`OutputKind` says how its file is named, how it is produced (by
Blender's File Output node from a value of the graph, or by a Python step
after the frame is rendered), its format and whether it is on by default. The
overwrite check, the compositor wiring, the finishing step, the summary's file
count and the command-line help all read :data:`OUTPUT_KINDS`; a new kind is
one entry.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import preview


@dataclass(frozen=True)
class FrameData:
    """What the Python steps of one frame get: both images (as written) and the camera sidecar."""

    frame: int
    depth: np.ndarray
    distance: np.ndarray
    camera: dict


def _write_preview(path: Path, data: FrameData) -> None:
    preview.write_png(path, preview.side_by_side(data.distance, data.depth))


def _write_camera(path: Path, data: FrameData) -> None:
    path.write_text(json.dumps(data.camera, indent=2) + "\n")


@dataclass(frozen=True)
class OutputKind:
    """One per-frame output file."""

    name: str
    extension: str
    description: str
    default: bool = True
    graph_value: str | None = None
    """``"depth"`` or ``"distance"``: written by the File Output node as a single-channel float32 EXR."""
    write: Callable[[Path, FrameData], None] | None = None
    """A Python step run after the frame's EXRs are written and read back."""

    def filename(self, frame: int, view_suffix: str = "") -> str:
        """The file name of ``frame`` (``depth_0001.exr``; a view's ``depth_0001_L.exr``)."""
        return f"{self.name}_{frame:04d}{view_suffix}.{self.extension}"

    @property
    def file_output_pattern(self) -> str:
        """The File Output node's path for this kind (``#`` marks the frame number)."""
        return f"{self.name}_####"


OUTPUT_KINDS: tuple[OutputKind, ...] = (
    OutputKind("depth", "exr", "planar depth, float32, one channel 'Y'", graph_value="depth"),
    OutputKind("distance", "exr", "ray distance, float32, one channel 'Y'", graph_value="distance"),
    OutputKind("preview", "png", "distance and depth side by side (viridis, scale bar)", write=_write_preview),
    OutputKind("camera", "json", "camera sidecar: K, pose, projection, clip range, unit scale",
               write=_write_camera),
)
BY_NAME = {kind.name: kind for kind in OUTPUT_KINDS}
DEFAULT_KINDS: tuple[OutputKind, ...] = tuple(kind for kind in OUTPUT_KINDS if kind.default)


def select(names: Iterable[str] | None = None) -> tuple[OutputKind, ...]:
    """The kinds called ``names`` in table order (the defaults for None); ValueError for unknown names."""
    if names is None:
        return DEFAULT_KINDS
    wanted = list(names)
    unknown = [name for name in wanted if name not in BY_NAME]
    if unknown:
        raise ValueError(f"unknown output kind(s) {', '.join(unknown)}; choose from {', '.join(BY_NAME)}")
    return tuple(kind for kind in OUTPUT_KINDS if kind.name in wanted)


def frame_paths(folder: Path, frame: int, kinds: Iterable[OutputKind] = DEFAULT_KINDS, view_suffix: str = ""
                ) -> dict[str, Path]:
    """``{kind name: path}`` of one frame's (or one view's) files in ``folder``."""
    return {kind.name: folder / kind.filename(frame, view_suffix) for kind in kinds}


def describe(kinds: Iterable[OutputKind] = DEFAULT_KINDS) -> str:
    """One sentence for the command-line help: the files written per frame."""
    return "Writes " + ", ".join(f"OUT/<scene>/{kind.name}_####.{kind.extension} ({kind.description})"
                                 for kind in kinds) + " per frame."
