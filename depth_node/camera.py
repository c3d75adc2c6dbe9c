"""Blender's perspective and orthographic cameras as OpenCV-style intrinsics. Imports no bpy.

Conventions of every K this module returns (the OpenCV pinhole convention):
pixels are indexed from the top-left corner of the *output* image (after the
resolution percentage and, for a border render cropped to its region, after the
crop), pixel centres sit at integer coordinates, x grows to the right and y
grows downwards.

Projection models (``BlenderCamera.projection``), with ``(x, y)`` a pixel centre
and ``t = ((x - cx) / fx, (y - cy) / fy)``:

* ``"PERSP"``: K is the pinhole matrix; the pixel's ray has direction
  ``(tx, ty, 1)`` in OpenCV camera coordinates and starts at the camera origin.
* ``"ORTHO"``: K is affine; ``fx, fy`` are pixels per scene unit. The pixel's
  ray starts at the *lateral offset* ``(tx, ty, 0)`` (scene units) and runs
  along the view axis ``(0, 0, 1)``. "Distance" is measured from the camera
  origin (as Camera Data "View Distance" does), so
  ``distance^2 = depth^2 + |t|^2``.

The model follows Blender's ``BKE_camera_params_compute_viewplane``:

* AUTO sensor fit resolves to HORIZONTAL when ``W * aspect_x >= H * aspect_y``
  and to VERTICAL otherwise (AUTO always uses the sensor *width*, the sensor
  height is only used by an explicit VERTICAL fit);
* the lens shift is a fraction of the *fit* dimension ``V`` (``W`` for a
  horizontal fit, ``H * aspect_y / aspect_x`` for a vertical one), which is the
  larger side only under AUTO;
* ``fx = V * lens / sensor`` (perspective) or ``fx = V / ortho_scale``
  (orthographic), ``fy = fx * aspect_x / aspect_y``,
  ``cx = W/2 - shift_x * V - 0.5``, ``cy = H/2 + shift_y * V * aspect_x / aspect_y - 0.5``;
* a border render cropped to its region keeps the full frame's projection and
  cuts out pixels ``[floor(min_x * W), floor(max_x * W))`` (and the same in y,
  counted from the bottom), with the products taken in float32 as Blender does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

SENSOR_FITS = ("AUTO", "HORIZONTAL", "VERTICAL")
PROJECTIONS = ("PERSP", "ORTHO")
SUPPORTED_CAMERA_TYPES = PROJECTIONS
CAMERA_TYPE_CODES = {"PERSP": 0, "ORTHO": 1, "PANO": 2}
"""The integer a driver reads from ``camera.data.type``."""


class UnsupportedCameraError(ValueError):
    """The scene's camera cannot be converted exactly."""


def _float32_floor(fraction: float, size: int) -> int:
    return int(np.floor(np.float32(fraction) * np.float32(size)))


