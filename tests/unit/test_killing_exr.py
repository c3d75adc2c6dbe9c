"""The EXR structure checks and readers (core/formats/exr.py) on files the OpenEXR bindings wrote, then cut or patched
where OpenEXR's file-layout document puts each field: magic and version (its flags), attributes ``name\\0
type\\0 int32 size, value`` up to an empty name (one such header per part in a multi-part file, then one more
NUL), the offset tables (one uint64 per chunk) and the chunks (``[int32 part,] int32 y, int32 size, data``).
The parser below is written from that document, not from core/formats/exr.py."""

from __future__ import annotations

import errno
import os
import re
import struct
from pathlib import Path

import numpy as np
import OpenEXR
import pytest

from depth_node.core.formats import exr

HEIGHT, WIDTH = 37, 11
IS_A_DIRECTORY = os.strerror(errno.EISDIR)


def pixels(height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """Smooth values, so that ZIP really compresses them."""
    return np.arange(height * width, dtype=np.float32).reshape(height, width) / 4


def write(path: Path, channels: dict[str, np.ndarray] | None = None, compression: str = "ZIP", **header) -> bytes:
    OpenEXR.File({"compression": getattr(OpenEXR, f"{compression}_COMPRESSION"), "type": OpenEXR.scanlineimage,
                  **header}, channels or {"Z": pixels()}).write(str(path))
    return path.read_bytes()


def multipart(path: Path, sizes: dict[str, tuple[int, int]]) -> bytes:
    """One ZIP scanline part per entry, ``{name: (width, height)}``, sharing one display window."""
    corner = (max(w for w, _ in sizes.values()) - 1, max(h for _, h in sizes.values()) - 1)
    OpenEXR.File([OpenEXR.Part({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage,
                                "displayWindow": ((0, 0), corner)}, {"Z": pixels(h, w)}, name)
                  for name, (w, h) in sizes.items()]).write(str(path))
    return path.read_bytes()


def header(data: bytes, position: int) -> tuple[dict[str, tuple[int, int, int]], int]:
    """``{name: (where the name starts, where the value starts, value size)}`` and the position after the NUL."""
    found = {}
    while data[position] != 0:
        name_end = data.index(b"\0", position)
        type_end = data.index(b"\0", name_end + 1)
        (size,) = struct.unpack_from("<i", data, type_end + 1)
        found[data[position:name_end].decode()] = (position, type_end + 5, size)
        position = type_end + 5 + size
    return found, position + 1


def headers(data: bytes) -> tuple[list[dict[str, tuple[int, int, int]]], int]:
    """Every part's header of a multi-part file and where the offset tables start."""
    parts, position = [], 8
    while data[position] != 0:
        found, position = header(data, position)
        parts.append(found)
    return parts, position + 1


def patched(data: bytes, where: int, fmt: str, *values: int) -> bytes:
    changed = bytearray(data)
    struct.pack_into(fmt, changed, where, *values)
    return bytes(changed)


def refused(check, path: Path, data: bytes, message: str) -> None:
    path.write_bytes(data)
    with pytest.raises(exr.ExrError, match=message):
        check(path)


# --- files that cannot be opened or are not there ------------------------------------------------------------------

@pytest.mark.parametrize("check", [exr.check_structure, exr.check_parts])
def test_a_folder_gives_the_systems_reason(tmp_path: Path, check) -> None:
    (tmp_path / "folder.exr").mkdir()
    with pytest.raises(exr.ExrError, match=rf"^{re.escape(str(tmp_path))}/folder\.exr: cannot read "
                                           rf"\({IS_A_DIRECTORY}\)$"):
        check(tmp_path / "folder.exr")


@pytest.mark.parametrize("read", [exr.read_single_channel, exr.read_value_channel, exr.read_parts,
                                  exr.part_channels])
def test_a_missing_file(tmp_path: Path, read) -> None:
    with pytest.raises(exr.ExrError, match=r"gone\.exr: no such file$"):
        read(tmp_path / "gone.exr")


# --- the single-part header ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("keep, message", [
    (7, r"d\.exr: not an OpenEXR file$"),  # not even the version
    (8, r"d\.exr: truncated or corrupt OpenEXR header$"),  # magic and version, then nothing
    (9, r"d\.exr: truncated or corrupt OpenEXR header$"),
])
@pytest.mark.parametrize("check", [exr.check_structure, exr.check_parts])
def test_cut_right_after_magic_and_version(tmp_path: Path, keep: int, message: str, check) -> None:
    data = write(tmp_path / "d.exr")
    assert struct.unpack_from("<i", data)[0] == 20000630  # the layout's magic number
    refused(check, tmp_path / "d.exr", data[:keep], message)


