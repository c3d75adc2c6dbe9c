"""A camera whose pixels map to rays through one 3x3 matrix: ``ray = matrix @ [x, y, 1]``. Imports no bpy.

It describes exactly every central camera that a plain ``[[fx, 0, cx], [0, fy, cy], [0, 0, 1]]`` cannot: a K with
skew or with another last row (``matrix = inv(K)``), a centred field-of-view camera (:meth:`RayMatrix.from_fov`)
and Hypersim's tilt-shift cameras (:meth:`RayMatrix.from_hypersim`). Conventions as
:class:`~depth_node.core.calibration.Calibration`: pixel ``(x, y)`` has its centre at ``(x, y)`` (integers, top-left
pixel at (0, 0), x right, y down) and the ray is in OpenCV camera axes (x right, y down, z forward).

A ray whose z is 0 or negative is kept as it is (it is not flipped): such a pixel sees a direction at or behind the
image plane, so its planar depth is 0 or negative (``depth = distance * ray_z / |ray|``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..camera import finite_matrix
from . import CalibrationError

PIXEL_TO_RAY = "ray = matrix @ [x, y, 1], OpenCV axes, pixel centres at integers"
CONDITION_LIMIT = 1e14
"""A matrix whose condition number is above this is refused as singular."""
HYPERSIM_COLUMNS = tuple(f"M_cam_from_uv_{row}{column}" for row in range(3) for column in range(3))
HYPERSIM_SIZE_COLUMNS = ("settings_output_img_width", "settings_output_img_height")
OPENGL_TO_OPENCV = np.diag([1.0, -1.0, -1.0])
"""Camera axes x right, y up, z back (OpenGL, Blender, Hypersim) -> x right, y down, z forward (OpenCV)."""


def _size(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise CalibrationError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def integral(value: Any, name: str) -> int:
    """A positive whole number written as an int, a float or a string (``"768.0"``, as CSV files hold them);
    64.5, ``True`` and anything non-numeric are refused."""
    if isinstance(value, bool):
        raise CalibrationError(f"{name} must be a positive integer, got {value!r}")
    if isinstance(value, int | np.integer):
        return _size(value, name)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise CalibrationError(f"{name} must be a positive integer, got {value!r}") from None
    if not math.isfinite(number) or number != int(number) or number < 1:
        raise CalibrationError(f"{name} must be a positive integer, got {value!r}")
    return int(number)


def _matrix(value: Any, what: str) -> np.ndarray:
    try:
        matrix = finite_matrix(value, what)
    except ValueError as error:
        raise CalibrationError(str(error)) from None
    if np.linalg.cond(matrix) > CONDITION_LIMIT:
        raise CalibrationError(f"{what} is singular (not invertible): {matrix.tolist()}")
    return matrix


def _fov(degrees: Any, name: str) -> float:
    if isinstance(degrees, bool) or not isinstance(degrees, int | float | np.number):
        raise CalibrationError(f"{name} must be a number of degrees, got {degrees!r}")
    degrees = float(degrees)
    if not 0.0 < degrees < 180.0:
        raise CalibrationError(f"{name} must be between 0 and 180 degrees (exclusive), got {degrees!r}")
    return degrees


@dataclass(frozen=True, eq=False)
class RayMatrix:
    """Image size and the 3x3 matrix taking a pixel ``(x, y, 1)`` to its camera-space ray (OpenCV axes)."""

    width: int
    height: int
    matrix: np.ndarray
    """3x3, finite, invertible (a read-only float64 copy)."""
    model: ClassVar[str] = "ray_matrix"

    def __post_init__(self) -> None:
        object.__setattr__(self, "width", _size(self.width, "width"))
        object.__setattr__(self, "height", _size(self.height, "height"))
        matrix = _matrix(self.matrix, "the ray matrix")
        matrix.setflags(write=False)
        object.__setattr__(self, "matrix", matrix)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RayMatrix):
            return NotImplemented
        return (self.width, self.height) == (other.width, other.height) and np.array_equal(self.matrix, other.matrix)

    def __hash__(self) -> int:
        return hash((self.width, self.height, self.matrix.tobytes()))

    def rays(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Unit rays (..., 3) of pixel positions, OpenCV axes; a ray with z <= 0 is not flipped."""
        u, v = np.broadcast_arrays(np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64))
        rays = np.stack([u, v, np.ones_like(u)], axis=-1) @ self.matrix.T
        return rays / np.linalg.norm(rays, axis=-1, keepdims=True)

    def pixel_rays(self) -> np.ndarray:
        """The unit ray of every pixel centre, (H, W, 3), row 0 at the top. An invertible matrix gives every pixel
        a ray, so there is no NaN; rays with z <= 0 are kept (negative planar depth, see the module docstring)."""
        v, u = np.mgrid[0:self.height, 0:self.width].astype(np.float64)
        return self.rays(u, v)

    def project(self, points: np.ndarray) -> np.ndarray:
        """Camera-space points (..., 3), OpenCV axes -> pixel positions (..., 2) (the inverse of :meth:`rays`)."""
        pixels = np.asarray(points, dtype=np.float64) @ np.linalg.inv(self.matrix).T
        with np.errstate(divide="ignore", invalid="ignore"):
            return pixels[..., :2] / pixels[..., 2:]

    def describe(self) -> dict:
        """The sidecar's ``projection_model`` entry."""
        return {"type": "RAY_MATRIX", "matrix": self.matrix.tolist(), "pixel_to_ray": PIXEL_TO_RAY}

    def to_dict(self) -> dict:
        """A JSON-ready description (:meth:`from_dict` reads it back)."""
        return {"model": self.model, "width": self.width, "height": self.height, "ray_matrix": self.matrix.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> RayMatrix:
        """From :meth:`to_dict`'s layout."""
        if not isinstance(data, dict):
            raise CalibrationError(f"a ray-matrix camera is a mapping with width, height and ray_matrix, got {data!r}")
        missing = [key for key in ("width", "height", "ray_matrix") if key not in data]
        if missing:
            raise CalibrationError(f"a ray-matrix camera needs width, height and ray_matrix; missing "
                                   f"{', '.join(missing)}")
        if data.get("model", cls.model) != cls.model:
            raise CalibrationError(f"not a ray-matrix camera (model {data.get('model')!r})")
        return cls(data["width"], data["height"], data["ray_matrix"])

    # --- constructors -----------------------------------------------------------------------------------------

    @classmethod
    def from_K(cls, K: Any, width: int, height: int) -> RayMatrix:
        """Any invertible K honoured exactly, skew and last row included: ``ray = inv(K) @ [x, y, 1]``.

        The ray's sign is inv(K)'s: a K whose last row gives negative z (``(0, 0, -1)``) gives rays behind the
        image plane; divide such a K by its ``K[2][2]`` first when that is not meant."""
        return cls(width, height, np.linalg.inv(_matrix(K, "K")))

    @classmethod
    def from_fov(cls, fov_x_degrees: float, width: int, height: int, fov_y_degrees: float | None = None) -> RayMatrix:
        """A centred pinhole of horizontal field of view ``fov_x_degrees`` across the whole image (edge to edge).

        ``fx = (W / 2) / tan(fov_x / 2)``, ``fy = fx`` (square pixels) unless ``fov_y_degrees`` is given
        (``fy = (H / 2) / tan(fov_y / 2)``), principal point ``((W - 1) / 2, (H - 1) / 2)`` with pixel centres at
        integers (``W / 2 - 1``, as AirSim once used, microsoft/AirSim#376, is off by half a pixel)."""
        width, height = _size(width, "width"), _size(height, "height")
        fx = (width / 2.0) / math.tan(math.radians(_fov(fov_x_degrees, "fov_x_degrees")) / 2.0)
        fy = fx if fov_y_degrees is None else (height / 2.0) / math.tan(
            math.radians(_fov(fov_y_degrees, "fov_y_degrees")) / 2.0)
        cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
        return cls(width, height, np.array([[1.0 / fx, 0.0, -cx / fx], [0.0, 1.0 / fy, -cy / fy], [0.0, 0.0, 1.0]]))

    @classmethod
    def from_hypersim(cls, M_cam_from_uv: Any, width: int, height: int) -> RayMatrix:
        """Hypersim's per-scene camera (apple/ml-hypersim, ``contrib/mikeroberts3000/metadata_camera_parameters.csv``
        columns ``M_cam_from_uv_00`` .. ``M_cam_from_uv_22``), tilt-shift included.

        Their formula (``contrib/mikeroberts3000/jupyter/01_casting_rays_that_match_hypersim_images.ipynb``, the
        rays that reproduce their images): ``u, v`` span [-1, 1] over the image, sampled at pixel centres
        (``linspace(-1 + 1/W, 1 - 1/W, W)``; ``v`` the same over H, reversed so that v is up), and the camera-space
        ray is ``M_cam_from_uv @ [u, v, 1]`` in Hypersim's camera axes (x right, y up, z back: the camera looks
        down -z, README "Camera trajectories").

        In pixels (centre of column x at ``x``, row y at ``y``, row 0 at the top):
        ``u = -1 + (2x + 1) / W`` and ``v = 1 - (2y + 1) / H``, i.e. ``[u, v, 1] = A @ [x, y, 1]`` with
        ``A = [[2/W, 0, 1/W - 1], [0, -2/H, 1 - 1/H], [0, 0, 1]]``; OpenCV axes flip y and z. So
        ``matrix = diag(1, -1, -1) @ M_cam_from_uv @ A``. Their ``depth_meters`` images are distances to the
        optical centre, so ``depth = distance * ray_z / |ray|`` is the planar depth along the view axis.
        """
        width, height = _size(width, "width"), _size(height, "height")
        M = _matrix(M_cam_from_uv, "M_cam_from_uv")
        A = np.array([[2.0 / width, 0.0, 1.0 / width - 1.0], [0.0, -2.0 / height, 1.0 - 1.0 / height],
                      [0.0, 0.0, 1.0]])
        return cls(width, height, OPENGL_TO_OPENCV @ M @ A)

    @classmethod
    def from_hypersim_csv_row(cls, row: dict) -> RayMatrix:
        """One row of Hypersim's ``metadata_camera_parameters.csv`` (as ``csv.DictReader`` or pandas gives it):
        ``M_cam_from_uv_00`` .. ``M_cam_from_uv_22`` and ``settings_output_img_width`` / ``_height`` (the CSV
        writes sizes as ``1024.0``: whole numbers are accepted, 1024.5 is not)."""
        missing = [name for name in (*HYPERSIM_COLUMNS, *HYPERSIM_SIZE_COLUMNS) if name not in row]
        if missing:
            raise CalibrationError(f"not a Hypersim camera row: no column(s) {', '.join(missing)}")
        values = []
        for name in HYPERSIM_COLUMNS:
            try:
                values.append(float(row[name]))
            except (TypeError, ValueError):
                raise CalibrationError(f"{name} must be a number, got {row[name]!r}") from None
        width = integral(row["settings_output_img_width"], "settings_output_img_width")
        height = integral(row["settings_output_img_height"], "settings_output_img_height")
        return cls.from_hypersim(np.reshape(values, (3, 3)), width, height)
