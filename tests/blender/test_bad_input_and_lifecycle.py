"""Bad inputs, faults and lifecycle: defined outputs, clear errors, nothing lost."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, submodule
from render_helpers import (
    CYCLES_RTOL,
    REFERENCE_RTOL,
    WALL_DISTANCE,
    CameraSetup,
    check_both_modes,
    new_scene,
    read_both_modes,
    relative_error,
    render_frame,
    render_through_node,
    wire_both_modes,
)

FLOAT32_MAX = float(np.finfo(np.float32).max)
SPECIAL_VALUES = np.array([0.0, 1e10, np.inf, np.nan, -3.0, 1e-42, 3e38, -3e38, 5.0, 1e-30], dtype=np.float32)
"""AOV background, Cycles' Z background, +inf, NaN, negative, denormal, huge, a normal value, tiny."""


def special_image(width: int, height: int) -> np.ndarray:
    """Every special value in every row, at several positions across the frame."""
    row = np.resize(SPECIAL_VALUES, width)
    return np.tile(row, (height, 1)).astype(np.float32)


def convert_through_compositor(td, camera, pixels: np.ndarray, tmp_path: Path) -> dict[str, np.ndarray]:
    """Image (pixels) -> Separate R -> both modes -> File Output, compositor only; returns what was written."""
    import bpy

    exr = submodule(td, "core.formats.exr")
    compat, scenes = submodule(td, "blender.compat"), submodule(td, "blender.scenes")
    source = tmp_path / "special.exr"
    exr.write_single_channel(source, pixels)
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    scene = bpy.context.scene
    scenes.add_camera(scene)
    scenes.apply_camera(scene, camera)
    compat.use_cpu_compositor(scene)
    tree = compat.fresh_compositor_tree(scene)
    image_node = tree.nodes.new("CompositorNodeImage")
    image_node.image = bpy.data.images.load(str(source))
    image_node.image.colorspace_settings.name = "Non-Color"
    separate = tree.nodes.new("CompositorNodeSeparateColor")
    tree.links.new(image_node.outputs["Image"], separate.inputs[0])
    forward = td.add_true_depth_node(scene)
    inverse = td.add_true_depth_node(scene, mode="DEPTH_TO_DISTANCE")
    for node in (forward, inverse):
        tree.links.new(separate.outputs[0], node.inputs[0])
    _, sockets = compat.new_exr_file_output(tree, str(tmp_path / "out"), ["input_####", "depth_####", "distance_####"])
    for output, socket in zip((separate.outputs[0], forward.outputs[0], inverse.outputs[0]), sockets, strict=True):
        tree.links.new(output, socket)
    render_frame(scene)
    return {stem: exr.read_single_channel(tmp_path / "out" / f"{stem}_0001.exr")
            for stem in ("input", "depth", "distance")}


def assert_matches_reference(got: np.ndarray, want: np.ndarray, seen: np.ndarray) -> None:
    """Equal to the reference (relative 2e-6), NaN where it is NaN, inf where it is inf; denormals may flush to 0."""
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.array_equal(np.isposinf(got), np.isposinf(want)) and np.array_equal(np.isneginf(got), np.isneginf(want))
    finite = np.isfinite(want)
    tiny = np.abs(want) < 1e-37
    with np.errstate(invalid="ignore"):  # inf - inf at the pixels checked above
        close = np.abs(got.astype(np.float64) - want) <= REFERENCE_RTOL * np.abs(want)
    assert np.all(close[finite & ~tiny]), np.unique(seen[finite & ~tiny & ~close])
    assert np.all(np.abs(got[finite & tiny]) < 1e-37)


