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
