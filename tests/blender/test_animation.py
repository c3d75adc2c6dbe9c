"""Animated cameras, camera switches at timeline markers, and render-farm style renders of a saved file."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import submodule
from render_helpers import (
    BOTH_MODES_STEMS,
    animated_scene,
    camera_array_scene,
    check_both_modes,
    read_both_modes,
    render_animation,
    render_frame,
    wire_both_modes,
)


def check_frames(td, scene, expected: dict, out_dir: Path) -> None:
    camera_module, reference = submodule(td, "core.camera"), submodule(td, "core.reference")
    focal_lengths = set()
    for frame, camera_object in expected.items():
        scene.frame_set(frame)
        camera = camera_module.camera_from_scene(scene, camera_object)
        result = read_both_modes(out_dir, td, frame)
        assert result.depth_node.shape == (camera.height, camera.width), f"frame {frame}"
        check_both_modes(reference, result, camera, np.ones(result.z.shape, dtype=bool))
        focal_lengths.add(round(camera.matrix()[0, 0], 6))
    assert len(focal_lengths) == len(expected), "every frame must have its own projection"


@pytest.mark.render
def test_keyframes_and_marker_camera_switches_are_exact_on_every_frame(td, out_dir: Path) -> None:
    scene, expected = animated_scene()
    wire_both_modes(scene, out_dir, td)
    render_animation(scene, out_dir)
    check_frames(td, scene, expected, out_dir)


@pytest.mark.render
def test_markers_edited_after_adding_are_picked_up(td, out_dir: Path) -> None:
    import bpy

    scene, expected = animated_scene()
    marker = next(m for m in scene.timeline_markers if m.frame == 7)
    scene.timeline_markers.remove(marker)
    wire_both_modes(scene, out_dir, td)  # bound while frames 7-8 still use the wide camera
    scene.timeline_markers.new("F_07", frame=7).camera = expected[7]
    bpy.context.view_layer.update()  # what any edit in the UI triggers: the handler re-binds
    render_animation(scene, out_dir)
    check_frames(td, scene, expected, out_dir)


def blender_executable() -> str:
    executable = os.environ.get("TRUE_DEPTH_BLENDER_EXECUTABLE")
    if not executable:
        pytest.skip("TRUE_DEPTH_BLENDER_EXECUTABLE is not set: run through tools/run_tests.sh to test fresh "
                    "Blender processes")
    return executable


def render_in_fresh_blender(blend: Path, first: int, last: int, tmp_path: Path) -> str:
    """Render frames of ``blend`` in a new Blender process: no extension, Python auto-execution off."""
    user_dir = tmp_path / f"fresh-user-{blend.parent.name}-{first}"
    user_dir.mkdir()
    report = ("import bpy; print('TD_ADDONS', sorted(bpy.context.preferences.addons.keys())); "
              "print('TD_AUTOEXEC', bpy.context.preferences.filepaths.use_scripts_auto_execute)")
    env = {**os.environ, "BLENDER_USER_RESOURCES": str(user_dir)}
    result = subprocess.run(
        [blender_executable(), "-b", "-Y", str(blend), "--python-expr", report,
         "-s", str(first), "-e", str(last), "-a"],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "TD_AUTOEXEC False" in result.stdout
    addons_line = next(line for line in result.stdout.splitlines() if line.startswith("TD_ADDONS"))
    assert "true_depth" not in addons_line, addons_line
    return result.stdout


def farm_render(td, scene, tmp_path: Path, first: int, last: int) -> tuple[Path, Path]:
    """Save ``scene`` (wired to write next to the .blend) twice; render one copy in one fresh process and the
    other split over two; every EXR must be identical. Returns the two folders of EXRs."""
    import bpy

    wire_both_modes(scene, Path("//exr"), td)  # relative to the .blend, so each copy writes next to itself
    whole, split = tmp_path / "whole", tmp_path / "split"
    whole.mkdir()
    split.mkdir()
    bpy.ops.wm.save_as_mainfile(filepath=str(whole / "shot.blend"), copy=True)
    shutil.copy(whole / "shot.blend", split / "shot.blend")
    middle = (first + last) // 2
    render_in_fresh_blender(whole / "shot.blend", first, last, tmp_path)
    render_in_fresh_blender(split / "shot.blend", first, middle, tmp_path)
    render_in_fresh_blender(split / "shot.blend", middle + 1, last, tmp_path)
    read = submodule(td, "core.formats.exr").read_single_channel
    for frame in range(first, last + 1):
        for stem in BOTH_MODES_STEMS:
            name = f"exr/{stem}_{frame:04d}.exr"
            assert np.array_equal(read(whole / name), read(split / name)), f"{name} differs between 1 and 2 processes"
    return whole / "exr", split / "exr"


@pytest.mark.render
def test_saved_file_renders_exactly_without_the_extension_and_split_over_two_processes(td, tmp_path: Path) -> None:
    scene, expected = animated_scene()
    whole, _ = farm_render(td, scene, tmp_path, 1, 8)
    check_frames(td, scene, expected, whole)


ARRAY_SIZE = 300
ARRAY_FRAMES = (1, 2, 3, 4, 5, 149, 150, 151, 298, 299, 300)
"""Rendered frames of the camera array: the first, middle and last switches (every frame is a switch)."""


@pytest.mark.render
def test_a_300_camera_array_is_exact_on_every_frame_in_process_and_on_a_farm(td, tmp_path: Path) -> None:
    """One camera per frame through 300 timeline markers (no expression limit): in this process, and in fresh
    Blender processes without the extension and with auto-execution off, one process vs frames split over two."""

    scene, cameras = camera_array_scene(ARRAY_SIZE)
    out_dir = tmp_path / "in-process"
    wire_both_modes(scene, out_dir, td)
    tree = submodule(td, "blender.compat").compositor_tree(scene)
    (node, _) = submodule(td, "blender.group").true_depth_nodes(tree)
    assert submodule(td, "blender.binding").node_problem(node, tree) is None
    for frame in ARRAY_FRAMES:
        render_frame(scene, frame)
    check_frames(td, scene, {frame: cameras[frame] for frame in ARRAY_FRAMES}, out_dir)

    whole, _ = farm_render(td, scene, tmp_path, 149, 151)
    farm_frames = {frame: cameras[frame] for frame in (149, 150, 151)}
    check_frames(td, scene, farm_frames, whole)
    read = submodule(td, "core.formats.exr").read_single_channel
    for frame in farm_frames:
        for stem in BOTH_MODES_STEMS:
            name = f"{stem}_{frame:04d}.exr"
            assert np.array_equal(read(whole / name), read(out_dir / name)), f"{name}: farm vs in process"
