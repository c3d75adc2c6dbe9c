"""The registry of camera projections. Imports no bpy.

Adding a projection: a :class:`~depth_node.core.projections.base.Projection` subclass
(in its own module, or with its family like :mod:`depth_node.core.projections.panoramic`) and
one line in :data:`REGISTERED`.

The node group comes in variants, so that nobody pays per pixel for projections
the bound cameras do not use: ``"perspective"`` (perspective only: 5 per-pixel
nodes), ``"pinhole"`` (the projections with a 3x3 K: perspective and
orthographic) and ``"panoramic"`` (every projection). The binding picks the
smallest variant the bound cameras need and swaps it when they change.
"""

from __future__ import annotations

from .base import BLENDER_CAMERA_TYPES, BLENDER_PANORAMA_TYPES, Projection
from .orthographic import Orthographic
from .panoramic import PANORAMA_TYPE_INPUTS, PANORAMIC
from .perspective import Perspective

REGISTERED: tuple[Projection, ...] = (
    Perspective(),
    Orthographic(),
    *PANORAMIC,
)

BY_NAME: dict[str, Projection] = {projection.name: projection for projection in REGISTERED}
NAMES: tuple[str, ...] = tuple(BY_NAME)
VARIANTS: dict[str, tuple[Projection, ...]] = {
    "perspective": (BY_NAME["PERSP"],),
    "pinhole": tuple(projection for projection in REGISTERED if projection.has_matrix),
    "panoramic": REGISTERED,
}
VARIANT_INPUTS = {"perspective": (), "pinhole": (), "panoramic": PANORAMA_TYPE_INPUTS}
VARIANT_SUFFIXES = {"perspective": "", "pinhole": " (orthographic)", "panoramic": " (panoramic)"}
"""Added to the group's name: users see which projections a node's group holds."""
"""Driven inputs a variant needs besides its projections' own."""

__all__ = ["BLENDER_CAMERA_TYPES", "BLENDER_PANORAMA_TYPES", "BY_NAME", "NAMES", "REGISTERED", "VARIANTS",
           "camera_type_code", "for_camera", "get", "variant_for"]


def camera_type_code(camera_type: str) -> int:
    """The value a driver reads from ``Camera.type`` for ``camera_type``."""
    return BLENDER_CAMERA_TYPES.index(camera_type)


def get(projection: str | Projection) -> Projection:
    """The registered projection called ``projection`` (a :class:`Projection` passes through)."""
    if isinstance(projection, Projection):
        return projection
    try:
        return BY_NAME[projection]
    except (KeyError, TypeError):
        raise ValueError(f"projection must be one of {NAMES}, got {projection!r}") from None


def for_camera(camera_type: str | None, panorama_type: str | None = None) -> Projection:
    """The projection of a Blender camera (``panorama_type`` matters for PANO); ValueError when none models it."""
    if camera_type == "PANO":
        return get(panorama_type)
    projection = get(camera_type)
    if projection.camera_type != camera_type:
        raise ValueError(f"no projection models camera type {camera_type!r}")
    return projection


def variant_for(projections: list[Projection]) -> str:
    """The smallest group variant that holds every one of ``projections``."""
    return next(name for name, members in VARIANTS.items() if all(p in members for p in projections))
