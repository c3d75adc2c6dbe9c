"""The camera JSON: every key it writes, size and K refusals word for word, and the exact ray matrix of a K whose
last row is (0, 0, s) (divided by s first, as documented)."""

from __future__ import annotations

import numpy as np
import pytest

from depth_node.core.calibration.ray_matrix import RayMatrix
from depth_node.core.camera import BlenderCamera
from depth_node.core.outputs import sidecar

K = [[500.0, 0.0, 319.5], [0.0, 500.0, 239.5], [0.0, 0.0, 1.0]]


def test_camera_metadata_keys_and_values() -> None:
    camera = BlenderCamera.from_matrix(K, 640, 480)
    pose = [[1, 0, 0, 1], [0, 1, 0, 2], [0, 0, 1, 3], [0, 0, 0, 1]]
    meta = sidecar.camera_metadata(camera, pose, 0.1, 100, 0.01)
    assert sorted(meta) == sorted(["K", "width", "height", "projection", "projection_model", "camera_to_world_blender",
                                   "camera_to_world_opencv", "clip_start", "clip_end", "unit_scale", "depth_unit",
                                   "camera_model", "blender"])
    assert np.allclose(meta["K"], K, rtol=1e-12) and (meta["width"], meta["height"]) == (640, 480)
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
    ortho = sidecar.camera_from_metadata({"K": K, "width": 640, "height": 480, "projection": "ORTHO"})
    assert ortho.projection == "ORTHO"
    assert sidecar.camera_from_metadata({"K": K, "width": 640, "height": 480}).projection == "PERSP"


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
