"""OpenEXR files, with the official OpenEXR bindings. Imports no bpy.

Two layers: the files the jobs write and check (single-channel float EXRs, structure checks that catch a
truncated file, multi-part reading), and ``convert``'s depth input format: one channel, RGB(A) (R),
Blender's multilayer files and multi-part files. Channels are named ``part.channel`` in a multi-part file
and by their own name otherwise; Blender's "OpenEXR MultiLayer" output names them ``ViewLayer.Depth.Z``,
``ViewLayer.Mist.Z``, ``ViewLayer.Combined.R``...

OpenEXR is imported on first use: Blender's bundled Python does not ship it,
and the node itself never needs it.
"""

from __future__ import annotations

import mmap
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from .reader import FormatError, ImageFormat, ReadOptions

if TYPE_CHECKING:
    from ..flow.vector_pass import RenderedPass

_MAGIC = 20000630
_LINES_PER_CHUNK = {0: 1, 1: 1, 2: 1, 3: 16, 4: 32, 5: 16, 6: 32, 7: 32, 8: 32, 9: 256}
"""Scanlines per chunk for each compression (NONE, RLE, ZIPS, ZIP, PIZ, PXR24, B44, B44A, DWAA, DWAB)."""


class ExrError(ValueError):
    """An EXR file that is missing, unreadable or not the expected layout."""


class ExrDecodeError(ExrError):
    """OpenEXR could not decode the file (corrupt pixel data, or not an EXR at all)."""


def check_structure(path: str | Path) -> tuple[int, int]:
    """Check that ``path`` is a complete OpenEXR file without decoding pixels; returns (width, height).

    Reads the header and, for single-part scanline files, checks that every
    chunk of the offset table lies inside the file. Blender's own EXR reader
    crashes the whole process on some truncated files (measured: bpy 5.0.1),
    so inputs are checked with this before Blender sees them.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle, _mapped(handle) as data:
            return _check_mapped(data, path)
    except OSError as error:
        raise ExrError(f"{path}: cannot read ({error.strerror or error})") from None


@contextmanager
def _mapped(handle: BinaryIO) -> Iterator[bytes | mmap.mmap]:
    """The file's bytes without copying them (checking a 1080p frame: 0.4-1.3 ms, 2.9 ms read whole)."""
    if os.fstat(handle.fileno()).st_size == 0:
        yield b""
        return
    with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        yield data


