"""What every image format shares: the error, the read options, the registry's entry and the final checks.
Imports no bpy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class FormatError(ValueError):
    """An image that cannot be read or written: one line naming the file and the reason."""


@dataclass(frozen=True)
class ReadOptions:
    """Which value of a file to take, where it holds several, and how integer counts become units."""

    channel: str | None = None
    """EXR: a channel's full name, a unique dotted suffix (``Depth.Z``) or ``part.channel``; PFM ``PF``: R, G, B."""
    key: str | None = None
    """.npz: the array's name."""
    dataset: str | None = None
    """HDF5: the dataset's path inside the file."""
    scale: float | None = None
    """Units per count of integer images (16-bit PNG/TIFF default 0.001, integer arrays 1); float images refuse it."""


Reader = Callable[[Path, ReadOptions], tuple[np.ndarray, str | None]]
Sizer = Callable[[Path, ReadOptions], tuple[int, int]]
Writer = Callable[[Path, np.ndarray, float], None]


@dataclass(frozen=True)
class ImageFormat:
    """One file format: its suffixes, how to read its value image and size, and (for outputs) how to write one."""

    name: str
    suffixes: tuple[str, ...]
    """Lower-case, with the dot."""
    read: Reader
    """(HxW array, row 0 = top row, any numeric dtype; an optional one-line note for the log)."""
    size: Sizer
    """(width, height), from the header where the format allows."""
    write: Writer | None = None
    """Write an HxW float array (the float is png16's scale); None for read-only formats."""
    output: str | None = None
    """The name in ``OUTPUT_FORMATS`` when the format is written."""


def pixels(path: Path, array: np.ndarray, what: str = "array") -> np.ndarray:
    """A numeric HxW (or HxWx1) array as HxW, else :class:`FormatError` naming its dtype or shape."""
    if array.dtype.kind not in "fiu":
        raise FormatError(f"{path}: {what} of dtype {array.dtype} (expected float or integer values)")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim != 2:
        raise FormatError(f"{path}: {what} of shape {array.shape} (expected HxW or HxWx1)")
    if array.size == 0:
        raise FormatError(f"{path}: empty image ({array.shape[1]}x{array.shape[0]})")
    return array


def scaled(path: Path, array: np.ndarray, options: ReadOptions, default: float) -> tuple[np.ndarray, str | None]:
    """Integer counts x scale (``options.scale``, else ``default``) as float32; float values as they are.

    A scale given for float values is refused: they already carry units, and multiplying them silently by a
    scale meant for another file would be a wrong number.
    """
    if array.dtype.kind == "f":
        if options.scale is not None:
            raise FormatError(f"{path}: holds float values ({array.dtype}); a scale applies to integer images only")
        return array, None
    scale = default if options.scale is None else options.scale
    if not (scale > 0 and np.isfinite(scale)):
        raise FormatError(f"{path}: scale must be a positive number, got {scale!r}")
    note = None
    if options.scale is None and default != 1.0:
        note = f"{array.dtype} counts x {default:g} (the default scale; give a scale for other units)"
    return (array.astype(np.float64) * scale).astype(np.float32), note


def finish(path: Path, array: np.ndarray) -> np.ndarray:
    """The image as a C-contiguous HxW float32 array; refuses empty and no-finite-value images."""
    array = np.ascontiguousarray(pixels(path, array, "image"), dtype=np.float32)
    if not np.isfinite(array).any():
        raise FormatError(f"{path}: no finite value (every pixel is NaN or infinite)")
    return array


def image_2d(path: Path, image: np.ndarray) -> np.ndarray:
    """An image to write: a numeric HxW (or HxWx1) array as float32."""
    return np.asarray(pixels(path, np.asarray(image), "image to write"), dtype=np.float32)