@pytest.mark.parametrize("attribute", ["dataWindow", "compression"])
def test_a_header_without_a_required_attribute(tmp_path: Path, attribute: str) -> None:
    data = write(tmp_path / "d.exr")
    name_start, _, _ = header(data, 8)[0][attribute]
    renamed = data[:name_start] + attribute[:-1].encode() + b"q" + data[name_start + len(attribute):]
    refused(exr.check_structure, tmp_path / "d.exr", renamed, r"d\.exr: truncated or corrupt OpenEXR header$")


@pytest.mark.parametrize("corner", [(-1, HEIGHT - 1), (WIDTH - 1, -1), (-1, -1)])
def test_an_empty_data_window(tmp_path: Path, corner: tuple[int, int]) -> None:
    data = write(tmp_path / "d.exr")
    _, start, size = header(data, 8)[0]["dataWindow"]
    assert size == 16 and struct.unpack_from("<4i", data, start) == (0, 0, WIDTH - 1, HEIGHT - 1)
    refused(exr.check_structure, tmp_path / "d.exr", patched(data, start + 8, "<2i", *corner),
            r"d\.exr: empty data window$")


def test_an_attribute_with_an_empty_value_is_no_corruption(tmp_path: Path) -> None:
    data = write(tmp_path / "d.exr", owner="")
    assert header(data, 8)[0]["owner"][2] == 0
    assert exr.check_structure(tmp_path / "d.exr") == (WIDTH, HEIGHT)


def test_an_attribute_with_a_negative_size_is_corrupt(tmp_path: Path) -> None:
    data = write(tmp_path / "d.exr")
    found, _ = header(data, 8)
    name = max(found, key=lambda key: found[key][0])  # the header's last attribute
    name_start, start, _ = found[name]
    # a size that would lead back to the NUL after the attribute's own name
    bad = patched(data, start - 4, "<i", name_start + len(name) - start)
    refused(exr.check_structure, tmp_path / "d.exr", bad, r"d\.exr: truncated or corrupt OpenEXR header$")


# --- single-part chunks --------------------------------------------------------------------------------------------

def test_a_tiled_file_without_compression_is_not_read_as_scanlines(tmp_path: Path) -> None:
    tiles = OpenEXR.TileDescription()
    tiles.xSize = tiles.ySize = 16
    OpenEXR.File({"compression": OpenEXR.NO_COMPRESSION, "type": OpenEXR.tiledimage, "tiles": tiles},
                 {"Z": np.full((HEIGHT, WIDTH), 1e6, dtype=np.float32)}).write(str(tmp_path / "d.exr"))
    data = (tmp_path / "d.exr").read_bytes()
    assert struct.unpack_from("<i", data, 4)[0] & 0x200  # the layout's "single tile" flag
    # as scanlines (one line a chunk) its 37 "offsets" would run into the pixels: a 1e6 is no offset in this file
    assert exr.check_structure(tmp_path / "d.exr") == (WIDTH, HEIGHT)
    assert exr.check_parts(tmp_path / "d.exr") == [("", WIDTH, HEIGHT)]


