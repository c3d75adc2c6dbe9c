"""A job's files, with no bpy: what it writes per frame and once per job, staged then published.

Files are written to a hidden staging folder first and moved into place once the frame is complete, so a
failure never leaves a half-written frame under a final name. What a frame writes is the table
:data:`depth_node.core.outputs.OUTPUT_KINDS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core import exports, exr, outputs
from ..core.outputs import DEFAULT_KINDS, OUTPUT_KINDS, FrameData, Options, OutputKind, frame_paths, job_paths
from .base import JobError, log, read_exr

_GRAPH_KINDS = tuple(kind for kind in OUTPUT_KINDS if kind.graph_value is not None)
"""Written by the File Output node (always staged)."""
_READ_BACK = ("depth", "distance")
"""The graph values the Python steps read (:class:`~depth_node.core.outputs.FrameData`)."""


@dataclass(frozen=True)
class Request:
    """What a job writes: the output kinds (see :mod:`depth_node.core.outputs`) and their options."""

    kinds: tuple[OutputKind, ...] = DEFAULT_KINDS
    options: Options = Options()

    def has(self, name: str) -> bool:
        return any(kind.name == name for kind in self.kinds)

    @property
    def beauty(self) -> OutputKind | None:
        """The beauty kind (``rgb``) when asked for, with the scene's extension once :meth:`for_extension` set it."""
        return next((kind for kind in self.kinds if kind.beauty), None)

    def for_extension(self, extension: str) -> Request:
        """This request with the beauty written as ``extension`` (the file's output format)."""
        return Request(outputs.with_extension(self.kinds, extension), self.options)

    @property
    def reads_pixels(self) -> bool:
        """Whether a Python step reads the rendered images (then both graph values are written and read back)."""
        return any(kind.needs_pixels for kind in self.kinds)

    @property
    def graph_kinds(self) -> tuple[OutputKind, ...]:
        """The kinds the File Output node writes: the requested ones, and depth and distance when a Python step
        reads them."""
        return tuple(kind for kind in _GRAPH_KINDS
                     if kind in self.kinds or (self.reads_pixels and kind.graph_value in _READ_BACK))

    @property
    def staged_kinds(self) -> tuple[OutputKind, ...]:
        """Every per-frame file the job makes in its staging folder (the requested kinds and the read-back ones)."""
        return self.kinds + tuple(kind for kind in self.graph_kinds if kind not in self.kinds)


DEFAULT_REQUEST = Request()


@dataclass
class FrameResult:
    """One finished frame (view): its files, both images as written, and what its steps reported."""

    frame: int
    paths: dict[str, Path]
    depth: np.ndarray | None
    distance: np.ndarray | None
    record: exports.Record
    report: dict[str, int]


@dataclass(frozen=True)
class View:
    """One view a frame is rendered in: ``""`` for a plain render, else Blender's view name and file suffix."""

    name: str = ""
    suffix: str = ""
    stereo: bool = False
    """A Stereo 3D eye (one camera moved per eye); else a Multi-View view (a camera of its own, by suffix)."""


PLAIN_VIEW = View()
"""The one view of a render without views."""


def _make_opencv_readable(path: Path) -> None:
    try:
        exr.rename_single_channel(path)
    except exr.ExrError as error:
        raise JobError(f"Blender wrote an unexpected EXR layout: {error}") from None
    except OSError as error:
        raise JobError(f"cannot rewrite {path}: {error.strerror or error}") from None


@dataclass
class StagedFrame:
    """A frame (view) whose files are all in the staging folder, with what its Python steps computed."""

    frame: int
    view: View
    camera: dict
    staged: dict[str, Path]
    data: FrameData


def describe_files(request: Request, frame: int, view_suffix: str, camera: dict) -> dict:
    """``camera`` with what the frame's files need to be read: the depth16 scale, the rgb file's name."""
    if request.has("depth16"):
        camera = {**camera, "depth16_scale": request.options.depth16_scale}
    beauty = request.beauty
    if beauty is not None:
        camera = {**camera, "image": beauty.filename(frame, view_suffix)}
    return camera


