"""The main job's command line, run in-process inside Blender: files, numbers, readers and error paths."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import submodule
from render_helpers import ANIMATION_FRAMES, CYCLES_RTOL, REFERENCE_RTOL, WALL_DISTANCE, animated_scene, relative_error

OUTPUT_NAMES = ("depth_{:04d}.exr", "distance_{:04d}.exr", "preview_{:04d}.png", "camera_{:04d}.json")


def run_cli(td, *args: object) -> int:
    return submodule(td, "commands.cli").main([str(arg) for arg in args])


def frame_files(folder: Path, frame: int) -> list[Path]:
    return [folder / name.format(frame) for name in OUTPUT_NAMES]


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with a hash of its bytes."""
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def example(td, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default example, run once: 320x240, 35 mm."""
    output = tmp_path_factory.mktemp("example")
    assert run_cli(td, "example", "--output", output) == 0
    return output


def test_example_writes_every_file_and_a_flat_wall(td, example: Path) -> None:
    read = submodule(td, "core.formats.exr").read_single_channel
    for scene in ("wall", "suzanne"):
        for path in frame_files(example / scene, 1):
            assert path.is_file(), f"{path} missing"
        assert not list((example / scene).glob(".true-depth-partial-*")), "staging folder left behind"
    depth, distance = read(example / "wall" / "depth_0001.exr"), read(example / "wall" / "distance_0001.exr")
    assert depth.shape == (240, 320) and depth.dtype == np.float32
    assert (distance.max() - distance.min()) / distance.min() > 0.10
    assert relative_error(depth, np.full(depth.shape, WALL_DISTANCE)) <= CYCLES_RTOL


def test_sidecar_k_matches_intrinsics_and_the_wall_back_projects_coplanar(td, example: Path) -> None:
    meta = json.loads((example / "wall" / "camera_0001.json").read_text())
    camera = submodule(td, "core.camera").BlenderCamera.from_settings(lens=35, resolution_x=320, resolution_y=240)
    np.testing.assert_allclose(meta["K"], camera.matrix(), rtol=1e-6)
    assert (meta["width"], meta["height"], meta["projection"]) == (320, 240, "PERSP")
    for key in ("camera_to_world_blender", "camera_to_world_opencv", "clip_start", "clip_end", "unit_scale",
                "depth_unit", "camera_model"):
        assert key in meta, key
    depth = submodule(td, "core.formats.exr").read_single_channel(example / "wall" / "depth_0001.exr")
    points = submodule(td, "core.outputs.pointcloud").depth_to_points(depth, np.array(meta["K"]))
    centred = points - points.mean(axis=0)
    normal = np.linalg.svd(centred, full_matrices=False)[2][-1]
    assert np.max(np.abs(centred @ normal)) <= 1e-5 * WALL_DISTANCE
    to_world = np.array(meta["camera_to_world_opencv"])
    assert np.allclose(to_world[:3, 2], [0, 0, -1])  # OpenCV +Z is Blender's view direction -Z


def test_suzanne_points_lie_on_the_mesh(td, example: Path, tmp_path: Path) -> None:
    import bpy
    from mathutils.bvhtree import BVHTree

    ply = tmp_path / "suzanne.ply"
    suzanne = example / "suzanne"
    assert run_cli(td, "pointcloud", suzanne / "depth_0001.exr", suzanne / "camera_0001.json", ply, "--world") == 0
    points = submodule(td, "core.outputs.pointcloud").read_ply(ply)
    # Rebuild the example's geometry (the CLI ran in a file that is gone) and measure point-surface distances.
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    scenes = submodule(td, "blender.scenes")
    scene = bpy.context.scene
    meshes = [scenes.add_suzanne(scene), scenes.add_wall(scene, WALL_DISTANCE)]
    depsgraph = bpy.context.evaluated_depsgraph_get()
    trees = [BVHTree.FromObject(obj, depsgraph) for obj in meshes]
    matrices = [np.array(obj.matrix_world) for obj in meshes]
    assert len(points) == 320 * 240
    gaps = []
    for point in points.astype(np.float64):
        gaps.append(min((tree.find_nearest(matrix[:3, :3].T @ (point - matrix[:3, 3]))[3])
                        for tree, matrix in zip(trees, matrices, strict=True)))
    gaps = np.array(gaps)
    on_monkey = np.linalg.norm(points - np.array([0, 0, -3.0]), axis=1) < 1.5
    assert on_monkey.sum() > 1000
    assert np.mean(gaps[on_monkey] <= 1e-3) >= 0.99, np.quantile(gaps[on_monkey], [0.5, 0.99])


def test_exrs_read_identically_with_openexr_opencv_and_imageio(td, example: Path) -> None:
    os.environ["OPENCV_IO_ENABLE_OPENEXR"] = "1"  # must be set before cv2 is imported
    cv2 = pytest.importorskip("cv2", reason="opencv-python-headless is a test dependency")
    imageio = pytest.importorskip("imageio.v3", reason="imageio is a test dependency")
    for name in ("depth_0001.exr", "distance_0001.exr"):
        path = example / "suzanne" / name
        with_openexr = submodule(td, "core.formats.exr").read_single_channel(path)
        with_opencv = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        with_imageio = imageio.imread(path, plugin="opencv", flags=cv2.IMREAD_UNCHANGED)
        assert with_opencv is not None, f"OpenCV cannot read {path}"
        assert with_opencv.shape == with_imageio.shape == with_openexr.shape == (240, 320)
        assert with_opencv.dtype == with_imageio.dtype == np.float32
        assert np.array_equal(with_opencv, with_openexr) and np.array_equal(with_imageio, with_openexr)


def test_summary_reads_exrs_without_openexr_like_with_it(td, example: Path, monkeypatch) -> None:
    """A user's Blender has no OpenEXR module: the CLI then reads its EXRs with Blender's loader."""
    base, exr = submodule(td, "commands.base"), submodule(td, "core.formats.exr")
    path = example / "suzanne" / "depth_0001.exr"
    with_openexr = base.read_exr(path)

    def no_openexr(_path):
        raise ImportError("No module named 'OpenEXR'")

    monkeypatch.setattr(exr, "read_single_channel", no_openexr)
    without_openexr = base.read_exr(path)
    assert without_openexr.shape == with_openexr.shape == (240, 320)
    assert np.array_equal(without_openexr, with_openexr)


@pytest.fixture(scope="module")
def animated_blend(td, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's .blend: three cameras switched at markers, keyframed lens/ortho scale, Cycles."""
    import bpy

    scene, _ = animated_scene()
    scene.name = "Shot 010"
    scene.cycles.samples = 16  # the user's settings; the CLI renders depth at 1 sample anyway
    path = tmp_path_factory.mktemp("blend") / "shot.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    return path


def test_render_writes_every_frame_exactly_and_leaves_the_file_alone(td, animated_blend: Path,
                                                                     tmp_path: Path) -> None:
    before = hashlib.sha256(animated_blend.read_bytes()).hexdigest()
    frames = f"{ANIMATION_FRAMES[0]}-{ANIMATION_FRAMES[-1]}"
    assert run_cli(td, "render", animated_blend, "--output", tmp_path, "--frames", frames) == 0
    assert hashlib.sha256(animated_blend.read_bytes()).hexdigest() == before
    folder = tmp_path / "Shot_010"
    read, reference = submodule(td, "core.formats.exr").read_single_channel, submodule(td, "core.reference")
    sidecar = submodule(td, "core.outputs.sidecar")
    projections = set()
    for frame in ANIMATION_FRAMES:
        assert all(path.is_file() for path in frame_files(folder, frame)), frame
        meta, camera = sidecar.load(folder / f"camera_{frame:04d}.json")
        projections.add(camera.projection)
        depth, distance = read(folder / f"depth_{frame:04d}.exr"), read(folder / f"distance_{frame:04d}.exr")
        assert relative_error(depth, np.full(depth.shape, WALL_DISTANCE)) <= CYCLES_RTOL, frame
        expected = reference.distance_to_depth(distance, camera.matrix(), camera.projection)
        assert relative_error(depth, expected) <= REFERENCE_RTOL, frame
    assert projections == {"PERSP", "ORTHO"}


def test_render_with_mist_source(td, animated_blend: Path, tmp_path: Path) -> None:
    assert run_cli(td, "render", animated_blend, "--output", tmp_path, "--frames", "1", "--source", "mist") == 0
    depth = submodule(td, "core.formats.exr").read_single_channel(tmp_path / "Shot_010" / "depth_0001.exr")
    # Mist is a 0..1 value over the clip range (here 100 units): float32 steps of ~1e-5 relative at 5 units.
    assert relative_error(depth, np.full(depth.shape, WALL_DISTANCE)) <= 1e-4


ENGINES = ("numpy", "node")


@pytest.mark.parametrize("engine", ENGINES)
def test_convert_equals_render(td, animated_blend: Path, tmp_path: Path, engine: str) -> None:
    """Both engines, an animated .blend camera (persp./ortho.) and a JSON camera, both directions."""
    read = submodule(td, "core.formats.exr").read_single_channel
    rendered, converted = tmp_path / "rendered", tmp_path / "converted"
    assert run_cli(td, "render", animated_blend, "--output", rendered, "--frames", "2-4") == 0
    pattern = rendered / "Shot_010" / "distance_####.exr"
    assert run_cli(td, "convert", pattern, "--camera", animated_blend, "--output", converted,
                   "--engine", engine) == 0
    assert sorted(path.name for path in (converted / "Shot_010").iterdir()) == sorted(
        f"{kind}_{frame:04d}.{ext}" for frame in (2, 3, 4) for kind, ext in (("depth", "exr"), ("camera", "json"))
    ), "convert writes depth and the sidecar by default (its input already is the distance)"
    for frame in (2, 3, 4):
        name = f"depth_{frame:04d}.exr"
        got, want = read(converted / "Shot_010" / name), read(rendered / "Shot_010" / name)
        assert np.max(np.abs(got - want) / want) <= 1e-6, frame
    # A fixed camera from a JSON sidecar, and the way back (depth -> distance).
    json_out = tmp_path / "json"
    camera_json = rendered / "Shot_010" / "camera_0002.json"
    assert run_cli(td, "convert", rendered / "Shot_010" / "depth_0002.exr", "--camera", camera_json,
                   "--output", json_out, "--to", "distance", "--engine", engine) == 0
    back = read(json_out / "Shot_010" / "distance_0002.exr")
    want = read(rendered / "Shot_010" / "distance_0002.exr")
    assert np.max(np.abs(back - want) / want) <= 1e-6


@pytest.mark.parametrize("command", ["example", "render", "convert", "pointcloud"])
def test_every_subcommand_has_help(td, command: str, capsys) -> None:
    assert run_cli(td, command, "--help") == 0
    assert f"usage: true_depth {command}" in capsys.readouterr().out


@pytest.mark.parametrize("args", [["example", "--resolution", "12"], ["explode"], ["example", "--lens"],
                                  ["render", "x.blend"], ["render", "x.blend", "--output", "o", "--frames", "9-3"],
                                  ["pointcloud", "a", "b", "c", "--stride", "0"]])
def test_bad_usage_exits_with_2(td, args: list[str]) -> None:
    assert run_cli(td, *args) == 2


def test_example_never_overwrites_without_flag(td, tmp_path: Path) -> None:
    existing = tmp_path / "wall" / "depth_0001.exr"
    existing.parent.mkdir(parents=True)
    existing.write_bytes(b"precious")
    assert run_cli(td, "example", "--output", tmp_path, "--resolution", "16x12") == 1
    assert existing.read_bytes() == b"precious"
    assert not (tmp_path / "suzanne").exists()
    assert run_cli(td, "example", "--output", tmp_path, "--resolution", "16x12", "--overwrite") == 0
    assert existing.read_bytes() != b"precious"


def save_scene(path: Path, change) -> Path:
    """Save the animated scene with ``change(scene)`` applied."""
    import bpy

    scene, _ = animated_scene()
    change(scene)
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    return path


def _no_camera(scene) -> None:
    scene.timeline_markers.clear()
    scene.camera = None


def _custom_camera(scene) -> None:
    scene.camera.data.type = "CUSTOM"  # Cycles' OSL camera: no projection models it


@pytest.mark.parametrize("change, message", [
    (_no_camera, "has no active camera"),
    (_custom_camera, "'CUSTOM'"),
], ids=["no-camera", "custom-camera"])
def test_render_refuses_scenes_it_cannot_do_exactly(td, tmp_path: Path, capsys, change, message: str) -> None:
    blend = save_scene(tmp_path / "bad.blend", change)
    out = tmp_path / "out"
    assert run_cli(td, "render", blend, "--output", out, "--frames", "1") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("true_depth: error:") and message in err[0], err
    assert not list(out.rglob("*.exr"))


@pytest.fixture
def distance_sequence(td, animated_blend: Path, tmp_path: Path) -> Path:
    """Frames 1-3 of the animated blend, rendered: OUT/Shot_010/distance_000[1-3].exr."""
    assert run_cli(td, "render", animated_blend, "--output", tmp_path / "seq", "--frames", "1-3") == 0
    return tmp_path / "seq" / "Shot_010"


def _corrupt(folder: Path, frame: int = 1) -> None:
    path = folder / f"distance_{frame:04d}.exr"
    path.write_bytes(path.read_bytes()[:2000])  # the header survives, the pixels do not


def _garbage_pixels(folder: Path) -> None:
    """Valid header and offsets, undecodable pixel data: only Blender's decoder can tell."""
    path = folder / "distance_0001.exr"
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 200] = bytes(range(200))
    path.write_bytes(bytes(data))


