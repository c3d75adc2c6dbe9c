"""``convert --to flow``: a user's own multilayer EXRs (rendered by a plain ``blender -b FILE -a`` with the Vector
and Z passes) become the flow files ``render`` writes, against the tracked-mesh truth (tests/flow_truth.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import submodule
from flow_scenes import moving_scene, open_for_truth
from flow_truth import flow_truth
from test_animation import render_in_fresh_blender
from test_flow import OTHER, REQUIRED, TOLERANCE, check_flow, read_flow, run_cli, save

bpy = pytest.importorskip("bpy")


def with_passes(td, scene: bpy.types.Scene, samples: int) -> bpy.types.Scene:
    """The scene rendering its own multilayer EXRs (Combined, Z, Vector) at ``samples``, into //passes/."""
    submodule(td, "blender.scenes").add_light(scene)
    scene.cycles.samples = samples
    scene.cycles.filter_width = 0.01 if samples == 1 else 1.5
    layer = scene.view_layers[0]
    layer.use_pass_z = layer.use_pass_vector = True
    submodule(td, "blender.compat").use_multilayer_exr(scene.render.image_settings)
    scene.render.filepath = "//passes/render_####"
    return scene


@pytest.fixture(scope="module")
def passes(td, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Frames 1-3 rendered by the file itself at 1 sample; the render job's flow and cameras of the same frames."""
    folder = tmp_path_factory.mktemp("flow-convert")
    blend = save(with_passes(td, moving_scene("PERSP"), 1), folder)
    render_in_fresh_blender(blend, 1, 3, folder)
    assert run_cli(td, "render", blend, "--output", folder / "job", "--frames", "1-3", "--outputs", "flow,camera") == 0
    scene = open_for_truth(blend)
    truths = {direction: flow_truth(scene, 2, other) for direction, other in OTHER.items()}
    return {"blend": blend, "passes": folder / "passes", "job": folder / "job" / "Scene", "truths": truths}


def test_a_blend_gives_the_files_render_writes(td, passes: dict, tmp_path: Path, capsys) -> None:
    assert run_cli(td, "convert", passes["passes"] / "render_####.exr", "--to", "flow", "--camera", passes["blend"],
                   "--output", tmp_path, "--frames", "2") == 0
    assert "frames: 1 made" in capsys.readouterr().out
    folder = tmp_path / "Scene"
    for direction, truth in passes["truths"].items():
        share, missed = check_flow(folder, truth, direction)
        ours, valid = read_flow(folder / f"flow_{direction}_0002.exr")
        job, job_valid = read_flow(passes["job"] / f"flow_{direction}_0002.exr")
        assert np.abs(ours - job).max() <= 1e-4 and np.array_equal(valid, job_valid), direction
        print(f"{direction}: {share:.2%} within {TOLERANCE} px of the truth; {missed} deforming pixels undecided; "
              f"max {np.abs(ours - job).max():.2g} px from the render job's file")
    meta = json.loads((folder / "camera_0002.json").read_text())
    job_meta = json.loads((passes["job"] / "camera_0002.json").read_text())
    assert meta["flow"]["samples"] == 1 and meta["flow"]["source"] == "render_0002.exr"
    assert np.allclose(meta["camera_to_world_opencv"], job_meta["camera_to_world_opencv"], atol=1e-9)


def test_camera_files_give_the_same_flow_and_no_visibility(td, passes: dict, tmp_path: Path, capsys) -> None:
    assert run_cli(td, "convert", passes["passes"] / "render_####.exr", "--to", "flow", "--camera",
                   passes["job"] / "camera_####.json", "--output", tmp_path, "--frames", "1-2") == 0
    out = capsys.readouterr().out
    assert re.search(r"flow pixels undecided \(no scene geometry: valid 0\): \d+", out)
    folder = tmp_path / "Scene"
    for direction, truth in passes["truths"].items():
        uv, valid = read_flow(folder / f"flow_{direction}_0002.exr")
        error = np.linalg.norm(uv - truth.flow, axis=-1)
        share = float((error <= TOLERANCE).mean())
        assert share >= REQUIRED, f"{direction}: {share:.2%} within {TOLERANCE} px (max {error.max():.3g})"
        assert (~truth.hit).sum() > 200, "the sky is scored too"
        assert not valid.any(), "camera files cannot prove a point visible"
        print(f"{direction}: {share:.2%} within {TOLERANCE} px of the truth, background included")
    meta = json.loads((folder / "camera_0001.json").read_text())
    assert meta["flow"]["backward_frame"] is None, "the job wrote no camera of frame 0"
    uv, valid = read_flow(folder / "flow_backward_0001.exr")
    assert not uv.any() and not valid.any()


def test_a_pass_of_many_samples_is_said_in_one_line(td, passes: dict, tmp_path: Path, capsys) -> None:
    blend = save(with_passes(td, moving_scene("PERSP"), 16), tmp_path)
    render_in_fresh_blender(blend, 2, 2, tmp_path)
    assert run_cli(td, "convert", tmp_path / "passes" / "render_####.exr", "--to", "flow", "--camera", blend,
                   "--output", tmp_path / "out") == 0
    said = [line for line in capsys.readouterr().out.splitlines() if "rendered at 16 samples" in line]
    assert len(said) == 1 and "only 1-sample passes are exact" in said[0]


def test_a_file_without_a_vector_pass_is_refused(td, passes: dict, tmp_path: Path, capsys) -> None:
    """The render job's own flow EXR (R, G, B) is not a Vector pass."""
    assert run_cli(td, "convert", passes["job"] / "flow_forward_0002.exr", "--to", "flow", "--camera",
                   passes["blend"], "--output", tmp_path) != 0
    err = capsys.readouterr().err
    assert "no Vector pass (channels <layer>.Vector.X, .Y, .Z, .W) among the channels: B, G, R" in err
    assert not (tmp_path / "Scene").exists() or not any((tmp_path / "Scene").glob("*.*"))



def test_a_panoramas_passes_convert_as_render_writes_them(td, tmp_path: Path) -> None:
    """An equidistant fisheye (Z is the ray's length there, the depth its planar part): with the .blend the same
    flow and visibility as render's; with its camera files the same flow."""
    scene = with_passes(td, moving_scene("PANO"), 1)
    scene.camera.data.panorama_type = "FISHEYE_EQUIDISTANT"
    blend = save(scene, tmp_path)
    render_in_fresh_blender(blend, 2, 2, tmp_path)
    assert run_cli(td, "render", blend, "--output", tmp_path / "job", "--frames", "1-3", "--outputs",
                   "flow,camera") == 0
    job = tmp_path / "job" / "Scene"
    for camera, out in ((blend, tmp_path / "with_blend"), (job / "camera_####.json", tmp_path / "with_cameras")):
        assert run_cli(td, "convert", tmp_path / "passes" / "render_####.exr", "--to", "flow", "--camera", camera,
                       "--output", out) == 0
        for direction in OTHER:
            ours, valid = read_flow(out / "Scene" / f"flow_{direction}_0002.exr")
            rendered, rendered_valid = read_flow(job / f"flow_{direction}_0002.exr")
            assert np.abs(ours - rendered).max() <= 1e-4, (camera, direction)
            if camera == blend:
                assert np.array_equal(valid, rendered_valid) and rendered_valid.sum() > 500
            else:
                assert not valid.any()
