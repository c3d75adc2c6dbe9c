"""The extension as users get it: built zip, validation, install, enable/disable, menu entries."""

from __future__ import annotations

import zipfile
from pathlib import Path
from types import SimpleNamespace

import addon_utils
import bpy
import pytest
from conftest import EXTENSION_MODULE, REPO, blender_ext, submodule


def test_zip_validates_and_leaves_development_files_out(extension_zip: Path) -> None:
    result = blender_ext("validate", str(extension_zip))
    assert result.returncode == 0, result.stdout + result.stderr
    names = zipfile.ZipFile(extension_zip).namelist()
    assert {"blender_manifest.toml", "__init__.py", "depth_node/blender/group.py", "depth_node/core/camera.py",
            "depth_node/commands/cli.py"} <= set(names)
    assert not [name for name in names if name.startswith(("tests/", "tools/", ".ci/", ".venvs/"))]


def _add_menu_draw_modules() -> list[str]:
    return [getattr(func, "__module__", "") for func in getattr(bpy.types.NODE_MT_add.draw, "_draw_funcs", [])]


def _our_handlers() -> list[str]:
    found = []
    for name in ("depsgraph_update_post", "frame_change_post", "save_pre", "load_post"):
        found += [f"{name}:{h.__name__}" for h in getattr(bpy.app.handlers, name)
                  if getattr(h, "__module__", "").startswith(EXTENSION_MODULE)]
    return found


def test_enabled_extension_registers_operator_panel_menu_and_handlers(td) -> None:
    assert hasattr(bpy.types, "NODE_OT_true_depth_add")
    assert hasattr(bpy.types, "NODE_PT_true_depth")
    assert _add_menu_draw_modules().count(f"{EXTENSION_MODULE}.depth_node.blender.ui") == 1
    assert sorted(_our_handlers()) == sorted(
        ["depsgraph_update_post:_on_depsgraph_update", "frame_change_post:_on_depsgraph_update",
         "save_pre:_on_save", "load_post:_on_load"]
    )


def _cli_handles() -> list:
    import importlib

    return importlib.import_module(f"{EXTENSION_MODULE}.depth_node.blender.ui")._cli_handles


def test_cli_command_is_registered_and_runs(td, capsys) -> None:
    """``blender -c true_depth ...`` (the bpy wheel cannot run -c, so the handler is called directly)."""
    assert len(_cli_handles()) == 1
    assert submodule(td, "blender.ui").run_cli_command(["convert", "--help"]) == 0
    assert "usage: true_depth convert" in capsys.readouterr().out
    assert submodule(td, "blender.ui").run_cli_command(["convert"]) == 2


def test_disable_removes_everything_and_reenable_restores_it(td) -> None:
    for _ in range(20):
        addon_utils.disable(EXTENSION_MODULE, default_set=True)
        assert EXTENSION_MODULE not in bpy.context.preferences.addons
        assert not hasattr(bpy.types, "NODE_OT_true_depth_add")
        assert not hasattr(bpy.types, "NODE_PT_true_depth")
        assert not any(module.startswith(EXTENSION_MODULE) for module in _add_menu_draw_modules())
        assert _our_handlers() == []
        assert _cli_handles() == []
        addon_utils.enable(EXTENSION_MODULE, default_set=True)
        assert EXTENSION_MODULE in bpy.context.preferences.addons
        assert hasattr(bpy.types, "NODE_OT_true_depth_add")
        assert _add_menu_draw_modules().count(f"{EXTENSION_MODULE}.depth_node.blender.ui") == 1
        assert len(_our_handlers()) == 4
        assert len(_cli_handles()) == 1


def test_add_menu_draws_both_modes_true_flow_and_true_normal_only_in_the_compositor(td) -> None:
    ui = submodule(td, "blender.ui")
    drawn = []

    class Layout:
        def separator(self) -> None:
            pass

        def operator(self, idname: str, text: str, icon: str) -> SimpleNamespace:
            drawn.append((idname, text))
            return SimpleNamespace(mode=None)

    def context(tree_type: str) -> SimpleNamespace:
        return SimpleNamespace(space_data=SimpleNamespace(type="NODE_EDITOR", tree_type=tree_type))

    ui.draw_add_menu(SimpleNamespace(layout=Layout()), context("ShaderNodeTree"))
    assert drawn == []
    ui.draw_add_menu(SimpleNamespace(layout=Layout()), context("CompositorNodeTree"))
    assert drawn == [("node.true_depth_add", "True Depth (Distance to Depth)"),
                     ("node.true_depth_add", "True Depth (Depth to Distance)"),
                     ("node.true_flow_add", "True Flow"), ("node.true_normal_add", "True Normal")]


def node_editor(tree, region_type: str = "WINDOW", tree_type: str = "CompositorNodeTree") -> dict:
    """A context override: the first window's 3D view turned into a node editor showing ``tree``."""
    window = bpy.context.window_manager.windows[0]
    area = next(a for a in window.screen.areas if a.type in {"VIEW_3D", "NODE_EDITOR"})
    area.type = "NODE_EDITOR"
    space = area.spaces.active
    space.tree_type = tree_type
    if tree_type == "CompositorNodeTree" and space.node_tree != tree:
        space.node_tree = tree
    region = next(r for r in area.regions if r.type == region_type)
    return {"window": window, "screen": window.screen, "area": area, "region": region, "space_data": space}


