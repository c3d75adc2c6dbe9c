"""Reading images with Blender's own loader (where the OpenEXR package is missing)."""

from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np


def read_single_channel(path: Path) -> np.ndarray:
    """The first channel of an image file as HxW float32 (row 0 = top row), through ``bpy.data.images``."""
    image = bpy.data.images.load(str(path), check_existing=False)
    try:
        width, height = image.size
        pixels = np.empty(width * height * 4, dtype=np.float32)
        image.pixels.foreach_get(pixels)
        return pixels.reshape(height, width, 4)[::-1, :, 0].copy()
    finally:
        bpy.data.images.remove(image)
