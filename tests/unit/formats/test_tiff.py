"""TIFF files (core/formats/tiff.py), written by OpenCV and tifffile."""

from __future__ import annotations

import re
import struct
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile

from depth_node.core.formats import (
    FormatError,
    ReadOptions,
    image_size,
    read_image,
)

from .samples import COUNTS, DEPTH, refused


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
