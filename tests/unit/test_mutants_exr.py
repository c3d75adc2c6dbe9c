"""The EXR structure check (core/formats/exr.py) at its exact boundaries, for every compression it knows.

The files are written by the OpenEXR bindings; where their chunks lie is read back by the small parser
below, written from the OpenEXR file-layout document (not from core/formats/exr.py): magic, version, then
attributes ``name\\0 type\\0 int32 size, value`` up to an empty name, then the offset table, one uint64 per
chunk; a scanline chunk is ``int32 y, int32 size, data`` (multi-part: an ``int32 part`` first). The
scanlines per chunk of each compression come from the same document.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from depth_node.core.formats import exr

OpenEXR = pytest.importorskip("OpenEXR", reason="OpenEXR is a test dependency (tools/requirements-test.txt)")

# OpenEXR's "Reading and writing image files" / file layout: lines per chunk of each compression
LINES = {"NO": 1, "RLE": 1, "ZIPS": 1, "ZIP": 16, "PIZ": 32, "PXR24": 16, "B44": 32, "B44A": 32, "DWAA": 32,
         "DWAB": 256}
HEIGHT, WIDTH = 37, 11  # 37 rows: a multiple of no chunk height but 1


def attributes(data: bytes, position: int) -> tuple[dict[str, bytes], int]:
    """One header's attributes and the position after its terminating NUL."""
    found = {}
    while data[position] != 0:
        name_end = data.index(b"\0", position)
        type_end = data.index(b"\0", name_end + 1)
        (size,) = struct.unpack_from("<i", data, type_end + 1)
        found[data[position:name_end].decode()] = data[type_end + 5:type_end + 5 + size]
        position = type_end + 5 + size
    return found, position + 1


def write(path: Path, compression: str, pixels: np.ndarray, **header) -> bytes:
    OpenEXR.File({"compression": getattr(OpenEXR, f"{compression}_COMPRESSION"), "type": OpenEXR.scanlineimage,
                  **header}, {"Z": pixels}).write(str(path))
    return path.read_bytes()


def pixels(height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    return np.random.default_rng(height * width).uniform(0, 50, (height, width)).astype(np.float32)


def expect(path: Path, data: bytes, message: str | None) -> None:
    path.write_bytes(data)
    if message is None:
        assert exr.check_structure(path) == (WIDTH, HEIGHT)
    else:
        with pytest.raises(exr.ExrError, match=message):
            exr.check_structure(path)


@pytest.mark.parametrize("compression", LINES)
def test_every_compression_with_a_partial_last_chunk_is_checked_to_its_last_byte(tmp_path: Path,
                                                                                  compression: str) -> None:
    path = tmp_path / "d.exr"
    data = write(path, compression, pixels())
    header, table = attributes(data, 8)
    assert header["compression"][0] == list(LINES).index(compression)
    chunks = -(-HEIGHT // LINES[compression])
    offsets = struct.unpack_from(f"<{chunks}Q", data, table)
    last = max(offsets)
    # the table from the layout document describes the file: its last chunk ends where the file ends
    assert last + 8 + struct.unpack_from("<i", data, last + 4)[0] == len(data)
    assert struct.unpack_from("<i", data, last)[0] == (chunks - 1) * LINES[compression]  # first y of the chunk

    beyond = r"d\.exr: truncated \(a chunk lies beyond the end of the file\)$"
    expect(path, data, None)
    expect(path, data[:table + 8 * chunks - 1], r"d\.exr: truncated \(offset table incomplete\)$")
    expect(path, data[:table + 8 * chunks], beyond)
    expect(path, data[:last], beyond)  # the partial last chunk is missing entirely
    expect(path, data[:last + 6], beyond)  # its size field is cut
    expect(path, data[:last + 8], beyond)
    expect(path, data[:-1], beyond)
    expect(path, data + b"\0" * 3, None)  # trailing bytes do not make a file truncated


def test_a_data_window_away_from_the_origin_gives_its_own_size(tmp_path: Path) -> None:
    path = tmp_path / "d.exr"
    data = write(path, "ZIP", pixels(), dataWindow=((-5, -3), (WIDTH - 6, HEIGHT - 4)))
    expect(path, data, None)
    table = attributes(data, 8)[1]
    expect(path, data[:table + 8 * 3 - 1], r"offset table incomplete")


def test_a_one_pixel_image_is_not_empty(tmp_path: Path) -> None:
    path = tmp_path / "d.exr"
    write(path, "ZIP", np.full((1, 1), 3.0, dtype=np.float32))
    assert exr.check_structure(path) == (1, 1)
    assert exr.check_parts(path) == [("", 1, 1)]


def test_a_tiled_file_is_not_read_as_scanlines(tmp_path: Path) -> None:
    path = tmp_path / "d.exr"
    tiles = OpenEXR.TileDescription()
    tiles.xSize = tiles.ySize = 8
    OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.tiledimage, "tiles": tiles},
                 {"Z": pixels()}).write(str(path))
    assert struct.unpack_from("<i", path.read_bytes(), 4)[0] & 0x200  # the layout's "single tile" flag
    assert exr.check_structure(path) == (WIDTH, HEIGHT)