def _check_mapped(data: bytes | mmap.mmap, path: Path) -> tuple[int, int]:
    attributes, position = _header_attributes(data, path)
    flags = struct.unpack_from("<i", data, 4)[0]
    try:
        start, _ = attributes["dataWindow"]
        xmin, ymin, xmax, ymax = struct.unpack_from("<4i", data, start)
        compression = data[attributes["compression"][0]]
    except (KeyError, struct.error):
        raise ExrError(f"{path}: truncated or corrupt OpenEXR header") from None
    width, height = xmax - xmin + 1, ymax - ymin + 1
    if width < 1 or height < 1:
        raise ExrError(f"{path}: empty data window")
    is_plain_scanline = not flags & (0x200 | 0x800 | 0x1000)  # not tiled, deep or multi-part
    if is_plain_scanline:
        if compression in _LINES_PER_CHUNK:
            chunks = -(-height // _LINES_PER_CHUNK[compression])
        else:  # newer than this table (HTJ2K, ZSTD: OpenEXR 3.4+): the table ends where the first chunk starts
            if position + 8 > len(data):
                raise ExrError(f"{path}: truncated (offset table incomplete)")
            span = struct.unpack_from("<Q", data, position)[0] - position
            chunks = span // 8
            if span % 8 or not 1 <= chunks <= height:
                raise ExrError(f"{path}: corrupt offset table (compression {compression})")
        if position + 8 * chunks > len(data):
            raise ExrError(f"{path}: truncated (offset table incomplete)")
        for offset in struct.unpack_from(f"<{chunks}Q", data, position):
            if offset + 8 > len(data):
                raise ExrError(f"{path}: truncated (a chunk lies beyond the end of the file)")
            (chunk_size,) = struct.unpack_from("<i", data, offset + 4)
            if chunk_size < 0 or offset + 8 + chunk_size > len(data):
                raise ExrError(f"{path}: truncated (a chunk lies beyond the end of the file)")
    return width, height


def _read_channels(path: str | Path) -> dict[str, np.ndarray]:
    """Every channel of a single-part EXR, each an HxW array (row 0 = top row)."""
    import OpenEXR  # noqa: PLC0415  (optional dependency, see module docstring)

    path = Path(path)
    if not path.is_file():
        raise ExrError(f"{path}: no such file")
    try:
        with OpenEXR.File(str(path), separate_channels=True) as exr_file:
            # The bindings hand over arrays that own their pixels: no copy needed (2.5 ms at 1080p).
            channels = {name: np.asarray(channel.pixels) for name, channel in exr_file.channels().items()}
    except Exception as error:  # OpenEXR raises plain exceptions for corrupt files
        raise ExrDecodeError(f"{path}: cannot read EXR ({error})") from error
    for name, pixels in channels.items():
        if pixels.ndim != 2:
            raise ExrError(f"{path}: expected scalar channels, got channel {name!r} of shape {pixels.shape}")
    return channels


def read_single_channel(path: str | Path) -> np.ndarray:
    """The only channel of a single-part EXR as an HxW float32 array (row 0 = top row)."""
    channels = _read_channels(path)
    if len(channels) != 1:
        raise ExrError(f"{path}: expected one channel, found {sorted(channels)}")
    (pixels,) = channels.values()
    return pixels.astype(np.float32, copy=False)


def read_value_channel(path: str | Path) -> np.ndarray:
    """The value an EXR carries, HxW float32: its only channel, or R of an RGB(A) image.

    R is what a compositor's Separate Color node takes from such an image; any other layout (layers,
    several channels without R) is refused rather than guessed.
    """
    channels = _read_channels(path)
    if len(channels) == 1:
        (pixels,) = channels.values()
    elif "R" in channels and set(channels) <= {"R", "G", "B", "A"}:
        pixels = channels["R"]
    else:
        raise ExrError(f"{path}: expected one channel or R, G, B(, A), found {sorted(channels)}")
    return pixels.astype(np.float32, copy=False)


_HEADER_READ = 1 << 16
OPENCV_CHANNEL = "Y"
"""OpenCV reads a lone "Y" (luminance) channel as an HxW float image; it refuses Blender's "V"."""


def _nul_after(data: bytes | mmap.mmap, start: int) -> int:
    end = data.find(b"\0", start)
    if end < 0:
        raise IndexError(start)
    return end


def _header_attributes(data: bytes | mmap.mmap, path: Path) -> tuple[dict[str, tuple[int, int]], int]:
    """``{name: (value start, value size)}`` of a single-part header, and the offset after it."""
    if len(data) < 8 or struct.unpack_from("<i", data, 0)[0] != _MAGIC:
        raise ExrError(f"{path}: not an OpenEXR file")
    return _attributes_at(data, 8, path)


def _attributes_at(data: bytes | mmap.mmap, position: int, path: Path) -> tuple[dict[str, tuple[int, int]], int]:
    """``{name: (value start, value size)}`` of the header starting at ``position``, and the offset after it."""
    attributes = {}
    try:
        while data[position] != 0:
            name_end = _nul_after(data, position)
            type_end = _nul_after(data, name_end + 1)
            (size,) = struct.unpack_from("<i", data, type_end + 1)
            start = type_end + 5
            if size < 0 or start + size > len(data):
                raise IndexError
            attributes[data[position:name_end].decode("latin-1")] = (start, size)
            position = start + size
    except (IndexError, ValueError, struct.error):
        raise ExrError(f"{path}: truncated or corrupt OpenEXR header") from None
    return attributes, position + 1


def rename_single_channel(path: str | Path, channel: str = OPENCV_CHANNEL) -> None:
    """Rename the only channel of a single-part EXR in place, by patching one header byte.

    Needs no OpenEXR module and touches no pixels: a one-letter name replaces a
    one-letter name, so every offset in the file stays valid. Other files (several
    channels, longer names) are left alone and reported with :class:`ExrError`.
    """
    path = Path(path)
    if len(channel) != 1:
        raise ValueError(f"channel must be one character (an in-place patch), got {channel!r}")
    with path.open("r+b") as handle:
        data = handle.read(_HEADER_READ)
        try:
            attributes, _ = _header_attributes(data, path)
        except ExrError:
            if len(data) < _HEADER_READ:
                raise
            data += handle.read()  # a header larger than the first read
            attributes, _ = _header_attributes(data, path)
        if "channels" not in attributes:
            raise ExrError(f"{path}: no channel list")
        start, size = attributes["channels"]
        # chlist: name\0, then 16 bytes (type, pLinear, reserved, x/y sampling) per channel; a final \0.
        if size != 2 + 16 + 1 or data[start + 1] != 0:
            raise ExrError(f"{path}: expected one channel with a one-letter name")
        if chr(data[start]) != channel:
            handle.seek(start)
            handle.write(channel.encode("ascii"))


def write_single_channel(path: str | Path, pixels: np.ndarray, channel: str = OPENCV_CHANNEL) -> None:
    """Write an HxW array as a single-channel float32 ZIP-compressed EXR."""
    import OpenEXR  # noqa: PLC0415  (optional dependency, see module docstring)

    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    OpenEXR.File(header, {channel: np.ascontiguousarray(pixels, dtype=np.float32)}).write(str(path))


def write_channels(path: str | Path, channels: dict[str, np.ndarray]) -> None:
    """Write HxW arrays as the named float32 channels of one ZIP-compressed EXR (e.g. R, G, B of a flow)."""
    import OpenEXR  # noqa: PLC0415  (optional dependency, see module docstring)

    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    OpenEXR.File(header, {name: np.ascontiguousarray(pixels, dtype=np.float32)
                          for name, pixels in channels.items()}).write(str(path))


def rgb_channels(image: np.ndarray) -> dict[str, np.ndarray]:
    """The EXR channels of an (H, W, 3) image of vectors (points, normals): R = x, G = y, B = z, float32."""
    return {name: np.ascontiguousarray(image[..., axis], dtype=np.float32) for axis, name in enumerate("RGB")}


def read_rgb(path: str | Path) -> np.ndarray:
    """An EXR of vectors written by :func:`rgb_channels` (exactly R, G, B) as (H, W, 3) float32."""
    channels = _read_channels(path)
    if sorted(channels) != ["B", "G", "R"]:
        raise ExrError(f"{path}: expected the channels R, G, B (a points or normal file), found {sorted(channels)}")
    return np.stack([channels[name] for name in "RGB"], axis=-1).astype(np.float32, copy=False)


def read_vector_pass(path: str | Path) -> np.ndarray:
    """Blender's Vector pass of a multilayer EXR (``<layer>.Vector.X`` ... ``.W``, or ``Vector.X`` ...) as
    (H, W, 4) float32 X, Y, Z, W; :class:`ExrError` for any other layout."""
    return read_rendered_pass(path).vector


def read_rendered_pass(path: str | Path) -> RenderedPass:
    """The Vector pass of a multilayer EXR with its layer's Z and the samples its header names (see
    :func:`depth_node.core.flow.vector_pass.rendered_pass`); :class:`ExrError` for any other layout."""
    from ..flow.vector_pass import rendered_pass  # noqa: PLC0415  (the flow room uses this module too)

    channels, header = read_layers(path)
    try:
        return rendered_pass(channels, header)
    except ValueError as error:
        raise ExrError(f"{path}: {error}") from None


def read_normal_pass(path: str | Path) -> np.ndarray:
    """Blender's Normal pass of a multilayer EXR (``<layer>.Normal.X`` ... ``.Z``) as (H, W, 3) float32 world-axis
    normals; :class:`ExrError` for any other layout."""
    from ..normals.normal_pass import from_channels  # noqa: PLC0415  (the normals room uses this module too)

    channels, _ = read_layers(path)
    try:
        return from_channels(channels)
    except ValueError as error:
        raise ExrError(f"{path}: {error}") from None


def read_layers(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, object]]:
    """Every channel of a (multilayer, multi-part) EXR by name, and the string attributes of its headers.

    Every part is read: 5.3 writes a render's multilayer EXR as one part per pass (``ViewLayer.Vector``...,
    the samples in the first part's header), 4.5 as one part (measured). :class:`ExrError` for a channel in
    several parts (one view per part) or a file OpenEXR cannot decode."""
    import OpenEXR  # noqa: PLC0415  (optional dependency, see module docstring)

    path, _ = _checked_parts(path)
    channels: dict[str, np.ndarray] = {}
    header: dict[str, object] = {}
    try:
        with OpenEXR.File(str(path), separate_channels=True) as exr_file:
            for part in exr_file.parts:
                header.update({key: value for key, value in part.header.items() if isinstance(value, str)})
                for name, channel in part.channels.items():
                    if name in channels:
                        raise ExrError(f"{path}: channel {name!r} is in several parts (one view per part?); "
                                       "a job reads one view's passes per file")
                    channels[name] = np.asarray(channel.pixels)
    except ExrError:
        raise
    except Exception as error:  # OpenEXR raises plain exceptions for corrupt files
        raise ExrDecodeError(f"{path}: cannot read EXR ({error})") from error
    return channels, header


