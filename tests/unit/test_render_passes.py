"""Render passes' channel names in a multilayer EXR."""

from __future__ import annotations

import pytest

from depth_node.core.render_passes import pass_channels


def test_a_pass_is_named_by_its_whole_name_not_its_ending() -> None:
    names = [f"ViewLayer.{name}.{c}" for name in ("Normal", "MyNormal") for c in "XYZ"]
    assert pass_channels(names, "Normal", ("X", "Y", "Z")) == [f"ViewLayer.Normal.{c}" for c in "XYZ"]
    assert pass_channels(["Normal.Y", "Normal.X"], "Normal", ("X", "Y")) == ["Normal.X", "Normal.Y"]


def test_two_layers_or_a_missing_component_are_refused() -> None:
    two = [f"{layer}.Depth.Z" for layer in ("A", "B")]
    with pytest.raises(ValueError, match=r"^2 \(A, B\) Depth pass \(channels <layer>\.Depth\.Z\)"):
        pass_channels(two, "Depth", ("Z",))
    with pytest.raises(ValueError, match=r"^no Normal pass .* among the channels: Normal\.X$"):
        pass_channels(["Normal.X"], "Normal", ("X", "Y"))
