"""Blender's perspective camera as OpenCV intrinsics. Imports no bpy.

Conventions of every K this module returns (the OpenCV pinhole convention):
pixels are indexed from the top-left corner of the *output* image (after the
resolution percentage), pixel centres sit at integer coordinates, x grows to
the right and y grows downwards.

The model follows Blender's ``BKE_camera_params_compute_viewplane``:

* AUTO sensor fit resolves to HORIZONTAL when ``W * aspect_x >= H * aspect_y``
  and to VERTICAL otherwise (AUTO always uses the sensor *width*, the sensor
  height is only used by an explicit VERTICAL fit);
* the lens shift is a fraction of the *fit* dimension ``V`` (``W`` for a
  horizontal fit, ``H * aspect_y / aspect_x`` for a vertical one), which is the
  larger side only under AUTO;
* ``fx = lens / sensor * V``, ``fy = fx * aspect_x / aspect_y``,
  ``cx = W/2 - shift_x * V - 0.5``, ``cy = H/2 + shift_y * V * aspect_x / aspect_y - 0.5``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

SENSOR_FITS = ("AUTO", "HORIZONTAL", "VERTICAL")
SUPPORTED_CAMERA_TYPES = ("PERSP",)


class UnsupportedCameraError(ValueError):
    """The scene's camera cannot be converted exactly (yet)."""


@dataclass(frozen=True)
class PerspectiveCamera:
    """The Blender settings that define a perspective projection."""

    lens: float = 50.0
    sensor_width: float = 36.0
    sensor_height: float = 24.0
    sensor_fit: str = "AUTO"
    shift_x: float = 0.0
    shift_y: float = 0.0
    resolution_x: int = 1920
    resolution_y: int = 1080
    resolution_percentage: int = 100
    pixel_aspect_x: float = 1.0
    pixel_aspect_y: float = 1.0

    def __post_init__(self) -> None:
        if self.sensor_fit not in SENSOR_FITS:
            raise ValueError(f"sensor_fit must be one of {SENSOR_FITS}, got {self.sensor_fit!r}")
        positive = {
            "lens": self.lens,
            "sensor_width": self.sensor_width,
            "sensor_height": self.sensor_height,
            "resolution_x": self.resolution_x,
            "resolution_y": self.resolution_y,
            "resolution_percentage": self.resolution_percentage,
            "pixel_aspect_x": self.pixel_aspect_x,
            "pixel_aspect_y": self.pixel_aspect_y,
        }
        for name, value in positive.items():
            if not np.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a finite positive number, got {value!r}")
        for name in ("shift_x", "shift_y"):
            if not np.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be finite, got {getattr(self, name)!r}")
        if self.width < 1 or self.height < 1:
            raise ValueError(
                f"resolution {self.resolution_x}x{self.resolution_y} at "
                f"{self.resolution_percentage}% is smaller than one pixel"
            )

    @property
    def width(self) -> int:
        """Output width in pixels; Blender truncates ``resolution_x * percentage / 100``."""
        return int(self.resolution_x) * int(self.resolution_percentage) // 100

    @property
    def height(self) -> int:
        """Output height in pixels, truncated like :attr:`width`."""
        return int(self.resolution_y) * int(self.resolution_percentage) // 100

    @property
    def fits_horizontally(self) -> bool:
        """True when the sensor spans the image width (Blender's resolved fit)."""
        if self.sensor_fit == "AUTO":
            return self.width * self.pixel_aspect_x >= self.height * self.pixel_aspect_y
        return self.sensor_fit == "HORIZONTAL"

    @property
    def sensor_size(self) -> float:
        """The sensor dimension Blender uses: the height only for an explicit VERTICAL fit."""
        return self.sensor_height if self.sensor_fit == "VERTICAL" else self.sensor_width

    @property
    def fit_size(self) -> float:
        """The fit dimension ``V`` in pixels (x pixel units), as in the module docstring."""
        if self.fits_horizontally:
            return float(self.width)
        return self.height * self.pixel_aspect_y / self.pixel_aspect_x

    def matrix(self) -> np.ndarray:
        """The 3x3 OpenCV intrinsic matrix K (float64)."""
        fit = self.fit_size
        y_scale = self.pixel_aspect_x / self.pixel_aspect_y
        fx = self.lens / self.sensor_size * fit
        fy = fx * y_scale
        cx = self.width / 2.0 - self.shift_x * fit - 0.5
        cy = self.height / 2.0 + self.shift_y * fit * y_scale - 0.5
        return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]], dtype=np.float64)


def camera_from_scene(scene: Any) -> PerspectiveCamera:
    """Read the active camera and render settings of a ``bpy.types.Scene`` (or a look-alike).

    Raises :class:`UnsupportedCameraError` when the scene has no camera, the
    camera is not perspective, or the render is cropped to a border region.
    """
    camera_object = getattr(scene, "camera", None)
    if camera_object is None:
        raise UnsupportedCameraError(f"scene {scene.name!r} has no active camera")
    data = camera_object.data
    camera_type = getattr(data, "type", None)
    if camera_type not in SUPPORTED_CAMERA_TYPES:
        raise UnsupportedCameraError(
            f"camera {camera_object.name!r} of scene {scene.name!r} is of type {camera_type!r}; "
            f"True Depth supports {', '.join(SUPPORTED_CAMERA_TYPES)} cameras"
        )
    render = scene.render
    if render.use_border and render.use_crop_to_border:
        raise UnsupportedCameraError(
            f"scene {scene.name!r} renders a border region cropped to the border; "
            "turn off 'Crop to Render Region' (border renders without crop are supported)"
        )
    return PerspectiveCamera(
        lens=float(data.lens),
        sensor_width=float(data.sensor_width),
        sensor_height=float(data.sensor_height),
        sensor_fit=str(data.sensor_fit),
        shift_x=float(data.shift_x),
        shift_y=float(data.shift_y),
        resolution_x=int(render.resolution_x),
        resolution_y=int(render.resolution_y),
        resolution_percentage=int(render.resolution_percentage),
        pixel_aspect_x=float(render.pixel_aspect_x),
        pixel_aspect_y=float(render.pixel_aspect_y),
    )


def intrinsics(scene: Any) -> tuple[np.ndarray, tuple[int, int]]:
    """``(K, (width, height))`` of the scene's active camera, in the OpenCV convention."""
    camera = camera_from_scene(scene)
    return camera.matrix(), (camera.width, camera.height)
