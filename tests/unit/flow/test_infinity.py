"""The flow of rays that hit nothing, against far points projected by a plain pinhole formula."""

from __future__ import annotations

import numpy as np
import pytest

from depth_node.core.flow.infinity import infinity_flow, pixel_directions, pixel_rays, with_background

from ..samples import rotation_about


def sidecar(K: np.ndarray, to_world: np.ndarray, projection: str = "PERSP", size: tuple[int, int] = (7, 5)) -> dict:
    return {"K": K.tolist(), "camera_to_world_opencv": to_world.tolist(), "projection": projection,
            "width": size[0], "height": size[1]}


def pose(rotation: np.ndarray, origin: tuple[float, float, float]) -> np.ndarray:
    to_world = np.eye(4)
    to_world[:3, :3], to_world[:3, 3] = rotation, origin
    return to_world


K1 = np.array([[9.0, 0.0, 3.2], [0.0, 8.0, 1.9], [0.0, 0.0, 1.0]])
K2 = np.array([[10.0, 0.5, 2.8], [0.0, 11.0, 2.3], [0.0, 0.0, 1.0]])


def project(K: np.ndarray, to_world: np.ndarray, point: np.ndarray) -> np.ndarray:
    camera = (point - to_world[:3, 3]) @ to_world[:3, :3]
    return (camera @ K.T)[..., :2] / (camera @ K.T)[..., 2:]


def test_a_direction_moves_as_a_very_far_point() -> None:
    first = pose(rotation_about([0.2, 1.0, 0.1], 0.1), (0.0, 0.0, 0.0))
    second = pose(rotation_about([1.0, 0.3, 0.0], 0.15), (5.0, -3.0, 2.0))
    meta, other = sidecar(K1, first), sidecar(K2, second)
    directions = pixel_directions(meta)
    rows, columns = np.mgrid[0:5, 0:7]
    assert np.allclose(project(K1, first, directions * 1e3), np.stack([columns, rows], -1), atol=1e-9)
    far = directions / np.linalg.norm(directions, axis=-1, keepdims=True) * 1e12
    want = project(K2, second, far) - np.stack([columns, rows], -1)
    uv, ahead = infinity_flow(meta, other)
    assert ahead.all()
    assert np.abs(uv - want).max() < 1e-6
    assert np.abs(uv).max() > 1  # the rotation moves it


def test_directions_behind_the_other_camera_are_not_ahead() -> None:
    meta = sidecar(K1, pose(np.eye(3), (0, 0, 0)))
    turned = sidecar(K1, pose(rotation_about([0.0, 1.0, 0.0], np.pi), (0, 0, 0)))
    uv, ahead = infinity_flow(meta, turned)
    assert not ahead.any() and not uv.any()
    sideways = sidecar(K1, pose(rotation_about([0.0, 1.0, 0.0], np.pi / 2 - 0.02), (0, 0, 0)))
    _, ahead = infinity_flow(meta, sideways)
    assert ahead.any() and not ahead.all()


def test_only_perspective_sidecars() -> None:
    meta = sidecar(K1, np.eye(4))
    for first, second in ((sidecar(K1, np.eye(4), "ORTHO"), meta), (meta, sidecar(K1, np.eye(4), "PANO"))):
        with pytest.raises(ValueError, match="only in a perspective camera"):
            infinity_flow(first, second)


def test_pixel_rays_go_through_their_pixel_centres() -> None:
    to_world = pose(rotation_about([0.3, 0.2, 1.0], 0.4), (1.0, 2.0, 3.0))
    rows, columns = np.mgrid[0:5, 0:7]
    starts, directions = pixel_rays(sidecar(K2, to_world))
    assert np.allclose(np.linalg.norm(directions, axis=-1), 1.0)
    assert np.allclose(starts, to_world[:3, 3])
    assert np.allclose(project(K2, to_world, starts + 4.0 * directions), np.stack([columns, rows], -1))
    starts, directions = pixel_rays(sidecar(K2, to_world, "ORTHO"))
    assert np.allclose(directions, to_world[:3, 2])
    camera = (starts - to_world[:3, 3]) @ to_world[:3, :3]
    assert np.allclose(camera[..., 2], 0.0)
    ty = (rows - K2[1, 2]) / K2[1, 1]
    assert np.allclose(camera[..., 1], ty)
    assert np.allclose(camera[..., 0], (columns - K2[0, 2] - K2[0, 1] * ty) / K2[0, 0])


def test_a_sidecar_without_projection_is_perspective() -> None:
    meta = sidecar(K1, pose(np.eye(3), (0, 0, 0)))
    del meta["projection"]
    turned = sidecar(K1, pose(rotation_about([0.0, 1.0, 0.0], 0.05), (0, 0, 0)))
    del turned["projection"]
    uv, ahead = infinity_flow(meta, turned)
    assert ahead.all() and np.abs(uv).max() > 0.1
    starts, directions = pixel_rays(meta)
    assert np.allclose(starts, 0.0) and not np.allclose(directions, directions[0, 0])


def test_directions_exactly_sideways_are_not_ahead() -> None:
    meta = sidecar(np.eye(3), pose(np.eye(3), (0, 0, 0)), size=(1, 1))  # the one pixel looks along +z
    exactly = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])  # its view axis is world x
    sideways = sidecar(K1, pose(exactly, (0, 0, 0)))
    uv, ahead = infinity_flow(meta, sideways)
    assert not ahead.any() and uv.tolist() == [[[0.0, 0.0]]]


def test_with_background_replaces_only_the_sky() -> None:
    first = pose(rotation_about([0.2, 1.0, 0.1], 0.1), (0.0, 0.0, 0.0))
    second = pose(rotation_about([1.0, 0.3, 0.0], 0.15), (5.0, -3.0, 2.0))
    meta, other = sidecar(K1, first), sidecar(K2, second)
    uv = np.full((5, 7, 2), 7.0)
    background = np.zeros((5, 7), dtype=bool)
    background[1:3, 2:6] = True
    merged, ahead = with_background(uv, background, meta, other)
    want, want_ahead = infinity_flow(meta, other)
    assert np.array_equal(merged[background], want[background])
    assert np.array_equal(merged[~background], uv[~background])
    assert np.array_equal(ahead, want_ahead)


def test_with_background_of_an_orthographic_camera_is_zero_and_never_ahead() -> None:
    meta = sidecar(K1, np.eye(4), "ORTHO")
    uv = np.full((5, 7, 2), 3.0)
    background = np.zeros((5, 7), dtype=bool)
    background[0, :4] = True
    merged, ahead = with_background(uv, background, meta, sidecar(K1, np.eye(4), "ORTHO"))
    assert not merged[background].any() and (merged[~background] == 3.0).all()
    assert np.array_equal(ahead, ~background)


def test_with_background_takes_a_sidecar_without_projection_as_perspective() -> None:
    meta = sidecar(K1, np.eye(4))
    del meta["projection"]
    other = sidecar(K1, pose(rotation_about([0.0, 1.0, 0.0], 0.1), (0, 0, 0)))
    merged, _ = with_background(np.zeros((5, 7, 2)), np.ones((5, 7), dtype=bool), meta, other)
    assert np.abs(merged).max() > 0.5
