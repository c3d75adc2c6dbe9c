"""PNG previews: distance and depth side by side on one scale, viridis, with a scale bar. Imports no bpy.

Everything is numpy plus zlib, so previews work inside Blender's own Python
(no matplotlib, no Pillow). Pixels that carry no surface (0, negative,
non-finite, or Cycles' 1e10 background) are drawn grey.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

BACKGROUND_LIMIT = 1e9
"""Values at or above this are background (Cycles writes 1e10 into Z where rays escape)."""

# A sixth-order polynomial fit of matplotlib's viridis (within 4/255 per channel of the original).
_VIRIDIS = np.array([
    [0.2777273272234177, 0.005407344544966578, 0.3340998053353061],
    [0.1050930431085774, 1.404613529898575, 1.384590162594685],
    [-0.3308618287255563, 0.214847559468213, 0.09509516302823659],
    [-4.634230498983486, -5.799100973351585, -19.33244095627987],
    [6.228269936347081, 14.17993336680509, 56.69055260068105],
    [4.776384997670288, -13.74514537774601, -65.35303263337234],
    [-5.435455855934631, 4.645852612178535, 26.3124352495832],
])

# 3x5 glyphs, one string of 15 bits per character, row by row.
_GLYPHS = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111", "3": "111001111001111",
    "4": "101101111001001", "5": "111100111001111", "6": "111100111101111", "7": "111001010010010",
    "8": "111101111101111", "9": "111101111001111", ".": "000000000000010", "-": "000000111000000",
    "+": "000010111010000", "e": "000111101110011", " ": "000000000000000", "A": "010101111101101",
    "C": "111100100100111", "D": "110101101101110", "E": "111100111100111", "H": "101101111101101",
    "I": "111010010010111", "N": "110101101101101", "P": "111101111100100", "S": "111100111001111",
    "T": "111010010010010", "m": "000111111101101", "F": "111100111100100", "L": "100100100100111",
    "O": "111101101101111", "W": "101101101111101",
}
_BACKGROUND_GREY = 96
_SCALE = 2  # glyph pixel size
MAX_PANEL_WIDTH = 480
"""Wider frames are subsampled in the preview (the EXRs keep every pixel)."""


def _viridis_polynomial(t: np.ndarray) -> np.ndarray:
    colour = np.zeros(t.shape + (3,))
    for coefficients in _VIRIDIS[::-1]:
        colour = colour * t[..., np.newaxis] + coefficients
    return np.clip(np.round(colour * 255.0), 0, 255).astype(np.uint8)


_VIRIDIS_LUT = _viridis_polynomial(np.linspace(0.0, 1.0, 1024))


def viridis(values: np.ndarray) -> np.ndarray:
    """RGB uint8 colours for values in [0, 1] (clipped; NaN counts as 0), from a 1024-entry table."""
    t = np.nan_to_num(np.clip(values, 0.0, 1.0), nan=0.0)
    return _VIRIDIS_LUT[np.round(t * (len(_VIRIDIS_LUT) - 1)).astype(np.intp)]


def surface_mask(values: np.ndarray) -> np.ndarray:
    """True where a pixel holds a surface value (finite, > 0, below :data:`BACKGROUND_LIMIT`)."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(values) & (values > 0) & (values < BACKGROUND_LIMIT)


def _draw_text(canvas: np.ndarray, text: str, top: int, left: int) -> None:
    for index, character in enumerate(text):
        bits = np.array([bit == "1" for bit in _GLYPHS.get(character, _GLYPHS[" "])]).reshape(5, 3)
        glyph = np.kron(bits, np.ones((_SCALE, _SCALE), dtype=bool))
        x = left + index * 4 * _SCALE
        region = canvas[top:top + glyph.shape[0], x:x + glyph.shape[1]]
        region[glyph[:region.shape[0], :region.shape[1]]] = 255


def _format(value: float) -> str:
    return f"{value:.4g}" if 1e-3 <= abs(value) < 1e5 else f"{value:.2e}"


