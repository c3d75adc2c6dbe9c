"""Flow as a picture: the Middlebury colour wheel (Baker et al., "A Database and Evaluation Methodology for
Optical Flow", 2007; the code Sintel and most flow papers use). Imports no bpy.

Hue is the direction (u right, v down, as the image), saturation the length relative to the largest valid
one; pixels without a valid flow are black.
"""

from __future__ import annotations

import numpy as np

_SEGMENTS = ((15, (255, 0, 0), (255, 255, 0)),   # red -> yellow
             (6, (255, 255, 0), (0, 255, 0)),    # yellow -> green
             (4, (0, 255, 0), (0, 255, 255)),    # green -> cyan
             (11, (0, 255, 255), (0, 0, 255)),   # cyan -> blue
             (13, (0, 0, 255), (255, 0, 255)),   # blue -> magenta
             (6, (255, 0, 255), (255, 0, 0)))    # magenta -> red


def colour_wheel() -> np.ndarray:
    """The wheel's 55 colours (55 x 3, 0-255), from red through yellow, green, cyan, blue and magenta."""
    steps = []
    for count, start, end in _SEGMENTS:
        ramp = np.floor(255 * np.arange(count) / count)
        # A channel rising from 0 takes the ramp; one falling from 255 takes 255 minus it (Middlebury's rounding).
        steps.append(np.stack([np.full(count, float(a)) if a == b else (ramp if b > a else 255 - ramp)
                               for a, b in zip(start, end, strict=True)], axis=-1))
    return np.concatenate(steps)


def flow_to_colour(uv: np.ndarray, valid: np.ndarray, max_radius: float | None = None) -> np.ndarray:
    """(H, W, 3) uint8: ``uv`` in the colour wheel, lengths scaled by ``max_radius`` (default: the largest valid)."""
    uv = np.asarray(uv, dtype=np.float64)
    valid = np.asarray(valid, dtype=bool) & np.isfinite(uv).all(axis=-1)
    u, v = np.where(valid, uv[..., 0], 0.0), np.where(valid, uv[..., 1], 0.0)
    radius = np.hypot(u, v)
    if max_radius is None:
        max_radius = float(radius[valid].max()) if valid.any() else 0.0
    radius = radius / max_radius if max_radius > 0 else np.zeros_like(radius)
    wheel = colour_wheel()
    position = (np.arctan2(-v, -u) / np.pi + 1) / 2 * (len(wheel) - 1)  # 0 .. 54: direction (-u, -v) = 0
    lower = np.floor(position).astype(int)
    upper = (lower + 1) % len(wheel)
    weight = (position - lower)[..., None]
    colour = ((1 - weight) * wheel[lower] + weight * wheel[upper]) / 255
    saturation = np.clip(radius, 0.0, 1.0)[..., None]
    colour = 1 - saturation * (1 - colour)  # the centre is white, the rim the full colour
    colour = np.where((radius > 1)[..., None], colour * 0.75, colour)  # beyond the scale: darker
    return np.where(valid[..., None], np.floor(255 * colour), 0).astype(np.uint8)
