"""Declarative description of the "True Depth" compositor node groups. Imports no bpy.

The description is plain data (sockets, nodes, links, notes) and is the single
source the builder in :mod:`depth_node.graph` turns into a node group. Each
camera input carries the simple-expression driver that binds it to a scene, so
a saved .blend keeps evaluating without Python and without this extension.

Maths, per pixel, with ``(u, v)`` the Image Coordinates node's *Normalized*
output (``u = (i + 0.5) / w``, ``v`` growing upwards) of the image the
compositor receives (the border region when the render is cropped to it)::

    q     = (u * Ax + Bx,  v * Ay + By,  P)    P = 1 for perspective, 0 for orthographic
    len   = |q|                                 perspective: |ray| at unit depth; ortho: lateral offset
    depth = distance * sqrt(1 - (len * O / distance)^2) / (len * P + O)      O = 1 - P

which is ``distance / |ray|`` for a perspective camera and
``sqrt(distance^2 - lateral^2)`` for an orthographic one (see
:mod:`depth_node.reference`). ``Ax, Bx`` (and ``Ay, By``) map the pixel to the
view plane at unit depth (perspective, ``k = sensor / lens``) or in scene units
(orthographic, ``k = ortho_scale``)::

    Ax = ext_x * k * sx,   Bx = (shift_x - ext_x / 2) * k + ext_x * k * tx

with ``(ext_x, ext_y)`` the frame size divided by the fit dimension ``V`` (see
:mod:`depth_node.camera`) and ``sx, tx`` the border crop's width fraction and
start (1 and 0 without crop). When the camera is unsupported (panoramic) every
coefficient is 0, so ``len * P + O`` is 0 and the compositor's safe division
gives 0 for every pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

GROUP_VERSION = 3
"""Bump whenever the generated graph changes; older groups in a .blend get rebuilt."""

FLOAT32_MAX = 3.4028234663852886e38
"""The inverse mode saturates here instead of overflowing to inf."""

VERSION_PROPERTY = "true_depth_version"
FINGERPRINT_PROPERTY = "true_depth_fingerprint"
MODE_PROPERTY = "true_depth_mode"

DISTANCE_TO_DEPTH = "DISTANCE_TO_DEPTH"
DEPTH_TO_DISTANCE = "DEPTH_TO_DISTANCE"
MODES = (DISTANCE_TO_DEPTH, DEPTH_TO_DISTANCE)


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


def _input(name: str, description: str, default: float, minimum: float, maximum: float,
           data_path: str) -> SocketSpec:
    return SocketSpec(name, description, default, minimum, maximum, _scene_driver(data_path))


CAMERA_TYPE_INPUT = "Camera Type"

CAMERA_INPUTS: tuple[SocketSpec, ...] = (
    _input("Focal Length", "Camera focal length in millimetres (perspective)",
           50.0, 1e-6, 1e6, "camera.data.lens"),
    _input("Sensor Width", "Camera sensor width in millimetres", 36.0, 1e-6, 1e6, "camera.data.sensor_width"),
    _input("Sensor Height", "Camera sensor height in millimetres (used by VERTICAL fit only)",
           24.0, 1e-6, 1e6, "camera.data.sensor_height"),
    _input("Sensor Fit", "0 = AUTO, 1 = HORIZONTAL, 2 = VERTICAL", 0.0, 0.0, 2.0, "camera.data.sensor_fit"),
    _input("Shift X", "Lens shift as a fraction of the fit dimension", 0.0, -1e3, 1e3, "camera.data.shift_x"),
    _input("Shift Y", "Lens shift as a fraction of the fit dimension", 0.0, -1e3, 1e3, "camera.data.shift_y"),
    _input("Ortho Scale", "Orthographic camera's view size in scene units (orthographic)",
           6.0, 1e-9, 1e9, "camera.data.ortho_scale"),
    _input(CAMERA_TYPE_INPUT, "0 = perspective, 1 = orthographic, 2 = panoramic (unsupported: output 0)",
           0.0, 0.0, 2.0, "camera.data.type"),
    _input("Resolution X", "Render width in pixels before the percentage",
           1920.0, 1.0, 1e6, "render.resolution_x"),
    _input("Resolution Y", "Render height in pixels before the percentage",
           1080.0, 1.0, 1e6, "render.resolution_y"),
    _input("Resolution %", "Render resolution percentage", 100.0, 1.0, 1e5, "render.resolution_percentage"),
    _input("Pixel Aspect X", "Horizontal pixel aspect ratio", 1.0, 1e-6, 1e6, "render.pixel_aspect_x"),
    _input("Pixel Aspect Y", "Vertical pixel aspect ratio", 1.0, 1e-6, 1e6, "render.pixel_aspect_y"),
    SocketSpec(
        "Crop To Border",
        "1 when the render is a border region cropped to that region (the image is the region only)",
        0.0, 0.0, 1.0,
        DriverSpec(expression="use_border and crop",
                   variables=(("use_border", "render.use_border"), ("crop", "render.use_crop_to_border"))),
    ),
    _input("Border Min X", "Render region left edge, fraction of the width", 0.0, 0.0, 1.0,
           "render.border_min_x"),
    _input("Border Max X", "Render region right edge, fraction of the width", 1.0, 0.0, 1.0,
           "render.border_max_x"),
    _input("Border Min Y", "Render region bottom edge, fraction of the height", 0.0, 0.0, 1.0,
           "render.border_min_y"),
    _input("Border Max Y", "Render region top edge, fraction of the height", 1.0, 0.0, 1.0,
           "render.border_max_y"),
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


@dataclass(frozen=True)
class _Projection:
    """Single values the per-pixel nodes need: the ray's scale and offset and the type flags."""

    scale: SocketRef
    offset: SocketRef
    perspective: SocketRef
    orthographic: SocketRef


