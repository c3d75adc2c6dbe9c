"""What every job shares, with no bpy: the error type, logging, output checks, staging, input sequences."""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..core.errors import JobError
from ..core.formats import exr
from ..core.outputs import DEFAULT_KINDS, OutputKind, frame_paths

LOG_PREFIX = "[true-depth]"
SOURCES = ("z", "aov", "mist")
"""Where ``render`` takes depth or distance from (docs/cameras.md, "Which source to feed"); the first is the default.

``z``: Cycles' Z pass (planar depth, written once at the first surface at or above the alpha threshold),
distance from the True Depth Inverse node; ``aov``: a Camera Data "View Distance" AOV (adds up through
surfaces below the alpha threshold); ``mist``: the Mist pass with linear falloff (also adds up)."""

ENGINES = ("numpy", "node")
"""How ``convert`` computes (see :mod:`depth_node.commands.convert`); the first is the default."""


STAGING_PREFIX = ".true-depth-partial-"
"""In-progress files live in a hidden folder of this prefix inside the output folder (see :func:`staging`)."""

VERBOSE = False
"""Show Blender's own lines while it renders (``--verbose``); otherwise only the job's lines are printed."""


def log(message: str) -> None:
    """One progress line on stdout."""
    print(f"{LOG_PREFIX} {message}", flush=True)


@contextmanager
def blender_output_hidden() -> Iterator[None]:
    """Hide what Blender prints on stdout while it renders ("Fra:", "Saved: ..." twice per file) unless
    :data:`VERBOSE`. Its errors still arrive: a failed render raises in Python, stderr stays open."""
    if VERBOSE:
        yield
        return
    sys.stdout.flush()
    saved, quiet = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(quiet)


LARGE_BUFFER_BYTES = 256 << 20
"""Allocations up to this size come from the heap, not a fresh mapping (a 4K float4 buffer is 133 MB)."""
KEPT_FREE_BYTES = 512 << 20
"""Freed heap memory kept for the next frame instead of being returned to the system."""


def keep_large_buffers() -> bool:
    """Let the compositor's frame-sized buffers be reused from frame to frame (glibc only; True when set).

    Measured (tools/bench.py, 1080p, CPU compositor): on Blender 5.3, after Python steps that free large
    arrays, one 24.9 MB buffer of the True Depth graph (the 1080p float3 of Image Coordinates) was mapped
    fresh from the system on every frame, ~6,100 page faults, +7 ms; 5.2 reused it (16 faults). With
    glibc's thresholds fixed at these values 5.3 took 54 faults a frame and the node's cost matched 5.2's.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt): its allocator stays as it is
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(mallopt(m_mmap_threshold, LARGE_BUFFER_BYTES)) and bool(mallopt(m_trim_threshold, KEPT_FREE_BYTES))


class Progress:
    """One line per finished frame: position, seconds per frame so far and the time left at that rate."""

    def __init__(self, total: int, label: str) -> None:
        self.total, self.label, self.done = total, label, 0
        self.start = time.perf_counter()

    def tick(self, frame: int, what: str) -> None:
        self.done += 1
        per_frame = (time.perf_counter() - self.start) / self.done
        left = per_frame * (self.total - self.done)
        log(f"{self.label}frame {frame} ({self.done}/{self.total}) {per_frame:.2f} s/frame, "
            f"ETA {clock(left)}{what}")


def clock(seconds: float) -> str:
    """``0:07``, ``12:05``, ``3:02:09``."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def frame_ranges(frames: Iterable[int]) -> str:
    """``1-3,5,7-9``: frame numbers as ``--frames`` takes them (sorted, runs joined)."""
    runs: list[list[int]] = []
    for frame in sorted(set(frames)):
        if runs and frame == runs[-1][1] + 1:
            runs[-1][1] = frame
        else:
            runs.append([frame, frame])
    return ",".join(str(first) if first == last else f"{first}-{last}" for first, last in runs)


def slurm_cpus() -> int | None:
    """A SLURM task's CPUs (``SLURM_CPUS_PER_TASK``, else the job's CPUs on this node); None outside SLURM.

    Without a task plugin SLURM does not pin a task to its CPUs, so the allocation is read, not the affinity mask.
    """
    if not os.environ.get("SLURM_JOB_ID"):
        return None
    for name in ("SLURM_CPUS_PER_TASK", "SLURM_JOB_CPUS_PER_NODE"):
        match = re.match(r"\d+", os.environ.get(name, ""))
        if match and int(match[0]) > 0:
            return int(match[0])
    return None


def allocated_cpus() -> int:
    """The CPUs this job may use: a SLURM task's allocation, otherwise the cores this process may run on."""
    return slurm_cpus() or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def safe_folder_name(name: str) -> str:
    """A scene name usable as one folder name."""
    cleaned = re.sub(r"[^\w.+-]+", "_", name).strip("._")
    return cleaned or "scene"