def test_single_part_files_are_one_unnamed_part(tmp_path: Path) -> None:
    path = tmp_path / "d.exr"
    write(path, "PIZ", pixels())
    assert exr.check_parts(path) == [("", WIDTH, HEIGHT)]


def multipart(path: Path, sizes: dict[str, tuple[int, int]], **header) -> bytes:
    corner = (max(w for w, _ in sizes.values()) - 1, max(h for _, h in sizes.values()) - 1)
    OpenEXR.File([OpenEXR.Part({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage,
                                "displayWindow": ((0, 0), corner), **header}, {"Z": pixels(h, w)}, name)
                  for name, (w, h) in sizes.items()]).write(str(path))
    return path.read_bytes()


def test_multipart_offset_tables_and_chunks_are_checked_to_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "m.exr"
    data = multipart(path, {"a": (11, 37), "b": (1, 1)})
    position, parts = 8, []
    while data[position] != 0:
        header, position = attributes(data, position)
        parts.append((header["name"].decode(), struct.unpack("<i", header["chunkCount"])[0]))
    position += 1
    assert parts == [("a", 3), ("b", 1)]
    tables = {}
    for name, count in parts:
        tables[name] = (position, struct.unpack_from(f"<{count}Q", data, position))
        position += 8 * count
    assert exr.check_parts(path) == [("a", 11, 37), ("b", 1, 1)]

    def refused(length: int, message: str) -> None:
        path.write_bytes(data[:length])
        with pytest.raises(exr.ExrError, match=message):
            exr.check_parts(path)

    start_a, _ = tables["a"]
    _, (chunk_b,) = tables["b"]
    assert chunk_b > max(tables["a"][1])  # part b's chunk is the file's last
    # cut inside the tables: part a's table is checked first
    refused(start_a + 8 * 3 - 1, r"m\.exr: truncated \(offset table of part 'a' incomplete\)$")
    refused(start_a + 8 * 3, r"m\.exr: truncated \(a chunk of part 'a' lies beyond the end of the file\)$")
    chunk = r"m\.exr: truncated \(a chunk of part 'b' lies beyond the end of the file\)$"
    refused(chunk_b + 11, chunk)  # its 12-byte leader (part, y, size) is cut
    refused(chunk_b + 12, chunk)
    refused(len(data) - 1, chunk)
    # a chunk that names another part is corrupt
    wrong = bytearray(data)
    struct.pack_into("<i", wrong, chunk_b, 0)
    path.write_bytes(bytes(wrong))
    with pytest.raises(exr.ExrError, match="a chunk of part 'b' lies beyond"):
        exr.check_parts(path)


def test_multipart_parts_away_from_the_origin_keep_their_sizes(tmp_path: Path) -> None:
    path = tmp_path / "m.exr"
    OpenEXR.File([OpenEXR.Part({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage,
                                "displayWindow": ((0, 0), (10, 36)), "dataWindow": window},
                               {"Z": pixels(h, w)}, name)
                  for name, window, (w, h) in (("a", ((-4, -2), (6, 34)), (11, 37)),
                                               ("b", ((3, 5), (4, 5)), (2, 1)))]).write(str(path))
    assert exr.check_parts(path) == [("a", 11, 37), ("b", 2, 1)]
