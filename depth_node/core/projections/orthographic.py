"""The orthographic camera. Imports no bpy.

K is affine (``fx, fy`` are pixels per scene unit). A pixel's ray starts at the
lateral offset ``(tx, ty, 0)`` (scene units) and runs along the view axis.
"Distance" is measured from the camera origin, as Camera Data "View Distance"
does, so ``distance^2 = depth^2 + |t|^2``.
"""

from __future__ import annotations

import numpy as np

from ..graph.nodes import GraphBuilder, SocketRef, driven_input, group_input
from .base import LensSettings, PixelContext, PixelTerms, Projection


class Orthographic(Projection):
    """Blender's ORTHO camera."""

    name = camera_type = "ORTHO"
    label = "orthographic"
    view_plane_z = 0.0
    inputs = (driven_input("Ortho Scale", "Orthographic camera's view size in scene units (orthographic)",
                           6.0, 1e-9, 1e9, "camera.data.ortho_scale"),)

    def view_extent(self, lens: LensSettings) -> float:
        return float(lens.ortho_scale)

    def pixel_geometry(self, tx: np.ndarray, ty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lateral_sq = tx ** 2 + ty ** 2
        return lateral_sq, np.ones_like(lateral_sq)

    def unproject(self, tx: np.ndarray, ty: np.ndarray, depth: np.ndarray) -> np.ndarray:
        return np.stack([tx, ty, depth], axis=-1)

    def describe(self, lens: object) -> dict:
        return {"type": self.camera_type, "model": "orthographic",
                "ray": "from ((x - cx) / fx, (y - cy) / fy, 0) along +z; fx, fy in pixels per scene unit"}

    def extent_node(self, graph: GraphBuilder, sensor: SocketRef, frame: str) -> SocketRef:
        return group_input("Ortho Scale")

    def pixel_terms(self, pixels: PixelContext) -> PixelTerms:
        return PixelTerms(ray_length=1.0, lateral=pixels.length)
