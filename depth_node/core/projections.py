"""The registry of camera projections. Imports no bpy.

Adding a projection: one module with a :class:`~depth_node.core.projection.Projection`
subclass, and one line in :data:`REGISTERED`.
"""

from __future__ import annotations

from .orthographic import Orthographic
from .perspective import Perspective
from .projection import Projection

REGISTERED: tuple[Projection, ...] = (
    Perspective(),
    Orthographic(),
)

BLENDER_CAMERA_TYPES = ("PERSP", "ORTHO", "PANO")
"""Blender's ``Camera.type`` items in enum order: a driver reading the property gets the index."""

BY_TYPE: dict[str, Projection] = {projection.camera_type: projection for projection in REGISTERED}
SUPPORTED_CAMERA_TYPES: tuple[str, ...] = tuple(BY_TYPE)


def camera_type_code(camera_type: str) -> int:
    """The value a driver reads from ``Camera.type`` for ``camera_type``."""
    return BLENDER_CAMERA_TYPES.index(camera_type)


def get(projection: str | Projection) -> Projection:
    """The registered projection for a camera type name (a :class:`Projection` passes through)."""
    if isinstance(projection, Projection):
        return projection
    try:
        return BY_TYPE[projection]
    except (KeyError, TypeError):
        raise ValueError(f"projection must be one of {SUPPORTED_CAMERA_TYPES}, got {projection!r}") from None
