"""The files a job writes, as one table. Imports no bpy.

Each :class:`OutputKind` says how its file is named, how it is produced (by
Blender's File Output node from a value of the graph, by a Python step after a
frame is rendered, or once for the whole job from every frame's sidecar), its
format and which commands write it by default. The overwrite check, the
compositor wiring, the finishing step, the summary's file count, the
``--outputs`` choices and the command-line help all read :data:`OUTPUT_KINDS`;
a new kind is one entry.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import JobError
from ..flow import BACKWARD, FORWARD, Flow, colour
from ..flow import files as flow_files
from ..formats.exr import rgb_channels, write_channels
from ..normals import normal16, to_camera, to_world
from . import exports, pointcloud, preview

DEPTH16_MAX = 65535
DEFAULT_IMAGE_NAME = exports.DEFAULT_IMAGE_NAME
PASSES_PATTERN = "passes_####"
"""The multilayer EXR a job's data pass writes its Vector and Normal passes into (staged, never published)."""


def passes_file(stage: Path, frame: int, view_suffix: str = "") -> Path:
    """The staged passes file of a frame's view (each view of a stereo or multi-view render has its own,
    ``passes_0001_L.exr``, measured on 4.5 and 5.0)."""
    return stage / f"{PASSES_PATTERN.replace('####', f'{frame:04d}')}{view_suffix}.exr"


@dataclass(frozen=True)
class Options:
    """Settings of the kinds that have any (from the command line)."""

    depth16_scale: float = 1000.0
    """depth16 value = round(depth in metres x scale): 1000 writes millimetres."""
    image_name: str | None = None
    """The RGB frames named in COLMAP's and nerfstudio's files: None names the ``rgb`` files where the job
    writes them (each sidecar's ``image``), else :data:`DEFAULT_IMAGE_NAME`; a pattern (``image_####.png``)
    names the frames the user renders separately."""
    flow_format: str = "exr"
    """How ``flow`` is written: ``exr`` (R = u, G = v, B = valid), ``flo`` (Middlebury, with a validity PNG
    beside) or ``kitti`` (16-bit PNG)."""


@dataclass(frozen=True)
class FrameData:
    """What the Python steps of one frame (and view) get."""

    frame: int
    depth: np.ndarray | None
    """The written images, read back when a step needs them (None otherwise)."""
    distance: np.ndarray | None
    camera: dict
    options: Options = Options()
    report: dict[str, int] = field(default_factory=dict)
    """Counts a step reports for the job's summary (e.g. depth16 pixels above the range)."""
    flows: dict[str, Flow] | None = None
    """``{"forward": ..., "backward": ...}`` when the job writes flow (see :mod:`depth_node.core.flow`)."""
    normals: np.ndarray | None = None
    """(H, W, 3) Cycles' Normal pass (world axes) when the job writes normals (see :mod:`depth_node.core.normals`)."""


def depth16(depth: np.ndarray, unit_scale: float, scale: float) -> tuple[np.ndarray, int]:
    """``round(depth x unit_scale x scale)`` as uint16; 0 where there is no depth or it is above the range.

    Returns the image and how many pixels were above 65535 after scaling.
    """
    with np.errstate(invalid="ignore", over="ignore"):  # a background of 1e308 scales to inf: it stays 0
        rounded = np.round(np.asarray(depth, dtype=np.float64) * unit_scale * scale)
        valid = np.isfinite(rounded) & (rounded > 0) & (np.asarray(depth) < preview.BACKGROUND_LIMIT)
        above = valid & (rounded > DEPTH16_MAX)
    image = np.where(valid & ~above, rounded, 0.0).astype(np.uint16)
    return image, int(above.sum())


FLOW_FORMATS = ("exr", "flo", "kitti")
FLOW_EXTENSIONS = {"exr": "exr", "flo": "flo", "kitti": "png"}


def _write_preview(path: Path, data: FrameData) -> None:
    image = preview.side_by_side(data.distance, data.depth)
    if data.flows is not None:
        forward = data.flows[FORWARD]
        image = preview.panel_beside(image, colour.flow_to_colour(forward.uv, forward.valid), "FLOW")
    preview.write_png(path, image)


