"""HDF5 depth images through the optional ``h5py`` package (Hypersim's ``frame.0000.depth_meters.hdf5``...).
Imports no bpy.

``ReadOptions.dataset`` names the dataset (its path inside the file); without it the file's only 2-D
(or HxWx1) numeric dataset is read. float16 is read as float32; integers are counts x scale (1 by default).
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np

from .reader import FormatError, ImageFormat, ReadOptions, pixels, scaled


def _h5py(path: Path) -> ModuleType:
    try:
        import h5py  # noqa: PLC0415  (optional dependency)
    except ImportError:
        raise FormatError(f"{path}: reading HDF5 needs h5py (pip install h5py)") from None
    return h5py


def _image_like(dataset: object) -> bool:
    shape, kind = dataset.shape, dataset.dtype.kind
    return kind in "fiu" and (len(shape) == 2 or (len(shape) == 3 and shape[2] == 1))


def _dataset(path: Path, h5file: object, wanted: str | None, h5py: ModuleType) -> tuple[object, str | None]:
    """The dataset to read and a note when it was chosen for the user."""
    datasets: list[tuple[str, object]] = []
    h5file.visititems(lambda name, item: datasets.append((name, item)) if isinstance(item, h5py.Dataset) else None)
    listing = ", ".join(f"{name} {item.shape} {item.dtype}" for name, item in datasets) or "none"
    if wanted is not None:
        found = dict(datasets).get(wanted.strip("/"))
        if found is None:
            raise FormatError(f"{path}: no dataset {wanted!r}; datasets: {listing}")
        return found, None
    images = [(name, item) for name, item in datasets if _image_like(item)]
    if len(images) != 1:
        why = f"{len(images)} 2-D numeric datasets" if images else "no 2-D numeric dataset"
        raise FormatError(f"{path}: {why} ({listing}); choose one with --dataset PATH")
    name, item = images[0]
    return item, None if len(datasets) == 1 else f"took dataset {name!r} (the only 2-D numeric dataset)"


def _open(path: Path, h5py: ModuleType):  # noqa: ANN202  (an h5py.File)
    try:
        return h5py.File(path, "r")
    except OSError as error:
        raise FormatError(f"{path}: not a readable HDF5 file ({str(error).splitlines()[0]})") from None


def read(path: Path, options: ReadOptions) -> tuple[np.ndarray, str | None]:
    """The dataset (float16/32/64 as values; integers x scale)."""
    h5py = _h5py(path)
    with _open(path, h5py) as h5file:
        dataset, note = _dataset(path, h5file, options.dataset, h5py)
        name = dataset.name
        try:
            array = dataset[()]
        except (OSError, ValueError, TypeError) as error:
            raise FormatError(f"{path}: cannot read dataset {name!r} ({str(error).splitlines()[0]})") from None
    array, scale_note = scaled(path, pixels(path, np.asarray(array), f"dataset {name!r}"), options, 1.0)
    return array, note or scale_note


def size(path: Path, options: ReadOptions) -> tuple[int, int]:
    """(width, height) from the dataset's shape (no pixels are read)."""
    h5py = _h5py(path)
    with _open(path, h5py) as h5file:
        dataset, _ = _dataset(path, h5file, options.dataset, h5py)
        shape = dataset.shape
        if dataset.dtype.kind not in "fiu" or not _image_like(dataset):
            raise FormatError(f"{path}: dataset {dataset.name!r} of shape {shape} and dtype {dataset.dtype}"
                              " (expected an HxW or HxWx1 numeric array)")
    return int(shape[1]), int(shape[0])


FORMAT = ImageFormat("HDF5", (".h5", ".hdf5"), read, size)
