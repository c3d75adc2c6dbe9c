"""Binding True Depth nodes to a scene: drivers, camera switches at timeline markers, health checks.

Without camera markers every camera input has a simple-expression driver reading ``scene.camera.data``
(it follows the active camera live). With markers, the camera inputs carry CONSTANT keyframes instead
(:mod:`depth_node.core.projections.camera_switches`), re-made whenever a marker or a marker camera's settings
change; render settings keep their drivers either way.
"""

from __future__ import annotations

import hashlib

import bpy

from ..core import modes, projections
from ..core.calibration import Calibration
from ..core.camera import BlenderCamera, UnsupportedCameraError, camera_from_scene
from ..core.graph.nodes import SocketSpec
from ..core.graph.true_depth import CALIBRATED, MODE_PROPERTY, VARIANT_PROPERTY
from ..core.projections.camera_switches import switch_keys
from . import animation, calibrated, compat, views
from .group import ensure_group, group_spec, is_current, rebuild_outdated, spec_of, true_depth_nodes

BINDING_PROPERTY = "true_depth_binding"
"""Stored on each bound node: what its drivers and keys were built from (scene, markers, marker cameras)."""
CAMERA_PREFIX = "camera."

Segments = list[tuple[int, bpy.types.Object]]


def camera_segments(scene: bpy.types.Scene) -> Segments:
    """``(first frame, camera)`` per camera switch at timeline markers, as Blender resolves them.

    Mirrors ``BKE_scene_camera_switch_find``: the marker with the largest frame
    <= the current frame wins (the first in list order on ties), markers of
    cameras hidden for rendering are ignored, and before the first marker the
    earliest marker's camera is used. Empty when no marker binds a camera.
    """
    markers = sorted(
        ((marker.frame, index, marker.camera) for index, marker in enumerate(scene.timeline_markers)
         if marker.camera is not None and not marker.camera.hide_render),
        key=lambda item: (item[0], item[1]),
    )
    segments: Segments = []
    for frame, _, camera in markers:
        if segments and (segments[-1][0] == frame or segments[-1][1] == camera):
            continue
        segments.append((frame, camera))
    return segments


def camera_at_frame(scene: bpy.types.Scene, frame: int, segments: Segments | None = None
                    ) -> bpy.types.Object | None:
    """The camera Blender renders ``frame`` of ``scene`` with (timeline markers, else the active camera)."""
    chosen = None
    for first, camera in camera_segments(scene) if segments is None else segments:
        if chosen is None or first <= frame:
            chosen = camera
    return chosen or scene.camera


def _camera_path(socket_spec: SocketSpec) -> str | None:
    """``data.lens`` for an input driven by ``camera.data.lens``; None for render-setting inputs."""
    variables = socket_spec.driver.variables
    if len(variables) == 1 and variables[0][1].startswith(CAMERA_PREFIX):
        return variables[0][1].removeprefix(CAMERA_PREFIX)
    return None


def _value_at(camera: bpy.types.Object, path: str, frame: int) -> float:
    """``camera.<path>`` at ``frame`` as a driver reads it (enums as their value), from its F-curve if animated."""
    fcurve = _animated_paths(camera).get(path)
    if fcurve is not None:
        return fcurve.evaluate(frame)
    owner_path, _, name = path.rpartition(".")
    owner = camera.path_resolve(owner_path) if owner_path else camera
    value = getattr(owner, name)
    if isinstance(value, str):  # a driver reads an enum's item value (not its position in the list)
        return float(owner.bl_rna.properties[name].enum_items[value].value)
    return float(value)


def _animated_paths(camera: bpy.types.Object) -> dict[str, bpy.types.FCurve]:
    """``{"data.lens": fcurve, ...}``: the camera data settings that are keyframed."""
    curves = animation.fcurves(camera.data)
    return {} if curves is None else {f"data.{fcurve.data_path}": fcurve for fcurve in curves}


