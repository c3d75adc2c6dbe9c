""".npy and .npz files (core/formats/numpy_files.py), written by numpy."""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from depth_node.core.formats import (
    FormatError,
    ReadOptions,
    image_size,
    numpy_files,
    read_image,
)

from .samples import COUNTS, DEPTH, refused


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
