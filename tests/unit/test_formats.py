"""Every depth image format on a file written by its own ecosystem's tool (OpenEXR, OpenCV, tifffile, h5py,
numpy, Middlebury's PFM layout by hand), the output round trips, and every bad input with its one-line reason."""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

import cv2
import h5py
import numpy as np
import OpenEXR
import pytest
import tifffile

from depth_node.core.formats import (
    INPUT_SUFFIXES,
    OUTPUT_FORMATS,
    FormatError,
    ReadOptions,
    image_size,
    output_suffix,
    read_image,
    write_image,
)

DEPTH = np.array([[1.5, 2.25, 3.0, 4.125], [5.5, 6.0, 7.75, 8.5], [9.0, 10.5, 11.25, 12.0]], dtype=np.float32)
"""3x4 and asymmetric: a flipped or transposed read cannot pass."""
COUNTS = np.array([[0, 1, 1000, 65535], [1234, 2, 0, 40000], [7, 65534, 300, 5]], dtype=np.uint16)


# --- OpenEXR -------------------------------------------------------------------------------------------------------

def exr_file(path: Path, channels: dict[str, np.ndarray]) -> Path:
    OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}, channels).write(str(path))
    return path


def multipart_file(path: Path, parts: dict[str, dict[str, np.ndarray]]) -> Path:
    """One part per entry; parts may differ in size but share one display window (as OpenEXR requires)."""
    corner = np.array([max(next(iter(c.values())).shape[1] for c in parts.values()) - 1,
                       max(next(iter(c.values())).shape[0] for c in parts.values()) - 1], dtype=np.int32)
    display = (np.zeros(2, dtype=np.int32), corner)
    OpenEXR.File([OpenEXR.Part({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage,
                                "displayWindow": display}, channels, name)  # a header dict each: Part fills it in
                  for name, channels in parts.items()]).write(str(path))
    return path


def blender_multilayer(path: Path, depth_pass: str = "Z") -> Path:
    """Channels as Blender's "OpenEXR MultiLayer" File Output names them: half colour, float depth, half mist."""
    colour = np.full(DEPTH.shape, 0.5, dtype=np.float16)
    return exr_file(path, {"ViewLayer.Combined.R": colour, "ViewLayer.Combined.G": colour,
                           "ViewLayer.Combined.B": colour, "ViewLayer.Combined.A": colour,
                           f"ViewLayer.Depth.{depth_pass}": DEPTH, "ViewLayer.Mist.Z": (DEPTH / 20).astype(np.float16)})


@pytest.mark.parametrize("name", ["V", "Y", "Z", "anything"])
def test_exr_single_channel_of_any_name(tmp_path: Path, name: str) -> None:
    image, note = read_image(exr_file(tmp_path / "d.exr", {name: DEPTH}))
    assert image.dtype == np.float32 and np.array_equal(image, DEPTH) and note is None


def test_exr_half_channel_reads_as_float32(tmp_path: Path) -> None:
    half = np.array([[0.1, 1000.0], [65504.0, 3.14159]], dtype=np.float16)
    image, _ = read_image(exr_file(tmp_path / "d.exr", {"Z": half}))
    assert image.dtype == np.float32 and np.array_equal(image, half.astype(np.float32))


def test_exr_rgba_takes_r(tmp_path: Path) -> None:
    path = exr_file(tmp_path / "d.exr", {"R": DEPTH, "G": DEPTH * 2, "B": DEPTH * 3, "A": np.ones_like(DEPTH)})
    image, note = read_image(path)
    assert np.array_equal(image, DEPTH)
    assert note == "took channel 'R' of A, B, G, R"


def test_exr_blender_multilayer_takes_the_depth_pass(tmp_path: Path) -> None:
    image, note = read_image(blender_multilayer(tmp_path / "d.exr"))
    assert np.array_equal(image, DEPTH)
    assert note == "took channel 'ViewLayer.Depth.Z' (the only depth-like channel)"


