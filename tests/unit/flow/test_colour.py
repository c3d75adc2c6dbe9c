"""The preview's colour wheel against flow_vis (the Middlebury colour code in numpy)."""

from __future__ import annotations

import numpy as np
import pytest

from depth_node.core.flow.colour import colour_wheel, flow_to_colour

flow_vis = pytest.importorskip("flow_vis", reason="flow_vis is a test dependency (tools/requirements-test.txt)")


def test_the_wheel_is_middleburys() -> None:
    assert np.array_equal(colour_wheel(), flow_vis.make_colorwheel())


def test_colours_match_flow_vis() -> None:
    uv = np.random.default_rng(5).normal(scale=4.0, size=(40, 50, 2))
    got = flow_to_colour(uv, np.ones(uv.shape[:2], dtype=bool)).astype(int)
    want = flow_vis.flow_to_color(uv).astype(int)  # scales by the largest length (+1e-5) as we do
    assert np.abs(got - want).max() <= 1
    assert (got == want).mean() > 0.95


def test_a_fixed_scale_darkens_what_lies_beyond_it() -> None:
    uv = np.array([[[3.0, 0.0], [0.0, 12.0]]])
    got = flow_to_colour(uv, np.ones((1, 2), dtype=bool), max_radius=6.0).astype(int)
    want = flow_vis.flow_uv_to_colors(uv[..., 0] / 6.0, uv[..., 1] / 6.0).astype(int)
    assert np.abs(got - want).max() <= 1


def test_invalid_and_non_finite_pixels_are_black_and_do_not_set_the_scale() -> None:
    uv = np.array([[[1.0, 0.0], [100.0, 0.0], [np.nan, 1.0]]])
    got = flow_to_colour(uv, np.array([[True, False, True]]))
    assert not got[0, 1].any() and not got[0, 2].any()
    assert np.array_equal(got[0, 0], flow_vis.flow_to_color(uv[:, :1])[0, 0])  # the full colour: largest valid
    assert not flow_to_colour(np.zeros((2, 2, 2)), np.zeros((2, 2), dtype=bool)).any()
    assert np.array_equal(flow_to_colour(np.zeros((1, 1, 2)), np.ones((1, 1), dtype=bool)), [[[255, 255, 255]]])


def test_invalid_pixels_do_not_tint_and_an_all_invalid_frame_is_black() -> None:
    uv = np.array([[[0.0, 0.0], [3.0, 4.0]]])
    got = flow_to_colour(uv, np.array([[True, False]]))
    assert got[0, 0].tolist() == [255, 255, 255] and not got[0, 1].any()
    got = flow_to_colour(np.array([[[-3.0, -4.0]]]), np.array([[1]]))  # an int mask
    assert np.array_equal(got, flow_vis.flow_to_color(np.array([[[-3.0, -4.0]]]))) and got.dtype == np.uint8
