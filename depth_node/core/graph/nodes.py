"""Plain-data building blocks of a node-group description, and a builder for them. Imports no bpy.

A description is data: typed interface sockets (with their drivers), nodes
whose inputs are constants or references to other nodes' outputs, the group
output links and notes. :mod:`depth_node.blender.group` turns it into a real
node group; :func:`validate` checks one before anything is built.
"""

from __future__ import annotations

from dataclasses import dataclass

GROUP_INPUT = "Group Input"
GROUP_OUTPUT = "Group Output"


@dataclass(frozen=True)
class DriverSpec:
    """A simple-expression driver; each variable reads ``data_path`` from the bound scene.

    Paths starting with ``camera.`` read the scene camera; when timeline markers
    switch cameras the binding reads each marker's camera directly instead.
    """

    expression: str
    variables: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class SocketSpec:
    """One socket of the group interface."""

    name: str
    description: str
    default: float = 0.0
    min_value: float = -1e9
    max_value: float = 1e9
    driver: DriverSpec | None = None
    socket_type: str = "NodeSocketFloat"
    dimensions: int = 1
    """Components of a ``NodeSocketVector`` (4 for the Vector pass); every component defaults to ``default``."""


def driven_input(name: str, description: str, default: float, minimum: float, maximum: float,
                 data_path: str) -> SocketSpec:
    """A float input driven by one property of the bound scene (``camera.…`` or ``render.…``)."""
    return SocketSpec(name, description, default, minimum, maximum,
                      DriverSpec(expression="value", variables=(("value", data_path),)))


@dataclass(frozen=True)
class SocketRef:
    """An output socket: of a node by index, or of the group input by name."""

    node: str
    socket: int | str


def group_input(name: str) -> SocketRef:
    """The group input socket called ``name``."""
    return SocketRef(GROUP_INPUT, name)


@dataclass(frozen=True)
class NodeSpec:
    """A node inside the group; ``inputs`` maps input index to a constant or a :class:`SocketRef`."""

    name: str
    bl_idname: str
    label: str = ""
    properties: tuple[tuple[str, object], ...] = ()
    inputs: tuple[tuple[int, object], ...] = ()
    frame: str = ""


Operand = SocketRef | float
"""A node input: another node's output or a constant."""


class GraphBuilder:
    """Collects :class:`NodeSpec` objects from arithmetic written as calls.

    Every node lands in the note frame ``frame`` given at construction (or per call).
    """

    def __init__(self) -> None:
        self.nodes: list[NodeSpec] = []

    def _add(self, node: NodeSpec) -> SocketRef:
        if any(existing.name == node.name for existing in self.nodes):
            raise ValueError(f"duplicate node name {node.name!r}")
        self.nodes.append(node)
        return SocketRef(node.name, 0)

    def math(self, name: str, operation: str, *operands: Operand, frame: str = "") -> SocketRef:
        """A Math node (``ShaderNodeMath``) computing ``operation`` of ``operands``."""
        return self._add(NodeSpec(
            name, "ShaderNodeMath", label=name,
            properties=(("operation", operation),),
            inputs=tuple(enumerate(operands)), frame=frame,
        ))

    def vector_math(self, name: str, operation: str, *operands: Operand, output: int = 0,
                    frame: str = "") -> SocketRef:
        """A Vector Math node; ``output`` 1 is the Value output (LENGTH, DOT_PRODUCT)."""
        ref = self._add(NodeSpec(
            name, "ShaderNodeVectorMath", label=name,
            properties=(("operation", operation),),
            inputs=tuple(enumerate(operands)), frame=frame,
        ))
        return SocketRef(ref.node, output)

    def existing(self, name: str) -> SocketRef | None:
        """The first output of the node called ``name``, if it was added already (for shared nodes)."""
        return SocketRef(name, 0) if any(node.name == name for node in self.nodes) else None

    def separate(self, name: str, vector: Operand, frame: str = "") -> tuple[SocketRef, SocketRef, SocketRef]:
        """A Separate XYZ node: its X, Y and Z outputs."""
        ref = self._add(NodeSpec(name, "ShaderNodeSeparateXYZ", label=name, inputs=((0, vector),), frame=frame))
        return ref, SocketRef(ref.node, 1), SocketRef(ref.node, 2)

    def switch_view(self, name: str, left: Operand, right: Operand, frame: str = "") -> SocketRef:
        """The compositor's Switch View node: ``left`` in the left eye's pass, ``right`` in the right's."""
        return self._add(NodeSpec(name, "CompositorNodeSwitchView", label=name, inputs=((0, left), (1, right)),
                                  frame=frame))

    def separate_color(self, name: str, image: Operand, frame: str = "") -> tuple[SocketRef, ...]:
        """The compositor's Separate Color node (RGB mode): its Red, Green, Blue and Alpha outputs."""
        ref = self._add(NodeSpec(name, "CompositorNodeSeparateColor", label=name, inputs=((0, image),), frame=frame))
        return tuple(SocketRef(ref.node, index) for index in range(4))

    def combine(self, name: str, x: Operand, y: Operand, z: Operand, frame: str = "") -> SocketRef:
        """A Combine XYZ node."""
        return self._add(NodeSpec(name, "ShaderNodeCombineXYZ", label=name,
                                  inputs=((0, x), (1, y), (2, z)), frame=frame))

    def image_coordinates(self, name: str, image: Operand, frame: str = "") -> SocketRef:
        """The compositor's Image Coordinates node; returns its *Normalized* output."""
        ref = self._add(NodeSpec(name, "CompositorNodeImageCoordinates", label=name,
                                 inputs=((0, image),), frame=frame))
        return SocketRef(ref.node, 1)


def validate(nodes: tuple[NodeSpec, ...], input_names: set[str], results: dict[str, SocketRef],
             output_names: set[str]) -> list[str]:
    """Consistency problems of a description (empty when sound): dangling references, use before definition."""
    errors: list[str] = []
    order = {node.name: position for position, node in enumerate(nodes)}

    def check_ref(ref: SocketRef, where: str) -> None:
        if ref.node == GROUP_INPUT:
            if ref.socket not in input_names:
                errors.append(f"{where}: unknown group input {ref.socket!r}")
        elif ref.node not in order:
            errors.append(f"{where}: unknown node {ref.node!r}")

    for node in nodes:
        for index, value in node.inputs:
            if isinstance(value, SocketRef):
                check_ref(value, f"{node.name}[{index}]")
                if value.node in order and order[value.node] >= order[node.name]:
                    errors.append(f"{node.name} uses {value.node} before it is defined")
            elif not isinstance(value, (int, float)):
                errors.append(f"{node.name}[{index}]: unsupported constant {value!r}")
    for output_name, ref in results.items():
        check_ref(ref, f"output {output_name}")
    if set(results) != output_names:
        errors.append("result does not cover exactly the group outputs")
    return errors
