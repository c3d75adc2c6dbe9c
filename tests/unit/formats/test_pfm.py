"""PFM files (core/formats/pfm.py), written by hand per Middlebury's description."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest

from depth_node.core.formats import (
    FormatError,
    ReadOptions,
    image_size,
    pfm,
    read_image,
    write_image,
)

from .samples import DEPTH, refused


def pfm_bytes(image: np.ndarray, little: bool, kind: str = "Pf") -> bytes:
    """Middlebury's layout: header lines, then float32 rows bottom-up in the byte order the scale's sign gives."""
    height, width = image.shape[:2]
    header = f"{kind}\n{width} {height}\n{-1.0 if little else 1.0}\n".encode()
    return header + np.ascontiguousarray(image[::-1], dtype="<f4" if little else ">f4").tobytes()


def pfm_file(path: Path, image: np.ndarray, scale: str = "-1.0", kind: str = "Pf", tail: bytes = b"") -> Path:
    """Middlebury's layout: ``Pf``/``PF``, ``width height``, the scale (its sign: the byte order), rows bottom-up."""
    height, width = image.shape[:2]
    order = "<f4" if scale.startswith("-") else ">f4"
    header = f"{kind}\n{width} {height}\n{scale}\n".encode()
    path.write_bytes(header + np.ascontiguousarray(image[::-1], dtype=order).tobytes() + tail)
    return path


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


def test_pfm_output_layout(tmp_path: Path) -> None:
    write_image(tmp_path / "d.pfm", DEPTH, "pfm")
    data = (tmp_path / "d.pfm").read_bytes()
    assert data[:12] == b"Pf\n4 3\n-1.0\n"
    assert np.array_equal(np.frombuffer(data[12:28], "<f4"), DEPTH[2])  # the bottom row first


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