_CHUNK_LEADER = {"scanlineimage": 12, "tiledimage": 24}
"""Bytes before a multi-part chunk's data: part number, y (or four tile coordinates), data size."""


def check_parts(path: str | Path) -> list[tuple[str, int, int]]:
    """Check every part of an OpenEXR file without decoding pixels; returns (name, width, height) per part.

    A single-part file is checked by :func:`check_structure` (its name is ""). In a multi-part file every
    part's offset table must lie inside the file, and each of its chunks too (the OpenEXR bindings skip the
    parts they cannot decode, with a warning on stderr, instead of failing).
    """
    path = Path(path)
    try:
        with path.open("rb") as handle, _mapped(handle) as data:
            width, height = _check_mapped(data, path)
            if not struct.unpack_from("<i", data, 4)[0] & 0x1000:
                return [("", width, height)]
            return _check_multipart(data, path)
    except OSError as error:
        raise ExrError(f"{path}: cannot read ({error.strerror or error})") from None


def _check_multipart(data: bytes | mmap.mmap, path: Path) -> list[tuple[str, int, int]]:
    parts, position = [], 8
    try:
        while data[position] != 0:
            attributes, position = _attributes_at(data, position, path)
            start, size = attributes["name"]
            name = bytes(data[start:start + size]).decode("latin-1")
            start, size = attributes["type"]
            kind = bytes(data[start:start + size]).decode("latin-1")
            xmin, ymin, xmax, ymax = struct.unpack_from("<4i", data, attributes["dataWindow"][0])
            (chunks,) = struct.unpack_from("<i", data, attributes["chunkCount"][0])
            parts.append((name, kind, xmax - xmin + 1, ymax - ymin + 1, chunks))
        position += 1
    except (KeyError, IndexError, struct.error):
        raise ExrError(f"{path}: truncated or corrupt OpenEXR header") from None
    for index, (name, kind, width, height, chunks) in enumerate(parts):
        if width < 1 or height < 1 or chunks < 0:
            raise ExrError(f"{path}: part {name!r} has an empty data window")
        if position + 8 * chunks > len(data):
            raise ExrError(f"{path}: truncated (offset table of part {name!r} incomplete)")
        leader = _CHUNK_LEADER.get(kind, 4)  # deep chunks: only the part number is checked
        for offset in struct.unpack_from(f"<{chunks}Q", data, position):
            if offset + leader > len(data) or struct.unpack_from("<i", data, offset)[0] != index:
                raise ExrError(f"{path}: truncated (a chunk of part {name!r} lies beyond the end of the file)")
            if kind in _CHUNK_LEADER:
                (chunk_size,) = struct.unpack_from("<i", data, offset + leader - 4)
                if chunk_size < 0 or offset + leader + chunk_size > len(data):
                    raise ExrError(f"{path}: truncated (a chunk of part {name!r} lies beyond the end of the file)")
        position += 8 * chunks
    return [(name, width, height) for name, _, width, height, _ in parts]