def _flow_writer(direction: str) -> Callable[[Path, FrameData], None]:
    def write(path: Path, data: FrameData) -> None:
        flow = data.flows[direction]
        if data.options.flow_format == "flo":
            flow_files.write_flo(path, flow.uv)
        elif data.options.flow_format == "kitti":
            lost = flow_files.write_kitti(path, flow.uv, flow.valid)
            key = "flow pixels beyond KITTI's +-512 px (written invalid)"
            data.report[key] = data.report.get(key, 0) + lost
        else:
            write_channels(path, flow.channels())
    return write


def _mask_writer(direction: str) -> Callable[[Path, FrameData], None]:
    def write(path: Path, data: FrameData) -> None:
        flow_files.write_mask(path, data.flows[direction].valid)
    return write


def _pose(data: FrameData, kind: str) -> np.ndarray:
    """The frame's OpenCV camera-to-world pose, or a :class:`JobError` saying that ``kind`` needs it."""
    if "camera_to_world_opencv" not in data.camera:
        raise JobError(f"frame {data.frame}: --outputs {kind} needs the camera's pose (camera_to_world_opencv in the "
                       "camera JSON)")
    return np.asarray(data.camera["camera_to_world_opencv"], dtype=np.float64)


def _points_writer(world: bool) -> Callable[[Path, FrameData], None]:
    def write(path: Path, data: FrameData) -> None:
        points = pointcloud.point_map(data.depth, data.camera, data.distance)
        if world:
            pose = _pose(data, "points_world (points gives them in the camera frame)")
            surface = np.any(points != 0, axis=-1, keepdims=True)
            points = np.where(surface, pointcloud.to_world(points.reshape(-1, 3), pose).reshape(points.shape), 0.0)
        write_channels(path, rgb_channels(points))
    return write


def _camera_normals(data: FrameData, kind: str) -> np.ndarray:
    try:
        return to_camera(data.normals, _pose(data, kind))
    except ValueError as error:
        raise JobError(f"frame {data.frame}: --outputs {kind}: {error}") from None


def _write_normal(path: Path, data: FrameData) -> None:
    write_channels(path, rgb_channels(_camera_normals(data, "normal")))


def _write_normal_world(path: Path, data: FrameData) -> None:
    write_channels(path, rgb_channels(to_world(data.normals)))


def _write_normal16(path: Path, data: FrameData) -> None:
    preview.write_png(path, normal16(_camera_normals(data, "normal16")))


def write_sidecar(path: Path, camera: dict) -> None:
    """The camera JSON of one frame (and view)."""
    path.write_text(json.dumps(camera, indent=2) + "\n")


def _write_camera(path: Path, data: FrameData) -> None:
    write_sidecar(path, data.camera)


def _write_depth16(path: Path, data: FrameData) -> None:
    image, above = depth16(data.depth, float(data.camera.get("unit_scale", 1.0)), data.options.depth16_scale)
    preview.write_png(path, image)
    data.report["depth16 pixels above 65535 (written as 0)"] = above


def _write_colmap(folder: Path, records: Sequence[exports.Record], options: Options) -> list[Path]:
    return exports.write_colmap(folder / "colmap", records, options.image_name)


def _write_nerf(folder: Path, records: Sequence[exports.Record], options: Options) -> list[Path]:
    return exports.write_nerfstudio(folder / "transforms.json", records, options.image_name)


