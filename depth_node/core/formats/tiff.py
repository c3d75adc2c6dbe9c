"""TIFF depth images through the optional ``tifffile`` package: uint16 counts x scale, or float values.
Imports no bpy.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np

from .png16 import DEFAULT_SCALE
from .reader import FormatError, ImageFormat, ReadOptions, pixels, scaled


def _tifffile(path: Path) -> ModuleType:
    try:
        import tifffile  # noqa: PLC0415  (optional dependency)
    except ImportError:
        raise FormatError(f"{path}: reading TIFF needs tifffile (pip install tifffile)") from None
    return tifffile


def _open(path: Path):  # noqa: ANN202  (a tifffile.TiffFile)
    tifffile = _tifffile(path)
    try:
        return tifffile.TiffFile(path)
    except (OSError, ValueError, tifffile.TiffFileError) as error:
        raise FormatError(f"{path}: not a readable TIFF ({str(error).splitlines()[0]})") from None


def read(path: Path, options: ReadOptions) -> tuple[np.ndarray, str | None]:
    """The first image: uint16 counts x scale (default 0.001), or float values as they are."""
    with _open(path) as tiff:
        try:
            array = tiff.series[0].asarray()
        except Exception as error:  # tifffile raises many kinds for damaged files
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            if "imagecodecs" in reason:  # LZW (OpenCV's default), JPEG...: tifffile decodes only zlib without it
                compression = tiff.pages[0].compression.name
                raise FormatError(f"{path}: reading {compression}-compressed TIFF needs imagecodecs"
                                  " (pip install imagecodecs)") from None
            raise FormatError(f"{path}: cannot decode TIFF ({reason})") from None
    if array.dtype.kind != "f" and array.dtype != np.uint16:
        raise FormatError(f"{path}: TIFF of {array.dtype} samples; supported: uint16 counts or float values")
    array = pixels(path, array, "TIFF image")
    return scaled(path, array, options, DEFAULT_SCALE)


def size(path: Path, options: ReadOptions) -> tuple[int, int]:
    """(width, height) of the first page, from its tags."""
    with _open(path) as tiff:
        if not tiff.pages:
            raise FormatError(f"{path}: TIFF without images")
        page = tiff.pages[0]
        return int(page.imagewidth), int(page.imagelength)


FORMAT = ImageFormat("TIFF", (".tif", ".tiff"), read, size)
