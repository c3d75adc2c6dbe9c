"""Portable float maps (Middlebury, AirSim): ``Pf`` one channel, ``PF`` three. Imports no bpy.

The header is three text lines: ``Pf`` or ``PF``; width and height; a scale whose sign gives the byte
order (negative: little-endian, positive: big-endian; its size is not applied to the values). Rows are
stored bottom-up.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .reader import FormatError, ImageFormat, ReadOptions

_HEADER = re.compile(rb"(P[Ff])\s+(\d+)\s+(\d+)\s+([-+]?[0-9.]+(?:[eE][-+]?\d+)?)(?:\r\n|\s)")
_HEADER_READ = 256
_CHANNELS = {"R": 0, "G": 1, "B": 2, "0": 0, "1": 1, "2": 2}


def _header(path: Path, data: bytes) -> tuple[int, int, int, str, int]:
    """(width, height, channels, numpy byte order, data offset)."""
    match = _HEADER.match(data)
    if match is None:
        raise FormatError(f"{path}: not a PFM file (expected a 'Pf' or 'PF' header, width, height and scale)")
    kind, width, height, scale = match.groups()
    width, height, scale = int(width), int(height), float(scale)
    if width < 1 or height < 1:
        raise FormatError(f"{path}: empty image ({width}x{height})")
    if scale == 0 or not np.isfinite(scale):
        raise FormatError(f"{path}: PFM scale {scale!r} gives no byte order (negative: little-, positive: big-endian)")
    return width, height, 3 if kind == b"PF" else 1, "<" if scale < 0 else ">", match.end()


def _open(path: Path, whole: bool) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read() if whole else handle.read(_HEADER_READ)
    except OSError as error:
        raise FormatError(f"{path}: cannot read ({error.strerror or error})") from None


def read(path: Path, options: ReadOptions) -> tuple[np.ndarray, str | None]:
    """The channel as float32, rows flipped to top-down; PF: channel 0 (R) unless ``options.channel`` names one."""
    data = _open(path, whole=True)
    width, height, channels, order, start = _header(path, data)
    if options.scale is not None:
        raise FormatError(f"{path}: holds float values; a scale applies to integer images only")
    count = width * height * channels
    if len(data) - start < 4 * count:
        raise FormatError(f"{path}: truncated ({len(data) - start} bytes of pixel data, expected {4 * count})")
    pixels = np.frombuffer(data, dtype=f"{order}f4", count=count, offset=start).reshape(height, width, channels)
    note, channel = None, 0
    if channels == 3:
        if options.channel is None:
            note = "took channel R (0) of a 3-channel PF file"
        elif options.channel in _CHANNELS:
            channel = _CHANNELS[options.channel]
        else:
            raise FormatError(f"{path}: no channel {options.channel!r} in a PF file (R, G, B or 0, 1, 2)")
    return pixels[::-1, :, channel].astype(np.float32), note


def size(path: Path, options: ReadOptions) -> tuple[int, int]:
    """(width, height) from the header."""
    width, height, _, _, _ = _header(path, _open(path, whole=False))
    return width, height


def write(path: Path, image: np.ndarray, scale: float) -> None:
    """A ``Pf`` little-endian file (scale -1.0), rows bottom-up (``scale`` is unused)."""
    height, width = image.shape
    header = f"Pf\n{width} {height}\n-1.0\n".encode("ascii")
    path.write_bytes(header + np.ascontiguousarray(image[::-1], dtype="<f4").tobytes())


FORMAT = ImageFormat("PFM", (".pfm",), read, size, write, "pfm")
