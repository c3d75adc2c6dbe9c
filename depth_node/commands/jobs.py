"""The jobs that run inside Blender: ``example``, ``render`` and ``convert``.

Every frame goes through the same graph a user builds by hand: a distance
source -> True Depth -> Blender's native File Output node. Files are written to
a hidden staging folder first and moved into place once the frame is complete,
so a failure never leaves a half-written frame under a final name, and nothing
that exists is replaced without ``overwrite``. What a frame writes is the
table :data:`depth_node.core.outputs.OUTPUT_KINDS`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import bpy
import numpy as np

from ..blender import animation, compat, scenes
from ..blender.binding import Segments, add_true_depth_node, camera_at_frame, camera_segments, check_cameras
from ..blender.views import view_cameras
from ..core import exports, exr, outputs, preview, sidecar
from ..core.camera import BlenderCamera, UnsupportedCameraError, camera_from_scene, stereo_views
from ..core.modes import DEPTH_TO_DISTANCE, DISTANCE_TO_DEPTH
from ..core.outputs import DEFAULT_KINDS, OUTPUT_KINDS, FrameData, Options, OutputKind, frame_paths, job_paths
from ..core.stereo import Stereo
from .base import (
    SOURCES,
    JobError,
    check_input,
    check_outputs_free,
    log,
    read_exr,
    safe_folder_name,
    staging,
)
from .workers import Split

EXAMPLE_WALL_DISTANCE = 5.0
EXAMPLE_SCENES = (("wall", False), ("suzanne", True))
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
    def reads_pixels(self) -> bool:
        """Whether a Python step reads the rendered images (then both graph values are written and read back)."""
        return any(kind.needs_pixels for kind in self.kinds)

    @property
    def graph_kinds(self) -> tuple[OutputKind, ...]:
        """The kinds the File Output node writes: the requested ones, and depth and distance when a Python step
        reads them."""
        return tuple(kind for kind in _GRAPH_KINDS
                     if kind in self.kinds or (self.reads_pixels and kind.graph_value in _READ_BACK))


@dataclass
class FrameResult:
    """One finished frame (view): its files, both images as written, and what its steps reported."""

    frame: int
    paths: dict[str, Path]
    depth: np.ndarray
    distance: np.ndarray
    record: exports.Record
    report: dict[str, int]


@dataclass(frozen=True)
class View:
    """One view a frame is rendered in: ``""`` for a plain render, else Blender's view name and file suffix."""

    name: str = ""
    suffix: str = ""
    stereo: bool = False
    """A Stereo 3D eye (one camera moved per eye); else a Multi-View view (a camera of its own, by suffix)."""

    def camera_object(self, scene: bpy.types.Scene, camera_object: bpy.types.Object) -> bpy.types.Object:
        """The camera object this view renders with."""
        if self.stereo or not self.name:
            return camera_object
        return view_cameras(scene, camera_object).get(self.name, camera_object)


def render_views(scene: bpy.types.Scene) -> tuple[View, ...]:
    """The views of ``scene``'s render, or a :class:`JobError` for multi-view setups the job cannot write."""
    eyes = stereo_views(scene)
    if eyes:
        return tuple(View(name, scene.render.views[name].file_suffix, stereo=True) for name in eyes)
    if scene.render.use_multiview:
        return tuple(View(view.name, view.file_suffix) for view in scene.render.views if view.use)
    return (View(),)


def camera_json(scene: bpy.types.Scene, frame: int, camera_object: bpy.types.Object, camera: BlenderCamera,
                view: View = View()) -> dict:
    """The sidecar of ``frame`` (and ``view``), rendered with ``camera_object`` (read as ``camera``)."""
    # Blender renders with the camera's world matrix normalized (object scale does not scale the view).
    to_world = np.array(camera_object.matrix_world.normalized())
    blender = {"version": bpy.app.version_string, "scene": scene.name, "camera": camera_object.name, "frame": frame}
    stereo = None
    if view.stereo:
        stereo = _stereo(camera_object)
        to_world = stereo.eye_to_world(to_world, view.name)
    if view.name:
        blender["view"] = view.name
    meta = sidecar.camera_metadata(camera, to_world, camera_object.data.clip_start, camera_object.data.clip_end,
                                   scene.unit_settings.scale_length, blender=blender)
    if stereo is not None:
        meta["stereo"] = {**stereo.describe(), "view": view.name}
    return meta


