"""The compositor graphs and render settings of the jobs (render, prepare, convert, example).

Every job's frame goes through the graph a user builds by hand: a distance source -> True Depth ->
Blender's native File Output node. With ``rgb`` the beauty is the user's own render: either the same
render (:func:`shared_render_reason` says when that is exact) with the job's nodes added beside the
user's compositor, or a first pass with the file untouched before the depth pass.
"""

from __future__ import annotations

from collections.abc import Sequence

import bpy
import numpy as np

from ..core.calibration import Calibration
from ..core.camera import BlenderCamera, UnsupportedCameraError, camera_from_scene
from ..core.errors import JobError
from ..core.flow import BACKWARD, FORWARD
from ..core.flow.vector_pass import PASS_NAME as VECTOR_PASS
from ..core.graph import true_flow, true_normal
from ..core.modes import DEPTH_TO_DISTANCE, DISTANCE_TO_DEPTH
from ..core.normals.normal_pass import PASS_NAME as NORMAL_PASS
from ..core.outputs import PASSES_PATTERN, OutputKind, preview
from ..core.projections.stereo import Stereo
from . import animation, compat, scenes
from .binding import Segments, add_true_depth_node, camera_at_frame, check_cameras, scene_calibration
from .flow.node import add_true_flow_node, flow_problem
from .normals import mesh_normals_only
from .normals.node import add_true_normal_node, normal_problem

PASS_COMPONENTS = {VECTOR_PASS: 4, NORMAL_PASS: 3}
"""The components of each data pass the passes file holds."""
GraphValues = dict[str, bpy.types.NodeSocket]
"""Graph value (``depth``, ``distance``, ``disparity``) -> the socket that carries it."""


def stereo_of(camera_object: bpy.types.Object) -> Stereo:
    """The Stereo 3D settings of a camera object."""
    settings = camera_object.data.stereo
    return Stereo(float(settings.interocular_distance), float(settings.convergence_distance),
                  str(settings.convergence_mode), str(settings.pivot))


def job_cameras(scene: bpy.types.Scene, segments: Segments) -> list[BlenderCamera]:
    """The cameras a job renders with, or a :class:`JobError` saying why one cannot be used (a calibrated
    camera: its pinhole part, see :func:`job_calibration`)."""
    try:
        return check_cameras(scene, segments)
    except UnsupportedCameraError as error:
        raise JobError(str(error)) from None


def job_calibration(scene: bpy.types.Scene, segments: Segments) -> Calibration | None:
    """The calibration of the job's camera when it is a calibrated one (it must render alone: a
    :class:`JobError` otherwise)."""
    try:
        return scene_calibration(scene, segments)
    except UnsupportedCameraError as error:
        raise JobError(str(error)) from None


def pick_view_layer(scene: bpy.types.Scene, name: str | None) -> bpy.types.ViewLayer:
    """The view layer a job takes its depth from: ``name``, else the only one Blender renders.

    Several rendered layers and no ``name`` are refused with their names (each may hold other objects).
    """
    rendered = [layer for layer in scene.view_layers if layer.use]
    if name is not None:
        layer = scene.view_layers.get(name)
        if layer is None:
            raise JobError(f"scene {scene.name!r} has no view layer {name!r} (it has "
                           f"{', '.join(repr(layer.name) for layer in scene.view_layers)})")
        if not layer.use:
            raise JobError(f"view layer {name!r} is not rendered (its 'Use for Rendering' is off); rendered: "
                           f"{', '.join(repr(layer.name) for layer in rendered) or 'none'}")
        return layer
    if not rendered:
        raise JobError(f"scene {scene.name!r} renders no view layer ('Use for Rendering' is off on all of "
                       f"{', '.join(repr(layer.name) for layer in scene.view_layers)})")
    if len(rendered) > 1:
        raise JobError(f"scene {scene.name!r} renders {len(rendered)} view layers "
                       f"({', '.join(repr(layer.name) for layer in rendered)}): choose the one whose depth to "
                       "write with --view-layer NAME")
    return rendered[0]


