"""Flow files read back with other tools' own readers: OpenCV's readOpticalFlow (.flo), cv2.imread with the
KITTI devkit's formula."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest

from depth_node.core.flow import files

os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")
cv2 = pytest.importorskip("cv2", reason="opencv-python-headless is a test dependency")


def sample_flow(shape: tuple[int, int] = (5, 7)) -> np.ndarray:
    return np.random.default_rng(11).normal(scale=30.0, size=shape + (2,)).astype(np.float32)


def test_flo_reads_back_with_opencv(tmp_path: Path) -> None:
    uv = sample_flow()
    files.write_flo(tmp_path / "a.flo", uv)
    assert np.array_equal(cv2.readOpticalFlow(str(tmp_path / "a.flo")), uv)
    assert np.array_equal(files.read_flo(tmp_path / "a.flo"), uv)
    cv2.writeOpticalFlow(str(tmp_path / "b.flo"), uv)
    assert (tmp_path / "b.flo").read_bytes() == (tmp_path / "a.flo").read_bytes()


def test_flo_refuses_other_shapes_and_files(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\(H, W, 2\)"):
        files.write_flo(tmp_path / "x.flo", np.zeros((3, 3)))
    (tmp_path / "bad.flo").write_bytes(b"PNG?" + bytes(20))
    with pytest.raises(ValueError, match="not a Middlebury .flo"):
        files.read_flo(tmp_path / "bad.flo")
    files.write_flo(tmp_path / "cut.flo", sample_flow())
    (tmp_path / "cut.flo").write_bytes((tmp_path / "cut.flo").read_bytes()[:-4])
    with pytest.raises(ValueError, match=r"a 7x5 .flo needs 292 bytes, the file has 288"):
        files.read_flo(tmp_path / "cut.flo")


def test_kitti_decodes_with_the_devkit_formula(tmp_path: Path) -> None:
    uv = sample_flow()
    uv[0, 0] = (600.0, 0.0)  # beyond +-512 px: cannot be stored
    uv[0, 1] = (-511.9, 511.9)
    valid = np.ones(uv.shape[:2], dtype=bool)
    valid[1, 1] = False
    lost = files.write_kitti(tmp_path / "k.png", uv, valid)
    assert lost == 1
    image = cv2.imread(str(tmp_path / "k.png"), cv2.IMREAD_UNCHANGED)
    assert image.dtype == np.uint16 and image.shape == (5, 7, 3)
    rgb = image[..., ::-1].astype(np.float64)  # OpenCV reads BGR
    decoded = (rgb[..., :2] - 2 ** 15) / 64.0
    stored_valid = rgb[..., 2] > 0
    assert stored_valid.sum() == valid.sum() - 1 and not stored_valid[0, 0] and not stored_valid[1, 1]
    assert np.abs(decoded - uv)[stored_valid].max() <= 0.5 / 64 + 1e-9
    assert np.abs(decoded[0, 1] - uv[0, 1]).max() <= 0.5 / 64


def test_the_mask_is_255_where_valid(tmp_path: Path) -> None:
    valid = np.array([[True, False], [False, True]])
    files.write_mask(tmp_path / "m.png", valid)
    image = cv2.imread(str(tmp_path / "m.png"), cv2.IMREAD_GRAYSCALE)
    assert np.array_equal(image, np.where(valid, 255, 0))


def test_flo_edges_of_its_header(tmp_path: Path) -> None:
    one = np.array([[[1.5, -2.5]]], dtype=np.float64)  # a 1x1 flow, given as float64
    files.write_flo(tmp_path / "one.flo", one)
    assert (tmp_path / "one.flo").stat().st_size == 20
    assert files.read_flo(tmp_path / "one.flo").tolist() == [[[1.5, -2.5]]]
    assert files.read_flo(tmp_path / "one.flo").dtype == np.float32
    for width, height in ((0, 5), (5, 0), (-2, 3)):
        (tmp_path / "odd.flo").write_bytes(struct.pack("<fii", files.FLO_MAGIC, width, height))
        with pytest.raises(ValueError, match=rf"a {width}x{height} .flo needs 12 bytes, the file has 12$"):
            files.read_flo(tmp_path / "odd.flo")
    (tmp_path / "short.flo").write_bytes(struct.pack("<f", files.FLO_MAGIC) + bytes(7))
    with pytest.raises(ValueError, match="not a Middlebury"):
        files.read_flo(tmp_path / "short.flo")


def test_kitti_range_ends_and_nan(tmp_path: Path) -> None:
    uv = np.array([[[-512.0, 511.984375], [-512.01, 0.0], [0.0, 511.995], [np.nan, np.nan]]])
    valid = np.array([[1, 1, 1, 0]])  # ints, as a mask read from another file
    image, lost = files.kitti_image(uv, valid)
    assert image.dtype == np.uint16
    assert image[0, 0].tolist() == [0, 65535, 1], "both ends of the range fit"
    assert image[0, 1].tolist() == [32768, 32768, 0] and image[0, 2].tolist() == [32768, 32768, 0]
    assert lost == 2
    assert image[0, 3].tolist() == [32768, 32768, 0], "no flow: the zero code, invalid"