def check_outputs_free(plan: Iterable[tuple[Path, int]], overwrite: bool,
                       kinds: Iterable[OutputKind] = DEFAULT_KINDS, view_suffixes: Iterable[str] = ("",)) -> None:
    """Refuse (before any work) when an output exists and ``overwrite`` is off, or a folder is a file."""
    kinds, view_suffixes = tuple(kinds), tuple(view_suffixes)
    existing = []
    for folder, frame in plan:
        for parent in (folder, *folder.parents):
            if parent.exists() and not parent.is_dir():
                raise JobError(f"{parent} exists and is not a folder")
        existing += [path for suffix in view_suffixes for path in frame_paths(folder, frame, kinds, suffix).values()
                     if path.exists()]
    if existing and not overwrite:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise JobError(f"{existing[0]} exists{more}; pass --overwrite to replace")


def staging_owner() -> str:
    """Who a staging folder belongs to, so that ``--resume`` removes only dead jobs' folders: a SLURM array task
    (``slurm-<array job>_<task>``: the same name when SLURM requeues it), a SLURM job (``slurm-<job>``), else this
    host's process (``<host>-<pid>``)."""
    array, task, job = (os.environ.get(name) for name in ("SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_JOB_ID"))
    if array and task:
        return f"slurm-{array}_{task}"
    if job:
        return f"slurm-{job}"
    return f"{socket.gethostname().split('.')[0].replace('-', '_')}-{os.getpid()}"


@contextmanager
def staging(folder: Path) -> Iterator[Path]:
    """A hidden folder inside ``folder`` for in-progress files, named after its :func:`staging_owner`; removed
    afterwards, whatever happens."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{staging_owner()}-", dir=folder))
    except OSError as error:
        raise JobError(f"cannot write to {folder}: {error.strerror or error}") from None
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def read_exr(path: Path) -> np.ndarray:
    """A single-channel EXR as HxW float32: with OpenEXR where installed, else with Blender's image loader.

    Raises :class:`JobError` when the file cannot be read or neither reader exists.
    """
    try:
        return exr.read_single_channel(path)
    except exr.ExrError as error:
        raise JobError(str(error)) from None
    except ImportError:
        pass
    try:
        from ..blender.images import read_single_channel
    except ImportError:
        raise JobError(f"cannot read {path}: this needs the OpenEXR package (pip install OpenEXR) "
                       "or Blender's Python") from None
    return read_single_channel(path)


def check_input(path: Path, size: tuple[int, int]) -> None:
    """Check one input frame's structure, and its size against the camera's, from its header (no decoding)."""
    try:
        header_size = exr.check_structure(path)
    except exr.ExrError as error:
        raise JobError(str(error)) from None
    if header_size != size:
        raise JobError(f"{path}: image is {header_size[0]}x{header_size[1]}, the camera renders {size[0]}x{size[1]}")


def input_sequence(pattern: str) -> dict[int, Path]:
    """``{frame: path}`` for an input pattern: ``####`` or ``%04d`` mark the frame number, or a glob.

    With a glob, the frame number is the last run of digits in each file name before its extension (the 5 of
    ``.hdf5`` is not a frame number).
    """
    path = Path(pattern).expanduser()
    name = path.name
    hashes = re.search(r"#+", name) or re.search(r"%0?(\d*)d", name)
    if hashes:
        glob = name[:hashes.start()] + "*" + name[hashes.end():]
        regex = re.compile(re.escape(name[:hashes.start()]) + r"(\d+)" + re.escape(name[hashes.end():]) + "$")
    else:
        glob, regex = name, None
    found: dict[int, Path] = {}
    for candidate in sorted(path.parent.glob(glob)):
        match = regex.match(candidate.name) if regex else re.search(r"(\d+)(?!.*\d)", candidate.stem)
        if match and candidate.is_file():
            frame = int(match.group(1))
            if frame in found:
                raise JobError(f"frame {frame} matches both {found[frame].name} and {candidate.name}")
            found[frame] = candidate
    if not found and regex is None and path.is_file():  # one file whose name holds no frame number
        found[1] = path
    if not found:
        raise JobError(f"no input file matches {pattern}")
    return dict(sorted(found.items()))


def select_frames(available: dict[int, Path], wanted: list[int] | None) -> dict[int, Path]:
    """The files of ``wanted`` frames (all by default); missing frames are an error, never skipped."""
    frames = wanted if wanted is not None else list(range(min(available), max(available) + 1))
    missing = [frame for frame in frames if frame not in available]
    if missing:
        listed = ", ".join(str(frame) for frame in missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise JobError(f"the input sequence lacks frame(s) {listed}")
    return {frame: available[frame] for frame in frames}
