"""Blender's Vector pass read in this room's convention (what it means was measured in Blender: tests/blender)."""

from __future__ import annotations

import numpy as np
import pytest

from depth_node.core.flow import BACKWARD, FORWARD
from depth_node.core.flow.vector_pass import from_vector_pass, rendered_pass, to_vector_pass, vector_channels


def test_the_pass_components_become_both_flows() -> None:
    vector = np.zeros((2, 3, 4), dtype=np.float32)
    vector[1, 2] = (1.0, 2.0, 3.0, 4.0)
    flows = from_vector_pass(vector)
    assert flows[BACKWARD][1, 2].tolist() == [1.0, -2.0]  # to f-1 with y up, in y down
    assert flows[FORWARD][1, 2].tolist() == [-3.0, 4.0]   # minus the motion to f+1 with y up
    assert flows[FORWARD].shape == (2, 3, 2) and flows[FORWARD].dtype == np.float32
    assert not flows[BACKWARD][0].any()


def test_to_vector_pass_inverts_it() -> None:
    vector = np.random.default_rng(3).normal(size=(4, 5, 4)).astype(np.float32)
    assert np.array_equal(to_vector_pass(from_vector_pass(vector)), vector)


@pytest.mark.parametrize("shape", [(4, 5), (4, 5, 3), (4, 5, 2, 2)])
def test_other_shapes_are_refused(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"4 channels \(X, Y, Z, W\)"):
        from_vector_pass(np.zeros(shape))


@pytest.mark.parametrize("prefix", ["ViewLayer.", "", "My Layer.Sub."])
def test_vector_channels_are_found_under_any_layer(prefix: str) -> None:
    names = [f"{prefix}Vector.{c}" for c in "WZYX"] + [f"{prefix}Depth.Z", f"{prefix}Combined.R"]
    assert vector_channels(names) == [f"{prefix}Vector.{c}" for c in "XYZW"]


def test_vector_channels_refuse_what_is_not_one_whole_pass() -> None:
    with pytest.raises(ValueError, match=r"^no Vector pass .* among the channels: B, G, R$"):
        vector_channels(["R", "G", "B"])
    with pytest.raises(ValueError, match="^no Vector pass"):
        vector_channels(["ViewLayer.Vector.X", "ViewLayer.Vector.Y", "ViewLayer.Vector.Z"])
    two = [f"{layer}.Vector.{c}" for layer in ("A", "B") for c in "XYZW"]
    with pytest.raises(ValueError, match=r"^2 \(A, B\) Vector pass"):
        vector_channels(two)
    many = [f"C{index}" for index in range(20)]
    with pytest.raises(ValueError, match=r"C19 \.\.\.$"):
        vector_channels(many)


def pass_channels(prefix: str, depth: bool = True) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    channels = {f"{prefix}Vector.{axis}": rng.normal(size=(3, 4)).astype(np.float32) for axis in "XYZW"}
    if depth:
        channels[f"{prefix}Depth.Z"] = np.full((3, 4), 2.5, dtype=np.float32)
    channels[f"{prefix}Combined.R"] = np.zeros((3, 4), dtype=np.float32)
    return channels


def test_a_rendered_pass_keeps_its_layer_depth_and_samples() -> None:
    channels = pass_channels("View Layer 2.")
    rendered = rendered_pass(channels, {"cycles.View Layer 2.samples": "1", "cycles.Other.samples": "64"})
    assert rendered.layer == "View Layer 2" and rendered.samples == 1
    assert rendered.vector.shape == (3, 4, 4) and rendered.vector.dtype == np.float32
    for index, axis in enumerate("XYZW"):
        assert np.array_equal(rendered.vector[..., index], channels[f"View Layer 2.Vector.{axis}"])
    assert rendered.depth is not None and rendered.depth.dtype == np.float32 and (rendered.depth == 2.5).all()


def test_a_rendered_pass_without_depth_or_samples_says_none() -> None:
    rendered = rendered_pass(pass_channels("", depth=False), {"cycles.samples": "not a number"})
    assert rendered.layer == "" and rendered.depth is None and rendered.samples is None
    assert rendered_pass(pass_channels("L."), {"cycles.L.samples": "x"}).samples is None
    assert rendered_pass(pass_channels("L."), {}).samples is None


def test_another_layers_depth_is_not_taken() -> None:
    channels = {**pass_channels("A.", depth=False), "B.Depth.Z": np.ones((3, 4), dtype=np.float32)}
    assert rendered_pass(channels, {}).depth is None


def test_the_refusal_lists_twelve_channels_and_names_a_pass_without_layer() -> None:
    twelve = [f"C{index:02d}" for index in range(12)]
    with pytest.raises(ValueError, match=r"among the channels: C00, .*C11$"):
        vector_channels(twelve)
    with pytest.raises(ValueError, match=r"C11 \.\.\.$"):
        vector_channels([*twelve, "C12"])
    both = [f"{prefix}Vector.{axis}" for prefix in ("", "Layer.") for axis in "XYZW"]
    with pytest.raises(ValueError, match=r"^2 \(\(no layer\), Layer\) Vector pass"):
        vector_channels(both)
