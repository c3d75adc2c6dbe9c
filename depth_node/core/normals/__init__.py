"""Surface normals, the third ground truth: Cycles' Normal pass in the OpenCV camera frame. Imports no bpy.

The room has the shape of depth's and flow's: :mod:`.normal_pass` says what Blender's pass holds (measured) and
how a file names it; this module turns it into the files' convention and the 16-bit PNG encoding.

Convention of every normal here: a unit vector per pixel, in the OpenCV camera frame of the view (x right,
y down, z forward) or Blender's world axes; 0, 0, 0 where the pixel's ray hits nothing. It is the mesh's
interpolated (smooth) or face (flat) normal at the surface the pixel centre sees, turned towards the camera at
a back face as Cycles turns it (measured: the pass never shows a back face's own normal).
"""

from __future__ import annotations

import numpy as np

PNG_MAX = 65535
"""normal16's value of a component of +1 (``(n + 1) / 2 x 65535``, rounded)."""


def unit_normals(normals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(unit normals, surface)``: ``normals`` (H, W, 3) scaled to length 1 (float64) where they have a length,
    0 elsewhere (the pass's background), and that mask."""
    normals = np.asarray(normals, dtype=np.float64)
    if normals.ndim != 3 or normals.shape[2] != 3:
        raise ValueError(f"normals have 3 components per pixel (H, W, 3), got shape {normals.shape}")
    length = np.linalg.norm(normals, axis=-1, keepdims=True)
    surface = (length[..., 0] > 0) & np.isfinite(length[..., 0])
    return np.divide(normals, length, out=np.zeros_like(normals), where=surface[..., None]), surface


def _rotation(camera_to_world_opencv: object) -> np.ndarray:
    rotation = np.asarray(camera_to_world_opencv)[:3, :3]
    scales = np.linalg.norm(rotation, axis=0)
    if not np.allclose(scales, 1.0, rtol=0.0, atol=1e-6):
        raise ValueError(f"camera_to_world_opencv's rotation has columns of length {scales.round(6).tolist()}, "
                         "not 1: it is not a camera pose")
    return rotation


def to_camera(world_normals: np.ndarray, camera_to_world_opencv: object) -> np.ndarray:
    """World-axis normals (H, W, 3) in the OpenCV camera frame of the pose ``camera_to_world_opencv`` (4 x 4;
    a rotation and translation: the normals turn by its rotation's inverse), unit length, float32; 0 stays 0."""
    rotation = _rotation(camera_to_world_opencv)
    unit, surface = unit_normals(world_normals)
    camera = unit @ rotation  # row vectors: n_camera = R^T n_world
    return np.where(surface[..., None], camera, 0.0).astype(np.float32)


def from_camera(camera_normals: np.ndarray, camera_to_world_opencv: object) -> np.ndarray:
    """The inverse of :func:`to_camera`: OpenCV camera-frame normals (H, W, 3) in world axes, float32."""
    return (unit_normals(camera_normals)[0] @ _rotation(camera_to_world_opencv).T).astype(np.float32)


def to_world(world_normals: np.ndarray) -> np.ndarray:
    """The pass's world-axis normals at unit length, float32; 0 stays 0."""
    return unit_normals(world_normals)[0].astype(np.float32)


def normal16(normals: np.ndarray) -> np.ndarray:
    """Unit normals (H, W, 3) as a 16-bit RGB PNG's values: ``round((n + 1) / 2 x 65535)`` per component;
    0, 0, 0 where there is no surface (no unit normal encodes to it: it would be -1, -1, -1)."""
    unit, surface = unit_normals(normals)
    encoded = np.round((unit + 1.0) / 2.0 * PNG_MAX)  # a unit component is within 1 ulp of +-1: no overflow
    return np.where(surface[..., None], encoded, 0.0).astype(np.uint16)


def from_normal16(encoded: np.ndarray) -> np.ndarray:
    """The inverse of :func:`normal16` (to within half a step, 1.5e-5 per component): unit normals, 0 where all
    three values are 0."""
    encoded = np.asarray(encoded)
    decoded = encoded / PNG_MAX * 2.0 - 1.0
    return np.where(np.any(encoded != 0, axis=-1, keepdims=True), decoded, 0.0)

