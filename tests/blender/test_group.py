"""The node group as data: declarative build, version stamp, upgrades, drivers, save/reload."""

from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np
import pytest
from conftest import submodule
from render_helpers import CameraSetup, new_scene, render_layers_node


def group_nodes(tree):
    return [node for node in tree.nodes if node.bl_idname not in ("NodeFrame",)]


def test_group_is_built_from_the_description_and_stamped(td) -> None:
    scene = new_scene(CameraSetup())
    node = td.add_true_depth_node(scene)
    spec = submodule(td, "core.graph.true_depth").build_spec("DISTANCE_TO_DEPTH")
    group = node.node_tree
    assert group.name == "True Depth"
    assert group["true_depth_version"] == spec.version
    assert group["true_depth_mode"] == "DISTANCE_TO_DEPTH"
    assert group["true_depth_fingerprint"] == submodule(td, "blender.group").fingerprint(group)
    assert [s.name for s in node.inputs] == [s.name for s in spec.inputs]
    assert [s.name for s in node.outputs] == ["Depth"]
    interface = {item.name: item for item in group.interface.items_tree if item.item_type == "SOCKET"}
    assert all(interface[s.name].description == s.description for s in spec.inputs)
    built = {n.name: n for n in group.nodes}
    for node_spec in spec.nodes:
        assert built[node_spec.name].bl_idname == node_spec.bl_idname
        for attribute, value in node_spec.properties:
            assert getattr(built[node_spec.name], attribute) == value
    assert sum(n.bl_idname == "NodeFrame" for n in group.nodes) == len(spec.frames)


def test_adding_again_reuses_the_current_group(td) -> None:
    scene = new_scene(CameraSetup())
    first = td.add_true_depth_node(scene)
    second = td.add_true_depth_node(scene)
    assert first.node_tree == second.node_tree
    assert [g.name for g in bpy.data.node_groups if g.name.startswith("True Depth")] == ["True Depth"]


def test_every_camera_input_has_a_valid_simple_expression_driver_on_the_scene(td) -> None:
    scene = new_scene(CameraSetup(lens=42, shift_x=0.3, sensor_fit="VERTICAL", resolution_percentage=50))
    node = td.add_true_depth_node(scene)
    tree = submodule(td, "blender.compat").compositor_tree(scene)
    drivers = {fc.data_path: fc.driver for fc in tree.animation_data.drivers}
    spec = submodule(td, "core.graph.true_depth").build_spec("DISTANCE_TO_DEPTH")
    for socket_spec in spec.camera_inputs:
        index = [s.name for s in node.inputs].index(socket_spec.name)
        driver = drivers[f'nodes["{node.name}"].inputs[{index}].default_value']
        assert driver.is_valid and driver.is_simple_expression, socket_spec.name
        assert all(v.targets[0].id == scene for v in driver.variables)
    scene.frame_set(1)
    values = {s.name: s.default_value for s in node.inputs[1:]}
    assert values["Focal Length"] == pytest.approx(42)
    assert values["Shift X"] == pytest.approx(0.3)
    assert values["Sensor Fit"] == 2.0
    assert values["Resolution %"] == 50.0
    assert values["Camera Type"] == 0.0


def test_binding_follows_the_scene_it_was_added_to(td, tmp_path: Path) -> None:
    from render_helpers import WALL_DISTANCE, render_through_node

    scene = new_scene(CameraSetup(lens=30))
    other = scene.copy()
    other.name = "other"
    other.camera = bpy.data.objects.new("Other Camera", bpy.data.cameras.new("Other Camera"))
    other.collection.objects.link(other.camera)
    other.camera.data.lens = 22
    other.camera.data.shift_x = 0.2
    other.render.resolution_x = 40
    result = render_through_node(other, tmp_path, td)
    tree = submodule(td, "blender.compat").compositor_tree(other)
    (node,) = submodule(td, "blender.group").true_depth_nodes(tree)
    assert submodule(td, "blender.binding").bound_scene(node, tree) == other
    assert result.node.shape == (32, 40)
    np.testing.assert_allclose(result.node, WALL_DISTANCE, rtol=2e-5)


def test_hand_edited_group_is_rebuilt_when_a_node_is_added(td) -> None:
    scene = new_scene(CameraSetup())
    node = td.add_true_depth_node(scene)
    group = node.node_tree
    graph = submodule(td, "blender.group")
    spec = submodule(td, "core.graph.true_depth").build_spec("DISTANCE_TO_DEPTH")
    group.nodes["Depth"].operation = "MULTIPLY"  # a user's "fix"
    assert not graph.is_current(group, spec)
    td.add_true_depth_node(scene)
    assert group.nodes["Depth"].operation == "DIVIDE"
    assert graph.is_current(group, spec)