def _missing_frame(folder: Path) -> None:
    (folder / "distance_0002.exr").unlink()


@pytest.mark.parametrize("damage, args, message", [
    (_corrupt, [], "distance_0001.exr: truncated"),
    (_garbage_pixels, [], "distance_0001.exr: cannot read image (corrupt pixel data)"),
    (_missing_frame, [], "lacks frame(s) 2"),
    (None, ["--camera-json", "missing.json"], "no such file"),
    (None, ["--camera-json", "broken.json"], "not a readable JSON"),
    (None, ["--output-file"], "is not a folder"),
], ids=["corrupt-exr", "garbage-pixels", "missing-frame", "missing-json", "broken-json", "output-is-a-file"])
@pytest.mark.parametrize("engine", ENGINES)
def test_convert_errors_are_one_line_and_touch_nothing(td, animated_blend: Path, distance_sequence: Path,
                                                       tmp_path: Path, capsys, damage, args: list,
                                                       message: str, engine: str) -> None:
    if damage is not None:
        damage(distance_sequence)
    camera: Path = animated_blend
    output = tmp_path / "converted"
    output.mkdir()
    (output / "keep.txt").write_text("mine")
    if args[:1] == ["--camera-json"]:
        camera = tmp_path / args[1]
        if args[1] == "broken.json":
            camera.write_text("{ nope")
    if args[:1] == ["--output-file"]:
        output = tmp_path / "a_file"
        output.write_text("not a folder")
    before = snapshot(tmp_path)
    capsys.readouterr()
    code = run_cli(td, "convert", distance_sequence / "distance_####.exr", "--camera", camera,
                   "--output", output, "--engine", engine)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and message in err[0], err
    assert snapshot(tmp_path) == before, "a failed convert must leave every file as it was"


