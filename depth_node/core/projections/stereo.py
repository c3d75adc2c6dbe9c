"""Stereo 3D: each eye's lens shift, as Blender renders it. Imports no bpy.

Follows ``camera_stereo3d_shift_x`` (``blenkernel/intern/camera.cc``): with the
views format "Stereo 3D" and convergence mode OFF-AXIS, each eye's horizontal
lens shift grows by ``interocular / sensor_width * lens / convergence_distance``
times +1 (left eye) or -1 (right eye), halved with the pivot at the centre; the
eye at the pivot keeps the camera's own shift. PARALLEL and TOE-IN keep it for
both eyes (their eyes differ in pose only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CONVERGENCE_MODES = ("OFFAXIS", "PARALLEL", "TOE")
PIVOTS = ("LEFT", "RIGHT", "CENTER")
VIEWS = ("left", "right")


@dataclass(frozen=True)
class Stereo:
    """A camera's stereo settings (Blender's ``Camera.stereo``)."""

    interocular_distance: float = 0.065
    convergence_distance: float = 1.95
    convergence_mode: str = "OFFAXIS"
    pivot: str = "LEFT"

    def shift_x(self, shift_x: float, lens: float, sensor_width: float, view: str) -> float:
        """The lens shift of ``view`` ("left" or "right") for a camera whose own shift is ``shift_x``."""
        if view not in VIEWS:
            raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
        left = view == "left"
        if self.convergence_mode != "OFFAXIS" or (self.pivot == "LEFT" and left) or (
                self.pivot == "RIGHT" and not left):
            return shift_x
        factor = 0.5 if self.pivot == "CENTER" else 1.0
        return shift_x + (self.interocular_distance / sensor_width) * (lens / self.convergence_distance) * (
            factor if left else -factor)

    def eye_to_world(self, camera_to_world: np.ndarray, view: str) -> np.ndarray:
        """The eye's camera-to-world matrix (Blender axes), from the camera's normalized one.

        Follows ``camera_stereo3d_model_matrix``: the eye at the pivot is the camera; the other moves by the
        interocular distance along the camera's x axis (half of it each with the pivot at the centre), and
        TOE-IN also turns the eyes towards the convergence distance.
        """
        if view not in VIEWS:
            raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
        matrix = np.asarray(camera_to_world, dtype=np.float64)
        left = view == "left"
        if (self.pivot == "LEFT" and left) or (self.pivot == "RIGHT" and not left):
            return matrix.copy()
        factor = 0.5 if self.pivot == "CENTER" else 1.0
        signed = factor if left else -factor
        if self.convergence_mode != "TOE":
            return matrix @ _translation(-self.interocular_distance * signed)
        if self.pivot == "CENTER":
            factor, signed = -factor, -signed
        angle = math.atan(self.interocular_distance * 0.5 / self.convergence_distance) / factor
        rotation = np.eye(4)
        rotation[0, 0] = rotation[2, 2] = math.cos(angle * signed)
        rotation[0, 2], rotation[2, 0] = -math.sin(angle * signed), math.sin(angle * signed)
        if self.pivot == "CENTER":
            toe_in = rotation.copy()
            toe_in[0, 3] = self.interocular_distance * signed
            return matrix @ toe_in
        return matrix @ rotation @ _translation(-self.interocular_distance * signed) @ rotation

    def describe(self) -> dict:
        """The sidecar's ``stereo`` entry."""
        return {"baseline": self.interocular_distance, "convergence_distance": self.convergence_distance,
                "convergence_mode": self.convergence_mode, "pivot": self.pivot}


def _translation(x: float) -> np.ndarray:
    matrix = np.eye(4)
    matrix[0, 3] = x
    return matrix
