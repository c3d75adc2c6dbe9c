"""OpenCV's distortion models, forward (a ray to its pixel) and inverse (a pixel to its ray). Imports no bpy.

Both act on normalized coordinates: a pixel ``(u, v)`` (OpenCV: pixel centres at integer coordinates) is
``xd = (u - cx) / fx``, ``yd = (v - cy) / fy``. The formulas are OpenCV's own
(``cv::projectPoints`` and ``cv::fisheye::projectPoints``):

* ``radtan`` (pinhole with radial-tangential distortion; coefficients ``k1, k2, p1, p2, k3, k4, k5, k6``,
  missing ones zero): ``r2 = x^2 + y^2``, ``q = (1 + k1 r2 + k2 r2^2 + k3 r2^3) / (1 + k4 r2 + k5 r2^2 + k6 r2^3)``,
  ``xd = x q + 2 p1 x y + p2 (r2 + 2 x^2)``, ``yd = y q + p1 (r2 + 2 y^2) + 2 p2 x y``, for a ray ``(x, y, 1)``;
* ``fisheye`` (Kannala-Brandt, ``k1..k4``): ``theta`` the ray's angle to the optical axis,
  ``theta_d = theta (1 + k1 theta^2 + k2 theta^4 + k3 theta^6 + k4 theta^8)``, ``(xd, yd) = theta_d (x, y) / r``
  with ``r`` the ray's distance from the axis. OpenCV computes ``theta = atan(r / z)`` (front hemisphere); here
  ``theta = atan2(r, z)``, the same for ``z > 0`` and defined beyond 90 degrees (fields of view over 180).

The inverse is solved by Newton's method in float64 to 1e-13 (normalized units). A pixel has no ray where the
model folds over (the distortion stops being monotonic before reaching it: strong barrel distortion's corners)
or where the iteration does not converge: its ray is NaN, never a wrong one.
"""

from __future__ import annotations

import numpy as np

RADTAN_COEFFICIENTS = ("k1", "k2", "p1", "p2", "k3", "k4", "k5", "k6")
FISHEYE_COEFFICIENTS = ("k1", "k2", "k3", "k4")
TOLERANCE = 1e-13
ITERATIONS = 60