def _stereo(camera_object: bpy.types.Object) -> Stereo:
    settings = camera_object.data.stereo
    return Stereo(float(settings.interocular_distance), float(settings.convergence_distance),
                  str(settings.convergence_mode), str(settings.pivot))


def frame_camera(scene: bpy.types.Scene, frame: int, segments: Segments) -> tuple[bpy.types.Object, BlenderCamera]:
    """The camera ``frame`` renders with, or a :class:`JobError` naming the frame (e.g. a type keyed to panoramic)."""
    camera_object = camera_at_frame(scene, frame, segments)
    try:
        return camera_object, camera_from_scene(scene, camera_object)
    except UnsupportedCameraError as error:
        raise JobError(f"frame {frame}: {error}") from None


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


def stage_frame(frame: int, camera: dict, stage: Path, request: Request, view: View = View(),
                images: dict[str, np.ndarray | None] | None = None) -> StagedFrame:
    """Run the frame's Python steps into ``stage``; needs no bpy, so frames may be staged in parallel.

    ``images``: depth and distance as computed (their EXRs already staged); None when the File Output node
    wrote them: they are checked, made readable by OpenCV, and read back if a step needs them.
    """
    staged = frame_paths(stage, frame, OUTPUT_KINDS, view.suffix)
    if images is None:
        images = {"depth": None, "distance": None}
        for kind in request.graph_kinds:
            path = staged[kind.name]
            if not path.is_file():
                raise JobError(f"frame {frame}: Blender did not write {path.name} (disk full or not writable?)")
            _make_opencv_readable(path)
            if request.reads_pixels and kind.graph_value in images:
                images[kind.graph_value] = read_exr(path)
    if request.has("depth16"):
        camera = {**camera, "depth16_scale": request.options.depth16_scale}
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


def _disparity_terms(scene: bpy.types.Scene, camera_object: bpy.types.Object) -> tuple[float, float]:
    """``(fx x baseline, cx_left - cx_right)`` of a rectified (parallel or off-axis) Stereo 3D pair."""
    eyes = {view: camera_from_scene(scene, camera_object, view).matrix() for view in ("left", "right")}
    stereo, to_world = _stereo(camera_object), np.array(camera_object.matrix_world.normalized())
    left, right = (stereo.eye_to_world(to_world, view) for view in ("left", "right"))
    baseline = float((right[:3, 3] - left[:3, 3]) @ left[:3, 0])
    return float(eyes["left"][0, 0]) * baseline, float(eyes["left"][0, 2] - eyes["right"][0, 2])


def _run_frames(scene: bpy.types.Scene, folder: Path, frames: list[int], segments: Segments, request: Request,
                stage: Path, before_render: Callable[[int, BlenderCamera], str],
                after_render: Callable[[BlenderCamera], None] | None = None) -> list[FrameResult]:
    """Render each frame (the File Output node writes every view into ``stage``), check it (``after_render``),
    finish each view, then write the once-per-job files."""
    views = render_views(scene)
    results = []
    for index, frame in enumerate(frames, start=1):
        scene.frame_set(frame)
        camera_object, camera = frame_camera(scene, frame, segments)
        what = before_render(frame, camera)
        with bpy.context.temp_override(scene=scene):
            bpy.ops.render.render(write_still=False, scene=scene.name)
        if after_render is not None:
            after_render(camera)
        for view in views:
            view_object = view.camera_object(scene, camera_object)
            view_camera = camera_from_scene(scene, view_object, view.name if view.stereo else None)
            meta = camera_json(scene, frame, view_object, view_camera, view)
            result = publish_frame(stage_frame(frame, meta, stage, request, view), folder, request)
            results.append(result)
            log(f"{scene.name}: frame {frame} ({index}/{len(frames)}){what} -> {next(iter(result.paths.values()))}")
    _finish_job(folder, stage, request, results)
    return results


def _finish_job(folder: Path, stage: Path, request: Request, results: list[FrameResult]) -> None:
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


