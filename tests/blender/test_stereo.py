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

    stereo = importlib.import_module("bl_ext.user_default.true_depth.depth_node.core.projections.stereo")
    settings = stereo.Stereo(interocular_distance=0.3, convergence_distance=2.5, convergence_mode="OFFAXIS",
                             pivot="CENTER")
    offset = 0.3 / 36.0 * (24.0 / 2.5)  # interocular / sensor_width * lens / convergence
    assert settings.shift_x(0.03, 24.0, 36.0, "left") == pytest.approx(0.03 + 0.5 * offset)
    assert settings.shift_x(0.03, 24.0, 36.0, "right") == pytest.approx(0.03 - 0.5 * offset)


def multiview_scene(with_wall_only: bool = True) -> tuple[bpy.types.Scene, dict[str, bpy.types.Object]]:
    """Views format Multi-View: three views, each with its own camera found by suffix (A, B, C)."""
    scene = new_scene(CameraSetup(lens=24))
    base = scene.camera
    base.name = "Cam_A"
    cameras = {"left": base}
    for view, suffix, lens, projection in (("right", "_B", 50.0, "PERSP"), ("third", "_C", 30.0, "ORTHO")):
        camera = base.copy()
        camera.data = base.data.copy()
        camera.name = f"Cam{suffix}"
        camera.data.lens, camera.data.type, camera.data.shift_x = lens, projection, 0.07
        camera.location.x += 0.3
        scene.collection.objects.link(camera)
        cameras[view] = camera
    scene.render.use_multiview = True
    scene.render.views_format = "MULTIVIEW"
    views = scene.render.views
    views["left"].camera_suffix, views["right"].camera_suffix = "_A", "_B"
    views.new("third").camera_suffix = "_C"
    return scene, cameras


@pytest.mark.render
def test_multiview_views_with_their_own_cameras_are_each_exact(td, out_dir: Path) -> None:
    scene, cameras = multiview_scene()
    wire_both_modes(scene, out_dir, td)
    tree = submodule(td, "blender.compat").compositor_tree(scene)
    wrappers = list(submodule(td, "blender.views").views_nodes(tree))
    assert len(wrappers) == 2 and all("Views" in node.node_tree.name for node in wrappers)
    render_frame(scene)
    camera_module = submodule(td, "core.camera")
    fx = set()
    for view, suffix in (("left", "_A"), ("right", "_B"), ("third", "_C")):
        camera = camera_module.camera_from_scene(scene, cameras[view])
        result = read_both_modes(out_dir, td, view_suffix=suffix)
        check_both_modes(submodule(td, "core.reference"), result, camera, np.ones(result.z.shape, dtype=bool))
        fx.add(round(camera.matrix()[0, 0], 4))
    assert len(fx) == 3, "every view has its own projection"
    scene.objects["Cam_C"].data.type = "CUSTOM"
    submodule(td, "blender.ui").refresh_warnings()
    assert all("NOT EXACT" in node.label for node in wrappers)


@pytest.mark.render
def test_render_job_writes_each_multiview_view_with_its_camera(td, tmp_path: Path) -> None:
    import json

    from ground_truth import cast, share_within

    scene, _ = multiview_scene()
    scene_name = scene.name  # the CLI opens the file: `scene` goes away
    blend = tmp_path / "multiview.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    assert submodule(td, "commands.cli").main(["render", str(blend), "--output", str(tmp_path / "out"),
                                               "--frames", "1"]) == 0
    folder = tmp_path / "out" / scene_name
    read = submodule(td, "core.formats.exr").read_single_channel
    bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)
    for suffix, camera_name in (("_A", "Cam_A"), ("_B", "Cam_B"), ("_C", "Cam_C")):
        meta = json.loads((folder / f"camera_0001{suffix}.json").read_text())
        assert meta["blender"]["camera"] == camera_name
        truth = cast(bpy.context.scene, meta)
        depth, distance = read(folder / f"depth_0001{suffix}.exr"), read(folder / f"distance_0001{suffix}.exr")
        assert share_within(depth, truth.depth, truth.hit) >= 0.995, suffix
        assert share_within(distance, truth.distance, truth.hit) >= 0.995, suffix


STEREO_JOBS = [("OFFAXIS", "CENTER"), ("TOE", "LEFT"), ("PARALLEL", "RIGHT"), ("TOE", "CENTER")]


@pytest.mark.render
@pytest.mark.parametrize("mode, pivot", STEREO_JOBS, ids=[f"{m.lower()}-{p.lower()}" for m, p in STEREO_JOBS])
def test_render_job_writes_each_eye_exactly_with_its_own_sidecar(td, tmp_path: Path, mode: str, pivot: str) -> None:
    """Each eye's depth against rays cast from that eye's sidecar (K with the eye's shift, the eye's pose)."""
    import json

    from ground_truth import cast, share_within
    from real_scenes import build

    scene = build("stereo", size=(48, 32))
    scene.render.use_multiview = True
    scene.render.views_format = "STEREO_3D"
    stereo = scene.camera.data.stereo
    stereo.convergence_mode, stereo.pivot = mode, pivot
    stereo.interocular_distance, stereo.convergence_distance = 0.4, 4.0
    blend = tmp_path / "stereo.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    assert submodule(td, "commands.cli").main(["render", str(blend), "--output", str(tmp_path / "out")]) == 0
    folder = tmp_path / "out" / "stereo"
    read = submodule(td, "core.formats.exr").read_single_channel
    bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)
    origins = {}
    for suffix in ("_L", "_R"):
        meta = json.loads((folder / f"camera_0001{suffix}.json").read_text())
        assert meta["stereo"]["baseline"] == pytest.approx(0.4) and meta["stereo"]["view"] in ("left", "right")
        truth = cast(bpy.data.scenes["stereo"], meta, __import__("real_scenes").decal_is_transparent)
        depth, distance = read(folder / f"depth_0001{suffix}.exr"), read(folder / f"distance_0001{suffix}.exr")
        assert share_within(depth, truth.depth, truth.hit) >= 0.995, suffix
        assert share_within(distance, truth.distance, truth.hit) >= 0.995, suffix
        origins[suffix] = np.array(meta["camera_to_world_blender"])[:3, 3]
    assert np.linalg.norm(origins["_L"] - origins["_R"]) == pytest.approx(0.4, rel=1e-5), "the eyes' baseline"
