"""Declarative description of the "True Normal" compositor node group. Imports no bpy.

The group turns Cycles' Normal pass (world axes; see :mod:`depth_node.core.normals.normal_pass`) into this
product's unit normals (:mod:`depth_node.core.normals`), with no Python at render time::

    Normal        R n / |n|   in the OpenCV camera frame of the frame's camera (x right, y down, z forward)
    Normal World  n / |n|     Blender's world axes

``R`` (world to OpenCV camera: the transpose of the camera-to-world rotation, its y and z rows negated) comes
from the camera of the current frame, markers and parents included, which a simple-expression driver cannot
compose: the binding keys its nine numbers per frame (:mod:`depth_node.blender.normals.node`). ``Input Exact`` is a
driver: 0 when motion blur or more than one sample (or a pixel filter wider than 0.01 px) makes the pass an
average of several surfaces' normals. Where it is 0, and where the pass is 0 (the background), both give 0.
"""

from __future__ import annotations

import numpy as np

from .nodes import GraphBuilder, SocketRef, SocketSpec, group_input
from .true_depth import PINHOLE, GroupSpec, checked
from .true_flow import EXACT_DRIVER

NORMAL_MODE = "TRUE_NORMAL"
"""The mode stamped on the group (it sits beside True Depth's modes and True Flow's)."""
GROUP_NAME = "True Normal"
GROUP_VERSION = 1
NORMAL_INPUT = "Normal"
EXACT_INPUT = "Input Exact"
CAMERA_OUTPUT = "Normal"
WORLD_OUTPUT = "Normal World"
ROTATION_INPUTS = tuple(f"R{row}{column}" for row in range(3) for column in range(3))
"""The keyed world-to-camera rotation, row by row (the order of :func:`keyed_values`)."""

_CONSTANTS_FRAME = "Frame constants (keyed per frame: the camera's rotation)"
_PIXEL_FRAME = "Per pixel"


def keyed_values(camera_to_world_opencv: object) -> tuple[float, ...]:
    """The values of :data:`ROTATION_INPUTS` for a camera pose (the sidecar's ``camera_to_world_opencv``):
    its rotation's transpose, row by row."""
    rotation = np.asarray(camera_to_world_opencv)[:3, :3]
    return tuple(float(value) for value in rotation.T.ravel())


def _inputs() -> tuple[SocketSpec, ...]:
    identity = np.eye(3).ravel()
    return (
        SocketSpec(NORMAL_INPUT, "Cycles' Normal pass (world axes; 0 where rays escaped)", 0.0, -1e30, 1e30,
                   socket_type="NodeSocketVector", dimensions=3),
        SocketSpec(EXACT_INPUT, "1 when the pass is exact at the pixel centre: one sample, a pixel filter of at "
                   "most 0.01 px, no motion blur", 0.0, 0.0, 1.0, EXACT_DRIVER),
        *(SocketSpec(name, f"Row {name[1]}, column {name[2]} of the rotation from world axes to the OpenCV camera "
                     "frame (keyed per frame by the binding)", float(default), -1.0, 1.0)
          for name, default in zip(ROTATION_INPUTS, identity, strict=True)),
    )


def build_spec() -> GroupSpec:
    """The description of the True Normal group, validated."""
    graph = GraphBuilder()
    c, f = _CONSTANTS_FRAME, _PIXEL_FRAME
    normal = group_input(NORMAL_INPUT)
    # exact / |n|: Blender's safe division gives 0 for the background's 0 vector, and 0 where not exact
    length = graph.vector_math("|n|", "LENGTH", normal, output=1, frame=f)
    scale = graph.math("Exact / |n|", "DIVIDE", group_input(EXACT_INPUT), length, frame=f)
    rows = [graph.combine(f"R Row {row}", *(group_input(name) for name in ROTATION_INPUTS[3 * row:3 * row + 3]),
                          frame=c) for row in range(3)]
    camera = [graph.math(f"Camera {axis}", "MULTIPLY",
                         graph.vector_math(f"R{row} . n", "DOT_PRODUCT", rows[row], normal, output=1, frame=f),
                         scale, frame=f)
              for row, axis in enumerate("xyz")]
    world = [graph.math(f"World {axis}", "MULTIPLY", component, scale, frame=f)
             for axis, component in zip("xyz", graph.separate("n x, y, z", normal, frame=f), strict=True)]
    result: dict[str, SocketRef] = {CAMERA_OUTPUT: graph.combine("Camera Normal", *camera, frame=f),
                                    WORLD_OUTPUT: graph.combine("World Normal", *world, frame=f)}
    outputs = (SocketSpec(CAMERA_OUTPUT, "Unit normal in the OpenCV camera frame (x right, y down, z forward); 0 "
                          "where there is no surface or the pass is not exact", 0.0, -1.0, 1.0,
                          socket_type="NodeSocketVector", dimensions=3),
               SocketSpec(WORLD_OUTPUT, "Unit normal in Blender's world axes; 0 where there is no surface or the "
                          "pass is not exact", 0.0, -1.0, 1.0, socket_type="NodeSocketVector", dimensions=3))
    formula = "camera: R n / |n|; world: n / |n|; 0 where |n| = 0"
    spec = GroupSpec(
        name=GROUP_NAME, mode=NORMAL_MODE, variant=PINHOLE, version=GROUP_VERSION, inputs=_inputs(),
        outputs=outputs, nodes=tuple(graph.nodes), result=result,
        frames=((_CONSTANTS_FRAME, "The world-to-camera rotation as keyed numbers"), (_PIXEL_FRAME, formula)),
        description=(f"True Normal v{GROUP_VERSION}: {formula}. The pass's own normal: bump and normal maps "
                     "included (the render and prepare jobs take them out). 0 where the input is not exact."),
    )
    return checked(spec)