def check_request(scene: bpy.types.Scene, segments: Segments, request: Request) -> None:
    """Refuse kinds the scene's cameras cannot give, before any work (disparity, COLMAP, nerfstudio)."""
    try:
        cameras = check_cameras(scene, segments)
    except UnsupportedCameraError as error:
        raise JobError(str(error)) from None
    for kind in request.kinds:
        if kind.stereo_only:
            if not stereo_views(scene):
                raise JobError(f"--outputs {kind.name} needs a Stereo 3D render (Output Properties > Stereoscopy)")
            modes_used = {camera_object.data.stereo.convergence_mode
                          for camera_object in [c for _, c in segments] or [scene.camera]}
            if "TOE" in modes_used:
                raise JobError(f"--outputs {kind.name}: toe-in stereo views are not rectified (their epipolar "
                               "lines are not rows); use OFF-AXIS or PARALLEL convergence")
        if kind.pinhole_only and any(camera.projection != "PERSP" for camera in cameras):
            raise JobError(f"--outputs {kind.name} describes perspective cameras only; this scene's cameras are "
                           f"{', '.join(sorted({camera.model.label for camera in cameras}))}")


def _add_node(scene: bpy.types.Scene, tree: bpy.types.NodeTree, mode: str, segments: Segments,
              location: tuple[float, float]) -> bpy.types.Node:
    try:
        return add_true_depth_node(scene, mode=mode, location=location, tree=tree, segments=segments)
    except UnsupportedCameraError as error:
        raise JobError(str(error)) from None


def _wire_file_output(tree: bpy.types.NodeTree, values: dict[str, bpy.types.NodeSocket],
                      location: tuple[float, float], request: Request) -> bpy.types.Node:
    """One File Output node writing every graph-valued kind (``values``: graph value -> socket).

    Its folder is set once the staging folder exists (:func:`_staged`).
    """
    kinds = request.graph_kinds
    output, sockets = compat.new_exr_file_output(tree, "", [kind.file_output_pattern for kind in kinds])
    output.location = location
    for kind, socket in zip(kinds, sockets, strict=True):
        tree.links.new(values[kind.graph_value], socket)
    return output


@contextmanager
def _staged(folder: Path, file_output: bpy.types.Node) -> Iterator[Path]:
    """A staging folder in ``folder`` that ``file_output`` writes into."""
    with staging(folder) as stage:
        compat.set_output_directory(file_output, str(stage))
        yield stage


def prepare_for_exact_depth(scene: bpy.types.Scene) -> None:
    """Settings that make each pixel the pixel centre's pinhole ray (a copy: the beauty is not kept).

    Any engine's scene renders its depth with Cycles (the geometry is the same); depth of field and motion
    blur are turned off, since both move the sample off the pixel's pinhole ray.
    """
    if scene.render.engine != "CYCLES":
        log(f"scene {scene.name!r} renders with {scene.render.engine}: its depth is rendered with Cycles "
            "(same geometry)")
    scenes.setup_cycles(scene, samples=1, filter_width=0.01)
    scene.render.use_motion_blur = False
    for camera in bpy.data.cameras:
        camera.dof.use_dof = False
    scene.render.use_compositing = True
    compat.use_cpu_compositor(scene)


def _math(tree: bpy.types.NodeTree, operation: str, label: str, *inputs: bpy.types.NodeSocket | float
          ) -> bpy.types.Node:
    """A Math node computing ``operation`` of ``inputs`` (sockets are linked, numbers typed in)."""
    node = tree.nodes.new("ShaderNodeMath")
    node.operation = operation
    node.label = label
    for socket, value in zip(node.inputs, inputs, strict=False):
        if isinstance(value, bpy.types.NodeSocket):
            tree.links.new(value, socket)
        else:
            socket.default_value = value
    return node


def _background_to_zero(tree: bpy.types.NodeTree, z: bpy.types.NodeSocket) -> bpy.types.NodeSocket:
    """Cycles writes 1e10 into Z where rays escape; the depth files hold 0 there (as the AOV does)."""
    hit = _math(tree, "LESS_THAN", "Hit (Z < 1e9)", z, preview.BACKGROUND_LIMIT)
    return _math(tree, "MULTIPLY", "Background -> 0", z, hit.outputs[0]).outputs[0]