@dataclass(frozen=True)
class BlenderCamera:
    """The Blender settings that define a camera's projection onto the output image."""

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
    projection: str = "PERSP"
    ortho_scale: float = 6.0
    use_border: bool = False
    crop_to_border: bool = False
    border: tuple[float, float, float, float] = (0.0, 1.0, 0.0, 1.0)
    """(min_x, max_x, min_y, max_y) as fractions of the frame, y counted from the bottom."""

    def __post_init__(self) -> None:
        if self.sensor_fit not in SENSOR_FITS:
            raise ValueError(f"sensor_fit must be one of {SENSOR_FITS}, got {self.sensor_fit!r}")
        if self.projection not in PROJECTIONS:
            raise ValueError(f"projection must be one of {PROJECTIONS}, got {self.projection!r}")
        positive = {
            "lens": self.lens,
            "sensor_width": self.sensor_width,
            "sensor_height": self.sensor_height,
            "resolution_x": self.resolution_x,
            "resolution_y": self.resolution_y,
            "resolution_percentage": self.resolution_percentage,
            "pixel_aspect_x": self.pixel_aspect_x,
            "pixel_aspect_y": self.pixel_aspect_y,
            "ortho_scale": self.ortho_scale,
        }
        for name, value in positive.items():
            if not np.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a finite positive number, got {value!r}")
        for name in ("shift_x", "shift_y"):
            if not np.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be finite, got {getattr(self, name)!r}")
        if len(self.border) != 4 or not all(0.0 <= value <= 1.0 for value in self.border):
            raise ValueError(f"border must be four fractions in [0, 1], got {self.border!r}")
        if self.full_width < 1 or self.full_height < 1:
            raise ValueError(
                f"resolution {self.resolution_x}x{self.resolution_y} at "
                f"{self.resolution_percentage}% is smaller than one pixel"
            )
        if self.width < 1 or self.height < 1:
            raise ValueError(f"the border {self.border} crops the frame to less than one pixel")

    @property
    def full_width(self) -> int:
        """Frame width in pixels; Blender truncates ``resolution_x * percentage / 100``."""
        return int(self.resolution_x) * int(self.resolution_percentage) // 100

    @property
    def full_height(self) -> int:
        """Frame height in pixels, truncated like :attr:`full_width`."""
        return int(self.resolution_y) * int(self.resolution_percentage) // 100

    @property
    def is_cropped(self) -> bool:
        """True when the output image is the border region only."""
        return bool(self.use_border and self.crop_to_border)

    @property
    def crop_box(self) -> tuple[int, int, int, int]:
        """(xmin, xmax, ymin, ymax) of the output image inside the frame, in pixels, y from the bottom."""
        if not self.is_cropped:
            return 0, self.full_width, 0, self.full_height
        min_x, max_x, min_y, max_y = self.border
        return (_float32_floor(min_x, self.full_width), _float32_floor(max_x, self.full_width),
                _float32_floor(min_y, self.full_height), _float32_floor(max_y, self.full_height))

    @property
    def width(self) -> int:
        """Output image width in pixels (the border's width when cropped)."""
        xmin, xmax, _, _ = self.crop_box
        return xmax - xmin

    @property
    def height(self) -> int:
        """Output image height in pixels (the border's height when cropped)."""
        _, _, ymin, ymax = self.crop_box
        return ymax - ymin

    @property
    def fits_horizontally(self) -> bool:
        """True when the sensor spans the frame width (Blender's resolved fit)."""
        if self.sensor_fit == "AUTO":
            return self.full_width * self.pixel_aspect_x >= self.full_height * self.pixel_aspect_y
        return self.sensor_fit == "HORIZONTAL"

    @property
    def sensor_size(self) -> float:
        """The sensor dimension Blender uses: the height only for an explicit VERTICAL fit."""
        return self.sensor_height if self.sensor_fit == "VERTICAL" else self.sensor_width

    @property
    def fit_size(self) -> float:
        """The fit dimension ``V`` in pixels (x pixel units), as in the module docstring."""
        if self.fits_horizontally:
            return float(self.full_width)
        return self.full_height * self.pixel_aspect_y / self.pixel_aspect_x

    @property
    def view_extent(self) -> float:
        """Size of the fit dimension at unit depth (PERSP) or in scene units (ORTHO)."""
        if self.projection == "ORTHO":
            return float(self.ortho_scale)
        return self.sensor_size / self.lens

    def matrix(self) -> np.ndarray:
        """The 3x3 intrinsic matrix K of the output image (float64), see the module docstring."""
        fit = self.fit_size
        y_scale = self.pixel_aspect_x / self.pixel_aspect_y
        fx = fit / self.view_extent
        fy = fx * y_scale
        cx = self.full_width / 2.0 - self.shift_x * fit - 0.5
        cy = self.full_height / 2.0 + self.shift_y * fit * y_scale - 0.5
        xmin, _, _, ymax = self.crop_box
        cx -= xmin
        cy -= self.full_height - ymax
        return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]], dtype=np.float64)


    @classmethod
    def from_matrix(cls, K: Any, width: int, height: int, projection: str = "PERSP") -> BlenderCamera:
        """The Blender camera (horizontal fit, 36 mm sensor) whose :meth:`matrix` is ``K`` for that size.

        Any K with positive focal lengths maps to one: unequal ``fx, fy`` become a
        pixel aspect ratio (Blender's pixel aspect values are >= 1), the principal
        point becomes a lens shift.
        """
        K = np.asarray(K, dtype=np.float64)
        if K.shape != (3, 3) or not np.isfinite(K).all() or K[0, 0] <= 0 or K[1, 1] <= 0:
            raise ValueError(f"K must be a finite 3x3 matrix with positive focal lengths, got {K.tolist()}")
        if int(width) < 1 or int(height) < 1:
            raise ValueError(f"width and height must be positive, got {width}x{height}")
        fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
        aspect_x, aspect_y = (1.0, fx / fy) if fx >= fy else (fy / fx, 1.0)
        sensor = 36.0
        return cls(
            lens=fx * sensor / width, sensor_width=sensor, sensor_height=sensor, sensor_fit="HORIZONTAL",
            shift_x=(width / 2.0 - 0.5 - cx) / width,
            shift_y=(cy - height / 2.0 + 0.5) / (width * aspect_x / aspect_y),
            resolution_x=int(width), resolution_y=int(height), resolution_percentage=100,
            pixel_aspect_x=aspect_x, pixel_aspect_y=aspect_y, projection=projection,
            ortho_scale=width / fx,
        )


PerspectiveCamera = BlenderCamera
"""The name used before orthographic cameras were supported."""


def camera_from_scene(scene: Any, camera_object: Any = None) -> BlenderCamera:
    """Read a camera and the render settings of a ``bpy.types.Scene`` (or a look-alike).

    ``camera_object`` defaults to the scene's active camera. Raises
    :class:`UnsupportedCameraError` when there is no camera or it is not a
    perspective or orthographic camera.
    """
    if camera_object is None:
        camera_object = getattr(scene, "camera", None)
    if camera_object is None:
        raise UnsupportedCameraError(f"scene {scene.name!r} has no active camera")
    data = camera_object.data
    camera_type = getattr(data, "type", None)
    if camera_type not in SUPPORTED_CAMERA_TYPES:
        detail = f" ({data.panorama_type})" if camera_type == "PANO" and hasattr(data, "panorama_type") else ""
        raise UnsupportedCameraError(
            f"camera {camera_object.name!r} of scene {scene.name!r} is of type {camera_type!r}{detail}; "
            f"True Depth supports {' and '.join(SUPPORTED_CAMERA_TYPES)} cameras"
        )
    render = scene.render
    return BlenderCamera(
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
        projection=str(camera_type),
        ortho_scale=float(data.ortho_scale),
        use_border=bool(render.use_border),
        crop_to_border=bool(render.use_crop_to_border),
        border=(float(render.border_min_x), float(render.border_max_x),
                float(render.border_min_y), float(render.border_max_y)),
    )


def intrinsics(scene: Any) -> tuple[np.ndarray, tuple[int, int]]:
    """``(K, (width, height))`` of the scene's active camera (see :class:`BlenderCamera` for ORTHO)."""
    camera = camera_from_scene(scene)
    return camera.matrix(), (camera.width, camera.height)
