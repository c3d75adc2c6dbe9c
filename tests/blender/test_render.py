"""Cycles renders through the True Depth node, written by the native File Output node.

Distance source: a Camera Data "View Distance" AOV. Ground truth: Cycles' own
Z pass (planar) and the numpy reference applied to the written distance EXR.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from conftest import submodule
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


@pytest.mark.render
@pytest.mark.parametrize("camera", WALL_CASES.values(), ids=WALL_CASES.keys())
def test_wall_distance_becomes_flat_depth(td, out_dir: Path, camera) -> None:
    scene = new_scene(camera)
    K, (width, height) = submodule(td, "core.camera").intrinsics(scene)
    result = render_through_node(scene, out_dir, td)

    assert result.node.shape == result.distance.shape == (height, width)
    assert result.node.dtype == np.float32
    distance_spread = (result.distance.max() - result.distance.min()) / result.distance.min()
    assert distance_spread > 0.10, "the input must vary for the test to mean anything"
    assert relative_error(result.node, np.full(result.node.shape, WALL_DISTANCE)) <= CYCLES_RTOL
    reference = submodule(td, "core.reference").distance_to_depth(result.distance, K)
    assert relative_error(result.node, reference) <= REFERENCE_RTOL
    assert relative_error(result.node, result.z) <= CYCLES_RTOL


def _matrix() -> dict[str, object]:
    """Sensor fit x orientation x pixel aspect x shift x resolution % x crop x projection (192 cameras)."""
    cases = {}
    for fit, portrait, aspect_y, shifted, percentage, crop, projection in itertools.product(
        ("AUTO", "HORIZONTAL", "VERTICAL"), (False, True), (1.0, 1.6), (False, True), (100, 75), (False, True),
        ("PERSP", "ORTHO"),
    ):
        # 64x43 at 75 % truncates to the same 48x32 frame as 48x32 at 100 %.
        size = (48, 32) if percentage == 100 else (64, 43)
        camera = CameraSetup(
            sensor_fit=fit, sensor_height=20.0,
            resolution_x=size[portrait], resolution_y=size[not portrait], resolution_percentage=percentage,
            pixel_aspect_y=aspect_y, shift_x=0.1 * shifted, shift_y=-0.15 * shifted,
            projection=projection, ortho_scale=6.0,
            use_border=crop, crop_to_border=crop, border=(0.2, 0.7, 0.3, 0.9) if crop else (0.0, 1.0, 0.0, 1.0),
        )
        name = (f"{projection.lower()}-{fit.lower()}-{'portrait' if portrait else 'landscape'}"
                f"-aspect{aspect_y:g}-{'shift' if shifted else 'centred'}-{percentage}pc-{'crop' if crop else 'full'}")
        cases[name] = camera
    return cases


CAMERA_MATRIX = _matrix()


def render_and_check_both_modes(td, out_dir: Path, camera, min_spread: float) -> None:
    """Render ``camera``'s wall through both modes; each against Cycles and the reference on the same input."""
    scene = new_scene(camera)
    model = submodule(td, "core.camera").camera_from_scene(scene)
    assert (model.projection, model.width, model.height) == (camera.projection, camera.width, camera.height)
    np.testing.assert_allclose(model.matrix(), camera.matrix(), rtol=1e-6)  # RNA stores float32
    wire_both_modes(scene, out_dir, td)
    render_frame(scene)
    result = read_both_modes(out_dir, td)
    assert result.depth_node.shape == result.distance.shape == (camera.height, camera.width)
    assert result.depth_node.dtype == np.float32
    spread = (result.distance.max() - result.distance.min()) / result.distance.min()
    assert spread > min_spread, "the input must vary for the test to mean anything"
    check_both_modes(submodule(td, "core.reference"), result, camera, np.ones(result.z.shape, dtype=bool))


CROP_REGIONS = {
    # (min_x, max_x, min_y, max_y): on 5.0/5.2 the first five were 0.2-1.4 % off before the driver curves
    # were made exact (a region edge whose product with the size is an integer, or one near 0 or 1).
    "bottom-top": (0.0, 1.0, 0.25, 0.85),
    "lower-half": (0.0, 1.0, 0.0, 0.5),
    "off-centre-x": (0.3, 0.9, 0.0, 1.0),
    "both-narrow": (0.4, 0.7, 0.2, 0.3),
    "near-the-edges": (0.00005, 0.5, 0.2, 0.99995),
    "top-right-quarter": (0.5, 1.0, 0.5, 1.0),
}


def _crop_cases() -> dict[str, object]:
    cases = {}
    for (name, border), percentage in itertools.product(CROP_REGIONS.items(), (100, 50, 37)):
        cases[f"{name}-{percentage}pc"] = CameraSetup(
            resolution_x=80, resolution_y=60, resolution_percentage=percentage, shift_x=0.05,
            use_border=True, crop_to_border=True, border=border)
    for name in ("off-centre-x", "near-the-edges"):
        cases[f"{name}-ortho"] = CameraSetup(resolution_x=80, resolution_y=60, projection="ORTHO", ortho_scale=7.0,
                                             use_border=True, crop_to_border=True, border=CROP_REGIONS[name])
    return cases


CROP_CASES = _crop_cases()
MATRIX_AND_CROPS = {**CAMERA_MATRIX, **{f"crop-{name}": camera for name, camera in CROP_CASES.items()}}


@pytest.mark.render
@pytest.mark.parametrize("case", MATRIX_AND_CROPS, ids=MATRIX_AND_CROPS)
def test_camera_matrix_and_crop_regions_both_modes_match_cycles_and_reference(td, out_dir: Path, case: str) -> None:
    """The 192-camera matrix, and crop regions off-centre in x, y and both, near the edges, at percentages with
    fractional region edges (a narrow region sees little variation of the distance)."""
    render_and_check_both_modes(td, out_dir, MATRIX_AND_CROPS[case], 0.0 if case.startswith("crop-") else 0.05)


