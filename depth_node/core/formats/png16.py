"""16-bit grayscale PNG depth images (TUM, NYU, ScanNet...): counts x scale, 0 = no data. Imports no bpy.

Read with numpy and zlib only (Blender's Python has no Pillow): grayscale, bit depth 16, not interlaced,
all five row filters; chunk CRCs are checked. Written by :func:`depth_node.core.outputs.preview.write_png`.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from ..outputs import preview
from .reader import FormatError, ImageFormat, ReadOptions, scaled

DEFAULT_SCALE = 0.001
"""Units per count when none is given: millimetres to metres."""
MAX_COUNT = 65535
_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPES = {0: "grayscale", 2: "RGB", 3: "palette", 4: "grayscale+alpha", 6: "RGBA"}
_SUPPORTED = "supported: 16-bit grayscale, not interlaced"


def _chunks(path: Path, data: bytes) -> list[tuple[bytes, bytes]]:
    if not data.startswith(_SIGNATURE):
        raise FormatError(f"{path}: not a PNG file")
    chunks, position = [], len(_SIGNATURE)
    while position + 12 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, position)
        end = position + 12 + length
        if end > len(data):
            break
        body = data[position + 8:end - 4]
        if zlib.crc32(kind + body) != struct.unpack_from(">I", data, end - 4)[0]:
            raise FormatError(f"{path}: corrupt PNG (bad CRC in chunk {kind.decode('latin-1')})")
        chunks.append((kind, body))
        if kind == b"IEND":
            return chunks
        position = end
    raise FormatError(f"{path}: truncated PNG (no IEND chunk)")


def _header(path: Path, ihdr: bytes) -> tuple[int, int]:
    """(width, height) of a 16-bit grayscale non-interlaced PNG, else :class:`FormatError`."""
    if len(ihdr) != 13:
        raise FormatError(f"{path}: corrupt PNG (IHDR of {len(ihdr)} bytes)")
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", ihdr)
    if (depth, colour, interlace) != (16, 0, 0):
        kind = f"{depth}-bit {_COLOUR_TYPES.get(colour, f'colour type {colour}')}" + (", interlaced" * interlace)
        raise FormatError(f"{path}: {kind} PNG; {_SUPPORTED}")
    if width < 1 or height < 1:
        raise FormatError(f"{path}: empty image ({width}x{height})")
    return width, height


def _unfilter(path: Path, raw: np.ndarray, width: int, bpp: int) -> np.ndarray:
    """Undo the per-row filters of ``raw`` (H rows of 1 + width x bpp bytes); returns HxWxbpp bytes.

    None, Sub and Up rows are vectorised along the row. Average and Paeth depend on the reconstructed byte to
    the left and the row above, so images with such rows are reconstructed one anti-diagonal at a time
    (H + W numpy steps, each over every pixel of the diagonal).
    """
    height = raw.shape[0]
    types = raw[:, 0]
    if types.max(initial=0) > 4:
        raise FormatError(f"{path}: corrupt PNG (row filter {int(types.max())})")
    filtered = raw[:, 1:].reshape(height, width, bpp).astype(np.int32)
    out = np.zeros((height + 1, width + 1, bpp), dtype=np.int32)  # a zero row above and column to the left
    if types.max(initial=0) <= 2:
        for row, kind in enumerate(types):
            if kind == 0:
                out[row + 1, 1:] = filtered[row]
            elif kind == 1:
                out[row + 1, 1:] = np.cumsum(filtered[row], axis=0) & 0xFF
            else:
                out[row + 1, 1:] = (filtered[row] + out[row, 1:]) & 0xFF
        return out[1:, 1:].astype(np.uint8)
    types = types.astype(np.int32)[:, np.newaxis]
    for diagonal in range(height + width - 1):
        rows = np.arange(max(0, diagonal - width + 1), min(height - 1, diagonal) + 1)
        columns = diagonal - rows
        left, up, corner = out[rows + 1, columns], out[rows, columns + 1], out[rows, columns]
        kind = types[rows]
        estimate = left + up - corner
        distance_left, distance_up = np.abs(estimate - left), np.abs(estimate - up)
        distance_corner = np.abs(estimate - corner)
        paeth = np.where((distance_left <= distance_up) & (distance_left <= distance_corner), left,
                         np.where(distance_up <= distance_corner, up, corner))
        predicted = np.select([kind == 1, kind == 2, kind == 3, kind == 4], [left, up, (left + up) >> 1, paeth], 0)
        out[rows + 1, columns + 1] = (filtered[rows, columns] + predicted) & 0xFF
    return out[1:, 1:].astype(np.uint8)


def _read_bytes(path: Path, count: int | None = None) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read() if count is None else handle.read(count)
    except OSError as error:
        raise FormatError(f"{path}: cannot read ({error.strerror or error})") from None


def read_counts(path: Path) -> np.ndarray:
    """The HxW uint16 counts of a 16-bit grayscale PNG."""
    chunks = _chunks(path, _read_bytes(path))
    if chunks[0][0] != b"IHDR":
        raise FormatError(f"{path}: corrupt PNG (first chunk is not IHDR)")
    width, height = _header(path, chunks[0][1])
    try:
        raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    except zlib.error as error:
        raise FormatError(f"{path}: corrupt PNG (image data: {error})") from None
    if len(raw) != height * (1 + 2 * width):
        raise FormatError(f"{path}: corrupt PNG ({len(raw)} bytes of image data, expected {height * (1 + 2 * width)})")
    samples = _unfilter(path, np.frombuffer(raw, dtype=np.uint8).reshape(height, 1 + 2 * width), width, 2)
    return samples.view(">u2")[:, :, 0].astype(np.uint16)


def read(path: Path, options: ReadOptions) -> tuple[np.ndarray, str | None]:
    """Counts x scale (default 0.001); 0 (no data) stays 0.0."""
    return scaled(path, read_counts(path), options, DEFAULT_SCALE)


def size(path: Path, options: ReadOptions) -> tuple[int, int]:
    """(width, height) from the IHDR chunk (also checks the PNG is one this module reads)."""
    data = _read_bytes(path, len(_SIGNATURE) + 25)
    if not data.startswith(_SIGNATURE):
        raise FormatError(f"{path}: not a PNG file")
    if len(data) < len(_SIGNATURE) + 25 or data[12:16] != b"IHDR":
        raise FormatError(f"{path}: corrupt PNG (no IHDR chunk)")
    return _header(path, data[16:29])


def counts(path: Path, image: np.ndarray, scale: float) -> np.ndarray:
    """``round(value / scale)`` as uint16; 0 where there is no value (NaN, inf, <= 0, background).

    Values above ``65535 x scale`` are refused, never clipped or dropped (also when the count overflows a
    double). Background (at or above :data:`~depth_node.core.outputs.preview.BACKGROUND_LIMIT`, 1e9; Cycles writes
    1e10) is no data, as in the depth16 output.
    """
    if not (scale > 0 and np.isfinite(scale)):
        raise FormatError(f"{path}: png16 scale must be a positive number, got {scale!r}")
    values = np.asarray(image, dtype=np.float64)
    surface = preview.surface_mask(values)
    with np.errstate(over="ignore"):  # a surface value over a scale below ~5e-300 counts to inf: above
        rounded = np.round(np.where(surface, values, 0.0) / scale)
    above = surface & ~(rounded <= MAX_COUNT)
    valid = surface & (rounded > 0) & ~above
    if above.any():
        raise FormatError(f"{path}: {int(above.sum())} pixels above {MAX_COUNT * scale:g}, the most a 16-bit PNG holds"
                          f" at scale {scale:g} (largest {values[above].max():g}); use a larger scale")
    return np.where(valid, rounded, 0.0).astype(np.uint16)


def write(path: Path, image: np.ndarray, scale: float) -> None:
    """A 16-bit grayscale PNG of ``round(value / scale)`` (see :func:`counts`)."""
    preview.write_png(path, counts(path, image, scale))


FORMAT = ImageFormat("16-bit PNG", (".png",), read, size, write, "png16")
