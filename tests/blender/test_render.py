"""Cycles renders through the True Depth node, written by the native File Output node.

Distance source: a Camera Data "View Distance" AOV. Ground truth: Cycles' own
Z pass (planar) and the numpy reference applied to the written distance EXR.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import submodule
from render_helpers import WALL_DISTANCE, CameraSetup, new_scene, render_through_node

REFERENCE_RTOL = 2e-6  # node vs numpy on the same input: float32 arithmetic
CYCLES_RTOL = 2e-5  # node vs Cycles' Z: Cycles samples Z at a slightly jittered point

WALL_CASES = {
    "auto-landscape": CameraSetup(lens=30),
    "auto-portrait": CameraSetup(lens=30, resolution_x=32, resolution_y=48),
    "wide-lens": CameraSetup(lens=18),
    "horizontal-portrait": CameraSetup(sensor_fit="HORIZONTAL", resolution_x=32, resolution_y=48),
    "vertical-landscape": CameraSetup(sensor_fit="VERTICAL", sensor_height=20),
    "pixel-aspect-x": CameraSetup(pixel_aspect_x=2.0),
    "pixel-aspect-y-flips-auto": CameraSetup(resolution_x=40, resolution_y=32, pixel_aspect_y=1.5),
    "shift": CameraSetup(shift_x=0.1, shift_y=-0.15),
    "shift-vertical-fit-small-side": CameraSetup(sensor_fit="VERTICAL", shift_x=0.12, shift_y=0.2),
    "shift-horizontal-fit-small-side": CameraSetup(sensor_fit="HORIZONTAL", resolution_x=32, resolution_y=48,
                                                   shift_x=-0.2, shift_y=0.1),
    "shift-pixel-aspect-vertical": CameraSetup(sensor_fit="VERTICAL", resolution_x=32, resolution_y=40,
                                               pixel_aspect_x=1.7, shift_x=0.1, shift_y=0.1),
    "percentage-50": CameraSetup(resolution_x=96, resolution_y=64, resolution_percentage=50),
    "percentage-truncates": CameraSetup(resolution_x=61, resolution_y=41, resolution_percentage=75, shift_y=0.05),
}


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.max(np.abs(got.astype(np.float64) - want) / np.abs(want)))


@pytest.mark.render
@pytest.mark.parametrize("camera", WALL_CASES.values(), ids=WALL_CASES.keys())
def test_wall_distance_becomes_flat_depth(td, out_dir: Path, camera) -> None:
    scene = new_scene(camera)
    K, (width, height) = submodule(td, "camera").intrinsics(scene)
    result = render_through_node(scene, out_dir, td)

    assert result.node.shape == result.distance.shape == (height, width)
    assert result.node.dtype == np.float32
    distance_spread = (result.distance.max() - result.distance.min()) / result.distance.min()
    assert distance_spread > 0.10, "the input must vary for the test to mean anything"
    assert relative_error(result.node, np.full(result.node.shape, WALL_DISTANCE)) <= CYCLES_RTOL
    reference = submodule(td, "reference").distance_to_depth(result.distance, K)
    assert relative_error(result.node, reference) <= REFERENCE_RTOL
    assert relative_error(result.node, result.z) <= CYCLES_RTOL


@pytest.mark.render
def test_border_render_without_crop_stays_exact(td, out_dir: Path) -> None:
    scene = new_scene(CameraSetup(lens=30, shift_x=0.1))
    render = scene.render
    render.use_border, render.use_crop_to_border = True, False
    render.border_min_x, render.border_max_x, render.border_min_y, render.border_max_y = 0.2, 0.7, 0.3, 0.9
    K, (width, height) = submodule(td, "camera").intrinsics(scene)
    result = render_through_node(scene, out_dir, td)
    assert result.node.shape == (height, width)
    inside = result.distance > 0
    assert 0.2 < inside.mean() < 0.5, "only the border region is rendered"
    assert relative_error(result.node[inside], result.z[inside]) <= CYCLES_RTOL
    reference = submodule(td, "reference").distance_to_depth(result.distance, K)
    assert relative_error(result.node[inside], reference[inside]) <= REFERENCE_RTOL
    assert np.all(result.node[~inside] == 0.0)


@pytest.mark.render
@pytest.mark.parametrize("camera", [WALL_CASES["shift"], WALL_CASES["shift-pixel-aspect-vertical"]],
                         ids=["shift", "shift-pixel-aspect-vertical"])
def test_inverse_mode_turns_z_pass_into_ray_distance(td, out_dir: Path, camera) -> None:
    scene = new_scene(camera)
    K, _ = submodule(td, "camera").intrinsics(scene)
    result = render_through_node(scene, out_dir, td, mode="DEPTH_TO_DISTANCE")
    assert relative_error(result.node, result.distance) <= CYCLES_RTOL
    reference = submodule(td, "reference").depth_to_distance(result.z, K)
    assert relative_error(result.node, reference) <= REFERENCE_RTOL


@pytest.mark.render
def test_suzanne_in_front_of_the_wall_matches_z_on_hit_pixels(td, out_dir: Path) -> None:
    scene = new_scene(CameraSetup(lens=30, resolution_x=64, resolution_y=48), with_suzanne=True)
    K, _ = submodule(td, "camera").intrinsics(scene)
    result = render_through_node(scene, out_dir, td)
    on_monkey = result.z < WALL_DISTANCE - 0.5
    assert on_monkey.sum() > 100, "Suzanne must cover part of the frame"
    hit = result.distance > 0
    assert hit.all()
    assert np.max(np.abs(result.node[hit] - result.z[hit]) / result.z[hit]) <= CYCLES_RTOL
    reference = submodule(td, "reference").distance_to_depth(result.distance, K)
    assert relative_error(result.node[hit], reference[hit]) <= REFERENCE_RTOL


@pytest.mark.render
@pytest.mark.parametrize("mode", ["DISTANCE_TO_DEPTH", "DEPTH_TO_DISTANCE"])
def test_background_pixels_give_no_nan(td, out_dir: Path, mode: str) -> None:
    """No wall: the AOV is 0 and Cycles' Z is 1e10 where rays escape."""
    import bpy

    scene = new_scene(CameraSetup(lens=30), with_suzanne=True)
    bpy.data.objects.remove(bpy.data.objects["Wall"])
    result = render_through_node(scene, out_dir, td, mode=mode)
    background = result.distance == 0
    assert 0 < background.sum() < background.size
    assert np.isfinite(result.node).all()
    if mode == "DISTANCE_TO_DEPTH":
        assert np.all(result.node[background] == 0.0)
    else:
        assert np.all(result.z[background] >= 1e9)
        assert np.all(result.node[background] >= 1e10)  # |ray| >= 1: background stays far away


