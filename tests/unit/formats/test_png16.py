"""16-bit PNGs (core/formats/png16.py), written by OpenCV and by a scanline encoder with every row filter."""

from __future__ import annotations

import re
import struct
import zlib
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import pytest

from depth_node.core.formats import (
    FormatError,
    ReadOptions,
    image_size,
    read_image,
    write_image,
)

from .samples import COUNTS, DEPTH, refused


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def paeth(left: int, up: int, corner: int) -> int:
    estimate = left + up - corner
    distances = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
    return left if distances[0] <= distances[1] and distances[0] <= distances[2] else (
        up if distances[1] <= distances[2] else corner)


def filtered_png(counts: np.ndarray, filters: list[int]) -> bytes:
    """A 16-bit grey PNG whose row r is filtered with ``filters[r]`` (the PNG spec's five filters, byte by byte)."""
    header = struct.pack(">IIBBBBB", counts.shape[1], counts.shape[0], 16, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header)
            + png_chunk(b"IDAT", zlib.compress(filtered_scanlines(counts, filters))) + png_chunk(b"IEND", b""))


def filtered_scanlines(counts: np.ndarray, filters: list[int]) -> bytes:
    """The scanlines of 16-bit grey ``counts`` (2 bytes a pixel), row r filtered with ``filters[r]``."""
    rows = counts.astype(">u2").view(np.uint8).reshape(counts.shape[0], -1).astype(int)
    raw = b""
    for index, kind in enumerate(filters):
        row, prior = rows[index], rows[index - 1] if index else np.zeros_like(rows[0])
        out = []
        for byte in range(len(row)):
            left = row[byte - 2] if byte >= 2 else 0
            corner = prior[byte - 2] if byte >= 2 else 0
            predicted = [0, left, prior[byte], (left + prior[byte]) // 2, paeth(left, prior[byte], corner)][kind]
            out.append((row[byte] - predicted) % 256)
        raw += bytes([kind, *out])
    return raw


SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chunk(kind: bytes, body: bytes, length: int | None = None) -> bytes:
    return (struct.pack(">I", len(body) if length is None else length) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body)))


def ihdr(width: int, height: int, depth: int = 16, colour: int = 0, interlace: int = 0) -> bytes:
    return chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace))


