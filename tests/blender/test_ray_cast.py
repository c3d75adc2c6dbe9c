"""blender/ray_cast.py: many rays at once through the Geometry Nodes Raycast node, against a brute-force
ray-triangle intersection in float64 numpy (no Blender involved), and the datablocks it leaves behind."""

from __future__ import annotations

import bpy
import numpy as np
import pytest
from conftest import submodule


def brute_force_first_hits(vertices: np.ndarray, triangles: np.ndarray, starts: np.ndarray,
                           directions: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Möller-Trumbore against every triangle, both sides: (triangle, distance), -1 and 0 for none."""
    corners = vertices[triangles]  # (T, 3, 3)
    first, second = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    p = np.cross(directions[:, None, :], second[None])  # (N, T, 3)
    det = np.einsum("ntk,tk->nt", p, first)
    with np.errstate(divide="ignore", invalid="ignore"):
        inverse = 1.0 / det
        offset = starts[:, None, :] - corners[None, :, 0]
        u = np.einsum("ntk,ntk->nt", offset, p) * inverse
        q = np.cross(offset, first[None])
        v = np.einsum("nk,ntk->nt", directions, q) * inverse
        t = np.einsum("tk,ntk->nt", second, q) * inverse
    hit = (np.abs(det) > 1e-12) & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0) & (t <= lengths[:, None])
    t = np.where(hit, t, np.inf)
    nearest = np.argmin(t, axis=1)
    distance = t[np.arange(len(t)), nearest]
    found = np.isfinite(distance)
    return np.where(found, nearest, -1), np.where(found, distance, 0.0)


@pytest.fixture
def soup() -> tuple[np.ndarray, np.ndarray]:
    """60 random triangles in a 4 m box (overlapping, at every angle)."""
    generator = np.random.default_rng(7)
    vertices = generator.uniform(-2.0, 2.0, (180, 3))
    return vertices, np.arange(180).reshape(60, 3)


def rays_at(vertices: np.ndarray, triangles: np.ndarray, count: int, seed: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rays from outside the box towards points well inside random triangles (barycentrics >= 0.1)."""
    generator = np.random.default_rng(seed)
    weights = generator.dirichlet([1.0, 1.0, 1.0], count) * 0.7 + 0.1
    targets = np.einsum("nk,nkd->nd", weights, vertices[triangles[generator.integers(0, len(triangles), count)]])
    starts = generator.normal(size=(count, 3))
    starts *= 6.0 / np.linalg.norm(starts, axis=1, keepdims=True)
    offsets = targets - starts
    return starts, offsets / np.linalg.norm(offsets, axis=1, keepdims=True), np.linalg.norm(offsets, axis=1)


def test_many_rays_find_the_first_triangle_either_side_within_their_length_or_say_they_are_blocked(td, soup) -> None:
    ray_cast = submodule(td, "blender.ray_cast")
    vertices, triangles = soup
    caster = ray_cast.RayCaster(vertices, triangles)
    try:
        starts, directions, reach = rays_at(vertices, triangles, 3000, seed=1)
        # half the rays stop well short of their target: what lies before it still counts, nothing after
        lengths = np.where(np.arange(3000) % 2 == 0, reach * 1.5, reach * 0.5)
        found, distance = caster.cast(starts, directions, lengths)
        truth, truth_distance = brute_force_first_hits(vertices, triangles, starts, directions, lengths)
        assert (found >= 0).sum() > 1200 and (truth < 0).sum() > 100  # hits and misses both tested
        assert np.mean(found == truth) >= 0.999, np.mean(found == truth)
        same = (found == truth) & (truth >= 0)
        assert np.max(np.abs(distance[same] - truth_distance[same]) / truth_distance[same]) < 1e-5
        assert np.all(distance[found < 0] == 0)
        assert np.all(distance[found >= 0] <= lengths[found >= 0] * (1 + 1e-6))
        blocked = caster.blocked(starts, directions, lengths)  # the other kind of cast, on the same rays
        assert blocked.dtype == bool and np.mean(blocked == (truth >= 0)) >= 0.999
    finally:
        ray_cast.forget_ray_casters()


def test_two_meshes_alive_each_answers_for_itself_and_nothing_is_left_behind(td, soup) -> None:
    ray_cast = submodule(td, "blender.ray_cast")
    vertices, triangles = soup
    before = {name: len(getattr(bpy.data, name)) for name in ("scenes", "objects", "meshes", "node_groups")}
    shifted = vertices + np.array([0.0, 0.0, 100.0])
    near, far = ray_cast.RayCaster(vertices, triangles), ray_cast.RayCaster(shifted, triangles)
    starts, directions, reach = rays_at(vertices, triangles, 500, seed=2)
    for caster, offset in ((near, 0.0), (far, 100.0), (near, 0.0)):  # the node switches targets both ways
        found, distance = caster.cast(starts + [0.0, 0.0, offset], directions, reach * 1.01)
        truth, truth_distance = brute_force_first_hits(vertices, triangles, starts, directions, reach * 1.01)
        assert np.mean(found == truth) >= 0.998
        assert np.all(found >= 0)  # every ray aims inside a triangle and reaches past it: it hits one
    empty, nothing = near.cast(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0))
    assert empty.shape == (0,) and nothing.shape == (0,)
    far.free()
    assert np.mean(near.cast(starts, directions, reach * 1.01)[0] >= 0) == 1.0
    ray_cast.forget_ray_casters()
    assert {name: len(getattr(bpy.data, name)) for name in before} == before
    assert ray_cast.SCENE_NAME not in bpy.data.scenes
