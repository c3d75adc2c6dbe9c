"""What a camera projection is to True Depth: the one extension point for new camera models. Imports no bpy.

A projection (registered in :mod:`depth_node.core.projections`) owns everything
that depends on how a pixel maps to a ray:

* its Blender identity (``camera_type``, ``panorama_type``) and how the graph
  recognises it from the driven Camera Type / Panorama Type inputs;
* per pixel: the *lateral* offset of the ray's start from the camera origin
  (orthographic) and the ray length at unit depth ``r`` (for a panoramic camera
  ``1 / cos`` of the angle between the ray and the view axis), so that
  ``depth = sqrt(distance^2 - lateral^2) / r``
  (:func:`depth_node.core.reference.distance_to_depth` does the rest, once, for all);
* unprojection of a depth image to camera-space points;
* its description in the camera sidecar;
* the same per-pixel terms as nodes of the group description
  (:mod:`depth_node.core.graph.true_depth` selects the projection in one place).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np

from ..graph.nodes import GraphBuilder, Operand, SocketRef, SocketSpec, group_input

CAMERA_TYPE_INPUT = "Camera Type"
PANORAMA_TYPE_INPUT = "Panorama Type"
BLENDER_CAMERA_TYPES = ("PERSP", "ORTHO", "PANO", "CUSTOM")
"""Blender's ``Camera.type`` items in enum order (4.5-5.3): a driver reading the property gets the index."""
BLENDER_PANORAMA_CODES = {"EQUIRECTANGULAR": 0, "FISHEYE_EQUIDISTANT": 1, "FISHEYE_EQUISOLID": 2, "MIRRORBALL": 3,
                          "FISHEYE_LENS_POLYNOMIAL": 4, "EQUIANGULAR_CUBEMAP_FACE": 5, "CENTRAL_CYLINDRICAL": 6}
"""What a driver reads from ``Camera.panorama_type``: the items' values, which are *not* their UI order
(measured on 4.5.15 and 5.3.0: EQUIANGULAR_CUBEMAP_FACE, listed second, is 5)."""
BLENDER_PANORAMA_TYPES = tuple(BLENDER_PANORAMA_CODES)


def normalized_offsets(K: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``(tx, ty)`` of every pixel centre of an image of ``shape`` (H, W), broadcastable, float64."""
    K = np.asarray(K, dtype=np.float64)
    if K.shape != (3, 3):
        raise ValueError(f"K must be a 3x3 matrix, got shape {K.shape}")
    fx, fy = K[0, 0], K[1, 1]
    if not (np.isfinite(K).all() and fx > 0 and fy > 0):
        raise ValueError(f"K must be finite with positive focal lengths, got fx={fx}, fy={fy}")
    height, width = shape
    tx = (np.arange(width, dtype=np.float64) - K[0, 2]) / K[0, 0]
    ty = (np.arange(height, dtype=np.float64) - K[1, 2]) / K[1, 1]
    return tx[np.newaxis, :], ty[:, np.newaxis]


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
    """``|ray|`` at unit depth: depth = distance / ray_length (after removing the lateral offset); 0 where
    the projection has no ray (the output is then 0)."""
    lateral: Operand | None = None
    """The ray's lateral start offset in scene units; None when rays start at the camera origin."""


@dataclass
class PixelContext:
    """What the per-pixel node builders can use; sockets are built on first use and shared."""

    graph: GraphBuilder
    frame: str
    constants_frame: str
    uv: SocketRef
    """Image Coordinates *Normalized* of the image the compositor gets."""
    length: SocketRef
    """``|(t, view_plane_z)|`` of the pinhole view plane (perspective and orthographic)."""
    frame_span: SocketRef
    """Single-value vector: the fraction of the full frame the image spans (x, y)."""
    frame_start: SocketRef
    """Single-value vector: where the image starts in the full frame (fractions, y from the bottom)."""
    build_sensor_mm: Callable[[], tuple[SocketRef, SocketRef]]
    _cache: dict[str, Any] = field(default_factory=dict)

    @property
    def sensor_mm(self) -> tuple[SocketRef, SocketRef]:
        """Single values: Cycles' panoramic sensor size in millimetres (width, height), built when first used."""
        return self.once("sensor_mm", self.build_sensor_mm)

    def once(self, key: str, build: Callable[[], Any]) -> Any:
        """Build a shared socket the first time ``key`` is asked for."""
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]


class Projection(ABC):
    """One camera projection model (see the module docstring)."""

    name: ClassVar[str]
    """Unique name: Blender's camera type, or its panorama type for panoramic cameras."""
    camera_type: ClassVar[str]
    """Blender's ``Camera.type`` value this projection models."""
    panorama_type: ClassVar[str | None] = None
    label: ClassVar[str]
    has_matrix: ClassVar[bool] = True
    """Whether a pinhole-style 3x3 K describes the pixel -> ray mapping."""
    view_plane_z: ClassVar[float] = 0.0
    """z of the per-pixel view-plane point ``(t, z)`` in the graph: 1 when rays fan out from the origin."""
    inputs: ClassVar[tuple[SocketSpec, ...]] = ()
    """Driven group inputs only this projection needs."""

    def view_extent(self, lens: LensSettings) -> float:
        """Size of the fit dimension at unit depth (rays from the origin) or in scene units (pinhole-like)."""
        raise ValueError(f"a {self.label} camera has no pinhole view extent")

    def pixel_geometry(self, tx: np.ndarray, ty: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        """``(lateral offset squared or None, ray length at unit depth)`` from the K-normalized offsets."""
        raise ValueError(f"a {self.label} camera needs its camera settings, not K: pass the BlenderCamera")

    def camera_geometry(self, camera: Any, shape: tuple[int, int]) -> tuple[np.ndarray | None, np.ndarray]:
        """:meth:`pixel_geometry` for every pixel of ``camera``'s image (``shape`` = (H, W))."""
        return self.pixel_geometry(*normalized_offsets(camera.matrix(), shape))

    def unproject(self, tx: np.ndarray, ty: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """Camera-space points (OpenCV axes), Nx3, of pixels with K-normalized offsets ``tx, ty``."""
        raise ValueError(f"a {self.label} camera needs its camera settings, not K: pass the BlenderCamera")

    def unproject_camera(self, camera: Any, rows: np.ndarray, columns: np.ndarray, depth: np.ndarray
                         ) -> np.ndarray:
        """Camera-space points (OpenCV axes), Nx3, of the pixels ``rows, columns`` of ``camera``'s image."""
        K = camera.matrix()
        return self.unproject((columns - K[0, 2]) / K[0, 0], (rows - K[1, 2]) / K[1, 1], depth)

    @abstractmethod
    def describe(self, lens: Any) -> dict:
        """The sidecar's ``projection_model``: how a pixel maps to a ray, for tools that read the JSON."""

    def flag_node(self, graph: GraphBuilder, frame: str) -> SocketRef:
        """1 when the bound camera is of this projection, else 0 (exact single values)."""
        return graph.math(f"Is {self.label.title()}", "COMPARE", group_input(CAMERA_TYPE_INPUT),
                          float(BLENDER_CAMERA_TYPES.index(self.camera_type)), 0.5, frame=frame)

    def extent_node(self, graph: GraphBuilder, sensor: SocketRef, frame: str) -> Operand:
        """The graph's view extent ``k`` (pinhole-like projections; 0 for the others)."""
        return 0.0

    @abstractmethod
    def pixel_terms(self, pixels: PixelContext) -> PixelTerms:
        """Per-pixel terms (see :class:`PixelTerms`)."""
