"""The output-kind table (core/outputs/__init__.py): file names and patterns, defaults per command, 16-bit depth,
the per-frame and per-job steps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from depth_node.core import outputs
from depth_node.core.outputs import exports, preview
from depth_node.core.outputs.pointcloud import depth_to_points

from ..samples import SPECIAL_VALUE_CAMERAS, special

cv2 = pytest.importorskip("cv2", reason="OpenCV (libpng) decodes the PNGs (a test dependency)")


CAMERA = {"K": [[50.0, 0.0, 1.5], [0.0, 50.0, 1.0], [0.0, 0.0, 1.0]], "width": 4, "height": 3, "projection": "PERSP",
          "camera_to_world_opencv": np.eye(4).tolist(), "camera_to_world_blender": np.eye(4).tolist(),
          "unit_scale": 1.0, "distortion": None}


@pytest.mark.usefixtures("warnings_are_errors")
def test_preview_and_16_bit_depth_and_points_take_special_values_without_warnings(tmp_path) -> None:
    camera = SPECIAL_VALUE_CAMERAS["perspective"]
    depth = special(np.float64)
    surface = np.array([[not np.isnan(value) and 0 < value < 1e9 for value in row] for row in depth.tolist()])
    assert preview.surface_mask(depth).tolist() == surface.tolist()
    assert preview.side_by_side(depth, depth).dtype == np.uint8
    encoded, saturated = outputs.depth16(depth, 1.0, 1000.0)
    assert saturated == 0 and encoded[surface].tolist() == [round(value * 1000) for value in depth[surface]]
    assert (encoded[~surface] == 0).all()
    points = depth_to_points(depth, camera)
    assert len(points) == surface.sum() and np.isfinite(points).all()


def test_depth16_exact_boundaries() -> None:
    depth = np.array([0.0005, 0.00049, 0.0015, 65.5354, 65.5355, 65.536, 1e9 - 1e-3, 1e9, 2.5e-4])
    image, above = outputs.depth16(depth, unit_scale=1.0, scale=1000.0)
    # 0.5 mm rounds to even (0), 1.5 mm to 2; 65535.4 mm fits, 65535.5 rounds to 65536: above
    assert image.tolist() == [0, 0, 2, 65535, 0, 0, 0, 0, 0]
    assert above == 3  # 65535.5 mm, 65536 mm and the huge depth just below the background limit (1e9 is background)
    assert image.dtype == np.uint16 and image.shape == depth.shape


def test_depth16_scale_and_unit_multiply() -> None:
    image, above = outputs.depth16(np.array([[1.0, 2.0], [3.0, 0.0]]), unit_scale=2.0, scale=10.0)
    assert image.tolist() == [[20, 40], [60, 0]] and above == 0
    image, above = outputs.depth16(np.array([6553.6, 6553.5, 6553.4]), unit_scale=1.0, scale=10.0)
    assert image.tolist() == [0, 65535, 65534] and above == 1
    assert outputs.DEPTH16_MAX == 65535


def test_the_per_frame_steps_write_what_they_say(tmp_path: Path) -> None:
    distance = np.array([[2.0, 3.0, 4.0, 0.0], [2.5, 3.5, 4.5, 5.0], [1.0, 1.5, 2.0, 1e10]], dtype=np.float32)
    depth = distance * 0.9
    options = outputs.Options(depth16_scale=100.0)
    data = outputs.FrameData(7, depth, distance, {**CAMERA, "unit_scale": 2.0}, options)
    outputs.BY_NAME["depth16"].write(tmp_path / "d16.png", data)
    decoded = cv2.imread(str(tmp_path / "d16.png"), cv2.IMREAD_UNCHANGED)
    expected = np.where((distance > 0) & (distance < 1e9), np.round(depth.astype(np.float64) * 200.0), 0)
    assert decoded.dtype == np.uint16 and np.array_equal(decoded, expected)
    assert data.report == {"depth16 pixels above 65535 (written as 0)": 0}
    outputs.BY_NAME["preview"].write(tmp_path / "p.png", data)
    from depth_node.core.outputs import preview

    assert np.array_equal(cv2.imread(str(tmp_path / "p.png"))[..., ::-1], preview.side_by_side(distance, depth))
    outputs.BY_NAME["camera"].write(tmp_path / "c.json", data)
    text = (tmp_path / "c.json").read_text()
    assert json.loads(text) == data.camera and text.endswith("}\n") and text.startswith('{\n  "K": [\n')


def test_depth16_defaults_to_millimetres_of_a_metre_scene_and_reports_overflow(tmp_path: Path) -> None:
    camera = {key: value for key, value in CAMERA.items() if key != "unit_scale"}
    data = outputs.FrameData(1, np.array([[1.2344, 70.0]]), None, camera)
    outputs.BY_NAME["depth16"].write(tmp_path / "d.png", data)
    assert cv2.imread(str(tmp_path / "d.png"), cv2.IMREAD_UNCHANGED).tolist() == [[1234, 0]]
    assert data.report == {"depth16 pixels above 65535 (written as 0)": 1}
    assert outputs.Options().depth16_scale == 1000.0 and outputs.Options().image_name is None


def test_the_job_steps_write_colmap_and_nerfstudio_into_the_folder(tmp_path: Path) -> None:
    records = [exports.Record(3, "", CAMERA, "depth_0003.exr")]
    written = outputs.BY_NAME["colmap"].write_job(tmp_path, records, outputs.Options(image_name="img_####.jpg"))
    assert written == [tmp_path / name for name in outputs.BY_NAME["colmap"].job_files]
    assert all(path.is_file() for path in written)
    assert "img_0003.jpg" in (tmp_path / "colmap" / "images.txt").read_text()
    written = outputs.BY_NAME["nerf"].write_job(tmp_path, records, outputs.Options(image_name="f_##.png"))
    assert written == [tmp_path / "transforms.json"]
    assert json.loads(written[0].read_text())["frames"][0]["file_path"] == "f_03.png"


def test_file_names_and_patterns() -> None:
    depth = outputs.BY_NAME["depth"]
    assert depth.filename(7) == "depth_0007.exr" and depth.filename(12345, "_R") == "depth_12345_R.exr"
    assert depth.file_output_pattern == "depth_####"
    assert depth.per_frame and not outputs.BY_NAME["colmap"].per_frame and not outputs.BY_NAME["nerf"].per_frame
    assert [kind.name for kind in outputs.OUTPUT_KINDS] == ["rgb", "depth", "distance", "preview", "camera", "depth16",
                                                           "disparity", "flow_forward", "flow_backward",
                                                           "flow_forward_valid", "flow_backward_valid", "points",
                                                           "points_world", "normal", "normal_world", "normal16",
                                                           "colmap", "nerf"]
    assert [kind.extension for kind in outputs.OUTPUT_KINDS] == ["png", "exr", "exr", "png", "json", "png", "exr",
                                                                "exr", "exr", "png", "png", "exr", "exr", "exr", "exr",
                                                                "png", "txt", "json"]
    assert [kind.name for kind in outputs.OUTPUT_KINDS if kind.needs_pixels] == ["preview", "depth16", "flow_forward",
                                                                             "flow_backward", "flow_forward_valid",
                                                                             "flow_backward_valid", "points",
                                                                             "points_world", "normal", "normal_world",
                                                                             "normal16"]
    assert [kind.name for kind in outputs.OUTPUT_KINDS if kind.normal] == ["normal", "normal_world", "normal16"]
    assert [kind.name for kind in outputs.OUTPUT_KINDS if kind.pinhole_only] == ["colmap", "nerf"]
    assert [kind.name for kind in outputs.OUTPUT_KINDS if kind.stereo_only] == ["disparity"]
    assert [kind.name for kind in outputs.OUTPUT_KINDS if kind.beauty] == ["rgb"]
    assert {kind.name: kind.graph_value for kind in outputs.OUTPUT_KINDS if kind.graph_value} == {
        "depth": "depth", "distance": "distance", "disparity": "disparity"}


@pytest.mark.parametrize("command, names", [
    ("render", ["depth", "distance", "preview", "camera"]), ("example", ["depth", "distance", "preview", "camera"]),
    ("prepare", ["depth", "distance", "camera"]), ("convert", ["depth", "camera"]), ("nothing", []),
])
def test_defaults_per_command(command: str, names: list[str]) -> None:
    assert [kind.name for kind in outputs.select(None, command)] == names
    assert outputs.select(None) == outputs.DEFAULT_KINDS


def test_select_refusals_name_the_choices() -> None:
    choices = ("flow, rgb, depth, distance, preview, camera, depth16, disparity, flow_forward, flow_backward, "
               "flow_forward_valid, flow_backward_valid, points, points_world, normal, normal_world, normal16, "
               "colmap, nerf")
    with pytest.raises(ValueError, match=rf"^unknown output kind\(s\) normals, z; choose from {choices}$"):
        outputs.select(["depth", "normals", "z"])
    with pytest.raises(ValueError, match=rf"^unknown output kind\(s\) \(none given\); choose from {choices}$"):
        outputs.select([])
    assert [kind.name for kind in outputs.select(iter(["nerf", "rgb"]))] == ["rgb", "nerf"]


def test_extension_switches() -> None:
    kinds = outputs.with_extension(outputs.OUTPUT_KINDS, "jpg")
    assert [kind.extension for kind in kinds] == ["jpg", "exr", "exr", "png", "json", "png", "exr", "exr", "exr", "png",
                                                  "png", "exr", "exr", "exr", "exr", "png", "txt", "json"]
    assert outputs.OUTPUT_KINDS[0].extension == "png", "the table itself is unchanged"
    kinds = outputs.with_value_extension(outputs.OUTPUT_KINDS, "npy")
    assert [kind.extension for kind in kinds] == ["png", "npy", "npy", "png", "json", "png", "exr", "exr", "exr", "png",
                                                  "png", "exr", "exr", "exr", "exr", "png", "txt", "json"]
    assert kinds[1].name == "depth" and kinds[1].graph_value == "depth"


def test_paths_and_help(tmp_path: Path) -> None:
    assert outputs.frame_paths(tmp_path, 3) == {"depth": tmp_path / "depth_0003.exr",
                                                "distance": tmp_path / "distance_0003.exr",
                                                "preview": tmp_path / "preview_0003.png",
                                                "camera": tmp_path / "camera_0003.json"}
    assert outputs.job_paths(tmp_path, outputs.DEFAULT_KINDS) == []
    help_text = outputs.describe(outputs.select(["depth", "camera"]))
    assert help_text == ("depth: planar depth, float32, one channel 'Y'; camera: camera sidecar: K, pose, projection, "
                         "clip range, unit scale")
    assert outputs.describe().count("; ") >= len(outputs.OUTPUT_KINDS) - 1
    assert outputs.describe().startswith("rgb: the beauty as the file renders it")


def test_write_sidecar(tmp_path: Path) -> None:
    outputs.write_sidecar(tmp_path / "s.json", {"a": [1, 2], "b": {"c": None}})
    assert (tmp_path / "s.json").read_text() == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": {\n    "c": null\n  }\n}\n'


def test_depth16_rounds_the_exact_value_of_a_float32_depth() -> None:
    depth = np.array([4.3225, 0.001, 0.0015], dtype=np.float32)
    # float32(4.3225) is 4.322500228881836...: 4322.500228... mm rounds up (a float32 product would be 4322.5, even)
    assert float(depth[0]) == 4.322500228881836
    image, above = outputs.depth16(depth, unit_scale=1.0, scale=1000.0)
    assert image.tolist() == [4323, 1, 2] and above == 0


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


@pytest.mark.parametrize(("flow_format", "files"), [
    ("exr", ["flow_forward_0003.exr", "flow_backward_0003.exr"]),
    ("flo", ["flow_forward_0003.flo", "flow_backward_0003.flo", "flow_forward_valid_0003.png",
             "flow_backward_valid_0003.png"]),
    ("kitti", ["flow_forward_0003.png", "flow_backward_0003.png"]),
])
def test_flow_selects_both_directions_in_its_format(flow_format: str, files: list[str]) -> None:
    kinds = outputs.select(["depth", "flow"], flow_format=flow_format)
    assert [kind.filename(3) for kind in kinds] == ["depth_0003.exr", *files]
    assert all(kind.flow and kind.needs_pixels for kind in kinds[1:]) and not kinds[0].flow
    only_forward = outputs.select(["flow_forward"], flow_format=flow_format)
    assert [kind.filename(3) for kind in only_forward] == [files[0]]
    assert "flow" not in [kind.name for kind in outputs.select(None, "render")]


def test_an_unknown_flow_format_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^--flow-format must be one of exr, flo, kitti, got 'png'$"):
        outputs.select(["flow"], flow_format="png")
