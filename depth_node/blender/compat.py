"""Every Blender 4.5-vs-5.x difference this extension relies on, in one place.

* 4.5 keeps the compositor in ``scene.node_tree`` (enabled by ``scene.use_nodes``);
  5.0-5.2 in a node-group datablock assigned to ``scene.compositing_node_group``; 5.3 has a stack of
  compositor effects (``scene.compositor_effects``, each with a ``node_group``) and deprecates
  ``compositing_node_group`` (it warns on every read and write; it now means the active effect's group).
* 4.5's File Output node has ``base_path`` and ``file_slots``; 5.x has
  ``directory``, ``file_name`` and ``file_output_items`` and needs
  ``format.media_type = 'IMAGE'`` before an image format can be chosen.
* 5.x has no CompositorNodeComposite; the Render Layers node alone drives the render.
* ``driver_add()`` makes an identity curve on 4.5 (a GENERATOR modifier) but, on 5.x, two Bezier keys
  at (0, 0) and (1, 1) that move values in (0, 1) by 1-2 ulp and snap values within ~1e-4 of 0 or 1
  onto them (measured on 5.0.1/5.2.3: border 0.25 arrived as 0.24999999, so floor(0.25 * 60) gave 14;
  crops were 0.2-1.4 % off). :func:`exact_driver_curve` removes both: the value passes unchanged.
* The Geometry Nodes Raycast node's attribute mapping is a ``mapping`` property on 4.5 and an "Interpolation"
  menu input from 5.0 on (:func:`sample_raycast_attribute_at_nearest_corner`).
* 5.2 defaults ``render.compositor_device`` to GPU; without a usable GPU that
  doubles compositing time (measured: 124 vs 61 ms for a 1080p EXR pass).
"""

from __future__ import annotations

from collections.abc import Iterator

import bpy

BLENDER_VERSION: tuple[int, int, int] = tuple(bpy.app.version)
USES_COMPOSITING_NODE_GROUP = BLENDER_VERSION >= (5, 0, 0)
USES_EFFECT_STACK = "compositor_effects" in bpy.types.Scene.bl_rna.properties
EFFECT_NAME = "Scene Effect"
"""The name Blender 5.3 gives the effect it makes for a file's single compositor."""
GROUP_NODE_IDNAME = "CompositorNodeGroup"
COMPOSITOR_TREE_IDNAME = "CompositorNodeTree"


def _new_tree(scene: bpy.types.Scene, passthrough: bool = True) -> bpy.types.NodeTree:
    tree = bpy.data.node_groups.new(f"{scene.name} Compositor", COMPOSITOR_TREE_IDNAME)
    if USES_EFFECT_STACK:
        tree.allow_usage_in_scene_compositor_effect = True
    if USES_EFFECT_STACK and passthrough:
        # As Blender's own "New" button: an effect without an Image input and output stops the effects
        # after it from running (measured on 5.3.0), so the image passes through. (A job's only effect has
        # none: the Image input makes 5.3 render the scene even when nothing else needs it, 0.5-25 s at 1080p.)
        for in_out in ("INPUT", "OUTPUT"):
            tree.interface.new_socket("Image", in_out=in_out, socket_type="NodeSocketColor")
        group_input, group_output = tree.nodes.new("NodeGroupInput"), tree.nodes.new("NodeGroupOutput")
        group_output.location = (600.0, 0.0)
        tree.links.new(group_input.outputs[0], group_output.inputs[0])
    return tree


def compositor_tree(scene: bpy.types.Scene, create: bool = True, passthrough: bool = True
                    ) -> bpy.types.NodeTree | None:
    """The scene's compositor node tree (5.3: the active effect's); with ``create`` make and enable one if missing."""
    if USES_EFFECT_STACK:
        effects = scene.compositor_effects
        effect = effects.active
        tree = effect.node_group if effect is not None else None
        if tree is None and create:
            if effect is None:
                effect = effects.new(EFFECT_NAME)
            tree = effect.node_group = _new_tree(scene, passthrough)
    elif USES_COMPOSITING_NODE_GROUP:
        tree = scene.compositing_node_group
        if tree is None and create:
            tree = scene.compositing_node_group = _new_tree(scene)
    else:
        if create and not scene.use_nodes:
            scene.use_nodes = True
        tree = scene.node_tree
    if tree is not None and create:
        scene.render.use_compositing = True
    return tree