def png_file(path: Path, counts: np.ndarray | None = None, filters: list[int] | None = None, pieces: int = 1,
             header: bytes | None = None, raw: bytes | None = None, before: bytes = b"") -> Path:
    """A PNG of ``counts`` (or of ``raw`` scanlines), its zlib stream split over ``pieces`` IDAT chunks."""
    if raw is None:
        raw = filtered_scanlines(counts, filters or [0] * counts.shape[0])
    if header is None:
        header = ihdr(counts.shape[1], counts.shape[0])
    stream = zlib.compress(raw)
    step = -(-len(stream) // pieces)
    idat = b"".join(chunk(b"IDAT", stream[start:start + step]) for start in range(0, len(stream), step))
    path.write_bytes(SIGNATURE + before + header + idat + chunk(b"IEND", b""))
    return path


def decoded_by_libpng(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def test_png16_written_by_opencv(tmp_path: Path) -> None:
    assert cv2.imwrite(str(tmp_path / "d.png"), COUNTS)
    image, note = read_image(tmp_path / "d.png")
    assert np.array_equal(image, (COUNTS * 0.001).astype(np.float32))
    assert image[0, 0] == 0.0 and image[0, 3] == np.float32(65.535)
    assert note == "uint16 counts x 0.001 (the default scale; give a scale for other units)"
    image, note = read_image(tmp_path / "d.png", ReadOptions(scale=0.0002))
    assert np.array_equal(image, (COUNTS * 0.0002).astype(np.float32)) and note is None
    assert image_size(tmp_path / "d.png") == (4, 3)


def test_png16_all_five_filters(tmp_path: Path) -> None:
    counts = np.random.default_rng(5).integers(0, 65536, size=(10, 7), dtype=np.uint16)
    for filters in ([0, 1, 2, 3, 4, 0, 1, 2, 3, 4], [4, 3, 2, 1, 0, 4, 3, 2, 1, 0], [1, 2, 0, 2, 1, 0, 2, 2, 1, 0]):
        (tmp_path / "d.png").write_bytes(filtered_png(counts, filters))
        assert np.array_equal(cv2.imread(str(tmp_path / "d.png"), cv2.IMREAD_UNCHANGED), counts)  # the encoder is right
        assert np.array_equal(read_image(tmp_path / "d.png", ReadOptions(scale=1.0))[0], counts.astype(np.float32))


def test_png16_refuses_other_pngs(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "grey8.png"), COUNTS.astype(np.uint8))
    with pytest.raises(FormatError, match=r"grey8\.png: 8-bit grayscale PNG; supported: 16-bit grayscale, not "
                                          r"interlaced$"):
        read_image(tmp_path / "grey8.png")
    cv2.imwrite(str(tmp_path / "rgb16.png"), np.dstack([COUNTS] * 3))
    with pytest.raises(FormatError, match=r"rgb16\.png: 16-bit RGB PNG; supported"):
        read_image(tmp_path / "rgb16.png")
    with pytest.raises(FormatError, match=r"rgb16\.png: 16-bit RGB PNG; supported"):
        image_size(tmp_path / "rgb16.png")
    good = filtered_png(COUNTS, [0, 0, 0])
    for name, ihdr, message in (("palette.png", struct.pack(">IIBBBBB", 4, 3, 8, 3, 0, 0, 0), "8-bit palette PNG"),
                                ("interlaced.png", struct.pack(">IIBBBBB", 4, 3, 16, 0, 0, 0, 1),
                                 "16-bit grayscale, interlaced PNG")):
        (tmp_path / name).write_bytes(good[:8] + png_chunk(b"IHDR", ihdr) + good[33:])
        with pytest.raises(FormatError, match=rf"{name}: {message}; supported: 16-bit grayscale, not interlaced$"):
            read_image(tmp_path / name)


def test_png16_corrupt(tmp_path: Path) -> None:
    good = filtered_png(COUNTS, [0, 0, 0])
    (tmp_path / "d.png").write_bytes(good[:45] + bytes([good[45] ^ 1]) + good[46:])  # a byte of IDAT's data
    with pytest.raises(FormatError, match=r"d\.png: corrupt PNG \(bad CRC in chunk IDAT\)$"):
        read_image(tmp_path / "d.png")
    (tmp_path / "d.png").write_bytes(good[:-12])
    with pytest.raises(FormatError, match=r"d\.png: truncated PNG \(no IEND chunk\)$"):
        read_image(tmp_path / "d.png")
    (tmp_path / "d.png").write_bytes(b"GIF89a" + bytes(40))
    with pytest.raises(FormatError, match=r"d\.png: not a PNG file$"):
        read_image(tmp_path / "d.png")


def test_png16_output(tmp_path: Path) -> None:
    image = np.array([[0.0004, 0.00049, 1.2344, 65.535], [np.nan, np.inf, -1.0, 0.0], [1e10, 2.0, 3.0, 4.0]])
    write_image(tmp_path / "d.png", image, "png16")
    expected = np.array([[0, 0, 1234, 65535], [0, 0, 0, 0], [0, 2000, 3000, 4000]], dtype=np.uint16)
    assert np.array_equal(cv2.imread(str(tmp_path / "d.png"), cv2.IMREAD_UNCHANGED), expected)
    back, _ = read_image(tmp_path / "d.png")
    finite = expected > 0
    assert np.abs(back[finite] - image[finite]).max() <= 0.0005
    write_image(tmp_path / "cm.png", DEPTH, "png16", scale=0.01)
    back, _ = read_image(tmp_path / "cm.png", ReadOptions(scale=0.01))
    assert np.abs(back - DEPTH).max() <= 0.005 + 1e-6  # scale / 2 (4.125 -> 412, half to even), float32


@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (4, 1)])
def test_png16_one_pixel_wide_or_high(tmp_path: Path, shape: tuple[int, int]) -> None:
    counts = np.arange(1, 1 + shape[0] * shape[1], dtype=np.uint16).reshape(shape) * 1001
    assert cv2.imwrite(str(tmp_path / "d.png"), counts)
    image, _ = read_image(tmp_path / "d.png", ReadOptions(scale=1.0))
    assert np.array_equal(image, counts.astype(np.float32))
    assert image_size(tmp_path / "d.png") == (shape[1], shape[0])


