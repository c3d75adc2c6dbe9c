"""COLMAP and nerfstudio files (core/outputs/exports.py), parsed as their documentation says."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from depth_node.core.camera import BlenderCamera
from depth_node.core.outputs import exports

from ..samples import camera

RNG = np.random.default_rng(2024)


def random_rotation() -> np.ndarray:
    q, r = np.linalg.qr(RNG.normal(size=(3, 3)))
    q = q @ np.diag(np.sign(np.diag(r)))
    return q if np.linalg.det(q) > 0 else -q


def axis_rotation(axis: int, degrees: float) -> np.ndarray:
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    i, j = [k for k in range(3) if k != axis]
    m = np.eye(3)
    m[i, i], m[i, j], m[j, i], m[j, j] = c, -s, s, c
    return m


def hamilton(qw: float, qx: float, qy: float, qz: float) -> np.ndarray:
    """COLMAP's quaternion (Hamilton, w first) as a rotation matrix."""
    return np.array([
        [1 - 2 * (qy * qy + qz * qz), 2 * (qx * qy - qz * qw), 2 * (qx * qz + qy * qw)],
        [2 * (qx * qy + qz * qw), 1 - 2 * (qx * qx + qz * qz), 2 * (qy * qz - qx * qw)],
        [2 * (qx * qz - qy * qw), 2 * (qy * qz + qx * qw), 1 - 2 * (qx * qx + qy * qy)]])


def pose(rotation: np.ndarray, centre: np.ndarray) -> np.ndarray:
    to_world = np.eye(4)
    to_world[:3, :3], to_world[:3, 3] = rotation, centre
    return to_world


K1 = [[50.0, 0.0, 31.5], [0.0, 52.0, 23.25], [0.0, 0.0, 1.0]]


K2 = [[40.0, 0.0, 30.0], [0.0, 40.0, 20.0], [0.0, 0.0, 1.0]]


RADTAN = {"model": "radtan", "coefficients": {"k1": -0.2, "k2": 0.05, "p1": 0.001, "p2": -0.002, "k3": 0.01,
                                               "k4": 0.0, "k5": 0.0, "k6": 0.0}}


OPENCV4 = {"model": "radtan", "coefficients": {**RADTAN["coefficients"], "k3": 0.0}}


RATIONAL = {"model": "radtan", "coefficients": {**RADTAN["coefficients"], "k4": 0.3, "k5": -0.05, "k6": 0.02}}


FISHEYE = {"model": "fisheye", "coefficients": {"k1": 0.02, "k2": -0.006, "k3": 0.001, "k4": -0.0002}}


ROTATIONS = [random_rotation() for _ in range(12)] + [
    axis_rotation(axis, degrees) for axis in range(3) for degrees in (179.0, 180.0, -170.0, 90.0)]


