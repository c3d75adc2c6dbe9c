"""Blender UI: the Add-menu entries, the operator, the sidebar panel and the warning handlers."""

from __future__ import annotations

import textwrap

import bpy
from bpy.app.handlers import persistent

from ..core.camera import UnsupportedCameraError
from ..core.graph.true_depth import MODE_PROPERTY
from ..core.graph.true_flow import FLOW_MODE
from ..core.graph.true_normal import NORMAL_MODE
from ..core.modes import DISTANCE_TO_DEPTH, MODE_TABLE
from . import compat
from .binding import (
    add_true_depth_node,
    bound_scene,
    camera_segments,
    check_cameras,
    node_problem,
    refresh_bindings,
    scene_calibration,
    source_notes,
    upgrade_groups,
    views_problem,
)
from .flow.node import add_true_flow_node, flow_problem, refresh_flow_bindings
from .group import true_depth_nodes, true_flow_nodes, true_normal_nodes
from .normals.node import add_true_normal_node, normal_problem, refresh_normal_bindings
from .views import views_nodes

WARNING_COLOR = (0.75, 0.12, 0.1)
WARNING_LABEL = "NOT EXACT (see sidebar)"
_MODE_ITEMS = tuple((mode.id, mode.label, mode.description) for mode in MODE_TABLE.values())


def _in_compositor(context: bpy.types.Context) -> bool:
    space = context.space_data
    return space is not None and space.type == "NODE_EDITOR" and space.tree_type == compat.COMPOSITOR_TREE_IDNAME


class _AddNode:
    """What adding either node shares: where it may be added, and where it lands."""

    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        # As Blender's own NodeAddOperator: a compositor editor with a tree that may be edited (not linked).
        if not _in_compositor(context):
            return False
        tree = context.space_data.edit_tree
        return tree is not None and tree.is_editable

    @staticmethod
    def store_mouse_cursor(context: bpy.types.Context, event: bpy.types.Event) -> None:
        """Put the node editor's cursor under the mouse (or at the view centre), as Blender's add operators do."""
        space = context.space_data
        if context.region is not None and context.region.type == "WINDOW":
            space.cursor_location_from_region(event.mouse_region_x, event.mouse_region_y)
        else:
            space.cursor_location = space.edit_tree.view_center

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        self.store_mouse_cursor(context, event)
        return self.execute(context)

    def add(self, context: bpy.types.Context, location: tuple[float, float],
            tree: bpy.types.NodeTree) -> bpy.types.Node:
        raise NotImplementedError

    def execute(self, context: bpy.types.Context) -> set[str]:
        space = context.space_data
        tree = space.edit_tree
        try:
            node = self.add(context, tuple(space.cursor_location), tree)
        except UnsupportedCameraError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        for other in tree.nodes:
            other.select = False
        node.select = True
        tree.nodes.active = node
        return {"FINISHED"}


class NODE_OT_true_depth_add(_AddNode, bpy.types.Operator):
    """Add a True Depth node bound to this scene's camera"""

    bl_idname = "node.true_depth_add"
    bl_label = "True Depth"

    mode: bpy.props.EnumProperty(name="Mode", items=_MODE_ITEMS, default=DISTANCE_TO_DEPTH)

    def add(self, context: bpy.types.Context, location: tuple[float, float],
            tree: bpy.types.NodeTree) -> bpy.types.Node:
        return add_true_depth_node(context.scene, mode=self.mode, location=location, tree=tree)


class NODE_OT_true_flow_add(_AddNode, bpy.types.Operator):
    """Add a True Flow node: the Vector pass as forward and backward flow in OpenCV pixels, bound to this scene's
    cameras"""

    bl_idname = "node.true_flow_add"
    bl_label = "True Flow"

    def add(self, context: bpy.types.Context, location: tuple[float, float],
            tree: bpy.types.NodeTree) -> bpy.types.Node:
        return add_true_flow_node(context.scene, location=location, tree=tree)


class NODE_OT_true_normal_add(_AddNode, bpy.types.Operator):
    """Add a True Normal node: the Normal pass as unit normals in the OpenCV camera frame and the world, bound to
    this scene's cameras"""

    bl_idname = "node.true_normal_add"
    bl_label = "True Normal"

    def add(self, context: bpy.types.Context, location: tuple[float, float],
            tree: bpy.types.NodeTree) -> bpy.types.Node:
        return add_true_normal_node(context.scene, location=location, tree=tree)


def draw_add_menu(menu: bpy.types.Menu, context: bpy.types.Context) -> None:
    if not _in_compositor(context):
        return
    layout = menu.layout
    layout.separator()
    for mode, label, _ in _MODE_ITEMS:
        layout.operator(NODE_OT_true_depth_add.bl_idname, text=f"True Depth ({label})", icon="CAMERA_DATA").mode = mode
    layout.operator(NODE_OT_true_flow_add.bl_idname, text="True Flow", icon="ORIENTATION_VIEW")
    layout.operator(NODE_OT_true_normal_add.bl_idname, text="True Normal", icon="NORMALS_FACE")