@dataclass(frozen=True)
class OutputKind:
    """One output: per frame (and view), or once per job."""

    name: str
    extension: str
    description: str
    defaults: tuple[str, ...] = ()
    """The commands that write it when ``--outputs`` is not given."""
    graph_value: str | None = None
    """``"depth"``, ``"distance"`` or ``"disparity"``: written by the File Output node as a single-channel float32
    EXR."""
    write: Callable[[Path, FrameData], None] | None = None
    """A Python step run after the frame's EXRs are written and read back."""
    write_job: Callable[[Path, Sequence[exports.Record], Options], list[Path]] | None = None
    """Written once, after every frame, from the frames' sidecars (into the scene's folder)."""
    job_files: tuple[str, ...] = ()
    """The files :attr:`write_job` writes, relative to the scene's folder (for the overwrite check)."""
    stereo_only: bool = False
    pinhole_only: bool = False
    needs_pixels: bool = False
    """A Python step that reads the rendered images (so ``prepare`` cannot write it ahead of a farm render)."""
    group: str | None = None
    """The name ``--outputs`` also selects it by (``flow`` selects both directions)."""
    flow: bool = False
    """Needs the frame's flow (:attr:`FrameData.flows`): the job renders the Vector pass."""
    normal: bool = False
    """Needs the frame's normals (:attr:`FrameData.normals`): the job renders the Normal pass."""
    flow_formats: tuple[str, ...] = FLOW_FORMATS
    """The ``--flow-format`` values it is written for (a validity mask only beside ``.flo``)."""
    beauty: bool = False
    """Written by Blender's own render output (``render.filepath``) in the file's output format: its extension
    comes from the scene (:func:`with_extension`)."""

    def filename(self, frame: int, view_suffix: str = "") -> str:
        """The file name of ``frame`` (``depth_0001.exr``; a view's ``depth_0001_L.exr``)."""
        return f"{self.name}_{frame:04d}{view_suffix}.{self.extension}"

    @property
    def file_output_pattern(self) -> str:
        """The File Output node's path for this kind (``#`` marks the frame number)."""
        return f"{self.name}_####"

    @property
    def per_frame(self) -> bool:
        return self.write_job is None


_RENDERS = ("example", "render")
_FARM = ("prepare",)
OUTPUT_KINDS: tuple[OutputKind, ...] = (
    OutputKind("rgb", "png", "the beauty as the file renders it (engine, samples, colour management, its own "
               "compositor) in the file's output format (render.image_settings: PNG, OpenEXR, JPEG...)",
               beauty=True),
    OutputKind("depth", "exr", "planar depth, float32, one channel 'Y'", _RENDERS + _FARM + ("convert",),
               graph_value="depth"),
    OutputKind("distance", "exr", "ray distance, float32, one channel 'Y'", _RENDERS + _FARM,
               graph_value="distance"),
    OutputKind("preview", "png", "distance and depth side by side (viridis, scale bar)", _RENDERS,
               write=_write_preview, needs_pixels=True),
    OutputKind("camera", "json", "camera sidecar: K, pose, projection, clip range, unit scale",
               _RENDERS + _FARM + ("convert",), write=_write_camera),
    OutputKind("depth16", "png", "depth as 16-bit PNG, round(metres x --depth16-scale), 0 = no depth",
               write=_write_depth16, needs_pixels=True),
    OutputKind("disparity", "exr", "stereo disparity x_left - x_right in pixels, float32 (Stereo 3D renders)",
               graph_value="disparity", stereo_only=True),
    *(OutputKind(f"flow_{direction}", "exr", f"optical flow to frame f{'+' if direction == FORWARD else '-'}1 in "
                 "OpenCV pixels, float32 R = u, G = v, B = valid (see --flow-format)", write=_flow_writer(direction),
                 group="flow", flow=True, needs_pixels=True) for direction in (FORWARD, BACKWARD)),
    *(OutputKind(f"flow_{direction}_valid", "png", f"8-bit PNG beside each .flo: 255 where flow_{direction} is valid",
                 write=_mask_writer(direction), group="flow", flow=True, needs_pixels=True,
                 flow_formats=("flo",))
      for direction in (FORWARD, BACKWARD)),
    OutputKind("points", "exr", "each pixel's surface point in the OpenCV camera frame (x right, y down, z forward), "
               "scene units, float32 R = x, G = y, B = z; 0 = no surface", write=_points_writer(world=False),
               needs_pixels=True),
    OutputKind("points_world", "exr", "each pixel's surface point in Blender's world axes, scene units, float32 "
               "R = x, G = y, B = z; 0 = no surface", write=_points_writer(world=True), needs_pixels=True),
    OutputKind("normal", "exr", "unit surface normal in the OpenCV camera frame (x right, y down, z forward), float32 "
               "R = x, G = y, B = z, turned towards the camera at back faces; 0 = no surface",
               write=_write_normal, normal=True, needs_pixels=True),
    OutputKind("normal_world", "exr", "unit surface normal in Blender's world axes, float32 R = x, G = y, B = z; "
               "0 = no surface", write=_write_normal_world, normal=True, needs_pixels=True),
    OutputKind("normal16", "png", "normal as a 16-bit RGB PNG: round((n + 1) / 2 x 65535) per axis; 0, 0, 0 = no "
               "surface", write=_write_normal16, normal=True, needs_pixels=True),
    OutputKind("colmap", "txt", "COLMAP text model (colmap/cameras.txt, images.txt, points3D.txt)",
               write_job=_write_colmap, job_files=("colmap/cameras.txt", "colmap/images.txt",
                                                   "colmap/points3D.txt"), pinhole_only=True),
    OutputKind("nerf", "json", "nerfstudio transforms.json", write_job=_write_nerf,
               job_files=("transforms.json",), pinhole_only=True),
)
BY_NAME = {kind.name: kind for kind in OUTPUT_KINDS}
GROUPS = {kind.group for kind in OUTPUT_KINDS if kind.group}
DEFAULT_KINDS: tuple[OutputKind, ...] = tuple(kind for kind in OUTPUT_KINDS if "render" in kind.defaults)