@pytest.mark.parametrize("engine", ENGINES)
def test_convert_refuses_a_size_that_does_not_fit_the_camera(td, distance_sequence: Path, tmp_path: Path,
                                                             capsys, engine: str) -> None:
    meta = json.loads((distance_sequence / "camera_0001.json").read_text())
    meta["camera_model"]["resolution_x"] += 2
    camera = tmp_path / "other.json"
    camera.write_text(json.dumps(meta))
    assert run_cli(td, "convert", distance_sequence / "distance_0001.exr", "--camera", camera,
                   "--output", tmp_path / "out", "--engine", engine) == 1
    assert "the camera renders" in capsys.readouterr().err
    assert not list((tmp_path / "out").rglob("*.exr"))


def test_outputs_are_never_overwritten_without_the_flag(td, animated_blend: Path, distance_sequence: Path,
                                                        tmp_path: Path, capsys) -> None:
    out = distance_sequence.parent
    before = snapshot(out)
    assert run_cli(td, "render", animated_blend, "--output", out, "--frames", "1-3") == 1
    assert "--overwrite" in capsys.readouterr().err
    ply = tmp_path / "cloud.ply"
    ply.write_bytes(b"mine")
    assert run_cli(td, "pointcloud", distance_sequence / "depth_0001.exr", distance_sequence / "camera_0001.json",
                   ply) == 1
    assert ply.read_bytes() == b"mine"
    assert snapshot(out) == before