def _wire_disparity(scene: bpy.types.Scene, tree: bpy.types.NodeTree, depth: bpy.types.NodeSocket,
                    frames: list[int], segments: Segments) -> bpy.types.NodeSocket:
    """``x_left - x_right = fx x baseline / depth + (cx_left - cx_right)``, 0 where there is no depth.

    Each view of a rectified (parallel or off-axis) pair computes it from its own depth. The two terms are
    the same for both views and carry CONSTANT keys, one per frame, so a farm's render needs no Python.
    """
    scale = _math(tree, "DIVIDE", "Disparity: fx x baseline / depth", 0.0, depth)
    shifted = _math(tree, "ADD", "Disparity: + (cx_left - cx_right)", scale.outputs[0], 0.0)
    positive = _math(tree, "GREATER_THAN", "Depth > 0", depth, 0.0)
    finite = _math(tree, "LESS_THAN", "Depth < 1e9", depth, preview.BACKGROUND_LIMIT)
    valid = _math(tree, "MULTIPLY", "Has depth", positive.outputs[0], finite.outputs[0])
    terms = []
    for frame in frames:
        scene.frame_set(frame)
        terms.append(_disparity_terms(scene, camera_at_frame(scene, frame, segments)))
    for socket, column in ((scale.inputs[0], 0), (shifted.inputs[1], 1)):
        animation.set_constant_keys(tree, f"{socket.path_from_id()}.default_value", frames,
                                    [values[column] for values in terms])
    return _math(tree, "MULTIPLY", "Disparity (0: no depth)", shifted.outputs[0], valid.outputs[0]).outputs[0]


def _distance_source(scene: bpy.types.Scene, tree: bpy.types.NodeTree, layers: bpy.types.Node, source: str
                     ) -> bpy.types.NodeSocket:
    """The ray distance from the View Distance AOV or the un-mapped Mist pass."""
    if source == "aov":
        return layers.outputs[scenes.DISTANCE_AOV]
    unmap = tree.nodes.new("ShaderNodeMath")
    unmap.operation = "MULTIPLY_ADD"
    unmap.label = "Mist -> distance"
    mist = scene.world.mist_settings
    tree.links.new(layers.outputs["Mist"], unmap.inputs[0])
    unmap.inputs[1].default_value = mist.depth
    unmap.inputs[2].default_value = mist.start
    return unmap.outputs[0]


def _z_is_distance(scene: bpy.types.Scene, segments: Segments) -> bool:
    """True when every camera of the job is panoramic (Z is then the distance); a mix is refused."""
    try:
        panoramic = {not camera.has_matrix for camera in check_cameras(scene, segments)}
    except UnsupportedCameraError as error:
        raise JobError(str(error)) from None
    if len(panoramic) > 1:
        raise JobError("the cameras of this scene mix panoramic and other types, for which Cycles' Z pass means "
                       "different things: render the panoramic and the other frames separately (--frames), or "
                       "use --source aov")
    return panoramic == {True}


def wire_render(scene: bpy.types.Scene, source: str, segments: Segments, request: Request, frames: list[int]
                ) -> bpy.types.Node:
    """A fresh compositor for ``frames``: a pass -> True Depth (either mode) -> File Output (the graph kinds).

    ``z``: Z -> depth, True Depth Inverse -> distance; ``aov``/``mist``: distance -> True Depth -> depth;
    disparity from the depth.
    """
    tree = compat.fresh_compositor_tree(scene)
    # Cycles' Z is planar depth for pinhole cameras but the ray distance for panoramic ones (measured).
    z_is_distance = _z_is_distance(scene, segments) if source == "z" else False
    mode = DEPTH_TO_DISTANCE if source == "z" and not z_is_distance else DISTANCE_TO_DEPTH
    node = _add_node(scene, tree, mode, segments, (300.0, 0.0))
    if source == "aov":
        scenes.add_distance_aov_to_materials(scene)
        scenes.enable_depth_passes(scene)
    elif source == "mist":
        scenes.setup_linear_mist(scene, 0.0, scene.camera.data.clip_end)
    else:
        for view_layer in scene.view_layers:
            view_layer.use_pass_z = True
    layers = tree.nodes.new("CompositorNodeRLayers")  # after the passes: 5.3 shows enabled passes only
    layers.scene = scene
    if source == "z":
        z = _background_to_zero(tree, layers.outputs["Depth"])
        tree.links.new(z, node.inputs[0])
        values = {"depth": node.outputs[0], "distance": z} if z_is_distance else {"depth": z,
                                                                                "distance": node.outputs[0]}
    else:
        distance = _distance_source(scene, tree, layers, source)
        tree.links.new(distance, node.inputs[0])
        values = {"depth": node.outputs[0], "distance": distance}
    if request.has("disparity"):
        values["disparity"] = _wire_disparity(scene, tree, values["depth"], frames, segments)
    return _wire_file_output(tree, values, (600.0, 0.0), request)