def select(names: Iterable[str] | None = None, command: str = "render", flow_format: str = "exr"
           ) -> tuple[OutputKind, ...]:
    """The kinds called ``names`` (or by their group's name: ``flow``) in table order (``command``'s defaults for
    None), the flow files as ``flow_format`` gives them; ValueError for unknown names."""
    if names is None:
        return tuple(kind for kind in OUTPUT_KINDS if command in kind.defaults)
    return with_flow_format(_named(names), flow_format)


def _named(names: Iterable[str]) -> tuple[OutputKind, ...]:
    wanted = list(names)
    unknown = [name for name in wanted if name not in BY_NAME and name not in GROUPS]
    if unknown or not wanted:
        raise ValueError(f"unknown output kind(s) {', '.join(unknown) or '(none given)'}; choose from "
                         f"{', '.join(sorted(GROUPS) + [kind.name for kind in OUTPUT_KINDS])}")
    return tuple(kind for kind in OUTPUT_KINDS if kind.name in wanted or kind.group in wanted)


def with_flow_format(kinds: Iterable[OutputKind], flow_format: str) -> tuple[OutputKind, ...]:
    """``kinds`` for ``--flow-format``: the flow files' extension, and the validity masks only beside ``.flo``."""
    if flow_format not in FLOW_FORMATS:
        raise ValueError(f"--flow-format must be one of {', '.join(FLOW_FORMATS)}, got {flow_format!r}")
    chosen = []
    for kind in kinds:
        if kind.flow and flow_format not in kind.flow_formats:
            continue
        if kind.flow and kind.extension == "exr":
            kind = dataclasses.replace(kind, extension=FLOW_EXTENSIONS[flow_format])
        chosen.append(kind)
    return tuple(chosen)


def with_extension(kinds: Iterable[OutputKind], extension: str) -> tuple[OutputKind, ...]:
    """``kinds`` with the beauty kind's extension set to the scene's (``png``, ``exr``, ``jpg``...)."""
    return tuple(dataclasses.replace(kind, extension=extension) if kind.beauty else kind for kind in kinds)


def with_value_extension(kinds: Iterable[OutputKind], extension: str) -> tuple[OutputKind, ...]:
    """``kinds`` with the depth and distance images written as ``extension`` (convert's ``--format``)."""
    return tuple(dataclasses.replace(kind, extension=extension) if kind.graph_value in ("depth", "distance") else kind
                 for kind in kinds)


def frame_paths(folder: Path, frame: int, kinds: Iterable[OutputKind] = DEFAULT_KINDS, view_suffix: str = ""
                ) -> dict[str, Path]:
    """``{kind name: path}`` of one frame's (or one view's) files in ``folder`` (per-frame kinds only)."""
    return {kind.name: folder / kind.filename(frame, view_suffix) for kind in kinds if kind.per_frame}


def job_paths(folder: Path, kinds: Iterable[OutputKind]) -> list[Path]:
    """The once-per-job files of ``kinds`` in ``folder``."""
    return [folder / name for kind in kinds for name in kind.job_files]


def describe(kinds: Iterable[OutputKind] = OUTPUT_KINDS) -> str:
    """The kinds for the command-line help."""
    return "; ".join(f"{kind.name}: {kind.description}" for kind in kinds)