@pytest.mark.render
def test_binding_is_live_lens_change_without_re_adding(td, out_dir: Path) -> None:
    import bpy
    from render_helpers import render_frame
    read = submodule(td, "exr").read_single_channel

    scene = new_scene(CameraSetup(lens=30))
    render_through_node(scene, out_dir, td)
    scene.camera.data.lens = 45.0
    scene.render.pixel_aspect_x = 1.5
    render_frame(scene)
    node = read(out_dir / "node_0001.exr")
    z = read(out_dir / "z_0001.exr")
    assert node.shape == z.shape
    assert relative_error(node, np.full(node.shape, WALL_DISTANCE)) <= CYCLES_RTOL
    assert bpy.data.node_groups["True Depth"].users >= 1


@pytest.mark.render
@pytest.mark.parametrize("change", ["ORTHO", "PANO", "BORDER_CROP"])
def test_unsupported_camera_after_adding_gives_zero_and_a_visible_warning(td, out_dir: Path, change: str) -> None:
    from render_helpers import render_frame

    read = submodule(td, "exr").read_single_channel
    scene = new_scene(CameraSetup(lens=30))
    render_through_node(scene, out_dir, td)  # added while the camera was supported
    if change == "BORDER_CROP":
        scene.render.use_border = True
        scene.render.use_crop_to_border = True
        scene.render.border_min_x, scene.render.border_max_x = 0.25, 0.75
    else:
        scene.camera.data.type = change
    render_frame(scene)
    node = read(out_dir / "node_0001.exr")
    assert node.size > 0 and np.all(node == 0.0), "unsupported cameras must give 0, not a wrong depth"
    tree = submodule(td, "compat").compositor_tree(scene, create=False)
    (true_depth,) = submodule(td, "graph").true_depth_nodes(tree)
    assert "UNSUPPORTED CAMERA" in true_depth.label
    assert true_depth.use_custom_color
    with pytest.raises(submodule(td, "camera").UnsupportedCameraError):
        td.add_true_depth_node(scene)

    # Back to a supported camera: the warning goes away and the depth is right again.
    scene.render.use_border = False
    scene.camera.data.type = "PERSP"
    render_frame(scene)
    assert true_depth.label == "True Depth" and not true_depth.use_custom_color
    restored = read(out_dir / "node_0001.exr")
    assert relative_error(restored, np.full(restored.shape, WALL_DISTANCE)) <= CYCLES_RTOL
