"""True Flow from the render job, against a ground truth that involves no renderer: the hit of each pixel
centre's ray tracked on the evaluated mesh to f+-1 and projected with that frame's camera (tests/flow_truth.py).

The file renders its beauty at 16 samples with a 1.5 px filter (where the Vector pass is up to pixels wrong);
the job's flow comes from its 1-sample data pass.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import OpenEXR
import pytest
from conftest import submodule
from flow_scenes import CUBE, DEFORMING, INSTANCED, moving_scene, open_for_truth, with_views
from flow_truth import FlowTruth, flow_truth
from test_animation import render_in_fresh_blender

bpy = pytest.importorskip("bpy")
os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")
REQUIRED = 0.995
TOLERANCE = 1e-3  # px
ORTHO_EXACT = bpy.app.version >= (5, 2, 0)
OTHER = {"forward": 3, "backward": 1}
ROS_CALIBRATION = """image_width: 64
image_height: 48
camera_name: radtan
camera_matrix:
  rows: 3
  cols: 3
  data: [40.0, 0.0, 31.5, 0.0, 40.0, 23.5, 0.0, 0.0, 1.0]
distortion_model: plumb_bob
distortion_coefficients:
  rows: 1
  cols: 5
  data: [-0.2, 0.05, 0.001, -0.001, 0.0]
"""


def run_cli(td, *args: object) -> int:
    return submodule(td, "commands.cli").main([str(arg) for arg in args])


def read_flow(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with OpenEXR.File(str(path), separate_channels=True) as exr_file:
        channels = {name: channel.pixels for name, channel in exr_file.channels().items()}
    assert sorted(channels) == ["B", "G", "R"] and channels["R"].dtype == np.float32
    assert set(np.unique(channels["B"])) <= {0.0, 1.0}
    return np.stack([channels["R"], channels["G"]], axis=-1), channels["B"] == 1.0


def save(scene: bpy.types.Scene, folder: Path) -> Path:
    path = folder / f"{scene.name}.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    return path


@pytest.fixture(scope="module")
def rendered(td, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The perspective scene's frame 2 rendered with rgb, depth, flow, camera and preview, and its truth."""
    folder = tmp_path_factory.mktemp("flow")
    scene = moving_scene("PERSP")
    submodule(td, "blender.scenes").add_light(scene)
    scene.render.filepath = "//plain/rgb_####"  # what a plain `blender -b FILE -a` writes
    scene.render.image_settings.file_format = "PNG"
    blend = save(scene, folder)
    out = folder / "out"
    assert run_cli(td, "render", blend, "--output", out, "--frames", "2",
                   "--outputs", "rgb,depth,flow,camera,preview") == 0
    scene = open_for_truth(blend)
    truths = {direction: flow_truth(scene, 2, other) for direction, other in OTHER.items()}
    return {"blend": blend, "folder": out / "Scene", "truths": truths}


def check_flow(folder: Path, truth: FlowTruth, direction: str, background: bool = True, suffix: str = ""
               ) -> tuple[float, int]:
    """Assert the flow and its visibility against the truth; returns (share within tolerance, undecided)."""
    uv, valid = read_flow(folder / f"flow_{direction}_0002{suffix}.exr")
    error = np.linalg.norm(uv - truth.flow, axis=-1)
    scored = np.ones(truth.hit.shape, dtype=bool) if background else truth.hit
    share = float((error[scored] <= TOLERANCE).mean())
    assert share >= REQUIRED, f"{direction}: {share:.2%} within {TOLERANCE} px (max {error[scored].max():.3g})"
    lies = valid & ~truth.visible
    assert not lies.any(), f"{direction}: {lies.sum()} pixels valid where the point is hidden or out of view"
    missed = truth.visible & ~valid
    assert set(truth.objects[missed]) <= set(DEFORMING), "only the deforming meshes may be undecided"
    assert (truth.visible & valid).sum() > 0.5 * truth.visible.sum()
    return share, int(missed.sum())


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_flow_is_exact_and_its_visibility_never_lies(rendered: dict, direction: str,
                                                     capsys: pytest.CaptureFixture) -> None:
    truth = rendered["truths"][direction]
    assert (~truth.hit).sum() > 200 and (truth.hit & ~truth.visible).sum() > 20, "sky and hidden points exist"
    share, missed = check_flow(rendered["folder"], truth, direction)
    deforming = int(np.isin(truth.objects, DEFORMING).sum())
    assert {*DEFORMING, INSTANCED} <= set(truth.objects.ravel()), "the deforming meshes and the instance are in view"
    print(f"{direction}: {share:.2%} within {TOLERANCE} px (background included); {missed} of the deforming "
          f"meshes' {deforming} pixels undecided")


