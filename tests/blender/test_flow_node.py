"""The True Flow compositor node: the moving scene rendered at 1 sample through the node and Blender's own File
Output, read back with OpenEXR and compared with the tracked-mesh truth (tests/flow_truth.py); the saved .blend
rendered again by a fresh Blender without the extension; the node's red state where the pass cannot be exact."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import OpenEXR
import pytest
from conftest import submodule
from flow_scenes import moving_scene, open_for_truth
from flow_truth import flow_truth
from render_helpers import render_frame, render_layers_node
from test_animation import render_in_fresh_blender

bpy = pytest.importorskip("bpy")
REQUIRED = 0.995
TOLERANCE = 1e-3  # px
OTHER = {"forward": 3, "backward": 1}
LAYERS = {"forward": "Forward", "backward": "Backward"}
PATTERN = "true_flow_####"


def wire_true_flow(td, scene: bpy.types.Scene, folder: str) -> bpy.types.Node:
    """Render Layers' Vector and Depth -> True Flow -> a multilayer File Output (layers Forward, Backward)."""
    compat = submodule(td, "blender.compat")
    for layer in scene.view_layers:
        layer.use_pass_vector = layer.use_pass_z = True
    tree = compat.compositor_tree(scene)
    layers = render_layers_node(tree, scene)
    node = td.add_true_flow_node(scene)
    tree.links.new(layers.outputs["Vector"], node.inputs["Vector"])
    tree.links.new(layers.outputs["Depth"], node.inputs["Depth"])
    output, sockets = compat.new_multilayer_file_output(tree, PATTERN, dict.fromkeys(LAYERS.values(), 4),
                                                       name="Flow Output")
    compat.set_multilayer_directory(output, folder, PATTERN)
    for direction, socket in zip(LAYERS, sockets, strict=True):
        tree.links.new(node.outputs[LAYERS[direction]], socket)
    return node