def fresh_compositor_tree(scene: bpy.types.Scene) -> bpy.types.NodeTree:
    """A new, enabled compositor for ``scene``, the only one that runs (for a job's throw-away copy)."""
    if USES_EFFECT_STACK:
        scene.compositor_effects.clear()
    elif USES_COMPOSITING_NODE_GROUP:
        scene.compositing_node_group = None
    tree = compositor_tree(scene, create=True, passthrough=False)
    if not USES_COMPOSITING_NODE_GROUP:
        tree.nodes.clear()  # 4.5 keeps one tree per scene: empty it
    return tree


def tree_beside_user_compositor(scene: bpy.types.Scene) -> bpy.types.NodeTree:
    """A tree a job adds its nodes to while the beauty stays what the user's compositor makes of the render.

    Measured on 4.5-5.3: nodes added beside the user's (a Render Layers node, File Output) leave the written
    beauty bit-identical, and a tree without an output node (Composite / Group Output) leaves the raw render,
    as compositing off does. The user's group is copied first on 5.x (another scene may use it); on 5.3 it is
    the first effect that renders: an effect without an Image input and output stops the effects after it
    (measured on 5.3.0), so a job's effect appended after such a one would never run.
    """
    if USES_EFFECT_STACK:
        rendering = [effect for effect in scene.compositor_effects
                     if effect.node_group is not None and effect.enable_for_render]
        if scene.render.use_compositing and rendering:
            rendering[0].node_group = rendering[0].node_group.copy()
            return rendering[0].node_group
        return fresh_compositor_tree(scene)
    user_tree = compositor_tree(scene, create=False) if scene.render.use_compositing else None
    if user_tree is None or (not USES_COMPOSITING_NODE_GROUP and not scene.use_nodes):
        return fresh_compositor_tree(scene)
    if USES_COMPOSITING_NODE_GROUP:
        scene.compositing_node_group = user_tree.copy()
        return scene.compositing_node_group
    return user_tree


def scene_compositor_trees(scene: bpy.types.Scene) -> list[bpy.types.NodeTree]:
    """Every compositor tree ``scene`` runs (5.3: each effect's group, once)."""
    if USES_EFFECT_STACK:
        groups = [effect.node_group for effect in scene.compositor_effects if effect.node_group is not None]
        return list(dict.fromkeys(groups))
    tree = compositor_tree(scene, create=False)
    return [] if tree is None else [tree]


def use_cpu_compositor(scene: bpy.types.Scene) -> None:
    """Composite ``scene`` on the CPU (where every result of this project is verified)."""
    if hasattr(scene.render, "compositor_device"):
        scene.render.compositor_device = "CPU"


