"""Declarative description of the "True Flow" compositor node group. Imports no bpy.

The group turns Blender's Vector pass into this product's forward and backward flow (see
:mod:`depth_node.core.flow`), with no Python at render time. Per pixel, with ``p = (x, y, 1)`` the pixel centre in
OpenCV pixels of the output image and ``d`` the Z pass (planar depth, 1e10 where the ray escaped)::

    pass flow   backward = (X, -Y), forward = (-Z, W)              (core.flow.vector_pass, measured)
    sky flow    (H p)_xy / (H p)_z - (x, y) where in front, (H p)_z > 0, else 0   (core.flow.camera_pair)
    flow        the pass's where d < 1e9, else the sky's
    in view     p + flow inside the other frame's image, and d (G . p) + T . p within its clip range (hits) or in
                front of it (sky)

``H``, ``G``, ``T`` and the clip range describe the camera of f+-1, which no driver can read: the binding keys
them per frame (:mod:`depth_node.blender.flow.node`); ``Active`` is 0 across a camera cut and where this
Blender's compositor loses the pass's fourth component (forward only). ``Input Exact`` is a driver: 0 when motion
blur or more than one sample (or a pixel filter wider than 0.01 px) makes the pass an average. Where either is 0
the direction gives 0 and invalid. The third component, **in view**, is not the render job's ``valid``: the
compositor cannot see whether another surface hides the point in the other frame.
"""

from __future__ import annotations

from ..flow import BACKWARD, DIRECTIONS, FORWARD
from .nodes import (
    DriverSpec,
    GraphBuilder,
    SocketRef,
    SocketSpec,
    group_input,
)
from .true_depth import PINHOLE, GroupSpec, checked

FLOW_MODE = "TRUE_FLOW"
"""The mode stamped on the group (it sits beside True Depth's modes)."""
GROUP_NAME = "True Flow"
GROUP_VERSION = 1
VECTOR_INPUT = "Vector"
DEPTH_INPUT = "Depth"
OUTPUTS = {FORWARD: "Forward", BACKWARD: "Backward"}
EXACT_INPUT = "Input Exact"
BACKGROUND_LIMIT = 1e9
"""Cycles writes 1e10 into Z where rays escape."""
EXACT_DRIVER = DriverSpec(expression="(not blur) and samples == 1 and width <= 0.01",
                          variables=(("blur", "render.use_motion_blur"), ("samples", "cycles.samples"),
                                     ("width", "cycles.filter_width")))
"""1 when the data passes are exact at the pixel centre; True Normal's Input Exact is the same driver."""

_CONSTANTS_FRAME = "Frame constants (keyed per frame: the camera of f-1 and f+1)"
_PIXEL_FRAME = "Per pixel"
_inp = group_input


def keyed_inputs(direction: str) -> tuple[str, ...]:
    """The names of one direction's keyed inputs, in the order of :func:`keyed_values`."""
    title = OUTPUTS[direction]
    return ((f"{title} Active",) + tuple(f"{title} H{row}{column}" for row in range(3) for column in range(3))
            + tuple(f"{title} Depth Gain {axis}" for axis in "XYZ")
            + tuple(f"{title} Depth Offset {axis}" for axis in "XYZ")
            + (f"{title} Clip Start", f"{title} Clip End"))


SIZE_INPUTS = ("Width", "Height")


def keyed_values(pair) -> tuple[float, ...]:
    """A :class:`~depth_node.core.flow.camera_pair.CameraPair` as the values of :func:`keyed_inputs`."""
    return ((float(pair.active),) + tuple(float(value) for value in pair.homography.ravel())
            + tuple(float(value) for value in pair.depth_gain) + tuple(float(value) for value in pair.depth_offset)
            + (float(pair.clip_start), float(pair.clip_end)))


def _keyed(name: str, description: str, default: float = 0.0) -> SocketSpec:
    return SocketSpec(name, f"{description} (keyed per frame by the binding)", default, -1e30, 1e30)