def test_an_empty_last_chunk_ending_at_the_end_of_the_file_lies_inside_it(tmp_path: Path) -> None:
    data = write(tmp_path / "d.exr")
    _, table = header(data, 8)
    offsets = struct.unpack_from("<3Q", data, table)  # 37 rows of ZIP (16 a chunk): 3 chunks
    last = max(offsets)
    cut = patched(data, last + 4, "<i", 0)[:last + 8]  # its y and a size of 0, then the end of the file
    (tmp_path / "d.exr").write_bytes(cut)
    assert exr.check_structure(tmp_path / "d.exr") == (WIDTH, HEIGHT)  # nothing lies beyond the end...
    with pytest.raises(exr.ExrDecodeError, match=r"d\.exr: cannot read image \(corrupt pixel data\)$"):
        exr.read_parts(tmp_path / "d.exr")  # ...and the decoder refuses the empty chunk


@pytest.mark.parametrize("compression", ["HTJ2K256", "HTJ2K32", "ZSTD"])
def test_a_truncated_file_in_a_newer_compression(tmp_path: Path, compression: str) -> None:
    data = write(tmp_path / "d.exr", compression=compression)
    refused(exr.check_structure, tmp_path / "d.exr", data[:-1], r"d\.exr: truncated")
    (tmp_path / "d.exr").write_bytes(data)
    assert exr.check_structure(tmp_path / "d.exr") == (WIDTH, HEIGHT), "the whole file passes"


@pytest.mark.parametrize("shift", [3, -8])
def test_a_newer_compression_with_a_corrupt_offset_table_is_refused(tmp_path: Path, shift: int) -> None:
    """Without a chunk height for the compression, the table's length comes from where the first chunk starts:
    a start that is not a whole number of 8-byte entries, or before the table ends, is refused."""
    data = write(tmp_path / "d.exr", compression="HTJ2K32")
    _, table = exr._header_attributes(data, tmp_path / "d.exr")
    first = struct.unpack_from("<Q", data, table)[0]
    start = table if shift < 0 else first + shift
    refused(exr.check_structure, tmp_path / "d.exr", patched(data, table, "<Q", start),
            r"d\.exr: corrupt offset table \(compression 11\)$")


# --- decoding ------------------------------------------------------------------------------------------------------

def test_read_single_channel_refuses_two_and_gives_float32_for_half(tmp_path: Path) -> None:
    write(tmp_path / "two.exr", {"B": pixels(), "A": pixels()})
    with pytest.raises(exr.ExrError, match=r"two\.exr: expected one channel, found \['A', 'B'\]$"):
        exr.read_single_channel(tmp_path / "two.exr")
    half = np.array([[0.1, 1000.0], [65504.0, 3.14159]], dtype=np.float16)
    write(tmp_path / "half.exr", {"Y": half})
    image = exr.read_single_channel(tmp_path / "half.exr")
    assert image.dtype == np.float32 and np.array_equal(image, half.astype(np.float32))


def unknown_flag(path: Path) -> Path:
    """A whole file whose version field sets a flag bit that no OpenEXR version defines."""
    data = write(path, {"Z": pixels(4, 5)})
    path.write_bytes(patched(data, 4, "<i", struct.unpack_from("<i", data, 4)[0] | 0x400000))
    return path


@pytest.mark.parametrize("read, opened", [
    (exr.read_single_channel, {"separate_channels": True}),
    (exr.read_parts, {"separate_channels": True}),
    (exr.part_channels, {"header_only": True}),
])
def test_what_openexr_refuses_is_reported_with_its_reason(tmp_path: Path, read, opened: dict) -> None:
    path = unknown_flag(tmp_path / "d.exr")
    assert exr.check_parts(path) == [("", 5, 4)]  # the structure is whole
    with pytest.raises(Exception) as raised:  # noqa: B017  (whatever the bindings raise is the reason given)
        OpenEXR.File(str(path), **opened)
    with pytest.raises(exr.ExrDecodeError) as error:
        read(path)
    assert str(error.value) == f"{path}: cannot read EXR ({raised.value})"


