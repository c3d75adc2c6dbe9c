"""NumPy arrays: ``.npy`` and ``.npz`` holding an HxW (or HxWx1) float or integer array. Imports no bpy.

Integer arrays are counts x scale (1 unless a scale is given); pickled objects are never loaded.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from .reader import FormatError, ImageFormat, ReadOptions, pixels, scaled


def _load(path: Path, mmap_mode: str | None = None) -> np.ndarray | np.lib.npyio.NpzFile:
    try:
        return np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
    except OSError as error:
        raise FormatError(f"{path}: cannot read ({error.strerror or error})") from None
    except (ValueError, EOFError, zipfile.BadZipFile) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise FormatError(f"{path}: not a readable NumPy file ({reason})") from None


def read_npy(path: Path, options: ReadOptions) -> tuple[np.ndarray, str | None]:
    """The array (float as it is; integers x scale)."""
    array = _load(path)
    if not isinstance(array, np.ndarray):
        raise FormatError(f"{path}: a .npy suffix on an .npz archive")
    return scaled(path, pixels(path, array), options, 1.0)


def size_npy(path: Path, options: ReadOptions) -> tuple[int, int]:
    """(width, height) from the header (the array is memory-mapped, not read)."""
    array = _load(path, mmap_mode="r")
    if not isinstance(array, np.ndarray):
        raise FormatError(f"{path}: a .npy suffix on an .npz archive")
    height, width = pixels(path, array).shape
    return width, height


def _member(path: Path, archive: np.lib.npyio.NpzFile, key: str | None) -> tuple[np.ndarray, str | None]:
    keys = list(archive.files)
    if key is None:
        if len(keys) != 1:
            raise FormatError(f"{path}: holds {len(keys)} arrays ({', '.join(keys) or 'none'}); choose one with --key")
        key = keys[0]
    elif key not in keys:
        raise FormatError(f"{path}: no array {key!r}; arrays: {', '.join(keys)}")
    try:
        array = archive[key]
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise FormatError(f"{path}: cannot read array {key!r} ({str(error).splitlines()[0]})") from None
    return pixels(path, array, f"array {key!r}"), None


def read_npz(path: Path, options: ReadOptions) -> tuple[np.ndarray, str | None]:
    """The array named ``options.key``, or the only one."""
    archive = _load(path)
    if not isinstance(archive, np.lib.npyio.NpzFile):  # np.load gave the array of a .npy file: no `with` for it
        raise FormatError(f"{path}: an .npz suffix on a .npy file")
    with archive:
        array, _ = _member(path, archive, options.key)
    return scaled(path, array, options, 1.0)


def size_npz(path: Path, options: ReadOptions) -> tuple[int, int]:
    """(width, height), by reading the array."""
    height, width = read_npz(path, options)[0].shape
    return width, height


def write_npy(path: Path, image: np.ndarray, scale: float) -> None:
    """A float32 ``.npy`` (``scale`` is unused)."""
    with path.open("wb") as handle:  # np.save would append ".npy" to a path without it
        np.save(handle, np.asarray(image, dtype=np.float32))


NPY = ImageFormat("NumPy .npy", (".npy",), read_npy, size_npy, write_npy, "npy")
NPZ = ImageFormat("NumPy .npz", (".npz",), read_npz, size_npz)