def test_the_sidecar_says_which_frames_the_flow_refers_to(rendered: dict) -> None:
    meta = json.loads((rendered["folder"] / "camera_0002.json").read_text())
    assert meta["flow"]["forward_frame"] == 3 and meta["flow"]["backward_frame"] == 1
    assert "OpenCV pixels" in meta["flow"]["convention"]


def test_the_beauty_equals_a_plain_render_and_the_preview_shows_the_flow(rendered: dict, tmp_path: Path) -> None:
    """The beauty is the file's own (16 samples, 1.5 px filter): flow's 1-sample data pass does not touch it."""
    import cv2

    render_in_fresh_blender(rendered["blend"], 2, 2, tmp_path)
    folder = rendered["folder"]
    ours = cv2.imread(str(folder / "rgb_0002.png")).astype(np.int32)
    plain = cv2.imread(str(rendered["blend"].parent / "plain" / "rgb_0002.png")).astype(np.int32)
    assert ours.shape == plain.shape == (48, 64, 3) and ours.std() > 5
    assert float((np.abs(ours - plain) <= 1).all(axis=-1).mean()) >= 0.999
    preview = cv2.imread(str(folder / "preview_0002.png"))
    assert preview.shape[1] > 3 * 160, "distance, depth and flow panels"


def test_an_eevee_files_beauty_is_its_own_and_its_flow_comes_from_cycles(td, rendered: dict, tmp_path: Path) -> None:
    """The file renders with EEVEE (the Vector pass there is half precision: measured up to 0.013 px): the job
    keeps EEVEE for the beauty and takes the flow from its 1-sample Cycles data pass."""
    import cv2
    from real_scenes import eevee_engine

    bpy.ops.wm.open_mainfile(filepath=str(rendered["blend"]), load_ui=False)
    bpy.context.scene.render.engine = eevee_engine()
    bpy.context.scene.eevee.taa_render_samples = 1  # software OpenGL here: what is tested is which engine renders
    blend = save(bpy.context.scene, tmp_path)
    assert run_cli(td, "render", blend, "--output", tmp_path / "out", "--frames", "2", "--outputs", "rgb,flow") == 0
    for direction, truth in rendered["truths"].items():
        check_flow(tmp_path / "out" / "Scene", truth, direction)
    render_in_fresh_blender(blend, 2, 2, tmp_path)
    ours = cv2.imread(str(tmp_path / "out" / "Scene" / "rgb_0002.png")).astype(np.int32)
    plain = cv2.imread(str(tmp_path / "plain" / "rgb_0002.png")).astype(np.int32)
    assert ours.shape == plain.shape == (48, 64, 3) and ours.std() > 5
    assert float((np.abs(ours - plain) <= 1).all(axis=-1).mean()) >= 0.999


def test_a_camera_cut_makes_that_side_invalid(td, rendered: dict, tmp_path: Path) -> None:
    bpy.ops.wm.open_mainfile(filepath=str(rendered["blend"]), load_ui=False)
    scene = bpy.context.scene
    second = bpy.data.objects.new("Second", scene.camera.data.copy())
    scene.collection.objects.link(second)
    scene.timeline_markers.new("A", frame=1).camera = scene.camera
    scene.timeline_markers.new("B", frame=3).camera = second
    blend = save(scene, tmp_path)
    assert run_cli(td, "render", blend, "--output", tmp_path / "out", "--frames", "2", "--outputs", "flow,camera") == 0
    folder = tmp_path / "out" / "Scene"
    meta = json.loads((folder / "camera_0002.json").read_text())
    assert meta["flow"]["forward_frame"] is None and meta["flow"]["backward_frame"] == 1
    uv, valid = read_flow(folder / "flow_forward_0002.exr")
    assert not valid.any() and not uv.any()
    check_flow(folder, rendered["truths"]["backward"], "backward")


