"""The bpy-free output helpers: camera JSON, PLY point clouds, PNG previews, EXR channel names."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from depth_node.core.camera import BlenderCamera
from depth_node.core.formats import exr
from depth_node.core.outputs import pointcloud, preview, sidecar
from depth_node.core.reference import depth_to_distance

REPO = Path(__file__).resolve().parents[2]
CAMERAS = {
    "persp": BlenderCamera.from_settings(lens=30, resolution_x=40, resolution_y=30, shift_x=0.1),
    "persp-aspect-vertical": BlenderCamera.from_settings(lens=50, sensor_fit="VERTICAL", resolution_x=30,
                                                         resolution_y=40,
                                           pixel_aspect_x=1.7, shift_y=-0.2),
    "ortho-crop": BlenderCamera.from_settings(projection="ORTHO", ortho_scale=3.0, resolution_x=40, resolution_y=30,
                                use_border=True, crop_to_border=True, border=(0.1, 0.9, 0.2, 0.8)),
}


@pytest.mark.parametrize("camera", CAMERAS.values(), ids=CAMERAS.keys())
def test_from_matrix_rebuilds_the_same_projection(camera: BlenderCamera) -> None:
    rebuilt = BlenderCamera.from_matrix(camera.matrix(), camera.width, camera.height, camera.projection)
    np.testing.assert_allclose(rebuilt.matrix(), camera.matrix(), rtol=1e-12, atol=1e-9)
    assert rebuilt.frame.pixel_aspect_x >= 1 and rebuilt.frame.pixel_aspect_y >= 1  # Blender's minimum


@pytest.mark.parametrize("camera", CAMERAS.values(), ids=CAMERAS.keys())
def test_sidecar_round_trips_the_camera(camera: BlenderCamera, tmp_path: Path) -> None:
    meta = sidecar.camera_metadata(camera, np.eye(4), 0.1, 100.0, 1.0)
    path = tmp_path / "camera.json"
    path.write_text(json.dumps(meta))
    loaded_meta, loaded = sidecar.load(path)
    assert loaded == camera
    assert loaded_meta["K"] == camera.matrix().tolist()
    k_only = {key: meta[key] for key in ("K", "width", "height", "projection")}
    np.testing.assert_allclose(sidecar.camera_from_metadata(k_only).matrix(), camera.matrix(), rtol=1e-12)


@pytest.mark.parametrize(
    "content, message",
    [(None, "no such file"), ("{not json", "not a readable JSON"), ("[1, 2]", "JSON object"),
     ('{"K": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}', "lacks 'width'"),
     ('{"K": [[0, 0, 0], [0, 1, 0], [0, 0, 1]], "width": 4, "height": 4}', "positive focal")],
)
def test_bad_sidecars_give_clear_errors(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "camera.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(sidecar.SidecarError, match=message):
        sidecar.load(path)


@pytest.mark.parametrize("camera", CAMERAS.values(), ids=CAMERAS.keys())
def test_points_of_a_wall_lie_on_the_wall(camera: BlenderCamera) -> None:
    depth = np.full((camera.height, camera.width), 4.0, dtype=np.float32)
    depth[0, 0], depth[1, 1], depth[2, 2] = 0.0, 1e10, np.nan  # background: dropped
    points = pointcloud.depth_to_points(depth, camera.matrix(), camera.projection)
    assert points.shape == (depth.size - 3, 3)
    np.testing.assert_allclose(points[:, 2], 4.0)
    # The distance to the camera origin equals what the reference says the distance image holds.
    expected = depth_to_distance(np.full(depth.shape, 4.0), camera.matrix(), camera.projection)
    assert np.isclose(np.linalg.norm(points, axis=1).max(), expected.max())
    strided = pointcloud.depth_to_points(depth, camera.matrix(), camera.projection, stride=3)
    assert len(strided) == len(range(0, camera.height, 3)) * len(range(0, camera.width, 3)) - 1


def test_world_transform_and_ply_round_trip(tmp_path: Path) -> None:
    points = np.array([[0.0, 0.0, 1.0], [1.0, 2.0, 3.0]])
    to_world = np.eye(4)
    to_world[:3, 3] = (10.0, 20.0, 30.0)
    moved = pointcloud.to_world(points, to_world)
    np.testing.assert_allclose(moved, points + (10, 20, 30))
    path = tmp_path / "points.ply"
    pointcloud.write_ply(path, moved)
    assert path.read_bytes().startswith(b"ply\nformat binary_little_endian 1.0\n")
    np.testing.assert_array_equal(pointcloud.read_ply(path), moved.astype(np.float32))


def read_png(path: Path) -> np.ndarray:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    position, compressed = 8, b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position:position + 4])
        kind = data[position + 4:position + 8]
        if kind == b"IDAT":
            compressed += data[position + 8:position + 8 + length]
        position += 12 + length
    rows = np.frombuffer(zlib.decompress(compressed), dtype=np.uint8).reshape(height, 1 + 3 * width)
    assert np.all(rows[:, 0] == 0)  # filter type None
    return rows[:, 1:].reshape(height, width, 3)


def test_preview_shares_one_scale_and_greys_the_background(tmp_path: Path) -> None:
    distance = np.tile(np.linspace(5.0, 6.0, 20), (10, 1)).astype(np.float32)
    depth = np.full_like(distance, 5.0)
    distance[0, 0] = depth[0, 0] = 0.0
    image = preview.side_by_side(distance, depth)
    path = tmp_path / "preview.png"
    preview.write_png(path, image)
    np.testing.assert_array_equal(read_png(path), image)
    zoom = 160 // 20
    title = 16
    left_panel = image[title:title + 10 * zoom, :20 * zoom]
    right_panel = image[title:title + 10 * zoom, 20 * zoom + 8:]
    assert tuple(left_panel[0, 0]) == (96, 96, 96) == tuple(right_panel[0, 0])
    # Depth 5.0 is the scale's minimum in both panels: the same colour as the left panel's 5.0 column.
    np.testing.assert_array_equal(right_panel[5 * zoom, 5 * zoom], left_panel[5 * zoom, 0])
    np.testing.assert_array_equal(left_panel[5 * zoom, -1], preview.viridis(np.array(1.0)))


def test_viridis_endpoints_match_matplotlib() -> None:
    # matplotlib's viridis: #440154 at 0, #21918c at 0.5, #fde725 at 1 (the fit is within 4/255).
    expected = np.array([[0x44, 0x01, 0x54], [0x21, 0x91, 0x8C], [0xFD, 0xE7, 0x25]])
    got = preview.viridis(np.array([0.0, 0.5, 1.0])).astype(int)
    assert np.max(np.abs(got - expected)) <= 4


def test_exr_channel_rename_keeps_pixels(tmp_path: Path) -> None:
    pytest.importorskip("OpenEXR", reason="OpenEXR is a test dependency (tools/requirements-test.txt)")
    path = tmp_path / "d.exr"
    pixels = np.random.default_rng(3).uniform(0, 10, (6, 7)).astype(np.float32)
    exr.write_single_channel(path, pixels, channel="V")
    size = path.stat().st_size
    exr.rename_single_channel(path)
    import OpenEXR

    with OpenEXR.File(str(path)) as renamed:
        assert list(renamed.channels()) == ["Y"]
    np.testing.assert_array_equal(exr.read_single_channel(path), pixels)
    assert [p.name for p in tmp_path.iterdir()] == ["d.exr"] and path.stat().st_size == size
    two = tmp_path / "two.exr"
    OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION}, {"R": pixels, "G": pixels}).write(str(two))
    with pytest.raises(exr.ExrError, match="one channel"):
        exr.rename_single_channel(two)


def test_pointcloud_runs_in_plain_python_without_bpy(tmp_path: Path) -> None:
    """``python -m depth_node pointcloud`` needs numpy and OpenEXR only (the module import is bpy-free)."""
    pytest.importorskip("OpenEXR", reason="OpenEXR is a test dependency (tools/requirements-test.txt)")
    camera = CAMERAS["persp"]
    exr.write_single_channel(tmp_path / "depth.exr", np.full((camera.height, camera.width), 2.0, np.float32))
    (tmp_path / "camera.json").write_text(json.dumps(sidecar.camera_metadata(camera, np.eye(4), 0.1, 100, 1)))
    script = ("import sys, builtins; real = builtins.__import__\n"
              "def guard(name, *a, **k):\n"
              "    if name.split('.')[0] in ('bpy', 'mathutils'): raise ImportError('bpy is not allowed here')\n"
              "    return real(name, *a, **k)\n"
              "builtins.__import__ = guard\n"
              "import runpy; sys.argv = ['depth_node', *sys.argv[1:]]\n"
              "runpy.run_module('depth_node', run_name='__main__')\n")
    args = ["pointcloud", str(tmp_path / "depth.exr"), str(tmp_path / "camera.json"), str(tmp_path / "out.ply"),
            "--world", "--stride", "2"]
    result = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert result.returncode == 0, result.stderr
    points = pointcloud.read_ply(tmp_path / "out.ply")
    assert len(points) == 20 * 15
    np.testing.assert_allclose(points[:, 2], -2.0, rtol=1e-6)  # world: the camera looks down -Z
    again = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, cwd=REPO,
                           env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert again.returncode == 1 and "--overwrite" in again.stderr


def test_exr_structure_check_finds_every_truncation(tmp_path: Path) -> None:
    """Blender crashes on some truncated EXRs, so the CLI checks structure first."""
    pytest.importorskip("OpenEXR", reason="OpenEXR is a test dependency (tools/requirements-test.txt)")
    path = tmp_path / "d.exr"
    exr.write_single_channel(path, np.random.default_rng(5).uniform(0, 9, (32, 48)).astype(np.float32))
    data = path.read_bytes()
    assert exr.check_structure(path) == (48, 32)
    for length in range(0, len(data), max(1, len(data) // 97)):
        path.write_bytes(data[:length])
        with pytest.raises(exr.ExrError, match="not an OpenEXR|truncated|corrupt"):
            exr.check_structure(path)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + data[8:])
    with pytest.raises(exr.ExrError, match="not an OpenEXR file"):
        exr.check_structure(path)


def test_value_channel_is_the_only_channel_or_red(tmp_path: Path) -> None:
    """convert's numpy engine takes what Separate Color (R) takes in the node engine, and refuses the rest."""
    openexr = pytest.importorskip("OpenEXR", reason="OpenEXR is a test dependency (tools/requirements-test.txt)")
    rng = np.random.default_rng(9)
    red, green = (rng.uniform(1, 9, (6, 8)).astype(np.float32) for _ in range(2))
    header = {"compression": openexr.ZIP_COMPRESSION, "type": openexr.scanlineimage}
    cases = {"rgba": {"R": red, "G": green, "B": green, "A": np.ones_like(red)}, "y": {"Y": red},
             "half": {"Z": red.astype(np.float16)}}
    for name, channels in cases.items():
        openexr.File(header, channels).write(str(tmp_path / f"{name}.exr"))
        got = exr.read_value_channel(tmp_path / f"{name}.exr")
        assert got.dtype == np.float32 and got.shape == (6, 8)
        np.testing.assert_array_equal(got, red.astype(np.float16).astype(np.float32) if name == "half" else red)
    for name, channels in {"layers": {"depth.R": red, "normal.R": green}, "no-red": {"G": green, "B": green}}.items():
        openexr.File(header, channels).write(str(tmp_path / f"{name}.exr"))
        with pytest.raises(exr.ExrError, match="expected one channel or R, G, B"):
            exr.read_value_channel(tmp_path / f"{name}.exr")