def test_exr_blender_45_single_channel_pass_name(tmp_path: Path) -> None:
    image, note = read_image(blender_multilayer(tmp_path / "d.exr", depth_pass="V"))
    assert np.array_equal(image, DEPTH)
    assert note == "took channel 'ViewLayer.Depth.V' (the only depth-like channel)"


def test_exr_channel_by_full_name_and_by_suffix(tmp_path: Path) -> None:
    path = blender_multilayer(tmp_path / "d.exr")
    mist = (DEPTH / 20).astype(np.float16).astype(np.float32)
    image, note = read_image(path, ReadOptions(channel="ViewLayer.Mist.Z"))
    assert np.array_equal(image, mist) and note is None
    image, note = read_image(path, ReadOptions(channel="Mist.Z"))
    assert np.array_equal(image, mist) and note == "took channel 'ViewLayer.Mist.Z' for 'Mist.Z'"
    with pytest.raises(FormatError, match=r"d\.exr: channel 'Z' matches several \(ViewLayer\.Depth\.Z, "
                                          r"ViewLayer\.Mist\.Z\): give its full name$"):
        read_image(path, ReadOptions(channel="Z"))
    with pytest.raises(FormatError, match=r"d\.exr: no channel 'Normal\.X'; channels: ViewLayer\.Combined\.A, "):
        read_image(path, ReadOptions(channel="Normal.X"))


def test_exr_multipart_channels_are_prefixed_by_part(tmp_path: Path) -> None:
    right = np.arange(30, dtype=np.float32).reshape(5, 6)
    path = multipart_file(tmp_path / "stereo.exr", {
        "left": {"ViewLayer.Depth.Z": DEPTH, "ViewLayer.Combined.R": np.zeros(DEPTH.shape, np.float16)},
        "right": {"ViewLayer.Depth.Z": right}})
    with pytest.raises(FormatError, match=r"stereo\.exr: several depth-like channels among 3: "
                                          r"left\.ViewLayer\.Combined\.R, left\.ViewLayer\.Depth\.Z, "
                                          r"right\.ViewLayer\.Depth\.Z; choose one with --channel NAME$"):
        read_image(path)
    image, note = read_image(path, ReadOptions(channel="right.ViewLayer.Depth.Z"))
    assert np.array_equal(image, right) and note is None
    assert image_size(path, ReadOptions(channel="right.ViewLayer.Depth.Z")) == (6, 5)
    assert image_size(path, ReadOptions(channel="left.Depth.Z")) == (4, 3)
    image, _ = read_image(path, ReadOptions(channel="left.ViewLayer.Depth.Z"))
    assert np.array_equal(image, DEPTH)


def test_exr_multipart_part_named_depth(tmp_path: Path) -> None:
    path = multipart_file(tmp_path / "d.exr", {"rgb": {"R": DEPTH, "G": DEPTH, "B": DEPTH}, "depth": {"Y": DEPTH * 2}})
    image, note = read_image(path)
    assert np.array_equal(image, DEPTH * 2)
    assert note == "took channel 'depth.Y' (the only depth-like channel)"


def test_exr_without_depth_like_channel_lists_the_channels(tmp_path: Path) -> None:
    path = exr_file(tmp_path / "d.exr", {"ViewLayer.Combined.R": DEPTH, "ViewLayer.Mist.Z": DEPTH})
    with pytest.raises(FormatError, match=r"d\.exr: no depth-like channel among 2: ViewLayer\.Combined\.R, "
                                          r"ViewLayer\.Mist\.Z; choose one with --channel NAME$"):
        read_image(path)


@pytest.mark.parametrize("multipart", [False, True])
def test_exr_truncated(tmp_path: Path, multipart: bool) -> None:
    noise = np.random.default_rng(3).random((64, 48)).astype(np.float32)
    if multipart:
        path = multipart_file(tmp_path / "d.exr", {"a": {"Z": noise}, "b": {"Z": noise}})
    else:
        path = exr_file(tmp_path / "d.exr", {"Z": noise})
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(FormatError, match=r"d\.exr: truncated \(a chunk .*lies beyond the end of the file\)$"):
        read_image(path, ReadOptions(channel="b.Z" if multipart else None))