def _camera_fingerprint(camera: bpy.types.Object, paths: list[str]) -> tuple:
    """The camera's values, and the keys of its animated ones: what a switch binding's keys depend on."""
    animated = _animated_paths(camera)
    data = camera.data
    return tuple(tuple(tuple(point.co) for point in animated[path].keyframe_points) if path in animated
                 else data.path_resolve(path.removeprefix("data.")) for path in paths)


def _switch_range(scene: bpy.types.Scene, segments: Segments) -> tuple[int, int]:
    return min([scene.frame_start] + [frame for frame, _ in segments]), scene.frame_end


def _bound_cameras(scene: bpy.types.Scene, segments: Segments) -> list[bpy.types.Object]:
    return list(dict.fromkeys(camera for _, camera in segments)) or ([scene.camera] if scene.camera else [])


def scene_calibration(scene: bpy.types.Scene, segments: Segments) -> Calibration | None:
    """The calibration of the camera a node bound to ``scene`` reads, when it is a calibrated camera (made by
    :func:`~depth_node.blender.calibrated.apply_calibration`); it must render alone (UnsupportedCameraError)."""
    cameras = [camera for _, camera in segments] or [scene.camera]
    found = [calibrated.calibration_of(camera.data) for camera in cameras if camera is not None]
    if not any(found):
        return None
    if len(cameras) > 1 or scene.render.use_multiview:
        raise UnsupportedCameraError("a calibrated camera renders alone: camera switches at markers, Stereo 3D and "
                                     "Multi-View with a calibrated camera are not supported")
    return found[0]


def needed_variant(scene: bpy.types.Scene, segments: Segments) -> str:
    """The group variant the bound cameras need: calibrated for a calibrated camera, panoramic when one is (or
    its type is keyframed)."""
    if scene_calibration(scene, segments) is not None:
        return CALIBRATED
    models = []
    for camera in _bound_cameras(scene, segments):
        if {"data.type", "data.panorama_type"} & set(_animated_paths(camera)):
            return "panoramic"
        try:
            models.append(projections.for_camera(camera.data.type, camera.data.panorama_type))
        except ValueError:
            continue  # refused by check_cameras
    return projections.variant_for(models)


def binding_signature(scene: bpy.types.Scene, segments: Segments) -> str:
    """What a node's drivers and keys depend on besides the scene's own properties (:data:`BINDING_PROPERTY`)."""
    calibration = scene_calibration(scene, segments)
    if calibration is not None:
        camera = segments[0][1] if segments else scene.camera
        return repr((scene.name, [(frame, camera.name) for frame, camera in segments], camera.name, CALIBRATED,
                     calibration.to_dict()))
    if not segments:
        return repr((scene.name, [], needed_variant(scene, segments)))
    paths = [path for spec in group_spec(modes.DISTANCE_TO_DEPTH, "panoramic").camera_inputs
             if (path := _camera_path(spec))]
    cameras = list(dict.fromkeys(camera for _, camera in segments))
    digest = hashlib.sha256(repr([_camera_fingerprint(camera, paths) for camera in cameras]).encode())
    return repr((scene.name, [(frame, camera.name) for frame, camera in segments], _switch_range(scene, segments),
                 digest.hexdigest()[:16], needed_variant(scene, segments)))


def _views_problem(scene: bpy.types.Scene, camera: bpy.types.Object, model: BlenderCamera) -> str | None:
    """Why the views of a multi-view render of ``scene`` cannot all be exact with ``camera``'s node."""
    render = scene.render
    if not render.use_multiview:
        return None
    if render.views_format == "STEREO_3D":
        if not model.has_matrix:
            return (f"camera {camera.name!r}: panoramic Stereo 3D (Cycles' spherical stereo) is not supported; "
                    "render each eye as its own camera")
        return None
    return None


