"""Declarative description of the "True Depth" compositor node groups. Imports no bpy.

The description is plain data (sockets, nodes, links, notes) and is the single
source the builder in :mod:`depth_node.graph` turns into a node group. Each
camera input carries the simple-expression driver that binds it to a scene, so
a saved .blend keeps evaluating without Python and without this extension.

Maths, per pixel, with ``(u, v)`` the Image Coordinates node's *Normalized*
output (``u = (i + 0.5) / W``, ``v`` growing upwards) and ``k = sensor / lens``::

    ray   = (u * Ax + Bx,  v * Ay + By,  1)        Ax = ext_x * k,  Bx = (shift_x - ext_x / 2) * k
    depth = distance / |ray|                       Ay = ext_y * k,  By = (shift_y - ext_y / 2) * k

where ``(ext_x, ext_y)`` is the image size divided by the fit dimension ``V``
(see :mod:`depth_node.camera`). ``ray`` is the camera-space direction of the
pixel centre scaled to unit depth, so ``|ray| = sqrt(1 + tx^2 + ty^2)``.
When the camera is unsupported every coefficient is multiplied by 0, ``|ray|``
becomes 0 and the compositor's safe division gives 0 for every pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

GROUP_VERSION = 1
"""Bump whenever the generated graph changes; older groups in a .blend get rebuilt."""

VERSION_PROPERTY = "true_depth_version"
FINGERPRINT_PROPERTY = "true_depth_fingerprint"
MODE_PROPERTY = "true_depth_mode"

DISTANCE_TO_DEPTH = "DISTANCE_TO_DEPTH"
DEPTH_TO_DISTANCE = "DEPTH_TO_DISTANCE"
MODES = (DISTANCE_TO_DEPTH, DEPTH_TO_DISTANCE)

SUPPORTED_INPUT = "Camera Supported"


@dataclass(frozen=True)
class DriverSpec:
    """A simple-expression driver; each variable reads ``data_path`` from the bound scene."""

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


@dataclass(frozen=True)
class SocketRef:
    """An output socket: of a node by index, or of the group input by name."""

    node: str
    socket: int | str


@dataclass(frozen=True)
class NodeSpec:
    """A node inside the group; ``inputs`` maps input index to a constant or a :class:`SocketRef`."""

    name: str
    bl_idname: str
    label: str = ""
    properties: tuple[tuple[str, object], ...] = ()
    inputs: tuple[tuple[int, object], ...] = ()
    frame: str = ""


@dataclass(frozen=True)
class GroupSpec:
    """A whole node group: interface, nodes, the output link and notes."""

    name: str
    mode: str
    version: int
    inputs: tuple[SocketSpec, ...]
    outputs: tuple[SocketSpec, ...]
    nodes: tuple[NodeSpec, ...]
    result: dict[str, SocketRef]
    frames: tuple[tuple[str, str], ...]
    description: str = ""

    @property
    def camera_inputs(self) -> tuple[SocketSpec, ...]:
        """The inputs bound to the scene by drivers."""
        return tuple(socket for socket in self.inputs if socket.driver is not None)


GROUP_INPUT = "Group Input"
GROUP_OUTPUT = "Group Output"


def _scene_driver(data_path: str) -> DriverSpec:
    return DriverSpec(expression="value", variables=(("value", data_path),))


CAMERA_INPUTS: tuple[SocketSpec, ...] = (
    SocketSpec("Focal Length", "Camera focal length in millimetres (camera.data.lens)",
               50.0, 1e-6, 1e6, _scene_driver("camera.data.lens")),
    SocketSpec("Sensor Width", "Camera sensor width in millimetres",
               36.0, 1e-6, 1e6, _scene_driver("camera.data.sensor_width")),
    SocketSpec("Sensor Height", "Camera sensor height in millimetres (used by VERTICAL fit only)",
               24.0, 1e-6, 1e6, _scene_driver("camera.data.sensor_height")),
    SocketSpec("Sensor Fit", "0 = AUTO, 1 = HORIZONTAL, 2 = VERTICAL",
               0.0, 0.0, 2.0, _scene_driver("camera.data.sensor_fit")),
    SocketSpec("Shift X", "Lens shift as a fraction of the fit dimension",
               0.0, -1e3, 1e3, _scene_driver("camera.data.shift_x")),
    SocketSpec("Shift Y", "Lens shift as a fraction of the fit dimension",
               0.0, -1e3, 1e3, _scene_driver("camera.data.shift_y")),
    SocketSpec("Resolution X", "Render width in pixels before the percentage",
               1920.0, 1.0, 1e6, _scene_driver("render.resolution_x")),
    SocketSpec("Resolution Y", "Render height in pixels before the percentage",
               1080.0, 1.0, 1e6, _scene_driver("render.resolution_y")),
    SocketSpec("Resolution %", "Render resolution percentage",
               100.0, 1.0, 1e5, _scene_driver("render.resolution_percentage")),
    SocketSpec("Pixel Aspect X", "Horizontal pixel aspect ratio",
               1.0, 1e-6, 1e6, _scene_driver("render.pixel_aspect_x")),
    SocketSpec("Pixel Aspect Y", "Vertical pixel aspect ratio",
               1.0, 1e-6, 1e6, _scene_driver("render.pixel_aspect_y")),
    SocketSpec(
        SUPPORTED_INPUT,
        "1 when the scene camera is a perspective camera and the render is not cropped to a "
        "border; 0 makes every output pixel 0 (the node also shows a warning)",
        1.0, 0.0, 1.0,
        DriverSpec(
            expression="camera_type == 0 and not (use_border and crop_to_border)",
            variables=(
                ("camera_type", "camera.data.type"),
                ("use_border", "render.use_border"),
                ("crop_to_border", "render.use_crop_to_border"),
            ),
        ),
    ),
)


class _Graph:
    """Collects :class:`NodeSpec` objects from arithmetic written as calls."""

    def __init__(self) -> None:
        self.nodes: list[NodeSpec] = []

    def _add(self, node: NodeSpec) -> SocketRef:
        if any(existing.name == node.name for existing in self.nodes):
            raise ValueError(f"duplicate node name {node.name!r}")
        self.nodes.append(node)
        return SocketRef(node.name, 0)

    def math(self, name: str, operation: str, *operands: object, frame: str = "") -> SocketRef:
        return self._add(NodeSpec(
            name, "ShaderNodeMath", label=name,
            properties=(("operation", operation),),
            inputs=tuple(enumerate(operands)), frame=frame,
        ))

    def vector_math(self, name: str, operation: str, *operands: object, output: int = 0,
                    frame: str = "") -> SocketRef:
        ref = self._add(NodeSpec(
            name, "ShaderNodeVectorMath", label=name,
            properties=(("operation", operation),),
            inputs=tuple(enumerate(operands)), frame=frame,
        ))
        return SocketRef(ref.node, output)

    def combine(self, name: str, x: object, y: object, z: object, frame: str = "") -> SocketRef:
        return self._add(NodeSpec(name, "ShaderNodeCombineXYZ", label=name,
                                  inputs=((0, x), (1, y), (2, z)), frame=frame))

    def image_coordinates(self, name: str, image: object, frame: str = "") -> SocketRef:
        ref = self._add(NodeSpec(name, "CompositorNodeImageCoordinates", label=name,
                                 inputs=((0, image),), frame=frame))
        return SocketRef(ref.node, 1)  # "Normalized"


_CONSTANTS_FRAME = "Camera constants (single values, computed once per frame)"
_PIXEL_FRAME = "Per pixel"


def _inp(name: str) -> SocketRef:
    return SocketRef(GROUP_INPUT, name)


def _ray_scale_and_offset(graph: _Graph) -> tuple[SocketRef, SocketRef]:
    """Nodes that turn the camera inputs into the ray's scale and offset vectors."""
    f = _CONSTANTS_FRAME
    m = graph.math
    width = m("Width", "FLOOR", m("Width x %", "DIVIDE",
                                 m("ResX x %", "MULTIPLY", _inp("Resolution X"), _inp("Resolution %"), frame=f),
                                 100.0, frame=f), frame=f)
    height = m("Height", "FLOOR", m("Height x %", "DIVIDE",
                                   m("ResY x %", "MULTIPLY", _inp("Resolution Y"), _inp("Resolution %"), frame=f),
                                   100.0, frame=f), frame=f)
    display_width = m("Display Width", "MULTIPLY", width, _inp("Pixel Aspect X"), frame=f)
    display_height = m("Display Height", "MULTIPLY", height, _inp("Pixel Aspect Y"), frame=f)
    fit_vertical = m("Fit Is VERTICAL", "COMPARE", _inp("Sensor Fit"), 2.0, 0.5, frame=f)
    fit_auto = m("Fit Is AUTO", "COMPARE", _inp("Sensor Fit"), 0.0, 0.5, frame=f)
    auto_vertical = m("AUTO Resolves Vertical", "MULTIPLY", fit_auto,
                      m("Portrait", "LESS_THAN", display_width, display_height, frame=f), frame=f)
    vertical = m("Vertical Fit", "MAXIMUM", fit_vertical, auto_vertical, frame=f)
    sensor = m("Sensor", "ADD", _inp("Sensor Width"),
               m("Sensor Choice", "MULTIPLY", fit_vertical,
                 m("Height - Width", "SUBTRACT", _inp("Sensor Height"), _inp("Sensor Width"), frame=f),
                 frame=f), frame=f)
    # Height in horizontal-pixel units, the fit size V for a vertical fit.
    height_x = m("Height In X Pixels", "DIVIDE", display_height, _inp("Pixel Aspect X"), frame=f)
    fit_size = m("Fit Size V", "ADD", width,
                 m("Fit Choice", "MULTIPLY", vertical,
                   m("Hx - W", "SUBTRACT", height_x, width, frame=f), frame=f), frame=f)
    extent_x = m("Extent X", "DIVIDE", width, fit_size, frame=f)
    extent_y = m("Extent Y", "DIVIDE", height_x, fit_size, frame=f)
    k = m("Sensor / Lens", "MULTIPLY",
          m("Sensor Over Lens", "DIVIDE", sensor, _inp("Focal Length"), frame=f),
          _inp(SUPPORTED_INPUT), frame=f)
    scale_x = m("Scale X", "MULTIPLY", extent_x, k, frame=f)
    scale_y = m("Scale Y", "MULTIPLY", extent_y, k, frame=f)
    offset_x = m("Offset X", "MULTIPLY", k,
                 m("Shift X - Ext X/2", "SUBTRACT", _inp("Shift X"),
                   m("Half Extent X", "MULTIPLY", extent_x, 0.5, frame=f), frame=f), frame=f)
    offset_y = m("Offset Y", "MULTIPLY", k,
                 m("Shift Y - Ext Y/2", "SUBTRACT", _inp("Shift Y"),
                   m("Half Extent Y", "MULTIPLY", extent_y, 0.5, frame=f), frame=f), frame=f)
    scale = graph.combine("Ray Scale", scale_x, scale_y, 0.0, frame=f)
    offset = graph.combine("Ray Offset", offset_x, offset_y, _inp(SUPPORTED_INPUT), frame=f)
    return scale, offset