@pytest.mark.parametrize("flow_format", ["flo", "kitti"])
def test_flow_formats_hold_the_same_flow(td, rendered: dict, tmp_path: Path, flow_format: str) -> None:
    import cv2

    assert run_cli(td, "render", rendered["blend"], "--output", tmp_path, "--frames", "2", "--outputs", "flow",
                   "--flow-format", flow_format) == 0
    folder = tmp_path / "Scene"
    for direction in OTHER:
        want, want_valid = read_flow(rendered["folder"] / f"flow_{direction}_0002.exr")
        if flow_format == "flo":
            uv = cv2.readOpticalFlow(str(folder / f"flow_{direction}_0002.flo"))
            valid = cv2.imread(str(folder / f"flow_{direction}_valid_0002.png"), cv2.IMREAD_GRAYSCALE) == 255
            assert np.array_equal(uv, want)
        else:
            image = cv2.imread(str(folder / f"flow_{direction}_0002.png"), cv2.IMREAD_UNCHANGED)[..., ::-1]
            uv = (image[..., :2].astype(np.float64) - 2 ** 15) / 64.0  # the KITTI devkit's flow_read
            valid = image[..., 2] == 1
            assert np.abs(uv - want).max() <= 0.5 / 64 + 1e-6
        assert np.array_equal(valid, want_valid)