def read_true_flow(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per direction: (H, W, 2) flow and the in-view mask, from the File Output's multilayer EXR."""
    channels = {}
    with OpenEXR.File(str(path), separate_channels=True) as exr_file:
        for part in exr_file.parts:
            channels.update({name if "." in name else f"{part.name}.{name}": channel.pixels
                             for name, channel in part.channels.items()})
    flows = {}
    for direction, layer in LAYERS.items():
        u, v, in_view = (channels[f"{layer}.{axis}"] for axis in "XYZ")
        assert u.dtype == np.float32 and set(np.unique(in_view)) <= {0.0, 1.0}
        flows[direction] = np.stack([u, v], axis=-1), in_view == 1.0
    return flows


def no_problem(td, problem: str | None) -> bool:
    """The node's problem is none, or only the forward flow's on versions whose compositor drops W."""
    if submodule(td, "blender.compat").COMPOSITOR_KEEPS_VECTOR_W:
        return problem is None
    return problem is not None and "4th component" in problem


def lands_inside(flow: np.ndarray, margin: float = 0.0) -> np.ndarray:
    height, width = flow.shape[:2]
    rows, columns = np.mgrid[0:height, 0:width]
    x, y = columns + flow[..., 0], rows + flow[..., 1]
    return (x >= -0.5 + margin) & (x < width - 0.5 - margin) & (y >= -0.5 + margin) & (y < height - 0.5 - margin)


@pytest.fixture(scope="module")
def through_node(td, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Frame 2 of the perspective moving scene at 1 sample through the node (in this process and, from the saved
    file, in a fresh Blender without the extension), and its truth."""
    folder = tmp_path_factory.mktemp("true-flow")
    scene = moving_scene("PERSP")
    submodule(td, "blender.scenes").setup_cycles(scene, samples=1, filter_width=0.01)
    node = wire_true_flow(td, scene, "//exr")
    problem = submodule(td, "blender.flow.node").flow_problem(node)
    blend = folder / "shot.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    render_frame(scene, 2)
    here = read_true_flow(folder / "exr" / "true_flow_0002.exr")
    farm = folder / "farm"
    farm.mkdir()
    farm_blend = farm / "shot.blend"
    farm_blend.write_bytes(blend.read_bytes())
    render_in_fresh_blender(farm_blend, 2, 2, folder)
    scene = open_for_truth(blend)
    truths = {direction: flow_truth(scene, 2, other) for direction, other in OTHER.items()}
    return {"here": here, "farm": read_true_flow(farm / "exr" / "true_flow_0002.exr"), "truths": truths,
            "problem": problem}


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_the_node_gives_the_exact_flow(td, through_node: dict, direction: str, capsys) -> None:
    flow, in_view = through_node["here"][direction]
    truth = through_node["truths"][direction]
    if direction == "forward" and not submodule(td, "blender.compat").COMPOSITOR_KEEPS_VECTOR_W:
        assert not flow.any() and not in_view.any(), "no forward flow where the compositor loses W"
        assert "4th component" in through_node["problem"]
        return
    assert no_problem(td, through_node["problem"])
    assert (~truth.hit).sum() > 200 and (truth.hit & ~truth.visible).sum() > 20, "sky and hidden points exist"
    error = np.linalg.norm(flow - truth.flow, axis=-1)
    share = float((error <= TOLERANCE).mean())
    assert share >= REQUIRED, f"{share:.2%} within {TOLERANCE} px (max {error.max():.3g})"
    assert float((error[~truth.hit] <= TOLERANCE).mean()) >= REQUIRED, "the sky too"
    print(f"{direction}: {share:.2%} within {TOLERANCE} px, median {np.median(error):.2g} px")


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_in_view_is_where_the_point_lands_in_the_other_frame(td, through_node: dict, direction: str) -> None:
    flow, in_view = through_node["here"][direction]
    truth = through_node["truths"][direction]
    if direction == "forward" and not submodule(td, "blender.compat").COMPOSITOR_KEEPS_VECTOR_W:
        assert not in_view.any(), "nothing is in view where the forward flow cannot be made"
        return
    assert in_view[truth.visible].all(), "every point the other frame sees is in view"
    away_from_edges = lands_inside(truth.flow, 1e-3) | ~lands_inside(truth.flow, -1e-3)
    np.testing.assert_array_equal(in_view[away_from_edges], lands_inside(truth.flow)[away_from_edges])
    assert (~in_view).sum() > 10 and (in_view & ~truth.visible).sum() > 10, "out of view, and in view but hidden"


def test_a_fresh_blender_without_the_extension_renders_the_same_flow(through_node: dict) -> None:
    for direction in LAYERS:
        (flow, in_view), (farm_flow, farm_in_view) = through_node["here"][direction], through_node["farm"][direction]
        np.testing.assert_array_equal(farm_flow, flow)
        np.testing.assert_array_equal(farm_in_view, in_view)


@pytest.mark.parametrize("setting", ["motion blur", "16 samples"])
def test_the_node_turns_red_and_gives_nothing_where_the_pass_is_not_exact(td, tmp_path: Path, setting: str) -> None:
    scene = moving_scene("PERSP")
    submodule(td, "blender.scenes").setup_cycles(scene, samples=1, filter_width=0.01)
    if setting == "motion blur":
        scene.render.use_motion_blur = True
    else:
        scene.cycles.samples = 16
    node = wire_true_flow(td, scene, str(tmp_path))
    ui = submodule(td, "blender.ui")
    assert ui.refresh_warnings() == 1
    assert node.use_custom_color and ui.WARNING_LABEL in node.label
    reason = submodule(td, "blender.flow.node").flow_problem(node)
    assert ("motion blur" if setting == "motion blur" else "sample") in reason
    render_frame(scene, 2)
    for flow, in_view in read_true_flow(tmp_path / "true_flow_0002.exr").values():
        assert not flow.any() and not in_view.any()


def test_changed_camera_animation_is_re_keyed(td) -> None:
    scene = moving_scene("PERSP")
    submodule(td, "blender.scenes").setup_cycles(scene, samples=1, filter_width=0.01)
    node_module = submodule(td, "blender.flow.node")
    node = td.add_true_flow_node(scene)
    path = node.inputs["Backward H02"].path_from_id("default_value")
    tree = node.id_data
    scene.frame_set(3)
    before = tree.path_resolve(path)
    camera = scene.camera
    camera.rotation_euler = (0.0, 0.2, 0.0)
    camera.keyframe_insert("rotation_euler", frame=2)
    assert "changed since" in node_module.flow_problem(node), "stale keys are reported"
    assert node_module.refresh_flow_bindings() == 1
    assert no_problem(td, node_module.flow_problem(node)) and node_module.refresh_flow_bindings() == 0
    scene.frame_set(3)
    assert abs(tree.path_resolve(path) - before) > 1.0, "frame 3's backward homography follows the new frame 2"
