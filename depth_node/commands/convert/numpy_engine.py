"""``convert``'s numpy engine, with no bpy: read each input (any format), convert it with the reference maths
with its camera's per-pixel terms, write and publish the frame's files; a pool of threads keeps a frame per
core in flight (OpenEXR and numpy release the GIL)."""

from __future__ import annotations

import dataclasses
import importlib.util
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ...core import formats, reference
from ...core.outputs import exports
from ..base import JobError, Progress, allocated_cpus, log, staging
from ..frame_files import FrameResult, Request, StagedFrame, account, finish_job, publish_frame, stage_frame

MAX_THREADS = 8
"""Each frame in flight costs memory: peak RSS measured at 1080p grew by 44 MB with 2 threads and 111 MB
with 4 (over 1), ~14 MB per frame in flight, ~4x that at 4K. Eight threads, two frames each, keep a
many-core machine under ~1 GB at 4K."""


@dataclasses.dataclass(frozen=True)
class Source:
    """How the input files are read: the format options, and Blender's Mist falloff when they are Mist."""

    read: formats.ReadOptions = formats.ReadOptions()
    mist: tuple[float, float] | str | None = None
    """``(start, depth)`` of a linear Mist pass: distance = start + mist x depth; ``"blend"``: the .blend camera's
    World mist settings (resolved inside Blender)."""
    output_format: str = "exr"


PLAIN_SOURCE = Source()


@dataclasses.dataclass(frozen=True)
class FrameInput:
    """One frame to convert: its file, the sidecar it gets, and its camera's per-pixel terms."""

    frame: int
    path: Path
    meta: dict
    geometry: reference.PixelGeometry


def cores() -> int:
    """The CPU cores this job may use (a SLURM task's allocation: :func:`~depth_node.commands.base.allocated_cpus`)."""
    return allocated_cpus()


def has_blender() -> bool:
    """Whether this Python can import Blender (``bpy``)."""
    return importlib.util.find_spec("bpy") is not None


def from_mist(mist: np.ndarray, start: float, depth: float) -> tuple[np.ndarray, int]:
    """Distances from a linear Mist pass (``(distance - start) / depth``, clamped to [0, 1]); the pixels at 0 or 1
    are at or outside the mist range, whose distance the pass does not hold: 0 (no data). Returns the count too."""
    unknown = ~((mist > 0) & (mist < 1))
    distance = np.where(unknown, 0.0, start + mist.astype(np.float64) * depth).astype(np.float32)
    return distance, int(np.count_nonzero(unknown & np.isfinite(mist)))


def read_input(path: Path, shape: tuple[int, int], source: Source
               ) -> tuple[np.ndarray, dict[str, int], str | None]:
    """One input frame as HxW float32 (a distance or depth), checked against the camera's size; what it counted;
    the format's note on what it took (a channel among several...)."""
    try:
        size = formats.image_size(path, source.read)
        if size != (shape[1], shape[0]):
            raise JobError(f"{path}: image is {size[0]}x{size[1]}, the camera renders {shape[1]}x{shape[0]}")
        values, note = formats.read_image(path, source.read)
    except formats.FormatError as error:
        raise JobError(str(error)) from None
    if values.shape != shape:
        raise JobError(f"{path}: image is {values.shape[1]}x{values.shape[0]}, the camera renders "
                       f"{shape[1]}x{shape[0]}")
    if source.mist is None:
        return values, {}, note
    values, unknown = from_mist(values, *source.mist)
    return values, {"mist pixels at or beyond the mist range (written as 0)": unknown}, note


def convert_inputs(folder: Path, frames: list[FrameInput], to: str, request: Request, source: Source = PLAIN_SOURCE,
                   threads: int | None = None, label: str = "", kept: Sequence[exports.Record] = ()
                   ) -> list[FrameResult]:
    """Convert ``frames`` with the reference maths, ``threads`` frames at a time (default: cores).

    Frames are published in order: after a failure the frames before it are complete and nothing after it
    is left behind.
    """
    convert = reference.distance_to_depth if to == "depth" else reference.depth_to_distance
    source_name = "distance" if to == "depth" else "depth"
    written = [kind for kind in request.kinds if kind.graph_value is not None]

    with staging(folder) as stage:

        def one_frame(item: FrameInput) -> StagedFrame:
            values, report, note = read_input(item.path, item.geometry.shape, source)
            if note and item is frames[0]:  # said once, from the first frame's own read
                log(note)
            images = {to: convert(values, item.geometry), source_name: values}
            for kind in written:
                path = stage / kind.filename(item.frame)
                try:
                    formats.write_image(path, images[kind.graph_value], source.output_format,
                                        1.0 / request.options.depth16_scale)
                except formats.FormatError as error:
                    raise JobError(f"frame {item.frame}: {error}") from None
                except (OSError, RuntimeError) as error:  # OpenEXR reports a failed write as RuntimeError
                    raise JobError(f"frame {item.frame}: cannot write {path}: {error}") from None
            staged = stage_frame(item.frame, item.meta, stage, request, images=images)
            for key, count in report.items():
                staged.data.report[key] = staged.data.report.get(key, 0) + count
            return staged

        progress = Progress(len(frames), label)
        names = {item.frame: item.path.name for item in frames}
        results: list[FrameResult] = []
        try:
            _in_order(frames, one_frame, threads or min(cores(), MAX_THREADS), lambda staged: results.append(
                _publish(staged, folder, request, progress, f" {names[staged.frame]}")))
        except JobError:
            failed = next(item.frame for item in frames if item.frame not in {result.frame for result in results})
            log(f"{label}{account(len(results), len(kept), 1)} (frame {failed}); the frames before it are complete")
            raise
        finish_job(folder, stage, request, results, kept)
        return results


def _publish(staged: StagedFrame, folder: Path, request: Request, progress: Progress, what: str) -> FrameResult:
    result = publish_frame(staged, folder, request)
    progress.tick(staged.frame, f"{what} -> {next(iter(result.paths.values()))}")
    return dataclasses.replace(result, depth=None, distance=None)  # a long sequence must not pile up in memory


def _in_order(items: list, work: Callable[..., StagedFrame], threads: int,
              finish: Callable[[StagedFrame], None]) -> None:
    """``work(item)`` on ``threads`` threads (two items in flight per thread), ``finish`` in item order."""
    queue: deque[Future] = deque()
    upcoming = iter(items)
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="true-depth-convert") as pool:
        try:
            for item in upcoming:
                queue.append(pool.submit(work, item))
                if len(queue) >= 2 * threads:
                    break
            while queue:
                finish(queue.popleft().result())
                item = next(upcoming, None)
                if item is not None:
                    queue.append(pool.submit(work, item))
        finally:
            for future in queue:
                future.cancel()


