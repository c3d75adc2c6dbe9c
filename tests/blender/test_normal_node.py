"""The True Normal compositor node: the normals scene (tests/blender/test_normals.py) with a camera that turns
between frames under a rotated parent, rendered at 1 sample through the node and Blender's own File Output, read
back with OpenEXR and compared with the BVH truth (tests/normal_truth.py); the saved .blend rendered again by a
fresh Blender without the extension; prepare's farm job; the node's red state and its re-keying."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import submodule
from ground_truth import read_point_map
from normal_truth import angle_between, normal_truth
from render_helpers import render_frame, render_layers_node
from test_animation import render_in_fresh_blender
from test_normals import REQUIRED, TOLERANCE, build, opencv_rotation

bpy = pytest.importorskip("bpy")
STEMS = {"Normal": "node_normal", "Normal World": "node_normal_world"}
"""The node's outputs -> the File Output's file stems."""


def turning_camera(scene: bpy.types.Scene) -> None:
    """Frames 1-3; the camera keyed to turn, under a parent turned about another axis (what no driver composes)."""
    scene.frame_start, scene.frame_end = 1, 3
    rig = bpy.data.objects.new("Rig", None)
    scene.collection.objects.link(rig)
    rig.location, rig.rotation_euler = (0.2, -0.1, 0.3), (0.05, 0.0, -0.1)
    camera = scene.camera
    camera.parent = rig
    for frame, yaw in ((1, -0.08), (3, 0.12)):
        camera.rotation_euler = (0.04, yaw, 0.05)
        camera.keyframe_insert("rotation_euler", frame=frame)


def wire_true_normal(td, scene: bpy.types.Scene, folder: str) -> bpy.types.Node:
    """Render Layers' Normal -> True Normal -> a File Output of float32 RGB EXRs (camera frame, world)."""
    compat = submodule(td, "blender.compat")
    for layer in scene.view_layers:
        layer.use_pass_normal = True
    tree = compat.compositor_tree(scene)
    layers = render_layers_node(tree, scene)
    node = td.add_true_normal_node(scene)
    tree.links.new(layers.outputs["Normal"], node.inputs["Normal"])
    output, sockets = compat.new_exr_file_output(tree, "", [f"{stem}_####" for stem in STEMS.values()],
                                                 name="Normal Output", rgb=True)
    compat.set_output_directory(output, folder)
    for index, (name, socket) in enumerate(zip(STEMS, sockets, strict=True)):
        tree.links.new(compat.vector_as_colour(tree, node.outputs[name], name, (500.0, -200.0 * index)), socket)
    return node


def check_normals(folder: Path, scene: bpy.types.Scene, frame: int, stems: dict[str, str]) -> dict[str, str]:
    """Each file of ``stems`` (``camera``/``world`` -> stem) against the truth at ``frame``; returns each one's
    share of hit pixels within the tolerance and median error, as text."""
    scene.frame_set(frame)
    truth = normal_truth(scene)
    want = {"camera": truth.normals @ opencv_rotation(scene), "world": truth.normals}  # rows: R^T n
    shares = {}
    for frame_name, stem in stems.items():
        got = read_point_map(folder / f"{stem}_{frame:04d}.exr")
        error = angle_between(got, want[frame_name])
        share, median = float(np.mean(error[truth.hit] <= TOLERANCE)), float(np.median(error[truth.hit]))
        shares[frame_name] = f"{share:.2%} of {truth.hit.sum()} hit px within {TOLERANCE} rad, median {median:.1e}"
        assert share >= REQUIRED, (stem, share, median)
        assert np.mean(error[truth.back_face] <= TOLERANCE) >= REQUIRED, "turned towards the camera"
        assert not got[~truth.hit].any(), "no surface, no normal"
        assert np.all(np.abs(np.linalg.norm(got[truth.hit], axis=-1) - 1.0) <= 1e-6)
    assert 0.1 < truth.hit.mean() < 0.9 and truth.back_face.sum() >= 20
    return shares