def side_by_side(distance: np.ndarray, depth: np.ndarray, unit: str = "m") -> np.ndarray:
    """An RGB uint8 image: distance (left) and depth (right) on a shared scale, with a scale bar."""
    if distance.shape != depth.shape or distance.ndim != 2:
        raise ValueError(f"expected two HxW arrays of one shape, got {distance.shape} and {depth.shape}")
    valid = np.concatenate([distance[surface_mask(distance)], depth[surface_mask(depth)]])
    low, high = (float(valid.min()), float(valid.max())) if valid.size else (0.0, 1.0)
    span = high - low if high > low else 1.0
    zoom = max(1, int(np.ceil(160 / max(distance.shape[1], 1))))
    step = max(1, int(np.ceil(distance.shape[1] / MAX_PANEL_WIDTH)))  # large frames: every step-th pixel
    panels = []
    for image in (distance[::step, ::step], depth[::step, ::step]):
        colours = viridis((np.nan_to_num(image, nan=low) - low) / span)
        colours[~surface_mask(image)] = _BACKGROUND_GREY
        panels.append(np.kron(colours, np.ones((zoom, zoom, 1), dtype=np.uint8)))
    height, width = panels[0].shape[:2]
    gap, title, bar = 8, 8 * _SCALE, 12 * _SCALE + 10
    canvas = np.full((title + height + bar, 2 * width + gap, 3), 32, dtype=np.uint8)
    canvas[title:title + height, :width] = panels[0]
    canvas[title:title + height, width + gap:] = panels[1]
    _draw_text(canvas, "DISTANCE", 2, 2)
    _draw_text(canvas, "DEPTH", 2, width + gap + 2)
    bar_top = title + height + 4
    ramp = viridis(np.linspace(0.0, 1.0, canvas.shape[1]))
    canvas[bar_top:bar_top + 8] = ramp[np.newaxis]
    text_top = bar_top + 10
    _draw_text(canvas, _format(low), text_top, 2)
    high_text = f"{_format(high)} {unit}".strip()
    _draw_text(canvas, high_text, text_top, max(2, canvas.shape[1] - len(high_text) * 4 * _SCALE - 2))
    return canvas


def panel_beside(canvas: np.ndarray, colours: np.ndarray, title: str) -> np.ndarray:
    """``canvas`` (from :func:`side_by_side` of frames shaped like ``colours``) with one more panel on its right:
    the RGB uint8 ``colours``, subsampled and zoomed as the others, titled ``title``."""
    zoom = max(1, int(np.ceil(160 / max(colours.shape[1], 1))))
    step = max(1, int(np.ceil(colours.shape[1] / MAX_PANEL_WIDTH)))
    panel = np.kron(colours[::step, ::step], np.ones((zoom, zoom, 1), dtype=np.uint8))
    gap, title_height = 8, 8 * _SCALE
    height, width = panel.shape[:2]
    if title_height + height > canvas.shape[0]:
        raise ValueError(f"a {colours.shape[:2]} panel does not fit beside a preview of height {canvas.shape[0]}")
    wider = np.full((canvas.shape[0], canvas.shape[1] + gap + width, 3), 32, dtype=np.uint8)
    wider[:, :canvas.shape[1]] = canvas
    wider[title_height:title_height + height, canvas.shape[1] + gap:] = panel
    _draw_text(wider, title, 2, canvas.shape[1] + gap + 2)
    return wider


def write_png(path: str | Path, pixels: np.ndarray) -> None:
    """Write an HxWx3 uint8 array as an 8-bit RGB PNG, an HxW uint16 array as a 16-bit grey PNG, or an HxWx3
    uint16 array as a 16-bit RGB PNG."""
    pixels = np.asarray(pixels)
    if pixels.dtype == np.uint16 and (pixels.ndim == 2 or pixels.shape[2:] == (3,)):
        rows, depth, colour = pixels.astype(">u2"), 16, 0 if pixels.ndim == 2 else 2  # PNG: 16 bits big-endian
    else:
        rows, depth, colour = np.ascontiguousarray(pixels, dtype=np.uint8), 8, 2
    height, width = rows.shape[:2]
    raw = b"".join(b"\x00" + rows[row].tobytes() for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 1))
                           + chunk(b"IEND", b""))