def test_exr_refuses_garbage_and_a_scale(tmp_path: Path) -> None:
    (tmp_path / "bad.exr").write_bytes(b"not an exr at all")
    with pytest.raises(FormatError, match=r"bad\.exr: not an OpenEXR file$"):
        read_image(tmp_path / "bad.exr")
    with pytest.raises(FormatError, match=r"d\.exr: holds float values; a scale applies to integer images only$"):
        read_image(exr_file(tmp_path / "d.exr", {"Z": DEPTH}), ReadOptions(scale=0.001))


def test_exr_size_from_header(tmp_path: Path) -> None:
    assert image_size(exr_file(tmp_path / "d.exr", {"Z": DEPTH})) == (4, 3)


# --- PFM -----------------------------------------------------------------------------------------------------------

def pfm_bytes(image: np.ndarray, little: bool, kind: str = "Pf") -> bytes:
    """Middlebury's layout: header lines, then float32 rows bottom-up in the byte order the scale's sign gives."""
    height, width = image.shape[:2]
    header = f"{kind}\n{width} {height}\n{-1.0 if little else 1.0}\n".encode()
    return header + np.ascontiguousarray(image[::-1], dtype="<f4" if little else ">f4").tobytes()


@pytest.mark.parametrize("little", [True, False])
def test_pfm_both_byte_orders_flipped_to_top_down(tmp_path: Path, little: bool) -> None:
    (tmp_path / "d.pfm").write_bytes(pfm_bytes(DEPTH, little))
    image, note = read_image(tmp_path / "d.pfm")
    assert np.array_equal(image, DEPTH) and note is None
    assert image[0, 0] == 1.5 and image[2, 3] == 12.0
    assert image_size(tmp_path / "d.pfm") == (4, 3)


def test_pfm_three_channels(tmp_path: Path) -> None:
    colour = np.stack([DEPTH, DEPTH * 2, DEPTH * 3], axis=2)
    (tmp_path / "d.pfm").write_bytes(pfm_bytes(colour, little=True, kind="PF"))
    image, note = read_image(tmp_path / "d.pfm")
    assert np.array_equal(image, DEPTH) and note == "took channel R (0) of a 3-channel PF file"
    assert np.array_equal(read_image(tmp_path / "d.pfm", ReadOptions(channel="G"))[0], DEPTH * 2)
    assert np.array_equal(read_image(tmp_path / "d.pfm", ReadOptions(channel="2"))[0], DEPTH * 3)
    with pytest.raises(FormatError, match=r"d\.pfm: no channel 'Z' in a PF file \(R, G, B or 0, 1, 2\)$"):
        read_image(tmp_path / "d.pfm", ReadOptions(channel="Z"))


def test_pfm_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "d.pfm"
    path.write_bytes(pfm_bytes(DEPTH, little=True)[:-5])
    with pytest.raises(FormatError, match=r"d\.pfm: truncated \(43 bytes of pixel data, expected 48\)$"):
        read_image(path)
    path.write_bytes(b"Pf\n4 3\n0.0\n" + bytes(48))
    with pytest.raises(FormatError, match=r"d\.pfm: PFM scale 0\.0 gives no byte order"):
        read_image(path)
    path.write_bytes(b"P5\n4 3\n255\n" + bytes(12))
    with pytest.raises(FormatError, match=r"d\.pfm: not a PFM file"):
        read_image(path)


# --- NumPy ---------------------------------------------------------------------------------------------------------

