"""What a camera projection is to True Depth: the one extension point for new camera models. Imports no bpy.

A projection (one module each, registered in :mod:`depth_node.core.projections`)
owns everything that depends on how a pixel maps to a ray:

* its Blender identity (``camera_type``, and the driver code Blender's enum gives it);
* the view extent of the fit dimension (``k``) from the lens settings;
* per pixel, from the normalized offset ``t = ((x - cx) / fx, (y - cy) / fy)``:
  the *lateral* offset of the ray's start from the camera origin (orthographic) and
  the ray length at unit depth, so that ``depth = sqrt(distance^2 - lateral^2) / ray``
  (:func:`depth_node.core.reference.distance_to_depth` does the rest, once, for all);
* unprojection of a depth image to camera-space points;
* its description in the camera sidecar;
* the same per-pixel terms as nodes of the group description
  (:mod:`depth_node.core.graph_spec` selects the projection from the Camera Type input).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Protocol

import numpy as np

from .nodes import GraphBuilder, Operand, SocketRef, SocketSpec


class LensSettings(Protocol):
    """The lens settings a projection reads (:class:`depth_node.core.camera.Lens` has them)."""

    lens: float
    ortho_scale: float

    @property
    def sensor_size(self) -> float: ...


@dataclass(frozen=True)
class PixelTerms:
    """The per-pixel terms of a projection in the node graph (sockets or constants)."""

    ray_length: Operand
    """``|ray|`` at unit depth: depth = distance / ray_length (after removing the lateral offset)."""
    lateral: Operand | None = None
    """The ray's lateral start offset in scene units; None when rays start at the camera origin."""


class Projection(ABC):
    """One camera projection model (see the module docstring)."""

    camera_type: ClassVar[str]
    """Blender's ``Camera.type`` value this projection models."""
    label: ClassVar[str]
    view_plane_z: ClassVar[float]
    """z of the per-pixel view-plane point ``(t, z)`` in the graph: 1 when rays fan out from the origin."""
    inputs: ClassVar[tuple[SocketSpec, ...]] = ()
    """Driven group inputs only this projection needs."""

    @abstractmethod
    def view_extent(self, lens: LensSettings) -> float:
        """Size of the fit dimension at unit depth (rays from the origin) or in scene units."""

    @abstractmethod
    def pixel_geometry(self, tx: np.ndarray, ty: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        """``(lateral offset squared or None, ray length at unit depth)`` per pixel, float64."""

    @abstractmethod
    def unproject(self, tx: np.ndarray, ty: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """Camera-space points (OpenCV axes), Nx3, of pixels with normalized offsets ``tx, ty``."""

    @abstractmethod
    def describe(self) -> dict:
        """The sidecar's ``projection_model``: how a pixel maps to a ray, for tools that read the JSON."""

    @abstractmethod
    def extent_node(self, graph: GraphBuilder, sensor: SocketRef, frame: str) -> Operand:
        """The graph's view extent ``k`` of this projection (see :meth:`view_extent`)."""

    @abstractmethod
    def pixel_terms(self, graph: GraphBuilder, length: SocketRef, frame: str) -> PixelTerms:
        """Per-pixel terms from ``length`` = ``|(t, view_plane_z)|`` (see :class:`PixelTerms`)."""
