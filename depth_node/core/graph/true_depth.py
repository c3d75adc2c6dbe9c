"""Declarative description of the "True Depth" compositor node groups. Imports no bpy.

The description is plain data (sockets, nodes, links, notes; see
:mod:`depth_node.core.graph.nodes`) and is the single source the builder in
:mod:`depth_node.blender.group` turns into a node group. Each camera input
carries the simple-expression driver that binds it to a scene, so a saved
.blend keeps evaluating without Python and without this extension.

Maths, per pixel, with ``(u, v)`` the Image Coordinates node's *Normalized*
output (``u = (i + 0.5) / w``, ``v`` growing upwards) of the image the
compositor receives (the border region when the render is cropped to it)::

    q     = (u * Ax + Bx,  v * Ay + By,  z)     z: the projection's view-plane z (1 persp., 0 ortho)
    len   = |q|
    (l, r) = the selected projection's per-pixel terms of len (lateral offset, ray length)
    depth = distance * sqrt(1 - (l / distance)^2) / r

which is ``distance / |ray|`` for a perspective camera and
``sqrt(distance^2 - lateral^2)`` for an orthographic one (see
:mod:`depth_node.core.reference`). ``Ax, Bx`` (and ``Ay, By``) map the pixel to
the view plane at unit depth (perspective, ``k = sensor / lens``) or in scene
units (orthographic, ``k = ortho_scale``)::

    Ax = ext_x * k * sx,   Bx = (shift_x - ext_x / 2) * k + ext_x * k * tx

with ``(ext_x, ext_y)`` the frame size divided by the fit dimension ``V`` (see
:mod:`depth_node.core.camera`) and ``sx, tx`` the border crop's width fraction
and start (1 and 0 without crop).

The projection is selected in one place (:func:`_select`): every registered
projection contributes its terms weighted by ``Camera Type == its code`` (0 or
1, single values). When no projection matches (a panoramic camera) ``k``, ``l``
and ``r`` are 0, and the compositor's safe division gives 0 for every pixel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .. import projections
from ..modes import DISTANCE_TO_DEPTH, MODES, mode
from ..projections.base import CAMERA_TYPE_INPUT, PixelContext, Projection
from .nodes import (
    GROUP_INPUT,
    GROUP_OUTPUT,
    DriverSpec,
    GraphBuilder,
    NodeSpec,
    Operand,
    SocketRef,
    SocketSpec,
    driven_input,
    group_input,
    validate,
)

GROUP_VERSION = 7
"""Bump whenever the generated graph changes; older groups in a .blend get rebuilt."""

FLOAT32_MAX = 3.4028234663852886e38
"""The inverse mode saturates here instead of overflowing to inf."""

VERSION_PROPERTY = "true_depth_version"
FINGERPRINT_PROPERTY = "true_depth_fingerprint"
MODE_PROPERTY = "true_depth_mode"
VARIANT_PROPERTY = "true_depth_variant"
VARIANTS = tuple(projections.VARIANTS)
PINHOLE = "perspective"
"""The default variant: a perspective camera (see :data:`~depth_node.core.projections.VARIANTS`)."""
CALIBRATED = "calibrated"
"""The variant of a calibrated camera's group (built from its calibration, see ``blender.calibrated``)."""

__all__ = [
    "CAMERA_INPUTS", "CAMERA_TYPE_INPUT", "DISTANCE_TO_DEPTH", "FINGERPRINT_PROPERTY", "GROUP_INPUT",
    "GROUP_OUTPUT", "GROUP_VERSION", "MODES", "MODE_PROPERTY", "VERSION_PROPERTY", "DriverSpec", "GroupSpec",
    "NodeSpec", "PINHOLE", "SocketRef", "SocketSpec", "VARIANTS", "VARIANT_PROPERTY", "build_spec", "camera_inputs",
    "group_name", "validate_spec",
]


@dataclass(frozen=True)
class GroupSpec:
    """A whole node group: interface, nodes, the output link and notes."""

    name: str
    mode: str
    variant: str
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


