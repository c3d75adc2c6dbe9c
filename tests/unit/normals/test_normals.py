"""Normals in the files' convention: world axes to the OpenCV camera frame, unit length, background 0, 16-bit PNG."""

from __future__ import annotations

import numpy as np
import pytest

from depth_node.core.normals import from_camera, from_normal16, normal16, to_camera, to_world, unit_normals

LOOKING_DOWN = np.diag([1.0, -1.0, -1.0, 1.0])
"""camera_to_world_opencv of a Blender camera at rest: looking down world -Z, image y along world -Y."""


def rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    axis = axis / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def test_a_floor_seen_from_above_faces_the_camera_in_the_opencv_frame() -> None:
    world = np.array([[[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    camera = to_camera(world, LOOKING_DOWN)
    np.testing.assert_array_equal(camera, [[[0, 0, -1], [1, 0, 0], [0, -1, 0]]])
    assert camera.dtype == np.float32


def test_to_camera_turns_by_the_inverse_rotation_and_ignores_the_translation() -> None:
    rng = np.random.default_rng(3)
    pose = np.eye(4)
    pose[:3, :3] = rotation(rng.normal(size=3), 0.7)
    pose[:3, 3] = [4.0, -2.0, 9.0]
    world = rng.normal(size=(5, 6, 3))
    camera = to_camera(world, pose)
    unit = world / np.linalg.norm(world, axis=-1, keepdims=True)
    np.testing.assert_allclose(camera, np.einsum("ji,hwj->hwi", pose[:3, :3], unit), atol=1e-6)
    # turned back, the camera-frame normal is the world's
    np.testing.assert_allclose(np.einsum("ij,hwj->hwi", pose[:3, :3], camera), unit, atol=1e-6)
    back = from_camera(camera, pose)
    assert back.dtype == np.float32
    np.testing.assert_allclose(back, unit, atol=1e-6)
    np.testing.assert_array_equal(from_camera(np.zeros((1, 1, 3)), pose), np.zeros((1, 1, 3)))
    with pytest.raises(ValueError, match="not 1: it is not a camera pose"):
        from_camera(camera, 2.0 * pose)
    assert camera[0, 0] @ np.array([1.0, 0.0, 0.0]) != pytest.approx(unit[0, 0] @ np.array([1.0, 0.0, 0.0]))


def test_background_stays_zero_and_lengths_become_one() -> None:
    world = np.array([[[0.0, 0.0, 0.0], [0.0, 0.0, 0.43], [np.nan, 0.0, 0.0]]])
    for normals in (to_camera(world, LOOKING_DOWN), to_world(world)):
        np.testing.assert_array_equal(normals[0, 0], [0, 0, 0])
        np.testing.assert_array_equal(normals[0, 2], [0, 0, 0])
        assert np.linalg.norm(normals[0, 1]) == pytest.approx(1.0, abs=1e-7)
    np.testing.assert_array_equal(to_world(world)[0, 1], [0, 0, 1])
    assert to_world(world).dtype == np.float32
    unit, surface = unit_normals(world.astype(np.float32))
    assert surface.tolist() == [[False, True, False]] and unit.dtype == np.float64


def test_a_pose_that_is_not_a_rotation_is_refused() -> None:
    with pytest.raises(ValueError, match=r"columns of length \[1\.000012, 1\.0, 1\.0\], not 1"):
        to_camera(np.ones((1, 1, 3)), np.diag([1.0000123456, 1.0, 1.0, 1.0]))
    rows_of_length_one = np.array([[0.6, 0.8, 0.0], [0.6, 0.8, 0.0], [0.0, 0.0, 1.0]])
    with pytest.raises(ValueError, match=r"columns of length \[0\.848528, 1\.131371, 1\.0\]"):
        to_camera(np.ones((1, 1, 3)), rows_of_length_one)
    to_camera(np.ones((1, 1, 3)), np.diag([1.0 + 5e-7, 1.0, 1.0]))  # float32 poses pass


@pytest.mark.parametrize("shape", [(4, 3), (2, 2, 4)])
def test_other_shapes_are_refused(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"3 components per pixel \(H, W, 3\), got shape"):
        unit_normals(np.ones(shape))


def test_normal16_is_n_plus_one_over_two_in_sixteen_bits() -> None:
    normals = np.array([[[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.28, 0.0, -0.96]]])
    encoded = normal16(normals)
    assert encoded.dtype == np.uint16
    np.testing.assert_array_equal(encoded, [[[65535, 32768, 32768], [0, 0, 0], [41942, 32768, 1311]]])


def test_normal16_round_trips_within_half_a_step() -> None:
    rng = np.random.default_rng(8)
    unit = unit_normals(rng.normal(size=(20, 30, 3)))[0]
    unit[0, 0] = 0.0
    decoded = from_normal16(normal16(unit))
    np.testing.assert_array_equal(decoded[0, 0], [0, 0, 0])
    assert np.abs(decoded - unit).max() <= 1.0 / 65535 + 1e-12
    assert np.abs(decoded - unit).max() > 1e-6  # quantised, not passed through
