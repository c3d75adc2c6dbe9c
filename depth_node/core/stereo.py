"""Stereo 3D: each eye's lens shift, as Blender renders it. Imports no bpy.

Follows ``camera_stereo3d_shift_x`` (``blenkernel/intern/camera.cc``): with the
views format "Stereo 3D" and convergence mode OFF-AXIS, each eye's horizontal
lens shift grows by ``interocular / sensor_width * lens / convergence_distance``
times +1 (left eye) or -1 (right eye), halved with the pivot at the centre; the
eye at the pivot keeps the camera's own shift. PARALLEL and TOE-IN keep it for
both eyes (their eyes differ in pose only).
"""

from __future__ import annotations

from dataclasses import dataclass

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
