"""The room's shared parts: a frame's flow as EXR channels, and where a flow lands inside the image."""

from __future__ import annotations

import numpy as np

from depth_node.core.flow import DIRECTIONS, STEP, VALID_BY_RAY_CASTS, Flow, describe, lands_inside


def test_channels_are_u_v_valid() -> None:
    uv = np.arange(12, dtype=np.float64).reshape(2, 3, 2)
    valid = np.array([[True, False, True], [False, False, True]])
    channels = Flow(uv, valid).channels()
    assert list(channels) == ["R", "G", "B"]
    assert np.array_equal(channels["R"], uv[..., 0]) and np.array_equal(channels["G"], uv[..., 1])
    assert channels["B"].tolist() == [[1, 0, 1], [0, 0, 1]] and channels["B"].dtype == np.float32


def test_directions_refer_to_the_next_and_previous_frames() -> None:
    assert DIRECTIONS == ("forward", "backward") and STEP == {"forward": 1, "backward": -1}


def test_lands_inside_uses_the_pixel_squares() -> None:
    uv = np.zeros((2, 3, 2))
    uv[0, 0] = (-0.5, -0.5)        # on the top-left corner: inside
    uv[0, 1] = (-1.51, 0.0)        # left of the image
    uv[0, 2] = (-0.5001, 0.0)      # x = 1.4999: inside
    uv[1, 0] = (0.0, 0.5)          # y = 1.5: the bottom edge is outside
    uv[1, 1] = (np.nan, 0.0)
    uv[1, 2] = (0.4999, 0.4999)    # x = 2.4999, y = 1.4999: inside
    assert lands_inside(uv).tolist() == [[True, False, True], [False, False, True]]
    uv[0, 2] = (0.5, 0.0)          # x = 2.5 = W - 0.5: outside
    assert not lands_inside(uv)[0, 2]


def test_lands_inside_checks_every_row_and_both_lower_edges() -> None:
    uv = np.zeros((3, 2, 2))
    uv[2, 0] = (0.0, 0.49)       # y = 2.49: inside the last row
    uv[0, 1] = (0.0, -0.51)      # y = -0.51: above the image
    uv[1, 1] = (-1.51, 0.0)      # x = -0.51: left of it
    assert lands_inside(uv).tolist() == [[True, False], [True, False], [True, True]]


def test_channels_are_float32_whatever_the_flow_type() -> None:
    channels = Flow(np.ones((1, 2, 2), dtype=np.float64), np.ones((1, 2), dtype=bool)).channels()
    assert all(pixels.dtype == np.float32 for pixels in channels.values())


def test_the_sidecar_description_names_the_other_frames_or_none_across_a_cut() -> None:
    described = describe(7, {"forward": False, "backward": True}, "mine", samples=1)
    assert (described["forward_frame"], described["backward_frame"]) == (8, None)
    assert described["valid"] == "mine" and described["samples"] == 1
    assert "OpenCV pixels" in described["convention"]
    default = describe(7, {"forward": True, "backward": False})
    assert (default["forward_frame"], default["backward_frame"]) == (None, 6)
    assert default["valid"] == VALID_BY_RAY_CASTS