@pytest.fixture(scope="module")
def through_node(td, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Frame 2 through the node at 1 sample (materials without bump maps: the node gives the pass's normal),
    in this process and, from the saved file, in a fresh Blender without the extension."""
    folder = tmp_path_factory.mktemp("true-normal")
    scene = build("PERSP")
    turning_camera(scene)
    submodule(td, "blender.scenes").setup_cycles(scene, samples=1, filter_width=0.01)
    submodule(td, "blender.normals").mesh_normals_only()
    node = wire_true_normal(td, scene, "//exr")
    problem = submodule(td, "blender.normals.node").normal_problem(node)
    blend = folder / "shot.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    render_frame(scene, 2)
    farm = folder / "farm"
    farm.mkdir()
    (farm / "shot.blend").write_bytes(blend.read_bytes())
    render_in_fresh_blender(farm / "shot.blend", 2, 2, folder)
    return {"blend": blend, "here": folder / "exr", "farm": farm / "exr", "problem": problem, "scene": scene}


def test_the_node_gives_the_meshs_normal_in_the_camera_frame_and_the_world(through_node: dict) -> None:
    assert through_node["problem"] is None
    scene = through_node["scene"]
    shares = check_normals(through_node["here"], scene, 2, {"camera": STEMS["Normal"],
                                                            "world": STEMS["Normal World"]})
    print(f"True Normal node: camera {shares['camera']}; world {shares['world']}")
    scene.frame_set(2)
    turned = opencv_rotation(scene)
    scene.frame_set(1)
    assert np.degrees(np.arccos((np.trace(opencv_rotation(scene).T @ turned) - 1) / 2)) > 3, "the camera turns"


def test_a_fresh_blender_without_the_extension_renders_the_same_normals(through_node: dict) -> None:
    for stem in STEMS.values():
        here = read_point_map(through_node["here"] / f"{stem}_0002.exr")
        np.testing.assert_array_equal(read_point_map(through_node["farm"] / f"{stem}_0002.exr"), here)


def test_prepare_writes_the_normals_a_farm_renders(td, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The user's file keeps its bump maps and renders its beauty at 8 samples; the job file renders the mesh's
    normal at 1 sample through the True Normal node, in a fresh Blender without the extension."""
    blend = tmp_path / "bumped.blend"
    scene = build("PERSP")
    turning_camera(scene)
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    before = blend.read_bytes()
    job = tmp_path / "job.blend"
    run = submodule(td, "commands.cli").main
    prepare = ["prepare", str(blend), "--output", str(job), "--render-output", str(tmp_path / "farm"), "--frames",
               "2-3", "--overwrite"]
    assert run([*prepare, "--outputs", "depth,camera,normal,normal_world"]) == 0
    assert "from the True Normal node" in capsys.readouterr().out
    assert blend.read_bytes() == before
    render_in_fresh_blender(job, 3, 3, tmp_path)
    (folder,) = (tmp_path / "farm").iterdir()
    bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)
    shares = check_normals(folder, bpy.data.scenes[0], 3, {"camera": "normal", "world": "normal_world"})
    with capsys.disabled():
        print(f"farm normals: camera {shares['camera']}; world {shares['world']}")
    meta = json.loads((folder / "camera_0003.json").read_text())
    np.testing.assert_allclose(np.asarray(meta["camera_to_world_opencv"])[:3, :3], opencv_rotation(bpy.data.scenes[0]),
                               atol=1e-6)
    assert run([*prepare, "--outputs", "normal16"]) != 0
    assert "the 16-bit PNG is written by Python" in capsys.readouterr().err
    assert run([*prepare, "--outputs", "rgb,normal"]) != 0
    assert "prepare the beauty and the normals as two jobs" in capsys.readouterr().err


@pytest.mark.parametrize("setting", ["motion blur", "16 samples"])
def test_the_node_turns_red_and_gives_nothing_where_the_pass_is_not_exact(td, tmp_path: Path, setting: str) -> None:
    scene = build("PERSP")
    submodule(td, "blender.scenes").setup_cycles(scene, samples=1, filter_width=0.01)
    if setting == "motion blur":
        scene.render.use_motion_blur = True
    else:
        scene.cycles.samples = 16
    node = wire_true_normal(td, scene, str(tmp_path))
    ui = submodule(td, "blender.ui")
    assert ui.refresh_warnings() == 1
    assert node.use_custom_color and ui.WARNING_LABEL in node.label
    reason = submodule(td, "blender.normals.node").normal_problem(node)
    assert ("motion blur" if setting == "motion blur" else "sample") in reason
    render_frame(scene, 1)
    for stem in STEMS.values():
        assert not read_point_map(tmp_path / f"{stem}_0001.exr").any()


def test_changed_camera_animation_is_re_keyed(td) -> None:
    scene = build("PERSP")
    turning_camera(scene)
    submodule(td, "blender.scenes").setup_cycles(scene, samples=1, filter_width=0.01)
    node_module = submodule(td, "blender.normals.node")
    node = td.add_true_normal_node(scene)
    path = node.inputs["R02"].path_from_id("default_value")
    tree = node.id_data
    scene.frame_set(3)
    before = tree.path_resolve(path)
    scene.camera.rotation_euler = (0.04, 0.5, 0.05)
    scene.camera.keyframe_insert("rotation_euler", frame=3)
    assert "changed since" in node_module.normal_problem(node), "stale keys are reported"
    assert node_module.refresh_normal_bindings() == 1
    assert node_module.normal_problem(node) is None and node_module.refresh_normal_bindings() == 0
    scene.frame_set(3)
    after = tree.path_resolve(path)
    assert abs(after - before) > 0.2, "frame 3's rotation follows the new key"
    np.testing.assert_allclose(after, opencv_rotation(scene).T[0, 2], atol=1e-6)
