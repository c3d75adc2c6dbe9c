"""OpenEXR depth images: one channel, RGB(A) (R), Blender's multilayer files and multi-part files. Imports no bpy.

Channels are named ``part.channel`` in a multi-part file and by their own name otherwise; Blender's
"OpenEXR MultiLayer" output names them ``ViewLayer.Depth.Z``, ``ViewLayer.Mist.Z``, ``ViewLayer.Combined.R``...
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import exr
from .reader import FormatError, ImageFormat, ReadOptions

DEPTH_NAMES = frozenset({"Z", "Depth", "depth", "distance", "Distance", "D"})
"""Names that mark a channel as depth: the whole name, a layer (pass) name, or a multi-part file's part name."""


def _channels(parts: list[tuple[str, list[str]]]) -> dict[str, tuple[int, str]]:
    """``{full name: (part index, channel name)}``; the part's name prefixes channels of multi-part files."""
    named: dict[str, tuple[int, str]] = {}
    for index, (part, channels) in enumerate(parts):
        for channel in channels:
            named[f"{part or index}.{channel}" if len(parts) > 1 else channel] = (index, channel)
    return named


def _depth_like(part: str, channel: str) -> bool:
    components = channel.split(".")
    if len(components) == 1:
        return channel in DEPTH_NAMES or part in DEPTH_NAMES
    return part in DEPTH_NAMES or any(component in DEPTH_NAMES for component in components[:-1])


def _part_suffix(part: str, channel: str, wanted: str) -> bool:
    """``wanted`` is ``part.suffix`` with a dotted suffix of ``channel`` (``left.Depth.Z``)."""
    return wanted.startswith(part + ".") and channel.endswith("." + wanted[len(part) + 1:])


def _choose(path: Path, parts: list[tuple[str, list[str]]], wanted: str | None) -> tuple[int, str, str | None]:
    """(part index, channel name, note) of the channel to read.

    ``wanted``: a full name, a unique dotted suffix (``Depth.Z``) or, in a multi-part file, ``part.suffix``.
    """
    named = _channels(parts)
    listing = ", ".join(named)
    if wanted is not None:
        if wanted in named:
            return (*named[wanted], None)
        matches = [name for name, (index, channel) in named.items() if name.endswith("." + wanted)
                   or (len(parts) > 1 and _part_suffix(parts[index][0], channel, wanted))]
        if len(matches) == 1:
            return (*named[matches[0]], f"took channel {matches[0]!r} for {wanted!r}")
        if matches:
            raise FormatError(f"{path}: channel {wanted!r} matches several ({', '.join(matches)}): give its full name")
        raise FormatError(f"{path}: no channel {wanted!r}; channels: {listing}")
    if len(named) == 1:
        return (*next(iter(named.values())), None)
    if len(parts) == 1 and "R" in named and set(named) <= {"R", "G", "B", "A"}:
        return 0, "R", f"took channel 'R' of {', '.join(sorted(named))}"
    depth = [name for name, (index, channel) in named.items() if _depth_like(parts[index][0], channel)]
    if len(depth) == 1:
        return (*named[depth[0]], f"took channel {depth[0]!r} (the only depth-like channel)")
    why = "several depth-like channels" if depth else "no depth-like channel"
    raise FormatError(f"{path}: {why} among {len(named)}: {listing}; choose one with --channel NAME")


def _headers(path: Path) -> list[tuple[str, list[str], int, int]]:
    try:
        return exr.part_channels(path)
    except exr.ExrError as error:
        raise FormatError(str(error)) from None


def read(path: Path, options: ReadOptions) -> tuple[np.ndarray, str | None]:
    """The chosen channel (see :func:`_choose`), half or float, as float32."""
    headers = _headers(path)
    index, channel, note = _choose(path, [(part, channels) for part, channels, _, _ in headers], options.channel)
    if options.scale is not None:
        raise FormatError(f"{path}: holds float values; a scale applies to integer images only")
    try:
        parts = exr.read_parts(path)
    except exr.ExrError as error:
        raise FormatError(str(error)) from None
    pixels = parts[index][1].get(channel)
    if pixels is None:
        raise FormatError(f"{path}: cannot read image (corrupt pixel data)")
    return pixels.astype(np.float32, copy=False), note


def size(path: Path, options: ReadOptions) -> tuple[int, int]:
    """(width, height) of the chosen channel's part, from the headers."""
    headers = _headers(path)
    index, _, _ = _choose(path, [(part, channels) for part, channels, _, _ in headers], options.channel)
    return headers[index][2], headers[index][3]


def write(path: Path, image: np.ndarray, scale: float) -> None:
    """A single-channel float32 EXR (``scale`` is unused)."""
    exr.write_single_channel(path, image)


FORMAT = ImageFormat("OpenEXR", (".exr",), read, size, write, "exr")
