"""The main job's Blender side: render or convert frames through the True Depth node (Blender-facing).

Every frame goes through the same graph a user builds by hand: a distance
source -> True Depth -> Blender's native File Output node. Files are written to
a hidden staging folder first and moved into place once the frame is complete,
so a failure never leaves a half-written frame under a final name, and nothing
that exists is replaced without ``overwrite``.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import bpy
import numpy as np

from . import compat, exr, preview, scenes, sidecar
from .camera import BlenderCamera, UnsupportedCameraError, camera_from_scene
from .cli import CliError
from .graph import add_true_depth_node, camera_at_frame, check_cameras

OUTPUT_KINDS = ("depth", "distance", "preview", "camera")
SOURCES = ("aov", "mist")
LOG_PREFIX = "[true-depth]"


JobError = CliError
"""A failure reported as one line on stderr with exit code 1."""


def log(message: str) -> None:
    print(f"{LOG_PREFIX} {message}", flush=True)


def frame_paths(folder: Path, frame: int) -> dict[str, Path]:
    """The four files of one frame (see :data:`OUTPUT_KINDS`)."""
    suffix = {"depth": "exr", "distance": "exr", "preview": "png", "camera": "json"}
    return {kind: folder / f"{kind}_{frame:04d}.{suffix[kind]}" for kind in OUTPUT_KINDS}


def safe_folder_name(name: str) -> str:
    """A scene name usable as one folder name."""
    cleaned = re.sub(r"[^\w.+-]+", "_", name).strip("._")
    return cleaned or "scene"


def check_outputs_free(plan: Iterable[tuple[Path, int]], overwrite: bool) -> None:
    """Refuse (before any work) when an output exists and ``overwrite`` is off, or a folder is a file."""
    existing = []
    for folder, frame in plan:
        for parent in (folder, *folder.parents):
            if parent.exists() and not parent.is_dir():
                raise JobError(f"{parent} exists and is not a folder")
        existing += [path for path in frame_paths(folder, frame).values() if path.exists()]
    if existing and not overwrite:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise JobError(f"{existing[0]} exists{more}; pass --overwrite to replace")


@contextmanager
def staging(folder: Path) -> Iterator[Path]:
    """A hidden folder inside ``folder`` for in-progress files; removed afterwards, whatever happens."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix=".true-depth-partial-", dir=folder))
    except OSError as error:
        raise JobError(f"cannot write to {folder}: {error.strerror or error}") from None
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _read_exr(path: Path) -> np.ndarray:
    """Read a written EXR back: with OpenEXR where installed, else with Blender's image loader."""
    try:
        return exr.read_single_channel(path)
    except ImportError:
        image = bpy.data.images.load(str(path), check_existing=False)
        try:
            width, height = image.size
            pixels = np.empty(width * height * 4, dtype=np.float32)
            image.pixels.foreach_get(pixels)
            return pixels.reshape(height, width, 4)[::-1, :, 0].copy()
        finally:
            bpy.data.images.remove(image)


def _make_opencv_readable(path: Path) -> None:
    try:
        exr.rename_single_channel(path)
    except exr.ExrError as error:
        raise JobError(f"Blender wrote an unexpected EXR layout: {error}") from None
    except OSError as error:
        raise JobError(f"cannot rewrite {path}: {error.strerror or error}") from None


def camera_json(scene: bpy.types.Scene, frame: int) -> dict:
    """The sidecar of ``frame``: the camera Blender renders it with, as :mod:`depth_node.sidecar` describes."""
    camera_object = camera_at_frame(scene, frame)
    camera = camera_from_scene(scene, camera_object)
    return sidecar.camera_metadata(
        camera, camera_object.matrix_world, camera_object.data.clip_start, camera_object.data.clip_end,
        scene.unit_settings.scale_length,
        blender={"version": bpy.app.version_string, "scene": scene.name, "camera": camera_object.name,
                 "frame": frame},
    )


@dataclass
class FrameResult:
    frame: int
    paths: dict[str, Path]
    depth: np.ndarray
    distance: np.ndarray