def shared_render_reason(scene: bpy.types.Scene, source: str, cameras: Sequence[bpy.types.Object]) -> str | None:
    """Why the beauty's own render cannot also give the exact depth (None: it can, one render does both).

    Cycles writes its Z pass from sample 0 alone, through the pixel centre at any sample count, filter width,
    adaptive sampling and denoising (measured on 4.5-5.3 against the BVH ray cast). Depth of field and motion
    blur move sample 0 off the pixel's pinhole ray; other engines and sources need their own pass.
    """
    if scene.render.engine != "CYCLES":
        return f"the scene renders with {scene.render.engine}: its depth is rendered with Cycles (same geometry)"
    if source != "z":
        return f"--source {source} changes the materials or passes; the beauty is rendered first, untouched"
    if scene.render.use_motion_blur:
        return "motion blur moves each pixel's first sample in time"
    with_dof = sorted({camera.name for camera in cameras if camera.data.dof.use_dof})
    if with_dof:
        return f"depth of field ({', '.join(with_dof)}) moves each pixel's first sample off its pinhole ray"
    return None


def check_beauty_format(scene: bpy.types.Scene) -> str:
    """The extension (``png``, ``exr``...) of the file's output format, or a :class:`JobError` for a movie."""
    render = scene.render
    if render.is_movie_format:
        raise JobError(f"--outputs rgb writes one image per frame, but the file's output format is a movie "
                       f"({render.image_settings.file_format}): choose an image format in Output Properties > "
                       "Output > File Format (PNG, OpenEXR, JPEG, ...)")
    if render.use_multiview and render.image_settings.views_format == "STEREO_3D":
        raise JobError("--outputs rgb writes each view to its own file, but the file's output combines the views "
                       "into one image (Output Properties > Views > Views Format: Stereo 3D): choose Individual")
    return render.file_extension.lstrip(".")


def beauty_settings(scene: bpy.types.Scene) -> None:
    """The beauty's file name is ours (``rgb_####.<ext>``); what the pixels are stays the file's."""
    render = scene.render
    render.use_file_extension = True
    render.use_placeholder = False
    render.use_overwrite = True


def add_z_pass(layer: bpy.types.ViewLayer) -> None:
    """Cycles' Z pass on ``layer`` (a data pass: the beauty is unchanged, measured on 4.5-5.3)."""
    layer.use_pass_z = True


def depth_only_settings(scene: bpy.types.Scene, layer: bpy.types.ViewLayer) -> None:
    """Settings that make each pixel the pixel centre's pinhole ray, as fast as Cycles gives it (a copy: the
    beauty is not kept).

    Any engine's scene renders its depth with Cycles (the geometry is the same); depth of field and motion
    blur are off, since both move the sample off the pixel's pinhole ray. Only ``layer`` renders; the BVH is
    kept across frames (persistent data: a static scene's frames took 1/3 of the time in a probe) and no
    light bounces (transparent ones stay: alpha-0 decals are seen through as in the beauty).
    """
    scenes.setup_cycles(scene, samples=1, filter_width=0.01)
    scene.render.use_motion_blur = False
    for camera in bpy.data.cameras:
        camera.dof.use_dof = False
    for other in scene.view_layers:
        other.use = other == layer
    scene.render.use_persistent_data = True
    cycles = scene.cycles
    cycles.max_bounces = 0
    cycles.diffuse_bounces = cycles.glossy_bounces = cycles.transmission_bounces = cycles.volume_bounces = 0
    cycles.caustics_reflective = cycles.caustics_refractive = False
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


