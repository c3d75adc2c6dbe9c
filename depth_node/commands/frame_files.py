"""A job's files, with no bpy: what it writes per frame and once per job, staged then published.

Files are written to a hidden staging folder first and moved into place once the frame is complete, so a
failure never leaves a half-written frame under a final name. What a frame writes is the table
:data:`depth_node.core.outputs.OUTPUT_KINDS`.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core import outputs
from ..core.flow import Flow
from ..core.flow.vector_pass import PASS_NAME as VECTOR_PASS
from ..core.formats import exr
from ..core.formats.complete import is_complete
from ..core.normals.normal_pass import PASS_NAME as NORMAL_PASS
from ..core.outputs import DEFAULT_KINDS, OUTPUT_KINDS, FrameData, Options, OutputKind, exports, frame_paths, job_paths
from .base import STAGING_PREFIX, JobError, frame_ranges, log, read_exr, staging_owner

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
    def flow(self) -> bool:
        """Whether a kind needs the frame's flow (the data pass then renders the Vector pass)."""
        return any(kind.flow for kind in self.kinds)

    @property
    def normal(self) -> bool:
        """Whether a kind needs the frame's normals (the data pass then renders the Normal pass)."""
        return any(kind.normal for kind in self.kinds)

    @property
    def data_passes(self) -> tuple[str, ...]:
        """The passes the data pass writes into the staged passes file (``Vector``, ``Normal``)."""
        return (VECTOR_PASS,) * self.flow + (NORMAL_PASS,) * self.normal

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


FlowStep = Callable[[np.ndarray], tuple[dict[str, Flow], dict[str, int]]]
"""The rendered depth -> the frame's flows and their counts for the summary (made inside Blender)."""


def stage_frame(frame: int, camera: dict, stage: Path, request: Request, view: View = PLAIN_VIEW,
                images: dict[str, np.ndarray | None] | None = None, flows: FlowStep | None = None) -> StagedFrame:
    """Run the frame's Python steps into ``stage``; needs no bpy, so frames may be staged in parallel.

    ``images``: depth and distance as computed (their EXRs already staged); None when Blender rendered the
    frame: its files are checked, the EXRs made readable by OpenCV and read back if a step needs them.
    ``flows``: the frame's flow from its depth (needed when the request writes flow).
    """
    staged = frame_paths(stage, frame, request.staged_kinds, view.suffix)
    rendered = images is None
    if rendered:
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
    flow, report = None, {}
    if request.flow:
        if flows is None:
            raise JobError(f"frame {frame}: flow is written only by render and example (from Blender's Vector pass)")
        flow, report = flows(images["depth"])
    data = FrameData(frame, images["depth"], images["distance"], camera, request.options, report, flow,
                     _staged_normals(frame, stage, view, rendered) if request.normal else None)
    try:
        for kind in request.kinds:
            if kind.write is not None:
                kind.write(staged[kind.name], data)
    except OSError as error:
        raise JobError(f"frame {frame}: cannot write into {stage}: {error.strerror or error}") from None
    return StagedFrame(frame, view, camera, staged, data)


def _staged_normals(frame: int, stage: Path, view: View, rendered: bool) -> np.ndarray:
    if not rendered:
        raise JobError(f"frame {frame}: normals are written only by render and example (from Blender's Normal pass)")
    try:
        return exr.read_normal_pass(outputs.passes_file(stage, frame, view.suffix))
    except exr.ExrError as error:
        raise JobError(f"frame {frame}: {error}") from None


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
    record = record_of(staged.frame, staged.view.suffix, staged.camera, request)
    return FrameResult(staged.frame, final, staged.data.depth, staged.data.distance, record, staged.data.report)


def record_of(frame: int, view_suffix: str, camera: dict, request: Request) -> exports.Record:
    """What the once-per-job files know of a frame (view): its sidecar and the depth file they name."""
    depth_kind = next((kind for name in ("depth16", "depth") for kind in request.kinds if kind.name == name), None)
    return exports.Record(frame, view_suffix, camera, depth_kind.filename(frame, view_suffix) if depth_kind else None)


def kept_record(frame: int, view_suffix: str, meta: dict, request: Request) -> exports.Record:
    """The record of a frame ``--resume`` keeps: what :func:`stage_frame` and :func:`publish_frame` gave it."""
    return record_of(frame, view_suffix, describe_files(request, frame, view_suffix, meta), request)


def finish_job(folder: Path, stage: Path, request: Request, results: list[FrameResult],
               kept: Sequence[exports.Record] = ()) -> None:
    """Write the once-per-job kinds (COLMAP, nerfstudio) into ``stage`` and move them into ``folder``, from every
    frame: the ones rendered now (``results``) and the ones ``--resume`` kept."""
    records = sorted([result.record for result in results] + list(kept), key=lambda record: record.frame)
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