_COMMON_INPUTS: tuple[SocketSpec, ...] = (
    driven_input("Sensor Width", "Camera sensor width in millimetres", 36.0, 1e-6, 1e6, "camera.data.sensor_width"),
    driven_input("Sensor Height", "Camera sensor height in millimetres (used by VERTICAL fit only)",
                 24.0, 1e-6, 1e6, "camera.data.sensor_height"),
    driven_input("Sensor Fit", "0 = AUTO, 1 = HORIZONTAL, 2 = VERTICAL", 0.0, 0.0, 2.0, "camera.data.sensor_fit"),
    driven_input("Shift X", "Lens shift as a fraction of the fit dimension", 0.0, -1e3, 1e3, "camera.data.shift_x"),
    SocketSpec("Stereo 3D", "1 when the render makes Stereo 3D views (each eye's off-axis shift applies)",
               0.0, 0.0, 1.0, DriverSpec(expression="multiview and fmt == 0",
                                         variables=(("multiview", "render.use_multiview"),
                                                    ("fmt", "render.views_format")))),
    driven_input("Interocular Distance", "Stereo: distance between the eyes in scene units", 0.065, 0.0, 1e6,
                 "camera.data.stereo.interocular_distance"),
    driven_input("Convergence Distance", "Stereo: distance of the zero-parallax plane", 1.95, 1e-6, 1e9,
                 "camera.data.stereo.convergence_distance"),
    driven_input("Convergence Mode", "Stereo: 0 = OFF-AXIS, 1 = PARALLEL, 2 = TOE-IN", 0.0, 0.0, 2.0,
                 "camera.data.stereo.convergence_mode"),
    driven_input("Stereo Pivot", "Stereo: 0 = LEFT, 1 = RIGHT, 2 = CENTER", 0.0, 0.0, 2.0,
                 "camera.data.stereo.pivot"),
    driven_input("Shift Y", "Lens shift as a fraction of the fit dimension", 0.0, -1e3, 1e3, "camera.data.shift_y"),
    driven_input(CAMERA_TYPE_INPUT,
                 ", ".join(f"{projections.camera_type_code(t)} = {t}" for t in projections.BLENDER_CAMERA_TYPES)
                 + " (types without a projection in this group give 0)",
                 0.0, 0.0, float(len(projections.BLENDER_CAMERA_TYPES) - 1), "camera.data.type"),
    driven_input("Resolution X", "Render width in pixels before the percentage",
                 1920.0, 1.0, 1e6, "render.resolution_x"),
    driven_input("Resolution Y", "Render height in pixels before the percentage",
                 1080.0, 1.0, 1e6, "render.resolution_y"),
    driven_input("Resolution %", "Render resolution percentage", 100.0, 1.0, 1e5, "render.resolution_percentage"),
    driven_input("Pixel Aspect X", "Horizontal pixel aspect ratio", 1.0, 1e-6, 1e6, "render.pixel_aspect_x"),
    driven_input("Pixel Aspect Y", "Vertical pixel aspect ratio", 1.0, 1e-6, 1e6, "render.pixel_aspect_y"),
    SocketSpec(
        "Crop To Border",
        "1 when the render is a border region cropped to that region (the image is the region only)",
        0.0, 0.0, 1.0,
        DriverSpec(expression="use_border and crop",
                   variables=(("use_border", "render.use_border"), ("crop", "render.use_crop_to_border"))),
    ),
    driven_input("Border Min X", "Render region left edge, fraction of the width", 0.0, 0.0, 1.0,
                 "render.border_min_x"),
    driven_input("Border Max X", "Render region right edge, fraction of the width", 1.0, 0.0, 1.0,
                 "render.border_max_x"),
    driven_input("Border Min Y", "Render region bottom edge, fraction of the height", 0.0, 0.0, 1.0,
                 "render.border_min_y"),
    driven_input("Border Max Y", "Render region top edge, fraction of the height", 1.0, 0.0, 1.0,
                 "render.border_max_y"),
)



def camera_inputs(variant: str = PINHOLE) -> tuple[SocketSpec, ...]:
    """The driven inputs of a group variant: its projections' own, then the shared ones (each name once)."""
    own = [socket for projection in projections.VARIANTS[variant] for socket in projection.inputs]
    own += projections.VARIANT_INPUTS[variant]
    return tuple({socket.name: socket for socket in own}.values()) + _COMMON_INPUTS


CAMERA_INPUTS = camera_inputs(PINHOLE)
"""The driven inputs of the pinhole variant."""

_CONSTANTS_FRAME = "Camera constants (single values, computed once per frame)"
_PIXEL_FRAME = "Per pixel"
_inp = group_input