def _crop_mapping(graph: _Graph, size: SocketRef, border_min: str, border_max: str, crop: SocketRef,
                  axis: str) -> tuple[SocketRef, SocketRef]:
    """(fraction of the frame the image spans, frame fraction where it starts) along one axis."""
    f = _CONSTANTS_FRAME
    m = graph.math
    start = m(f"Crop Start {axis}", "FLOOR", m(f"Min {axis} x Size", "MULTIPLY", _inp(border_min), size, frame=f),
              frame=f)
    end = m(f"Crop End {axis}", "FLOOR", m(f"Max {axis} x Size", "MULTIPLY", _inp(border_max), size, frame=f),
            frame=f)
    fraction = m(f"Crop Fraction {axis} - 1", "SUBTRACT",
                 m(f"Crop Fraction {axis}", "DIVIDE",
                   m(f"Crop Size {axis}", "SUBTRACT", end, start, frame=f), size, frame=f), 1.0, frame=f)
    span = m(f"Span {axis}", "MULTIPLY_ADD", crop, fraction, 1.0, frame=f)
    first = m(f"Start {axis}", "MULTIPLY", crop, m(f"Start {axis} / Size", "DIVIDE", start, size, frame=f),
              frame=f)
    return span, first


def _projection(graph: _Graph) -> _Projection:
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
    perspective = m("Is Perspective", "COMPARE", _inp(CAMERA_TYPE_INPUT), 0.0, 0.5, frame=f)
    orthographic = m("Is Orthographic", "COMPARE", _inp(CAMERA_TYPE_INPUT), 1.0, 0.5, frame=f)
    # k: view-plane size of the fit dimension; 0 for an unsupported camera.
    k = m("View Extent k", "MULTIPLY_ADD", perspective,
          m("Sensor / Lens", "DIVIDE", sensor, _inp("Focal Length"), frame=f),
          m("Ortho k", "MULTIPLY", orthographic, _inp("Ortho Scale"), frame=f), frame=f)
    crop = _inp("Crop To Border")
    span_x, start_x = _crop_mapping(graph, width, "Border Min X", "Border Max X", crop, "X")
    span_y, start_y = _crop_mapping(graph, height, "Border Min Y", "Border Max Y", crop, "Y")
    frame_scale_x = m("Frame Scale X", "MULTIPLY", extent_x, k, frame=f)
    frame_scale_y = m("Frame Scale Y", "MULTIPLY", extent_y, k, frame=f)
    scale_x = m("Scale X", "MULTIPLY", frame_scale_x, span_x, frame=f)
    scale_y = m("Scale Y", "MULTIPLY", frame_scale_y, span_y, frame=f)
    frame_offset_x = m("Frame Offset X", "MULTIPLY", k,
                       m("Shift X - Ext X/2", "SUBTRACT", _inp("Shift X"),
                         m("Half Extent X", "MULTIPLY", extent_x, 0.5, frame=f), frame=f), frame=f)
    frame_offset_y = m("Frame Offset Y", "MULTIPLY", k,
                       m("Shift Y - Ext Y/2", "SUBTRACT", _inp("Shift Y"),
                         m("Half Extent Y", "MULTIPLY", extent_y, 0.5, frame=f), frame=f), frame=f)
    offset_x = m("Offset X", "MULTIPLY_ADD", frame_scale_x, start_x, frame_offset_x, frame=f)
    offset_y = m("Offset Y", "MULTIPLY_ADD", frame_scale_y, start_y, frame_offset_y, frame=f)
    return _Projection(
        scale=graph.combine("Ray Scale", scale_x, scale_y, 0.0, frame=f),
        offset=graph.combine("Ray Offset", offset_x, offset_y, perspective, frame=f),
        perspective=perspective,
        orthographic=orthographic,
    )