def test_plain_python_without_openexr_gives_one_line_and_exit_1(tmp_path: Path) -> None:
    """No OpenEXR and no Blender: ``pointcloud`` says what it needs in one line instead of a traceback."""
    camera = CAMERAS["persp"]
    meta = sidecar.camera_metadata(camera, np.eye(4), 0.1, 100.0, 1.0)
    (tmp_path / "camera.json").write_text(json.dumps(meta))
    (tmp_path / "depth.exr").write_bytes(b"not read")
    code = ("import sys\nsys.modules['OpenEXR'] = None\nsys.modules['bpy'] = None\n"
            "from depth_node.commands.cli import main\n"
            f"sys.exit(main(['pointcloud', {str(tmp_path / 'depth.exr')!r}, {str(tmp_path / 'camera.json')!r}, "
            f"{str(tmp_path / 'out.ply')!r}]))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "OpenEXR" in result.stderr and result.stderr.startswith("true_depth: error: ")
    assert not (tmp_path / "out.ply").exists()


def test_output_table_drives_paths_help_and_selection(tmp_path: Path) -> None:
    from depth_node.core import outputs

    assert [kind.name for kind in outputs.DEFAULT_KINDS] == ["depth", "distance", "preview", "camera"]
    assert [kind.name for kind in outputs.select(None, "convert")] == ["depth", "camera"]
    paths = outputs.frame_paths(tmp_path, 7, outputs.OUTPUT_KINDS, "_L")
    assert paths == {kind.name: tmp_path / f"{kind.name}_0007_L.{kind.extension}"
                     for kind in outputs.OUTPUT_KINDS if kind.per_frame}
    assert outputs.job_paths(tmp_path, outputs.select(["colmap", "nerf"])) == [
        tmp_path / "colmap/cameras.txt", tmp_path / "colmap/images.txt", tmp_path / "colmap/points3D.txt",
        tmp_path / "transforms.json"]
    assert all(f"{kind.name}: " in outputs.describe() for kind in outputs.OUTPUT_KINDS)
    assert [kind.name for kind in outputs.select(["camera", "depth"])] == ["depth", "camera"]
    with pytest.raises(ValueError, match="unknown output kind"):
        outputs.select(["depth", "normals"])
    producers = [(kind.graph_value is not None) + (kind.write is not None) + (kind.write_job is not None)
                 + kind.beauty for kind in outputs.OUTPUT_KINDS]
    assert producers == [1] * len(outputs.OUTPUT_KINDS), "every kind has exactly one producer"


def test_depth16_rounds_millimetres_and_zeroes_what_it_cannot_hold() -> None:
    from depth_node.core import outputs

    depth = np.array([[0.0, -1.0, np.nan, np.inf, 1e10, 1.2344, 1.2346, 65.535, 65.5356]], dtype=np.float32)
    image, above = outputs.depth16(depth, unit_scale=1.0, scale=1000.0)
    assert image.dtype == np.uint16
    assert image.tolist() == [[0, 0, 0, 0, 0, 1234, 1235, 65535, 0]]
    assert above == 1
    image, _ = outputs.depth16(np.array([[2.0]]), unit_scale=0.01, scale=1000.0)  # centimetre scenes
    assert image.tolist() == [[20]]


def test_frames_split_into_contiguous_parts_and_worker_arguments() -> None:
    from depth_node.commands.cli import worker_argv
    from depth_node.commands.workers import chunks

    assert chunks([1, 2, 3, 4, 5], 2) == [[1, 2, 3], [4, 5]]
    assert chunks([7], 4) == [[7]]
    assert sum(chunks(list(range(1, 101)), 3), []) == list(range(1, 101))
    argv = ["render", "shot.blend", "--output", "out", "--frames", "1-9", "--jobs=3", "--resume", "--outputs",
            "depth,colmap"]
    # a worker makes exactly its frames: the parent checked the outputs (and chose them, with --resume)
    assert worker_argv(argv, [4, 5, 6], ["depth", "camera"]) == [
        "render", "shot.blend", "--output", "out", "--frames", "4,5,6", "--jobs", "1", "--outputs", "depth,camera",
        "--overwrite"]


def test_the_beauty_takes_the_scenes_extension_and_names_the_frames_in_colmap_and_nerfstudio(tmp_path: Path) -> None:
    from depth_node.core import outputs
    from depth_node.core.outputs import exports

    kinds = outputs.with_extension(outputs.select(["rgb", "depth", "camera"]), "exr")
    assert [kind.name for kind in kinds if kind.beauty] == ["rgb"]
    paths = outputs.frame_paths(tmp_path, 12, kinds, "_R")
    assert paths == {"rgb": tmp_path / "rgb_0012_R.exr", "depth": tmp_path / "depth_0012_R.exr",
                     "camera": tmp_path / "camera_0012_R.json"}
    camera = {"projection": "PERSP", "K": [[50.0, 0, 31.5], [0, 50.0, 23.5], [0, 0, 1]], "width": 64, "height": 48,
              "camera_to_world_opencv": np.eye(4).tolist(), "camera_to_world_blender": np.eye(4).tolist()}
    with_rgb = exports.Record(12, "_R", {**camera, "image": "rgb_0012_R.exr"}, "depth_0012_R.exr")
    without = exports.Record(13, "", camera, "depth_0013.exr")
    assert exports.frame_image_name(with_rgb, None) == "rgb_0012_R.exr"
    assert exports.frame_image_name(without, None) == "image_0013.png"
    assert exports.frame_image_name(with_rgb, "shot_####.jpg") == "shot_0012_R.jpg"  # --image-name overrides
    exports.write_colmap(tmp_path / "colmap", [with_rgb, without], None)
    names = [line.split()[-1] for line in (tmp_path / "colmap" / "images.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    assert names == ["rgb_0012_R.exr", "image_0013.png"]
    exports.write_nerfstudio(tmp_path / "transforms.json", [with_rgb], None)
    document = json.loads((tmp_path / "transforms.json").read_text())
    assert [frame["file_path"] for frame in document["frames"]] == ["rgb_0012_R.exr"]


def test_progress_lines_give_seconds_per_frame_and_time_left(capsys: pytest.CaptureFixture, monkeypatch) -> None:
    from depth_node.commands import base

    clock = iter([100.0, 102.0, 106.0])
    monkeypatch.setattr(base.time, "perf_counter", lambda: next(clock))
    progress = base.Progress(4, "shot: ")
    progress.tick(7, " -> a")
    progress.tick(8, " -> b")
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["[true-depth] shot: frame 7 (1/4) 2.00 s/frame, ETA 0:06 -> a",
                     "[true-depth] shot: frame 8 (2/4) 3.00 s/frame, ETA 0:06 -> b"]
    assert [base._clock(seconds) for seconds in (0.4, 65, 3725)] == ["0:00", "1:05", "1:02:05"]



KEPT_AFTER_FREE = """
import os, sys
import numpy as np
sys.path.insert(0, {repo!r})
from depth_node.commands import base
print(base.keep_large_buffers() if {keep} else "off")
def resident():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
frame = np.ones(200 << 20, dtype=np.uint8)  # a frame-sized buffer, filled
during = resident()
del frame
print((during - resident()) >> 20)  # MiB returned to the system when it was freed
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None,
                    reason="the setting is glibc's")
def test_jobs_keep_frame_sized_buffers_for_the_next_frame() -> None:
    """What the CLI sets for its jobs (BENCHMARKS.md: on 5.3 a 1080p buffer was mapped, faulted in (~6,100
    pages) and returned on every frame without it): a freed frame-sized buffer stays for reuse."""
    returned = {}
    for keep in (False, True):
        code = KEPT_AFTER_FREE.format(repo=str(Path(__file__).resolve().parents[2]), keep=keep)
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        flag, mib = result.stdout.split()
        returned[keep] = int(mib)
    assert flag == "True"
    assert returned[False] >= 190, "by default glibc maps such a buffer and returns it on free"
    assert returned[True] <= 10, "with the jobs' setting it stays in the heap for the next frame"
