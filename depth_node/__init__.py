"""True Depth: ray distance <-> planar depth as a Blender compositor node group.

``depth_node.camera`` and ``depth_node.reference`` import no bpy and work in any
Python; everything that touches Blender is imported lazily, so
``import depth_node.camera`` stays bpy-free.
"""

from __future__ import annotations

from typing import Any

MODES = ("DISTANCE_TO_DEPTH", "DEPTH_TO_DISTANCE")


def add_true_depth_node(scene: Any, mode: str = "DISTANCE_TO_DEPTH", location: tuple[float, float] = (0.0, 0.0)) -> Any:
    """Add a True Depth group node to ``scene``'s compositor, bound to its camera.

    See :func:`depth_node.graph.add_true_depth_node`.
    """
    from .graph import add_true_depth_node as add

    return add(scene, mode=mode, location=location)


def register() -> None:
    """Register operators, menu entries and handlers (called by Blender)."""
    from . import ui

    ui.register()


def unregister() -> None:
    """Remove everything :func:`register` added (called by Blender)."""
    from . import ui

    ui.unregister()
