"""Blender-version facts the project relies on, checked on every supported version."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import submodule
from render_helpers import CameraSetup, new_scene, render_through_node

bpy = pytest.importorskip("bpy")


def project_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    """DeprecationWarnings raised from this project's code (the file that made the call is ours)."""
    return [f"{Path(w.filename).name}:{w.lineno}: {w.message}" for w in caught
            if issubclass(w.category, DeprecationWarning) and "depth_node" in Path(w.filename).parts]


def test_no_deprecated_api_is_used_by_the_project(td, out_dir: Path) -> None:
    """Add, bind, check, render and run the jobs: no DeprecationWarning comes from ``depth_node``.

    Recorded rather than raised: turning Blender's RNA DeprecationWarnings into errors corrupts the
    interpreter state on the Python 3.13 builds (5.2, 5.3: a SystemError at the next call, measured).
    """
    jobs = submodule(td, "commands.render")
    ui = submodule(td, "blender.ui")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scene = new_scene(CameraSetup(), with_suzanne=True)
        render_through_node(scene, out_dir / "node", td)
        ui.refresh_warnings()
        submodule(td, "blender.binding").refresh_bindings()
        submodule(td, "blender.binding").upgrade_groups()
        (result,) = jobs.render_frames(scene, out_dir / "job", [1])
    assert result.depth.shape == (32, 48)
    assert project_warnings(caught) == []


def test_the_warning_filter_would_see_a_project_deprecation() -> None:
    """The check above is not blind: a DeprecationWarning raised from a depth_node file is reported."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn_explicit("old API", DeprecationWarning, "/x/depth_node/blender/compat.py", 7)
    assert project_warnings(caught) == ["compat.py:7: old API"]


def test_every_effect_of_the_stack_is_found_and_bound(td, out_dir: Path) -> None:
    """5.3's compositor effect stack: a node in a second effect's tree is found, checked and exact."""
    compat = submodule(td, "blender.compat")
    if not compat.USES_EFFECT_STACK:
        pytest.skip(f"Blender {bpy.app.version_string} has one compositor per scene (no effect stack)")
    group = submodule(td, "blender.group")
    scene = new_scene(CameraSetup(lens=30))
    first = compat.compositor_tree(scene)
    second_tree = bpy.data.node_groups.new("Second", compat.COMPOSITOR_TREE_IDNAME)
    second_tree.allow_usage_in_scene_compositor_effect = True
    second = scene.compositor_effects.new("Second")
    second.node_group = second_tree
    assert scene.compositor_effects.active == second and compat.compositor_tree(scene) == second_tree
    result = render_through_node(scene, out_dir, td)
    assert [tree for _, tree in compat.compositor_trees() if _ == scene] == [first, second_tree]
    (node,) = group.true_depth_nodes(second_tree)
    assert submodule(td, "blender.binding").node_problem(node, second_tree) is None
    reference = submodule(td, "core.reference")
    camera = submodule(td, "core.camera").camera_from_scene(scene)
    want = reference.distance_to_depth(result.distance, camera.matrix(), camera.projection)
    inside = result.distance > 0
    assert np.allclose(result.node[inside], want[inside], rtol=2e-6)


def test_driver_curves_pass_values_unchanged(td) -> None:
    """5.x's driver_add() makes a curve that moves values in (0, 1) by 1-2 ulp and snaps values near 0 and 1.

    Those values decide pixel boundaries (floor(0.25 * 60) must stay 15): the binding's curves pass them
    through bit for bit.
    """
    values = {"Border Min X": 0.3, "Border Max X": 0.9, "Border Min Y": 0.25, "Border Max Y": 0.5,
              "Shift X": 0.00005, "Shift Y": 0.99995}
    scene = new_scene(CameraSetup(use_border=True, crop_to_border=True, border=(0.3, 0.9, 0.25, 0.5),
                                  shift_x=0.00005, shift_y=0.99995))
    node = td.add_true_depth_node(scene)
    tree = submodule(td, "blender.compat").compositor_tree(scene)
    fcurves = [fc for fc in tree.animation_data.drivers if fc.data_path.startswith(f'nodes["{node.name}"]')]
    assert len(fcurves) == len(node.inputs) - 1
    assert all(len(fc.keyframe_points) == 0 and len(fc.modifiers) == 0 for fc in fcurves)
    scene.frame_set(1)
    got = {name: node.inputs[name].default_value for name in values}
    assert got == {name: pytest.approx(float(np.float32(value)), rel=0, abs=0) for name, value in values.items()}


def test_driven_inputs_follow_every_frame_with_the_compositor_frames_cache(td, out_dir: Path) -> None:
    """5.3's ``render.use_compositor_frames_cache`` (on for new scenes) must not keep a frame's driven values."""
    scene = new_scene(CameraSetup(lens=30))
    if hasattr(scene.render, "use_compositor_frames_cache"):
        scene.render.use_compositor_frames_cache = True
    lens = scene.camera.data
    for frame, value in ((1, 30.0), (2, 18.0), (3, 45.0)):
        lens.lens = value
        lens.keyframe_insert("lens", frame=frame)
    camera_module, reference = submodule(td, "core.camera"), submodule(td, "core.reference")
    render_through_node(scene, out_dir, td)  # wires the graph and renders frame 1
    exr = submodule(td, "core.formats.exr")
    from render_helpers import render_frame

    for frame in (1, 2, 3, 2):
        render_frame(scene, frame)
        distance = exr.read_single_channel(out_dir / f"distance_{frame:04d}.exr")
        node = exr.read_single_channel(out_dir / f"node_{frame:04d}.exr")
        camera = camera_module.camera_from_scene(scene)
        want = reference.distance_to_depth(distance, camera.matrix(), camera.projection)
        assert np.allclose(node, want, rtol=2e-6), frame