@pytest.mark.parametrize("projection", ["PERSP", "ORTHO"])
def test_special_pixel_values_have_defined_outputs_in_both_modes(td, tmp_path: Path, projection: str) -> None:
    camera = CameraSetup(lens=25, projection=projection, ortho_scale=4.0, resolution_x=40, resolution_y=6)
    written = convert_through_compositor(td, camera, special_image(40, 6), tmp_path)
    seen = written["input"]  # what Blender passed to the node
    assert np.array_equal(np.isnan(seen), np.isnan(special_image(40, 6)))
    reference = submodule(td, "core.reference")
    K = camera.matrix()
    finite_in = np.isfinite(seen)
    for mode, convert in (("depth", reference.distance_to_depth), ("distance", reference.depth_to_distance)):
        got = written[mode]
        assert np.all(np.isfinite(got[finite_in])), f"{mode}: a finite input gave NaN or inf"
        assert_matches_reference(got, convert(seen, K, projection), seen)
    assert np.all(written["depth"][seen == 0] == 0) and np.all(written["distance"][seen == 0] == 0)
    assert np.all(written["distance"][np.isposinf(seen)] == FLOAT32_MAX)  # the inverse saturates
    huge = written["distance"][seen == np.float32(3e38)]
    assert np.all(np.isfinite(huge))
    if projection == "PERSP":
        assert np.any(huge == FLOAT32_MAX)  # 3e38 * |ray| saturates where it would overflow


def test_colour_image_is_converted_to_float_by_blender(td, tmp_path: Path) -> None:
    """Linking a colour (grey: R = G = B = distance) gives the distance's result: Blender averages channels."""
    import bpy

    compat, exr = submodule(td, "blender.compat"), submodule(td, "core.formats.exr")
    camera = CameraSetup(lens=25, resolution_x=16, resolution_y=8)
    distance = np.random.default_rng(2).uniform(2.0, 9.0, (8, 16)).astype(np.float32)
    written = convert_through_compositor(td, camera, distance, tmp_path)
    scene = bpy.context.scene
    tree = compat.compositor_tree(scene)
    image_node = next(node for node in tree.nodes if node.bl_idname == "CompositorNodeImage")
    forward = next(node for node in submodule(td, "blender.group").true_depth_nodes(tree)
                   if node.node_tree.name == "True Depth")
    tree.links.new(image_node.outputs["Image"], forward.inputs[0])  # colour straight into the float socket
    render_frame(scene)
    from_colour = exr.read_single_channel(tmp_path / "out" / "depth_0001.exr")
    assert relative_error(from_colour, written["depth"]) <= 1e-6


def test_deleted_camera_is_reported_everywhere(td, tmp_path: Path, capsys) -> None:
    import bpy

    scene = new_scene(CameraSetup(lens=30))
    render_through_node(scene, tmp_path, td)
    tree = submodule(td, "blender.compat").compositor_tree(scene)
    (node,) = submodule(td, "blender.group").true_depth_nodes(tree)
    bpy.data.objects.remove(scene.camera)
    submodule(td, "blender.ui").refresh_warnings()
    assert "NOT EXACT" in node.label and node.use_custom_color
    assert "no active camera" in submodule(td, "blender.binding").node_problem(node, tree)
    with pytest.raises(submodule(td, "core.camera").UnsupportedCameraError, match="no active camera"):
        td.add_true_depth_node(scene)
    with pytest.raises(RuntimeError):  # and Blender itself refuses to render: no stale depth can be written
        render_frame(scene)
    blend = tmp_path / "no_camera.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    assert submodule(td, "commands.cli").main(["render", str(blend), "--output", str(tmp_path / "cli")]) == 1
    assert "no active camera" in capsys.readouterr().err


def test_replaced_camera_is_followed(td, tmp_path: Path) -> None:
    import bpy

    scene = new_scene(CameraSetup(lens=30))
    wire_both_modes(scene, tmp_path, td)
    other = bpy.data.objects.new("Other", bpy.data.cameras.new("Other"))
    scene.collection.objects.link(other)
    bpy.data.objects.remove(scene.camera)
    scene.camera = other
    other.data.lens, other.data.shift_y = 22.0, 0.1
    render_frame(scene)
    camera = submodule(td, "core.camera").camera_from_scene(scene)
    check_both_modes(submodule(td, "core.reference"), read_both_modes(tmp_path, td), camera,
                     np.ones((camera.height, camera.width), dtype=bool))