@pytest.mark.parametrize("engine", ENGINES)
def test_a_failure_mid_sequence_keeps_finished_frames_and_leaves_no_partial_files(
        td, animated_blend: Path, distance_sequence: Path, tmp_path: Path, capsys, engine: str) -> None:
    """The numpy engine converts frames 2 and 3 at the same time: frame 3 must not arrive either."""
    _corrupt(distance_sequence, frame=2)
    output = tmp_path / "converted"
    assert run_cli(td, "convert", distance_sequence / "distance_####.exr", "--camera", animated_blend,
                   "--output", output, "--outputs", "depth,distance,preview,camera", "--engine", engine) == 1
    assert "distance_0002.exr: truncated" in capsys.readouterr().err
    folder = output / "Shot_010"
    assert all(path.is_file() for path in frame_files(folder, 1)), "frame 1 finished before the failure"
    assert sorted(path.name for path in folder.iterdir()) == sorted(p.name for p in frame_files(folder, 1))


def test_prepare_writes_a_farm_job_equal_to_render(td, animated_blend: Path, tmp_path: Path) -> None:
    """prepare + fresh Blender processes (no extension, auto-exec off; one process vs two) == render."""
    from test_animation import render_in_fresh_blender

    before = hashlib.sha256(animated_blend.read_bytes()).hexdigest()
    assert run_cli(td, "render", animated_blend, "--output", tmp_path / "render", "--frames", "1-4") == 0
    read = submodule(td, "core.formats.exr").read_single_channel
    for name in ("whole", "split"):
        assert run_cli(td, "prepare", animated_blend, "--output", tmp_path / f"{name}-job" / "job.blend",
                       "--render-output", tmp_path / name, "--frames", "1-4") == 0
    assert hashlib.sha256(animated_blend.read_bytes()).hexdigest() == before, "the scene file is never written"
    render_in_fresh_blender(tmp_path / "whole-job" / "job.blend", 1, 4, tmp_path)
    render_in_fresh_blender(tmp_path / "split-job" / "job.blend", 1, 2, tmp_path)
    render_in_fresh_blender(tmp_path / "split-job" / "job.blend", 3, 4, tmp_path)
    for frame in range(1, 5):
        for kind in ("depth", "distance"):
            name = f"Shot_010/{kind}_{frame:04d}.exr"
            want = read(tmp_path / "render" / name)
            assert np.array_equal(read(tmp_path / "whole" / name), want), name
            assert np.array_equal(read(tmp_path / "split" / name), want), name
        rendered = json.loads((tmp_path / "render" / f"Shot_010/camera_{frame:04d}.json").read_text())
        prepared = json.loads((tmp_path / "whole" / f"Shot_010/camera_{frame:04d}.json").read_text())
        assert prepared == rendered