def disparity_terms(scene: bpy.types.Scene, camera_object: bpy.types.Object) -> tuple[float, float]:
    """``(fx x baseline, cx_left - cx_right)`` of a rectified (parallel or off-axis) Stereo 3D pair."""
    eyes = {view: camera_from_scene(scene, camera_object, view).matrix() for view in ("left", "right")}
    stereo, to_world = stereo_of(camera_object), np.array(camera_object.matrix_world.normalized())
    left, right = (stereo.eye_to_world(to_world, view) for view in ("left", "right"))
    baseline = float((right[:3, 3] - left[:3, 3]) @ left[:3, 0])
    return float(eyes["left"][0, 0]) * baseline, float(eyes["left"][0, 2] - eyes["right"][0, 2])


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
        terms.append(disparity_terms(scene, camera_at_frame(scene, frame, segments)))
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


def z_is_distance(scene: bpy.types.Scene, segments: Segments) -> bool:
    """True when every camera of the job is panoramic or calibrated (Z is then the distance, measured); a mix of
    panoramic and other cameras is refused."""
    if job_calibration(scene, segments) is not None:
        return True
    panoramic = {not camera.has_matrix for camera in job_cameras(scene, segments)}
    if len(panoramic) > 1:
        raise JobError("the cameras of this scene mix panoramic and other types, for which Cycles' Z pass means "
                       "different things: render the panoramic and the other frames separately (--frames), or "
                       "use --source aov")
    return panoramic == {True}


def add_node(scene: bpy.types.Scene, tree: bpy.types.NodeTree, mode: str, segments: Segments,
             location: tuple[float, float]) -> bpy.types.Node:
    """A True Depth node bound to the job's cameras (a calibrated camera's own group), or a :class:`JobError`
    saying why it cannot be."""
    try:
        return add_true_depth_node(scene, mode=mode, location=location, tree=tree, segments=segments)
    except UnsupportedCameraError as error:
        raise JobError(str(error)) from None


def wire_file_output(tree: bpy.types.NodeTree, values: GraphValues, location: tuple[float, float],
                     kinds: Sequence[OutputKind]) -> bpy.types.Node:
    """One File Output node writing each graph-valued kind of ``kinds`` (its folder is set by the caller)."""
    output, sockets = compat.new_exr_file_output(tree, "", [kind.file_output_pattern for kind in kinds])
    output.location = location
    for kind, socket in zip(kinds, sockets, strict=True):
        tree.links.new(values[kind.graph_value], socket)
    return output


def wire_render(scene: bpy.types.Scene, tree: bpy.types.NodeTree, layer: bpy.types.ViewLayer, source: str,
                segments: Segments, kinds: Sequence[OutputKind], frames: list[int], passes: Sequence[str] = ()
                ) -> tuple[bpy.types.Node, bpy.types.Node | None]:
    """Add to ``tree``: ``layer``'s pass -> True Depth (either mode) -> File Output (the graph ``kinds``).

    ``z``: Z -> depth, True Depth Inverse -> distance; ``aov``/``mist``: distance -> True Depth -> depth;
    disparity from the depth. ``passes`` (``Vector`` for flow, ``Normal`` for normals) go to a multilayer EXR of
    their own (:data:`~depth_node.core.outputs.PASSES_PATTERN`). Returns the File Output node and the passes'
    (or None).
    """
    # Cycles' Z is planar depth for pinhole cameras but the ray distance for panoramic ones (measured).
    z_distance = z_is_distance(scene, segments) if source == "z" else False
    mode = DEPTH_TO_DISTANCE if source == "z" and not z_distance else DISTANCE_TO_DEPTH
    node = add_node(scene, tree, mode, segments, (300.0, -600.0))
    if source == "aov":
        scenes.add_distance_aov_to_materials(scene)
        scenes.enable_depth_passes(scene)
    elif source == "mist":
        scenes.setup_linear_mist(scene, 0.0, scene.camera.data.clip_end)
    else:
        add_z_pass(layer)
    layer.use_pass_vector = layer.use_pass_vector or VECTOR_PASS in passes
    layer.use_pass_normal = layer.use_pass_normal or NORMAL_PASS in passes
    layers = tree.nodes.new("CompositorNodeRLayers")  # after the passes: 5.3 shows enabled passes only
    layers.location = (0.0, -600.0)
    layers.scene = scene
    layers.layer = layer.name
    if source == "z":
        z = _background_to_zero(tree, layers.outputs["Depth"])
        tree.links.new(z, node.inputs[0])
        values = {"depth": node.outputs[0], "distance": z} if z_distance else {"depth": z,
                                                                                "distance": node.outputs[0]}
    else:
        distance = _distance_source(scene, tree, layers, source)
        tree.links.new(distance, node.inputs[0])
        values = {"depth": node.outputs[0], "distance": distance}
    if any(kind.graph_value == "disparity" for kind in kinds):
        values["disparity"] = _wire_disparity(scene, tree, values["depth"], frames, segments)
    passes_output = None
    if passes:
        passes_output, sockets = compat.new_multilayer_file_output(
            tree, PASSES_PATTERN, {name: PASS_COMPONENTS[name] for name in passes})
        passes_output.location = (600.0, -900.0)
        for name, socket in zip(passes, sockets, strict=True):
            tree.links.new(layers.outputs[name], socket)
    return wire_file_output(tree, values, (600.0, -600.0), kinds), passes_output


