"""Build, stamp, upgrade and bind the "True Depth" node groups inside Blender."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator

import bpy

from . import compat
from .camera import UnsupportedCameraError, camera_from_scene
from .graph_spec import (
    FINGERPRINT_PROPERTY,
    GROUP_INPUT,
    GROUP_OUTPUT,
    MODE_PROPERTY,
    MODES,
    VERSION_PROPERTY,
    DriverSpec,
    GroupSpec,
    SocketRef,
    build_spec,
)

_COLUMN_WIDTH = 190.0
_ROW_HEIGHT = 110.0


@functools.cache
def group_spec(mode: str) -> GroupSpec:
    """The declarative description for ``mode`` (raises ValueError for an unknown mode); built once."""
    return build_spec(mode)


def _value_key(value: object) -> object:
    if isinstance(value, (int, float, bool)):
        return f"{float(value):.9g}"
    try:
        return tuple(f"{float(component):.9g}" for component in value)  # type: ignore[union-attr]
    except TypeError:
        return repr(value)


def fingerprint(group: bpy.types.NodeTree) -> str:
    """A hash of everything in ``group`` that affects the result (not labels or locations)."""
    parts: list[object] = []
    for item in group.interface.items_tree:
        if item.item_type == "SOCKET":
            parts.append(("socket", item.in_out, item.name, item.socket_type))
    for node in sorted(group.nodes, key=lambda n: n.name):
        parts.append(("node", node.name, node.bl_idname, getattr(node, "operation", None), node.mute))
        for index, socket in enumerate(node.inputs):
            if socket.enabled and not socket.is_linked and hasattr(socket, "default_value"):
                parts.append(("default", node.name, index, _value_key(socket.default_value)))
    links = sorted(
        (link.from_node.name, link.from_socket.identifier, link.to_node.name,
         link.to_socket.identifier, link.is_muted)
        for link in group.links
    )
    parts.extend(("link",) + link for link in links)
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def is_current(group: bpy.types.NodeTree, spec: GroupSpec) -> bool:
    """True when ``group`` was built from ``spec``'s version and has not been edited since."""
    return (
        group.get(VERSION_PROPERTY) == spec.version
        and group.get(MODE_PROPERTY) == spec.mode
        and group.get(FINGERPRINT_PROPERTY) == fingerprint(group)
    )


def _sync_interface(group: bpy.types.NodeTree, spec: GroupSpec) -> None:
    """Make the interface match the spec, keeping matching sockets so user links survive."""
    interface = group.interface
    wanted = [("OUTPUT", socket) for socket in spec.outputs] + [("INPUT", socket) for socket in spec.inputs]
    kept = []
    for in_out, socket in wanted:
        item = next(
            (existing for existing in interface.items_tree
             if existing.item_type == "SOCKET" and existing.in_out == in_out
             and existing.name == socket.name and existing.socket_type == socket.socket_type),
            None,
        )
        if item is None:
            item = interface.new_socket(socket.name, in_out=in_out, socket_type=socket.socket_type)
        item.description = socket.description
        item.default_value = socket.default
        item.min_value = socket.min_value
        item.max_value = socket.max_value
        kept.append(item)
    for item in list(interface.items_tree):
        if not any(item == keep for keep in kept):
            interface.remove(item)
    for position, item in enumerate(kept):
        if item.position != position:
            interface.move(item, position)


def _layout(spec: GroupSpec) -> dict[str, tuple[float, float]]:
    """Node locations: one column per dependency depth, so the graph reads left to right."""
    depth: dict[str, int] = {GROUP_INPUT: 0}
    for node in spec.nodes:
        sources = [value.node for _, value in node.inputs if isinstance(value, SocketRef)]
        depth[node.name] = 1 + max(depth[source] for source in sources)
    rows: dict[int, int] = {}
    locations: dict[str, tuple[float, float]] = {}
    for name, column in depth.items():
        row = rows.get(column, 0)
        rows[column] = row + 1
        locations[name] = (column * _COLUMN_WIDTH, -row * _ROW_HEIGHT)
    last = max(depth.values()) + 1
    locations[GROUP_OUTPUT] = (last * _COLUMN_WIDTH, 0.0)
    return locations


def _populate(group: bpy.types.NodeTree, spec: GroupSpec) -> None:
    _sync_interface(group, spec)
    group.nodes.clear()
    nodes, links = group.nodes, group.links
    locations = _layout(spec)
    frames = {}
    for title, note in spec.frames:
        frame = nodes.new("NodeFrame")
        frame.name = title
        frame.label = note[:63]
        frames[title] = frame
    group_input = nodes.new("NodeGroupInput")
    group_input.name = GROUP_INPUT
    group_output = nodes.new("NodeGroupOutput")
    group_output.name = GROUP_OUTPUT

    def output_socket(ref: SocketRef) -> bpy.types.NodeSocket:
        return nodes[ref.node].outputs[ref.socket]

    for node_spec in spec.nodes:
        node = nodes.new(node_spec.bl_idname)
        node.name = node_spec.name
        node.label = node_spec.label[:63]
        for attribute, value in node_spec.properties:
            setattr(node, attribute, value)
        for index, value in node_spec.inputs:
            if isinstance(value, SocketRef):
                links.new(output_socket(value), node.inputs[index])
            else:
                node.inputs[index].default_value = value
        if node_spec.frame:
            node.parent = frames[node_spec.frame]
    for output_name, ref in spec.result.items():
        links.new(output_socket(ref), group_output.inputs[output_name])
    for name, location in locations.items():
        nodes[name].location = location
    if hasattr(group, "description"):
        group.description = spec.description
    group[VERSION_PROPERTY] = spec.version
    group[MODE_PROPERTY] = spec.mode
    group[FINGERPRINT_PROPERTY] = fingerprint(group)