def _inputs() -> tuple[SocketSpec, ...]:
    sockets = [
        SocketSpec(VECTOR_INPUT, "Blender's Vector pass (motion to f-1 and minus the motion to f+1, y up)",
                   0.0, -1e30, 1e30, socket_type="NodeSocketVector", dimensions=4),
        SocketSpec(DEPTH_INPUT, "Cycles' Z pass of the same render (planar depth; 1e10 where rays escaped)",
                   0.0, -1e30, 1e30),
        SocketSpec(EXACT_INPUT, "1 when the pass is exact at the pixel centre: one sample, a pixel filter of at "
                   "most 0.01 px, no motion blur", 0.0, 0.0, 1.0, EXACT_DRIVER),
        _keyed("Width", "Output image width in pixels", 1920.0),
        _keyed("Height", "Output image height in pixels", 1080.0),
    ]
    pieces = {"Active": "1 when the other frame is seen by the same camera and the pass holds this direction",
              "H": "row {row}, column {column} of the other camera's image of this pixel's direction",
              "Depth Gain": "planar depth in the other camera: depth x (gain . p)",
              "Depth Offset": "planar depth in the other camera: + (offset . p)",
              "Clip Start": "the other camera's clip start", "Clip End": "the other camera's clip end"}
    for direction in DIRECTIONS:
        title = OUTPUTS[direction]
        for name in keyed_inputs(direction):
            piece = name.removeprefix(f"{title} ")
            if piece.startswith("H"):
                text = pieces["H"].format(row=piece[1], column=piece[2])
            else:
                text = pieces[piece.rsplit(" ", 1)[0] if piece.startswith("Depth") else piece]
            sockets.append(_keyed(name, f"{title}: {text}", 1.0 if piece == "Active" else 0.0))
    return tuple(sockets)


def _row(graph: GraphBuilder, name: str, names: tuple[str, str, str]) -> SocketRef:
    return graph.combine(name, *(_inp(component) for component in names), frame=_CONSTANTS_FRAME)


def _direction(graph: GraphBuilder, direction: str, pixel: dict[str, SocketRef]) -> SocketRef:
    """One direction's (u, v, in view)."""
    title = OUTPUTS[direction]
    names = keyed_inputs(direction)
    c, f = _CONSTANTS_FRAME, _PIXEL_FRAME
    m, dot = graph.math, (lambda name, a, b: graph.vector_math(name, "DOT_PRODUCT", a, b, output=1, frame=f))
    vector = pixel["vector"]
    if direction == BACKWARD:
        pass_u, pass_v = vector[0], m(f"{title}: -Y", "MULTIPLY", vector[1], -1.0, frame=f)
    else:
        pass_u, pass_v = m(f"{title}: -Z", "MULTIPLY", vector[2], -1.0, frame=f), vector[3]
    homography = [_row(graph, f"{title} H Row {row}", names[1 + 3 * row:4 + 3 * row]) for row in range(3)]
    seen = [dot(f"{title}: (H p)_{axis}", pixel["p"], row) for axis, row in zip("xyz", homography, strict=True)]
    # 0 where the direction is behind the other camera (or has no image: orthographic), as core.flow.infinity
    ahead = m(f"{title}: Sky Ahead", "GREATER_THAN", seen[2], 0.0, frame=f)
    sky_u, sky_v = (m(f"{title} Sky {name}", "MULTIPLY", ahead,
                      m(f"{title}: Sky {name} Anywhere", "SUBTRACT",
                        m(f"{title}: (H p)_{axis} / (H p)_z", "DIVIDE", seen[index], seen[2], frame=f),
                        pixel[axis], frame=f), frame=f)
                    for index, (name, axis) in enumerate((("u", "x"), ("v", "y"))))
    gain, offset = _row(graph, f"{title} Depth Gain", names[10:13]), _row(graph, f"{title} Depth Offset", names[13:16])
    other_depth = m(f"{title}: Depth There", "MULTIPLY_ADD", _inp(DEPTH_INPUT),
                    dot(f"{title}: Gain . p", pixel["p"], gain), dot(f"{title}: Offset . p", pixel["p"], offset),
                    frame=f)
    clip_start, clip_end = _inp(names[16]), _inp(names[17])
    clip_middle = m(f"{title} Clip Middle", "MULTIPLY", m(f"{title} Clip Sum", "ADD", clip_start, clip_end, frame=c),
                    0.5, frame=c)
    clip_half = m(f"{title} Clip Half", "MULTIPLY",
                  m(f"{title} Clip Length", "SUBTRACT", clip_end, clip_start, frame=c), 0.5, frame=c)
    in_clip = m(f"{title}: In Clip Range", "COMPARE", other_depth, clip_middle, clip_half, frame=f)
    # Products with exact 0/1 masks select without mixing: a huge sky flow never leaks into a hit pixel.
    hit, sky = pixel["hit"], pixel["sky"]
    u = m(f"{title} u (hit or sky)", "MULTIPLY_ADD", sky_u, sky, m(f"{title}: Pass u", "MULTIPLY", pass_u, hit,
                                                                    frame=f), frame=f)
    v = m(f"{title} v (hit or sky)", "MULTIPLY_ADD", sky_v, sky, m(f"{title}: Pass v", "MULTIPLY", pass_v, hit,
                                                                    frame=f), frame=f)
    in_front = m(f"{title}: In Front", "MULTIPLY_ADD", hit, m(f"{title}: Clip - Ahead", "SUBTRACT", in_clip, ahead,
                                                              frame=f), ahead, frame=f)
    inside = m(f"{title}: Lands Inside", "MULTIPLY",
               m(f"{title}: Inside X", "COMPARE", m(f"{title}: x + u", "ADD", pixel["x"], u, frame=f),
                 pixel["centre_x"], pixel["half_width"], frame=f),
               m(f"{title}: Inside Y", "COMPARE", m(f"{title}: y + v", "ADD", pixel["y"], v, frame=f),
                 pixel["centre_y"], pixel["half_height"], frame=f), frame=f)
    usable = m(f"{title} Usable", "MULTIPLY", _inp(names[0]), _inp(EXACT_INPUT), frame=c)
    in_view = m(f"{title}: In View", "MULTIPLY", m(f"{title}: Front x Inside", "MULTIPLY", in_front, inside, frame=f),
                usable, frame=f)
    return graph.combine(f"{title} Flow", m(f"{title}: u", "MULTIPLY", u, usable, frame=f),
                         m(f"{title}: v", "MULTIPLY", v, usable, frame=f), in_view, frame=f)


