"""Reading single-channel float EXRs with the official OpenEXR bindings. Imports no bpy.

OpenEXR is imported on first use: Blender's bundled Python does not ship it,
and the node itself never needs it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


class ExrError(ValueError):
    """An EXR file that is missing, unreadable or not the expected layout."""


def read_single_channel(path: str | Path) -> np.ndarray:
    """The only channel of a single-part EXR as an HxW float32 array (row 0 = top row)."""
    import OpenEXR  # noqa: PLC0415  (optional dependency, see module docstring)

    path = Path(path)
    if not path.is_file():
        raise ExrError(f"{path}: no such file")
    try:
        with OpenEXR.File(str(path)) as exr_file:
            channels = exr_file.channels()
            if len(channels) != 1:
                raise ExrError(f"{path}: expected one channel, found {sorted(channels)}")
            (channel,) = channels.values()
            pixels = np.array(channel.pixels, copy=True)
    except ExrError:
        raise
    except Exception as error:  # OpenEXR raises plain exceptions for corrupt files
        raise ExrError(f"{path}: cannot read EXR ({error})") from error
    if pixels.ndim != 2:
        raise ExrError(f"{path}: expected a scalar channel, got pixel array of shape {pixels.shape}")
    return pixels.astype(np.float32, copy=False)


OPENCV_CHANNEL = "Y"
"""OpenCV reads a lone "Y" (luminance) channel as an HxW float image; it refuses Blender's "V"."""


def rename_single_channel(path: str | Path, channel: str = OPENCV_CHANNEL) -> None:
    """Rename the only channel of a single-part EXR in place (pixels, header and compression kept).

    The new file is written next to the old one and moved over it, so a failure
    leaves the original intact.
    """
    import OpenEXR  # noqa: PLC0415  (optional dependency, see module docstring)

    path = Path(path)
    pixels = read_single_channel(path)
    with OpenEXR.File(str(path)) as source:
        header = dict(source.header())
    header.pop("channels", None)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        OpenEXR.File(header, {channel: pixels}).write(str(temporary))
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def write_single_channel(path: str | Path, pixels: np.ndarray, channel: str = OPENCV_CHANNEL) -> None:
    """Write an HxW array as a single-channel float32 ZIP-compressed EXR."""
    import OpenEXR  # noqa: PLC0415  (optional dependency, see module docstring)

    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    OpenEXR.File(header, {channel: np.ascontiguousarray(pixels, dtype=np.float32)}).write(str(path))