def ensure_group(mode: str) -> bpy.types.NodeTree:
    """The node group for ``mode``: reused only when current, else built or rebuilt in place.

    Rebuilding in place keeps the datablock, so every node using it (also in
    other scenes) switches to the new graph and keeps its links.
    """
    spec = group_spec(mode)
    group = bpy.data.node_groups.get(spec.name)
    if group is not None and group.bl_idname != compat.COMPOSITOR_TREE_IDNAME:
        group.name = f"{spec.name} (not a compositor group)"
        group = None
    if group is None:
        group = bpy.data.node_groups.new(spec.name, compat.COMPOSITOR_TREE_IDNAME)
    if not is_current(group, spec):
        _populate(group, spec)
    return group


def true_depth_nodes(tree: bpy.types.NodeTree) -> Iterator[bpy.types.Node]:
    """The True Depth group nodes (any mode) directly inside ``tree``."""
    for node in tree.nodes:
        group = getattr(node, "node_tree", None)
        if node.bl_idname == compat.GROUP_NODE_IDNAME and group is not None and MODE_PROPERTY in group:
            yield node


BINDING_PROPERTY = "true_depth_binding"
"""Stored on each bound node: the scene and marker cameras its drivers were built for."""

MAX_DRIVER_EXPRESSION = 255  # Blender's ChannelDriver.expression buffer


def camera_segments(scene: bpy.types.Scene) -> list[tuple[int, bpy.types.Object]]:
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
    segments: list[tuple[int, bpy.types.Object]] = []
    for frame, _, camera in markers:
        if segments and (segments[-1][0] == frame or segments[-1][1] == camera):
            continue
        segments.append((frame, camera))
    return segments


def camera_at_frame(scene: bpy.types.Scene, frame: int) -> bpy.types.Object | None:
    """The camera Blender renders ``frame`` of ``scene`` with (timeline markers, else the active camera)."""
    chosen = None
    for first, camera in camera_segments(scene):
        if chosen is None or first <= frame:
            chosen = camera
    return chosen or scene.camera


def binding_signature(scene: bpy.types.Scene) -> str:
    """What a node's drivers depend on besides the scene's own properties (see :data:`BINDING_PROPERTY`)."""
    return repr((scene.name, [(frame, camera.name) for frame, camera in camera_segments(scene)]))


def driven_cameras(scene: bpy.types.Scene) -> list[bpy.types.Object | None]:
    """The cameras a node bound to ``scene`` reads: the marker cameras, else the active camera."""
    return [camera for _, camera in camera_segments(scene)] or [scene.camera]


def _switch_expression(spec_driver: DriverSpec, segments: list[tuple[int, bpy.types.Object]],
                       ) -> tuple[str, list[tuple[str, str, bpy.types.ID]]]:
    """The driver expression and ``(name, data path, target ID)`` variables for ``segments``.

    Without segments every variable reads the scene (``camera.data.lens`` follows
    the active camera). With segments each camera's values are read from the
    camera object directly and ``frame`` picks the segment, because a driver
    reading ``scene.camera`` still sees the previous camera on a switch frame.
    """
    camera_names = {name for name, path in spec_driver.variables if path.startswith("camera.")}
    if not segments or not camera_names:
        return spec_driver.expression, [(name, path, None) for name, path in spec_driver.variables]
    cameras = list(dict.fromkeys(camera for _, camera in segments))
    variables = [(name, path, None) for name, path in spec_driver.variables if name not in camera_names]
    for index, camera in enumerate(cameras):
        for name, path in spec_driver.variables:
            if name in camera_names:
                variables.append((f"c{index}{name[0]}", path.removeprefix("camera."), camera))

    def for_camera(camera: bpy.types.Object) -> str:
        index = cameras.index(camera)
        words = spec_driver.expression.split(" ")
        renamed = " ".join(f"c{index}{word[0]}" if word in camera_names else word for word in words)
        return renamed if " " not in renamed else f"({renamed})"

    expression = for_camera(segments[0][1])
    for frame, camera in segments[1:]:
        expression = f"{for_camera(camera)} if frame>={frame} else {expression}"
    if len(expression) > MAX_DRIVER_EXPRESSION:
        raise UnsupportedCameraError(
            f"{len(segments)} camera switches at timeline markers need a driver expression of "
            f"{len(expression)} characters; Blender allows {MAX_DRIVER_EXPRESSION}: render the frame "
            "range in parts (each with fewer markers)"
        )
    return expression, variables