def test_npy_float_and_integer(tmp_path: Path) -> None:
    np.save(tmp_path / "f.npy", DEPTH.astype(np.float64))
    image, note = read_image(tmp_path / "f.npy")
    assert image.dtype == np.float32 and np.array_equal(image, DEPTH) and note is None
    np.save(tmp_path / "i.npy", COUNTS[:, :, np.newaxis])
    assert np.array_equal(read_image(tmp_path / "i.npy")[0], COUNTS.astype(np.float32))
    image, note = read_image(tmp_path / "i.npy", ReadOptions(scale=0.001))
    assert np.array_equal(image, (COUNTS * 0.001).astype(np.float32)) and note is None
    assert image_size(tmp_path / "i.npy") == (4, 3)


@pytest.mark.parametrize("array, message", [
    (np.zeros((3, 4), dtype=bool), r"array of dtype bool \(expected float or integer values\)$"),
    (np.zeros((3, 4), dtype=np.complex64), r"array of dtype complex64 \(expected float or integer values\)$"),
    (np.zeros((3, 4, 3), dtype=np.float32), r"array of shape \(3, 4, 3\) \(expected HxW or HxWx1\)$"),
    (np.zeros(5, dtype=np.float32), r"array of shape \(5,\) \(expected HxW or HxWx1\)$"),
    (np.zeros((0, 4), dtype=np.float32), r"empty image \(4x0\)$"),
    (np.full((3, 4), np.nan, dtype=np.float32), r"no finite value \(every pixel is NaN or infinite\)$"),
    (np.array([["a", "b"]]), r"array of dtype <U1 \(expected float or integer values\)$"),
])
def test_npy_refused(tmp_path: Path, array: np.ndarray, message: str) -> None:
    np.save(tmp_path / "d.npy", array)
    with pytest.raises(FormatError, match=r"d\.npy: " + message):
        read_image(tmp_path / "d.npy")