class NODE_PT_true_depth(bpy.types.Panel):
    """Sidebar panel: which scene and camera drive the active True Depth node, and its K."""

    bl_space_type = "NODE_EDITOR"
    bl_region_type = "UI"
    bl_category = "True Depth"
    bl_label = "True Depth"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        if not _in_compositor(context) or context.space_data.edit_tree is None:
            return False
        node = context.space_data.edit_tree.nodes.active
        return node is not None and getattr(node, "node_tree", None) is not None and MODE_PROPERTY in node.node_tree

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        tree = context.space_data.edit_tree
        node = tree.nodes.active
        if node.node_tree[MODE_PROPERTY] == FLOW_MODE:
            self.draw_keyed(node, "True Flow: (u, v, in view) in OpenCV pixels", flow_problem(node),
                            "In view is not the render job's valid: whether another surface hides the point in "
                            "the other frame needs the scene's geometry (true-depth render --outputs flow).")
            return
        if node.node_tree[MODE_PROPERTY] == NORMAL_MODE:
            self.draw_keyed(node, "True Normal: unit normals, OpenCV camera frame", normal_problem(node),
                            "The pass's normal: bump and normal maps included (the render and prepare jobs "
                            "write the mesh's own normal).")
            return
        scene = bound_scene(node, tree)
        layout.label(text=f"Mode: {node.node_tree[MODE_PROPERTY]}")
        if scene is None:
            layout.label(text="Not bound to a scene", icon="ERROR")
            return
        layout.label(text=f"Scene: {scene.name}")
        problem = node_problem(node, tree)
        if problem is not None:
            for line in textwrap.wrap(problem, 48):
                layout.label(text=line, icon="ERROR")
            return
        segments = camera_segments(scene)
        camera = check_cameras(scene, segments)[0]
        calibration = scene_calibration(scene, segments)
        kind = f"calibrated {calibration.model}" if calibration is not None else camera.model.label
        layout.label(text=f"Camera: {scene.camera.name} ({kind})  {camera.width}x{camera.height}")
        if camera.has_matrix:
            K = camera.matrix()
            layout.label(text=f"fx {K[0, 0]:.3f}  fy {K[1, 1]:.3f}")
            layout.label(text=f"cx {K[0, 2]:.3f}  cy {K[1, 2]:.3f}")
        layout.label(text=f"Group: {node.node_tree.name}")
        for note in source_notes(node, tree, scene):
            for index, line in enumerate(textwrap.wrap(note, 48)):
                layout.label(text=line, icon="INFO" if index == 0 else "BLANK1")


    def draw_keyed(self, node: bpy.types.Node, title: str, problem: str | None, note: str) -> None:
        layout = self.layout
        layout.label(text=title)
        for index, line in enumerate(textwrap.wrap(problem or "Exact at every pixel centre.", 48)):
            layout.label(text=line, icon=("ERROR" if problem else "CHECKMARK") if index == 0 else "BLANK1")
        for index, line in enumerate(textwrap.wrap(note, 48)):
            layout.label(text=line, icon="INFO" if index == 0 else "BLANK1")


def refresh_warnings() -> int:
    """Label and colour every True Depth node that cannot give exact values; returns how many."""
    warned = 0
    current_groups: dict[str, bool] = {}
    for scene, tree in compat.compositor_trees():
        checks = [(node, node_problem(node, tree, current_groups)) for node in true_depth_nodes(tree)]
        checks += [(node, views_problem(node, scene)) for node in views_nodes(tree)]
        checks += [(node, flow_problem(node)) for node in true_flow_nodes(tree)]
        checks += [(node, normal_problem(node)) for node in true_normal_nodes(tree)]
        for node, problem in checks:
            ok = problem is None
            label = node.node_tree.name if ok else f"{node.node_tree.name}: {WARNING_LABEL}"
            if node.label != label:
                node.label = label
            if node.use_custom_color == ok:
                node.use_custom_color = not ok
                if not ok:
                    node.color = WARNING_COLOR
            warned += not ok
    return warned


@persistent
def _on_depsgraph_update(_scene: bpy.types.Scene, _depsgraph: bpy.types.Depsgraph | None = None) -> None:
    refresh_bindings()
    refresh_flow_bindings()
    refresh_normal_bindings()
    refresh_warnings()


@persistent
def _on_save(_filepath: str = "", *_args: object) -> None:
    # A saved file must render right without this extension: bind to the current markers and cameras.
    refresh_bindings()
    refresh_flow_bindings()
    refresh_normal_bindings()
    refresh_warnings()


@persistent
def _on_load(_filepath: str = "", *_args: object) -> None:
    upgrade_groups()
    refresh_bindings()
    refresh_flow_bindings()
    refresh_normal_bindings()
    refresh_warnings()


def run_cli_command(argv: list[str]) -> int:
    """``blender -c true_depth ...`` (registered with bpy.utils.register_cli_command)."""
    from ..commands.cli import main

    return main(argv)


CLASSES = (NODE_OT_true_depth_add, NODE_OT_true_flow_add, NODE_OT_true_normal_add, NODE_PT_true_depth)
CLI_COMMANDS = (("true_depth", run_cli_command),)
_cli_handles: list[object] = []
MENUS = ((bpy.types.NODE_MT_add, draw_add_menu),)
HANDLERS = (
    (bpy.app.handlers.depsgraph_update_post, _on_depsgraph_update),
    (bpy.app.handlers.frame_change_post, _on_depsgraph_update),
    (bpy.app.handlers.save_pre, _on_save),
    (bpy.app.handlers.load_post, _on_load),
)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    for menu, draw in MENUS:
        menu.append(draw)
    for handler_list, handler in HANDLERS:
        if handler not in handler_list:
            handler_list.append(handler)
    for name, command in CLI_COMMANDS:
        _cli_handles.append(bpy.utils.register_cli_command(name, command))


def unregister() -> None:
    while _cli_handles:
        bpy.utils.unregister_cli_command(_cli_handles.pop())
    for handler_list, handler in reversed(HANDLERS):
        while handler in handler_list:
            handler_list.remove(handler)
    for menu, draw in reversed(MENUS):
        menu.remove(draw)
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