def bind_to_scene(node: bpy.types.Node, scene: bpy.types.Scene) -> None:
    """Drive the camera inputs of a True Depth group node from ``scene`` (replacing old drivers).

    Timeline markers that switch cameras are honoured on every frame, including
    the switch frame itself. Call again (the extension's handlers do) after
    editing markers.
    """
    spec = group_spec(node.node_tree[MODE_PROPERTY])
    segments = camera_segments(scene)
    drivers = [(socket_spec.name, *_switch_expression(socket_spec.driver, segments))
               for socket_spec in spec.camera_inputs]
    for socket_name, expression, variables in drivers:
        socket = node.inputs[socket_name]
        socket.driver_remove("default_value")
        driver = socket.driver_add("default_value").driver
        driver.type = "SCRIPTED"
        for variable_name, data_path, target_id in variables:
            variable = driver.variables.new()
            variable.name = variable_name
            variable.type = "SINGLE_PROP"
            target = variable.targets[0]
            target.id_type = "SCENE" if target_id is None else "OBJECT"
            target.id = scene if target_id is None else target_id
            target.data_path = data_path
        driver.expression = expression
    node[BINDING_PROPERTY] = binding_signature(scene)


def check_cameras(scene: bpy.types.Scene) -> None:
    """Raise :class:`UnsupportedCameraError` unless every camera driving ``scene``'s nodes is supported."""
    for camera in driven_cameras(scene):
        camera_from_scene(scene, camera)


def add_true_depth_node(
    scene: bpy.types.Scene,
    mode: str = "DISTANCE_TO_DEPTH",
    location: tuple[float, float] = (0.0, 0.0),
    tree: bpy.types.NodeTree | None = None,
) -> bpy.types.Node:
    """Add a True Depth node to ``scene``'s compositor, driven by that scene's camera.

    Creates (and enables) the compositor tree if needed, builds or upgrades the
    node group, and binds the camera inputs with simple-expression drivers.
    ``tree`` picks another compositor tree (e.g. a group being edited) to add to.
    Raises :class:`~depth_node.camera.UnsupportedCameraError` when the scene has
    no camera or one the node cannot convert exactly.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    check_cameras(scene)  # fail early, before anything is added
    if tree is None:
        tree = compat.compositor_tree(scene)
    group = ensure_group(mode)
    node = tree.nodes.new(compat.GROUP_NODE_IDNAME)
    node.node_tree = group
    node.name = group.name
    node.label = group.name
    node.location = location
    node.width = 220
    bind_to_scene(node, scene)
    return node


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

    ``current_groups`` caches :func:`is_current` per group name across calls of one refresh.
    """
    scene = bound_scene(node, tree)
    if scene is None:
        return "not bound to a scene"
    try:
        check_cameras(scene)
    except UnsupportedCameraError as error:
        return str(error)
    if node.get(BINDING_PROPERTY) != binding_signature(scene):
        return "camera markers changed since the node was bound: re-add the node"
    group = node.node_tree
    cache = {} if current_groups is None else current_groups
    if group.name not in cache:
        cache[group.name] = is_current(group, group_spec(group[MODE_PROPERTY]))
    if not cache[group.name]:
        return (f"the node group {node.node_tree.name!r} was edited by hand (or is an older version): "
                "add a True Depth node again to rebuild it")
    return None


def refresh_bindings() -> int:
    """Re-bind every True Depth node whose scene's marker cameras changed; returns how many.

    A binding that cannot be rebuilt (too many camera switches) is left as it is
    and reported by :func:`node_problem`.
    """
    rebound = 0
    for scene, tree in compat.compositor_trees():
        for node in true_depth_nodes(tree):
            bound = bound_scene(node, tree) or scene
            if node.get(BINDING_PROPERTY) != binding_signature(bound):
                try:
                    bind_to_scene(node, bound)
                except UnsupportedCameraError:
                    continue
                rebound += 1
    return rebound


def upgrade_groups() -> list[bpy.types.NodeTree]:
    """Rebuild every True Depth group of the file stamped with an older version.

    Nodes using a rebuilt group keep their links and are re-bound to the scene
    they were bound to (their own scene when that cannot be found).
    """
    rebuilt = []
    for group in bpy.data.node_groups:
        mode = group.get(MODE_PROPERTY)
        if mode in MODES and group.get(VERSION_PROPERTY) != group_spec(mode).version:
            _populate(group, group_spec(mode))
            rebuilt.append(group)
    for scene, tree in compat.compositor_trees():
        for node in true_depth_nodes(tree):
            if any(node.node_tree == group for group in rebuilt):
                bind_to_scene(node, bound_scene(node, tree) or scene)
    return rebuilt


__all__ = [
    "camera_at_frame",
    "node_problem",
    "refresh_bindings",
    "camera_segments",
    "check_cameras",
    "driven_cameras",
    "bound_scene",
    "upgrade_groups",
    "UnsupportedCameraError",
    "add_true_depth_node",
    "bind_to_scene",
    "ensure_group",
    "fingerprint",
    "is_current",
    "true_depth_nodes",
]