def build_spec(mode: str = DISTANCE_TO_DEPTH) -> GroupSpec:
    """The description of the group for ``mode`` (see :data:`MODES`)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    forward = mode == DISTANCE_TO_DEPTH
    source, target = ("Distance", "Depth") if forward else ("Depth", "Distance")
    graph = _Graph()
    scale, offset = _ray_scale_and_offset(graph)
    uv = graph.image_coordinates("Pixel Centres", _inp(source), frame=_PIXEL_FRAME)
    ray = graph.vector_math("Ray", "MULTIPLY_ADD", uv, scale, offset, frame=_PIXEL_FRAME)
    ray_length = graph.vector_math("Ray Length", "LENGTH", ray, output=1, frame=_PIXEL_FRAME)
    result = graph.math(target, "DIVIDE" if forward else "MULTIPLY", _inp(source), ray_length,
                        frame=_PIXEL_FRAME)
    if forward:
        io_description = ("Ray distance from the camera origin to the surface (Mist, a Camera "
                          "Data 'View Distance' AOV, or a distance EXR)",
                          "Planar depth along the camera's view axis (like Cycles' Z pass)")
        formula = "depth = distance / sqrt(1 + tx^2 + ty^2)"
    else:
        io_description = ("Planar depth along the camera's view axis (e.g. Cycles' Z pass)",
                          "Ray distance from the camera origin to the surface")
        formula = "distance = depth * sqrt(1 + tx^2 + ty^2)"
    name = "True Depth" if forward else "True Depth Inverse"
    return GroupSpec(
        name=name,
        mode=mode,
        version=GROUP_VERSION,
        inputs=(SocketSpec(source, io_description[0], 0.0, -1e30, 1e30),) + CAMERA_INPUTS,
        outputs=(SocketSpec(target, io_description[1], 0.0, -1e30, 1e30),),
        nodes=tuple(graph.nodes),
        result={target: result},
        frames=(
            (_CONSTANTS_FRAME, "Sensor fit, pixel aspect, shift, resolution % -> ray scale/offset"),
            (_PIXEL_FRAME, f"{formula}, (tx, ty) from the pixel centre"),
        ),
        description=(f"True Depth v{GROUP_VERSION}: {formula}. Camera inputs are driven by the "
                     "scene's active camera and render settings."),
    )


def validate_spec(spec: GroupSpec) -> list[str]:
    """Consistency problems of a spec (empty when it is sound): dangling references, cycles."""
    errors: list[str] = []
    names = {node.name for node in spec.nodes}
    input_names = {socket.name for socket in spec.inputs}

    def check_ref(ref: SocketRef, where: str) -> None:
        if ref.node == GROUP_INPUT:
            if ref.socket not in input_names:
                errors.append(f"{where}: unknown group input {ref.socket!r}")
        elif ref.node not in names:
            errors.append(f"{where}: unknown node {ref.node!r}")

    for node in spec.nodes:
        for index, value in node.inputs:
            if isinstance(value, SocketRef):
                check_ref(value, f"{node.name}[{index}]")
            elif not isinstance(value, (int, float)):
                errors.append(f"{node.name}[{index}]: unsupported constant {value!r}")
    for output_name, ref in spec.result.items():
        check_ref(ref, f"output {output_name}")
    if set(spec.result) != {socket.name for socket in spec.outputs}:
        errors.append("result does not cover exactly the group outputs")
    order = {node.name: position for position, node in enumerate(spec.nodes)}
    for node in spec.nodes:
        for _, value in node.inputs:
            if isinstance(value, SocketRef) and value.node in order and order[value.node] >= order[node.name]:
                errors.append(f"{node.name} uses {value.node} before it is defined")
    return errors