def compositor_trees() -> Iterator[tuple[bpy.types.Scene, bpy.types.NodeTree]]:
    """Every (scene, compositor tree) pair of the open file."""
    for scene in bpy.data.scenes:
        for tree in scene_compositor_trees(scene):
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
    tree: bpy.types.NodeTree, directory: str, patterns: list[str], name: str = "File Output", rgb: bool = False
) -> tuple[bpy.types.Node, list[bpy.types.NodeSocket]]:
    """A File Output node writing one single-channel float32 EXR per pattern (``rgb``: channels R, G, B of a
    colour linked in).

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
    image_format.color_mode = "RGB" if rgb else "BW"
    image_format.exr_codec = "ZIP"
    for pattern in patterns:
        if USES_COMPOSITING_NODE_GROUP:
            node.file_output_items.new("RGBA" if rgb else "FLOAT", pattern)
        else:
            node.file_slots.new(pattern)
    return node, [node.inputs[index] for index in range(len(patterns))]


def vector_as_colour(tree: bpy.types.NodeTree, vector: bpy.types.NodeSocket, label: str,
                     location: tuple[float, float]) -> bpy.types.NodeSocket:
    """``vector`` as a colour (R, G, B = x, y, z) for a File Output's RGB EXR slot: a vector linked straight into
    one is written as channels X, Y, Z on 4.5-5.2 and R, G, B on 5.3 (measured with the True Normal node's
    outputs); Separate XYZ -> Combine Color writes R, G, B on every version."""
    separate = tree.nodes.new("ShaderNodeSeparateXYZ")
    combine = tree.nodes.new("CompositorNodeCombineColor")
    separate.location, combine.location = location, (location[0] + 170.0, location[1])
    combine.label = label
    tree.links.new(vector, separate.inputs[0])
    for channel in range(3):
        tree.links.new(separate.outputs[channel], combine.inputs[channel])
    combine.inputs[3].default_value = 1.0
    return combine.outputs[0]


def new_multilayer_file_output(tree: bpy.types.NodeTree, pattern: str, layers: dict[str, int],
                               name: str = "Passes Output") -> tuple[bpy.types.Node, list[bpy.types.NodeSocket]]:
    """A File Output node writing one float32 multilayer EXR per frame (``pattern``: ``passes_####``), with a
    layer per name of ``layers`` (name -> the vector's components: Vector 4, Normal 3); its folder is set with
    :func:`set_multilayer_directory`.

    A vector linked into a layer is written as ``<layer>.X`` ... (the Vector pass's 4 components, the Normal
    pass's 3, measured on 4.5-5.3); 4.5's single-layer RGBA slot instead permutes them (measured: R held W), so
    flow never uses one.
    """
    node = tree.nodes.new("CompositorNodeOutputFile")
    node.name = node.label = name
    use_multilayer_exr(node.format)
    if USES_COMPOSITING_NODE_GROUP:
        node.file_name = pattern
        for layer, components in layers.items():
            node.file_output_items.new("VECTOR", layer).vector_socket_dimensions = components
    else:
        node.layer_slots.clear()
        for layer in layers:
            node.layer_slots.new(layer)
    return node, [node.inputs[index] for index in range(len(layers))]


def use_multilayer_exr(image_format: bpy.types.ImageFormatSettings) -> None:
    """Make ``image_format`` (a File Output node's, or ``scene.render.image_settings``) a float32 ZIP multilayer
    EXR, every pass in its own channels; 5.0 chooses the media type before the format."""
    if USES_COMPOSITING_NODE_GROUP:
        image_format.media_type = "MULTI_LAYER_IMAGE"
    image_format.file_format = "OPEN_EXR_MULTILAYER"
    image_format.color_depth = "32"
    image_format.exr_codec = "ZIP"


def set_multilayer_directory(node: bpy.types.Node, directory: str, pattern: str) -> None:
    """The folder of a :func:`new_multilayer_file_output` node (4.5 keeps the file name in its base path)."""
    if USES_COMPOSITING_NODE_GROUP:
        set_output_directory(node, directory)
    else:
        node.base_path = f"{directory}/{pattern}"


def sample_raycast_attribute_at_nearest_corner(node: bpy.types.Node) -> None:
    """Make a Raycast node's Attribute output the value at the hit's nearest corner (a face's own value, for a
    face attribute): a property on 4.5, the "Interpolation" menu input on 5.0-5.3 (checked on each)."""
    if "Interpolation" in node.inputs:
        node.inputs["Interpolation"].default_value = "Nearest"
    else:
        node.mapping = "NEAREST"


COMPOSITOR_KEEPS_VECTOR_W = BLENDER_VERSION >= (5, 1, 0)
"""Whether the compositor hands a node the Vector pass's 4th component (W: the forward flow's y). Measured with
Separate Color on the Render Layers' Vector, inside a group and outside: 5.1.2, 5.2.3 and 5.3.0 give W as Alpha;
4.5.15 and 5.0.1 give 1 (a File Output linked to the pass itself still writes all four)."""

VECTOR_PASS_EXACT_SINCE = {"PERSP": (4, 5, 0), "ORTHO": (5, 2, 0), "PANO": (4, 5, 0)}
"""The first version whose Vector pass is exact at one sample, per camera type (measured against the tracked
mesh hit: orthographic cameras are off by 3.5-4.1 px median, 6.6-14 px max on 4.5.15, 5.0.1 and 5.1.2, exact
within 1.5e-5 px on 5.2.3 and 5.3.0; every panorama type, in its own image, median 2-16e-6 px on 4.5.15, 5.0.1
and 5.3.0, 99.9-100 % within 1e-3 px). Custom (OSL) cameras are not measured: flow refuses them."""
_CAMERA_NAMES = {"PERSP": "perspective", "ORTHO": "orthographic", "PANO": "panoramic"}


def vector_pass_refusal(camera_type: str) -> str | None:
    """Why this Blender's Vector pass cannot give exact flow for a camera type (None: it can)."""
    since = VECTOR_PASS_EXACT_SINCE.get(camera_type)
    version, name = ".".join(map(str, BLENDER_VERSION)), _CAMERA_NAMES.get(camera_type, camera_type.lower())
    if since is None:
        return f"flow for {name} cameras is not measured yet: only perspective, orthographic and panoramic ones"
    if BLENDER_VERSION < since:
        return (f"Blender {version}'s Vector pass is wrong for {name} cameras (measured: 3.5-4.1 px median error); "
                f"it is exact from {'.'.join(map(str, since[:2]))} on")
    return None