def wire_farm_flow(scene: bpy.types.Scene, tree: bpy.types.NodeTree, layer: bpy.types.ViewLayer,
                   kinds: Sequence[OutputKind]) -> bpy.types.Node:
    """Add to ``tree`` the farm's flow: ``layer``'s Vector and Z -> True Flow (bound to the scene's cameras of
    f-1 and f+1, keyed per frame) -> (u, v, 0) -> a File Output of float32 RGB EXRs, one per flow kind.

    B is ``valid``, which only ray casts can decide (:mod:`depth_node.blender.flow.visibility`): a farm render
    runs no Python, so it is 0 everywhere, never the node's "in view" (which a hidden point can be). A
    :class:`JobError` with the node's own reason where it cannot be exact (:func:`flow_problem`).
    """
    layer.use_pass_vector = layer.use_pass_z = True
    layers = tree.nodes.new("CompositorNodeRLayers")  # after the passes: 5.3 shows enabled passes only
    layers.location = (0.0, -1200.0)
    layers.scene = scene
    layers.layer = layer.name
    node = add_true_flow_node(scene, (300.0, -1200.0), tree)
    problem = flow_problem(node, forward=any(kind.name == f"flow_{FORWARD}" for kind in kinds))
    if problem is not None:
        raise JobError(f"--outputs {','.join(kind.name for kind in kinds)} in a farm job (the True Flow node): "
                       f"{problem}")
    tree.links.new(layers.outputs["Vector"], node.inputs[true_flow.VECTOR_INPUT])
    tree.links.new(layers.outputs["Depth"], node.inputs[true_flow.DEPTH_INPUT])
    output, sockets = compat.new_exr_file_output(tree, "", [kind.file_output_pattern for kind in kinds],
                                                 name="Flow Output", rgb=True)
    output.location = (900.0, -1200.0)
    for index, (kind, socket) in enumerate(zip(kinds, sockets, strict=True)):
        direction = FORWARD if kind.name == f"flow_{FORWARD}" else BACKWARD
        separate = tree.nodes.new("CompositorNodeSeparateColor")
        combine = tree.nodes.new("CompositorNodeCombineColor")
        separate.location, combine.location = (550.0, -1200.0 - 200.0 * index), (720.0, -1200.0 - 200.0 * index)
        combine.label = f"{kind.name}: u, v, valid 0"
        tree.links.new(node.outputs[true_flow.OUTPUTS[direction]], separate.inputs[0])
        for channel in (0, 1):
            tree.links.new(separate.outputs[channel], combine.inputs[channel])
        combine.inputs[2].default_value = 0.0
        combine.inputs[3].default_value = 1.0
        tree.links.new(combine.outputs[0], socket)
    return output


FARM_NORMALS = {"normal": true_normal.CAMERA_OUTPUT, "normal_world": true_normal.WORLD_OUTPUT}
"""The normal kinds a farm job writes: kind -> the True Normal output its File Output slot reads."""


