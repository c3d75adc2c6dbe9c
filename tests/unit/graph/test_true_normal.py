"""The True Normal group's description, run by the node interpreter on a synthetic Normal pass, against normals
turned by OpenCV's own pose convention (cv2.Rodrigues), and against a camera whose answer is known by hand."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from depth_node.core.graph.true_normal import (
    CAMERA_OUTPUT,
    EXACT_INPUT,
    NORMAL_INPUT,
    ROTATION_INPUTS,
    WORLD_OUTPUT,
    build_spec,
    keyed_values,
)
from depth_node.core.outputs.sidecar import BLENDER_TO_OPENCV_CAMERA

from .contract import check_typed_contract
from .interpreter import evaluate

SHAPE = (5, 7)


def synthetic_pass(seed: int) -> np.ndarray:
    """World normals of random lengths (a 5.3 pass is not exactly unit), with background 0 in a corner."""
    generator = np.random.default_rng(seed)
    normals = generator.normal(size=SHAPE + (3,))
    normals *= generator.uniform(0.5, 2.0, SHAPE + (1,)) / np.linalg.norm(normals, axis=-1, keepdims=True)
    normals[:2, :2] = 0.0
    return normals


def run(normals: np.ndarray, pose: np.ndarray, exact: float = 1.0) -> dict[str, np.ndarray]:
    inputs = {NORMAL_INPUT: normals, EXACT_INPUT: exact, **dict(zip(ROTATION_INPUTS, keyed_values(pose),
                                                                    strict=True))}
    return evaluate(build_spec(), inputs, SHAPE, results=True)


@pytest.mark.parametrize("seed", range(3))
def test_the_camera_normal_is_the_world_normal_seen_by_opencvs_world_to_camera_rotation(seed: int) -> None:
    generator = np.random.default_rng(100 + seed)
    world_to_camera = cv2.Rodrigues(generator.uniform(-2.0, 2.0, 3))[0]  # OpenCV's x_camera = R x_world + t
    pose = np.eye(4)
    pose[:3, :3], pose[:3, 3] = world_to_camera.T, generator.uniform(-5.0, 5.0, 3)  # the translation plays no part
    normals = synthetic_pass(seed)
    got = run(normals, pose)
    unit = normals / np.maximum(np.linalg.norm(normals, axis=-1, keepdims=True), 1e-300)
    surface = np.any(normals != 0, axis=-1)
    np.testing.assert_allclose(got[CAMERA_OUTPUT][surface], unit[surface] @ world_to_camera.T, atol=1e-12)
    np.testing.assert_allclose(got[WORLD_OUTPUT][surface], unit[surface], atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(got[CAMERA_OUTPUT][surface], axis=-1), 1.0, atol=1e-12)
    assert not got[CAMERA_OUTPUT][~surface].any() and not got[WORLD_OUTPUT][~surface].any()


def test_a_blender_camera_looking_down_its_axis_sees_the_facing_normal_as_minus_z() -> None:
    # Blender's camera at rest looks down world -Z with +Y up; turned 90 degrees about world X it looks along +Y
    turned = np.eye(4)
    turned[:3, :3] = [[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]]
    normals = np.zeros(SHAPE + (3,))
    normals[0, 0], normals[0, 1], normals[0, 2] = (0.0, 0.0, 1.0), (0.0, 3.0, 0.0), (2.0, 0.0, 0.0)
    at_rest = run(normals, BLENDER_TO_OPENCV_CAMERA)[CAMERA_OUTPUT][0]
    np.testing.assert_allclose(at_rest[:3], [[0, 0, -1], [0, -1, 0], [1, 0, 0]], atol=1e-15)  # up is -y in OpenCV
    looking_along_y = run(normals, turned @ BLENDER_TO_OPENCV_CAMERA)[CAMERA_OUTPUT][0]
    np.testing.assert_allclose(looking_along_y[:3], [[0, -1, 0], [0, 0, 1], [1, 0, 0]], atol=1e-15)


def test_an_inexact_pass_gives_zero_and_the_rotation_is_keyed_row_by_row() -> None:
    normals = synthetic_pass(7)
    pose = np.eye(4)
    pose[:3, :3] = cv2.Rodrigues(np.array([0.3, -0.2, 0.9]))[0]
    got = run(normals, pose, exact=0.0)
    assert not got[CAMERA_OUTPUT].any() and not got[WORLD_OUTPUT].any()
    assert keyed_values(pose) == tuple(pose[:3, :3].T.ravel())
    assert ROTATION_INPUTS[:4] == ("R00", "R01", "R02", "R10") and len(ROTATION_INPUTS) == 9


def test_the_interface_is_a_vector_in_two_unit_vectors_out_and_a_rotation_keyed_between_minus_1_and_1() -> None:
    spec = build_spec()
    inputs = {socket.name: socket for socket in spec.inputs}
    assert list(inputs) == [NORMAL_INPUT, EXACT_INPUT, *ROTATION_INPUTS]
    assert (inputs[NORMAL_INPUT].socket_type, inputs[NORMAL_INPUT].dimensions) == ("NodeSocketVector", 3)
    assert all((inputs[name].min_value, inputs[name].max_value) == (-1.0, 1.0) for name in ROTATION_INPUTS)
    assert [inputs[name].default for name in ROTATION_INPUTS] == list(np.eye(3).ravel())  # unbound: the identity
    exact = inputs[EXACT_INPUT]
    assert (exact.default, exact.min_value, exact.max_value) == (0.0, 0.0, 1.0)
    assert exact.driver.expression == "(not blur) and samples == 1 and width <= 0.01"
    assert dict(exact.driver.variables) == {"blur": "render.use_motion_blur", "samples": "cycles.samples",
                                            "width": "cycles.filter_width"}
    assert [(socket.name, socket.socket_type, socket.dimensions, socket.min_value, socket.max_value)
            for socket in spec.outputs] == [(CAMERA_OUTPUT, "NodeSocketVector", 3, -1.0, 1.0),
                                            (WORLD_OUTPUT, "NodeSocketVector", 3, -1.0, 1.0)]
    assert (spec.name, spec.mode, spec.variant, spec.version) == ("True Normal", "TRUE_NORMAL", "perspective", 1)
    assert spec.camera_inputs == (exact,)


def test_the_description_keeps_the_typed_contract() -> None:
    spec = build_spec()
    check_typed_contract(spec, {NORMAL_INPUT})
    assert spec.inputs[0].default == 0.0 and (spec.inputs[0].min_value, spec.inputs[0].max_value) == (-1e30, 1e30)
    assert sum(node.frame == "Per pixel" for node in spec.nodes) == 14  # |n|, exact/|n|, 3 x (dot, x), 3 x, 2 combines