def test_damaged_pixel_data_leaves_the_header_readable(tmp_path: Path) -> None:
    path = tmp_path / "d.exr"
    data = write(path)
    _, table = header(data, 8)
    first = struct.unpack_from("<Q", data, table)[0]
    size = struct.unpack_from("<i", data, first + 4)[0]
    assert size < 16 * WIDTH * 4  # compressed: its bytes are a deflate stream
    damaged = bytearray(data)
    damaged[first + 10:first + 8 + size] = bytes(size - 2)
    path.write_bytes(bytes(damaged))
    assert exr.part_channels(path) == [("", ["Z"], WIDTH, HEIGHT)]
    with pytest.raises(exr.ExrDecodeError, match=r"d\.exr: cannot read image \(corrupt pixel data\)$"):
        exr.read_parts(path)


def test_read_parts_names_the_parts_of_multipart_files_only(tmp_path: Path) -> None:
    write(tmp_path / "one.exr")
    ((name, channels),) = exr.read_parts(tmp_path / "one.exr")
    assert name == "" and list(channels) == ["Z"] and np.array_equal(channels["Z"], pixels())
    multipart(tmp_path / "two.exr", {"left": (4, 3), "right": (2, 5)})
    parts = exr.read_parts(tmp_path / "two.exr")
    assert [name for name, _ in parts] == ["left", "right"]
    assert np.array_equal(parts[1][1]["Z"], pixels(5, 2))


# --- writing and renaming ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float16, np.float64])
def test_write_single_channel_stores_float32(tmp_path: Path, dtype: type) -> None:
    values = np.array([[0.5, 2.0, 1024.0]], dtype=dtype)
    exr.write_single_channel(tmp_path / "d.exr", values)
    with OpenEXR.File(str(tmp_path / "d.exr"), separate_channels=True) as exr_file:
        channel = exr_file.channels()["Y"]
        assert exr_file.header()["compression"] == OpenEXR.ZIP_COMPRESSION
        assert channel.pixels.dtype == np.float32 and np.array_equal(channel.pixels, values.astype(np.float32))


def test_rename_refuses_a_name_longer_than_one_letter(tmp_path: Path) -> None:
    write(tmp_path / "d.exr", {"V": pixels()})
    with pytest.raises(ValueError, match=r"^channel must be one character \(an in-place patch\), got 'YY'$"):
        exr.rename_single_channel(tmp_path / "d.exr", "YY")


def test_rename_with_a_header_larger_than_the_first_read(tmp_path: Path) -> None:
    data = write(tmp_path / "d.exr", {"V": pixels()}, comments="a long comment " * 5000)
    assert header(data, 8)[1] > 1 << 16  # the header alone is over 64 KiB
    exr.rename_single_channel(tmp_path / "d.exr")
    with OpenEXR.File(str(tmp_path / "d.exr"), separate_channels=True) as exr_file:
        assert list(exr_file.channels()) == ["Y"] and np.array_equal(exr_file.channels()["Y"].pixels, pixels())


@pytest.mark.parametrize("size", [100, 70000])  # within and beyond the first read
def test_rename_refuses_what_is_not_an_exr(tmp_path: Path, size: int) -> None:
    (tmp_path / "d.exr").write_bytes(b"\x89PNG" + bytes(size))
    with pytest.raises(exr.ExrError, match=r"d\.exr: not an OpenEXR file$"):
        exr.rename_single_channel(tmp_path / "d.exr")


def test_rename_refuses_a_header_without_a_channel_list(tmp_path: Path) -> None:
    data = write(tmp_path / "d.exr", {"V": pixels()})
    name_start, _, _ = header(data, 8)[0]["channels"]
    (tmp_path / "d.exr").write_bytes(data[:name_start] + b"chanelsX" + data[name_start + 8:])
    with pytest.raises(exr.ExrError, match=r"d\.exr: no channel list$"):
        exr.rename_single_channel(tmp_path / "d.exr")


# --- multi-part files ----------------------------------------------------------------------------------------------

SIZES = {"a": (WIDTH, HEIGHT), "b": (1, 1)}