@pytest.mark.parametrize("args, code, message", [
    (["--outputs", "preview"], 1, "need the rendered images"),
    (["--frames", "1,3"], 1, "one frame range"),
    (["--outputs", "bogus"], 2, "unknown output kind"),
])
def test_prepare_refusals(td, animated_blend: Path, tmp_path: Path, capsys, args: list, code: int,
                          message: str) -> None:
    assert run_cli(td, "prepare", animated_blend, "--output", tmp_path / "job.blend", "--render-output",
                   tmp_path / "out", *args) == code
    assert message in capsys.readouterr().err
    assert not (tmp_path / "job.blend").exists() and not (tmp_path / "out").exists()


def test_both_convert_engines_write_the_same_files(td, animated_blend: Path, distance_sequence: Path,
                                                   tmp_path: Path) -> None:
    """Every per-frame kind: same files, same numbers (float32 rounding apart). (COLMAP and nerfstudio come
    from the sidecars alone, and this shot has an orthographic camera, which they cannot describe.)"""
    args = ["convert", distance_sequence / "distance_####.exr", "--camera", animated_blend,
            "--outputs", "depth,distance,preview,camera,depth16"]
    for engine in ENGINES:
        assert run_cli(td, *args, "--output", tmp_path / engine, "--engine", engine) == 0
    files = {engine: snapshot(tmp_path / engine) for engine in ENGINES}
    assert sorted(files["numpy"]) == sorted(files["node"]) and len(files["numpy"]) == 3 * 5
    read = submodule(td, "core.formats.exr").read_single_channel
    import cv2

    for name in files["numpy"]:
        one, two = tmp_path / "numpy" / name, tmp_path / "node" / name
        if name.endswith(".exr"):
            assert relative_error(read(one), read(two)) <= 1e-6, name
        elif name.endswith(".png"):  # preview and depth16 (a rounding may flip at .5)
            pixels = [cv2.imread(str(path), cv2.IMREAD_UNCHANGED).astype(np.int64) for path in (one, two)]
            assert np.abs(pixels[0] - pixels[1]).max() <= 1, name
        else:
            assert one.read_text() == two.read_text(), name


