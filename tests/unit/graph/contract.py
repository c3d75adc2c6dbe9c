"""What every group description keeps, checked the same way for each group (the builder relies on it)."""

from __future__ import annotations

import re

from depth_node.core.graph.nodes import GROUP_INPUT, SocketRef


def check_typed_contract(spec, per_pixel_inputs: set[str]) -> None:
    """Texts, ordered float ranges, drivers whose expression reads exactly their variables, every node labelled
    with its name and in the note that says what it computes: "Per pixel" for the nodes that depend on a
    per-pixel input (or Image Coordinates), the other note for the once-per-frame constants."""
    for socket in spec.inputs + spec.outputs:
        assert isinstance(socket.name, str) and socket.name and isinstance(socket.description, str)
        assert len(socket.description) > 10, socket.name
        assert socket.socket_type in ("NodeSocketFloat", "NodeSocketVector")
        assert (socket.dimensions > 1) == (socket.socket_type == "NodeSocketVector"), socket.name
        assert all(isinstance(value, float) for value in (socket.default, socket.min_value, socket.max_value))
        assert socket.min_value <= socket.default <= socket.max_value, socket.name
    for socket in spec.camera_inputs:
        names = [name for name, _ in socket.driver.variables]
        assert names and set(re.findall(r"[A-Za-z_]\w*", socket.driver.expression)) - {"and", "or", "not"} == set(
            names), socket.name
    (constants, constants_note), (per_pixel, per_pixel_note) = spec.frames
    assert per_pixel == "Per pixel" and all(isinstance(text, str) and len(text) > 8
                                            for text in (constants, constants_note, per_pixel_note))
    varies: set[str] = set()
    for node in spec.nodes:
        assert isinstance(node.label, str) and node.label == node.name, "every node is labelled with its name"
        sources = [value for _, value in node.inputs if isinstance(value, SocketRef)]
        if node.bl_idname == "CompositorNodeImageCoordinates" or any(
                source.node in varies or (source.node == GROUP_INPUT and source.socket in per_pixel_inputs)
                for source in sources):
            varies.add(node.name)
        assert node.frame == (per_pixel if node.name in varies else constants), node.name
    assert all(ref.node in varies for ref in spec.result.values()), "every output varies per pixel"
    assert isinstance(spec.description, str) and f"v{spec.version}" in spec.description
    assert all(socket.default == 0.0 for socket in spec.outputs), "an unconnected node gives 0"