def test_camera_type_keyed_to_one_without_projection_gives_zero_and_the_cli_stops(td, tmp_path: Path,
                                                                                  capsys) -> None:
    import bpy

    scene = new_scene(CameraSetup(lens=30))
    wire_both_modes(scene, tmp_path, td)
    data = scene.camera.data
    for frame, camera_type in ((1, "PERSP"), (3, "CUSTOM")):
        data.type = camera_type
        data.keyframe_insert("type", frame=frame)
    render_frame(scene, 2)
    assert relative_error(read_both_modes(tmp_path, td, 2).depth_node, np.full((32, 48), WALL_DISTANCE)) \
        <= CYCLES_RTOL
    render_frame(scene, 3)
    assert np.all(read_both_modes(tmp_path, td, 3).depth_node == 0.0)
    scene.frame_set(1)
    scene_name = scene.name  # the CLI opens the file, so `scene` goes away
    blend = tmp_path / "type_animated.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    out = tmp_path / "cli"
    assert submodule(td, "commands.cli").main(["render", str(blend), "--output", str(out), "--frames", "1-4"]) == 1
    assert "frame 3" in capsys.readouterr().err
    assert sorted(p.name for p in (out / scene_name).glob("depth_*.exr")) == ["depth_0001.exr", "depth_0002.exr"]


def test_edited_renamed_and_nested_groups(td, tmp_path: Path) -> None:
    """Edited: warned about; renamed: still recognised and exact; inside a user's own group: exact."""
    import bpy

    graph, compat = submodule(td, "blender.binding"), submodule(td, "blender.compat")
    scene = new_scene(CameraSetup(lens=30, shift_x=0.05))
    tree = compat.compositor_tree(scene)
    first = td.add_true_depth_node(scene)
    first.node_tree.nodes["Ray Length"].mute = True
    submodule(td, "blender.ui").refresh_warnings()
    assert "edited by hand" in graph.node_problem(first, tree) and "NOT EXACT" in first.label
    tree.nodes.remove(first)

    # A renamed group and a second node in the same tree, both wired: every output exact.
    result = render_through_node(scene, tmp_path, td)
    (node,) = submodule(td, "blender.group").true_depth_nodes(tree)
    node.node_tree.name = "My Depth"
    assert graph.node_problem(node, tree) is None
    render_frame(scene)
    renamed = submodule(td, "core.formats.exr").read_single_channel(tmp_path / "node_0001.exr")
    assert np.array_equal(renamed, result.node)

    # The node inside the user's own group (drivers live on that group), used in the scene's compositor.
    user_group = bpy.data.node_groups.new("User Group", compat.COMPOSITOR_TREE_IDNAME)
    user_group.interface.new_socket("Distance", in_out="INPUT", socket_type="NodeSocketFloat")
    user_group.interface.new_socket("Depth", in_out="OUTPUT", socket_type="NodeSocketFloat")
    group_in, group_out = user_group.nodes.new("NodeGroupInput"), user_group.nodes.new("NodeGroupOutput")
    nested = graph.add_true_depth_node(scene, tree=user_group)
    user_group.links.new(group_in.outputs[0], nested.inputs[0])
    user_group.links.new(nested.outputs[0], group_out.inputs[0])
    wrapper = tree.nodes.new(compat.GROUP_NODE_IDNAME)
    wrapper.node_tree = user_group
    layers = next(n for n in tree.nodes if n.bl_idname == "CompositorNodeRLayers")
    tree.links.new(layers.outputs[submodule(td, "blender.scenes").DISTANCE_AOV], wrapper.inputs[0])
    _, (socket,) = compat.new_exr_file_output(tree, str(tmp_path / "nested"), ["nested_####"])
    tree.links.new(wrapper.outputs[0], socket)
    scene.camera.data.lens = 24.0  # the nested node follows the camera too
    render_frame(scene)
    nested_depth = submodule(td, "core.formats.exr").read_single_channel(tmp_path / "nested" / "nested_0001.exr")
    assert relative_error(nested_depth, np.full(nested_depth.shape, WALL_DISTANCE)) <= CYCLES_RTOL