def test_multipart_cut_between_or_inside_part_headers(tmp_path: Path) -> None:
    data = multipart(tmp_path / "m.exr", SIZES)
    _, end_of_a = header(data, 8)
    message = r"m\.exr: truncated or corrupt OpenEXR header$"
    refused(exr.check_parts, tmp_path / "m.exr", data[:end_of_a], message)  # after part a's header: no NUL, no b
    refused(exr.check_parts, tmp_path / "m.exr", data[:end_of_a + 20], message)  # inside part b's header


def test_multipart_header_without_a_chunk_count(tmp_path: Path) -> None:
    data = multipart(tmp_path / "m.exr", SIZES)
    (part_a, part_b), _ = headers(data)
    name_start, _, _ = part_b["chunkCount"]
    renamed = data[:name_start] + b"chunkCounq" + data[name_start + 10:]
    refused(exr.check_parts, tmp_path / "m.exr", renamed, r"m\.exr: truncated or corrupt OpenEXR header$")


@pytest.mark.parametrize("field, fmt, value", [
    ("dataWindow", "<i", -1),  # part b's xmax: width 0
    ("dataWindow+4", "<i", -1),  # part b's ymax: height 0
    ("chunkCount", "<i", -1),
])
def test_multipart_empty_part(tmp_path: Path, field: str, fmt: str, value: int) -> None:
    data = multipart(tmp_path / "m.exr", SIZES)
    (_, part_b), _ = headers(data)
    name, _, extra = field.partition("+")
    _, start, _ = part_b[name]
    where = start + (8 if name == "dataWindow" else 0) + int(extra or 0)
    refused(exr.check_parts, tmp_path / "m.exr", patched(data, where, fmt, value),
            r"m\.exr: part 'b' has an empty data window$")


def test_multipart_empty_last_chunk_ending_at_the_end_of_the_file_lies_inside_it(tmp_path: Path) -> None:
    data = multipart(tmp_path / "m.exr", SIZES)
    _, tables = headers(data)
    (chunk_b,) = struct.unpack_from("<Q", data, tables + 8 * 3)  # after part a's three offsets
    assert struct.unpack_from("<2i", data, chunk_b) == (1, 0)  # part 1, y 0
    (tmp_path / "m.exr").write_bytes(patched(data, chunk_b + 8, "<i", 0)[:chunk_b + 12])
    assert exr.check_parts(tmp_path / "m.exr") == [("a", WIDTH, HEIGHT), ("b", 1, 1)]


def retyped(data: bytes, part: int, kind: bytes) -> bytes:
    """``data`` with part ``part``'s type attribute set to ``kind``, every chunk offset moved to match."""
    parts, tables = headers(data)
    _, start, size = parts[part]["type"]
    shift = len(kind) - size
    out = bytearray(data[:start - 4] + struct.pack("<i", len(kind)) + kind + data[start + size:])
    position = tables + shift
    for found in parts:
        (count,) = struct.unpack_from("<i", data, found["chunkCount"][1])
        for index in range(count):
            (offset,) = struct.unpack_from("<Q", out, position + 8 * index)
            struct.pack_into("<Q", out, position + 8 * index, offset + shift)
        position += 8 * count
    return bytes(out)


def test_multipart_deep_part_chunks_are_checked_by_their_part_number(tmp_path: Path) -> None:
    data = retyped(multipart(tmp_path / "m.exr", SIZES), 1, b"deepscanline")
    (tmp_path / "m.exr").write_bytes(data)
    assert exr.check_parts(tmp_path / "m.exr") == [("a", WIDTH, HEIGHT), ("b", 1, 1)]
    _, tables = headers(data)
    (chunk_b,) = struct.unpack_from("<Q", data, tables + 8 * 3)
    assert struct.unpack_from("<i", data, chunk_b)[0] == 1
    refused(exr.check_parts, tmp_path / "m.exr", data[:chunk_b + 3],
            r"m\.exr: truncated \(a chunk of part 'b' lies beyond the end of the file\)$")
