"""A strict interpreter of node-group descriptions (core/graph/): Blender's node maths on numpy arrays."""

from __future__ import annotations

import numpy as np

from depth_node.core.graph.nodes import GROUP_INPUT, SocketRef

# Blender's node maths (float64 here); DIVIDE is Blender's safe division.
MATH = {
    "ADD": lambda a, b, c: a + b,
    "SUBTRACT": lambda a, b, c: a - b,
    "MULTIPLY": lambda a, b, c: a * b,
    "DIVIDE": lambda a, b, c: np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape), where=np.asarray(b) != 0),
    "FLOOR": lambda a, b, c: np.floor(a),
    "MAXIMUM": lambda a, b, c: np.maximum(a, b),
    "LESS_THAN": lambda a, b, c: (np.asarray(a) < b).astype(float),
    "COMPARE": lambda a, b, c: (np.abs(np.asarray(a) - b) <= max(c, 1e-5)).astype(float),
    "MULTIPLY_ADD": lambda a, b, c: a * b + c,
    "MINIMUM": lambda a, b, c: np.minimum(a, b),
    "SQRT": lambda a, b, c: np.sqrt(np.maximum(a, 0.0)),
    "GREATER_THAN": lambda a, b, c: (np.asarray(a) > b).astype(float),
    "ABSOLUTE": lambda a, b, c: np.abs(a),
    "SINE": lambda a, b, c: np.sin(a),
    "COSINE": lambda a, b, c: np.cos(a),
}


VECTOR_MATH = {
    "MULTIPLY_ADD": lambda a, b, c: a * b + c,
    "ADD": lambda a, b, c: a + b,
    "COSINE": lambda a, b, c: np.cos(a),
    "TANGENT": lambda a, b, c: np.tan(a),
    "LENGTH": lambda a, b, c: np.linalg.norm(a, axis=-1),
    "DOT_PRODUCT": lambda a, b, c: np.sum(np.asarray(a) * b, axis=-1),
}


SCALAR_VECTOR_MATH = {"LENGTH", "DOT_PRODUCT"}
"""Vector Math operations whose result is the Value output (socket 1); the others give the Vector (socket 0)."""


def evaluate(spec, inputs: dict, shape: tuple[int, int], view: str = "left", results: bool = False):
    """Run the spec's nodes on numpy arrays (image coordinates of an HxW image) for one stereo ``view``.

    Each node type has only the output sockets Blender gives it (a reference to another socket fails). Returns
    the one result, or with ``results`` every group output by name.
    """
    height, width = shape
    outputs: dict[str, dict[int, object]] = {}

    def resolve(value):
        if not isinstance(value, SocketRef):
            return value
        if value.node == GROUP_INPUT:
            return inputs[value.socket]
        assert value.socket in outputs[value.node], f"{value.node} has no output {value.socket!r}"
        return outputs[value.node][value.socket]

    for node in spec.nodes:
        args = dict(node.inputs)
        operation = dict(node.properties).get("operation")
        # an unlinked, unset input keeps the node's default: 0.5 on a Math node, 0 elsewhere (bpy 4.5.15, 5.0.1)
        unset = 0.5 if node.bl_idname == "ShaderNodeMath" else 0.0
        a, b, c = (resolve(args.get(i, unset)) for i in range(3))
        if node.bl_idname == "ShaderNodeMath":
            outputs[node.name] = {0: MATH[operation](a, b, c)}
        elif node.bl_idname == "CompositorNodeSwitchView":
            outputs[node.name] = {0: a if view == "left" else b}  # a render without views passes the left input
        elif node.bl_idname == "CompositorNodeSeparateColor":
            assert a.shape[-1] == 4, "the Vector pass has four components"
            outputs[node.name] = {channel: np.asarray(a)[..., channel] for channel in range(4)}
        elif node.bl_idname == "ShaderNodeSeparateXYZ":
            outputs[node.name] = {axis: np.asarray(a)[..., axis] for axis in range(3)}
        elif node.bl_idname == "CompositorNodeImageCoordinates":
            assert [index for index, _ in node.inputs] == [0], "the node's one input is the Image"
            # Normalized output: (i + 0.5) / W, with v growing upwards (row 0 of the array is the top row).
            u = (np.arange(width) + 0.5) / width
            v = ((np.arange(height) + 0.5) / height)[::-1]
            uu, vv = np.meshgrid(u, v)
            outputs[node.name] = {1: np.stack([uu, vv, np.zeros_like(uu)], axis=-1)}
        elif node.bl_idname == "ShaderNodeCombineXYZ":
            outputs[node.name] = {0: np.stack(np.broadcast_arrays(a, b, c), axis=-1)}
        elif node.bl_idname == "ShaderNodeVectorMath":
            outputs[node.name] = {1 if operation in SCALAR_VECTOR_MATH else 0: VECTOR_MATH[operation](a, b, c)}
        else:
            raise AssertionError(f"interpreter lacks {node.bl_idname} {operation}")
    if results:
        return {name: resolve(ref) for name, ref in spec.result.items()}
    (ref,) = spec.result.values()
    return resolve(ref)