def finish_frame(scene: bpy.types.Scene, frame: int, stage: Path, folder: Path) -> FrameResult:
    """Check the frame's EXRs, add preview and sidecar, and move all four files into ``folder``.

    Either all four files of the frame reach ``folder`` or none does.
    """
    staged = frame_paths(stage, frame)
    for kind in ("depth", "distance"):
        if not staged[kind].is_file():
            raise JobError(f"frame {frame}: Blender did not write {staged[kind].name} (disk full or not writable?)")
        _make_opencv_readable(staged[kind])
    depth, distance = _read_exr(staged["depth"]), _read_exr(staged["distance"])
    try:
        preview.write_png(staged["preview"], preview.side_by_side(distance, depth))
        staged["camera"].write_text(json.dumps(camera_json(scene, frame), indent=2) + "\n")
    except OSError as error:
        raise JobError(f"frame {frame}: cannot write into {stage}: {error.strerror or error}") from None
    final = frame_paths(folder, frame)
    moved: list[Path] = []
    try:
        for kind in OUTPUT_KINDS:
            staged[kind].replace(final[kind])
            moved.append(final[kind])
    except OSError as error:
        for path in moved:
            path.unlink(missing_ok=True)
        raise JobError(f"frame {frame}: cannot move outputs into {folder}: {error.strerror or error}") from None
    return FrameResult(frame, final, depth, distance)


def render_and_finish(scene: bpy.types.Scene, frame: int, stage: Path, folder: Path) -> FrameResult:
    """Render the current frame (the File Output node writes into ``stage``) and complete it."""
    with bpy.context.temp_override(scene=scene):
        bpy.ops.render.render(write_still=False, scene=scene.name)
    return finish_frame(scene, frame, stage, folder)


def _check_scene_cameras(scene: bpy.types.Scene) -> None:
    """Fail before any work when a camera the node will be driven by is unsupported."""
    try:
        check_cameras(scene)
    except UnsupportedCameraError as error:
        raise JobError(str(error)) from None


def check_frame_camera(scene: bpy.types.Scene, frame: int) -> BlenderCamera:
    """The camera of ``frame``, or a :class:`JobError` naming the frame (e.g. a type keyframed to panoramic)."""
    try:
        return camera_from_scene(scene, camera_at_frame(scene, frame))
    except UnsupportedCameraError as error:
        raise JobError(f"frame {frame}: {error}") from None


def prepare_for_exact_depth(scene: bpy.types.Scene) -> None:
    """Settings that make the sampled distance the pixel centre's (this is a copy: the beauty is not kept)."""
    if scene.render.engine != "CYCLES":
        raise JobError(f"scene {scene.name!r} renders with {scene.render.engine}; True Depth renders need "
                       "CYCLES (set Render Engine to Cycles)")
    scenes.setup_cycles(scene, samples=1, filter_width=0.01)
    scene.render.use_motion_blur = False
    scene.render.use_compositing = True
    compat.use_cpu_compositor(scene)


def wire_render(scene: bpy.types.Scene, stage: Path, source: str) -> None:
    """A fresh compositor: Render Layers distance -> True Depth -> File Output (depth and distance)."""
    if source == "aov":
        scenes.add_distance_aov_to_materials(scene)
        scenes.enable_depth_passes(scene)
    else:
        camera = scene.camera
        scenes.setup_linear_mist(scene, 0.0, camera.data.clip_end)
    tree = compat.fresh_compositor_tree(scene)
    layers = tree.nodes.new("CompositorNodeRLayers")
    layers.scene = scene
    if source == "aov":
        distance = layers.outputs[scenes.DISTANCE_AOV]
    else:
        unmap = tree.nodes.new("ShaderNodeMath")
        unmap.operation = "MULTIPLY_ADD"
        unmap.label = "Mist -> distance"
        mist = scene.world.mist_settings
        tree.links.new(layers.outputs["Mist"], unmap.inputs[0])
        unmap.inputs[1].default_value = mist.depth
        unmap.inputs[2].default_value = mist.start
        distance = unmap.outputs[0]
    node = add_true_depth_node(scene, location=(300.0, 0.0), tree=tree)
    tree.links.new(distance, node.inputs["Distance"])
    output, sockets = compat.new_exr_file_output(tree, str(stage), ["depth_####", "distance_####"])
    output.location = (600.0, 0.0)
    tree.links.new(node.outputs["Depth"], sockets[0])
    tree.links.new(distance, sockets[1])


