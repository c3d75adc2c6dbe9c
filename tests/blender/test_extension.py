"""The extension as users get it: built zip, validation, install, enable/disable, menu entries."""

from __future__ import annotations

import zipfile
from pathlib import Path
from types import SimpleNamespace

import addon_utils
import bpy
import pytest
from conftest import EXTENSION_MODULE, blender_ext, submodule


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


def test_add_menu_draws_both_modes_only_in_the_compositor(td) -> None:
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
                     ("node.true_depth_add", "True Depth (Depth to Distance)")]


@pytest.mark.parametrize("mode", ["DISTANCE_TO_DEPTH", "DEPTH_TO_DISTANCE"])
def test_operator_inserts_bound_node_at_the_cursor(td, mode: str) -> None:
    from render_helpers import CameraSetup, new_scene

    scene = new_scene(CameraSetup())
    tree = submodule(td, "blender.compat").compositor_tree(scene)
    reports = []
    operator = SimpleNamespace(mode=mode, report=lambda kind, text: reports.append((kind, text)))
    space = SimpleNamespace(type="NODE_EDITOR", tree_type="CompositorNodeTree", edit_tree=tree,
                            cursor_location=(123.0, -45.0))
    result = bpy.types.NODE_OT_true_depth_add.execute(operator, SimpleNamespace(space_data=space, scene=scene))
    assert result == {"FINISHED"} and reports == []
    node = tree.nodes.active
    assert node.node_tree.name == ("True Depth" if mode == "DISTANCE_TO_DEPTH" else "True Depth Inverse")
    assert tuple(node.location) == (123.0, -45.0)
    assert submodule(td, "blender.binding").bound_scene(node, tree) == scene


def test_operator_reports_unsupported_camera_and_adds_nothing(td) -> None:
    from render_helpers import CameraSetup, new_scene

    scene = new_scene(CameraSetup())
    scene.camera.data.type = "PANO"
    tree = submodule(td, "blender.compat").compositor_tree(scene)
    before = len(tree.nodes)
    reports = []
    operator = SimpleNamespace(mode="DISTANCE_TO_DEPTH", report=lambda kind, text: reports.append((kind, text)))
    space = SimpleNamespace(type="NODE_EDITOR", tree_type="CompositorNodeTree", edit_tree=tree, cursor_location=(0, 0))
    assert bpy.types.NODE_OT_true_depth_add.execute(operator, SimpleNamespace(space_data=space, scene=scene)) == {
        "CANCELLED"}
    assert reports and reports[0][0] == {"ERROR"} and "PANO" in reports[0][1]
    assert len(tree.nodes) == before