def radtan_distort(x: np.ndarray, y: np.ndarray, c: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Normalized undistorted ``(x, y)`` -> distorted ``(xd, yd)`` (OpenCV's 8-coefficient model)."""
    k1, k2, p1, p2, k3, k4, k5, k6 = c
    r2 = x * x + y * y
    q = (1 + r2 * (k1 + r2 * (k2 + r2 * k3))) / (1 + r2 * (k4 + r2 * (k5 + r2 * k6)))
    return x * q + 2 * p1 * x * y + p2 * (r2 + 2 * x * x), y * q + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y


def _radtan_jacobian(x: np.ndarray, y: np.ndarray, c: tuple[float, ...]) -> tuple[np.ndarray, ...]:
    k1, k2, p1, p2, k3, k4, k5, k6 = c
    r2 = x * x + y * y
    numerator = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
    denominator = 1 + r2 * (k4 + r2 * (k5 + r2 * k6))
    q = numerator / denominator
    dnum = k1 + r2 * (2 * k2 + r2 * 3 * k3)  # d numerator / d r2
    dden = k4 + r2 * (2 * k5 + r2 * 3 * k6)
    dq = (dnum * denominator - numerator * dden) / (denominator * denominator)  # dq / d r2
    # d r2 / dx = 2x, d r2 / dy = 2y
    dxdx = q + x * dq * 2 * x + 2 * p1 * y + p2 * 6 * x
    dxdy = x * dq * 2 * y + 2 * p1 * x + p2 * 2 * y
    dydx = y * dq * 2 * x + p1 * 2 * x + 2 * p2 * y
    dydy = q + y * dq * 2 * y + p1 * 6 * y + 2 * p2 * x
    return dxdx, dxdy, dydx, dydy


def radtan_undistort(xd: np.ndarray, yd: np.ndarray, c: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Distorted -> undistorted normalized coordinates; NaN where no ray maps there (see the module)."""
    xd, yd = np.broadcast_arrays(np.asarray(xd, dtype=np.float64), np.asarray(yd, dtype=np.float64))
    x, y = xd.copy(), yd.copy()
    active = np.flatnonzero(np.ones(x.shape, dtype=bool))  # Newton on the pixels not converged yet
    flat_x, flat_y, flat_xd, flat_yd = x.reshape(-1), y.reshape(-1), xd.reshape(-1), yd.reshape(-1)
    with np.errstate(all="ignore"):
        for _ in range(ITERATIONS):
            px, py, tx, ty = flat_x[active], flat_y[active], flat_xd[active], flat_yd[active]
            fx, fy = radtan_distort(px, py, c)
            ex, ey = fx - tx, fy - ty
            done = np.hypot(ex, ey) <= TOLERANCE * np.maximum(1.0, np.hypot(tx, ty))
            active, px, py, ex, ey = active[~done], px[~done], py[~done], ex[~done], ey[~done]
            if not active.size:
                break
            a, b, cc, d = _radtan_jacobian(px, py, c)
            determinant = a * d - b * cc
            flat_x[active] = px - (d * ex - b * ey) / determinant
            flat_y[active] = py - (a * ey - cc * ex) / determinant
        fx, fy = radtan_distort(x, y, c)
        a, b, cc, d = _radtan_jacobian(x, y, c)
        converged = np.hypot(fx - xd, fy - yd) <= TOLERANCE * np.maximum(1.0, np.hypot(xd, yd))
        # On the monotonic side of the model: the map keeps orientation there and along the way from the centre.
        valid = converged & (a * d - b * cc > 0) & (np.hypot(x, y) < radtan_max_radius(c))
    return np.where(valid, x, np.nan), np.where(valid, y, np.nan)


RADIUS_SCAN = np.linspace(0.0, 20.0, 400001)
"""Undistorted radii scanned for a fold (a 20x-wide field: 174 degrees across)."""


def radtan_max_radius(c: tuple[float, ...]) -> float:
    """The undistorted radius up to which ``r q(r^2)`` grows (inf when it grows over the whole scan)."""
    k1, k2, _, _, k3, k4, k5, k6 = c
    r2 = RADIUS_SCAN * RADIUS_SCAN
    with np.errstate(all="ignore"):
        radial = RADIUS_SCAN * (1 + r2 * (k1 + r2 * (k2 + r2 * k3))) / (1 + r2 * (k4 + r2 * (k5 + r2 * k6)))
        growing = np.diff(radial) > 0
    return float(np.inf if growing.all() else RADIUS_SCAN[int(np.argmin(growing))])


def fisheye_theta_d(theta: np.ndarray, c: tuple[float, ...]) -> np.ndarray:
    """Kannala-Brandt: the distorted radius of a ray at ``theta`` from the axis."""
    k1, k2, k3, k4 = c
    t2 = theta * theta
    return theta * (1 + t2 * (k1 + t2 * (k2 + t2 * (k3 + t2 * k4))))


def fisheye_max_theta(c: tuple[float, ...]) -> float:
    """The largest angle up to which ``theta_d`` grows (pi when it grows all the way)."""
    theta = np.linspace(0.0, np.pi, 20001)
    growing = np.diff(fisheye_theta_d(theta, c)) > 0
    return float(np.pi if growing.all() else theta[int(np.argmin(growing))])


def fisheye_undistort(xd: np.ndarray, yd: np.ndarray, c: tuple[float, ...]) -> np.ndarray:
    """Distorted normalized coordinates -> unit rays (..., 3) in OpenCV camera axes; NaN where none."""
    k1, k2, k3, k4 = c
    xd, yd = np.broadcast_arrays(np.asarray(xd, dtype=np.float64), np.asarray(yd, dtype=np.float64))
    theta_d = np.hypot(xd, yd)
    limit = fisheye_max_theta(c)
    theta = np.minimum(theta_d, limit)
    with np.errstate(all="ignore"):
        for _ in range(ITERATIONS):
            t2 = theta * theta
            slope = 1 + t2 * (3 * k1 + t2 * (5 * k2 + t2 * (7 * k3 + t2 * 9 * k4)))
            theta = np.clip(theta - (fisheye_theta_d(theta, c) - theta_d) / slope, 0.0, limit)
        converged = np.abs(fisheye_theta_d(theta, c) - theta_d) <= TOLERANCE * np.maximum(1.0, theta_d)
        scale = np.where(theta_d > 0, np.sin(theta) / theta_d, 1.0)
    rays = np.stack([xd * scale, yd * scale, np.cos(theta)], axis=-1)
    return np.where(converged[..., np.newaxis], rays, np.nan)


def fisheye_project(rays: np.ndarray, c: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Rays (..., 3) in OpenCV camera axes -> distorted normalized ``(xd, yd)``."""
    rays = np.asarray(rays, dtype=np.float64)
    r = np.hypot(rays[..., 0], rays[..., 1])
    theta = np.arctan2(r, rays[..., 2])
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(r > 0, fisheye_theta_d(theta, c) / r, 1.0)
    return rays[..., 0] * scale, rays[..., 1] * scale
