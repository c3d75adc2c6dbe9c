"""A real camera's calibration: OpenCV intrinsics and distortion, with each pixel's exact ray. Imports no bpy.

:class:`Calibration` is what every reader (:mod:`depth_node.core.calibration.formats`) returns and what the
rest of True Depth consumes: the image size, K (OpenCV convention: pixel centres at integer coordinates,
x right, y down) and the distortion model (:mod:`depth_node.core.calibration.models`):

* ``pinhole``: no distortion (an ordinary perspective camera);
* ``radtan``: OpenCV's pinhole radial-tangential model, ``k1, k2, p1, p2, k3, k4, k5, k6``;
* ``fisheye``: OpenCV's fisheye model (Kannala-Brandt), ``k1, k2, k3, k4``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import models

MODELS = {"pinhole": (), "radtan": models.RADTAN_COEFFICIENTS, "fisheye": models.FISHEYE_COEFFICIENTS}
"""Each model's coefficients, in OpenCV's order."""


class CalibrationError(ValueError):
    """A calibration that cannot be used exactly (the message says why and what is supported)."""


@dataclass(frozen=True)
class Calibration:
    """Image size, pinhole intrinsics and distortion of one camera."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    model: str = "pinhole"
    coefficients: tuple[float, ...] = ()
    """The model's coefficients in :data:`MODELS` order (shorter radtan lists are padded with zeros)."""

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise CalibrationError(f"{name} must be a positive integer, got {value!r}")
        for name in ("fx", "fy", "cx", "cy"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float | np.number) or not math.isfinite(value):
                raise CalibrationError(f"{name} must be a finite number, got {value!r}")
        if self.fx <= 0 or self.fy <= 0:
            raise CalibrationError(f"focal lengths must be positive, got fx={self.fx}, fy={self.fy}")
        if self.model not in MODELS:
            raise CalibrationError(f"unknown distortion model {self.model!r}; supported: {', '.join(MODELS)}")
        names = MODELS[self.model]
        coefficients = tuple(float(value) for value in self.coefficients)
        if len(coefficients) > len(names) or (self.model == "radtan" and len(coefficients) not in (4, 5, 8)):
            raise CalibrationError(f"the {self.model} model takes {_counts(self.model)} coefficients "
                                   f"({', '.join(names)}), got {len(coefficients)}")
        if not all(math.isfinite(value) for value in coefficients):
            raise CalibrationError(f"distortion coefficients must be finite, got {list(coefficients)}")
        object.__setattr__(self, "coefficients", coefficients + (0.0,) * (len(names) - len(coefficients)))
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))

    @property
    def K(self) -> np.ndarray:
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def distorted(self) -> bool:
        """Whether the model bends rays (an undistorted radtan or fisheye calibration is a plain pinhole...
        except fisheye, whose zero coefficients are the equidistant projection)."""
        return self.model == "fisheye" or any(value != 0.0 for value in self.coefficients)

    def normalized(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates -> distorted normalized coordinates."""
        u, v = np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64)
        return (u - self.cx) / self.fx, (v - self.cy) / self.fy

    def rays(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Unit rays (..., 3) in OpenCV camera axes (x right, y down, z forward) of pixel positions; NaN where
        the model has none."""
        xd, yd = self.normalized(u, v)
        if self.model == "fisheye":
            return models.fisheye_undistort(xd, yd, self.coefficients)
        if self.model == "radtan":
            x, y = models.radtan_undistort(xd, yd, self.coefficients)
        else:
            x, y = np.broadcast_arrays(xd, yd)
        rays = np.stack([x, y, np.ones_like(x)], axis=-1)
        return rays / np.linalg.norm(rays, axis=-1, keepdims=True)

    def pixel_rays(self) -> np.ndarray:
        """The unit ray of every pixel centre, (H, W, 3); NaN where the model has none."""
        v, u = np.mgrid[0:self.height, 0:self.width].astype(np.float64)
        return self.rays(u, v)

    def project(self, points: np.ndarray) -> np.ndarray:
        """Camera-space points (..., 3), OpenCV axes -> pixel positions (..., 2)."""
        points = np.asarray(points, dtype=np.float64)
        if self.model == "fisheye":
            xd, yd = models.fisheye_project(points, self.coefficients)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                x, y = points[..., 0] / points[..., 2], points[..., 1] / points[..., 2]
            xd, yd = models.radtan_distort(x, y, self.coefficients) if self.model == "radtan" else (x, y)
        return np.stack([xd * self.fx + self.cx, yd * self.fy + self.cy], axis=-1)

    def describe(self) -> dict:
        """The sidecar's ``distortion`` entry: the model and its named coefficients (OpenCV's names)."""
        return {"model": self.model, "coefficients": dict(zip(MODELS[self.model], self.coefficients, strict=True))}

    def to_dict(self) -> dict:
        """A JSON-ready description (:meth:`from_dict` reads it back)."""
        return {"width": self.width, "height": self.height, "K": self.K.tolist(), "distortion": self.describe()}

    @classmethod
    def from_dict(cls, data: dict) -> Calibration:
        """From :meth:`to_dict`'s layout (also the sidecar's ``K``, ``width``, ``height``, ``distortion``)."""
        try:
            K = np.asarray(data["K"], dtype=np.float64)
            distortion = data.get("distortion") or {"model": "pinhole", "coefficients": {}}
            model = distortion["model"]
            named = distortion.get("coefficients", {})
        except (KeyError, TypeError, ValueError) as error:
            raise CalibrationError(f"a calibration needs K, width, height (and distortion): {error}") from None
        check_pinhole_matrix(K)
        if model not in MODELS:
            raise CalibrationError(f"unknown distortion model {model!r}; supported: {', '.join(MODELS)}")
        if isinstance(named, dict):
            unknown = sorted(set(named) - set(MODELS[model]))
            if unknown:
                raise CalibrationError(f"the {model} model has no coefficient(s) {', '.join(unknown)}")
            coefficients = tuple(float(named.get(name, 0.0)) for name in MODELS[model])
        else:
            coefficients = tuple(float(value) for value in named)
        return cls(data.get("width"), data.get("height"), float(K[0, 0]), float(K[1, 1]), float(K[0, 2]),
                   float(K[1, 2]), model, coefficients)


def from_sidecar(meta: dict) -> Calibration | None:
    """The calibration a camera sidecar describes when it has distortion (None for an ordinary camera)."""
    if (meta.get("distortion") or {}).get("model", "pinhole") == "pinhole":
        return None
    return Calibration.from_dict(meta)


def check_pinhole_matrix(K: np.ndarray) -> None:
    """Refuse a K that is not ``[[fx, 0, cx], [0, fy, cy], [0, 0, 1]]`` (skew, a scaled last row)."""
    if K.shape != (3, 3) or not np.isfinite(K).all():
        raise CalibrationError(f"K must be a finite 3x3 matrix, got {K.tolist()}")
    if K[0, 1] != 0 or K[1, 0] != 0 or K[2, 0] != 0 or K[2, 1] != 0 or K[2, 2] != 1:
        raise CalibrationError(f"K must be [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] (no skew, last row 0 0 1); got "
                               f"{K.tolist()}")


def _counts(model: str) -> str:
    return "4, 5 or 8" if model == "radtan" else str(len(MODELS[model]))