@pytest.mark.parametrize("mode", ["DISTANCE_TO_DEPTH", "DEPTH_TO_DISTANCE"])
def test_old_version_is_upgraded_in_place_keeping_user_links(td, mode: str) -> None:
    scene = new_scene(CameraSetup())
    compat = submodule(td, "blender.compat")
    tree = compat.compositor_tree(scene)
    node = td.add_true_depth_node(scene, mode=mode)
    layers = render_layers_node(tree, scene)
    tree.links.new(layers.outputs["Depth"], node.inputs[0])
    viewer, _ = compat.new_exr_file_output(tree, "//unused", ["x_####"])
    tree.links.new(node.outputs[0], viewer.inputs[0])
    group = node.node_tree
    group["true_depth_version"] = 0  # as saved by an older release
    group.nodes.remove(group.nodes["Ray Length"])
    node.inputs[0].driver_remove("default_value")
    tree.animation_data.drivers.remove(tree.animation_data.drivers[0])

    rebuilt = submodule(td, "blender.binding").upgrade_groups()

    assert rebuilt == [group]
    assert "Ray Length" in group.nodes
    assert node.node_tree == group
    assert node.inputs[0].is_linked and node.outputs[0].is_linked
    assert submodule(td, "blender.binding").bound_scene(node, tree) == scene
    assert len(tree.animation_data.drivers) == len(submodule(td, "core.graph.true_depth").CAMERA_INPUTS)


def test_a_stale_group_in_a_saved_file_is_upgraded_on_load(td, tmp_path: Path) -> None:
    scene = new_scene(CameraSetup())
    node = td.add_true_depth_node(scene)
    node.node_tree["true_depth_version"] = 0
    path = tmp_path / "old.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    bpy.ops.wm.open_mainfile(filepath=str(path))
    group = bpy.data.node_groups["True Depth"]
    spec = submodule(td, "core.graph.true_depth").build_spec("DISTANCE_TO_DEPTH")
    assert group["true_depth_version"] == spec.version
    assert submodule(td, "blender.group").is_current(group, spec)


def test_saved_file_keeps_node_and_drivers(td, tmp_path: Path) -> None:
    scene = new_scene(CameraSetup(lens=33))
    td.add_true_depth_node(scene)
    path = tmp_path / "saved.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    bpy.ops.wm.open_mainfile(filepath=str(path))
    scene = bpy.data.scenes["wall"]
    tree = submodule(td, "blender.compat").compositor_tree(scene, create=False)
    (node,) = submodule(td, "blender.group").true_depth_nodes(tree)
    scene.camera.data.lens = 51
    scene.frame_set(1)
    assert node.inputs["Focal Length"].default_value == pytest.approx(51)


def test_no_camera_or_bad_mode_is_refused_before_anything_is_added(td) -> None:
    scene = new_scene(CameraSetup())
    scene.camera = None
    with pytest.raises(submodule(td, "core.camera").UnsupportedCameraError, match="no active camera"):
        td.add_true_depth_node(scene)
    scene = new_scene(CameraSetup())
    with pytest.raises(ValueError, match="mode must be one of"):
        td.add_true_depth_node(scene, mode="SIDEWAYS")
    assert "True Depth" not in bpy.data.node_groups


def test_intrinsics_reads_a_real_scene(td) -> None:
    camera = CameraSetup(lens=27, sensor_fit="VERTICAL", shift_x=0.2, resolution_x=61, resolution_y=41,
                         resolution_percentage=75, pixel_aspect_y=1.25)
    scene = new_scene(camera)
    camera_module = submodule(td, "core.camera")
    K, size = camera_module.intrinsics(scene)
    expected = camera
    assert size == (expected.width, expected.height) == (45, 30)
    np.testing.assert_allclose(K, expected.matrix(), rtol=1e-6)  # Blender stores float32


def test_sidebar_notes_say_when_the_input_is_unreliable(td) -> None:
    """Wrong pass for the mode, AOV through transparency, depth of field and motion blur are named."""
    binding = submodule(td, "blender.binding")
    scene = new_scene(CameraSetup())
    tree = submodule(td, "blender.compat").compositor_tree(scene)
    layers = next((n for n in tree.nodes if n.bl_idname == "CompositorNodeRLayers"), None) or tree.nodes.new(
        "CompositorNodeRLayers")
    forward = td.add_true_depth_node(scene)
    inverse = td.add_true_depth_node(scene, mode="DEPTH_TO_DISTANCE")
    tree.links.new(layers.outputs["Depth"], inverse.inputs[0])
    assert binding.input_source(inverse, tree) == "z" and binding.source_notes(inverse, tree, scene) == []
    tree.links.new(layers.outputs["Depth"], forward.inputs[0])
    assert any("already is planar depth" in note for note in binding.source_notes(forward, tree, scene))
    tree.links.new(layers.outputs[submodule(td, "blender.scenes").DISTANCE_AOV], forward.inputs[0])
    notes = binding.source_notes(forward, tree, scene)
    assert binding.input_source(forward, tree) == "aov" and len(notes) == 1 and "sum of the distances" in notes[0]
    scene.camera.data.dof.use_dof = True
    scene.render.use_motion_blur = True
    notes = binding.source_notes(inverse, tree, scene)
    assert [note.split(" ")[0] for note in notes] == ["Depth", "Motion"]
