"""The distance-map readers (core/formats) at their edges: one-pixel and empty images, the PFM scale's sign and
size, every PNG chunk and row-filter refusal with its exact reason, Paeth's tie rules, the png16 counts at their
boundaries, each reader's own messages (a library's text compared with what that library itself says), and the
shared scale and shape checks. Files come from each format's own tool (OpenCV, numpy, h5py, tifffile, OpenEXR)
or are built by hand from the format's specification (PNG, PFM)."""

from __future__ import annotations

import errno
import os
import re
import struct
import zlib
from functools import partial
from pathlib import Path

import cv2
import h5py
import numpy as np
import OpenEXR
import pytest
import tifffile
from test_formats import COUNTS, DEPTH, filtered_scanlines, paeth

from depth_node.core.formats import (
    DEFAULT_OPTIONS,
    FormatError,
    ReadOptions,
    image_size,
    numpy_files,
    output_suffix,
    pfm,
    png16,
    read_image,
    write_image,
)
from depth_node.core.formats.reader import finish, scaled

IS_A_DIRECTORY = os.strerror(errno.EISDIR)


def refused(call, message: str) -> str:
    """The whole FormatError text of ``call()``, checked against ``message`` (a regular expression, to its end)."""
    with pytest.raises(FormatError) as raised:
        call()
    assert re.search(message + "$", str(raised.value)), str(raised.value)
    return str(raised.value)


# --- shared: unknown suffix, output names, scale, final checks ---------------------------------------------------

def test_a_file_without_suffix_is_named_as_such(tmp_path: Path) -> None:
    (tmp_path / "depth").write_bytes(b"\0" * 8)
    refused(lambda: read_image(tmp_path / "depth"), r"depth: unknown suffix '\(none\)'; supported: \.exr, \.pfm, .*")


def test_an_unknown_output_format_is_named_for_its_suffix() -> None:
    with pytest.raises(FormatError, match=r"^output format: unknown output format 'tif'; choose one of exr, npy, "
                                          r"pfm, png16$"):
        output_suffix("tif")