def summarize(folder: Path, results: list[FrameResult], request: Request, frames: str | None = None) -> int:
    """Log how many files were written (the account of the ``frames``, what the steps reported); returns the file
    count."""
    written = sum(len(result.paths) for result in results) + len(job_paths(folder, request.kinds))
    totals: dict[str, int] = {}
    for result in results:
        for key, count in result.report.items():
            totals[key] = totals.get(key, 0) + count
    log(f"wrote {written} files under {folder}" + (f"; {frames}" if frames else "")
        + "".join(f"; {key}: {count}" for key, count in totals.items()))
    return written


def is_stale(staging_folder: Path, finishing: bool = False) -> bool:
    """Whether a staging folder (see :func:`~depth_node.commands.base.staging`) belongs to a job that ended: this
    host's dead process, this SLURM task's own earlier run (requeued), or a folder without an owner (older
    versions). Other SLURM tasks' folders are theirs while they run; the finishing job (``finishing``: every task
    has ended) removes them all."""
    if finishing:
        return True
    owner = staging_folder.name[len(STAGING_PREFIX):].rpartition("-")[0]  # mkdtemp's suffix has no "-"
    if not owner:
        return True
    if owner.startswith("slurm-"):
        return owner == staging_owner()
    host, _, pid = owner.rpartition("-")
    if host != staging_owner().rpartition("-")[0] or not pid.isdigit():
        return False  # another host's job: this one cannot tell whether it still runs
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def clear_stale_staging(folder: Path, finishing: bool = False) -> int:
    """Remove the staging folders that jobs which ended left in ``folder`` (:func:`is_stale`); returns how many."""
    stale = [path for path in folder.glob(f"{STAGING_PREFIX}*") if path.is_dir() and is_stale(path, finishing)
             ] if folder.is_dir() else []
    for path in stale:
        shutil.rmtree(path)
    return len(stale)


def resume_plan(folder: Path, frames: list[int], request: Request, view_suffixes: Sequence[str] = ("",),
                finishing: bool = False) -> tuple[list[int], list[int]]:
    """``(frames to make, frames kept)`` for ``--resume``: a frame is kept when every per-frame file of every view
    exists and reads back whole (:func:`~depth_node.core.formats.complete.is_complete`); the views of a frame
    render together, so one missing view redoes the frame. Stale staging folders are removed first."""
    stale = clear_stale_staging(folder, finishing)
    per_frame = [kind for kind in request.kinds if kind.per_frame]
    todo = [frame for frame in frames
            if not all(is_complete(path) for suffix in view_suffixes
                       for path in frame_paths(folder, frame, per_frame, suffix).values())]
    kept = [frame for frame in frames if frame not in set(todo)]
    log(f"--resume: {len(kept)} complete frame(s) kept, {len(todo)} to make"
        + (f"; removed {stale} staging folder(s) of an interrupted run" if stale else ""))
    return todo, kept


def plan_frames(folder: Path, frames: list[int], request: Request, view_suffixes: Sequence[str] = ("",),
                resume: bool = False, finish: Path | None = None) -> tuple[list[int], list[int]]:
    """``(frames to make, frames kept)``: every frame, or with ``resume`` see :func:`resume_plan`.

    ``finish`` (``--finish ACCOUNT.json``, the finishing job of ``slurm``) makes no frame: it writes the account of
    every frame there and refuses, naming them, when frames are not complete; otherwise only the once-per-job files
    are left to write (from every frame).
    """
    if not resume and finish is None:
        return list(frames), []
    todo, kept = resume_plan(folder, frames, request, view_suffixes, finishing=finish is not None)
    if finish is None:
        return todo, kept
    write_account(finish, frames, kept, todo)
    if todo:
        raise JobError(f"{len(todo)} of {len(frames)} frame(s) not complete: {frame_ranges(todo)}; the once-per-job "
                       "files are written when every frame is (resubmit with --resume)")
    return [], kept


def write_account(path: Path, frames: Sequence[int], complete: Sequence[int], incomplete: Sequence[int]) -> None:
    """The account of a job's frames as JSON (``complete`` / ``incomplete``: frame ranges), written whole or not at
    all."""
    document = {"frames": len(frames), "complete": frame_ranges(complete), "incomplete": frame_ranges(incomplete),
                "complete_count": len(complete), "incomplete_count": len(incomplete)}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(document, indent=1) + "\n")
    partial.replace(path)


def account(made: int, kept: int, failed: int = 0) -> str:
    """The job's account of its frames, for the summary line."""
    return f"frames: {made} made, {kept} skipped (--resume), {failed} failed"