def test_npy_never_unpickles(tmp_path: Path) -> None:
    np.save(tmp_path / "d.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(FormatError, match=r"d\.npy: not a readable NumPy file \(Object arrays cannot be loaded"):
        read_image(tmp_path / "d.npy")


def test_npy_keeps_non_finite_pixels_and_refuses_a_scale_for_floats(tmp_path: Path) -> None:
    array = DEPTH.copy()
    array[0, 1], array[2, 2] = np.nan, np.inf
    np.save(tmp_path / "d.npy", array)
    image, _ = read_image(tmp_path / "d.npy")
    assert np.array_equal(image, array, equal_nan=True)
    with pytest.raises(FormatError, match=r"d\.npy: holds float values \(float32\); a scale applies to integer"):
        read_image(tmp_path / "d.npy", ReadOptions(scale=0.001))


def test_npz_keys(tmp_path: Path) -> None:
    np.savez(tmp_path / "one.npz", depth=DEPTH)
    image, note = read_image(tmp_path / "one.npz")
    assert np.array_equal(image, DEPTH) and note is None
    assert image_size(tmp_path / "one.npz") == (4, 3)
    np.savez_compressed(tmp_path / "two.npz", depth=DEPTH, rgb=np.zeros((3, 4, 3), np.uint8))
    with pytest.raises(FormatError, match=r"two\.npz: holds 2 arrays \(depth, rgb\); choose one with --key$"):
        read_image(tmp_path / "two.npz")
    assert np.array_equal(read_image(tmp_path / "two.npz", ReadOptions(key="depth"))[0], DEPTH)
    with pytest.raises(FormatError, match=r"two\.npz: array 'rgb' of shape \(3, 4, 3\) \(expected HxW or HxWx1\)$"):
        read_image(tmp_path / "two.npz", ReadOptions(key="rgb"))
    with pytest.raises(FormatError, match=r"two\.npz: no array 'z'; arrays: depth, rgb$"):
        read_image(tmp_path / "two.npz", ReadOptions(key="z"))


# --- 16-bit PNG ----------------------------------------------------------------------------------------------------

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


# --- TIFF ----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("compression", [1, 8])  # none, deflate (LZW, OpenCV's default, needs imagecodecs)
def test_tiff_uint16_written_by_opencv(tmp_path: Path, compression: int) -> None:
    assert cv2.imwrite(str(tmp_path / "d.tif"), COUNTS, [cv2.IMWRITE_TIFF_COMPRESSION, compression])
    assert np.array_equal(tifffile.imread(tmp_path / "d.tif"), COUNTS)
    image, note = read_image(tmp_path / "d.tif")
    assert np.array_equal(image, (COUNTS * 0.001).astype(np.float32))
    assert note == "uint16 counts x 0.001 (the default scale; give a scale for other units)"
    assert image_size(tmp_path / "d.tif") == (4, 3)


def test_tiff_float_values(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "d.tiff", DEPTH)
    image, note = read_image(tmp_path / "d.tiff")
    assert np.array_equal(image, DEPTH) and note is None
    with pytest.raises(FormatError, match=r"d\.tiff: holds float values \(float32\); a scale applies"):
        read_image(tmp_path / "d.tiff", ReadOptions(scale=0.001))


def test_tiff_refused(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "grey8.tif"), COUNTS.astype(np.uint8), [cv2.IMWRITE_TIFF_COMPRESSION, 1])
    with pytest.raises(FormatError, match=r"grey8\.tif: TIFF of uint8 samples; supported: uint16 counts or float"):
        read_image(tmp_path / "grey8.tif")
    cv2.imwrite(str(tmp_path / "rgb.tif"), np.dstack([COUNTS] * 3), [cv2.IMWRITE_TIFF_COMPRESSION, 1])
    with pytest.raises(FormatError, match=r"rgb\.tif: TIFF image of shape \(3, 4, 3\) \(expected HxW or HxWx1\)$"):
        read_image(tmp_path / "rgb.tif")


# --- HDF5 ----------------------------------------------------------------------------------------------------------

def test_hdf5_hypersim_layout_float16(tmp_path: Path) -> None:
    path = tmp_path / "frame.0000.depth_meters.hdf5"
    with h5py.File(path, "w") as h5file:
        h5file.create_dataset("dataset", data=DEPTH.astype(np.float16), compression="gzip")
    image, note = read_image(path)
    assert image.dtype == np.float32 and np.array_equal(image, DEPTH.astype(np.float16).astype(np.float32))
    assert note is None
    assert image_size(path) == (4, 3)


def test_hdf5_datasets(tmp_path: Path) -> None:
    path = tmp_path / "d.h5"
    with h5py.File(path, "w") as h5file:
        h5file.create_dataset("meta/intrinsics", data=np.eye(3).ravel())
        h5file.create_dataset("depth/z", data=DEPTH)
    image, note = read_image(path)
    assert np.array_equal(image, DEPTH) and note == "took dataset 'depth/z' (the only 2-D numeric dataset)"
    with h5py.File(path, "a") as h5file:
        h5file.create_dataset("depth/mm", data=COUNTS[:, :, np.newaxis])
    with pytest.raises(FormatError, match=r"d\.h5: 2 2-D numeric datasets \(depth/mm \(3, 4, 1\) uint16, depth/z "
                                          r"\(3, 4\) float32, meta/intrinsics \(9,\) float64\); choose one with "
                                          r"--dataset PATH$"):
        read_image(path)
    image, note = read_image(path, ReadOptions(dataset="/depth/mm", scale=0.001))
    assert np.array_equal(image, (COUNTS * 0.001).astype(np.float32)) and note is None
    assert image_size(path, ReadOptions(dataset="depth/mm")) == (4, 3)
    with pytest.raises(FormatError, match=r"d\.h5: dataset '/meta/intrinsics' of shape \(9,\) \(expected HxW"):
        read_image(path, ReadOptions(dataset="meta/intrinsics"))
    with pytest.raises(FormatError, match=r"d\.h5: no dataset 'depth'; datasets: depth/mm \(3, 4, 1\) uint16"):
        read_image(path, ReadOptions(dataset="depth"))


@pytest.mark.parametrize("module, suffix, message", [("h5py", ".hdf5", r"reading HDF5 needs h5py \(pip install h5py\)"),
                                                     ("tifffile", ".tif",
                                                      r"reading TIFF needs tifffile \(pip install tifffile\)")])
@pytest.mark.parametrize("call", [read_image, image_size])
def test_missing_optional_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str, suffix: str,
                                  message: str, call) -> None:
    (tmp_path / f"d{suffix}").write_bytes(b"\0" * 16)
    monkeypatch.setitem(sys.modules, module, None)  # the import now fails, as where it is not installed
    with pytest.raises(FormatError, match=rf"d\{suffix}: {message}$"):
        call(tmp_path / f"d{suffix}")


