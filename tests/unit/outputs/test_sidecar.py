"""The camera JSON beside every frame (core/outputs/sidecar.py): round trips, panoramic and ray-matrix cameras,
refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from depth_node.core.calibration.ray_matrix import RayMatrix
from depth_node.core.camera import BlenderCamera
from depth_node.core.outputs import sidecar
from depth_node.core.outputs.sidecar import camera_metadata

from ..samples import CAMERAS

SIDECAR_K = [[500.0, 0.0, 319.5], [0.0, 500.0, 239.5], [0.0, 0.0, 1.0]]


K = np.array([[512.25, 0.0, 319.75], [0.0, 515.5, 241.125], [0.0, 0.0, 1.0]])


def pixel_grid(width: int, height: int) -> np.ndarray:
    """(H, W, 3) homogeneous pixel centres [x, y, 1], row 0 at the top."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    return np.stack([x, y, np.ones_like(x)], axis=-1)


SKEWED = [[500.0, 3.0, 320.0], [0.0, 510.0, 240.0], [0.0, 0.0, 1.0]]


def test_a_panoramic_sidecar_has_no_K_and_names_its_model_and_parameters() -> None:
    fisheye = BlenderCamera.from_settings(projection="PANO", panorama_type="FISHEYE_EQUISOLID", fisheye_fov=2.5,
                                          fisheye_lens=7.0, resolution_x=40, resolution_y=30)
    meta = camera_metadata(fisheye, np.eye(4), 0.1, 100.0, 1.0)
    assert meta["K"] is None and meta["projection"] == "PANO"
    model = meta["projection_model"]
    assert model["panorama_type"] == "FISHEYE_EQUISOLID"
    assert model["parameters"]["fisheye_fov"] == 2.5 and model["parameters"]["fisheye_lens"] == 7.0


def test_camera_metadata_keys_and_values() -> None:
    camera = BlenderCamera.from_matrix(SIDECAR_K, 640, 480)
    pose = [[1, 0, 0, 1], [0, 1, 0, 2], [0, 0, 1, 3], [0, 0, 0, 1]]
    meta = sidecar.camera_metadata(camera, pose, 0.1, 100, 0.01)
    assert sorted(meta) == sorted(["K", "width", "height", "projection", "projection_model", "camera_to_world_blender",
                                   "camera_to_world_opencv", "clip_start", "clip_end", "unit_scale", "depth_unit",
                                   "camera_model", "blender"])
    assert np.allclose(meta["K"], SIDECAR_K, rtol=1e-12) and (meta["width"], meta["height"]) == (640, 480)
    assert meta["projection"] == "PERSP" and meta["projection_model"] == camera.model.describe(camera.lens)
    assert meta["camera_to_world_blender"] == [[1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 2.0], [0.0, 0.0, 1.0, 3.0],
                                               [0.0, 0.0, 0.0, 1.0]]
    assert meta["camera_to_world_opencv"] == [[1.0, 0.0, 0.0, 1.0], [0.0, -1.0, 0.0, 2.0], [0.0, 0.0, -1.0, 3.0],
                                              [0.0, 0.0, 0.0, 1.0]]
    assert (meta["clip_start"], meta["clip_end"], meta["unit_scale"]) == (0.1, 100.0, 0.01)
    assert type(meta["clip_end"]) is float
    assert meta["depth_unit"] == sidecar.DEPTH_UNIT and meta["blender"] == {}
    assert sidecar.camera_metadata(camera, np.eye(4), 0.1, 100, 1.0, {"version": "5.0"})["blender"] == {
        "version": "5.0"}


@pytest.mark.parametrize("value, shown", [(0, "0"), (64.5, "64.5"), (True, "True"), (64.0, "64.0"), ("64", "'64'")])
def test_sizes_must_be_positive_json_integers(value: object, shown: str) -> None:
    skewed = [[500.0, 3.0, 319.5], [0.0, 500.0, 239.5], [0.0, 0.0, 1.0]]
    with pytest.raises(sidecar.SidecarError, match=rf"^camera JSON's width must be a positive integer, got {shown}$"):
        sidecar.ray_camera_from_metadata({"K": skewed, "width": value, "height": 480})


def test_one_pixel_is_a_size() -> None:
    camera = sidecar.camera_from_metadata({"K": [[5.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 1.0]], "width": 1,
                                           "height": 1})
    assert (camera.width, camera.height) == (1, 1)


def test_the_projection_key_is_read_from_k_only_sidecars() -> None:
    ortho = sidecar.camera_from_metadata({"K": SIDECAR_K, "width": 640, "height": 480, "projection": "ORTHO"})
    assert ortho.projection == "ORTHO"
    assert sidecar.camera_from_metadata({"K": SIDECAR_K, "width": 640, "height": 480}).projection == "PERSP"


def test_a_projective_last_row_is_divided_out_before_inverting() -> None:
    skewed = np.array([[500.0, 3.0, 319.5], [0.0, 500.0, 239.5], [0.0, 0.0, 1.0]])
    camera = sidecar.ray_camera_from_metadata({"K": (skewed * 2.0).tolist(), "width": 640, "height": 480})
    assert isinstance(camera, RayMatrix)
    assert np.allclose(camera.matrix, np.linalg.inv(skewed), rtol=1e-13, atol=0)
    lower = [[500.0, 0.0, 319.5], [3.0, 500.0, 239.5], [0.0, 0.0, 1.0]]  # skew below the diagonal
    camera = sidecar.ray_camera_from_metadata({"K": lower, "width": 640, "height": 480})
    assert isinstance(camera, RayMatrix) and np.allclose(camera.matrix, np.linalg.inv(lower), rtol=1e-13, atol=0)


