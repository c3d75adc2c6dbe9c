"""Blender's panoramic cameras (Cycles' models, one class per panorama type). Imports no bpy.

Follows Cycles (``kernel/camera/projection.h``, ``blender/camera.cpp``), measured
against Cycles' Position pass on 4.5.15, 5.0.1 and 5.3.0 (every type, several
parameter sets, shifts, portrait, pixel aspect, border crop: directions within
1e-5 rad). A pixel's frame fractions, ``y`` growing upwards::

    x = shift_x + (column in the full frame + 0.5) / W,   y = shift_y + (row from the bottom + 0.5) / H

(sensor fit and pixel aspect do not enter; a cropped image keeps its place in
the frame). The two sensor-based fisheyes use Cycles' sensor in millimetres:
``size`` = the sensor height for a VERTICAL fit, else its width; with
``xr = W * aspect_x``, ``yr = H * aspect_y``, the fit dimension gets ``size``
and the other ``size * other / fit``.

Each type gives ``cos`` of the angle between the ray and the view axis
(``depth = distance * cos``; negative for rays that look backwards) and where a
ray exists (a fisheye's image circle, the mirror ball's disc). True Depth's
per-pixel term is ``1 / cos``, and 0 where there is no ray or ``cos`` is 0: both
directions then give 0.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from ..graph.nodes import GraphBuilder, Operand, SocketRef, driven_input, group_input
from .base import (
    BLENDER_CAMERA_TYPES,
    BLENDER_PANORAMA_CODES,
    CAMERA_TYPE_INPUT,
    PANORAMA_TYPE_INPUT,
    PixelContext,
    PixelTerms,
    Projection,
)

_BLENDER_TO_OPENCV = np.array([1.0, -1.0, -1.0])
_FOV = driven_input("Fisheye FOV", "Fisheye field of view in radians (panoramic)", math.pi, 1e-6, 1e3,
                    "camera.data.fisheye_fov")
_TYPE = driven_input(PANORAMA_TYPE_INPUT, ", ".join(f"{code} = {name}" for name, code in
                                                    sorted(BLENDER_PANORAMA_CODES.items(), key=lambda item: item[1])),
                     0.0, 0.0, float(max(BLENDER_PANORAMA_CODES.values())), "camera.data.panorama_type")


_GRID = 48
"""The inverse's first guesses: a pixel centre every ``max(W, H) // 48`` pixels (at most ~48 x 48 of them)."""
_CANDIDATES = 4
_CHUNK = 4096
_ITERATIONS = 12
_STEP = 1e-4
"""Pixels: the finite difference of the inverse's Jacobian (directions are smooth at this scale)."""
_MAX_MOVE = 8.0
_FOUND = 1e-9
"""Chord length between unit vectors (~ radians) under which the inverse has found a direction."""