def wire_farm_normals(scene: bpy.types.Scene, tree: bpy.types.NodeTree, layer: bpy.types.ViewLayer,
                      kinds: Sequence[OutputKind]) -> bpy.types.Node:
    """Add to ``tree`` the farm's normals: ``layer``'s Normal pass -> True Normal (keyed with each frame's camera
    rotation) -> a File Output of float32 RGB EXRs, one per normal kind; and make every material's pass the
    mesh's own normal (:func:`~depth_node.blender.normals.mesh_normals_only`: the job file renders no beauty).
    A :class:`JobError` for a kind a farm cannot write, and with the node's own reason where it cannot be exact
    (:func:`~depth_node.blender.normals.node.normal_problem`)."""
    names = ",".join(kind.name for kind in kinds)
    python_only = [kind.name for kind in kinds if kind.name not in FARM_NORMALS]
    if python_only:
        raise JobError(f"--outputs {','.join(python_only)}: a farm render writes normals as float32 EXR only "
                       f"({', '.join(FARM_NORMALS)}); the 16-bit PNG is written by Python: use render for it")
    layer.use_pass_normal = True
    layers = tree.nodes.new("CompositorNodeRLayers")  # after the passes: 5.3 shows enabled passes only
    layers.location = (0.0, -1800.0)
    layers.scene = scene
    layers.layer = layer.name
    node = add_true_normal_node(scene, (300.0, -1800.0), tree)
    problem = normal_problem(node)
    if problem is not None:
        raise JobError(f"--outputs {names} in a farm job (the True Normal node): {problem}")
    tree.links.new(layers.outputs[NORMAL_PASS], node.inputs[true_normal.NORMAL_INPUT])
    output, sockets = compat.new_exr_file_output(tree, "", [kind.file_output_pattern for kind in kinds],
                                                 name="Normal Output", rgb=True)
    output.location = (900.0, -1800.0)
    for index, (kind, socket) in enumerate(zip(kinds, sockets, strict=True)):
        colour = compat.vector_as_colour(tree, node.outputs[FARM_NORMALS[kind.name]], f"{kind.name}: R, G, B = x, y, z",
                                         (550.0, -1800.0 - 200.0 * index))
        tree.links.new(colour, socket)
    mesh_normals_only()
    return output


def check_single_view(scene: bpy.types.Scene) -> None:
    """``convert`` takes one view's images: refuse a scene that renders several."""
    if scene.render.use_multiview:
        raise JobError(f"scene {scene.name!r} renders several views: convert takes one view's images; turn "
                       "Stereoscopy off in the .blend (or convert with a camera JSON of that view)")


def wire_convert(scene: bpy.types.Scene, to: str, segments: Segments, kinds: Sequence[OutputKind]
                 ) -> tuple[bpy.types.Node, bpy.types.Node]:
    """A fresh compositor: Image -> Separate Color (R) -> True Depth (either mode) -> File Output.

    Returns the Image node and the File Output node.
    """
    check_single_view(scene)
    tree = compat.fresh_compositor_tree(scene)
    mode = DISTANCE_TO_DEPTH if to == "depth" else DEPTH_TO_DISTANCE
    node = add_node(scene, tree, mode, segments, (400.0, 0.0))
    image_node = tree.nodes.new("CompositorNodeImage")
    separate = tree.nodes.new("CompositorNodeSeparateColor")
    tree.links.new(image_node.outputs["Image"], separate.inputs[0])
    source = separate.outputs[0]  # R: exact, where Color -> Float conversion would average channels
    tree.links.new(source, node.inputs[0])
    converted, original = ("depth", "distance") if to == "depth" else ("distance", "depth")
    file_output = wire_file_output(tree, {converted: node.outputs[0], original: source}, (700.0, 0.0), kinds)
    scene.render.use_compositing = True
    compat.use_cpu_compositor(scene)
    return image_node, file_output