def test_orthographic_flow_is_exact_or_refused(td, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    blend = save(moving_scene("ORTHO"), tmp_path)
    code = run_cli(td, "render", blend, "--output", tmp_path / "out", "--frames", "2", "--outputs", "flow,camera")
    if not ORTHO_EXACT:
        assert code != 0
        assert re.search(r"--outputs flow: Blender (4\.5|5\.[01])\.\d+'s Vector pass is wrong for orthographic "
                         r"cameras .* exact from 5\.2 on", capsys.readouterr().err)
        return
    assert code == 0
    scene = open_for_truth(blend)
    for direction, other in OTHER.items():
        truth = flow_truth(scene, 2, other)
        check_flow(tmp_path / "out" / "Scene", truth, direction, background=False)
        uv, valid = read_flow(tmp_path / "out" / "Scene" / f"flow_{direction}_0002.exr")
        assert not valid[~truth.hit].any() and not uv[~truth.hit].any(), "a direction has no orthographic image"


def test_prepare_writes_the_flow_a_farm_renders(td, rendered: dict, tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    """The job .blend rendered by a fresh Blender without the extension: the True Flow node's exact u, v through
    Blender's File Output, B (valid) 0 everywhere, since only ray casts can decide it; where this Blender's
    compositor drops the pass's W, forward is refused and backward written."""
    job = tmp_path / "job.blend"
    prepare = ["prepare", rendered["blend"], "--output", job, "--render-output", tmp_path / "farm", "--overwrite"]
    code = run_cli(td, *prepare, "--outputs", "depth,flow,camera")
    directions = ["forward", "backward"]
    if not submodule(td, "blender.compat").COMPOSITOR_KEEPS_VECTOR_W:
        assert code != 0 and "drops the Vector pass's 4th component" in capsys.readouterr().err
        assert run_cli(td, *prepare, "--outputs", "depth,flow_backward,camera") == 0
        directions = ["backward"]
    else:
        assert code == 0
    assert "B (valid) 0 everywhere" in capsys.readouterr().out
    render_in_fresh_blender(job, 2, 2, tmp_path)
    folder = tmp_path / "farm" / "Scene"
    for direction in directions:
        truth = rendered["truths"][direction]
        uv, valid = read_flow(folder / f"flow_{direction}_0002.exr")
        error = np.linalg.norm(uv - truth.flow, axis=-1)
        share = float((error <= TOLERANCE).mean())
        assert share >= REQUIRED, f"{direction}: {share:.2%} within {TOLERANCE} px (max {error.max():.3g})"
        assert float((error[~truth.hit] <= TOLERANCE).mean()) >= REQUIRED, "the sky too"
        assert not valid.any()
        with capsys.disabled():
            print(f"farm {direction}: {share:.2%} within {TOLERANCE} px, median {np.median(error):.2g} px")
    assert (folder / "depth_0002.exr").is_file()
    meta = json.loads((folder / "camera_0002.json").read_text())
    assert meta["flow"]["forward_frame"] == 3 and meta["flow"]["valid"].startswith("0 everywhere")
    assert run_cli(td, *prepare, "--outputs", "flow_backward", "--flow-format", "kitti") != 0
    assert "a farm render writes flow as EXR only" in capsys.readouterr().err


def test_prepare_writes_orthographic_flow_where_the_pass_is_exact(td, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture) -> None:
    scene = moving_scene("ORTHO")
    submodule(td, "blender.scenes").add_light(scene)
    blend = save(scene, tmp_path)
    job = tmp_path / "job.blend"
    code = run_cli(td, "prepare", blend, "--output", job, "--render-output", tmp_path / "farm",
                   "--outputs", "flow_backward")
    if not ORTHO_EXACT:
        assert code != 0 and "wrong for orthographic cameras" in capsys.readouterr().err
        return
    assert code == 0
    render_in_fresh_blender(job, 2, 2, tmp_path)
    truth = flow_truth(open_for_truth(blend), 2, 1)
    uv, valid = read_flow(tmp_path / "farm" / "Scene" / "flow_backward_0002.exr")
    error = np.linalg.norm(uv - truth.flow, axis=-1)[truth.hit]
    share = float((error <= TOLERANCE).mean())
    assert share >= REQUIRED, f"{share:.2%} within {TOLERANCE} px (max {error.max():.3g})"
    assert not uv[~truth.hit].any() and not valid.any(), "a direction has no orthographic image"


def test_a_calibrated_cameras_flow_comes_from_the_geometry(td, tmp_path: Path) -> None:
    """A radial-tangential calibration (an OSL camera, whose Vector pass is wrong: measured 1.9 px median): the
    tracked point imaged by the other frame's calibration, against the truth's rays and projections by OpenCV."""
    (tmp_path / "calibration.yaml").write_text(ROS_CALIBRATION)
    scene = moving_scene("PERSP")
    submodule(td, "blender.scenes").add_light(scene)
    blend = save(scene, tmp_path)
    assert run_cli(td, "render", blend, "--output", tmp_path / "out", "--frames", "1-3", "--outputs", "flow,camera",
                   "--calibration", tmp_path / "calibration.yaml") == 0
    folder = tmp_path / "out" / "Scene"
    meta = json.loads((folder / "camera_0002.json").read_text())
    assert meta["distortion"]["model"] == "radtan"
    open_for_truth(blend)
    for direction, other in OTHER.items():
        other_meta = json.loads((folder / f"camera_{other:04d}.json").read_text())
        truth = flow_truth(bpy.context.scene, 2, other, meta, other_meta)
        assert (~truth.hit).sum() > 100 and truth.hit.sum() > 1000
        share, missed = check_flow(folder, truth, direction)
        print(f"calibrated {direction}: {share:.2%} within {TOLERANCE} px (background included); {missed} "
              "deforming pixels undecided")


@pytest.mark.parametrize("panorama", ["EQUIRECTANGULAR", "FISHEYE_EQUIDISTANT"])
def test_panoramic_flow_is_exact_in_the_panoramas_own_image(td, tmp_path: Path, panorama: str) -> None:
    """The moving scene through a full-sphere equirectangular panorama (mostly sky, whose flow is the other
    frame's inverse mapping of each direction) and a 180 degree fisheye (pixels outside its circle: no ray)."""
    scene = moving_scene("PANO")
    scene.camera.data.panorama_type = panorama
    submodule(td, "blender.scenes").add_light(scene)
    blend = save(scene, tmp_path)
    assert run_cli(td, "render", blend, "--output", tmp_path / "out", "--frames", "2", "--outputs", "flow,camera") == 0
    scene = open_for_truth(blend)
    for direction, other in OTHER.items():
        truth = flow_truth(scene, 2, other)
        assert (~truth.hit).sum() > 200 and truth.hit.sum() > 100, "sky and surfaces"
        share, missed = check_flow(tmp_path / "out" / "Scene", truth, direction)
        print(f"{panorama} {direction}: {share:.2%} within {TOLERANCE} px (background included); {missed} "
              "deforming pixels undecided")


@pytest.mark.parametrize("kind", ["stereo", "multiview"])
def test_each_view_has_its_own_exact_flow(td, tmp_path: Path, kind: str) -> None:
    """Stereo 3D eyes and Multi-View cameras: each view's flow refers to that view's camera at f+-1 (the truth
    projects with the views' sidecars of frames 1-3)."""
    scene = moving_scene("PERSP")
    suffixes = with_views(scene, kind)
    blend = save(scene, tmp_path)
    assert run_cli(td, "render", blend, "--output", tmp_path / "out", "--frames", "1-3",
                   "--outputs", "flow,camera") == 0
    folder = tmp_path / "out" / "Scene"
    open_for_truth(blend)
    flows = []
    for suffix in suffixes:
        meta = json.loads((folder / f"camera_0002{suffix}.json").read_text())
        for direction, other in OTHER.items():
            other_meta = json.loads((folder / f"camera_{other:04d}{suffix}.json").read_text())
            truth = flow_truth(bpy.context.scene, 2, other, meta, other_meta)
            check_flow(folder, truth, direction, suffix=suffix)
            flows.append(read_flow(folder / f"flow_{direction}_0002{suffix}.exr")[0])
    assert np.abs(flows[0] - flows[2]).max() > 0.01, "the views' flows differ"


def test_an_object_hidden_only_in_the_viewport_still_hides(td, rendered: dict, tmp_path: Path) -> None:
    """The cube is hidden in the viewport but renders: ray casts see the viewport, so the job must show it to
    them, or the wall behind it would be called visible."""
    bpy.ops.wm.open_mainfile(filepath=str(rendered["blend"]), load_ui=False)
    bpy.data.objects[CUBE].hide_viewport = True
    blend = save(bpy.context.scene, tmp_path)
    assert run_cli(td, "render", blend, "--output", tmp_path / "out", "--frames", "2", "--outputs", "flow") == 0
    for direction, truth in rendered["truths"].items():
        check_flow(tmp_path / "out" / "Scene", truth, direction)


def test_the_example_writes_flow_of_its_still_scenes(td, tmp_path: Path) -> None:
    """The built-in example does not move: its flow is the zero flow, valid wherever the point stays in view."""
    assert run_cli(td, "example", "--output", tmp_path, "--resolution", "48x32",
                   "--outputs", "depth,flow,camera") == 0
    folders = [folder for folder in tmp_path.iterdir() if folder.is_dir()]
    assert folders
    for folder in folders:
        for direction in OTHER:
            uv, valid = read_flow(folder / f"flow_{direction}_0001.exr")
            assert np.abs(uv).max() < 1e-4 and valid.mean() > 0.9, folder.name


@pytest.mark.parametrize(("change", "message"), [
    ("PANO", r"panoramic Multi-View renders are not measured yet"),
    ("hair", r"'Hair' is one of the scene's hair curves, which flow's visibility cannot see yet"),
])
def test_what_flow_cannot_serve_is_refused(td, rendered: dict, tmp_path: Path, change: str,
                                                                message: str, capsys: pytest.CaptureFixture) -> None:
    bpy.ops.wm.open_mainfile(filepath=str(rendered["blend"]), load_ui=False)
    if change == "PANO":
        bpy.context.scene.camera.data.type = "PANO"
        with_views(bpy.context.scene, "multiview")
    else:
        hair = bpy.data.objects.new("Hair", bpy.data.hair_curves.new("Hair"))
        hair.data.add_curves([2])
        hair.data.position_data.foreach_set("vector", [0.0, 0.0, -3.0, 0.1, 0.0, -3.5])
        bpy.context.scene.collection.objects.link(hair)
    blend = save(bpy.context.scene, tmp_path)
    assert run_cli(td, "render", blend, "--output", tmp_path / "out", "--frames", "2", "--outputs", "flow") != 0
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "out" / "Scene").exists() or not any((tmp_path / "out" / "Scene").glob("*.*"))


def test_worker_processes_and_resume_write_the_same_flow(td, rendered: dict, tmp_path: Path) -> None:
    """--jobs 2 splits the frames between processes; each frame's flow still refers to its neighbours, and
    --resume keeps complete frames."""
    out = tmp_path / "split"
    assert run_cli(td, "render", rendered["blend"], "--output", out, "--frames", "1-3", "--jobs", "2",
                   "--outputs", "flow,camera") == 0
    folder = out / "Scene"
    for direction in OTHER:
        uv, valid = read_flow(folder / f"flow_{direction}_0002.exr")
        want_uv, want_valid = read_flow(rendered["folder"] / f"flow_{direction}_0002.exr")
        assert np.array_equal(uv, want_uv) and np.array_equal(valid, want_valid)
    (folder / "flow_backward_0003.exr").unlink()
    kept = (folder / "flow_forward_0001.exr").stat().st_mtime_ns
    assert run_cli(td, "render", rendered["blend"], "--output", out, "--frames", "1-3", "--resume",
                   "--outputs", "flow,camera") == 0
    assert (folder / "flow_backward_0003.exr").is_file()
    assert (folder / "flow_forward_0001.exr").stat().st_mtime_ns == kept