@pytest.mark.render
@pytest.mark.parametrize("projection", ["PERSP", "ORTHO"])
def test_border_render_without_crop_stays_exact(td, out_dir: Path, projection: str) -> None:
    camera = CameraSetup(lens=30, shift_x=0.1, projection=projection, ortho_scale=8.0, use_border=True,
                         border=(0.2, 0.7, 0.3, 0.9))
    scene = new_scene(camera)
    wire_both_modes(scene, out_dir, td)
    render_frame(scene)
    result = read_both_modes(out_dir, td)
    assert result.depth_node.shape == (camera.frame.full_height, camera.frame.full_width) == (camera.height,
                                       camera.width)
    inside = result.distance > 0
    assert 0.2 < inside.mean() < 0.5, "only the border region is rendered"
    check_both_modes(submodule(td, "core.reference"), result, camera, inside)
    assert np.all(result.depth_node[~inside] == 0.0)


@pytest.mark.render
def test_suzanne_in_front_of_the_wall_matches_z_on_hit_pixels(td, out_dir: Path) -> None:
    scene = new_scene(CameraSetup(lens=30, resolution_x=64, resolution_y=48), with_suzanne=True)
    K, _ = submodule(td, "core.camera").intrinsics(scene)
    result = render_through_node(scene, out_dir, td)
    on_monkey = result.z < WALL_DISTANCE - 0.5
    assert on_monkey.sum() > 100, "Suzanne must cover part of the frame"
    hit = result.distance > 0
    assert hit.all()
    assert np.max(np.abs(result.node[hit] - result.z[hit]) / result.z[hit]) <= CYCLES_RTOL
    reference = submodule(td, "core.reference").distance_to_depth(result.distance, K)
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
    read = submodule(td, "core.formats.exr").read_single_channel

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
def test_camera_type_without_projection_after_adding_gives_zero_and_a_visible_warning(td, out_dir: Path) -> None:
    read = submodule(td, "core.formats.exr").read_single_channel
    scene = new_scene(CameraSetup(lens=30))
    render_through_node(scene, out_dir, td)  # added while the camera was supported
    scene.camera.data.type = "CUSTOM"  # Cycles' OSL camera: no projection models it
    render_frame(scene)
    node = read(out_dir / "node_0001.exr")
    assert node.size > 0 and np.all(node == 0.0), "unsupported cameras must give 0, not a wrong depth"
    tree = submodule(td, "blender.compat").compositor_tree(scene, create=False)
    (true_depth,) = submodule(td, "blender.group").true_depth_nodes(tree)
    assert "NOT EXACT" in true_depth.label
    assert true_depth.use_custom_color
    assert "CUSTOM" in submodule(td, "blender.binding").node_problem(true_depth, tree)
    with pytest.raises(submodule(td, "core.camera").UnsupportedCameraError, match="CUSTOM"):
        td.add_true_depth_node(scene)

    # Back to a supported camera: the warning goes away and the depth is right again.
    scene.camera.data.type = "PERSP"
    render_frame(scene)
    assert true_depth.label == "True Depth" and not true_depth.use_custom_color
    restored = read(out_dir / "node_0001.exr")
    assert relative_error(restored, np.full(restored.shape, WALL_DISTANCE)) <= CYCLES_RTOL


def _random_cameras(count: int, seed: int = 2026) -> dict[str, object]:
    """Seeded random cameras (fuzz): every setting the node reads, on small frames."""
    rng = np.random.default_rng(seed)
    cases = {}
    for index in range(count):
        crop = bool(rng.integers(2))
        low_x, low_y = rng.uniform(0.0, 0.4, 2)
        camera = CameraSetup(
            lens=float(rng.uniform(12, 120)), sensor_width=float(rng.uniform(10, 50)),
            sensor_height=float(rng.uniform(10, 50)), sensor_fit=str(rng.choice(["AUTO", "HORIZONTAL", "VERTICAL"])),
            shift_x=float(rng.uniform(-0.3, 0.3)), shift_y=float(rng.uniform(-0.3, 0.3)),
            resolution_x=int(rng.integers(16, 64)), resolution_y=int(rng.integers(16, 64)),
            resolution_percentage=int(rng.choice([50, 75, 100, 130])),
            pixel_aspect_x=float(rng.choice([1.0, 1.25, 2.0])), pixel_aspect_y=float(rng.choice([1.0, 1.5])),
            projection=str(rng.choice(["PERSP", "ORTHO"])), ortho_scale=float(rng.uniform(1, 15)),
            use_border=crop, crop_to_border=crop,
            border=(float(low_x), float(low_x + 0.5), float(low_y), float(low_y + 0.5)) if crop
            else (0.0, 1.0, 0.0, 1.0),
        )
        cases[f"random-{index:02d}-{camera.projection.lower()}"] = camera
    return cases


RANDOM_CAMERAS = _random_cameras(24)


@pytest.mark.render
@pytest.mark.parametrize("camera", RANDOM_CAMERAS.values(), ids=RANDOM_CAMERAS.keys())
def test_random_cameras_match_cycles(td, out_dir: Path, camera) -> None:
    scene = new_scene(camera)
    wire_both_modes(scene, out_dir, td)
    render_frame(scene)
    result = read_both_modes(out_dir, td)
    assert result.depth_node.shape == (camera.height, camera.width)
    check_both_modes(submodule(td, "core.reference"), result, camera, np.ones(result.z.shape, dtype=bool))