def render_frames(scene: bpy.types.Scene, folder: Path, frames: list[int], source: str = SOURCES[0],
                  request: Request = Request()) -> list[FrameResult]:
    """Render ``frames`` of ``scene`` into ``folder`` (outputs checked free by the caller)."""
    if source not in SOURCES:
        raise JobError(f"--source must be one of {SOURCES}, got {source!r}")
    segments = camera_segments(scene)
    check_request(scene, segments, request)
    file_output = wire_render(scene, source, segments, request, frames)
    prepare_for_exact_depth(scene)
    with _staged(folder, file_output) as stage:
        return _run_frames(scene, folder, frames, segments, request, stage, lambda frame, camera: "")


def wire_convert(scene: bpy.types.Scene, to: str, segments: Segments, request: Request
                 ) -> tuple[bpy.types.Node, bpy.types.Node]:
    """A fresh compositor: Image -> Separate Color (R) -> True Depth (either mode) -> File Output.

    Returns the Image node and the File Output node.
    """
    check_single_view(scene)
    tree = compat.fresh_compositor_tree(scene)
    mode = DISTANCE_TO_DEPTH if to == "depth" else DEPTH_TO_DISTANCE
    node = _add_node(scene, tree, mode, segments, (400.0, 0.0))
    image_node = tree.nodes.new("CompositorNodeImage")
    separate = tree.nodes.new("CompositorNodeSeparateColor")
    tree.links.new(image_node.outputs["Image"], separate.inputs[0])
    source = separate.outputs[0]  # R: exact, where Color -> Float conversion would average channels
    tree.links.new(source, node.inputs[0])
    converted, original = ("depth", "distance") if to == "depth" else ("distance", "depth")
    file_output = _wire_file_output(tree, {converted: node.outputs[0], original: source}, (700.0, 0.0), request)
    scene.render.use_compositing = True
    compat.use_cpu_compositor(scene)
    return image_node, file_output


def check_single_view(scene: bpy.types.Scene) -> None:
    """``convert`` takes one view's images: refuse a scene that renders several."""
    if scene.render.use_multiview:
        raise JobError(f"scene {scene.name!r} renders several views: convert takes one view's images; turn "
                       "Stereoscopy off in the .blend (or convert with a camera JSON of that view)")


def load_input(path: Path, size: tuple[int, int]) -> bpy.types.Image:
    """Check one input frame's structure and size from its header, and load it (as non-colour data).

    Blender decodes the pixels when the compositor first uses them; asking for ``image.size`` here
    would decode them once more (measured: 22 ms of a 106 ms 1080p frame), so call
    :func:`check_decoded` after the render instead.
    """
    check_input(path, size)
    try:
        image = bpy.data.images.load(str(path), check_existing=False)
    except RuntimeError as error:
        raise JobError(f"{path}: cannot read image ({str(error).strip()})") from None
    image.colorspace_settings.name = "Non-Color"
    return image


def check_decoded(image: bpy.types.Image, size: tuple[int, int]) -> None:
    """Refuse a frame whose pixels Blender could not decode (its compositor then reads nothing)."""
    if tuple(image.size) != size:
        raise JobError(f"{bpy.path.abspath(image.filepath)}: cannot read image (corrupt pixel data)")


def convert_frames(scene: bpy.types.Scene, folder: Path, inputs: dict[int, Path], to: str,
                   request: Request = Request()) -> list[FrameResult]:
    """Convert a sequence of distance (``to="depth"``) or depth EXRs through the node, frame by frame."""
    segments = camera_segments(scene)
    image_node, file_output = wire_convert(scene, to, segments, request)
    check_request(scene, segments, request)
    with _staged(folder, file_output) as stage:

        def load(frame: int, camera: BlenderCamera) -> str:
            previous, image_node.image = image_node.image, load_input(inputs[frame], (camera.width, camera.height))
            if previous is not None:
                bpy.data.images.remove(previous)
            return f" {inputs[frame].name}"

        def check(camera: BlenderCamera) -> None:
            check_decoded(image_node.image, (camera.width, camera.height))

        return _run_frames(scene, folder, list(inputs), segments, request, stage, load, check)