# --- Common --------------------------------------------------------------------------------------------------------

def test_suffixes_and_missing_files(tmp_path: Path) -> None:
    assert INPUT_SUFFIXES == (".exr", ".pfm", ".npy", ".npz", ".png", ".tif", ".tiff", ".h5", ".hdf5")
    (tmp_path / "d.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(FormatError, match=r"d\.jpg: unknown suffix '\.jpg'; supported: \.exr, \.pfm, \.npy, "):
        read_image(tmp_path / "d.jpg")
    with pytest.raises(FormatError, match=r"gone\.exr: no such file$"):
        read_image(tmp_path / "gone.exr")
    with pytest.raises(FormatError, match=r"gone\.png: no such file$"):
        image_size(tmp_path / "gone.png")
    with (tmp_path / "UPPER.NPY").open("wb") as handle:
        np.save(handle, DEPTH)
    assert np.array_equal(read_image(tmp_path / "UPPER.NPY")[0], DEPTH)


# --- Writing -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["exr", "npy", "pfm"])
def test_float_outputs_round_trip(tmp_path: Path, fmt: str) -> None:
    image = DEPTH.copy()
    image[1, 1] = np.inf
    path = tmp_path / f"out{output_suffix(fmt)}"
    write_image(path, image.astype(np.float64), fmt)
    back, note = read_image(path)
    assert back.dtype == np.float32 and np.array_equal(back, image) and note is None


def test_pfm_output_layout(tmp_path: Path) -> None:
    write_image(tmp_path / "d.pfm", DEPTH, "pfm")
    data = (tmp_path / "d.pfm").read_bytes()
    assert data[:12] == b"Pf\n4 3\n-1.0\n"
    assert np.array_equal(np.frombuffer(data[12:28], "<f4"), DEPTH[2])  # the bottom row first


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


def test_write_refusals(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=r"d\.png: 1 pixels above 65\.535, the most a 16-bit PNG holds at scale "
                                          r"0\.001 \(largest 70\); use a larger scale$"):
        write_image(tmp_path / "d.png", np.array([[1.0, 70.0]]), "png16")
    assert not (tmp_path / "d.png").exists()
    with pytest.raises(FormatError, match=r"d\.png: png16 scale must be a positive number, got 0$"):
        write_image(tmp_path / "d.png", DEPTH, "png16", scale=0)
    with pytest.raises(FormatError, match=r"d\.jpg: unknown output format 'jpg'; choose one of exr, npy, pfm, png16$"):
        write_image(tmp_path / "d.jpg", DEPTH, "jpg")
    with pytest.raises(FormatError, match=r"d\.npy: image to write of shape \(3, 4, 3\) \(expected HxW or HxWx1\)$"):
        write_image(tmp_path / "d.npy", np.zeros((3, 4, 3)), "npy")
    with pytest.raises(FormatError, match=r"missing/d\.npy: cannot write \(No such file or directory\)$"):
        write_image(tmp_path / "missing" / "d.npy", DEPTH, "npy")
    assert OUTPUT_FORMATS == ("exr", "npy", "pfm", "png16")
    assert [output_suffix(fmt) for fmt in OUTPUT_FORMATS] == [".exr", ".npy", ".pfm", ".png"]
