"""The True Flow group's description, run by the node interpreter on a synthetic Vector pass and depth, against
flow worked out independently: the pass in this product's convention, the sky from the direction seen by the
other camera (core.flow.infinity), in view from the point projected by a plain pinhole formula."""

from __future__ import annotations

import numpy as np
import pytest

from depth_node.core.flow import BACKWARD, DIRECTIONS, FORWARD, lands_inside
from depth_node.core.flow.camera_pair import across_cut, camera_pair
from depth_node.core.flow.infinity import infinity_flow
from depth_node.core.flow.vector_pass import from_vector_pass
from depth_node.core.graph.nodes import SocketRef
from depth_node.core.graph.true_flow import (
    DEPTH_INPUT,
    EXACT_INPUT,
    OUTPUTS,
    SIZE_INPUTS,
    VECTOR_INPUT,
    build_spec,
    keyed_inputs,
    keyed_values,
)

from ..samples import rotation_about
from .contract import check_typed_contract
from .interpreter import evaluate

SIZE = (9, 6)  # width, height
K = np.array([[8.0, 0.0, 4.3], [0.0, 8.5, 2.4], [0.0, 0.0, 1.0]])
K_OTHER = np.array([[8.5, 0.0, 3.9], [0.0, 9.0, 2.7], [0.0, 0.0, 1.0]])
K_ORTHO = np.array([[2.0, 0.0, 4.0], [0.0, 2.0, 2.5], [0.0, 0.0, 1.0]])  # pixels per scene unit


def sidecar(K: np.ndarray, rotation: np.ndarray, origin: tuple[float, float, float], projection: str = "PERSP",
            clip: tuple[float, float] = (0.1, 100.0)) -> dict:
    to_world = np.eye(4)
    to_world[:3, :3], to_world[:3, 3] = rotation, origin
    return {"K": K.tolist(), "camera_to_world_opencv": to_world.tolist(), "projection": projection,
            "width": SIZE[0], "height": SIZE[1], "clip_start": clip[0], "clip_end": clip[1]}