def check_cameras(scene: bpy.types.Scene, segments: Segments) -> list[BlenderCamera]:
    """The cameras a node bound to ``scene`` reads (marker cameras, else the active camera).

    Raises :class:`UnsupportedCameraError` unless every one is supported, also in every view of a
    multi-view render. A calibrated camera gives its pinhole part (K and size of its calibration).
    """
    calibration = scene_calibration(scene, segments)
    if calibration is not None:
        camera = segments[0][1] if segments else scene.camera
        problem = calibrated.frame_problem(scene, camera, calibration)
        if problem:
            raise UnsupportedCameraError(problem)
        return [calibrated.pinhole_part(calibration)]
    cameras = [camera for _, camera in segments] or [scene.camera]
    if segments and any(views.needs_views_group(scene, camera) for camera in cameras):
        raise UnsupportedCameraError("Multi-View views with their own cameras and camera switches at timeline "
                                     "markers together are not supported: render the marker ranges separately")
    cameras = list(dict.fromkeys(cameras + [other for camera in cameras
                                            for other in views.view_cameras(scene, camera).values()]))
    models = [camera_from_scene(scene, camera) for camera in cameras]
    for camera, model in zip(cameras, models, strict=True):
        problem = _views_problem(scene, camera, model)
        if problem:
            raise UnsupportedCameraError(problem)
    return models


def drive_input(socket: bpy.types.NodeSocket, socket_spec: SocketSpec, scene: bpy.types.Scene,
           camera: bpy.types.Object | None = None) -> None:
    """A simple-expression driver reading the scene (``camera.…`` paths: ``camera`` itself when given)."""
    fcurve = socket.driver_add("default_value")
    compat.exact_driver_curve(fcurve)
    driver = fcurve.driver
    driver.type = "SCRIPTED"
    for variable_name, data_path in socket_spec.driver.variables:
        variable = driver.variables.new()
        variable.name = variable_name
        variable.type = "SINGLE_PROP"
        target = variable.targets[0]
        if camera is not None and data_path.startswith(CAMERA_PREFIX):
            target.id_type, target.id = "OBJECT", camera
            target.data_path = data_path.removeprefix(CAMERA_PREFIX)
        else:
            target.id_type, target.id = "SCENE", scene
            target.data_path = data_path
    driver.expression = socket_spec.driver.expression


def _swap_group(node: bpy.types.Node, group: bpy.types.NodeTree) -> None:
    """Give ``node`` another True Depth group, keeping the links of its image input and output."""
    tree = node.id_data
    incoming = [link.from_socket for link in tree.links if link.to_socket == node.inputs[0]]
    outgoing = [link.to_socket for link in tree.links if link.from_socket == node.outputs[0]]
    prefix = f'nodes["{bpy.utils.escape_identifier(node.name)}"].inputs'
    for curves in (tree.animation_data.drivers if tree.animation_data else None, animation.fcurves(tree)):
        for fcurve in [fcurve for fcurve in curves or () if fcurve.data_path.startswith(prefix)]:
            curves.remove(fcurve)
    node.node_tree = group
    for socket in incoming:
        tree.links.new(socket, node.inputs[0])
    for socket in outgoing:
        tree.links.new(node.outputs[0], socket)