def _pixel(graph: GraphBuilder) -> dict[str, SocketRef]:
    """What both directions share: the pass's components, the pixel centre and whether its ray hit."""
    c, f = _CONSTANTS_FRAME, _PIXEL_FRAME
    m = graph.math
    vector = graph.separate_color("Vector Components", _inp(VECTOR_INPUT), frame=f)
    uv = graph.image_coordinates("Pixel Centres", _inp(DEPTH_INPUT), frame=f)
    u, v, _ = graph.separate("Normalized u, v", uv, frame=f)
    width, height = _inp("Width"), _inp("Height")
    x = m("x", "MULTIPLY_ADD", u, width, -0.5, frame=f)
    y = m("y", "MULTIPLY_ADD", v, m("-Height", "MULTIPLY", height, -1.0, frame=c),
          m("Height - 0.5", "SUBTRACT", height, 0.5, frame=c), frame=f)
    hit = m("Hit (Z < 1e9)", "LESS_THAN", _inp(DEPTH_INPUT), BACKGROUND_LIMIT, frame=f)
    return {
        "vector": vector, "x": x, "y": y, "hit": hit, "p": graph.combine("p = (x, y, 1)", x, y, 1.0, frame=f),
        "sky": m("Sky", "SUBTRACT", 1.0, hit, frame=f),
        "centre_x": m("Centre X", "MULTIPLY_ADD", width, 0.5, -0.5, frame=c),
        "centre_y": m("Centre Y", "MULTIPLY_ADD", height, 0.5, -0.5, frame=c),
        "half_width": m("Half Width", "MULTIPLY", width, 0.5, frame=c),
        "half_height": m("Half Height", "MULTIPLY", height, 0.5, frame=c),
    }


def build_spec() -> GroupSpec:
    """The description of the True Flow group, validated."""
    graph = GraphBuilder()
    pixel = _pixel(graph)
    result = {OUTPUTS[direction]: _direction(graph, direction, pixel) for direction in DIRECTIONS}
    outputs = tuple(SocketSpec(OUTPUTS[direction], f"Flow to frame f{'+' if direction == FORWARD else '-'}1 in "
                               "OpenCV pixels: (u, v, in view)", 0.0, -1e30, 1e30, socket_type="NodeSocketVector",
                               dimensions=3)
                    for direction in DIRECTIONS)
    formula = "hits: the Vector pass (backward (X, -Y), forward (-Z, W)); sky: (H p)_xy / (H p)_z - p"
    spec = GroupSpec(
        name=GROUP_NAME, mode=FLOW_MODE, variant=PINHOLE, version=GROUP_VERSION, inputs=_inputs(), outputs=outputs,
        nodes=tuple(graph.nodes), result=result,
        frames=((_CONSTANTS_FRAME, "The camera of f-1 and f+1 as keyed numbers"), (_PIXEL_FRAME, formula)),
        description=(f"True Flow v{GROUP_VERSION}: {formula}. Third component: in view (inside the other frame's "
                     "image and clip range; occlusion is not tested). 0 where the input is not exact."),
    )
    return checked(spec)


__all__ = ["DEPTH_INPUT", "EXACT_INPUT", "FLOW_MODE", "GROUP_NAME", "GROUP_VERSION", "OUTPUTS", "SIZE_INPUTS",
           "VECTOR_INPUT", "build_spec", "keyed_inputs", "keyed_values"]