def _checked_parts(path: str | Path) -> tuple[Path, list[tuple[str, int, int]]]:
    """``path`` and its parts' (name, width, height), after :func:`check_parts` (ExrError when missing)."""
    path = Path(path)
    if not path.is_file():
        raise ExrError(f"{path}: no such file")
    return path, check_parts(path)


def read_parts(path: str | Path) -> list[tuple[str, dict[str, np.ndarray]]]:
    """Every part of an EXR (single- or multi-part) as (part name, {channel: HxW array}), after :func:`check_parts`.

    Half channels stay float16 and float channels float32 (convert as needed); row 0 is the top row.
    """
    import OpenEXR  # noqa: PLC0415  (optional dependency, see module docstring)

    path, expected = _checked_parts(path)
    try:
        with OpenEXR.File(str(path), separate_channels=True) as exr_file:
            parts = [(part.name() or "", {name: np.asarray(channel.pixels) for name, channel in part.channels.items()})
                     for part in exr_file.parts]
    except Exception as error:  # OpenEXR raises plain exceptions for corrupt files
        raise ExrDecodeError(f"{path}: cannot read EXR ({error})") from error
    if len(parts) != len(expected):
        raise ExrDecodeError(f"{path}: cannot read image (corrupt pixel data)")  # OpenEXR dropped a part
    for part, channels in parts:
        for name, pixels in channels.items():
            if pixels.ndim != 2 or pixels.dtype.kind not in "fiu":
                where = f"{part}.{name}" if part else name
                raise ExrError(f"{path}: expected scalar channels, got channel {where!r} of shape {pixels.shape}")
    return parts