@pytest.mark.parametrize("width, height", [(0, 3), (4, 0), (0, 0)])
def test_png16_with_no_pixel_is_refused(tmp_path: Path, width: int, height: int) -> None:
    path = png_file(tmp_path / "d.png", header=ihdr(width, height), raw=b"")
    for call in (read_image, image_size):
        refused(partial(call, path), rf"d\.png: empty image \({width}x{height}\)")


def test_png16_image_data_split_over_several_idat_chunks(tmp_path: Path) -> None:
    path = png_file(tmp_path / "d.png", COUNTS, [1, 2, 0], pieces=3)
    assert np.array_equal(decoded_by_libpng(path), COUNTS)  # the file is right
    assert np.array_equal(read_image(path, ReadOptions(scale=1.0))[0], COUNTS.astype(np.float32))


@pytest.mark.parametrize("filters", [[3, 3, 3], [0, 3, 1], [3, 2, 0]])
def test_png16_average_rows_without_paeth(tmp_path: Path, filters: list[int]) -> None:
    counts = np.random.default_rng(sum(filters)).integers(0, 65536, size=(3, 5), dtype=np.uint16)
    path = png_file(tmp_path / "d.png", counts, filters)
    assert np.array_equal(decoded_by_libpng(path), counts)
    assert np.array_equal(read_image(path, ReadOptions(scale=1.0))[0], counts.astype(np.float32))


@pytest.mark.parametrize("left, up, corner, predicted", [
    (8, 11, 10, 8),  # left and corner equally near the estimate 9 (up farther): left wins
    (11, 8, 10, 8),  # up and corner equally near the estimate 9 (left farther): up wins
    (40, 40, 40, 40),
])
def test_png16_paeth_ties(tmp_path: Path, left: int, up: int, corner: int, predicted: int) -> None:
    assert paeth(left, up, corner) == predicted
    # the high byte of the second pixel of row 1 is predicted from these three neighbours
    counts = np.array([[corner << 8 | 0x11, up << 8 | 0x22], [left << 8 | 0x33, 0x3C3C]], dtype=np.uint16)
    path = png_file(tmp_path / "d.png", counts, [0, 4])
    assert np.array_equal(decoded_by_libpng(path), counts)
    assert np.array_equal(read_image(path, ReadOptions(scale=1.0))[0], counts.astype(np.float32))


def test_png16_unknown_row_filter_is_refused(tmp_path: Path) -> None:
    raw = bytes([0, *range(8)]) + bytes([5, *range(8)]) + bytes([1, *range(8)])
    path = png_file(tmp_path / "d.png", header=ihdr(4, 3), raw=raw)
    refused(lambda: read_image(path), r"d\.png: corrupt PNG \(row filter 5\)")


def test_png16_image_data_of_the_wrong_length(tmp_path: Path) -> None:
    raw = filtered_scanlines(COUNTS, [0, 0, 0])  # 3 rows of 1 filter byte + 4 x 2 bytes
    assert len(raw) == 27
    path = png_file(tmp_path / "d.png", header=ihdr(4, 3), raw=raw[:-1])
    refused(lambda: read_image(path), r"d\.png: corrupt PNG \(26 bytes of image data, expected 27\)")
    path = png_file(tmp_path / "d.png", header=ihdr(4, 3), raw=raw + b"\0")
    refused(lambda: read_image(path), r"d\.png: corrupt PNG \(28 bytes of image data, expected 27\)")