def frame_fractions(camera: Any, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` of every pixel of ``camera``'s image (H, W), broadcastable, float64 (see the module docstring)."""
    frame, lens = camera.frame, camera.lens
    xmin, _, ymin, _ = frame.crop_box
    height, width = shape
    x = lens.shift_x + (xmin + np.arange(width, dtype=np.float64) + 0.5) / frame.full_width
    y = lens.shift_y + (ymin + (height - 1 - np.arange(height, dtype=np.float64)) + 0.5) / frame.full_height
    return x[np.newaxis, :], y[:, np.newaxis]


def sensor_mm(camera: Any) -> tuple[float, float]:
    """Cycles' panoramic sensor ``(width, height)`` in millimetres (see the module docstring)."""
    frame, lens = camera.frame, camera.lens
    xr = frame.full_width * frame.pixel_aspect_x
    yr = frame.full_height * frame.pixel_aspect_y
    size = lens.sensor_height if lens.sensor_fit == "VERTICAL" else lens.sensor_width
    horizontal = xr > yr if lens.sensor_fit == "AUTO" else lens.sensor_fit == "HORIZONTAL"
    return (size, size * yr / xr) if horizontal else (size * xr / yr, size)


def _radial(a: np.ndarray, c: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Cycles' fisheye direction for sensor offsets ``(a, c)`` and angle ``theta`` (Blender camera axes)."""
    r = np.hypot(a, c)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos_phi = np.where(r != 0.0, a / np.where(r != 0.0, r, 1.0), 0.0)
    phi = np.arccos(np.clip(cos_phi, -1.0, 1.0))
    phi = np.where(c < 0.0, -phi, phi)
    return np.stack(np.broadcast_arrays(np.cos(phi) * np.sin(theta), np.sin(phi) * np.sin(theta), -np.cos(theta)),
                    axis=-1)


class Panoramic(Projection):
    """What every panorama type shares: identity, flags, numpy plumbing; subclasses give the maths."""

    camera_type = "PANO"
    has_matrix = False
    parameters: ClassVar[tuple[str, ...]] = ()
    """The ``Camera`` settings this type reads (written to the sidecar)."""

    def directions(self, lens: Any, camera: Any, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unnormalized ray directions (Blender camera axes: -Z forward, +Y up) and where a ray exists."""
        raise NotImplementedError

    def unit_directions(self, camera: Any, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        x, y = frame_fractions(camera, shape)
        x, y = np.broadcast_arrays(x, y)
        b, valid = self.directions(camera.lens, camera, x, y)
        b = np.broadcast_to(b, x.shape + (3,))
        norm = np.linalg.norm(b, axis=-1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            b = np.where(norm > 0, b / np.where(norm > 0, norm, 1.0), 0.0)
        valid = np.broadcast_to(valid, x.shape)
        return np.where(valid[..., None], b, 0.0), valid

    def pixel_directions(self, camera: Any, columns: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unit ray directions (Blender camera axes) through any image positions (OpenCV pixels: centres at
        integers, y down) and where a ray exists there (inside the image's pixel squares too)."""
        frame = camera.frame
        xmin, _, ymin, _ = frame.crop_box
        columns, rows = np.broadcast_arrays(np.asarray(columns, dtype=np.float64), np.asarray(rows, dtype=np.float64))
        x = camera.lens.shift_x + (xmin + columns + 0.5) / frame.full_width
        y = camera.lens.shift_y + (ymin + (camera.height - 1 - rows) + 0.5) / frame.full_height
        b, valid = self.directions(camera.lens, camera, x, y)
        b = np.broadcast_to(b, x.shape + (3,))
        norm = np.linalg.norm(b, axis=-1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            b = np.where(norm > 0, b / np.where(norm > 0, norm, 1.0), 0.0)
        inside = (columns >= -0.5) & (columns < camera.width - 0.5) & (rows >= -0.5) & (rows < camera.height - 0.5)
        return b, np.broadcast_to(valid, x.shape) & inside & (norm[..., 0] > 0)

    def project(self, camera: Any, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(columns, rows, seen)``: where ``camera``'s image sees each direction (..., 3, Blender camera axes, any
        length), in OpenCV pixels; ``seen`` is False where no pixel of the image has that ray. Off the image the
        position is the type's formula continued (a fisheye beyond its circle, as a pinhole's K beyond its
        frame), NaN where the formula reaches no such direction.

        The inverse of :meth:`pixel_directions`, for every type at once: the nearest of a grid of pixel centres,
        then Gauss-Newton on the image position (a direction is found to 1e-9 rad, measured by
        :meth:`pixel_directions` itself); where that lands off the image, the next candidates of the grid are
        tried (an equirectangular seam, a fisheye's rim)."""
        directions = np.asarray(directions, dtype=np.float64)
        shape = directions.shape[:-1]
        targets = directions.reshape(-1, 3)
        norm = np.linalg.norm(targets, axis=-1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            targets = np.where(norm > 0, targets / np.where(norm > 0, norm, 1.0), 0.0)
        step = max(1, max(camera.width, camera.height) // _GRID)
        grid_rows, grid_columns = np.mgrid[0:camera.height:step, 0:camera.width:step].astype(np.float64)
        grid, has = self.pixel_directions(camera, grid_columns.ravel(), grid_rows.ravel())
        grid = np.where(has[:, None], grid, 0.0)
        columns, rows = np.full(len(targets), np.nan), np.full(len(targets), np.nan)
        seen = np.zeros(len(targets), dtype=bool)
        for start in range(0, len(targets), _CHUNK):
            chunk = np.arange(start, min(start + _CHUNK, len(targets)))
            closeness = targets[chunk] @ grid.T
            best = np.argpartition(-closeness, _CANDIDATES - 1, axis=1)[:, :_CANDIDATES]
            order = np.take_along_axis(best, np.argsort(-np.take_along_axis(closeness, best, axis=1), axis=1), axis=1)
            for candidate in range(order.shape[1]):
                todo = np.nonzero(~seen[chunk] & (norm[chunk, 0] > 0))[0]
                if not len(todo):
                    break
                picked, at = order[todo, candidate], chunk[todo]
                found_columns, found_rows, converged, valid = self._refine(
                    camera, targets[at], grid_columns.ravel()[picked], grid_rows.ravel()[picked])
                take = converged & (valid | np.isnan(columns[at]))  # a seen position, else the first one found
                columns[at[take]], rows[at[take]] = found_columns[take], found_rows[take]
                seen[at] |= converged & valid
        return columns.reshape(shape), rows.reshape(shape), seen.reshape(shape)

    def _refine(self, camera: Any, targets: np.ndarray, columns: np.ndarray, rows: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Gauss-Newton on the image position towards unit ``targets``: ``(columns, rows, converged, on the
        image)``."""
        columns, rows = columns.copy(), rows.copy()
        for _ in range(_ITERATIONS):
            here, _ = self.pixel_directions(camera, columns, rows)
            if np.linalg.norm(here - targets, axis=-1).max() < _FOUND * 1e-3:
                break
            right, _ = self.pixel_directions(camera, columns + _STEP, rows)
            down, _ = self.pixel_directions(camera, columns, rows + _STEP)
            jacobian = np.stack([(right - here) / _STEP, (down - here) / _STEP], axis=-1)  # (n, 3, 2)
            normal = np.transpose(jacobian, (0, 2, 1)) @ jacobian + 1e-12 * np.eye(2)
            gradient = np.transpose(jacobian, (0, 2, 1)) @ (targets - here)[..., None]
            delta = np.linalg.solve(normal, gradient)[..., 0]
            delta = np.clip(np.nan_to_num(delta), -_MAX_MOVE, _MAX_MOVE)
            columns, rows = columns + delta[:, 0], rows + delta[:, 1]
        reached, valid = self.pixel_directions(camera, columns, rows)
        return columns, rows, np.linalg.norm(reached - targets, axis=-1) < _FOUND, valid

    def camera_geometry(self, camera: Any, shape: tuple[int, int]) -> tuple[None, np.ndarray]:
        b, valid = self.unit_directions(camera, shape)
        cos = -b[..., 2]
        with np.errstate(divide="ignore"):
            return None, np.where(valid & (cos != 0), 1.0 / np.where(cos != 0, cos, 1.0), 0.0)

    def unproject_camera(self, camera: Any, rows: np.ndarray, columns: np.ndarray, depth: np.ndarray
                         ) -> np.ndarray:
        b, valid = self.unit_directions(camera, (camera.height, camera.width))
        b, valid = b[rows, columns], valid[rows, columns]
        cos = -b[:, 2]
        keep = valid & (cos != 0)
        distance = depth[keep] / cos[keep]
        return (b[keep] * distance[:, None]) * _BLENDER_TO_OPENCV

    def describe(self, lens: Any) -> dict:
        return {"type": "PANO", "panorama_type": self.panorama_type, "model": self.label,
                "parameters": {name: getattr(lens, name) for name in self.parameters},
                "pixel": "x = shift_x + (full-frame column + 0.5) / W, y = shift_y + (full-frame row from the "
                         "bottom + 0.5) / H; directions as Cycles' kernel/camera/projection.h"}

    def flag_node(self, graph: GraphBuilder, frame: str) -> SocketRef:
        panoramic = graph.existing("Is Panoramic") or graph.math(
            "Is Panoramic", "COMPARE", group_input(CAMERA_TYPE_INPUT), float(BLENDER_CAMERA_TYPES.index("PANO")),
            0.5, frame=frame)
        this = graph.math(f"Panorama Is {self.label.title()}", "COMPARE", group_input(PANORAMA_TYPE_INPUT),
                          float(BLENDER_PANORAMA_CODES[self.panorama_type]), 0.5, frame=frame)
        return graph.math(f"Is {self.label.title()}", "MULTIPLY", panoramic, this, frame=frame)

    # Graph helpers: every per-pixel node of a type starts from the shared frame fractions.
    def affine(self, pixels: PixelContext, scale: tuple[Operand, Operand], offset: tuple[Operand, Operand]
               ) -> SocketRef:
        """Per pixel ``(x * scale + offset)`` on the frame fractions (a vector with z = 0)."""
        g, c = pixels.graph, pixels.constants_frame
        name = self.label.title()
        xy = pixels.once("frame_xy", lambda: g.vector_math(
            "Frame Fractions", "MULTIPLY_ADD", pixels.uv, pixels.frame_span,
            g.vector_math("Frame Origin", "ADD", pixels.frame_start,
                          g.combine("Shift", group_input("Shift X"), group_input("Shift Y"), 0.0, frame=c),
                          frame=c), frame=pixels.frame))
        return g.vector_math(f"{name} Coordinates", "MULTIPLY_ADD", xy,
                             g.combine(f"{name} Scale", *scale, 0.0, frame=c),
                             g.combine(f"{name} Offset", *offset, 0.0, frame=c), frame=pixels.frame)

    def inside(self, pixels: PixelContext, value: SocketRef, limit: Operand) -> SocketRef:
        """1 where ``value <= limit`` (a ray exists), else 0."""
        g, name = pixels.graph, self.label.title()
        outside = g.math(f"{name} Outside", "GREATER_THAN", value, limit, frame=pixels.frame)
        return g.math(f"{name} Inside", "SUBTRACT", 1.0, outside, frame=pixels.frame)

    def half_fov(self, pixels: PixelContext) -> SocketRef:
        """Half the Fisheye FOV input (single value, shared by the fisheyes that read it)."""
        return pixels.once("half_fov", lambda: pixels.graph.math("Half FOV", "MULTIPLY", group_input("Fisheye FOV"),
                                                                 0.5, frame=pixels.constants_frame))

    def over(self, pixels: PixelContext, numerator: Operand, cos: SocketRef) -> PixelTerms:
        """The term ``numerator / cos`` (0 where ``cos`` is 0: the compositor's division is safe)."""
        return PixelTerms(ray_length=pixels.graph.math(f"{self.label.title()} 1 / cos", "DIVIDE", numerator, cos,
                                                       frame=pixels.frame))


class Equirectangular(Panoramic):
    """``lon = lon_min + x (lon_max - lon_min)``, ``lat`` likewise from y; ``cos = cos(lat) cos(lon)``."""

    name = panorama_type = "EQUIRECTANGULAR"
    label = "equirectangular"
    parameters = ("latitude_min", "latitude_max", "longitude_min", "longitude_max")
    inputs = tuple(driven_input(label, f"Equirectangular {label.lower()} in radians (panoramic)", default,
                                -1e3, 1e3, f"camera.data.{prop}")
                   for label, prop, default in (("Latitude Min", "latitude_min", -math.pi / 2),
                                                ("Latitude Max", "latitude_max", math.pi / 2),
                                                ("Longitude Min", "longitude_min", -math.pi),
                                                ("Longitude Max", "longitude_max", math.pi)))

    def directions(self, lens, camera, x, y):
        lon = lens.longitude_min + x * (lens.longitude_max - lens.longitude_min)
        lat = lens.latitude_min + y * (lens.latitude_max - lens.latitude_min)
        return np.stack([np.cos(lat) * np.sin(lon), np.sin(lat), -np.cos(lat) * np.cos(lon)], axis=-1), True

    def pixel_terms(self, pixels):
        g, c, f = pixels.graph, pixels.constants_frame, pixels.frame
        lon_span = g.math("Longitude Span", "SUBTRACT", group_input("Longitude Max"), group_input("Longitude Min"),
                          frame=c)
        lat_span = g.math("Latitude Span", "SUBTRACT", group_input("Latitude Max"), group_input("Latitude Min"),
                          frame=c)
        angles = self.affine(pixels, (lon_span, lat_span), (group_input("Longitude Min"),
                                                            group_input("Latitude Min")))
        cosines = g.vector_math("cos(lon), cos(lat)", "COSINE", angles, frame=f)
        split = g.separate("Equirectangular cos", cosines, frame=f)
        cos = g.math("cos(lat) cos(lon)", "MULTIPLY", split[0], split[1], frame=f)
        return self.over(pixels, 1.0, cos)


class EquiangularCubemapFace(Panoramic):
    """``t = tan((x - 0.5) pi / 2)`` (and y): the ray ``(tx, ty, -1)``, ``1 / cos = |(tx, ty, 1)|``."""

    name = panorama_type = "EQUIANGULAR_CUBEMAP_FACE"
    label = "equiangular cubemap face"

    def directions(self, lens, camera, x, y):
        tx, ty = np.tan((x - 0.5) * (math.pi / 2)), np.tan((y - 0.5) * (math.pi / 2))
        return np.stack([tx, ty, -np.ones_like(tx)], axis=-1), True

    def pixel_terms(self, pixels):
        g, f = pixels.graph, pixels.frame
        quarter = math.pi / 2
        angles = self.affine(pixels, (quarter, quarter), (-quarter / 2, -quarter / 2))
        tangents = g.vector_math("Cubemap tan", "TANGENT", angles, frame=f)
        ray = g.vector_math("Cubemap Ray", "ADD", tangents, g.combine("Unit z", 0.0, 0.0, 1.0,
                                                                      frame=pixels.constants_frame), frame=f)
        return PixelTerms(ray_length=g.vector_math("Cubemap |Ray|", "LENGTH", ray, output=1, frame=f))


class Mirrorball(Panoramic):
    """``a = 2x - 1``, ``c = 2y - 1``, ``r^2 = a^2 + c^2 <= 1``: the reflection on a ball, ``cos = 1 - 2 r^2``."""

    name = panorama_type = "MIRRORBALL"
    label = "mirror ball"

    def directions(self, lens, camera, x, y):
        a, c = 2.0 * x - 1.0, 2.0 * y - 1.0
        r2 = a * a + c * c
        w = np.sqrt(np.maximum(1.0 - r2, 0.0))
        return np.stack([2 * w * a, 2 * w * c, 2 * r2 - 1.0], axis=-1), r2 <= 1.0

    def pixel_terms(self, pixels):
        g, f = pixels.graph, pixels.frame
        disc = self.affine(pixels, (2.0, 2.0), (-1.0, -1.0))
        r2 = g.vector_math("Mirror Ball r^2", "DOT_PRODUCT", disc, disc, output=1, frame=f)
        cos = g.math("Mirror Ball cos", "MULTIPLY_ADD", r2, -2.0, 1.0, frame=f)
        return self.over(pixels, self.inside(pixels, r2, 1.0), cos)


class FisheyeEquidistant(Panoramic):
    """``theta = fov / 2 * |2 (x - 0.5, y - 0.5)|`` inside the inscribed circle; ``cos = cos(theta)``."""

    name = panorama_type = "FISHEYE_EQUIDISTANT"
    label = "fisheye equidistant"
    parameters = ("fisheye_fov",)
    inputs = (_FOV,)

    def directions(self, lens, camera, x, y):
        a, c = (x - 0.5) * 2.0, (y - 0.5) * 2.0
        r = np.hypot(a, c)
        return _radial(a, c, r * lens.fisheye_fov * 0.5), r <= 1.0

    def pixel_terms(self, pixels):
        g, c, f = pixels.graph, pixels.constants_frame, pixels.frame
        fov = group_input("Fisheye FOV")
        half = self.half_fov(pixels)
        minus_half = g.math("-Half FOV", "MULTIPLY", fov, -0.5, frame=c)
        angles = self.affine(pixels, (fov, fov), (minus_half, minus_half))
        theta = g.vector_math("Equidistant theta", "LENGTH", angles, output=1, frame=f)
        cos = g.math("Equidistant cos", "COSINE", theta, frame=f)
        return self.over(pixels, self.inside(pixels, theta, half), cos)


class _SensorFisheye(Panoramic):
    """Fisheyes that place the image on Cycles' panoramic sensor (millimetres)."""

    def sensor_offsets(self, camera, x, y) -> tuple[np.ndarray, np.ndarray]:
        width, height = sensor_mm(camera)
        return (x - 0.5) * width, (y - 0.5) * height

    def scaled_offsets(self, pixels: PixelContext, scale: Operand) -> SocketRef:
        """Per pixel ``(x - 0.5, y - 0.5) * sensor_mm * scale`` (a vector with z = 0)."""
        g, c = pixels.graph, pixels.constants_frame
        name = self.label.title()
        size = [g.math(f"{name} Sensor {axis}", "MULTIPLY", pixels.sensor_mm[index], scale, frame=c)
                for index, axis in enumerate("XY")]
        half = [g.math(f"{name} -Half {axis}", "MULTIPLY", size[index], -0.5, frame=c)
                for index, axis in enumerate("XY")]
        return self.affine(pixels, (size[0], size[1]), (half[0], half[1]))


class FisheyeEquisolid(_SensorFisheye):
    """``theta = 2 asin(r / 2 lens)`` with ``r`` on the sensor (mm), ``r <= 2 lens sin(fov / 4)``;
    ``cos = 1 - r^2 / (2 lens^2)``."""

    name = panorama_type = "FISHEYE_EQUISOLID"
    label = "fisheye equisolid"
    parameters = ("fisheye_lens", "fisheye_fov", "sensor_width", "sensor_height", "sensor_fit")
    inputs = (driven_input("Fisheye Lens", "Fisheye lens in millimetres (panoramic)", 10.5, 1e-6, 1e6,
                           "camera.data.fisheye_lens"), _FOV)

    def directions(self, lens, camera, x, y):
        a, c = self.sensor_offsets(camera, x, y)
        r = np.hypot(a, c)
        focal = lens.fisheye_lens
        theta = 2.0 * np.arcsin(np.clip(r / (2.0 * focal), -1.0, 1.0))
        return _radial(a, c, theta), r <= 2.0 * focal * math.sin(lens.fisheye_fov * 0.25)

    def pixel_terms(self, pixels):
        g, c, f = pixels.graph, pixels.constants_frame, pixels.frame
        # rho^2 = r^2 / (2 lens^2): cos = 1 - rho^2, inside where rho^2 <= 2 sin^2(fov / 4)
        scale = g.math("Equisolid 1 / (sqrt2 lens)", "DIVIDE", 1.0,
                       g.math("sqrt2 lens", "MULTIPLY", group_input("Fisheye Lens"), math.sqrt(2.0), frame=c),
                       frame=c)
        offsets = self.scaled_offsets(pixels, scale)
        rho2 = g.vector_math("Equisolid rho^2", "DOT_PRODUCT", offsets, offsets, output=1, frame=f)
        cos = g.math("Equisolid cos", "SUBTRACT", 1.0, rho2, frame=f)
        sine = g.math("sin(fov / 4)", "SINE", g.math("fov / 4", "MULTIPLY", group_input("Fisheye FOV"), 0.25,
                                                     frame=c), frame=c)
        limit = g.math("2 sin^2(fov / 4)", "MULTIPLY", g.math("sin^2", "MULTIPLY", sine, sine, frame=c), 2.0,
                       frame=c)
        return self.over(pixels, self.inside(pixels, rho2, limit), cos)


class FisheyeLensPolynomial(_SensorFisheye):
    """``theta = -(k0 + k1 r + k2 r^2 + k3 r^3 + k4 r^4)`` with ``r`` on the sensor (mm), ``|theta| <= fov / 2``."""

    name = panorama_type = "FISHEYE_LENS_POLYNOMIAL"
    label = "fisheye lens polynomial"
    parameters = ("fisheye_polynomial_k0", "fisheye_polynomial_k1", "fisheye_polynomial_k2",
                  "fisheye_polynomial_k3", "fisheye_polynomial_k4", "fisheye_fov", "sensor_width",
                  "sensor_height", "sensor_fit")
    inputs = tuple(driven_input(f"Polynomial K{index}", f"Fisheye polynomial coefficient k{index} (panoramic)",
                                0.0, -1e9, 1e9, f"camera.data.fisheye_polynomial_k{index}")
                   for index in range(5)) + (_FOV,)

    def directions(self, lens, camera, x, y):
        a, c = self.sensor_offsets(camera, x, y)
        r = np.hypot(a, c)
        k = [getattr(lens, f"fisheye_polynomial_k{index}") for index in range(5)]
        theta = -(k[0] + k[1] * r + k[2] * r ** 2 + k[3] * r ** 3 + k[4] * r ** 4)
        return _radial(a, c, theta), np.abs(theta) <= 0.5 * lens.fisheye_fov

    def pixel_terms(self, pixels):
        g, f = pixels.graph, pixels.frame
        offsets = self.scaled_offsets(pixels, 1.0)
        r = g.vector_math("Polynomial r", "LENGTH", offsets, output=1, frame=f)
        minus_theta: Operand = group_input("Polynomial K4")
        for index in (3, 2, 1, 0):  # Horner: -theta = k0 + r (k1 + r (k2 + r (k3 + r k4)))
            minus_theta = g.math(f"Polynomial Horner {index}", "MULTIPLY_ADD", r, minus_theta,
                                 group_input(f"Polynomial K{index}"), frame=f)
        cos = g.math("Polynomial cos", "COSINE", minus_theta, frame=f)
        size = g.math("Polynomial |theta|", "ABSOLUTE", minus_theta, frame=f)
        return self.over(pixels, self.inside(pixels, size, self.half_fov(pixels)), cos)


class CentralCylindrical(Panoramic):
    """``lon = u_min + x (u_max - u_min)``, ``h = (v_min + y (v_max - v_min)) / radius``;
    the ray ``(sin lon, h, -cos lon)``, ``cos = cos(lon) / sqrt(1 + h^2)``."""

    name = panorama_type = "CENTRAL_CYLINDRICAL"
    label = "central cylindrical"
    parameters = ("central_cylindrical_range_u_min", "central_cylindrical_range_u_max",
                  "central_cylindrical_range_v_min", "central_cylindrical_range_v_max",
                  "central_cylindrical_radius")
    inputs = tuple(driven_input(label, f"Central cylindrical {label.lower()} (panoramic)", default, low, 1e6,
                                f"camera.data.{prop}")
                   for label, prop, default, low in (
                       ("Cylinder U Min", "central_cylindrical_range_u_min", -math.pi, -1e6),
                       ("Cylinder U Max", "central_cylindrical_range_u_max", math.pi, -1e6),
                       ("Cylinder V Min", "central_cylindrical_range_v_min", -1.0, -1e6),
                       ("Cylinder V Max", "central_cylindrical_range_v_max", 1.0, -1e6),
                       ("Cylinder Radius", "central_cylindrical_radius", 1.0, 1e-9)))

    def directions(self, lens, camera, x, y):
        lon = lens.central_cylindrical_range_u_min + x * (
            lens.central_cylindrical_range_u_max - lens.central_cylindrical_range_u_min)
        h = (lens.central_cylindrical_range_v_min + y * (
            lens.central_cylindrical_range_v_max - lens.central_cylindrical_range_v_min)
             ) / lens.central_cylindrical_radius
        lon, h = np.broadcast_arrays(lon, h)
        return np.stack([np.sin(lon), h, -np.cos(lon)], axis=-1), True

    def pixel_terms(self, pixels):
        g, c, f = pixels.graph, pixels.constants_frame, pixels.frame
        radius = group_input("Cylinder Radius")
        u_span = g.math("Cylinder U Span", "SUBTRACT", group_input("Cylinder U Max"), group_input("Cylinder U Min"),
                        frame=c)
        v_span = g.math("Cylinder V Span", "DIVIDE",
                        g.math("Cylinder V Range", "SUBTRACT", group_input("Cylinder V Max"),
                               group_input("Cylinder V Min"), frame=c), radius, frame=c)
        v_min = g.math("Cylinder V Min / Radius", "DIVIDE", group_input("Cylinder V Min"), radius, frame=c)
        coordinates = self.affine(pixels, (u_span, v_span), (group_input("Cylinder U Min"), v_min))
        split = g.separate("Cylinder lon, h", coordinates, frame=f)
        cos_lon = g.math("Cylinder cos(lon)", "COSINE", split[0], frame=f)
        root = g.math("sqrt(1 + h^2)", "SQRT", g.math("1 + h^2", "MULTIPLY_ADD", split[1], split[1], 1.0, frame=f),
                      frame=f)
        return self.over(pixels, root, cos_lon)


PANORAMIC: tuple[Panoramic, ...] = (
    Equirectangular(), EquiangularCubemapFace(), Mirrorball(), FisheyeEquidistant(), FisheyeEquisolid(),
    FisheyeLensPolynomial(), CentralCylindrical(),
)
"""Every panorama type of Blender 4.5-5.3."""
PANORAMA_TYPE_INPUTS = (_TYPE,)
"""The Panorama Type input: shared by the types, so declared once (see :data:`projections.VARIANT_INPUTS`)."""