def open_blend(path: Path, scene_name: str | None) -> bpy.types.Scene:
    """Open ``path`` (replacing the current file in memory) and return its scene ``scene_name`` (or the active one)."""
    if not path.is_file():
        raise JobError(f"{path}: no such file")
    try:
        bpy.ops.wm.open_mainfile(filepath=str(path.resolve()), load_ui=False)
    except RuntimeError as error:
        raise JobError(f"{path}: cannot open ({str(error).strip().splitlines()[-1]})") from None
    if scene_name is None:
        return bpy.context.scene
    if scene_name not in bpy.data.scenes:
        raise JobError(f"{path} has no scene {scene_name!r} (it has {', '.join(bpy.data.scenes.keys())})")
    return bpy.data.scenes[scene_name]


def frames_job(scene: bpy.types.Scene, output: Path, frames: list[int], overwrite: bool, announce: str,
                job: Callable[[Path], list[FrameResult]], request: Request, split: Split | None = None) -> int:
    """OUT/<scene>/: refuse existing outputs (unless ``overwrite``), run ``job(folder)``, report.

    With ``split`` the frames go to worker processes instead (see :mod:`depth_node.commands.workers`).
    """
    folder = output / safe_folder_name(scene.name)
    views = render_views(scene)
    check_outputs_free(((folder, frame) for frame in frames), overwrite, request.kinds, [v.suffix for v in views])
    existing = [path for path in job_paths(folder, request.kinds) if path.exists()]
    if existing and not overwrite:
        raise JobError(f"{existing[0]} exists; pass --overwrite to replace")
    log(announce)
    if split is None or split.jobs < 2 or len(frames) < 2:
        summarize(folder, job(folder), request)
        return 0
    check_request(scene, camera_segments(scene), request)  # refuse here, not once per worker
    per_frame = [kind.name for kind in request.kinds if kind.per_frame]
    once = [kind for kind in request.kinds if not kind.per_frame]
    split.run(frames, per_frame + (["camera"] if once and "camera" not in per_frame else []))
    records = [exports.Record(frame, view.suffix, json.loads((folder / outputs.BY_NAME["camera"].filename(
        frame, view.suffix)).read_text()), None) for frame in frames for view in views]
    if once:
        with staging(folder) as stage:
            _finish_job(folder, stage, Request(tuple(once), request.options), [
                FrameResult(record.frame, {}, None, None, _with_depth_file(record, request), {})
                for record in records])
        if "camera" not in per_frame:
            for frame in frames:
                for view in views:
                    (folder / outputs.BY_NAME["camera"].filename(frame, view.suffix)).unlink()
    written = len(frames) * len(views) * len(per_frame) + len(job_paths(folder, request.kinds))
    log(f"wrote {written} files under {folder}")
    return 0


def _with_depth_file(record: exports.Record, request: Request) -> exports.Record:
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


def run_example(output: Path, resolution: tuple[int, int], lens: float, overwrite: bool,
                request: Request = Request()) -> int:
    """Render the built-in example scenes (a wall; Suzanne in front of a wall) into ``output``."""
    frame = 1
    folders = {name: output / name for name, _ in EXAMPLE_SCENES}
    check_outputs_free(((folder, frame) for folder in folders.values()), overwrite, request.kinds)
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    first = bpy.context.scene
    written = 0
    for index, (name, with_suzanne) in enumerate(EXAMPLE_SCENES):
        scene = first if index == 0 else bpy.data.scenes.new(name)
        scene.name = name
        scene.render.resolution_x, scene.render.resolution_y = resolution
        scene.render.resolution_percentage = 100
        scenes.setup_cycles(scene)
        scenes.add_camera(scene, f"{name} camera").data.lens = lens
        scenes.add_wall(scene, EXAMPLE_WALL_DISTANCE)
        if with_suzanne:
            scenes.add_suzanne(scene)
        scene.frame_start = scene.frame_end = frame
        log(f"{name}: rendering frame {frame} ({resolution[0]}x{resolution[1]}, {lens:g} mm)")
        results = render_frames(scene, folders[name], [frame], request=request)
        written += summarize(folders[name], results, request)
        (result,) = results
        depth, distance = (getattr(result, kind) if getattr(result, kind) is not None
                           else read_exr(result.paths[kind]) if kind in result.paths else None
                           for kind in ("depth", "distance"))
        if name == "wall" and depth is not None and distance is not None:
            flatness = float(np.max(np.abs(depth - EXAMPLE_WALL_DISTANCE)) / EXAMPLE_WALL_DISTANCE)
            spread = float((distance.max() - distance.min()) / distance.min())
            log(f"wall: distance varies {spread:.1%} across the frame; depth is flat to {flatness:.1e} "
                f"(relative) around {EXAMPLE_WALL_DISTANCE}")
        elif depth is not None:
            log(f"{name}: depth {depth.min():.3f} .. {depth.max():.3f}")
    log(f"wrote {written} files under {output}")
    return 0


