"""Driver expressions for camera switches at timeline markers (bpy-free)."""

from __future__ import annotations

import pytest

from depth_node.core.camera import UnsupportedCameraError
from depth_node.core.drivers import MAX_DRIVER_EXPRESSION, switch_expression
from depth_node.core.graph_spec import CAMERA_INPUTS
from depth_node.core.nodes import DriverSpec


def evaluate(expression: str, variables: dict[str, float], frame: int) -> float:
    return eval(expression, {"__builtins__": {}}, {**variables, "frame": frame})  # noqa: S307


def test_variables_sharing_a_first_letter_do_not_collide() -> None:
    # Two camera properties whose names share "s", in an expression written without spaces.
    driver = DriverSpec("sx+2*sy", (("sx", "camera.data.shift_x"), ("sy", "camera.data.shift_y")))
    expression, variables = switch_expression(driver, [(1, 0), (5, 1), (9, 0)])
    names = [name for name, _, _ in variables]
    assert len(names) == len(set(names)) == 4
    values = {name: (10.0 if path.endswith("x") else 100.0) * (camera + 1) for name, path, camera in variables}
    assert evaluate(expression, values, 3) == 10 + 200  # camera 0
    assert evaluate(expression, values, 5) == 20 + 400  # camera 1
    assert evaluate(expression, values, 9) == 10 + 200  # camera 0 again


def test_scene_variables_are_kept_and_camera_paths_lose_their_prefix() -> None:
    driver = DriverSpec("use_border and crop", (("use_border", "render.use_border"),
                                                ("crop", "render.use_crop_to_border")))
    assert switch_expression(driver, [(1, 0), (5, 1)]) == (driver.expression, [
        ("use_border", "render.use_border", None), ("crop", "render.use_crop_to_border", None)])
    lens = next(socket.driver for socket in CAMERA_INPUTS if socket.name == "Focal Length")
    expression, variables = switch_expression(lens, [(1, 0), (5, 1)])
    assert variables == [("c0_0", "data.lens", 0), ("c1_0", "data.lens", 1)]
    assert expression == "c1_0 if frame>=5 else c0_0"


def test_no_markers_leaves_the_driver_as_it_is() -> None:
    lens = next(socket.driver for socket in CAMERA_INPUTS if socket.name == "Focal Length")
    assert switch_expression(lens, []) == ("value", [("value", "camera.data.lens", None)])


def test_generated_names_cannot_be_shadowed() -> None:
    with pytest.raises(ValueError, match="look like generated"):
        switch_expression(DriverSpec("c0_0", (("c0_0", "camera.data.lens"),)), [(1, 0)])


def test_too_many_switches_are_refused_with_a_clear_message() -> None:
    lens = next(socket.driver for socket in CAMERA_INPUTS if socket.name == "Focal Length")
    segments = [(frame, frame % 40) for frame in range(1, 41)]
    with pytest.raises(UnsupportedCameraError, match=f"Blender allows {MAX_DRIVER_EXPRESSION}"):
        switch_expression(lens, segments)