def stage_frame(frame: int, camera: dict, stage: Path, request: Request, view: View = PLAIN_VIEW,
                images: dict[str, np.ndarray | None] | None = None) -> StagedFrame:
    """Run the frame's Python steps into ``stage``; needs no bpy, so frames may be staged in parallel.

    ``images``: depth and distance as computed (their EXRs already staged); None when Blender rendered the
    frame: its files are checked, the EXRs made readable by OpenCV and read back if a step needs them.
    """
    staged = frame_paths(stage, frame, request.staged_kinds, view.suffix)
    if images is None:
        images = {"depth": None, "distance": None}
        beauty = request.beauty
        for kind in request.graph_kinds + ((beauty,) if beauty is not None else ()):
            path = staged[kind.name]
            if not path.is_file():
                raise JobError(f"frame {frame}: Blender did not write {path.name} (disk full or not writable?)")
            if kind.graph_value is None:
                continue
            _make_opencv_readable(path)
            if request.reads_pixels and kind.graph_value in images:
                images[kind.graph_value] = read_exr(path)
    camera = describe_files(request, frame, view.suffix, camera)
    data = FrameData(frame, images["depth"], images["distance"], camera, request.options)
    try:
        for kind in request.kinds:
            if kind.write is not None:
                kind.write(staged[kind.name], data)
    except OSError as error:
        raise JobError(f"frame {frame}: cannot write into {stage}: {error.strerror or error}") from None
    return StagedFrame(frame, view, camera, staged, data)


def publish_frame(staged: StagedFrame, folder: Path, request: Request) -> FrameResult:
    """Move a staged frame's ``request.kinds`` into ``folder``: either every file arrives or none does."""
    final = frame_paths(folder, staged.frame, request.kinds, staged.view.suffix)
    moved: list[Path] = []
    try:
        for name, path in final.items():
            staged.staged[name].replace(path)
            moved.append(path)
    except OSError as error:
        for path in moved:
            path.unlink(missing_ok=True)
        raise JobError(f"frame {staged.frame}: cannot move outputs into {folder}: {error.strerror or error}"
                       ) from None
    depth_file = final.get("depth16", final.get("depth"))
    record = exports.Record(staged.frame, staged.view.suffix, staged.camera, depth_file.name if depth_file else None)
    return FrameResult(staged.frame, final, staged.data.depth, staged.data.distance, record, staged.data.report)


def finish_job(folder: Path, stage: Path, request: Request, results: list[FrameResult]) -> None:
    """Write the once-per-job kinds (COLMAP, nerfstudio) into ``stage`` and move them into ``folder``."""
    records = [result.record for result in results]
    for kind in request.kinds:
        if kind.write_job is None:
            continue
        try:
            staged = kind.write_job(stage, records, request.options)
            for path in staged:
                final = folder / path.relative_to(stage)
                final.parent.mkdir(parents=True, exist_ok=True)
                path.replace(final)
        except OSError as error:
            raise JobError(f"cannot write the {kind.name} files into {folder}: {error.strerror or error}") from None


def with_depth_file(record: exports.Record, request: Request) -> exports.Record:
    kind = outputs.BY_NAME["depth16" if request.has("depth16") else "depth"]
    return exports.Record(record.frame, record.view_suffix, record.camera, kind.filename(record.frame,
                                                                                       record.view_suffix))

def summarize(folder: Path, results: list[FrameResult], request: Request) -> int:
    """Log how many files were written (and what the steps reported); returns the file count."""
    written = sum(len(result.paths) for result in results) + len(job_paths(folder, request.kinds))
    totals: dict[str, int] = {}
    for result in results:
        for key, count in result.report.items():
            totals[key] = totals.get(key, 0) + count
    log(f"wrote {written} files under {folder}" + "".join(f"; {key}: {count}" for key, count in totals.items()))
    return written