@pytest.mark.parametrize("mode", ["DISTANCE_TO_DEPTH", "DEPTH_TO_DISTANCE"])
def test_operator_through_bpy_ops_inserts_a_bound_node_at_the_cursor(td, mode: str) -> None:
    from render_helpers import CameraSetup, new_scene

    scene = new_scene(CameraSetup())
    tree = submodule(td, "blender.compat").compositor_tree(scene)
    override = node_editor(tree)
    override["space_data"].cursor_location = (123.0, -45.0)
    with bpy.context.temp_override(**override):
        assert bpy.ops.node.true_depth_add.poll()
        assert bpy.ops.node.true_depth_add("EXEC_DEFAULT", mode=mode) == {"FINISHED"}
    node = tree.nodes.active
    assert node.node_tree.name == ("True Depth" if mode == "DISTANCE_TO_DEPTH" else "True Depth Inverse")
    assert tuple(node.location) == (123.0, -45.0) and node.select
    assert submodule(td, "blender.binding").bound_scene(node, tree) == scene
    assert {"REGISTER", "UNDO"} <= bpy.types.NODE_OT_true_depth_add.bl_options


def test_the_true_flow_operator_inserts_a_keyed_node_at_the_cursor(td) -> None:
    from render_helpers import CameraSetup, new_scene

    scene = new_scene(CameraSetup())
    scene.frame_start, scene.frame_end = 1, 4
    tree = submodule(td, "blender.compat").compositor_tree(scene)
    override = node_editor(tree)
    override["space_data"].cursor_location = (50.0, 10.0)
    with bpy.context.temp_override(**override):
        assert bpy.ops.node.true_flow_add.poll()
        assert bpy.ops.node.true_flow_add("EXEC_DEFAULT") == {"FINISHED"}
    node = tree.nodes.active
    assert node.node_tree.name == "True Flow" and tuple(node.location) == (50.0, 10.0)
    assert submodule(td, "blender.flow.node").bound_scene(node) == scene
    keys = submodule(td, "blender.animation").find_fcurve(tree, node.inputs["Width"].path_from_id("default_value"))
    assert [point.co[0] for point in keys.keyframe_points] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


def test_invoke_stores_the_cursor_like_blenders_add_operators(td) -> None:
    """invoke stores the mouse position first, as Blender's NodeAddOperator does.

    Background Blender runs ``INVOKE_DEFAULT`` as ``EXEC_DEFAULT`` (measured on 4.5 and 5.0), and converting
    a mouse position needs a drawn region (``cursor_location_from_region`` crashes 5.0.1 in background),
    so the store step is called directly in the branch that needs no drawn region: outside the main
    region the cursor goes to the view centre.
    """
    from render_helpers import CameraSetup, new_scene

    scene = new_scene(CameraSetup())
    tree = submodule(td, "blender.compat").compositor_tree(scene)
    override = node_editor(tree, region_type="HEADER")
    space = override["space_data"]
    space.cursor_location = (5000.0, 5000.0)
    with bpy.context.temp_override(**override):
        bpy.types.NODE_OT_true_depth_add.store_mouse_cursor(bpy.context, SimpleNamespace(
            mouse_region_x=0, mouse_region_y=0))
        assert tuple(space.cursor_location) == pytest.approx(tuple(tree.view_center))
        assert bpy.ops.node.true_depth_add("INVOKE_DEFAULT") == {"FINISHED"}
    assert tuple(tree.nodes.active.location) == pytest.approx(tuple(tree.view_center))


def test_operator_poll_needs_an_editable_compositor(td) -> None:
    from render_helpers import CameraSetup, new_scene

    scene = new_scene(CameraSetup())
    tree = submodule(td, "blender.compat").compositor_tree(scene)
    assert not bpy.ops.node.true_depth_add.poll()  # no node editor in the context
    shader_editor = node_editor(tree, tree_type="ShaderNodeTree")
    with bpy.context.temp_override(**shader_editor):
        assert not bpy.ops.node.true_depth_add.poll()
    with bpy.context.temp_override(**node_editor(tree)):
        assert bpy.ops.node.true_depth_add.poll()


def test_operator_reports_unsupported_camera_and_adds_nothing(td) -> None:
    from render_helpers import CameraSetup, new_scene

    scene = new_scene(CameraSetup())
    scene.camera.data.type = "CUSTOM"
    tree = submodule(td, "blender.compat").compositor_tree(scene)
    before = len(tree.nodes)
    with bpy.context.temp_override(**node_editor(tree)), pytest.raises(RuntimeError, match="CUSTOM"):
        bpy.ops.node.true_depth_add("EXEC_DEFAULT")
    assert len(tree.nodes) == before



def test_the_build_command_makes_a_validated_zip(tmp_path: Path) -> None:
    """``tools/true_depth.sh build``: Blender's own extension tool builds and validates; the path is printed."""
    import subprocess

    result = subprocess.run(["bash", str(REPO / "tools" / "true_depth.sh"), "build", "--output-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    (path,) = result.stdout.split()
    assert Path(path).parent == tmp_path and Path(path).name.startswith("true_depth-") and Path(path).is_file()
    assert "Success parsing TOML" in result.stderr  # the validate step ran
    names = zipfile.ZipFile(path).namelist()
    assert "blender_manifest.toml" in names and not [name for name in names if name.startswith("tests/")]
    bad = subprocess.run(["bash", str(REPO / "tools" / "true_depth.sh"), "build", "--bogus"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and "unknown argument" in bad.stderr