def _weighted_sum(graph: GraphBuilder, name: str, terms: list[tuple[Operand, SocketRef]], frame: str) -> Operand:
    """``sum(value * flag)`` over ``terms``: the one place a projection's value is selected.

    The flags are exact 0/1 single values, so the selected term comes out
    unchanged. Constant terms fold into single values before any per-pixel node.
    """
    total: Operand = 0.0
    for value, flag in terms:
        if isinstance(value, SocketRef) or value == 0.0:
            continue
        scaled = flag if value == 1.0 else graph.math(f"{name}: {flag.node}", "MULTIPLY", flag, value,
                                                      frame=_CONSTANTS_FRAME)
        total = scaled if total == 0.0 else graph.math(f"{name} + {flag.node}", "ADD", total, scaled,
                                                       frame=_CONSTANTS_FRAME)
    for value, flag in terms:
        if not isinstance(value, SocketRef):
            continue
        total = (graph.math(f"{name}: {flag.node}", "MULTIPLY", value, flag, frame=frame) if total == 0.0
                 else graph.math(f"{name}: {flag.node}", "MULTIPLY_ADD", value, flag, total, frame=frame))
    return total


def _flags(graph: GraphBuilder, members: tuple[Projection, ...]) -> tuple[SocketRef, ...]:
    """1 for the projection of the bound camera, 0 for every other (exact single values)."""
    return tuple(projection.flag_node(graph, _CONSTANTS_FRAME) for projection in members)


@dataclass(frozen=True)
class _ViewPlane:
    """Single values the per-pixel nodes need: the projections' flags, the ray's scale and offset, the frame."""

    members: tuple[Projection, ...]
    flags: tuple[SocketRef, ...]
    scale: SocketRef
    offset: SocketRef
    frame_span: SocketRef
    frame_start: SocketRef
    sensor_mm: Callable[[], tuple[SocketRef, SocketRef]]


