"""Whether a frame's files are complete (core/formats/complete.py), as --resume decides."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from depth_node.core.formats.complete import is_complete

cv2 = pytest.importorskip("cv2", reason="OpenCV writes the image fixtures (a test dependency)")


def cut(path: Path, keep: int) -> Path:
    shorter = path.with_name("cut_" + path.name)
    shorter.write_bytes(path.read_bytes()[:keep])
    return shorter


def noise(shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(11).integers(0, 256, shape, dtype=np.uint8)


@pytest.mark.parametrize("name", ["a.png", "b.PNG"])
def test_png(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    assert cv2.imwrite(str(path), noise((20, 30, 3)))
    assert is_complete(path)
    size = path.stat().st_size
    assert not is_complete(cut(path, size - 12))  # without IEND
    assert not is_complete(cut(path, size // 2))
    data = bytearray(path.read_bytes())
    data[40] ^= 0xFF  # inside IHDR/IDAT: its CRC no longer matches
    (tmp_path / "crc.png").write_bytes(bytes(data))
    assert not is_complete(tmp_path / "crc.png")


def test_png_with_image_data_that_does_not_inflate(tmp_path: Path) -> None:
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    good = zlib.compress(b"\x00\x07")
    signature = b"\x89PNG\r\n\x1a\n"
    (tmp_path / "good.png").write_bytes(signature + header + chunk(b"IDAT", good) + chunk(b"IEND", b""))
    assert is_complete(tmp_path / "good.png")
    (tmp_path / "half.png").write_bytes(signature + header + chunk(b"IDAT", good[:-3]) + chunk(b"IEND", b""))
    assert not is_complete(tmp_path / "half.png")
    two = chunk(b"IDAT", good[:4]) + chunk(b"IDAT", good[4:])  # image data split over chunks is joined
    (tmp_path / "two.png").write_bytes(signature + header + two + chunk(b"IEND", b""))
    assert is_complete(tmp_path / "two.png")


@pytest.mark.parametrize("name", ["a.jpg", "b.jpeg", "c.JPG"])
def test_jpeg(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    assert cv2.imwrite(str(path), noise((16, 16, 3)))
    assert is_complete(path)
    assert not is_complete(cut(path, path.stat().st_size - 1))
    padded = tmp_path / ("padded_" + name)
    padded.write_bytes(path.read_bytes() + b"\x00" * 5)  # zero padding after the end marker
    assert is_complete(padded)
    headless = tmp_path / ("headless_" + name)
    headless.write_bytes(path.read_bytes()[2:])
    assert not is_complete(headless)


def test_json(tmp_path: Path) -> None:
    path = tmp_path / "camera_0001.json"
    path.write_text('{"K": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}\n')
    assert is_complete(path)
    assert not is_complete(cut(path, 20))
    (tmp_path / "bytes.json").write_bytes(b"\xff\xfe{}")
    assert not is_complete(tmp_path / "bytes.json")


def test_npy_and_pfm(tmp_path: Path) -> None:
    array = np.random.default_rng(2).uniform(0, 10, (6, 5)).astype(np.float32)
    np.save(tmp_path / "d.npy", array)
    assert is_complete(tmp_path / "d.npy")
    assert not is_complete(cut(tmp_path / "d.npy", (tmp_path / "d.npy").stat().st_size - 4))
    assert cv2.imwrite(str(tmp_path / "d.pfm"), array)
    assert is_complete(tmp_path / "d.pfm")
    assert not is_complete(cut(tmp_path / "d.pfm", (tmp_path / "d.pfm").stat().st_size - 4))


def test_exr(tmp_path: Path) -> None:
    pytest.importorskip("OpenEXR", reason="OpenEXR is a test dependency (tools/requirements-test.txt)")
    from depth_node.core.formats import exr

    path = tmp_path / "depth_0001.exr"
    exr.write_single_channel(path, np.ones((8, 9), dtype=np.float32), channel="Y")
    assert is_complete(path)
    assert not is_complete(cut(path, path.stat().st_size - 1))


def test_missing_empty_folders_and_other_formats(tmp_path: Path) -> None:
    assert not is_complete(tmp_path / "nothing.png")
    assert not is_complete(tmp_path)
    (tmp_path / "empty.tif").write_bytes(b"")
    assert not is_complete(tmp_path / "empty.tif")
    (tmp_path / "beauty.tif").write_bytes(b"x")  # a format without a check: whole when not empty
    assert is_complete(tmp_path / "beauty.tif")
    (tmp_path / "empty.json").write_bytes(b"")
    assert not is_complete(tmp_path / "empty.json")


def test_a_jpeg_with_bytes_after_its_end_marker_is_not_whole(tmp_path: Path) -> None:
    path = tmp_path / "a.jpg"
    assert cv2.imwrite(str(path), noise((8, 8, 3)))
    (tmp_path / "x.jpg").write_bytes(path.read_bytes() + b"X")
    assert not is_complete(tmp_path / "x.jpg")
