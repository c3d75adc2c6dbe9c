"""What every format shares (core/formats/__init__.py, reader.py): choosing a format by suffix, outputs,
scales, the final checks and one-line refusals."""

from __future__ import annotations

import errno
import os
import re
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from depth_node.core.formats import (
    DEFAULT_OPTIONS,
    INPUT_SUFFIXES,
    OUTPUT_FORMATS,
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

from .samples import COUNTS, DEPTH, refused

IS_A_DIRECTORY = os.strerror(errno.EISDIR)


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


@pytest.mark.parametrize("fmt", ["exr", "npy", "pfm"])
def test_float_outputs_round_trip(tmp_path: Path, fmt: str) -> None:
    image = DEPTH.copy()
    image[1, 1] = np.inf
    path = tmp_path / f"out{output_suffix(fmt)}"
    write_image(path, image.astype(np.float64), fmt)
    back, note = read_image(path)
    assert back.dtype == np.float32 and np.array_equal(back, image) and note is None


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