@pytest.mark.parametrize("scale", [0, 0.0, -1.0, -0.001, float("nan"), float("inf"), float("-inf")])
def test_a_scale_that_is_not_a_positive_number_is_refused(tmp_path: Path, scale: float) -> None:
    assert cv2.imwrite(str(tmp_path / "d.png"), COUNTS)
    refused(lambda: read_image(tmp_path / "d.png", ReadOptions(scale=scale)),
            re.escape(f"d.png: scale must be a positive number, got {scale!r}"))


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_integer_arrays_are_counts_of_one_unit_by_default_without_a_note(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"d{suffix}"
    with path.open("wb") as handle:
        (np.save if suffix == ".npy" else np.savez)(handle, COUNTS.astype(np.int32))
    image, note = read_image(path)
    assert np.array_equal(image, COUNTS.astype(np.float32)) and note is None
    image, note = read_image(path, ReadOptions(scale=0.25))
    assert np.array_equal(image, COUNTS * np.float32(0.25)) and note is None


def test_scaled_gives_float32_counts_times_the_scale_computed_in_double() -> None:
    counts = np.array([[16777219, 3], [1, 0]], dtype=np.int64)  # 2**24 + 3: no float32 before scaling
    image, note = scaled(Path("d.npy"), counts, ReadOptions(scale=0.25), 1.0)
    assert image.dtype == np.float32 and note is None
    assert np.array_equal(image, np.array([[16777219 * 0.25, 0.75], [0.25, 0.0]], dtype=np.float32))
    image, note = scaled(Path("d.png"), np.array([[3]], dtype=np.uint16), DEFAULT_OPTIONS, 0.001)
    assert image.dtype == np.float32 and image[0, 0] == np.float32(0.003)
    assert note == "uint16 counts x 0.001 (the default scale; give a scale for other units)"


@pytest.mark.parametrize("array, message", [
    (np.zeros((2, 3, 2), dtype=np.float32), r"d\.exr: image of shape \(2, 3, 2\) \(expected HxW or HxWx1\)"),
    (np.zeros((2, 0), dtype=np.float32), r"d\.exr: empty image \(0x2\)"),
    (np.zeros((2, 2), dtype=bool), r"d\.exr: image of dtype bool \(expected float or integer values\)"),
    (np.full((1, 2), -np.inf, dtype=np.float32), r"d\.exr: no finite value \(every pixel is NaN or infinite\)"),
])
def test_finish_refuses_what_no_reader_may_return(array: np.ndarray, message: str) -> None:
    refused(lambda: finish(Path("d.exr"), array), message)


def test_finish_gives_a_contiguous_float32_hxw_image() -> None:
    fortran = np.asfortranarray(DEPTH.astype(np.float64))[:, :, np.newaxis]
    image = finish(Path("d.exr"), fortran)
    assert image.dtype == np.float32 and image.flags.c_contiguous and np.array_equal(image, DEPTH)


@pytest.mark.parametrize("read, suffix", [
    (pfm.FORMAT.read, ".pfm"), (pfm.FORMAT.size, ".pfm"), (png16.FORMAT.read, ".png"), (png16.FORMAT.size, ".png"),
    (numpy_files.NPY.read, ".npy"), (numpy_files.NPY.size, ".npy"), (numpy_files.NPZ.read, ".npz"),
])
def test_a_path_that_cannot_be_opened_gives_the_systems_reason(tmp_path: Path, read, suffix: str) -> None:
    folder = tmp_path / f"folder{suffix}"
    folder.mkdir()
    refused(lambda: read(folder, DEFAULT_OPTIONS), rf"folder\{suffix}: cannot read \({IS_A_DIRECTORY}\)")


# --- PFM -----------------------------------------------------------------------------------------------------------

def pfm_file(path: Path, image: np.ndarray, scale: str = "-1.0", kind: str = "Pf", tail: bytes = b"") -> Path:
    """Middlebury's layout: ``Pf``/``PF``, ``width height``, the scale (its sign: the byte order), rows bottom-up."""
    height, width = image.shape[:2]
    order = "<f4" if scale.startswith("-") else ">f4"
    header = f"{kind}\n{width} {height}\n{scale}\n".encode()
    path.write_bytes(header + np.ascontiguousarray(image[::-1], dtype=order).tobytes() + tail)
    return path


@pytest.mark.parametrize("shape", [(1, 1), (1, 4), (3, 1)])
@pytest.mark.parametrize("scale", ["-1.0", "1.0"])
def test_pfm_one_pixel_wide_or_high(tmp_path: Path, shape: tuple[int, int], scale: str) -> None:
    image = np.arange(1, 1 + shape[0] * shape[1], dtype=np.float32).reshape(shape) * 1.25
    path = pfm_file(tmp_path / "d.pfm", image, scale)
    assert np.array_equal(read_image(path)[0], image)
    assert image_size(path) == (shape[1], shape[0])


@pytest.mark.parametrize("width, height", [(0, 3), (4, 0), (0, 0)])
def test_pfm_with_no_pixel_is_refused(tmp_path: Path, width: int, height: int) -> None:
    (tmp_path / "d.pfm").write_bytes(f"Pf\n{width} {height}\n-1.0\n".encode() + bytes(48))
    for call in (read_image, image_size):
        refused(partial(call, tmp_path / "d.pfm"), rf"d\.pfm: empty image \({width}x{height}\)")


@pytest.mark.parametrize("scale", ["0.5", "+2.0", "1e-3", "255", "-0.25", "-3e2", "-1"])
def test_pfm_scale_gives_only_the_byte_order_never_a_factor(tmp_path: Path, scale: str) -> None:
    image, note = read_image(pfm_file(tmp_path / "d.pfm", DEPTH, scale))
    assert np.array_equal(image, DEPTH) and note is None


def test_pfm_trailing_bytes_after_the_pixels_are_ignored(tmp_path: Path) -> None:
    path = pfm_file(tmp_path / "d.pfm", DEPTH, tail=b"\n" + np.float32(99.0).tobytes())
    assert np.array_equal(read_image(path)[0], DEPTH)


def test_pfm_refusals_name_the_file(tmp_path: Path) -> None:
    path = pfm_file(tmp_path / "d.pfm", DEPTH)
    refused(lambda: read_image(path, ReadOptions(scale=0.001)),
            r"d\.pfm: holds float values; a scale applies to integer images only")
    (tmp_path / "e.pfm").write_bytes(b"P6\n4 3\n255\n" + bytes(36))
    refused(lambda: image_size(tmp_path / "e.pfm"),
            r"e\.pfm: not a PFM file \(expected a 'Pf' or 'PF' header, width, height and scale\)")


def test_pfm_writer_stores_float32_little_endian_whatever_it_is_given(tmp_path: Path) -> None:
    pfm.FORMAT.write(tmp_path / "d.pfm", DEPTH.astype(np.float64), 0.001)
    data = (tmp_path / "d.pfm").read_bytes()
    assert data[:12] == b"Pf\n4 3\n-1.0\n" and len(data) == 12 + 4 * DEPTH.size
    assert np.array_equal(np.frombuffer(data[12:], "<f4").reshape(3, 4)[::-1], DEPTH)


# --- 16-bit PNG, built byte by byte from the PNG specification ----------------------------------------------------

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


# --- NumPy ---------------------------------------------------------------------------------------------------------

def test_npz_archive_under_an_npy_suffix(tmp_path: Path) -> None:
    with (tmp_path / "d.npy").open("wb") as handle:
        np.savez(handle, depth=DEPTH)
    for call in (read_image, image_size):
        refused(partial(call, tmp_path / "d.npy"), r"d\.npy: a \.npy suffix on an \.npz archive")


def test_npy_file_under_an_npz_suffix(tmp_path: Path) -> None:
    with (tmp_path / "d.npz").open("wb") as handle:
        np.save(handle, DEPTH)
    refused(lambda: read_image(tmp_path / "d.npz"), r"d\.npz: an \.npz suffix on a \.npy file")


def test_npy_size_refuses_what_read_refuses(tmp_path: Path) -> None:
    np.save(tmp_path / "d.npy", np.zeros((3, 4, 3), dtype=np.float32))
    refused(lambda: image_size(tmp_path / "d.npy"), r"d\.npy: array of shape \(3, 4, 3\) \(expected HxW or HxWx1\)")


def test_npz_without_arrays(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz")
    refused(lambda: read_image(tmp_path / "d.npz"), r"d\.npz: holds 0 arrays \(none\); choose one with --key")


def test_npz_member_that_cannot_be_loaded(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", obj=np.array([{"depth": 1.0}], dtype=object))
    with np.load(tmp_path / "d.npz", allow_pickle=False) as archive, pytest.raises(ValueError) as raised:
        archive["obj"]
    reason = str(raised.value).splitlines()[0]
    refused(lambda: read_image(tmp_path / "d.npz"), re.escape(f"d.npz: cannot read array 'obj' ({reason})"))


def test_npz_float_values_refuse_a_scale(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", depth=DEPTH)
    refused(lambda: read_image(tmp_path / "d.npz", ReadOptions(scale=0.001)),
            r"d\.npz: holds float values \(float32\); a scale applies to integer images only")


def test_npy_writer_stores_float32_whatever_it_is_given(tmp_path: Path) -> None:
    numpy_files.NPY.write(tmp_path / "d.npy", DEPTH.astype(np.float64), 0.001)
    back = np.load(tmp_path / "d.npy")
    assert back.dtype == np.float32 and np.array_equal(back, DEPTH)


# --- HDF5 ----------------------------------------------------------------------------------------------------------

def test_hdf5_without_datasets(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "d.h5", "w") as h5file:
        h5file.create_group("empty")
    for call in (read_image, image_size):
        refused(partial(call, tmp_path / "d.h5"),
                r"d\.h5: no 2-D numeric dataset \(none\); choose one with --dataset PATH")


@pytest.mark.parametrize("wanted", ["/depth/X", "depth/X", "/depth/X/"])
def test_hdf5_dataset_path_with_or_without_slashes(tmp_path: Path, wanted: str) -> None:
    with h5py.File(tmp_path / "d.h5", "w") as h5file:
        h5file.create_dataset("depth/X", data=DEPTH)
        h5file.create_dataset("depth/Y", data=DEPTH * 2)
    image, note = read_image(tmp_path / "d.h5", ReadOptions(dataset=wanted))
    assert np.array_equal(image, DEPTH) and note is None
    assert image_size(tmp_path / "d.h5", ReadOptions(dataset=wanted)) == (4, 3)


def test_hdf5_integer_counts_are_one_unit_by_default(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "d.h5", "w") as h5file:
        h5file.create_dataset("mm", data=COUNTS)
    image, note = read_image(tmp_path / "d.h5")
    assert np.array_equal(image, COUNTS.astype(np.float32)) and note is None


def test_hdf5_float_values_refuse_a_scale(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "d.h5", "w") as h5file:
        h5file.create_dataset("depth", data=DEPTH)
    refused(lambda: read_image(tmp_path / "d.h5", ReadOptions(scale=0.001)),
            r"d\.h5: holds float values \(float32\); a scale applies to integer images only")


def test_hdf5_not_an_hdf5_file(tmp_path: Path) -> None:
    (tmp_path / "d.h5").write_bytes(b"not an HDF5 file at all" * 4)
    with pytest.raises(OSError) as raised:
        h5py.File(tmp_path / "d.h5", "r")
    reason = str(raised.value).splitlines()[0]
    for call in (read_image, image_size):
        refused(partial(call, tmp_path / "d.h5"), re.escape(f"d.h5: not a readable HDF5 file ({reason})"))


def test_hdf5_dataset_whose_compressed_data_is_damaged(tmp_path: Path) -> None:
    path = tmp_path / "d.h5"
    with h5py.File(path, "w") as h5file:
        dataset = h5file.create_dataset("depth", data=np.arange(1200, dtype=np.float32).reshape(30, 40),
                                        compression="gzip", chunks=(30, 40))
        where = dataset.id.get_chunk_info(0)
    data = bytearray(path.read_bytes())
    data[where.byte_offset + 4:where.byte_offset + where.size] = bytes(where.size - 4)  # the deflate stream zeroed
    path.write_bytes(bytes(data))
    with h5py.File(path, "r") as h5file, pytest.raises(OSError) as raised:
        h5file["depth"][()]
    reason = str(raised.value).splitlines()[0]
    refused(lambda: read_image(path), re.escape(f"d.h5: cannot read dataset '/depth' ({reason})"))
    assert image_size(path) == (40, 30)  # the shape is in the header


@pytest.mark.parametrize("data, description", [
    (np.zeros((3, 4, 3), dtype=np.uint8), r"of shape \(3, 4, 3\) and dtype uint8"),
    (np.zeros((3, 4), dtype=bool), r"of shape \(3, 4\) and dtype bool"),
])
def test_hdf5_size_of_a_dataset_that_is_no_image(tmp_path: Path, data: np.ndarray, description: str) -> None:
    with h5py.File(tmp_path / "d.h5", "w") as h5file:
        h5file.create_dataset("other", data=data)
    refused(lambda: image_size(tmp_path / "d.h5", ReadOptions(dataset="other")),
            rf"d\.h5: dataset '/other' {description} \(expected an HxW or HxWx1 numeric array\)")


# --- TIFF ----------------------------------------------------------------------------------------------------------

def test_tiff_not_a_tiff(tmp_path: Path) -> None:
    (tmp_path / "d.tif").write_bytes(b"not a TIFF file at all")
    with pytest.raises(tifffile.TiffFileError) as raised:
        tifffile.TiffFile(tmp_path / "d.tif")
    reason = str(raised.value).splitlines()[0]
    for call in (read_image, image_size):
        refused(partial(call, tmp_path / "d.tif"), re.escape(f"d.tif: not a readable TIFF ({reason})"))


def test_tiff_lzw_without_imagecodecs_names_the_compression(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tifffile import _imagecodecs  # noqa: PLC0415  (tifffile's pure-Python codecs: no LZW)

    monkeypatch.setattr(tifffile.tifffile, "imagecodecs", _imagecodecs)  # as where imagecodecs is not installed
    assert cv2.imwrite(str(tmp_path / "d.tif"), COUNTS)  # OpenCV's default compression: LZW
    with tifffile.TiffFile(tmp_path / "d.tif") as tiff:
        assert tiff.pages[0].compression == 5  # LZW in the TIFF 6.0 specification
    refused(lambda: read_image(tmp_path / "d.tif"),
            r"d\.tif: reading LZW-compressed TIFF needs imagecodecs \(pip install imagecodecs\)")
    assert image_size(tmp_path / "d.tif") == (4, 3)  # the tags need no codec


def test_tiff_damaged_deflate_data(tmp_path: Path) -> None:
    counts = np.arange(1200, dtype=np.uint16).reshape(30, 40)
    assert cv2.imwrite(str(tmp_path / "d.tif"), counts, [cv2.IMWRITE_TIFF_COMPRESSION, 8])
    with tifffile.TiffFile(tmp_path / "d.tif") as tiff:
        start, size = tiff.pages[0].dataoffsets[0], tiff.pages[0].databytecounts[0]
    data = bytearray((tmp_path / "d.tif").read_bytes())
    data[start + 2:start + size] = bytes(size - 2)  # after the zlib header: an invalid deflate block
    (tmp_path / "d.tif").write_bytes(bytes(data))
    with pytest.raises(Exception) as raised:  # noqa: B017,PT011  (whatever tifffile raises is the reason given)
        tifffile.imread(tmp_path / "d.tif")
    reason = str(raised.value).splitlines()[0]
    refused(lambda: read_image(tmp_path / "d.tif"), re.escape(f"d.tif: cannot decode TIFF ({reason})"))


def test_tiff_without_images(tmp_path: Path) -> None:
    (tmp_path / "d.tif").write_bytes(b"II*\0" + struct.pack("<I", 0))  # little-endian header, no first IFD
    with tifffile.TiffFile(tmp_path / "d.tif") as tiff:
        assert len(tiff.pages) == 0
    refused(lambda: image_size(tmp_path / "d.tif"), r"d\.tif: TIFF without images")


# --- OpenEXR channel choice ----------------------------------------------------------------------------------------

def exr_file(path: Path, channels: dict[str, np.ndarray]) -> Path:
    OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}, channels).write(str(path))
    return path


@pytest.mark.parametrize("others, depth", [
    (["R", "G", "B"], "Z"),  # RGB + Z, as many renderers write it
    (["R", "G", "B", "A"], "depth"),
    (["Combined.R", "Combined.G"], "Depth.Z"),  # a layer named Depth, two-part names
    (["N.X", "N.Y"], "distance.V"),
])
def test_exr_the_one_depth_like_channel_among_others(tmp_path: Path, others: list[str], depth: str) -> None:
    channels = {name: np.full(DEPTH.shape, index + 100.0, dtype=np.float32) for index, name in enumerate(others)}
    path = exr_file(tmp_path / "d.exr", {**channels, depth: DEPTH})
    image, note = read_image(path)
    assert np.array_equal(image, DEPTH) and note == f"took channel {depth!r} (the only depth-like channel)"


def test_exr_colour_channels_without_r_are_not_guessed(tmp_path: Path) -> None:
    path = exr_file(tmp_path / "d.exr", {"G": DEPTH, "B": DEPTH * 2})
    refused(lambda: read_image(path), r"d\.exr: no depth-like channel among 2: B, G; choose one with --channel NAME")
    refused(lambda: image_size(path), r"d\.exr: no depth-like channel among 2: B, G; choose one with --channel NAME")


def test_exr_a_leading_dot_names_no_channel_of_a_single_part_file(tmp_path: Path) -> None:
    path = exr_file(tmp_path / "d.exr", {"Depth.Z": DEPTH, "Combined.R": DEPTH * 2})
    refused(lambda: read_image(path, ReadOptions(channel=".Z")),
            r"d\.exr: no channel '\.Z'; channels: Combined\.R, Depth\.Z")
    image, note = read_image(path, ReadOptions(channel="Z"))
    assert np.array_equal(image, DEPTH) and note == "took channel 'Depth.Z' for 'Z'"


def test_exr_damaged_pixel_data_is_refused_but_its_header_still_gives_the_size(tmp_path: Path) -> None:
    path = exr_file(tmp_path / "d.exr", {"Z": np.arange(320, dtype=np.float32).reshape(20, 16)})
    data = bytearray(path.read_bytes())
    first = exr_first_chunk(bytes(data))
    start, size = first + 8, struct.unpack_from("<i", data, first + 4)[0]
    assert size < 16 * 16 * 4  # ZIP really compressed these 16 rows: the bytes below are a deflate stream
    data[start + 2:start + size] = bytes(size - 2)
    path.write_bytes(bytes(data))
    refused(lambda: read_image(path), r"d\.exr: cannot read image \(corrupt pixel data\)")
    assert image_size(path) == (16, 20)


def exr_first_chunk(data: bytes) -> int:
    """The offset of the first chunk of a single-part file (OpenEXR's file layout: header, offset table)."""
    position = 8
    while data[position] != 0:
        name_end = data.index(b"\0", position)
        type_end = data.index(b"\0", name_end + 1)
        position = type_end + 5 + struct.unpack_from("<i", data, type_end + 1)[0]
    return struct.unpack_from("<Q", data, position + 1)[0]
