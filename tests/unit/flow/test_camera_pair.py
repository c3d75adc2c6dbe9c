"""The numbers the True Flow node keys per frame, against points moved and projected by plain formulas."""

from __future__ import annotations

import numpy as np
import pytest

from depth_node.core.flow.camera_pair import across_cut, camera_pair

from ..samples import rotation_about

K = np.array([[8.0, 0.3, 4.3], [0.0, 8.5, 2.4], [0.0, 0.0, 1.0]])
K_OTHER = np.array([[9.5, 0.0, 3.9], [0.0, 9.0, 2.7], [0.0, 0.0, 1.0]])


def sidecar(K: np.ndarray, rotation: np.ndarray, origin: tuple[float, float, float], projection: str | None,
            clip: tuple[float, float] = (0.5, 40.0)) -> dict:
    to_world = np.eye(4)
    to_world[:3, :3], to_world[:3, 3] = rotation, origin
    meta = {"K": K.tolist(), "camera_to_world_opencv": to_world.tolist(), "clip_start": clip[0], "clip_end": clip[1]}
    if projection is not None:
        meta["projection"] = projection
    return meta


PIXELS = np.array([[0.0, 0.0, 1.0], [3.5, 1.25, 1.0], [8.0, 5.0, 1.0], [-2.0, 7.5, 1.0]])
DEPTHS = np.array([1.0, 2.5, 7.0, 30.0])


def camera_points(meta: dict, orthographic: bool) -> np.ndarray:
    plane = PIXELS @ np.linalg.inv(np.asarray(meta["K"])).T
    if orthographic:
        return np.column_stack([plane[:, :2], DEPTHS])
    return plane * DEPTHS[:, None]


def in_other(meta: dict, other: dict, points: np.ndarray) -> np.ndarray:
    to_world, other_to_world = np.asarray(meta["camera_to_world_opencv"]), np.asarray(other["camera_to_world_opencv"])
    world = points @ to_world[:3, :3].T + to_world[:3, 3]
    return (world - other_to_world[:3, 3]) @ other_to_world[:3, :3]


@pytest.mark.parametrize("projection", [None, "PERSP", "ORTHO"])
def test_the_depth_there_is_the_moved_points_depth(projection: str | None) -> None:
    orthographic = projection == "ORTHO"
    meta = sidecar(K, rotation_about([0.2, 1.0, 0.3], 0.2), (1.0, -2.0, 0.5), projection)
    other = sidecar(K_OTHER, rotation_about([1.0, 0.1, 0.4], -0.3), (1.5, -1.0, -0.5), projection, clip=(0.7, 33.0))
    pair = camera_pair(meta, other)
    there = in_other(meta, other, camera_points(meta, orthographic))
    got = DEPTHS * (PIXELS @ pair.depth_gain) + PIXELS @ pair.depth_offset
    np.testing.assert_allclose(got, there[:, 2], rtol=1e-12, atol=1e-12)
    assert (pair.clip_start, pair.clip_end, pair.active) == (0.7, 33.0, 1.0)
    if orthographic:
        assert not pair.homography.any(), "a direction has no orthographic image"
        return
    far = in_other(meta, other, PIXELS @ np.linalg.inv(K).T * 1e9) @ K_OTHER.T
    seen = PIXELS @ pair.homography.T
    np.testing.assert_allclose(seen[:, :2] / seen[:, 2:], far[:, :2] / far[:, 2:], atol=1e-6)
    np.testing.assert_allclose(seen[:, 2], (PIXELS @ np.linalg.inv(K).T @ np.asarray(
        meta["camera_to_world_opencv"])[:3, :3].T @ np.asarray(other["camera_to_world_opencv"])[:3, :3])[:, 2])


def test_across_a_cut_everything_is_zero_and_inactive() -> None:
    pair = across_cut()
    assert pair.active == 0.0 and pair.clip_start == pair.clip_end == 0.0
    for values, shape in ((pair.homography, (3, 3)), (pair.depth_gain, (3,)), (pair.depth_offset, (3,))):
        assert values.shape == shape and not values.any()


@pytest.mark.parametrize("first", [True, False])
def test_panoramic_sidecars_are_refused_by_name(first: bool) -> None:
    meta = sidecar(K, np.eye(3), (0.0, 0.0, 0.0), "PERSP")
    pano = {**meta, "projection": "PANO"}
    with pytest.raises(ValueError, match="not PANO"):
        camera_pair(pano, meta) if first else camera_pair(meta, pano)
