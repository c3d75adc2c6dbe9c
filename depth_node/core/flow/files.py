"""Flow in the files other tools read. Imports no bpy.

* EXR (the default): float32 R = u, G = v, B = valid (written by :func:`depth_node.core.formats.exr.write_channels`).
* Middlebury ``.flo`` (Sintel, FlyingThings): ``PIEH``, float 202021.25, int32 width and height, then u, v
  interleaved, float32 little-endian, rows top-down. It has no validity: the job writes it beside as an 8-bit
  grey PNG (255 = valid), like Sintel's masks.
* KITTI (16-bit RGB PNG): R = u x 64 + 2^15, G = v x 64 + 2^15, B = valid (1/0), as the KITTI devkit's
  ``flow_read`` decodes it. A flow beyond +-512 px cannot be stored: written invalid, and counted.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from ..outputs.preview import write_png

FLO_MAGIC = 202021.25
KITTI_SCALE = 64.0
KITTI_OFFSET = 2.0 ** 15


def write_flo(path: str | Path, uv: np.ndarray) -> None:
    """Middlebury ``.flo`` of (H, W, 2) ``uv``."""
    uv = np.asarray(uv, dtype="<f4")
    if uv.ndim != 3 or uv.shape[2] != 2:
        raise ValueError(f"a flow is (H, W, 2), got {uv.shape}")
    height, width = uv.shape[:2]
    Path(path).write_bytes(b"PIEH" + struct.pack("<ii", width, height) + np.ascontiguousarray(uv).tobytes())


def read_flo(path: str | Path) -> np.ndarray:
    """(H, W, 2) float32 of a Middlebury ``.flo``; ValueError for anything else."""
    data = Path(path).read_bytes()
    if len(data) < 12 or struct.unpack_from("<f", data)[0] != FLO_MAGIC:
        raise ValueError(f"{path}: not a Middlebury .flo file (no PIEH tag)")
    width, height = struct.unpack_from("<ii", data, 4)
    if width <= 0 or height <= 0 or len(data) != 12 + 8 * width * height:
        raise ValueError(f"{path}: a {width}x{height} .flo needs {12 + 8 * max(width * height, 0)} bytes, "
                         f"the file has {len(data)}")
    return np.frombuffer(data, dtype="<f4", offset=12).reshape(height, width, 2).astype(np.float32)


def kitti_image(uv: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, int]:
    """``(H x W x 3 uint16 KITTI image, pixels written invalid because their flow is beyond the range)``."""
    uv = np.asarray(uv, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        counts = np.round(np.nan_to_num(uv, nan=0.0) * KITTI_SCALE + KITTI_OFFSET)
    fits = ((counts >= 0) & (counts <= 65535)).all(axis=-1)
    valid = np.asarray(valid, dtype=bool)
    image = np.zeros(uv.shape[:2] + (3,), dtype=np.uint16)
    image[..., :2] = np.where(fits[..., None], counts, KITTI_OFFSET).astype(np.uint16)
    image[..., 2] = valid & fits
    return image, int((valid & ~fits).sum())


def write_kitti(path: str | Path, uv: np.ndarray, valid: np.ndarray) -> int:
    """A KITTI flow PNG; returns how many valid pixels could not be stored (written invalid)."""
    image, lost = kitti_image(uv, valid)
    write_png(path, image)
    return lost


def write_mask(path: str | Path, valid: np.ndarray) -> None:
    """An 8-bit grey PNG: 255 where valid, 0 elsewhere (beside a ``.flo``)."""
    grey = np.where(np.asarray(valid, dtype=bool), 255, 0).astype(np.uint8)
    write_png(path, np.repeat(grey[..., None], 3, axis=-1))