def test_file_made_with_blender_4_5_renders_exactly_here(td, tmp_path: Path) -> None:
    """tests/data/made_in_blender_4_5.blend (tools/make_fixtures.py): Blender's own versioning on 5.x."""
    import bpy

    blend = tmp_path / "made_in_blender_4_5.blend"
    shutil.copy(REPO / "tests" / "data" / "made_in_blender_4_5.blend", blend)
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    scene = bpy.context.scene
    render_frame(scene)
    camera = submodule(td, "core.camera").camera_from_scene(scene)
    result = read_both_modes(tmp_path / "exr", td)
    check_both_modes(submodule(td, "core.reference"), result, camera, np.ones(result.z.shape, dtype=bool))


RELOAD_CHECK = """
import os, addon_utils, bpy
module = "bl_ext.user_default.true_depth"
addon_utils.enable(module, default_set=False)
bpy.ops.script.reload()
ui = __import__(module + ".depth_node.blender.ui", fromlist=["ui"])
handlers = sum(getattr(h, "__module__", "").startswith(module) for name in
               ("depsgraph_update_post", "frame_change_post", "save_pre", "load_post")
               for h in getattr(bpy.app.handlers, name))
menus = sum(getattr(f, "__module__", "").startswith(module) for f in bpy.types.NODE_MT_add.draw._draw_funcs)
print("TD_RELOAD", handlers, menus, len(ui._cli_handles), hasattr(bpy.types, "NODE_OT_true_depth_add"), flush=True)
os._exit(0)  # Blender 4.5 hangs on exit after script.reload (measured); the check is done
"""


def test_reloading_scripts_keeps_one_registration(td) -> None:
    """In a separate Blender process (same user directory, so the installed extension)."""
    import os
    import subprocess

    blender = os.environ.get("TRUE_DEPTH_BLENDER_EXECUTABLE")
    if not blender:
        pytest.skip("TRUE_DEPTH_BLENDER_EXECUTABLE is not set: run through tools/run_tests.sh")
    result = subprocess.run([blender, "-b", "--python-expr", RELOAD_CHECK], capture_output=True, text=True,
                            timeout=300)
    line = next((line for line in result.stdout.splitlines() if line.startswith("TD_RELOAD")), None)
    assert line == "TD_RELOAD 4 1 1 True", result.stdout[-2000:] + result.stderr[-2000:]


@pytest.mark.parametrize("failure", ["disk-full", "not-writable"])
def test_write_failures_are_clear_and_leave_no_partial_frame(td, tmp_path: Path, monkeypatch, capsys,
                                                             failure: str) -> None:
    jobs = submodule(td, "commands.frames")
    real_replace = Path.replace
    calls = []

    def failing_replace(self: Path, target: Path) -> Path:
        into_output = ".true-depth-partial" not in str(target)
        calls.extend([target.name] if into_output else [])
        if into_output and (target.name.endswith("_0001.json") or (failure == "not-writable" and len(calls) > 1)):
            raise OSError(errno.ENOSPC if failure == "disk-full" else errno.EACCES,
                          "No space left on device" if failure == "disk-full" else "Permission denied")
        return real_replace(self, target)

    monkeypatch.setattr(jobs.Path, "replace", failing_replace)
    out = tmp_path / "out"
    assert submodule(td, "commands.cli").main(["example", "--output", str(out), "--resolution", "16x12"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    reason = "No space left on device" if failure == "disk-full" else "Permission denied"
    assert len(err) == 1 and reason in err[0] and "frame 1" in err[0], err
    leftovers = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() or "partial" in p.name)
    assert leftovers == [], "no file of the failed frame (and no staging folder) may remain"
