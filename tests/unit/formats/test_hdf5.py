"""HDF5 files (core/formats/hdf5.py), written by h5py (Hypersim's layout among them)."""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path

import h5py
import numpy as np
import pytest

from depth_node.core.formats import (
    FormatError,
    ReadOptions,
    image_size,
    read_image,
)

from .samples import COUNTS, DEPTH, refused


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