def test_png16_image_data_that_does_not_inflate(tmp_path: Path) -> None:
    body = b"this is not a zlib stream"
    with pytest.raises(zlib.error) as raised:
        zlib.decompress(body)
    (tmp_path / "d.png").write_bytes(SIGNATURE + ihdr(4, 3) + chunk(b"IDAT", body) + chunk(b"IEND", b""))
    refused(lambda: read_image(tmp_path / "d.png"), re.escape(f"d.png: corrupt PNG (image data: {raised.value})"))


def test_png16_first_chunk_must_be_ihdr(tmp_path: Path) -> None:
    path = png_file(tmp_path / "d.png", COUNTS, before=chunk(b"tEXt", b"Comment\0depth in mm"))
    refused(lambda: read_image(path), r"d\.png: corrupt PNG \(first chunk is not IHDR\)")
    refused(lambda: image_size(path), r"d\.png: corrupt PNG \(no IHDR chunk\)")


def test_png16_header_of_the_wrong_size_or_cut_short(tmp_path: Path) -> None:
    good = png_file(tmp_path / "good.png", COUNTS).read_bytes()
    (tmp_path / "d.png").write_bytes(SIGNATURE + chunk(b"IHDR", good[16:28]) + good[33:])
    refused(lambda: read_image(tmp_path / "d.png"), r"d\.png: corrupt PNG \(IHDR of 12 bytes\)")
    for keep in (8, 18, 32):  # the signature only; inside IHDR; one byte short of the whole IHDR
        (tmp_path / "d.png").write_bytes(good[:keep])
        refused(lambda: image_size(tmp_path / "d.png"), r"d\.png: corrupt PNG \(no IHDR chunk\)")
    (tmp_path / "d.png").write_bytes(good[:33])
    assert image_size(tmp_path / "d.png") == (4, 3)  # the header is all the size needs
    (tmp_path / "d.png").write_bytes(b"GIF89a" + bytes(40))
    refused(lambda: image_size(tmp_path / "d.png"), r"d\.png: not a PNG file")


def test_png16_unknown_colour_type_is_named_by_its_number(tmp_path: Path) -> None:
    path = png_file(tmp_path / "d.png", COUNTS, header=ihdr(4, 3, colour=255))
    for call in (read_image, image_size):
        refused(partial(call, path), r"d\.png: 16-bit colour type 255 PNG; supported: 16-bit grayscale, not interlaced")


def test_png16_chunk_length_past_the_end_is_a_truncated_file(tmp_path: Path) -> None:
    (tmp_path / "d.png").write_bytes(SIGNATURE + ihdr(4, 3) + struct.pack(">I", 0x80000000) + b"IDAT" + bytes(40))
    refused(lambda: read_image(tmp_path / "d.png"), r"d\.png: truncated PNG \(no IEND chunk\)")


@pytest.mark.parametrize("value, count", [
    (0.001, 1),  # one count is a value, not "no data"
    (0.0025000002, 3),  # the float32 just above 0.0025: 2.5000002 counts (float32 arithmetic: 2.5 -> 2)
    (65.535, 65535),
    (1e9, 0),  # Cycles' background (at BACKGROUND_LIMIT) is no data, never "too large"
])
def test_png16_counts_at_their_boundaries(tmp_path: Path, value: float, count: int) -> None:
    image = np.full((2, 3), 1.0, dtype=np.float32)
    image[1, 2] = value
    write_image(tmp_path / "d.png", image, "png16")
    written = decoded_by_libpng(tmp_path / "d.png")
    assert written.dtype == np.uint16 and written[1, 2] == count and (written[0] == 1000).all()


def test_png16_just_below_the_background_limit_is_too_large(tmp_path: Path) -> None:
    image = np.array([[1.0, np.nextafter(np.float32(1e9), np.float32(0))]], dtype=np.float32)
    refused(lambda: write_image(tmp_path / "d.png", image, "png16"), r"d\.png: 1 pixels above 65\.535, .*")


def test_png16_a_count_beyond_any_double_is_refused_too(tmp_path: Path) -> None:
    image = np.array([[1e8]], dtype=np.float32)  # below the background limit: a surface, 1e309 counts
    refused(lambda: write_image(tmp_path / "d.png", image, "png16", scale=1e-301), r"d\.png: 1 pixels above .*")
