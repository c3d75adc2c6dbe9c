"""Build the "True Depth" node groups from their description, stamp them, and rebuild stale ones."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator

import bpy

from ..core.graph import true_flow, true_normal
from ..core.graph.true_depth import (
    FINGERPRINT_PROPERTY,
    GROUP_INPUT,
    GROUP_OUTPUT,
    MODE_PROPERTY,
    MODES,
    PINHOLE,
    VARIANT_PROPERTY,
    VERSION_PROPERTY,
    GroupSpec,
    SocketRef,
    SocketSpec,
    build_spec,
)
from . import compat

_COLUMN_WIDTH = 190.0
_ROW_HEIGHT = 110.0


_OTHER_GROUPS = {true_flow.FLOW_MODE: true_flow.build_spec, true_normal.NORMAL_MODE: true_normal.build_spec}
"""The ground truths beside depth: mode -> its one group's description."""
GROUP_MODES = (*MODES, *_OTHER_GROUPS)
"""Every mode a group of this extension is stamped with: True Depth's two, True Flow and True Normal."""


@functools.cache
def group_spec(mode: str, variant: str = PINHOLE) -> GroupSpec:
    """The declarative description for ``mode`` and ``variant`` (ValueError for unknown ones); built once."""
    return _OTHER_GROUPS[mode]() if mode in _OTHER_GROUPS else build_spec(mode, variant)


def spec_of(group: bpy.types.NodeTree) -> GroupSpec:
    """The description a True Depth group was built from (groups made before variants are pinhole)."""
    return group_spec(group[MODE_PROPERTY], group.get(VARIANT_PROPERTY, PINHOLE))


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
        and group.get(VARIANT_PROPERTY, PINHOLE) == spec.variant
        and group.get(FINGERPRINT_PROPERTY) == fingerprint(group)
    )


def _interface_socket(interface: bpy.types.NodeTreeInterface, in_out: str, socket: SocketSpec
                      ) -> bpy.types.NodeTreeInterfaceSocket | None:
    return next((existing for existing in interface.items_tree
                 if existing.item_type == "SOCKET" and existing.in_out == in_out
                 and existing.name == socket.name and existing.socket_type == socket.socket_type), None)


def _sync_interface(group: bpy.types.NodeTree, spec: GroupSpec) -> None:
    """Make the interface match the spec, keeping matching sockets so user links survive."""
    interface = group.interface
    wanted = [("OUTPUT", socket) for socket in spec.outputs] + [("INPUT", socket) for socket in spec.inputs]
    kept = []
    for in_out, socket in wanted:
        item = _interface_socket(interface, in_out, socket)
        if item is None:
            item = interface.new_socket(socket.name, in_out=in_out, socket_type=socket.socket_type)
        if socket.dimensions > 1 and item.dimensions != socket.dimensions:
            item.dimensions = socket.dimensions
            item = _interface_socket(interface, in_out, socket)  # measured on 5.3: the item is made anew
        item.description = socket.description
        if socket.dimensions > 1:
            item.default_value = (socket.default,) * len(item.default_value)  # 3 on 4.5-5.3, whatever the dims
        else:
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
        depth[node.name] = 1 + max((depth[source] for source in sources), default=0)
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
    group[VARIANT_PROPERTY] = spec.variant
    group[FINGERPRINT_PROPERTY] = fingerprint(group)


def ensure_group(mode: str, variant: str = PINHOLE) -> bpy.types.NodeTree:
    """The node group for ``mode`` and ``variant``: reused only when current, else built or rebuilt in place.

    Rebuilding in place keeps the datablock, so every node using it (also in
    other scenes) switches to the new graph and keeps its links.
    """
    spec = group_spec(mode, variant)
    group = bpy.data.node_groups.get(spec.name)
    if group is not None and group.bl_idname != compat.COMPOSITOR_TREE_IDNAME:
        group.name = f"{spec.name} (not a compositor group)"
        group = None
    if group is None:
        group = bpy.data.node_groups.new(spec.name, compat.COMPOSITOR_TREE_IDNAME)
    if not is_current(group, spec):
        _populate(group, spec)
    return group


def _group_nodes(tree: bpy.types.NodeTree, modes: tuple[str, ...]) -> Iterator[bpy.types.Node]:
    for node in tree.nodes:
        group = getattr(node, "node_tree", None)
        if (node.bl_idname == compat.GROUP_NODE_IDNAME and group is not None
                and group.get(MODE_PROPERTY) in modes):
            yield node


def true_depth_nodes(tree: bpy.types.NodeTree) -> Iterator[bpy.types.Node]:
    """The True Depth group nodes (either mode) directly inside ``tree``."""
    return _group_nodes(tree, MODES)


def true_flow_nodes(tree: bpy.types.NodeTree) -> Iterator[bpy.types.Node]:
    """The True Flow group nodes directly inside ``tree``."""
    return _group_nodes(tree, (true_flow.FLOW_MODE,))


def true_normal_nodes(tree: bpy.types.NodeTree) -> Iterator[bpy.types.Node]:
    """The True Normal group nodes directly inside ``tree``."""
    return _group_nodes(tree, (true_normal.NORMAL_MODE,))


def rebuild_outdated() -> list[bpy.types.NodeTree]:
    """Rebuild (in place) every True Depth group of the file stamped with another version; returns them."""
    rebuilt = []
    for group in bpy.data.node_groups:
        if group.get(MODE_PROPERTY) in GROUP_MODES and group.get(VERSION_PROPERTY) != spec_of(group).version:
            _populate(group, spec_of(group))
            rebuilt.append(group)
    return rebuilt
