"""The perspective (pinhole) camera. Imports no bpy.

A pixel's ray starts at the camera origin with direction ``(tx, ty, 1)``, so
``depth = distance / sqrt(1 + |t|^2)``; K is the pinhole matrix.
"""

from __future__ import annotations

import numpy as np

from ..graph.nodes import GraphBuilder, SocketRef, driven_input, group_input
from .base import LensSettings, PixelContext, PixelTerms, Projection


class Perspective(Projection):
    """Blender's PERSP camera."""

    name = camera_type = "PERSP"
    label = "perspective"
    view_plane_z = 1.0
    inputs = (driven_input("Focal Length", "Camera focal length in millimetres (perspective)",
                           50.0, 1e-6, 1e6, "camera.data.lens"),)

    def view_extent(self, lens: LensSettings) -> float:
        return lens.sensor_size / lens.lens

    def pixel_geometry(self, tx: np.ndarray, ty: np.ndarray) -> tuple[None, np.ndarray]:
        return None, np.sqrt(1.0 + (tx ** 2 + ty ** 2))

    def unproject(self, tx: np.ndarray, ty: np.ndarray, depth: np.ndarray) -> np.ndarray:
        return np.stack([tx * depth, ty * depth, depth], axis=-1)

    def describe(self, lens: object) -> dict:
        return {"type": self.camera_type, "model": "pinhole",
                "ray": "direction ((x - cx) / fx, (y - cy) / fy, 1) from the camera origin"}

    def extent_node(self, graph: GraphBuilder, sensor: SocketRef, frame: str) -> SocketRef:
        return graph.math("Sensor / Lens", "DIVIDE", sensor, group_input("Focal Length"), frame=frame)

    def pixel_terms(self, pixels: PixelContext) -> PixelTerms:
        return PixelTerms(ray_length=pixels.length)