def parse(folder: Path) -> tuple[dict[int, tuple], list[tuple]]:
    """cameras.txt and images.txt as COLMAP documents them (comments with #; two lines per image)."""
    cameras = {}
    for line in (folder / "cameras.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            fields = line.split()
            cameras[int(fields[0])] = (fields[1], int(fields[2]), int(fields[3]), [float(v) for v in fields[4:]])
    lines = [line for line in (folder / "images.txt").read_text().splitlines() if not line.startswith("#")]
    images = []
    for first, second in zip(lines[0::2], lines[1::2], strict=True):
        fields = first.split()
        assert second == ""  # no 2D points
        images.append((int(fields[0]), [float(v) for v in fields[1:5]], np.array([float(v) for v in fields[5:8]]),
                       int(fields[8]), fields[9]))
    return cameras, images


@pytest.mark.parametrize(("pattern", "frame", "view", "expected"), [
    ("f#.png", 7, "", "f7.png"),
    ("f#.png", 12, "", "f12.png"),
    ("scan.v2.####.exr", 3, "_L", "scan.v2.0003_L.exr"),
    ("depth_##", 5, "_R", "depth_05_R"),
    ("plain.png", 9, "_R", "plain_R.png"),
])
def test_image_names_pad_the_frame_to_the_hashes_and_put_the_view_before_the_last_extension(
        pattern: str, frame: int, view: str, expected: str) -> None:
    assert exports.image_name(pattern, frame, view) == expected


def test_colmap_makes_missing_parent_folders(tmp_path: Path) -> None:
    meta = camera([[50.0, 0.0, 31.5], [0.0, 50.0, 23.5], [0.0, 0.0, 1.0]], pose(np.eye(3), np.zeros(3)))
    paths = exports.write_colmap(tmp_path / "new" / "deeper" / "sparse", [exports.Record(1, "", meta, None)], None)
    assert [path.name for path in paths] == ["cameras.txt", "images.txt", "points3D.txt"]
    assert all(path.is_file() for path in paths)


def test_refusals_say_what_is_wrong() -> None:
    pano = {"K": None, "projection": "PANO", "width": 8, "height": 8}
    with pytest.raises(ValueError, match=r"^a PANO camera has no pinhole model; COLMAP and nerfstudio files need "
                                         r"perspective cameras$"):
        exports.nerfstudio_camera(pano)
    rational = camera([[50.0, 0.0, 31.5], [0.0, 50.0, 23.5], [0.0, 0.0, 1.0]], pose(np.eye(3), np.zeros(3)),
                      RATIONAL)
    with pytest.raises(ValueError, match=r"^nerfstudio's OPENCV model has no rational coefficients \(k4, k5, k6 of "
                                         r"OpenCV's 8-term model\)$"):
        exports.nerfstudio_camera(rational)
    with pytest.raises(ValueError, match=r"dividing by K\[2\]\[2\]\): a Blender camera has none and cannot "
                                         r"represent it$"):
        BlenderCamera.from_matrix([[50.0, 2.0, 10.0], [0.0, 50.0, 8.0], [0.0, 0.0, 2.0]], 20, 16)
    for width, height, name in ((0, 16, "width"), (20, 2.5, "height")):
        with pytest.raises(ValueError, match=rf"^{name} must be a positive integer, got "):
            BlenderCamera.from_matrix(np.eye(3), width, height)
    with pytest.raises(TypeError, match=r"^unknown camera settings \['bogus', 'lense'\]$"):
        BlenderCamera.from_settings(lense=50.0, bogus=1)
    fisheye = BlenderCamera.from_settings(projection="PANO", panorama_type="FISHEYE_EQUIDISTANT")
    with pytest.raises(ValueError, match=r"^a fisheye equidistant camera has no pinhole matrix K$"):
        fisheye.matrix()


def test_colmap_images_are_world_to_camera_poses_for_every_rotation(tmp_path: Path) -> None:
    records = []
    for index, rotation in enumerate(ROTATIONS):
        centre = RNG.uniform(-5, 5, 3)
        records.append(exports.Record(index + 1, "", camera(K1, pose(rotation, centre)), None))
    exports.write_colmap(tmp_path, records, "rgb_####.jpg")
    _, images = parse(tmp_path)
    assert [image[0] for image in images] == list(range(1, len(records) + 1))
    for record, (_, q, t, camera_id, name) in zip(records, images, strict=True):
        to_world = np.array(record.camera["camera_to_world_opencv"])
        assert q[0] >= 0 and abs(np.linalg.norm(q) - 1) < 1e-12
        rotation = hamilton(*q)
        assert np.allclose(rotation, to_world[:3, :3].T, atol=1e-12)  # world -> camera
        assert np.allclose(t, -to_world[:3, :3].T @ to_world[:3, 3], atol=1e-12)
        # a world point seen by this camera lands where the camera JSON's pose puts it
        point = RNG.normal(size=3)
        assert np.allclose(rotation @ point + t, (np.linalg.inv(to_world) @ np.append(point, 1.0))[:3], atol=1e-12)
        assert camera_id == 1 and name == f"rgb_{record.frame:04d}.jpg"
    assert (tmp_path / "points3D.txt").is_file()


def test_colmap_cameras_are_shared_and_keep_every_model(tmp_path: Path) -> None:
    identity = pose(np.eye(3), np.zeros(3))
    metas = [camera(K1, identity), camera(K1, identity), camera(K2, identity, OPENCV4), camera(K2, identity, RADTAN),
             camera(K2, identity, RATIONAL), camera(K2, identity, FISHEYE), {**camera(K1, identity), "width": 65}]
    records = [exports.Record(index, "", meta, None) for index, meta in enumerate(metas, start=1)]
    exports.write_colmap(tmp_path, records, None)
    cameras, images = parse(tmp_path)
    assert [image[3] for image in images] == [1, 1, 2, 3, 4, 5, 6]
    fx, fy, cx, cy = 50.0, 52.0, 32.0, 23.75  # COLMAP's pixel centres are at +0.5
    assert cameras[1] == ("PINHOLE", 64, 48, [fx, fy, cx, cy])
    assert cameras[2] == ("OPENCV", 64, 48, [40.0, 40.0, 30.5, 20.5, -0.2, 0.05, 0.001, -0.002])
    assert cameras[3] == ("FULL_OPENCV", 64, 48, [40.0, 40.0, 30.5, 20.5, -0.2, 0.05, 0.001, -0.002, 0.01, 0.0,
                                                  0.0, 0.0])
    assert cameras[4] == ("FULL_OPENCV", 64, 48, [40.0, 40.0, 30.5, 20.5, -0.2, 0.05, 0.001, -0.002, 0.01, 0.3,
                                                  -0.05, 0.02])
    assert cameras[5] == ("OPENCV_FISHEYE", 64, 48, [40.0, 40.0, 30.5, 20.5, 0.02, -0.006, 0.001, -0.0002])
    assert cameras[6] == ("PINHOLE", 65, 48, [fx, fy, cx, cy])
    assert [image[4] for image in images] == [f"image_{frame:04d}.png" for frame in range(1, 8)]


def test_nerfstudio_frames_carry_their_own_intrinsics_and_blender_poses(tmp_path: Path) -> None:
    records = [exports.Record(frame, suffix, camera(K, pose(rotation, RNG.uniform(-3, 3, 3)), RADTAN,
                                                    depth16_scale=1000.0), f"depth_{frame:04d}{suffix}.png")
               for frame, suffix, K, rotation in ((1, "_L", K1, ROTATIONS[0]), (1, "_R", K2, ROTATIONS[1]),
                                                  (2, "_L", K1, ROTATIONS[2]))]
    exports.write_nerfstudio(tmp_path / "transforms.json", records, "shot_###.exr")
    document = json.loads((tmp_path / "transforms.json").read_text())
    assert document["camera_model"] == "OPENCV"
    assert document["depth_unit_scale_factor"] == 0.001 and "depth16_scale" in document["depth_unit"]
    for record, entry in zip(records, document["frames"], strict=True):
        K = np.array(record.camera["K"])
        assert entry["file_path"] == f"shot_{record.frame:03d}{record.view_suffix}.exr"
        assert entry["depth_file_path"] == record.depth_file
        assert (entry["fl_x"], entry["fl_y"], entry["cx"], entry["cy"]) == (K[0, 0], K[1, 1], K[0, 2] + 0.5,
                                                                            K[1, 2] + 0.5)
        assert (entry["w"], entry["h"]) == (64, 48) and isinstance(entry["w"], int)
        assert (entry["k1"], entry["k2"], entry["k3"], entry["k4"], entry["p1"], entry["p2"]) == (
            -0.2, 0.05, 0.01, 0.0, 0.001, -0.002)
        # OpenGL camera axes: the camera looks down its -z, y up
        matrix = np.array(entry["transform_matrix"])
        opencv = np.array(record.camera["camera_to_world_opencv"])
        assert np.allclose(matrix[:3, 2], -opencv[:3, 2]) and np.allclose(matrix[:3, 1], -opencv[:3, 1])
        assert np.allclose(matrix[:3, 0], opencv[:3, 0]) and np.allclose(matrix[:3, 3], opencv[:3, 3])
        assert "camera_model" not in entry


def test_nerfstudio_units_models_and_refusals(tmp_path: Path) -> None:
    identity = pose(np.eye(3), np.zeros(3))
    path = tmp_path / "transforms.json"
    exports.write_nerfstudio(path, [exports.Record(1, "", camera(K1, identity, unit_scale=0.01), "d.exr")], None)
    document = json.loads(path.read_text())
    assert document["depth_unit_scale_factor"] == 0.01 and "unit_scale" in document["depth_unit"]
    assert document["camera_model"] == "OPENCV" and "k1" not in document["frames"][0]
    assert document["frames"][0]["file_path"] == "image_0001.png"
    exports.write_nerfstudio(path, [exports.Record(1, "", camera(K1, identity, FISHEYE), None)], None)
    fisheye = json.loads(path.read_text())
    assert fisheye["camera_model"] == "OPENCV_FISHEYE"
    assert [fisheye["frames"][0][name] for name in ("k1", "k2", "k3", "k4")] == [0.02, -0.006, 0.001, -0.0002]
    assert "p1" not in fisheye["frames"][0]
    with pytest.raises(ValueError, match="one camera_model; these frames mix"):
        exports.write_nerfstudio(path, [exports.Record(1, "", camera(K1, identity, FISHEYE), None),
                                        exports.Record(2, "", camera(K1, identity, RADTAN), None)], None)
    with pytest.raises(ValueError, match=r"no rational coefficients \(k4, k5, k6"):
        exports.nerfstudio_camera(camera(K1, identity, RATIONAL))
    for bad in ({**camera(K1, identity), "projection": "ORTHO"}, {**camera(K1, identity), "K": None}):
        with pytest.raises(ValueError, match=f"a {bad['projection']} camera has no pinhole model"):
            exports.colmap_camera(bad)


@pytest.mark.parametrize("pattern, frame, suffix, expected", [
    ("image_####.png", 7, "", "image_0007.png"),
    ("image_####.png", 7, "_L", "image_0007_L.png"),
    ("shot_#.jpg", 12, "", "shot_12.jpg"),
    ("still.png", 3, "_R", "still_R.png"),
    ("frame_##", 5, "_L", "frame_05_L"),
    ("a.b_###.exr", 9, "", "a.b_009.exr"),
])
def test_image_names(pattern: str, frame: int, suffix: str, expected: str) -> None:
    assert exports.image_name(pattern, frame, suffix) == expected


def test_a_records_image_is_the_pattern_then_its_sidecar_then_the_default() -> None:
    record = exports.Record(4, "_R", {"image": "rgb_0004_R.png"}, None)
    assert exports.frame_image_name(record, None) == "rgb_0004_R.png"
    assert exports.frame_image_name(record, "img_##.jpg") == "img_04_R.jpg"
    assert exports.frame_image_name(exports.Record(4, "", {}, None), None) == "image_0004.png"


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
