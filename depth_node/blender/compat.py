"""Every Blender 4.5-vs-5.x difference this extension relies on, in one place.

* 4.5 keeps the compositor in ``scene.node_tree`` (enabled by ``scene.use_nodes``);
  5.x in a node-group datablock assigned to ``scene.compositing_node_group``.
* 4.5's File Output node has ``base_path`` and ``file_slots``; 5.x has
  ``directory``, ``file_name`` and ``file_output_items`` and needs
  ``format.media_type = 'IMAGE'`` before an image format can be chosen.
* 5.x has no CompositorNodeComposite; the Render Layers node alone drives the render.
* ``driver_add()`` makes an identity curve on 4.5 (a GENERATOR modifier) but, on 5.x, two Bezier keys
  at (0, 0) and (1, 1) that move values in (0, 1) by 1-2 ulp and snap values within ~1e-4 of 0 or 1
  onto them (measured on 5.0.1/5.2.3: border 0.25 arrived as 0.24999999, so floor(0.25 * 60) gave 14;
  crops were 0.2-1.4 % off). :func:`exact_driver_curve` removes both: the value passes unchanged.
* 5.2 defaults ``render.compositor_device`` to GPU; without a usable GPU that
  doubles compositing time (measured: 124 vs 61 ms for a 1080p EXR pass).
"""

from __future__ import annotations

from collections.abc import Iterator

import bpy

BLENDER_VERSION: tuple[int, int, int] = tuple(bpy.app.version)
USES_COMPOSITING_NODE_GROUP = BLENDER_VERSION >= (5, 0, 0)
GROUP_NODE_IDNAME = "CompositorNodeGroup"
COMPOSITOR_TREE_IDNAME = "CompositorNodeTree"


def compositor_tree(scene: bpy.types.Scene, create: bool = True) -> bpy.types.NodeTree | None:
    """The scene's compositor node tree; with ``create`` make and enable one if missing."""
    if USES_COMPOSITING_NODE_GROUP:
        tree = scene.compositing_node_group
        if tree is None and create:
            tree = bpy.data.node_groups.new(f"{scene.name} Compositor", COMPOSITOR_TREE_IDNAME)
            scene.compositing_node_group = tree
    else:
        if create and not scene.use_nodes:
            scene.use_nodes = True
        tree = scene.node_tree
    if tree is not None and create:
        scene.render.use_compositing = True
    return tree


def fresh_compositor_tree(scene: bpy.types.Scene) -> bpy.types.NodeTree:
    """An empty, enabled compositor for ``scene`` (a new group on 5.x; the old nodes removed on 4.5)."""
    if USES_COMPOSITING_NODE_GROUP:
        scene.compositing_node_group = None
    tree = compositor_tree(scene, create=True)
    tree.nodes.clear()
    return tree


def use_cpu_compositor(scene: bpy.types.Scene) -> None:
    """Composite ``scene`` on the CPU (where every result of this project is verified)."""
    if hasattr(scene.render, "compositor_device"):
        scene.render.compositor_device = "CPU"


def compositor_trees() -> Iterator[tuple[bpy.types.Scene, bpy.types.NodeTree]]:
    """Every (scene, compositor tree) pair of the open file."""
    for scene in bpy.data.scenes:
        tree = compositor_tree(scene, create=False)
        if tree is not None:
            yield scene, tree


def exact_driver_curve(fcurve: bpy.types.FCurve) -> None:
    """Make a driver's F-curve pass the driver's value through unchanged (no keys, no modifiers)."""
    fcurve.keyframe_points.clear()
    for modifier in list(fcurve.modifiers):
        fcurve.modifiers.remove(modifier)


def set_output_directory(node: bpy.types.Node, directory: str) -> None:
    """The folder a File Output node writes into."""
    if USES_COMPOSITING_NODE_GROUP:
        node.directory = directory
    else:
        node.base_path = directory


def new_exr_file_output(
    tree: bpy.types.NodeTree, directory: str, patterns: list[str], name: str = "File Output"
) -> tuple[bpy.types.Node, list[bpy.types.NodeSocket]]:
    """A File Output node writing one single-channel float32 EXR per pattern.

    Each pattern is a file name relative to ``directory``; ``#`` marks the frame
    number (e.g. ``depth_####`` gives ``depth_0001.exr``). Returns the node and
    its input sockets, in the order of ``patterns``.
    """
    node = tree.nodes.new("CompositorNodeOutputFile")
    node.name = name
    node.label = name
    image_format = node.format
    set_output_directory(node, directory)
    if USES_COMPOSITING_NODE_GROUP:
        node.file_name = ""
        image_format.media_type = "IMAGE"
    else:
        node.file_slots.clear()
    image_format.file_format = "OPEN_EXR"
    image_format.color_depth = "32"
    image_format.color_mode = "BW"
    image_format.exr_codec = "ZIP"
    for pattern in patterns:
        if USES_COMPOSITING_NODE_GROUP:
            node.file_output_items.new("FLOAT", pattern)
        else:
            node.file_slots.new(pattern)
    return node, [node.inputs[index] for index in range(len(patterns))]