def bind_to_scene(node: bpy.types.Node, scene: bpy.types.Scene, segments: Segments | None = None) -> None:
    """Bind the camera inputs of a True Depth group node to ``scene`` (replacing old drivers and keys).

    Timeline markers that switch cameras are honoured on every frame, including
    the switch frame itself (as keys over the scene's frame range; see the module
    docstring). The extension's handlers call this again when markers or marker
    cameras change.
    """
    if segments is None:
        segments = camera_segments(scene)
    mode = node.node_tree[MODE_PROPERTY]
    calibration = scene_calibration(scene, segments)
    if calibration is not None:
        camera = segments[0][1] if segments else scene.camera
        group = calibrated.ensure_group(calibration, mode, camera.name)
        if node.node_tree != group:
            _swap_group(node, group)
        socket = node.inputs[calibrated.FRAME_CHECK]
        socket.driver_remove("default_value")
        drive_input(socket, calibrated.frame_check(calibration), scene)
        node[BINDING_PROPERTY] = binding_signature(scene, segments)
        return
    variant = needed_variant(scene, segments)
    if calibrated.is_calibrated_group(node.node_tree) or spec_of(node.node_tree).variant != variant:
        _swap_group(node, ensure_group(mode, variant))
    spec = spec_of(node.node_tree)
    tree = node.id_data
    cameras = list(dict.fromkeys(camera for _, camera in segments))
    switch_paths = [path for socket_spec in spec.camera_inputs if (path := _camera_path(socket_spec))]
    animated = [any(path in _animated_paths(camera) for path in switch_paths) for camera in cameras]
    keys = switch_keys([(frame, cameras.index(camera)) for frame, camera in segments],
                       _switch_range(scene, segments), lambda number: animated[number])
    for socket_spec in spec.camera_inputs:
        socket = node.inputs[socket_spec.name]
        socket.driver_remove("default_value")
        value_path = socket.path_from_id("default_value")
        animation.remove_fcurve(tree, value_path)
        path = _camera_path(socket_spec)
        if keys and path is not None:
            animation.set_constant_keys(tree, value_path, [frame for frame, _ in keys],
                                        [_value_at(cameras[number], path, frame) for frame, number in keys])
        else:
            drive_input(socket, socket_spec, scene)
    node[BINDING_PROPERTY] = binding_signature(scene, segments)


def add_true_depth_node(
    scene: bpy.types.Scene,
    mode: str = modes.DISTANCE_TO_DEPTH,
    location: tuple[float, float] = (0.0, 0.0),
    tree: bpy.types.NodeTree | None = None,
    segments: Segments | None = None,
) -> bpy.types.Node:
    """Add a True Depth node to ``scene``'s compositor, driven by that scene's camera.

    Creates (and enables) the compositor tree if needed, builds or upgrades the
    node group, and binds the camera inputs with simple-expression drivers.
    ``tree`` picks another compositor tree (e.g. a group being edited) to add to;
    ``segments`` passes :func:`camera_segments` when the caller has them already.
    Raises :class:`~depth_node.core.camera.UnsupportedCameraError` when the scene
    has no camera or one the node cannot convert exactly.
    """
    modes.mode(mode)
    if segments is None:
        segments = camera_segments(scene)
    check_cameras(scene, segments)  # fail early, before anything is added
    if tree is None:
        tree = compat.compositor_tree(scene)
    calibration = scene_calibration(scene, segments)
    if calibration is None and not segments and views.needs_views_group(scene, scene.camera):
        return _add_views_node(scene, tree, mode, location)
    group = (calibrated.ensure_group(calibration, mode, (segments[0][1] if segments else scene.camera).name)
             if calibration is not None else ensure_group(mode, needed_variant(scene, segments)))
    node = tree.nodes.new(compat.GROUP_NODE_IDNAME)
    node.node_tree = group
    node.name = group.name
    node.label = group.name
    node.location = location
    node.width = 220
    bind_to_scene(node, scene, segments)
    return node


