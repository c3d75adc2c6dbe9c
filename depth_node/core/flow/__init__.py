"""Optical flow, the second ground truth: Blender's Vector pass in OpenCV pixels, with visibility. Imports no bpy.

The room has the shape of depth's: :mod:`.vector_pass` says what Blender's pass means (measured),
:mod:`.infinity` gives the flow of rays that hit nothing, :mod:`.colour` draws the preview. A frame's flow is
one :class:`Flow` per direction: ``forward`` to frame f+1, ``backward`` to f-1.

Convention of every flow here: (u, v) is the displacement, in frame f's image, of the surface point seen
through pixel centre (x, y) to where the other frame sees it with its own camera; OpenCV pixels (centres at
integer coordinates, x right, y down).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FORWARD = "forward"
BACKWARD = "backward"
DIRECTIONS: tuple[str, str] = (FORWARD, BACKWARD)
STEP = {FORWARD: 1, BACKWARD: -1}
"""The other frame of each direction, relative to f (Blender's Vector pass always refers to f-1 and f+1)."""


@dataclass
class Flow:
    """One direction of one frame: ``uv`` (H, W, 2) float32 and ``valid`` (H, W) bool."""

    uv: np.ndarray
    valid: np.ndarray

    def channels(self) -> dict[str, np.ndarray]:
        """The EXR's channels: R = u, G = v, B = valid (1.0 or 0.0)."""
        return {"R": self.uv[..., 0].astype(np.float32), "G": self.uv[..., 1].astype(np.float32),
                "B": self.valid.astype(np.float32)}


def lands_inside(uv: np.ndarray) -> np.ndarray:
    """Where pixel centre + flow falls inside the image (the pixel squares: -0.5 <= x < W - 0.5, same in y)."""
    height, width = uv.shape[:2]
    rows, columns = np.mgrid[0:height, 0:width]
    x, y = columns + uv[..., 0], rows + uv[..., 1]
    with np.errstate(invalid="ignore"):
        return (x >= -0.5) & (x < width - 0.5) & (y >= -0.5) & (y < height - 0.5)


VALID_BY_RAY_CASTS = ("1 where the point lies inside the other frame's image and is the surface seen there (decided by "
                      "ray casts); 0 elsewhere, across a camera cut, and where it cannot be decided (deforming meshes, "
                      "instances missing in the other frame, surfaces the render saw through)")


def describe(frame: int, cut: dict[str, bool], valid: str = VALID_BY_RAY_CASTS, **more: object) -> dict:
    """The sidecar's ``flow``: which frames each direction refers to (None across a camera cut), the convention,
    what ``valid`` means, and ``more`` (what a converted pass says of itself)."""
    return {"forward_frame": None if cut[FORWARD] else frame + 1,
            "backward_frame": None if cut[BACKWARD] else frame - 1,
            "convention": "u, v in this frame's OpenCV pixels (x right, y down, centres at integers), from pixel "
                          "centre (x, y) to where the other frame sees the same surface point",
            "valid": valid, **more}
