"""Blender cameras as OpenCV-style intrinsics: a lens model on a render frame. Imports no bpy.

Conventions of every K this module returns (the OpenCV pinhole convention):
pixels are indexed from the top-left corner of the *output* image (after the
resolution percentage and, for a border render cropped to its region, after the
crop), pixel centres sit at integer coordinates, x grows to the right and y
grows downwards. What a pixel's ray is, given ``t = ((x - cx) / fx, (y - cy) / fy)``,
belongs to the projection (:mod:`depth_node.core.projections.perspective`,
:mod:`depth_node.core.projections.orthographic`).

The model follows Blender's ``BKE_camera_params_compute_viewplane``:

* AUTO sensor fit resolves to HORIZONTAL when ``W * aspect_x >= H * aspect_y``
  and to VERTICAL otherwise (AUTO always uses the sensor *width*, the sensor
  height is only used by an explicit VERTICAL fit);
* the lens shift is a fraction of the *fit* dimension ``V`` (``W`` for a
  horizontal fit, ``H * aspect_y / aspect_x`` for a vertical one), which is the
  larger side only under AUTO;
* ``fx = V / k`` with ``k`` the projection's view extent (``sensor / lens`` or
  ``ortho_scale``), ``fy = fx * aspect_x / aspect_y``,
  ``cx = W/2 - shift_x * V - 0.5``, ``cy = H/2 + shift_y * V * aspect_x / aspect_y - 0.5``;
* the frame (resolution, percentage, pixel aspect, border crop) is
  :class:`~depth_node.core.frame.RenderFrame`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import projections
from .frame import FULL_BORDER, RenderFrame
from .projections.base import Projection
from .projections.stereo import Stereo

SENSOR_FITS = ("AUTO", "HORIZONTAL", "VERTICAL")


class UnsupportedCameraError(ValueError):
    """The scene's camera cannot be converted exactly."""


@dataclass(frozen=True)
class Lens:
    """The camera data settings that shape the projection (Blender's names and defaults)."""

    projection: str = "PERSP"
    lens: float = 50.0
    sensor_width: float = 36.0
    sensor_height: float = 24.0
    sensor_fit: str = "AUTO"
    shift_x: float = 0.0
    shift_y: float = 0.0
    ortho_scale: float = 6.0
    panorama_type: str = "FISHEYE_EQUISOLID"
    fisheye_fov: float = math.pi
    fisheye_lens: float = 10.5
    fisheye_polynomial_k0: float = -1.1735100e-05
    fisheye_polynomial_k1: float = -0.019988736
    fisheye_polynomial_k2: float = -3.3525e-06
    fisheye_polynomial_k3: float = 3.0993e-06
    fisheye_polynomial_k4: float = -2.61e-08
    latitude_min: float = -math.pi / 2
    latitude_max: float = math.pi / 2
    longitude_min: float = -math.pi
    longitude_max: float = math.pi
    central_cylindrical_range_u_min: float = -math.pi
    central_cylindrical_range_u_max: float = math.pi
    central_cylindrical_range_v_min: float = -1.0
    central_cylindrical_range_v_max: float = 1.0
    central_cylindrical_radius: float = 1.0

    def __post_init__(self) -> None:
        projections.for_camera(self.projection, self.panorama_type)
        if self.sensor_fit not in SENSOR_FITS:
            raise ValueError(f"sensor_fit must be one of {SENSOR_FITS}, got {self.sensor_fit!r}")
        for name in ("lens", "sensor_width", "sensor_height", "ortho_scale"):
            value = getattr(self, name)
            if not np.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a finite positive number, got {value!r}")
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.type == "float" and not np.isfinite(value):
                raise ValueError(f"{field.name} must be finite, got {value!r}")

    @property
    def model(self) -> Projection:
        """The registered projection of this lens."""
        return projections.for_camera(self.projection, self.panorama_type)

    @property
    def sensor_size(self) -> float:
        """The sensor dimension Blender uses: the height only for an explicit VERTICAL fit."""
        return self.sensor_height if self.sensor_fit == "VERTICAL" else self.sensor_width

    def fits_horizontally(self, frame: RenderFrame) -> bool:
        """True when the sensor spans the frame width (Blender's resolved fit)."""
        if self.sensor_fit == "AUTO":
            return frame.is_landscape
        return self.sensor_fit == "HORIZONTAL"


_LENS_FIELDS = tuple(field.name for field in dataclasses.fields(Lens))
_FRAME_FIELDS = tuple(field.name for field in dataclasses.fields(RenderFrame))


