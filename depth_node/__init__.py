"""True Depth: ray distance <-> planar depth as a Blender compositor node group.

Layout: ``depth_node.core`` (camera frame and projections, numpy reference,
graph description, file formats; imports no bpy), ``depth_node.blender``
(group builder, binding, compat seam, scenes, UI) and ``depth_node.commands``
(command line and jobs). ``depth_node.camera`` and ``depth_node.reference``
are the bpy-free core modules, imported eagerly; everything that touches
Blender is imported when first used.
"""

from __future__ import annotations

import sys
from typing import Any

from .core import camera, modes, reference
from .core.modes import MODES

# ``import depth_node.camera`` / ``from depth_node.reference import ...`` keep working.
for _name, _module in (("camera", camera), ("reference", reference)):
    sys.modules.setdefault(f"{__name__}.{_name}", _module)

__all__ = ["MODES", "add_true_depth_node", "add_true_flow_node", "add_true_normal_node", "apply_calibration", "camera",
           "reference", "register", "unregister"]


def add_true_depth_node(scene: Any, mode: str = modes.DISTANCE_TO_DEPTH,
                        location: tuple[float, float] = (0.0, 0.0)) -> Any:
    """Add a True Depth group node to ``scene``'s compositor, bound to its camera.

    See :func:`depth_node.blender.binding.add_true_depth_node`.
    """
    from .blender.binding import add_true_depth_node as add

    return add(scene, mode=mode, location=location)


def add_true_flow_node(scene: Any, location: tuple[float, float] = (0.0, 0.0)) -> Any:
    """Add a True Flow group node to ``scene``'s compositor: the Vector pass as forward and backward flow, keyed
    with the cameras of f-1 and f+1. See :func:`depth_node.blender.flow.node.add_true_flow_node`."""
    from .blender.flow.node import add_true_flow_node as add

    return add(scene, location=location)


def add_true_normal_node(scene: Any, location: tuple[float, float] = (0.0, 0.0)) -> Any:
    """Add a True Normal group node to ``scene``'s compositor: the Normal pass as unit normals in the OpenCV camera
    frame and the world, keyed with each frame's camera rotation. See
    :func:`depth_node.blender.normals.node.add_true_normal_node`."""
    from .blender.normals.node import add_true_normal_node as add

    return add(scene, location=location)


def apply_calibration(target: Any, source: Any, camera: str | None = None) -> Any:
    """Give a camera object (or a scene's active camera) a real camera's calibration (OpenCV, ROS, Kalibr,
    COLMAP or a True Depth sidecar: a file, a parsed dict or a Calibration); returns the camera object.

    See :func:`depth_node.blender.calibrated.apply_calibration`.
    """
    from .blender.calibrated import apply_calibration as apply

    return apply(target, source, camera)


def register() -> None:
    """Register operators, menu entries and handlers (called by Blender)."""
    from .blender import ui

    ui.register()


def unregister() -> None:
    """Remove everything :func:`register` added (called by Blender)."""
    from .blender import ui

    ui.unregister()
