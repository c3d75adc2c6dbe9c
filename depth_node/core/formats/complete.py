"""Whether an output file a job wrote is whole (``--resume`` redoes the frames whose files are not). No bpy.

A file counts as whole when it reads back: an OpenEXR decodes every part, a PNG has every chunk with its CRC,
an IEND and image data that inflates, a JSON parses, a .npy/.pfm loads, a JPEG ends with its end marker. Other
formats (the beauty in a format of the user's file) count when they are not empty.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

from . import exr, png16, read_image
from .reader import FormatError


def _exr(path: Path) -> None:
    exr.read_parts(path)


def _png(path: Path) -> None:
    chunks = png16._chunks(path, path.read_bytes())
    data = b"".join(body for kind, body in chunks if kind == b"IDAT")
    zlib.decompress(data)


def _json(path: Path) -> None:
    json.loads(path.read_text())


def _jpeg(path: Path) -> None:
    data = path.read_bytes()
    if not (data.startswith(b"\xff\xd8") and data.rstrip(b"\x00").endswith(b"\xff\xd9")):
        raise FormatError(f"{path}: truncated JPEG")


def _image(path: Path) -> None:
    read_image(path)


_CHECKS = {".exr": _exr, ".png": _png, ".json": _json, ".jpg": _jpeg, ".jpeg": _jpeg, ".npy": _image,
           ".pfm": _image}


def is_complete(path: Path) -> bool:
    """True when ``path`` exists and reads back whole (see the module docstring)."""
    if not path.is_file() or path.stat().st_size == 0:
        return False
    check = _CHECKS.get(path.suffix.lower())
    if check is None:
        return True
    try:
        check(path)
    except (FormatError, exr.ExrError, OSError, ValueError, zlib.error, UnicodeDecodeError, RuntimeError):
        return False
    return True