@dataclass(frozen=True)
class BlenderCamera:
    """A camera as Blender renders it: a lens model on a render frame."""

    lens: Lens
    frame: RenderFrame

    @classmethod
    def from_settings(cls, **settings: Any) -> BlenderCamera:
        """Build from Blender's flat setting names (``lens=35, resolution_x=640, projection="ORTHO"``, ...)."""
        unknown = set(settings) - set(_LENS_FIELDS) - set(_FRAME_FIELDS)
        if unknown:
            raise TypeError(f"unknown camera settings {sorted(unknown)}")
        if "border" in settings:
            settings["border"] = tuple(settings["border"])
        return cls(Lens(**{name: settings[name] for name in _LENS_FIELDS if name in settings}),
                   RenderFrame(**{name: settings[name] for name in _FRAME_FIELDS if name in settings}))

    def settings(self) -> dict[str, Any]:
        """Every setting under Blender's flat names: the inverse of :meth:`from_settings`."""
        return {**dataclasses.asdict(self.lens), **dataclasses.asdict(self.frame)}

    @property
    def projection(self) -> str:
        """Blender's camera type (``"PERSP"``, ``"ORTHO"``, ``"PANO"``)."""
        return self.lens.projection

    @property
    def model(self) -> Projection:
        """The registered projection."""
        return self.lens.model

    @property
    def width(self) -> int:
        """Output image width in pixels."""
        return self.frame.width

    @property
    def height(self) -> int:
        """Output image height in pixels."""
        return self.frame.height

    @property
    def has_matrix(self) -> bool:
        """False for panoramic cameras: no 3x3 K describes them (the sidecar's projection_model does)."""
        return self.model.has_matrix

    def matrix(self) -> np.ndarray:
        """The 3x3 intrinsic matrix K of the output image (float64), see the module docstring.

        Raises ValueError for a panoramic camera (see :attr:`has_matrix`).
        """
        if not self.has_matrix:
            raise ValueError(f"a {self.model.label} camera has no pinhole matrix K")
        fit = self.frame.fit_size(self.lens.fits_horizontally(self.frame))
        fx = fit / self.model.view_extent(self.lens)
        fy = fx * self.frame.y_scale
        cx, cy = self.frame.principal_point(self.lens.shift_x, self.lens.shift_y, fit)
        return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]], dtype=np.float64)

    @classmethod
    def from_matrix(cls, K: Any, width: int, height: int, projection: str = "PERSP") -> BlenderCamera:
        """The Blender camera (horizontal fit, 36 mm sensor) whose :meth:`matrix` is ``K`` for that size.

        Any K ``[[fx, 0, cx], [0, fy, cy], [0, 0, 1]]`` with positive focal lengths maps to one: unequal
        ``fx, fy`` become a pixel aspect ratio (Blender's pixel aspect values are >= 1), the principal
        point becomes a lens shift. A last row ``(0, 0, s)``, ``s != 0``, is divided out first (the same
        projection). Skew and any other last row have no Blender camera: refused (ValueError) with the
        reason, never reduced to a plain pinhole. ``width`` and ``height`` must be positive integers.
        """
        K = finite_matrix(K)
        if K[2, 0] != 0 or K[2, 1] != 0 or K[2, 2] == 0:
            raise ValueError(f"K's last row must be (0, 0, s) with s != 0, got {K[2].tolist()}: a Blender camera "
                             f"cannot represent this projection")
        K = K / K[2, 2]
        if K[0, 1] != 0 or K[1, 0] != 0:
            raise ValueError(f"K has skew (K[0][1] = {float(K[0, 1])!r}, K[1][0] = {float(K[1, 0])!r} after "
                             "dividing by K[2][2]): a Blender camera has none and cannot represent it")
        if K[0, 0] <= 0 or K[1, 1] <= 0:
            raise ValueError(f"K must have positive focal lengths, got {K.tolist()}")
        for name, value in (("width", width), ("height", height)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
        aspect_x, aspect_y = (1.0, fx / fy) if fx >= fy else (fy / fx, 1.0)
        sensor = 36.0
        return cls.from_settings(
            lens=fx * sensor / width, sensor_width=sensor, sensor_height=sensor, sensor_fit="HORIZONTAL",
            shift_x=(width / 2.0 - 0.5 - cx) / width,
            shift_y=(cy - height / 2.0 + 0.5) / (width * aspect_x / aspect_y),
            resolution_x=int(width), resolution_y=int(height), resolution_percentage=100,
            pixel_aspect_x=aspect_x, pixel_aspect_y=aspect_y, projection=projection,
            ortho_scale=width / fx,
        )


def stereo_views(scene: Any) -> tuple[str, ...]:
    """The views a Stereo 3D render of ``scene`` makes (``("left", "right")``), or ``()`` for other renders."""
    render = scene.render
    if getattr(render, "use_multiview", False) and getattr(render, "views_format", "") == "STEREO_3D":
        return ("left", "right")
    return ()


def finite_matrix(value: Any, what: str = "K") -> np.ndarray:
    """``value`` as a finite 3x3 float64 matrix, else a ValueError naming ``what``."""
    try:
        matrix = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a 3x3 matrix of numbers, got {value!r}") from None
    if matrix.shape != (3, 3) or not np.isfinite(matrix).all():
        raise ValueError(f"{what} must be a finite 3x3 matrix, got {matrix.tolist()}")
    return matrix


def camera_from_scene(scene: Any, camera_object: Any = None, view: str | None = None) -> BlenderCamera:
    """Read a camera and the render settings of a ``bpy.types.Scene`` (or a look-alike).

    ``camera_object`` defaults to the scene's active camera. ``view`` ("left" or
    "right") gives that eye's camera of a Stereo 3D render (its off-axis shift).
    Raises :class:`UnsupportedCameraError` when there is no camera or no
    registered projection models its type.
    """
    if camera_object is None:
        camera_object = getattr(scene, "camera", None)
    if camera_object is None:
        raise UnsupportedCameraError(f"scene {scene.name!r} has no active camera")
    data = camera_object.data
    camera_type = getattr(data, "type", None)
    panorama_type = getattr(data, "panorama_type", None)
    if camera_type == "CUSTOM":
        from .calibration.osl import bytecode_hash

        calibrated = (callable(getattr(data, "get", None)) and bool(data.get("true_depth_calibration"))
                      and bytecode_hash(getattr(data, "custom_bytecode", "")) == getattr(data, "custom_bytecode_hash",
                                                                                          None))
        raise UnsupportedCameraError(
            f"camera {camera_object.name!r} of scene {scene.name!r} is of type 'CUSTOM' (an OSL camera)"
            + (": a calibrated camera (depth_node.apply_calibration), whose rays come from its calibration, "
               "not from these settings" if calibrated else
               ", whose rays only its shader knows: True Depth cannot convert its depth")
        )
    try:
        projections.for_camera(camera_type, panorama_type)
    except ValueError:
        detail = f" ({panorama_type})" if camera_type == "PANO" else ""
        raise UnsupportedCameraError(
            f"camera {camera_object.name!r} of scene {scene.name!r} is of type {camera_type!r}{detail}; "
            f"True Depth supports {', '.join(projections.NAMES)} cameras"
        ) from None
    render = scene.render
    settings = {field.name: getattr(data, field.name) for field in dataclasses.fields(Lens)
                if field.name != "projection" and hasattr(data, field.name)}
    if view is not None and view in stereo_views(scene):
        stereo = data.stereo
        settings["shift_x"] = Stereo(float(stereo.interocular_distance), float(stereo.convergence_distance),
                                     str(stereo.convergence_mode), str(stereo.pivot)).shift_x(
            float(data.shift_x), float(data.lens), float(data.sensor_width), view)
    return BlenderCamera(
        Lens(projection=str(camera_type), **{name: value if isinstance(value, str) else float(value)
                                             for name, value in settings.items()}),
        RenderFrame(resolution_x=int(render.resolution_x), resolution_y=int(render.resolution_y),
                    resolution_percentage=int(render.resolution_percentage),
                    pixel_aspect_x=float(render.pixel_aspect_x), pixel_aspect_y=float(render.pixel_aspect_y),
                    use_border=bool(render.use_border), crop_to_border=bool(render.use_crop_to_border),
                    border=(float(render.border_min_x), float(render.border_max_x),
                            float(render.border_min_y), float(render.border_max_y))),
    )


def intrinsics(scene: Any) -> tuple[np.ndarray, tuple[int, int]]:
    """``(K, (width, height))`` of the scene's active camera."""
    camera = camera_from_scene(scene)
    return camera.matrix(), (camera.width, camera.height)


__all__ = ["BlenderCamera", "FULL_BORDER", "Lens", "RenderFrame", "SENSOR_FITS", "UnsupportedCameraError",
           "camera_from_scene", "intrinsics"]
