"""The rendered frame: resolution, percentage, pixel aspect and border crop. Imports no bpy.

Blender truncates ``resolution * percentage / 100``; a border render cropped to
its region keeps the full frame's projection and cuts out pixels
``[floor(min_x * W), floor(max_x * W))`` (and the same in y, counted from the
bottom), with the products taken in float32 as Blender does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FULL_BORDER = (0.0, 1.0, 0.0, 1.0)


def _float32_floor(fraction: float, size: int) -> int:
    return int(np.floor(np.float32(fraction) * np.float32(size)))


def _check_positive(values: dict[str, float]) -> None:
    for name, value in values.items():
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a finite positive number, got {value!r}")


@dataclass(frozen=True)
class RenderFrame:
    """The render settings that decide which pixels the output image has."""

    resolution_x: int = 1920
    resolution_y: int = 1080
    resolution_percentage: int = 100
    pixel_aspect_x: float = 1.0
    pixel_aspect_y: float = 1.0
    use_border: bool = False
    crop_to_border: bool = False
    border: tuple[float, float, float, float] = FULL_BORDER
    """(min_x, max_x, min_y, max_y) as fractions of the frame, y counted from the bottom."""

    def __post_init__(self) -> None:
        _check_positive({
            "resolution_x": self.resolution_x, "resolution_y": self.resolution_y,
            "resolution_percentage": self.resolution_percentage,
            "pixel_aspect_x": self.pixel_aspect_x, "pixel_aspect_y": self.pixel_aspect_y,
        })
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
    def is_landscape(self) -> bool:
        """Blender's AUTO sensor fit test: the displayed frame is at least as wide as it is high."""
        return self.full_width * self.pixel_aspect_x >= self.full_height * self.pixel_aspect_y

    @property
    def y_scale(self) -> float:
        """``fy / fx``: how much taller a pixel's footprint is than wide."""
        return self.pixel_aspect_x / self.pixel_aspect_y

    def fit_size(self, horizontal: bool) -> float:
        """The fit dimension ``V`` in pixels (x pixel units): the width, or the displayed height."""
        if horizontal:
            return float(self.full_width)
        return self.full_height * self.pixel_aspect_y / self.pixel_aspect_x

    def principal_point(self, shift_x: float, shift_y: float, fit: float) -> tuple[float, float]:
        """``(cx, cy)`` of the output image for a lens shift (fractions of ``fit``), OpenCV convention."""
        cx = self.full_width / 2.0 - shift_x * fit - 0.5
        cy = self.full_height / 2.0 + shift_y * fit * self.y_scale - 0.5
        xmin, _, _, ymax = self.crop_box
        return cx - xmin, cy - (self.full_height - ymax)
