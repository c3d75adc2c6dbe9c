"""Stereo 3D renders: every convergence mode and pivot, each eye exact against its own Z pass.

OFF-AXIS (Blender's default) shifts each eye's lens; the node picks its eye's shift with a Switch View
node inside the group. Before that, the shifted eye was silently 3-7 % off.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from conftest import submodule
from render_helpers import CameraSetup, check_both_modes, new_scene, read_both_modes, render_frame, wire_both_modes

bpy = pytest.importorskip("bpy")

CASES = list(itertools.product(("OFFAXIS", "PARALLEL", "TOE"), ("LEFT", "RIGHT", "CENTER")))


@pytest.mark.render
@pytest.mark.parametrize("mode, pivot", CASES, ids=[f"{mode.lower()}-{pivot.lower()}" for mode, pivot in CASES])
def test_each_eye_is_exact(td, out_dir: Path, mode: str, pivot: str) -> None:
    scene = new_scene(CameraSetup(lens=24, shift_x=0.03))
    scene.render.use_multiview = True
    scene.render.views_format = "STEREO_3D"
    stereo = scene.camera.data.stereo
    stereo.convergence_mode, stereo.pivot = mode, pivot
    stereo.interocular_distance, stereo.convergence_distance = 0.3, 2.5  # large enough to move pixels
    wire_both_modes(scene, out_dir, td)
    render_frame(scene)
    camera_module = submodule(td, "core.camera")
    shifts = {}
    for view, suffix in (("left", "_L"), ("right", "_R")):
        camera = camera_module.camera_from_scene(scene, view=view)
        shifts[view] = camera.lens.shift_x
        result = read_both_modes(out_dir, td, view_suffix=suffix)
        check_both_modes(submodule(td, "core.reference"), result, camera, np.ones(result.z.shape, dtype=bool),
                         flat_wall=mode != "TOE")
    moved = {view for view in shifts if shifts[view] != pytest.approx(0.03)}
    expected = set()
    if mode == "OFFAXIS":
        expected = {"LEFT": {"right"}, "RIGHT": {"left"}, "CENTER": {"left", "right"}}[pivot]
    assert moved == expected


def test_eye_shift_follows_blenders_formula() -> None:
    """Independent of the code: Blender's camera_stereo3d_shift_x for one set of numbers, by hand."""
    import importlib

    stereo = importlib.import_module("bl_ext.user_default.true_depth.depth_node.core.stereo")
    settings = stereo.Stereo(interocular_distance=0.3, convergence_distance=2.5, convergence_mode="OFFAXIS",
                             pivot="CENTER")
    offset = 0.3 / 36.0 * (24.0 / 2.5)  # interocular / sensor_width * lens / convergence
    assert settings.shift_x(0.03, 24.0, 36.0, "left") == pytest.approx(0.03 + 0.5 * offset)
    assert settings.shift_x(0.03, 24.0, 36.0, "right") == pytest.approx(0.03 - 0.5 * offset)


def test_multiview_with_per_view_cameras_is_flagged_not_silently_wrong(td) -> None:
    scene = new_scene(CameraSetup(lens=24))
    scene.camera.name = "Cam_L"
    other = scene.camera.copy()
    other.data = scene.camera.data.copy()
    other.data.lens = 50.0
    other.name = "Cam_R"
    scene.collection.objects.link(other)
    scene.render.use_multiview = True
    scene.render.views_format = "MULTIVIEW"
    node_error = submodule(td, "core.camera").UnsupportedCameraError
    with pytest.raises(node_error, match="own cameras"):
        td.add_true_depth_node(scene)
    scene.render.views_format = "STEREO_3D"  # one camera, both eyes: exact
    node = td.add_true_depth_node(scene)
    tree = submodule(td, "blender.compat").compositor_tree(scene)
    assert submodule(td, "blender.binding").node_problem(node, tree) is None
    scene.render.views_format = "MULTIVIEW"
    assert "own cameras" in submodule(td, "blender.binding").node_problem(node, tree)


def test_render_job_refuses_multiview_scenes_with_one_line(td, tmp_path: Path, capsys) -> None:
    scene = new_scene(CameraSetup())
    scene.render.use_multiview = True
    blend = tmp_path / "stereo.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    assert submodule(td, "commands.cli").main(["render", str(blend), "--output", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Stereoscopy" in err[0]
    assert not (tmp_path / "out").exists()