def run_render(blend: Path, output: Path, frames: list[int] | None, scene_name: str | None, source: str,
               overwrite: bool, request: Request = Request(), split: Split | None = None) -> int:
    """Render true depth for a scene of ``blend`` (an in-memory copy: the file is never written)."""
    scene = open_blend(blend, scene_name)
    frames = frames or list(range(scene.frame_start, scene.frame_end + 1))
    return frames_job(scene, output, frames, overwrite,
                       f"{blend}: scene {scene.name!r}, {len(frames)} frame(s), source: {source}",
                       lambda folder: render_frames(scene, folder, frames, source, request), request, split)


def run_prepare(blend: Path, job_blend: Path, render_output: Path, frames: list[int] | None, scene_name: str | None,
                source: str, overwrite: bool, request: Request) -> int:
    """Write ``job_blend``: the job ``render`` would run, for a farm (no Python, no extension needed there).

    Its File Output node writes the depth and distance EXRs straight into ``render_output/<scene>/``; the
    files that need Python (camera JSON, COLMAP, nerfstudio) are written here for the whole frame range.
    ``blend`` is never written.
    """
    later = [kind.name for kind in request.kinds if kind.needs_pixels]
    if later:
        raise JobError(f"--outputs {','.join(later)} need the rendered images: prepare writes the render job "
                       "and the camera files; use render for those kinds")
    if job_blend.resolve() == blend.resolve():
        raise JobError(f"{job_blend} is the scene file itself; prepare never writes it")
    if job_blend.exists() and not overwrite:
        raise JobError(f"{job_blend} exists; pass --overwrite to replace")
    scene = open_blend(blend, scene_name)
    frames = frames or list(range(scene.frame_start, scene.frame_end + 1))
    if frames != list(range(frames[0], frames[-1] + 1)):
        raise JobError("prepare renders one frame range (--frames A-B), as a farm does")
    folder = render_output.resolve() / safe_folder_name(scene.name)
    views = render_views(scene)
    check_outputs_free(((folder, frame) for frame in frames), overwrite, request.kinds, [v.suffix for v in views])
    segments = camera_segments(scene)
    check_request(scene, segments, request)
    file_output = wire_render(scene, source, segments, request, frames)
    prepare_for_exact_depth(scene)
    compat.set_output_directory(file_output, str(folder))
    scene.frame_start, scene.frame_end = frames[0], frames[-1]
    records = []
    folder.mkdir(parents=True, exist_ok=True)
    for frame in frames:
        scene.frame_set(frame)
        camera_object, _ = frame_camera(scene, frame, segments)
        for view in views:
            view_object = view.camera_object(scene, camera_object)
            meta = camera_json(scene, frame, view_object,
                               camera_from_scene(scene, view_object, view.name if view.stereo else None), view)
            if request.has("camera"):
                outputs.write_sidecar(folder / outputs.BY_NAME["camera"].filename(frame, view.suffix), meta)
            depth = folder / outputs.BY_NAME["depth"].filename(frame, view.suffix)
            records.append(exports.Record(frame, view.suffix, meta, depth.name))
    for kind in request.kinds:
        if kind.write_job is not None:
            kind.write_job(folder, records, request.options)
    scene.frame_set(frames[0])
    job_blend.parent.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(job_blend.resolve()), copy=True, compress=True)
    log(f"wrote {job_blend} (frames {frames[0]}-{frames[-1]}, EXRs into {folder}) and "
        f"{len(records) * request.has('camera') + len(job_paths(folder, request.kinds))} camera files; render it "
        f"anywhere: blender -b {job_blend.name} -a (or -s/-e per machine)")
    return 0