@pytest.mark.parametrize("command", ["render", "convert"])
def test_jobs_split_over_worker_processes_equal_one_process(td, animated_blend: Path, distance_sequence: Path,
                                                            tmp_path: Path, command: str) -> None:
    """--jobs 2: two worker processes (fresh Blender processes) write what one process writes."""
    if command == "render":
        args = ["render", animated_blend, "--frames", "1-3"]
    else:
        args = ["convert", distance_sequence / "distance_####.exr", "--camera", animated_blend]
    assert run_cli(td, *args, "--output", tmp_path / "one") == 0
    assert run_cli(td, *args, "--output", tmp_path / "two", "--jobs", "2") == 0
    one, two = snapshot(tmp_path / "one"), snapshot(tmp_path / "two")
    assert sorted(one) == sorted(two) and len(one) >= 6
    read = submodule(td, "core.formats.exr").read_single_channel
    for name in one:
        if name.endswith(".exr"):
            assert np.array_equal(read(tmp_path / "one" / name), read(tmp_path / "two" / name)), name
        elif name.endswith(".json"):
            assert json.loads((tmp_path / "one" / name).read_text()) == json.loads((tmp_path / "two" / name)
                                                                                  .read_text()), name


def test_the_readme_main_job_command_runs_through_the_shell_script(tmp_path: Path) -> None:
    """``tools/true_depth.sh`` as a user runs it (its own Blender process: this version's), on a tiny example."""
    import subprocess

    import bpy
    from conftest import REPO

    env = {**os.environ, "TRUE_DEPTH_BLENDER": "{}.{}".format(*bpy.app.version[:2])}
    result = subprocess.run(["bash", str(REPO / "tools" / "true_depth.sh"), "example", "--output", str(tmp_path),
                             "--resolution", "32x24"], capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "wall: distance varies" in result.stdout
    for scene in ("wall", "suzanne"):
        assert all(path.is_file() for path in frame_files(tmp_path / scene, 1)), scene
    usage = subprocess.run(["bash", str(REPO / "tools" / "true_depth.sh"), "render"], capture_output=True, text=True,
                           timeout=600, env=env)
    assert usage.returncode == 2 and "usage:" in usage.stderr
