"""Driver expressions that follow camera switches at timeline markers. Imports no bpy.

A driver reading ``scene.camera`` still sees the previous camera on a switch
frame, so with markers every camera's values are read from that camera
directly and the expression picks one by ``frame``:
``c1_0 if frame>=5 else c0_0``. Variable names are ``c<camera>_<variable>``:
distinct cameras or distinct variables can never give the same name.
"""

from __future__ import annotations

import re

from .camera import UnsupportedCameraError
from .nodes import DriverSpec

MAX_DRIVER_EXPRESSION = 255
"""Blender's ``ChannelDriver.expression`` buffer."""

CAMERA_PREFIX = "camera."
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_GENERATED = re.compile(r"c\d+_\d+")


class ExpressionTooLongError(UnsupportedCameraError):
    """The switch expression does not fit Blender's driver expression buffer."""


def camera_variable(camera: int, variable: int) -> str:
    """The name of variable number ``variable`` of the driver, read from camera number ``camera``."""
    return f"c{camera}_{variable}"


def switch_expression(driver: DriverSpec, segments: list[tuple[int, int]]
                      ) -> tuple[str, list[tuple[str, str, int | None]]]:
    """The expression and ``(name, data path, camera number or None)`` variables of ``driver`` for ``segments``.

    ``segments`` lists ``(first frame, camera number)`` in frame order. Without
    segments (or without camera variables) the driver is used as it is, every
    variable reading the scene. Camera numbers are indices into the caller's
    list of distinct cameras; their variables' paths lose the ``camera.`` prefix.
    """
    clashing = [name for name, _ in driver.variables if _GENERATED.fullmatch(name)]
    if clashing:
        raise ValueError(f"driver variable names {clashing} look like generated camera variables")
    camera_positions = {name: position for position, (name, path) in enumerate(driver.variables)
                        if path.startswith(CAMERA_PREFIX)}
    if not segments or not camera_positions:
        return driver.expression, [(name, path, None) for name, path in driver.variables]
    variables: list[tuple[str, str, int | None]] = [
        (name, path, None) for name, path in driver.variables if name not in camera_positions]
    cameras = list(dict.fromkeys(camera for _, camera in segments))
    for camera in cameras:
        for name, path in driver.variables:
            if name in camera_positions:
                variables.append((camera_variable(camera, camera_positions[name]),
                                  path.removeprefix(CAMERA_PREFIX), camera))

    def for_camera(camera: int) -> str:
        renamed = _IDENTIFIER.sub(
            lambda match: (camera_variable(camera, camera_positions[match.group(0)])
                           if match.group(0) in camera_positions else match.group(0)),
            driver.expression)
        return renamed if _IDENTIFIER.fullmatch(renamed) else f"({renamed})"

    expression = for_camera(segments[0][1])
    for frame, camera in segments[1:]:
        expression = f"{for_camera(camera)} if frame>={frame} else {expression}"
    if len(expression) > MAX_DRIVER_EXPRESSION:
        raise ExpressionTooLongError(
            f"{len(segments)} camera switches at timeline markers need a driver expression of "
            f"{len(expression)} characters; Blender allows {MAX_DRIVER_EXPRESSION}: render the frame "
            "range in parts (each with fewer markers)"
        )
    return expression, variables