def synthetic_pass(seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """A Vector pass of a few pixels each way, and a depth with sky (1e10) in one corner."""
    generator = np.random.default_rng(seed)
    vector = generator.uniform(-4.0, 4.0, (SIZE[1], SIZE[0], 4))
    depth = generator.uniform(0.5, 30.0, (SIZE[1], SIZE[0]))
    depth[:2, :3] = 1e10
    return vector, depth


def run(meta: dict, others: dict[str, dict | None], vector: np.ndarray, depth: np.ndarray, exact: float = 1.0,
        active: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    inputs = {VECTOR_INPUT: vector, DEPTH_INPUT: depth, EXACT_INPUT: exact, SIZE_INPUTS[0]: float(SIZE[0]),
              SIZE_INPUTS[1]: float(SIZE[1])}
    for direction in DIRECTIONS:
        pair = across_cut() if others[direction] is None else camera_pair(meta, others[direction])
        values = keyed_values(pair)
        if active is not None:
            values = (active[direction],) + values[1:]
        inputs.update(zip(keyed_inputs(direction), values, strict=True))
    result = evaluate(build_spec(), inputs, (SIZE[1], SIZE[0]), results=True)
    return {direction: result[OUTPUTS[direction]] for direction in DIRECTIONS}


def depth_in(meta: dict, other: dict, depth: np.ndarray) -> np.ndarray:
    """The planar depth in ``other``'s camera of each pixel's point (a plain pinhole / orthographic formula)."""
    rows, columns = np.mgrid[0:SIZE[1], 0:SIZE[0]].astype(float)
    pixels = np.stack([columns, rows, np.ones_like(rows)], axis=-1)
    plane = pixels @ np.linalg.inv(np.asarray(meta["K"])).T
    if meta["projection"] == "ORTHO":
        local = np.concatenate([plane[..., :2], depth[..., None]], axis=-1)
    else:
        local = plane * depth[..., None]
    to_world, other_to_world = np.asarray(meta["camera_to_world_opencv"]), np.asarray(other["camera_to_world_opencv"])
    world = local @ to_world[:3, :3].T + to_world[:3, 3]
    return ((world - other_to_world[:3, 3]) @ other_to_world[:3, :3])[..., 2]


MOVED = {FORWARD: (rotation_about([0.1, 1.0, 0.2], 0.08), (0.4, -0.1, 0.3)),
         BACKWARD: (rotation_about([1.0, 0.2, 0.0], -0.05), (-0.3, 0.2, -2.0))}


@pytest.mark.parametrize("projection", ["PERSP", "ORTHO"])
def test_flow_and_in_view_equal_the_worked_out_ones(projection: str) -> None:
    intrinsics, others_K = (K, K_OTHER) if projection == "PERSP" else (K_ORTHO, K_ORTHO)
    meta = sidecar(intrinsics, rotation_about([0.3, 0.2, 1.0], 0.1), (1.0, 2.0, -1.0), projection)
    others = {direction: sidecar(others_K, meta_rotation @ np.asarray(meta["camera_to_world_opencv"])[:3, :3],
                                 tuple(np.add(offset, (1.0, 2.0, -1.0))), projection, clip=(2.0, 20.0))
              for direction, (meta_rotation, offset) in MOVED.items()}
    vector, depth = synthetic_pass()
    got = run(meta, others, vector, depth)
    pass_flow = from_vector_pass(vector)
    sky = depth >= 1e9
    for direction in DIRECTIONS:
        other = others[direction]
        if projection == "PERSP":
            sky_flow, ahead = infinity_flow(meta, other)
        else:
            sky_flow, ahead = np.zeros_like(pass_flow[direction]), np.zeros(sky.shape, bool)
        want = np.where(sky[..., None], sky_flow, pass_flow[direction])
        np.testing.assert_allclose(got[direction][..., :2], want, atol=1e-9)
        there = depth_in(meta, other, depth)
        in_clip = (there >= 2.0) & (there <= 20.0)
        want_in_view = lands_inside(want) & np.where(sky, ahead, in_clip)
        assert set(np.unique(got[direction][..., 2])) <= {0.0, 1.0}
        np.testing.assert_array_equal(got[direction][..., 2] == 1.0, want_in_view)
        # the test means something: both kinds of pixel, in and out of view, clipped and not
        assert want_in_view.any() and not want_in_view.all() and (~in_clip & ~sky).any()
        if projection == "PERSP":
            assert want_in_view[sky].any() and np.abs(sky_flow[sky]).max() > 0.1


def test_a_cut_or_an_inexact_pass_gives_zero_and_not_in_view() -> None:
    meta = sidecar(K, np.eye(3), (0.0, 0.0, 0.0))
    moved = sidecar(K_OTHER, rotation_about([0.0, 1.0, 0.0], 0.05), (0.1, 0.0, 0.0))
    vector, depth = synthetic_pass()
    cut = run(meta, {FORWARD: None, BACKWARD: moved}, vector, depth)
    assert not cut[FORWARD].any() and cut[BACKWARD][..., 2].any()
    for result in (run(meta, {FORWARD: moved, BACKWARD: moved}, vector, depth, exact=0.0),
                   run(meta, {FORWARD: moved, BACKWARD: moved}, vector, depth, active={FORWARD: 0.0, BACKWARD: 0.0})):
        assert not any(flow.any() for flow in result.values())


def test_a_pixel_exactly_on_the_image_edge_is_in_view() -> None:
    meta = sidecar(K, np.eye(3), (0.0, 0.0, 0.0))
    vector, depth = np.zeros((SIZE[1], SIZE[0], 4)), np.full((SIZE[1], SIZE[0]), 5.0)
    vector[..., 0] = -0.5  # backward u = -0.5: column 0 lands on x = -0.5, the left edge
    vector[..., 1] = 0.6  # backward v = -0.6: row 0 lands above the image
    got = run(meta, {FORWARD: meta, BACKWARD: meta}, vector, depth)[BACKWARD]
    assert (got[1:, 0, 2] == 1.0).all() and not got[0, :, 2].any()
    assert got[..., 2].sum() == (SIZE[1] - 1) * SIZE[0]


def test_only_perspective_and_orthographic_cameras() -> None:
    meta = sidecar(K, np.eye(3), (0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="PANO"):
        camera_pair(meta, {**meta, "projection": "PANO"})


def test_the_exactness_input_is_a_driver_of_the_render_settings() -> None:
    spec = build_spec()  # built in the test (not at import), so that mutation testing sees it
    (exact,) = [socket for socket in spec.inputs if socket.name == EXACT_INPUT]
    paths = {path for _, path in exact.driver.variables}
    assert paths == {"render.use_motion_blur", "cycles.samples", "cycles.filter_width"}
    keyed = {name for direction in DIRECTIONS for name in keyed_inputs(direction)} | set(SIZE_INPUTS)
    assert {socket.name for socket in spec.inputs if socket.driver is None} == keyed | {VECTOR_INPUT, DEPTH_INPUT}


def test_every_node_reads_defined_sockets_and_each_output_is_a_flow() -> None:
    spec = build_spec()
    names = [node.name for node in spec.nodes]
    assert len(names) == len(set(names))
    for output in OUTPUTS.values():
        ref = spec.result[output]
        assert isinstance(ref, SocketRef) and ref.node.endswith("Flow")


def test_the_description_keeps_the_typed_contract() -> None:
    check_typed_contract(build_spec(), {VECTOR_INPUT, DEPTH_INPUT})