def _crop_mapping(graph: GraphBuilder, size: SocketRef, border_min: str, border_max: str, crop: SocketRef,
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


def _eye_shift_x(graph: GraphBuilder) -> SocketRef:
    """Shift X plus this view's off-axis stereo shift (:mod:`depth_node.core.projections.stereo`), picked by
    Switch View."""
    f = _CONSTANTS_FRAME
    m = graph.math
    off_axis = m("Off-Axis Stereo", "MULTIPLY", _inp("Stereo 3D"),
                 m("Mode Is OFF-AXIS", "COMPARE", _inp("Convergence Mode"), 0.0, 0.5, frame=f), frame=f)
    eye_shift = m("Eye Shift", "MULTIPLY", off_axis,
                  m("IOD / Sensor x Lens / Convergence", "MULTIPLY",
                    m("IOD / Sensor", "DIVIDE", _inp("Interocular Distance"), _inp("Sensor Width"), frame=f),
                    m("Lens / Convergence", "DIVIDE", _inp("Focal Length"), _inp("Convergence Distance"), frame=f),
                    frame=f), frame=f)
    half = m("Pivot Factor", "MULTIPLY_ADD", m("Pivot Is CENTER", "COMPARE", _inp("Stereo Pivot"), 2.0, 0.5, frame=f),
             -0.5, 1.0, frame=f)
    left = m("Left Eye Factor", "MULTIPLY", half,
             m("Left Eye Moves", "SUBTRACT", 1.0,
               m("Pivot Is LEFT", "COMPARE", _inp("Stereo Pivot"), 0.0, 0.5, frame=f), frame=f), frame=f)
    right = m("Right Eye Factor", "MULTIPLY", half,
              m("Right Eye Moves", "SUBTRACT",
                m("Pivot Is RIGHT", "COMPARE", _inp("Stereo Pivot"), 1.0, 0.5, frame=f), 1.0, frame=f), frame=f)
    per_view = graph.switch_view("Eye", m("Left Eye Shift", "MULTIPLY", eye_shift, left, frame=f),
                                 m("Right Eye Shift", "MULTIPLY", eye_shift, right, frame=f), frame=f)
    return m("Eye Shift X", "ADD", _inp("Shift X"), per_view, frame=f)


def _view_plane(graph: GraphBuilder, members: tuple[Projection, ...]) -> _ViewPlane:
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
    flags = _flags(graph, members)
    flagged = list(zip(members, flags, strict=True))
    # k: view-plane size of the fit dimension; 0 when no projection matches the camera.
    k = _weighted_sum(graph, "View Extent k",
                      [(projection.extent_node(graph, sensor, f), flag) for projection, flag in flagged], f)
    plane_z = _weighted_sum(graph, "View Plane z", [(projection.view_plane_z, flag) for projection, flag in flagged], f)
    crop = _inp("Crop To Border")
    span_x, start_x = _crop_mapping(graph, width, "Border Min X", "Border Max X", crop, "X")
    span_y, start_y = _crop_mapping(graph, height, "Border Min Y", "Border Max Y", crop, "Y")
    frame_scale_x = m("Frame Scale X", "MULTIPLY", extent_x, k, frame=f)
    frame_scale_y = m("Frame Scale Y", "MULTIPLY", extent_y, k, frame=f)
    scale_x = m("Scale X", "MULTIPLY", frame_scale_x, span_x, frame=f)
    scale_y = m("Scale Y", "MULTIPLY", frame_scale_y, span_y, frame=f)
    frame_offset_x = m("Frame Offset X", "MULTIPLY", k,
                       m("Shift X - Ext X/2", "SUBTRACT", _eye_shift_x(graph),
                         m("Half Extent X", "MULTIPLY", extent_x, 0.5, frame=f), frame=f), frame=f)
    frame_offset_y = m("Frame Offset Y", "MULTIPLY", k,
                       m("Shift Y - Ext Y/2", "SUBTRACT", _inp("Shift Y"),
                         m("Half Extent Y", "MULTIPLY", extent_y, 0.5, frame=f), frame=f), frame=f)
    offset_x = m("Offset X", "MULTIPLY_ADD", frame_scale_x, start_x, frame_offset_x, frame=f)
    offset_y = m("Offset Y", "MULTIPLY_ADD", frame_scale_y, start_y, frame_offset_y, frame=f)
    return _ViewPlane(
        members=members,
        flags=flags,
        scale=graph.combine("Ray Scale", scale_x, scale_y, 0.0, frame=f),
        offset=graph.combine("Ray Offset", offset_x, offset_y, plane_z, frame=f),
        frame_span=graph.combine("Frame Span", span_x, span_y, 0.0, frame=f),
        frame_start=graph.combine("Frame Start", start_x, start_y, 0.0, frame=f),
        sensor_mm=lambda: _panoramic_sensor(graph, display_width, display_height, sensor, vertical),
    )


def _panoramic_sensor(graph: GraphBuilder, display_width: SocketRef, display_height: SocketRef,
                      sensor: SocketRef, vertical: SocketRef) -> tuple[SocketRef, SocketRef]:
    """Cycles' panoramic sensor in mm (:func:`depth_node.core.projections.panoramic.sensor_mm`): the fit side gets the
    sensor size, the other side scales with the displayed aspect ``xr : yr`` (the display width and height).
    (A square frame gives the same either way, so the fit test is the pinhole one.)"""
    f = _CONSTANTS_FRAME
    m = graph.math
    y_over_x = m("yr / xr", "DIVIDE", display_height, display_width, frame=f)
    # width factor: 1 (horizontal fit) or xr / yr; height factor: yr / xr or 1
    x_factor = m("Sensor X Factor", "MULTIPLY_ADD", vertical,
                 m("xr / yr - 1", "SUBTRACT", m("xr / yr", "DIVIDE", display_width, display_height, frame=f), 1.0,
                   frame=f), 1.0, frame=f)
    y_factor = m("Sensor Y Factor", "MULTIPLY_ADD", vertical, m("1 - yr / xr", "SUBTRACT", 1.0, y_over_x, frame=f),
                 y_over_x, frame=f)
    return (m("Sensor mm X", "MULTIPLY", sensor, x_factor, frame=f),
            m("Sensor mm Y", "MULTIPLY", sensor, y_factor, frame=f))


def _per_pixel(graph: GraphBuilder, plane: _ViewPlane, source: SocketRef, forward: bool) -> SocketRef:
    """The per-pixel nodes of one mode (see the module docstring)."""
    f = _PIXEL_FRAME
    m = graph.math
    uv = graph.image_coordinates("Pixel Centres", source, frame=f)
    ray = graph.vector_math("Ray", "MULTIPLY_ADD", uv, plane.scale, plane.offset, frame=f)
    length = graph.vector_math("Ray Length", "LENGTH", ray, output=1, frame=f)
    pixels = PixelContext(graph, f, _CONSTANTS_FRAME, uv, length, plane.frame_span, plane.frame_start,
                          plane.sensor_mm)
    terms = [(projection.pixel_terms(pixels), flag) for projection, flag in zip(plane.members, plane.flags,
                                                                                 strict=True)]
    lateral = _weighted_sum(graph, "Lateral", [(t.lateral, flag) for t, flag in terms if t.lateral is not None], f)
    # |ray| of the selected projection, 0 when none matches (the safe division then gives 0).
    ray_length = _weighted_sum(graph, "Ray Length At Unit Depth", [(t.ray_length, flag) for t, flag in terms], f)
    if lateral == 0.0:  # no member starts rays off the origin: depth = distance / |ray| (and back)
        if forward:
            return m("Depth", "DIVIDE", source, ray_length, frame=f)
        return m("Distance", "MAXIMUM", m("Saturate High", "MINIMUM",
                                          m("Depth x Ray Length", "MULTIPLY", source, ray_length, frame=f),
                                          FLOAT32_MAX, frame=f), -FLOAT32_MAX, frame=f)
    ratio = m("Lateral / Input", "DIVIDE", lateral, source, frame=f)
    if forward:
        # sqrt of a negative number is 0 in Blender: a distance shorter than the lateral offset gives 0.
        root = m("sqrt(1 - ratio^2)", "SQRT",
                 m("1 - ratio^2", "SUBTRACT", 1.0, m("ratio^2", "MULTIPLY", ratio, ratio, frame=f), frame=f),
                 frame=f)
        return m("Depth", "DIVIDE", m("Distance x root", "MULTIPLY", source, root, frame=f), ray_length,
                 frame=f)
    # min() keeps 1 + ratio^2 finite in float32 when a depth below 1e-19 x the lateral offset meets an
    # orthographic camera: such a depth then gives depth * 1e19 instead of inf x 0.
    root = m("sqrt(1 + ratio^2)", "SQRT",
             m("Clamp", "MINIMUM", m("1 + ratio^2", "MULTIPLY_ADD", ratio, ratio, 1.0, frame=f), 1e38, frame=f),
             frame=f)
    distance = m("Distance x root", "MULTIPLY", m("Depth x Ray Length", "MULTIPLY", source, ray_length, frame=f),
                 root, frame=f)
    # |ray| >= 1 can push a finite depth past float32's range: saturate (NaN stays NaN, inf becomes FLT_MAX).
    return m("Distance", "MAXIMUM", m("Saturate High", "MINIMUM", distance, FLOAT32_MAX, frame=f),
             -FLOAT32_MAX, frame=f)


def group_name(mode_id: str, variant: str = PINHOLE) -> str:
    """The node group's name: the mode's, plus the variant's for the panoramic one."""
    return mode(mode_id).group_name + projections.VARIANT_SUFFIXES[variant]


def build_spec(mode_id: str = DISTANCE_TO_DEPTH, variant: str = PINHOLE) -> GroupSpec:
    """The description of the group for ``mode_id`` (see :data:`~depth_node.core.modes.MODES`) and ``variant``
    (see :data:`~depth_node.core.projections.VARIANTS`), validated."""
    chosen = mode(mode_id)
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    forward = mode_id == DISTANCE_TO_DEPTH
    graph = GraphBuilder()
    result = _per_pixel(graph, _view_plane(graph, projections.VARIANTS[variant]), _inp(chosen.input), forward)
    if forward:
        io_description = ("Distance from the camera origin to the surface (Mist, a Camera "
                          "Data 'View Distance' AOV, or a distance EXR)",
                          "Planar depth along the camera's view axis (like Cycles' Z pass)")
        formula = "depth = distance / |ray| (persp.), sqrt(distance^2 - lateral^2) (ortho), distance x cos (pano.)"
    else:
        io_description = ("Planar depth along the camera's view axis (e.g. Cycles' Z pass)",
                          "Distance from the camera origin to the surface")
        formula = "distance = depth * |ray| (persp.), sqrt(depth^2 + lateral^2) (ortho), depth / cos (pano.)"
    spec = GroupSpec(
        name=group_name(mode_id, variant),
        mode=mode_id,
        variant=variant,
        version=GROUP_VERSION,
        inputs=(SocketSpec(chosen.input, io_description[0], 0.0, -1e30, 1e30),) + camera_inputs(variant),
        outputs=(SocketSpec(chosen.output, io_description[1], 0.0, -1e30, 1e30),),
        nodes=tuple(graph.nodes),
        result={chosen.output: result},
        frames=(
            (_CONSTANTS_FRAME, "Fit, aspect, shift, resolution %, border crop -> ray scale/offset"),
            (_PIXEL_FRAME, formula),
        ),
        description=(f"True Depth v{GROUP_VERSION}: {formula}. Camera inputs are driven by the "
                     "scene's camera (keyed per timeline marker) and render settings; 0 for cameras without a "
                     "projection in this group."),
    )
    return checked(spec)


def checked(spec: GroupSpec) -> GroupSpec:
    """``spec``, or a ValueError naming each of its problems (:func:`validate_spec`)."""
    errors = validate_spec(spec)
    if errors:
        raise ValueError(f"invalid description of {spec.name!r}: " + "; ".join(errors))
    return spec


def validate_spec(spec: GroupSpec) -> list[str]:
    """Consistency problems of a spec (empty when it is sound): dangling references, use before definition."""
    return validate(spec.nodes, {socket.name for socket in spec.inputs}, spec.result,
                    {socket.name for socket in spec.outputs})
