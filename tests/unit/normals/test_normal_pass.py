"""Cycles' Normal pass as a multilayer EXR names it."""

from __future__ import annotations

import numpy as np
import pytest

from depth_node.core.normals.normal_pass import from_channels, normal_channels


@pytest.mark.parametrize("prefix", ["ViewLayer.", "", "Passes.Sub."])
def test_the_normal_pass_is_found_under_any_layer_in_x_y_z_order(prefix: str) -> None:
    rng = np.random.default_rng(2)
    channels = {f"{prefix}Normal.{c}": rng.normal(size=(2, 3)) for c in "ZXY"}
    channels[f"{prefix}Vector.X"] = np.zeros((2, 3))
    assert normal_channels(list(channels)) == [f"{prefix}Normal.{c}" for c in "XYZ"]
    normals = from_channels(channels)
    assert normals.shape == (2, 3, 3) and normals.dtype == np.float32
    np.testing.assert_array_equal(normals[..., 1], channels[f"{prefix}Normal.Y"].astype(np.float32))


def test_a_file_without_one_normal_pass_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^no Normal pass \(channels <layer>\.Normal\.X, \.Y, \.Z\)"):
        from_channels({"ViewLayer.Normal.X": np.zeros((1, 1)), "ViewLayer.Normal.Y": np.zeros((1, 1))})