def test_ray_camera_refusals_word_for_word() -> None:
    with pytest.raises(sidecar.SidecarError, match=r"^camera JSON lacks 'matrix' \(a RAY_MATRIX camera needs width, "
                                                   r"height and projection_model\.matrix\)$"):
        sidecar.ray_camera_from_metadata({"projection_model": {"type": "RAY_MATRIX"}, "width": 4, "height": 3})
    with pytest.raises(sidecar.SidecarError, match=r"^camera JSON's K must be a finite 3x3 matrix, got \[\[1\.0, "
                                                   r"2\.0\]\]$"):
        sidecar.ray_camera_from_metadata({"K": [[1, 2]], "width": 4, "height": 3})


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


@pytest.mark.parametrize("change, message", [
    ({"width": 64.5}, "width must be a positive integer, got 64.5"),
    ({"height": True}, "height must be a positive integer, got True"),
    ({"width": 640.0}, "width must be a positive integer, got 640.0"),
    ({"K": SKEWED}, "K has skew"),
])
def test_sidecar_refuses_sizes_and_skew(tmp_path: Path, change: dict, message: str) -> None:
    meta = {"K": K.tolist(), "width": 640, "height": 480, "projection": "PERSP", **change}
    with pytest.raises(sidecar.SidecarError, match=message):
        sidecar.camera_from_metadata(meta)
    path = tmp_path / "camera.json"
    path.write_text(json.dumps(meta))
    with pytest.raises(sidecar.SidecarError, match=message):
        sidecar.load(path)
    assert sidecar.read_metadata(path) == meta


def test_sidecar_K_with_a_scaled_last_row_is_exact() -> None:
    meta = {"K": (K * 2).tolist(), "width": 640, "height": 480}
    np.testing.assert_allclose(sidecar.camera_from_metadata(meta).matrix(), K, rtol=1e-12)
    assert sidecar.ray_camera_from_metadata(meta) is None


def test_sidecar_ray_camera_honours_skew_exactly() -> None:
    for matrix in (SKEWED, (np.array(SKEWED) * 2).tolist(), [[500.0, 0, 320], [0, 510, 240], [1e-4, 0, 1.0]]):
        camera = sidecar.ray_camera_from_metadata({"K": matrix, "width": 64, "height": 48})
        assert isinstance(camera, RayMatrix) and (camera.width, camera.height) == (64, 48)
        projected = camera.pixel_rays() @ np.asarray(matrix).T
        np.testing.assert_allclose(projected[..., :2] / projected[..., 2:], pixel_grid(64, 48)[..., :2], atol=1e-9)
        assert (camera.pixel_rays()[..., 2] > 0).all()


@pytest.mark.parametrize("meta", [
    {"K": K.tolist(), "width": 64, "height": 48},
    {"K": None, "width": 64, "height": 48, "projection": "PANO"},
    {"K": [[5.0, 0, 3], [0, 5, 2], [0, 0, 1]], "width": 64, "height": 48, "projection": "ORTHO"},
])
def test_sidecar_ray_camera_is_none_for_what_blender_cameras_describe(meta: dict) -> None:
    assert sidecar.ray_camera_from_metadata(meta) is None


@pytest.mark.parametrize("meta, message", [
    ({"K": SKEWED, "width": 64.5, "height": 48}, "width must be a positive integer"),
    ({"K": SKEWED, "height": 48}, "lacks 'width'"),
    ({"K": SKEWED, "width": 64, "height": 48, "projection": "ORTHO"}, "only a perspective camera"),
    ({"K": [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 0.0, 1.0]], "width": 64, "height": 48}, "singular"),
    ({"K": [[1.0, 2.0], [2.0, 4.0]], "width": 64, "height": 48}, "finite 3x3"),
    ({"K": "K", "width": 64, "height": 48}, "3x3 matrix of numbers"),
])
def test_sidecar_ray_camera_refusals(meta: dict, message: str) -> None:
    with pytest.raises(sidecar.SidecarError, match=message):
        sidecar.ray_camera_from_metadata(meta)


def test_sidecar_of_a_ray_matrix_camera_reads_back() -> None:
    camera = RayMatrix.from_fov(75.0, 64, 48)
    meta = json.loads(json.dumps({"K": None, "width": 64, "height": 48, "projection": "RAY_MATRIX",
                                  "projection_model": camera.describe()}))
    assert sidecar.ray_camera_from_metadata(meta) == camera
    with pytest.raises(sidecar.SidecarError, match="lacks 'matrix'"):
        sidecar.ray_camera_from_metadata({**meta, "projection_model": {"type": "RAY_MATRIX"}})
    with pytest.raises(sidecar.SidecarError, match="ray matrix: .*singular"):
        sidecar.ray_camera_from_metadata({**meta, "projection_model": {"type": "RAY_MATRIX",
                                                                       "matrix": np.zeros((3, 3)).tolist()}})