def _add_views_node(scene: bpy.types.Scene, tree: bpy.types.NodeTree, mode: str,
                    location: tuple[float, float]) -> bpy.types.Node:
    """A wrapper group node: per view, a True Depth node bound to that view's camera; Switch View picks."""
    chosen = modes.mode(mode)
    cameras = views.view_cameras(scene, scene.camera)
    wrapper = bpy.data.node_groups.new(f"{chosen.group_name} Views ({scene.name})", compat.COMPOSITOR_TREE_IDNAME)
    wrapper.interface.new_socket(chosen.input, in_out="INPUT", socket_type="NodeSocketFloat")
    wrapper.interface.new_socket(chosen.output, in_out="OUTPUT", socket_type="NodeSocketFloat")
    group_input, group_output = wrapper.nodes.new("NodeGroupInput"), wrapper.nodes.new("NodeGroupOutput")
    with bpy.context.temp_override(scene=scene):  # Switch View takes its inputs from the scene's views
        switch = wrapper.nodes.new("CompositorNodeSwitchView")
    for row, (view, camera) in enumerate(cameras.items()):
        variant = projections.variant_for([camera_from_scene(scene, camera).model])
        inner = wrapper.nodes.new(compat.GROUP_NODE_IDNAME)
        inner.node_tree = ensure_group(mode, variant)
        inner.name = inner.label = f"{view}: {camera.name}"
        inner.location = (200.0, -260.0 * row)
        spec = spec_of(inner.node_tree)
        for socket_spec in spec.camera_inputs:
            drive_input(inner.inputs[socket_spec.name], socket_spec, scene, camera)
        wrapper.links.new(group_input.outputs[0], inner.inputs[0])
        wrapper.links.new(inner.outputs[0], switch.inputs[view])
    wrapper.links.new(switch.outputs[0], group_output.inputs[0])
    switch.location, group_output.location = (500.0, 0.0), (700.0, 0.0)
    wrapper[views.VIEWS_PROPERTY] = views.views_signature(scene, scene.camera)
    node = tree.nodes.new(compat.GROUP_NODE_IDNAME)
    node.node_tree = wrapper
    node.name = node.label = wrapper.name
    node.location = location
    node.width = 240
    return node


def views_problem(node: bpy.types.Node, scene: bpy.types.Scene) -> str | None:
    """Why a multi-view wrapper node no longer matches its scene's views (None when it does)."""
    if node.node_tree.get(views.VIEWS_PROPERTY) != views.views_signature(scene, scene.camera):
        return "the scene's views or their cameras changed since the node was added: add it again"
    try:
        check_cameras(scene, [])
    except UnsupportedCameraError as error:
        return str(error)
    return None


def bound_scene(node: bpy.types.Node, tree: bpy.types.NodeTree) -> bpy.types.Scene | None:
    """The scene whose camera drives ``node`` (read from its drivers), or None if unbound."""
    animation = tree.animation_data
    if animation is None:
        return None
    prefix = f'nodes["{bpy.utils.escape_identifier(node.name)}"].inputs'
    for fcurve in animation.drivers:
        if fcurve.data_path.startswith(prefix):
            for variable in fcurve.driver.variables:
                target_id = variable.targets[0].id
                if isinstance(target_id, bpy.types.Scene):
                    return target_id
    return None


def node_problem(node: bpy.types.Node, tree: bpy.types.NodeTree,
                 current_groups: dict[str, bool] | None = None) -> str | None:
    """Why ``node`` cannot give exact values right now (None when it can).

    ``current_groups`` caches :func:`~depth_node.blender.group.is_current` per group name across the
    calls of one refresh.
    """
    scene = bound_scene(node, tree)
    if scene is None:
        return "not bound to a scene"
    segments = camera_segments(scene)
    try:
        check_cameras(scene, segments)
    except UnsupportedCameraError as error:
        return str(error)
    if node.get(BINDING_PROPERTY) != binding_signature(scene, segments):
        return "the camera markers or the calibration changed since the node was bound: re-add the node"
    group = node.node_tree
    cache = {} if current_groups is None else current_groups
    if group.name not in cache:
        cache[group.name] = (calibrated.is_current(group) if calibrated.is_calibrated_group(group)
                             else is_current(group, spec_of(group)))
    if not cache[group.name]:
        return (f"the node group {node.node_tree.name!r} was edited by hand (or is an older version): "
                "add a True Depth node again to rebuild it")
    return None


def input_source(node: bpy.types.Node, tree: bpy.types.NodeTree) -> str | None:
    """Which render pass feeds the node: ``"z"``, ``"mist"``, ``"aov"`` (from Render Layers), or None."""
    socket = node.inputs[0]
    link = next((link for link in tree.links if link.to_socket == socket), None)
    if link is None or link.from_node.bl_idname != "CompositorNodeRLayers":
        return None
    return {"Depth": "z", "Mist": "mist"}.get(link.from_socket.name, "aov")