def _per_pixel(graph: _Graph, projection: _Projection, source: SocketRef, forward: bool) -> SocketRef:
    """The per-pixel nodes of one mode (see the module docstring)."""
    f = _PIXEL_FRAME
    m = graph.math
    uv = graph.image_coordinates("Pixel Centres", source, frame=f)
    ray = graph.vector_math("Ray", "MULTIPLY_ADD", uv, projection.scale, projection.offset, frame=f)
    length = graph.vector_math("Ray Length", "LENGTH", ray, output=1, frame=f)
    lateral = m("Ortho Lateral", "MULTIPLY", length, projection.orthographic, frame=f)
    ratio = m("Lateral / Input", "DIVIDE", lateral, source, frame=f)
    # |ray| for perspective, 1 for orthographic, 0 for unsupported (the safe division then gives 0).
    denominator = m("Perspective Ray Length", "MULTIPLY_ADD", length, projection.perspective,
                    projection.orthographic, frame=f)
    if forward:
        # sqrt of a negative number is 0 in Blender: a distance shorter than the lateral offset gives 0.
        root = m("sqrt(1 - ratio^2)", "SQRT",
                 m("1 - ratio^2", "SUBTRACT", 1.0, m("ratio^2", "MULTIPLY", ratio, ratio, frame=f), frame=f),
                 frame=f)
        return m("Depth", "DIVIDE", m("Distance x root", "MULTIPLY", source, root, frame=f), denominator,
                 frame=f)
    # min() keeps 1 + ratio^2 finite in float32 when a depth below 1e-19 x the lateral offset meets an
    # orthographic camera: such a depth then gives depth * 1e19 instead of inf x 0.
    root = m("sqrt(1 + ratio^2)", "SQRT",
             m("Clamp", "MINIMUM", m("1 + ratio^2", "MULTIPLY_ADD", ratio, ratio, 1.0, frame=f), 1e38, frame=f),
             frame=f)
    distance = m("Distance x root", "MULTIPLY", m("Depth x Ray Length", "MULTIPLY", source, denominator, frame=f),
                 root, frame=f)
    # |ray| >= 1 can push a finite depth past float32's range: saturate (NaN stays NaN, inf becomes FLT_MAX).
    return m("Distance", "MAXIMUM", m("Saturate High", "MINIMUM", distance, FLOAT32_MAX, frame=f),
             -FLOAT32_MAX, frame=f)


def build_spec(mode: str = DISTANCE_TO_DEPTH) -> GroupSpec:
    """The description of the group for ``mode`` (see :data:`MODES`)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    forward = mode == DISTANCE_TO_DEPTH
    source, target = ("Distance", "Depth") if forward else ("Depth", "Distance")
    graph = _Graph()
    result = _per_pixel(graph, _projection(graph), _inp(source), forward)
    if forward:
        io_description = ("Distance from the camera origin to the surface (Mist, a Camera "
                          "Data 'View Distance' AOV, or a distance EXR)",
                          "Planar depth along the camera's view axis (like Cycles' Z pass)")
        formula = "depth = distance / |ray| (persp.), sqrt(distance^2 - lateral^2) (ortho)"
    else:
        io_description = ("Planar depth along the camera's view axis (e.g. Cycles' Z pass)",
                          "Distance from the camera origin to the surface")
        formula = "distance = depth * |ray| (persp.), sqrt(depth^2 + lateral^2) (ortho)"
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
            (_CONSTANTS_FRAME, "Fit, aspect, shift, resolution %, border crop -> ray scale/offset"),
            (_PIXEL_FRAME, formula),
        ),
        description=(f"True Depth v{GROUP_VERSION}: {formula}. Camera inputs are driven by the "
                     "scene's camera (per timeline marker) and render settings; 0 for panoramic cameras."),
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