def render_frames(scene: bpy.types.Scene, folder: Path, frames: list[int], source: str = "aov"
                  ) -> list[FrameResult]:
    """Render ``frames`` of ``scene`` into ``folder`` (outputs checked free by the caller)."""
    if source not in SOURCES:
        raise JobError(f"--source must be one of {SOURCES}, got {source!r}")
    _check_scene_cameras(scene)
    prepare_for_exact_depth(scene)
    results = []
    with staging(folder) as stage:
        wire_render(scene, stage, source)
        for index, frame in enumerate(frames, start=1):
            scene.frame_set(frame)
            check_frame_camera(scene, frame)
            result = render_and_finish(scene, frame, stage, folder)
            results.append(result)
            log(f"{scene.name}: frame {frame} ({index}/{len(frames)}) -> {result.paths['depth']}")
    return results


def input_sequence(pattern: str) -> dict[int, Path]:
    """``{frame: path}`` for an input pattern: ``####`` or ``%04d`` mark the frame number, or a glob.

    With a glob, the frame number is the last run of digits in each file name.
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
        match = regex.match(candidate.name) if regex else re.search(r"(\d+)(?!.*\d)", candidate.name)
        if match and candidate.is_file():
            frame = int(match.group(1))
            if frame in found:
                raise JobError(f"frame {frame} matches both {found[frame].name} and {candidate.name}")
            found[frame] = candidate
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


def wire_convert(scene: bpy.types.Scene, stage: Path, to: str) -> bpy.types.Node:
    """A fresh compositor: Image -> Separate Color (R) -> True Depth (either mode) -> File Output."""
    tree = compat.fresh_compositor_tree(scene)
    image_node = tree.nodes.new("CompositorNodeImage")
    separate = tree.nodes.new("CompositorNodeSeparateColor")
    tree.links.new(image_node.outputs["Image"], separate.inputs[0])
    source = separate.outputs[0]  # R: exact, where Color -> Float conversion would average channels
    mode = "DISTANCE_TO_DEPTH" if to == "depth" else "DEPTH_TO_DISTANCE"
    node = add_true_depth_node(scene, mode=mode, location=(400.0, 0.0), tree=tree)
    tree.links.new(source, node.inputs[0])
    output, sockets = compat.new_exr_file_output(tree, str(stage), ["depth_####", "distance_####"])
    output.location = (700.0, 0.0)
    converted, original = (sockets[0], sockets[1]) if to == "depth" else (sockets[1], sockets[0])
    tree.links.new(node.outputs[0], converted)
    tree.links.new(source, original)
    scene.render.use_compositing = True
    compat.use_cpu_compositor(scene)
    return image_node


def load_input(path: Path, size: tuple[int, int]) -> bpy.types.Image:
    """Load one input frame (as non-colour data) and check it has the camera's size."""
    try:
        exr.check_structure(path)
    except exr.ExrError as error:
        raise JobError(str(error)) from None
    try:
        image = bpy.data.images.load(str(path), check_existing=False)
    except RuntimeError as error:
        raise JobError(f"{path}: cannot read image ({str(error).strip()})") from None
    loaded = tuple(image.size)  # before anything else: a corrupt file crashes colour-space changes
    if loaded != size:
        bpy.data.images.remove(image)
        if loaded == (0, 0):
            raise JobError(f"{path}: cannot read image (truncated, corrupt or not an image)")
        raise JobError(f"{path}: image is {loaded[0]}x{loaded[1]}, the camera renders {size[0]}x{size[1]}")
    image.colorspace_settings.name = "Non-Color"
    return image


def convert_frames(scene: bpy.types.Scene, folder: Path, inputs: dict[int, Path], to: str) -> list[FrameResult]:
    """Convert a sequence of distance (``to="depth"``) or depth EXRs through the node, frame by frame."""
    _check_scene_cameras(scene)
    results = []
    with staging(folder) as stage:
        image_node = wire_convert(scene, stage, to)
        for index, (frame, path) in enumerate(inputs.items(), start=1):
            scene.frame_set(frame)
            camera = check_frame_camera(scene, frame)
            previous, image_node.image = image_node.image, load_input(path, (camera.width, camera.height))
            if previous is not None:
                bpy.data.images.remove(previous)
            result = render_and_finish(scene, frame, stage, folder)
            results.append(result)
            log(f"{scene.name}: frame {frame} ({index}/{len(inputs)}) {path.name} -> {result.paths[to]}")
    return results