def source_notes(node: bpy.types.Node, tree: bpy.types.NodeTree, scene: bpy.types.Scene) -> list[str]:
    """Why the node's *input* may not be the pixel's pinhole value for the bound scene (the sidebar shows them)."""
    notes = []
    source = input_source(node, tree)
    forward = node.node_tree[MODE_PROPERTY] == modes.DISTANCE_TO_DEPTH
    # Cycles' Z is the ray distance for panoramic and custom cameras (measured on 4.5-5.3), else planar depth
    z_is_distance = node.node_tree.get(VARIANT_PROPERTY) == CALIBRATED or (
        scene.camera is not None and scene.camera.data.type == "PANO")
    if source == "z" and forward and not z_is_distance:
        notes.append("The input is the Z pass, which already is planar depth: use Depth to Distance to get "
                     "the ray distance.")
    elif source == "z" and not forward and z_is_distance:
        notes.append("The input is the Z pass, which for this camera is the ray distance: use Distance to Depth.")
    elif source in ("aov", "mist") and not forward:
        notes.append(f"The input is a distance ({source}): use Distance to Depth.")
    eevee = scene.render.engine.startswith("BLENDER_EEVEE")
    if source == "aov" and not eevee:
        notes.append("A View Distance AOV is the sum of the distances of every surface on the path through "
                     "surfaces below the alpha threshold (decals, leaves); the Z pass with Depth to Distance "
                     "is not.")
        if scene.cycles.samples > 1 and scene.cycles.filter_width > 0.01:
            notes.append("The AOV is averaged over the pixel filter: with more than one sample, set the filter "
                         "width to 0.01 px (measured at 1.5 px, 16 samples: 16 % of pixels within 1e-4).")
    if source in ("aov", "mist") and eevee:
        notes.append("EEVEE stores AOVs and Mist in half precision (measured: errors up to 9e-4 of the "
                     "distance); its Z pass is float32: use Z with Depth to Distance.")
    camera = scene.camera
    if camera is not None and camera.data.dof.use_dof:
        notes.append("Depth of field is on: the passes sample the lens aperture, not each pixel's pinhole ray. "
                     "Turn it off for depth renders.")
    if scene.render.use_motion_blur:
        notes.append("Motion blur is on: the passes mix samples over the shutter time. Turn it off for depth "
                     "renders.")
    return notes


def refresh_bindings() -> int:
    """Re-bind every True Depth node whose scene's marker cameras changed; returns how many.

    A binding that cannot be rebuilt (too many camera switches) is left as it is
    and reported by :func:`node_problem`.
    """
    rebound = 0
    for scene, tree in compat.compositor_trees():
        for node in true_depth_nodes(tree):
            bound = bound_scene(node, tree) or scene
            segments = camera_segments(bound)
            try:
                if node.get(BINDING_PROPERTY) == binding_signature(bound, segments):
                    continue
                bind_to_scene(node, bound, segments)
            except UnsupportedCameraError:
                continue  # reported by node_problem
            rebound += 1
    return rebound


def upgrade_groups() -> list[bpy.types.NodeTree]:
    """Rebuild every True Depth group of the file stamped with an older version.

    Nodes using a rebuilt group keep their links and are re-bound to the scene
    they were bound to (their own scene when that cannot be found).
    """
    rebuilt = rebuild_outdated() + calibrated.rebuild_outdated()
    for scene, tree in compat.compositor_trees():
        for node in true_depth_nodes(tree):
            if any(node.node_tree == group for group in rebuilt):
                try:
                    bind_to_scene(node, bound_scene(node, tree) or scene)
                except UnsupportedCameraError:
                    continue  # reported by node_problem
    return rebuilt
