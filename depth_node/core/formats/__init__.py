"""Per-pixel distance/depth images in other tools' file formats, one module per format. Imports no bpy.

:func:`read_image` picks the format by the file's suffix and returns an HxW float32 array (row 0 = top row)
and an optional one-line note for the log; :func:`write_image` writes the outputs (``OUTPUT_FORMATS``).
Every failure is one :class:`FormatError` line naming the file and the reason. Non-finite pixels are kept
as they are; an image with no finite value, or no pixel, is refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import exr, hdf5, numpy_files, pfm, png16, tiff
from .reader import FormatError, ImageFormat, ReadOptions, finish, image_2d

FORMATS: tuple[ImageFormat, ...] = (exr.FORMAT, pfm.FORMAT, numpy_files.NPY, numpy_files.NPZ, png16.FORMAT,
                                    tiff.FORMAT, hdf5.FORMAT)
INPUT_SUFFIXES: tuple[str, ...] = tuple(suffix for image_format in FORMATS for suffix in image_format.suffixes)
OUTPUT_FORMATS = ("exr", "npy", "pfm", "png16")
DEFAULT_OPTIONS = ReadOptions()
"""No channel, key or dataset chosen; each format's default scale."""
_OUTPUTS = {image_format.output: image_format for image_format in FORMATS if image_format.output}

__all__ = ["DEFAULT_OPTIONS", "FORMATS", "INPUT_SUFFIXES", "OUTPUT_FORMATS", "FormatError", "ImageFormat",
           "ReadOptions", "image_size", "output_suffix", "read_image", "write_image"]


def _format_of(path: Path) -> ImageFormat:
    suffix = path.suffix.lower()
    for image_format in FORMATS:
        if suffix in image_format.suffixes:
            return image_format
    raise FormatError(f"{path}: unknown suffix {suffix or '(none)'!r}; supported: {', '.join(INPUT_SUFFIXES)}")


def _existing(path: Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: no such file")
    return path


def read_image(path: Path, options: ReadOptions = DEFAULT_OPTIONS) -> tuple[np.ndarray, str | None]:
    """(HxW float32 image, row 0 = top row; a one-line note on what was chosen, or None)."""
    path = _existing(path)
    image, note = _format_of(path).read(path, options)
    return finish(path, image), note


def image_size(path: Path, options: ReadOptions = DEFAULT_OPTIONS) -> tuple[int, int]:
    """(width, height) of the image :func:`read_image` would return, from the header where the format has one."""
    path = _existing(path)
    return _format_of(path).size(path, options)


def _output(fmt: str, where: str) -> ImageFormat:
    if fmt not in _OUTPUTS:
        raise FormatError(f"{where}: unknown output format {fmt!r}; choose one of {', '.join(OUTPUT_FORMATS)}")
    return _OUTPUTS[fmt]


def output_suffix(fmt: str) -> str:
    """The file suffix of an output format (``png16``: ``.png``)."""
    return _output(fmt, "output format").suffixes[0]


def write_image(path: Path, image: np.ndarray, fmt: str, scale: float = 0.001) -> None:
    """Write an HxW image as ``fmt`` (``scale``: png16's units per count; values above 65535 x scale are refused)."""
    path = Path(path)
    writer = _output(fmt, str(path)).write
    try:
        writer(path, image_2d(path, image), scale)
    except OSError as error:
        raise FormatError(f"{path}: cannot write ({error.strerror or error})") from None