def part_channels(path: str | Path) -> list[tuple[str, list[str], int, int]]:
    """(part name, channel names, width, height) of every part, from the headers (after :func:`check_parts`)."""
    import OpenEXR  # noqa: PLC0415  (optional dependency, see module docstring)

    path, sizes = _checked_parts(path)
    try:
        with OpenEXR.File(str(path), header_only=True) as exr_file:
            names = [[channel.name for channel in part.header["channels"]] for part in exr_file.parts]
    except Exception as error:  # OpenEXR raises plain exceptions for corrupt files
        raise ExrDecodeError(f"{path}: cannot read EXR ({error})") from error
    if len(names) != len(sizes):
        raise ExrDecodeError(f"{path}: cannot read {len(sizes) - len(names)} of its {len(sizes)} part headers")
    return [(name, channels, width, height) for (name, width, height), channels in zip(sizes, names, strict=True)]


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
        return part_channels(path)
    except ExrError as error:
        raise FormatError(str(error)) from None


def read(path: Path, options: ReadOptions) -> tuple[np.ndarray, str | None]:
    """The chosen channel (see :func:`_choose`), half or float, as float32."""
    headers = _headers(path)
    index, channel, note = _choose(path, [(part, channels) for part, channels, _, _ in headers], options.channel)
    if options.scale is not None:
        raise FormatError(f"{path}: holds float values; a scale applies to integer images only")
    try:
        parts = read_parts(path)
    except ExrError as error:
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
    write_single_channel(path, image)


FORMAT = ImageFormat("OpenEXR", (".exr",), read, size, write, "exr")
