"""RGB-D in one command: the beauty against a plain ``blender -b FILE -a`` render of the same file, the depth
of the same frames against the BVH ray cast, the names in the sidecars and in COLMAP/nerfstudio, the farm job,
view layers and every refusal."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import submodule
from ground_truth import cast, share_within
from real_scenes import build, decal_is_transparent, eevee_engine
from test_animation import render_in_fresh_blender
from test_real_scenes import REQUIRED, check_against_truth, run_cli, save

bpy = pytest.importorskip("bpy")
imageio = pytest.importorskip("imageio.v3")

CASES = {
    # case: (engine, depth of field, Stereo 3D, how the depth is obtained)
    "cycles-compositor": ("CYCLES", False, False, "rgb and depth from one render"),
    "cycles-dof": ("CYCLES", True, False, "after the beauty: depth of field"),
    "cycles-stereo": ("CYCLES", False, True, "rgb and depth from one render"),
    "eevee": ("EEVEE", False, False, "after the beauty: the scene renders with BLENDER_EEVEE"),
}


def add_user_compositor(td, scene: bpy.types.Scene) -> None:
    """Brightness/Contrast on the image, as a user puts it in their compositor (every version's way)."""
    compat = submodule(td, "blender.compat")
    tree = compat.compositor_tree(scene)
    if compat.USES_EFFECT_STACK:
        source = next(node for node in tree.nodes if node.bl_idname == "NodeGroupInput").outputs[0]
        sink = next(node for node in tree.nodes if node.bl_idname == "NodeGroupOutput").inputs[0]
    else:
        layers = tree.nodes.new("CompositorNodeRLayers")
        layers.scene = scene
        source = layers.outputs["Image"]
        if compat.USES_COMPOSITING_NODE_GROUP:
            tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
            sink = tree.nodes.new("NodeGroupOutput").inputs[0]
        else:
            composite = next((node for node in tree.nodes if node.bl_idname == "CompositorNodeComposite"), None)
            sink = (composite or tree.nodes.new("CompositorNodeComposite")).inputs[0]
    bright = tree.nodes.new("CompositorNodeBrightContrast")
    bright.inputs[1].default_value = 25.0
    tree.links.new(source, bright.inputs[0])
    tree.links.new(bright.outputs[0], sink)


def case_blend(td, case: str, folder: Path) -> Path:
    """The real scene (decals, instances, modifiers, hidden objects, a parented camera) lit, with the user's
    sampling (4 samples, 1.5 px filter, adaptive sampling and denoising as the file has them), saved with its
    render output at ``//plain/rgb_####`` (what ``blender -b FILE -a`` writes)."""
    engine, dof, stereo, _ = CASES[case]
    scene = build(case, engine=eevee_engine() if engine == "EEVEE" else engine,
                  size=(40, 30) if engine == "EEVEE" else (64, 48))
    bpy.data.objects["Camera"].data.dof.use_dof = dof
    submodule(td, "blender.scenes").add_light(scene)
    if case == "cycles-compositor":
        add_user_compositor(td, scene)
    if stereo:
        scene.render.use_multiview = True
        scene.render.views_format = "STEREO_3D"
    scene.render.filepath = "//plain/rgb_####"
    scene.render.image_settings.file_format = "PNG"
    return save(scene, folder)


@pytest.fixture(scope="module")
def rgbd(td, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Per case (made when first asked for): the .blend, the job's folder and its log."""
    made: dict[str, tuple[Path, Path, str]] = {}

    def make(case: str) -> tuple[Path, Path, str]:
        if case not in made:
            folder = tmp_path_factory.mktemp(case)
            blend = case_blend(td, case, folder)
            import io
            from contextlib import redirect_stdout

            log = io.StringIO()
            with redirect_stdout(log):
                code = run_cli(td, "render", blend, "--output", folder / "job",
                               "--outputs", "rgb,depth,distance,camera,colmap,nerf")
            assert code == 0, log.getvalue()
            render_in_fresh_blender(blend, 1, 1, folder)
            made[case] = (blend, folder / "job" / case, log.getvalue())
        return made[case]

    return make


def views_of(case: str) -> list[str]:
    return ["_L", "_R"] if CASES[case][2] else [""]


def read_png(path: Path) -> np.ndarray:
    return imageio.imread(path).astype(np.int32)


@pytest.mark.parametrize("case", list(CASES))
def test_the_beauty_equals_a_plain_render_and_the_depth_the_ray_cast(td, rgbd, case: str) -> None:
    blend, folder, log = rgbd(case)
    assert CASES[case][3] in log, log
    read = submodule(td, "core.formats.exr").read_single_channel
    images = []
    for suffix in views_of(case):
        ours, plain = read_png(folder / f"rgb_0001{suffix}.png"), read_png(blend.parent / "plain" /
                                                                           f"rgb_0001{suffix}.png")
        assert ours.shape == plain.shape
        close = float((np.abs(ours - plain) <= 1).all(axis=-1).mean())
        print(f"{case}{suffix}: beauty within 1/255 of the plain render on {close:.3%} of pixels "
              f"(max {np.abs(ours - plain).max()})")
        assert close >= 0.999
        assert ours.std() > 5, "the beauty shows the scene"
        images.append(ours)
        meta = json.loads((folder / f"camera_0001{suffix}.json").read_text())
        assert meta["image"] == f"rgb_0001{suffix}.png"
        bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)
        truth = cast(bpy.data.scenes[case], meta, decal_is_transparent)
        check_against_truth(read(folder / f"depth_0001{suffix}.exr"), read(folder / f"distance_0001{suffix}.exr"),
                            truth, f"{case}{suffix}")
    if len(images) == 2:
        assert not np.array_equal(*images), "each eye has its own beauty"
    names = [line.split()[-1] for line in (folder / "colmap" / "images.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    assert names == [f"rgb_0001{suffix}.png" for suffix in views_of(case)]
    nerf = json.loads((folder / "transforms.json").read_text())
    assert [frame["file_path"] for frame in nerf["frames"]] == names


def test_the_users_compositor_shapes_the_beauty(td, rgbd, tmp_path: Path) -> None:
    """Without the user's Brightness/Contrast node the image differs: the job kept it."""
    blend, folder, _ = rgbd("cycles-compositor")
    bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)
    scene = bpy.context.scene
    scene.render.use_compositing = False
    scene.render.filepath = str(tmp_path / "raw_0001")
    with bpy.context.temp_override(scene=scene):
        bpy.ops.render.render(write_still=True)
    raw, ours = read_png(tmp_path / "raw_0001.png"), read_png(folder / "rgb_0001.png")
    assert ours[..., :3].mean() > raw[..., :3].mean() + 10


def test_image_name_overrides_the_rgb_names_and_blenders_lines_are_hidden(td, rgbd, tmp_path: Path,
                                                                          capfd: pytest.CaptureFixture) -> None:
    blend, _, _ = rgbd("cycles-compositor")
    capfd.readouterr()
    assert run_cli(td, "render", blend, "--output", tmp_path, "--outputs", "rgb,depth,colmap",
                   "--image-name", "shot_####.jpg") == 0
    out = capfd.readouterr().out
    assert "Saved:" not in out and "Fra:" not in out, out
    assert "frame 1 (1/1)" in out and " s/frame, ETA 0:00 -> " in out, out
    images = (tmp_path / "cycles-compositor" / "colmap" / "images.txt").read_text()
    assert "shot_0001.jpg" in images and "rgb_0001.png" not in images
    assert (tmp_path / "cycles-compositor" / "rgb_0001.png").is_file()


def test_prepare_with_rgb_renders_on_a_farm_as_render_does(td, rgbd, tmp_path: Path) -> None:
    """The farm job (fresh Blender, no extension, auto-exec off) writes the beauty and the depth of render."""
    blend, folder, _ = rgbd("cycles-compositor")
    assert run_cli(td, "prepare", blend, "--output", tmp_path / "job.blend", "--render-output", tmp_path / "farm",
                   "--outputs", "rgb,depth,camera,colmap") == 0
    render_in_fresh_blender(tmp_path / "job.blend", 1, 1, tmp_path)
    farm = tmp_path / "farm" / "cycles-compositor"
    read = submodule(td, "core.formats.exr").read_single_channel
    assert np.array_equal(read(farm / "depth_0001.exr"), read(folder / "depth_0001.exr"))
    assert np.abs(read_png(farm / "rgb_0001.png") - read_png(folder / "rgb_0001.png")).max() <= 1
    assert json.loads((farm / "camera_0001.json").read_text())["image"] == "rgb_0001.png"
    assert "rgb_0001.png" in (farm / "colmap" / "images.txt").read_text()


def test_the_depth_comes_from_the_rendered_view_layer(td, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """First layer not rendered (a common multi-layer set-up): the depth of the one that is, exact; several
    rendered layers need --view-layer (the error names them)."""
    scene = build("layers")
    scene.view_layers[0].use = False
    scene.view_layers.new("Foreground")
    blend = save(scene, tmp_path)
    assert run_cli(td, "render", blend, "--output", tmp_path / "out", "--outputs", "depth,distance,camera") == 0
    folder = tmp_path / "out" / "layers"
    read = submodule(td, "core.formats.exr").read_single_channel
    meta = json.loads((folder / "camera_0001.json").read_text())
    bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)
    truth = cast(bpy.data.scenes["layers"], meta, decal_is_transparent)
    assert share_within(read(folder / "depth_0001.exr"), truth.depth, truth.hit) >= REQUIRED
    bpy.data.scenes["layers"].view_layers[0].use = True
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    capsys.readouterr()
    assert run_cli(td, "render", blend, "--output", tmp_path / "two") == 1
    assert "renders 2 view layers ('ViewLayer', 'Foreground'): choose" in capsys.readouterr().err
    assert run_cli(td, "render", blend, "--output", tmp_path / "two", "--view-layer", "Foreground",
                   "--outputs", "depth") == 0
    assert share_within(read(tmp_path / "two" / "layers" / "depth_0001.exr"), truth.depth, truth.hit) >= REQUIRED
    bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)  # the job changed its copy in memory
    bpy.data.scenes["layers"].view_layers["Foreground"].use = False
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    for layer, message in (("Nope", "has no view layer 'Nope' (it has 'ViewLayer', 'Foreground')"),
                           ("Foreground", "view layer 'Foreground' is not rendered (its 'Use for Rendering' is off); "
                                          "rendered: 'ViewLayer'")):
        assert run_cli(td, "render", blend, "--output", tmp_path / "refused", "--view-layer", layer) == 1
        assert message in capsys.readouterr().err
    assert not (tmp_path / "refused").exists()


def test_example_writes_rgbd(td, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert run_cli(td, "example", "--output", tmp_path, "--resolution", "64x48", "--outputs", "rgb,depth,camera") == 0
    assert capsys.readouterr().out.count("rgb and depth from one render") == 2
    for scene in ("wall", "suzanne"):
        assert sorted(path.name for path in (tmp_path / scene).iterdir()) == [
            "camera_0001.json", "depth_0001.exr", "rgb_0001.png"]
        assert read_png(tmp_path / scene / "rgb_0001.png").shape == (48, 64, 4)
    depth = submodule(td, "core.formats.exr").read_single_channel(tmp_path / "wall" / "depth_0001.exr")
    assert np.allclose(depth, submodule(td, "commands.example").EXAMPLE_WALL_DISTANCE, rtol=5e-6)


def _movie(scene: bpy.types.Scene) -> None:
    settings = scene.render.image_settings
    if hasattr(settings, "media_type"):
        settings.media_type = "VIDEO"
    settings.file_format = "FFMPEG"


def _combined_views(scene: bpy.types.Scene) -> None:
    scene.render.use_multiview = True
    scene.render.image_settings.views_format = "STEREO_3D"


@pytest.mark.parametrize("command, change, message", [
    ("render", _movie, "the file's output format is a movie (FFMPEG): choose an image format"),
    ("render", _combined_views, "Views Format: Stereo 3D): choose Individual"),
    ("prepare", None, "depth of field (Camera) moves each pixel's first sample off its pinhole ray, so the "
                      "depth needs a render of its own"),
    ("convert", None, "convert renders nothing"),
])
def test_rgb_refusals(td, tmp_path: Path, capsys: pytest.CaptureFixture, command: str, change, message: str) -> None:
    scene = build("refused")
    if change is not None:
        change(scene)
    blend = save(scene, tmp_path)
    args = {"render": ["render", blend, "--output", tmp_path / "out"],
            "prepare": ["prepare", blend, "--output", tmp_path / "job.blend", "--render-output", tmp_path / "out"],
            "convert": ["convert", tmp_path / "distance_####.exr", "--camera", blend, "--output", tmp_path / "out"]}
    if command == "convert":
        submodule(td, "core.formats.exr").write_single_channel(tmp_path / "distance_0001.exr",
                                                       np.ones((48, 64), dtype=np.float32))
    capsys.readouterr()
    assert run_cli(td, *args[command], "--outputs", "rgb,depth") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.*"))


@pytest.mark.parametrize("engine, exact", [("CYCLES", True), ("EEVEE", False), ("BLENDER_WORKBENCH", False)])
def test_each_engines_own_z_decides_one_render_or_two(td, tmp_path: Path, engine: str, exact: bool) -> None:
    """The fact the one-render design rests on, on every version: Cycles' Z at the file's own sampling (64
    samples, adaptive sampling, denoising, a 3 px Blackman-Harris filter) is exact; EEVEE's (97.95 % measured,
    float depth buffer) and Workbench's (88.1 %: alpha-0 holes are opaque to it) are not, so their depth comes
    from a Cycles pass."""
    scene = build("engine", engine=eevee_engine() if engine == "EEVEE" else engine)
    bpy.data.objects["Camera"].data.dof.use_dof = False
    scene.cycles.samples, scene.cycles.use_adaptive_sampling, scene.cycles.use_denoising = 64, True, True
    scene.cycles.filter_width, scene.cycles.pixel_filter_type = 3.0, "BLACKMAN_HARRIS"
    scene.view_layers[0].use_pass_z = True
    compat = submodule(td, "blender.compat")
    tree = compat.fresh_compositor_tree(scene)
    layers = tree.nodes.new("CompositorNodeRLayers")
    layers.scene = scene
    _, sockets = compat.new_exr_file_output(tree, str(tmp_path), ["z_####"])
    tree.links.new(layers.outputs["Depth"], sockets[0])
    with bpy.context.temp_override(scene=scene):
        bpy.ops.render.render(write_still=False)
    z = submodule(td, "core.formats.exr").read_single_channel(tmp_path / "z_0001.exr")
    camera = scene.camera
    meta = submodule(td, "commands.frames").camera_json(
        scene, 1, camera, submodule(td, "core.camera").camera_from_scene(scene, camera))
    truth = cast(scene, meta, decal_is_transparent)
    share = share_within(np.where(z < 1e9, z, 0.0), truth.depth, truth.hit)
    print(f"{engine}: its Z within 1e-4 of the ray cast on {share:.2%} of {truth.hit.sum()} hit pixels")
    assert (share >= REQUIRED) == exact, share
    assert share > 0.8, "a planar depth, not another quantity"


def test_rgb_split_over_worker_processes_equals_one_process(td, tmp_path: Path) -> None:
    """--jobs 2 (fresh Blender workers): the same beauty, depth and COLMAP files as one process."""
    scene = build("jobs")
    bpy.data.objects["Camera"].data.dof.use_dof = False
    submodule(td, "blender.scenes").add_light(scene)
    rig = bpy.data.objects["Camera Rig"]
    for frame, x in ((1, 0.3), (2, 0.5)):
        rig.location.x = x
        rig.keyframe_insert("location", frame=frame)
    scene.frame_end = 2
    blend = save(scene, tmp_path)
    args = ["render", blend, "--outputs", "rgb,depth,camera,colmap", "--frames", "1-2"]
    assert run_cli(td, *args, "--output", tmp_path / "one") == 0
    assert run_cli(td, *args, "--output", tmp_path / "two", "--jobs", "2") == 0
    one, two = tmp_path / "one" / "jobs", tmp_path / "two" / "jobs"
    names = sorted(path.name for path in one.iterdir())
    assert names == sorted(path.name for path in two.iterdir()) and "rgb_0002.png" in names
    read = submodule(td, "core.formats.exr").read_single_channel
    for frame in (1, 2):
        assert np.array_equal(read_png(one / f"rgb_{frame:04d}.png"), read_png(two / f"rgb_{frame:04d}.png"))
        assert np.array_equal(read(one / f"depth_{frame:04d}.exr"), read(two / f"depth_{frame:04d}.exr"))
    assert (one / "colmap" / "images.txt").read_text() == (two / "colmap" / "images.txt").read_text()
    assert not np.array_equal(read_png(one / "rgb_0001.png"), read_png(one / "rgb_0002.png")), "the camera moves"
