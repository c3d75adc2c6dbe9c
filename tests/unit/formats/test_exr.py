"""OpenEXR files (core/formats/exr.py): the structure checks on every compression and truncation, single-channel
reading and writing, multi-part files, and convert's EXR input, each file written by the OpenEXR bindings."""

from __future__ import annotations

import errno
import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import OpenEXR
import pytest

from depth_node.core.formats import (
    FormatError,
    ReadOptions,
    exr,
    image_size,
    read_image,
)
from depth_node.core.outputs import sidecar

from ..samples import CAMERAS
from .samples import DEPTH, refused


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


def exr_first_chunk(data: bytes) -> int:
    """The offset of the first chunk of a single-part file (OpenEXR's file layout: header, offset table)."""
    position = 8
    while data[position] != 0:
        name_end = data.index(b"\0", position)
        type_end = data.index(b"\0", name_end + 1)
        position = type_end + 5 + struct.unpack_from("<i", data, type_end + 1)[0]
    return struct.unpack_from("<Q", data, position + 1)[0]


HEIGHT, WIDTH = 37, 11  # 37 rows: a multiple of no chunk height but 1


IS_A_DIRECTORY = os.strerror(errno.EISDIR)


def pixels(height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """Smooth values, so that ZIP really compresses them."""
    return np.arange(height * width, dtype=np.float32).reshape(height, width) / 4


def write(path: Path, channels: dict[str, np.ndarray] | None = None, compression: str = "ZIP", **header) -> bytes:
    OpenEXR.File({"compression": getattr(OpenEXR, f"{compression}_COMPRESSION"), "type": OpenEXR.scanlineimage,
                  **header}, channels or {"Z": pixels()}).write(str(path))
    return path.read_bytes()


def multipart(path: Path, sizes: dict[str, tuple[int, int]]) -> bytes:
    """One ZIP scanline part per entry, ``{name: (width, height)}``, sharing one display window."""
    corner = (max(w for w, _ in sizes.values()) - 1, max(h for _, h in sizes.values()) - 1)
    OpenEXR.File([OpenEXR.Part({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage,
                                "displayWindow": ((0, 0), corner)}, {"Z": pixels(h, w)}, name)
                  for name, (w, h) in sizes.items()]).write(str(path))
    return path.read_bytes()


def header(data: bytes, position: int) -> tuple[dict[str, tuple[int, int, int]], int]:
    """``{name: (where the name starts, where the value starts, value size)}`` and the position after the NUL."""
    found = {}
    while data[position] != 0:
        name_end = data.index(b"\0", position)
        type_end = data.index(b"\0", name_end + 1)
        (size,) = struct.unpack_from("<i", data, type_end + 1)
        found[data[position:name_end].decode()] = (position, type_end + 5, size)
        position = type_end + 5 + size
    return found, position + 1


def headers(data: bytes) -> tuple[list[dict[str, tuple[int, int, int]]], int]:
    """Every part's header of a multi-part file and where the offset tables start."""
    parts, position = [], 8
    while data[position] != 0:
        found, position = header(data, position)
        parts.append(found)
    return parts, position + 1


def patched(data: bytes, where: int, fmt: str, *values: int) -> bytes:
    changed = bytearray(data)
    struct.pack_into(fmt, changed, where, *values)
    return bytes(changed)


def check_refuses(check, path: Path, data: bytes, message: str) -> None:
    path.write_bytes(data)
    with pytest.raises(exr.ExrError, match=message):
        check(path)


def unknown_flag(path: Path) -> Path:
    """A whole file whose version field sets a flag bit that no OpenEXR version defines."""
    data = write(path, {"Z": pixels(4, 5)})
    path.write_bytes(patched(data, 4, "<i", struct.unpack_from("<i", data, 4)[0] | 0x400000))
    return path


SIZES = {"a": (WIDTH, HEIGHT), "b": (1, 1)}


def retyped(data: bytes, part: int, kind: bytes) -> bytes:
    """``data`` with part ``part``'s type attribute set to ``kind``, every chunk offset moved to match."""
    parts, tables = headers(data)
    _, start, size = parts[part]["type"]
    shift = len(kind) - size
    out = bytearray(data[:start - 4] + struct.pack("<i", len(kind)) + kind + data[start + size:])
    position = tables + shift
    for found in parts:
        (count,) = struct.unpack_from("<i", data, found["chunkCount"][1])
        for index in range(count):
            (offset,) = struct.unpack_from("<Q", out, position + 8 * index)
            struct.pack_into("<Q", out, position + 8 * index, offset + shift)
        position += 8 * count
    return bytes(out)




# OpenEXR's "Reading and writing image files" / file layout: lines per chunk of each compression
LINES = {"NO": 1, "RLE": 1, "ZIPS": 1, "ZIP": 16, "PIZ": 32, "PXR24": 16, "B44": 32, "B44A": 32, "DWAA": 32,
         "DWAB": 256}


def attributes(data: bytes, position: int) -> tuple[dict[str, bytes], int]:
    """One header's attributes and the position after its terminating NUL."""
    found = {}
    while data[position] != 0:
        name_end = data.index(b"\0", position)
        type_end = data.index(b"\0", name_end + 1)
        (size,) = struct.unpack_from("<i", data, type_end + 1)
        found[data[position:name_end].decode()] = data[type_end + 5:type_end + 5 + size]
        position = type_end + 5 + size
    return found, position + 1


def write_compressed(path: Path, compression: str, gradient: np.ndarray, **header) -> bytes:
    OpenEXR.File({"compression": getattr(OpenEXR, f"{compression}_COMPRESSION"), "type": OpenEXR.scanlineimage,
                  **header}, {"Z": gradient}).write(str(path))
    return path.read_bytes()


def gradient(height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    return np.random.default_rng(height * width).uniform(0, 50, (height, width)).astype(np.float32)


def expect(path: Path, data: bytes, message: str | None) -> None:
    path.write_bytes(data)
    if message is None:
        assert exr.check_structure(path) == (WIDTH, HEIGHT)
    else:
        with pytest.raises(exr.ExrError, match=message):
            exr.check_structure(path)


def multipart_with_header(path: Path, sizes: dict[str, tuple[int, int]], **header) -> bytes:
    corner = (max(w for w, _ in sizes.values()) - 1, max(h for _, h in sizes.values()) - 1)
    OpenEXR.File([OpenEXR.Part({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage,
                                "displayWindow": ((0, 0), corner), **header}, {"Z": gradient(h, w)}, name)
                  for name, (w, h) in sizes.items()]).write(str(path))
    return path.read_bytes()


def test_exr_channel_rename_keeps_pixels(tmp_path: Path) -> None:
    pytest.importorskip("OpenEXR", reason="OpenEXR is a test dependency (tools/requirements-test.txt)")
    path = tmp_path / "d.exr"
    pixels = np.random.default_rng(3).uniform(0, 10, (6, 7)).astype(np.float32)
    exr.write_single_channel(path, pixels, channel="V")
    size = path.stat().st_size
    exr.rename_single_channel(path)
    import OpenEXR

    with OpenEXR.File(str(path)) as renamed:
        assert list(renamed.channels()) == ["Y"]
    np.testing.assert_array_equal(exr.read_single_channel(path), pixels)
    assert [p.name for p in tmp_path.iterdir()] == ["d.exr"] and path.stat().st_size == size
    two = tmp_path / "two.exr"
    OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION}, {"R": pixels, "G": pixels}).write(str(two))
    with pytest.raises(exr.ExrError, match="one channel"):
        exr.rename_single_channel(two)


def test_exr_structure_check_finds_every_truncation(tmp_path: Path) -> None:
    """Blender crashes on some truncated EXRs, so the CLI checks structure first."""
    pytest.importorskip("OpenEXR", reason="OpenEXR is a test dependency (tools/requirements-test.txt)")
    path = tmp_path / "d.exr"
    exr.write_single_channel(path, np.random.default_rng(5).uniform(0, 9, (32, 48)).astype(np.float32))
    data = path.read_bytes()
    assert exr.check_structure(path) == (48, 32)
    for length in range(0, len(data), max(1, len(data) // 97)):
        path.write_bytes(data[:length])
        with pytest.raises(exr.ExrError, match="not an OpenEXR|truncated|corrupt"):
            exr.check_structure(path)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + data[8:])
    with pytest.raises(exr.ExrError, match="not an OpenEXR file"):
        exr.check_structure(path)


def test_value_channel_is_the_only_channel_or_red(tmp_path: Path) -> None:
    """convert's numpy engine takes what Separate Color (R) takes in the node engine, and refuses the rest."""
    openexr = pytest.importorskip("OpenEXR", reason="OpenEXR is a test dependency (tools/requirements-test.txt)")
    rng = np.random.default_rng(9)
    red, green = (rng.uniform(1, 9, (6, 8)).astype(np.float32) for _ in range(2))
    header = {"compression": openexr.ZIP_COMPRESSION, "type": openexr.scanlineimage}
    cases = {"rgba": {"R": red, "G": green, "B": green, "A": np.ones_like(red)}, "y": {"Y": red},
             "half": {"Z": red.astype(np.float16)}}
    for name, channels in cases.items():
        openexr.File(header, channels).write(str(tmp_path / f"{name}.exr"))
        got = exr.read_value_channel(tmp_path / f"{name}.exr")
        assert got.dtype == np.float32 and got.shape == (6, 8)
        np.testing.assert_array_equal(got, red.astype(np.float16).astype(np.float32) if name == "half" else red)
    for name, channels in {"layers": {"depth.R": red, "normal.R": green}, "no-red": {"G": green, "B": green}}.items():
        openexr.File(header, channels).write(str(tmp_path / f"{name}.exr"))
        with pytest.raises(exr.ExrError, match="expected one channel or R, G, B"):
            exr.read_value_channel(tmp_path / f"{name}.exr")


def test_plain_python_without_openexr_gives_one_line_and_exit_1(tmp_path: Path) -> None:
    """No OpenEXR and no Blender: ``pointcloud`` says what it needs in one line instead of a traceback."""
    camera = CAMERAS["persp"]
    meta = sidecar.camera_metadata(camera, np.eye(4), 0.1, 100.0, 1.0)
    (tmp_path / "camera.json").write_text(json.dumps(meta))
    (tmp_path / "depth.exr").write_bytes(b"not read")
    code = ("import sys\nsys.modules['OpenEXR'] = None\nsys.modules['bpy'] = None\n"
            "from depth_node.commands.cli import main\n"
            f"sys.exit(main(['pointcloud', {str(tmp_path / 'depth.exr')!r}, {str(tmp_path / 'camera.json')!r}, "
            f"{str(tmp_path / 'out.ply')!r}]))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[3],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "OpenEXR" in result.stderr and result.stderr.startswith("true_depth: error: ")
    assert not (tmp_path / "out.ply").exists()


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


@pytest.mark.parametrize("others, depth", [
    (["R", "G", "B"], "Z"),  # RGB + Z, as many renderers write it
    (["R", "G", "B", "A"], "depth"),
    (["Combined.R", "Combined.G"], "Depth.Z"),  # a layer named Depth, two-part names
    (["N.X", "N.Y"], "distance.V"),
])
def test_exr_the_one_depth_like_channel_among_others(tmp_path: Path, others: list[str], depth: str) -> None:
    channels = {name: np.full(DEPTH.shape, index + 100.0, dtype=np.float32) for index, name in enumerate(others)}
    path = exr_file(tmp_path / "d.exr", {**channels, depth: DEPTH})
    image, note = read_image(path)
    assert np.array_equal(image, DEPTH) and note == f"took channel {depth!r} (the only depth-like channel)"


def test_exr_colour_channels_without_r_are_not_guessed(tmp_path: Path) -> None:
    path = exr_file(tmp_path / "d.exr", {"G": DEPTH, "B": DEPTH * 2})
    refused(lambda: read_image(path), r"d\.exr: no depth-like channel among 2: B, G; choose one with --channel NAME")
    refused(lambda: image_size(path), r"d\.exr: no depth-like channel among 2: B, G; choose one with --channel NAME")


def test_exr_a_leading_dot_names_no_channel_of_a_single_part_file(tmp_path: Path) -> None:
    path = exr_file(tmp_path / "d.exr", {"Depth.Z": DEPTH, "Combined.R": DEPTH * 2})
    refused(lambda: read_image(path, ReadOptions(channel=".Z")),
            r"d\.exr: no channel '\.Z'; channels: Combined\.R, Depth\.Z")
    image, note = read_image(path, ReadOptions(channel="Z"))
    assert np.array_equal(image, DEPTH) and note == "took channel 'Depth.Z' for 'Z'"


def test_exr_damaged_pixel_data_is_refused_but_its_header_still_gives_the_size(tmp_path: Path) -> None:
    path = exr_file(tmp_path / "d.exr", {"Z": np.arange(320, dtype=np.float32).reshape(20, 16)})
    data = bytearray(path.read_bytes())
    first = exr_first_chunk(bytes(data))
    start, size = first + 8, struct.unpack_from("<i", data, first + 4)[0]
    assert size < 16 * 16 * 4  # ZIP really compressed these 16 rows: the bytes below are a deflate stream
    data[start + 2:start + size] = bytes(size - 2)
    path.write_bytes(bytes(data))
    refused(lambda: read_image(path), r"d\.exr: cannot read image \(corrupt pixel data\)")
    assert image_size(path) == (16, 20)


@pytest.mark.parametrize("check", [exr.check_structure, exr.check_parts])
def test_a_folder_gives_the_systems_reason(tmp_path: Path, check) -> None:
    (tmp_path / "folder.exr").mkdir()
    with pytest.raises(exr.ExrError, match=rf"^{re.escape(str(tmp_path))}/folder\.exr: cannot read "
                                           rf"\({IS_A_DIRECTORY}\)$"):
        check(tmp_path / "folder.exr")


@pytest.mark.parametrize("read", [exr.read_single_channel, exr.read_value_channel, exr.read_parts,
                                  exr.part_channels])
def test_a_missing_file(tmp_path: Path, read) -> None:
    with pytest.raises(exr.ExrError, match=r"gone\.exr: no such file$"):
        read(tmp_path / "gone.exr")


@pytest.mark.parametrize("keep, message", [
    (7, r"d\.exr: not an OpenEXR file$"),  # not even the version
    (8, r"d\.exr: truncated or corrupt OpenEXR header$"),  # magic and version, then nothing
    (9, r"d\.exr: truncated or corrupt OpenEXR header$"),
])
@pytest.mark.parametrize("check", [exr.check_structure, exr.check_parts])
def test_cut_right_after_magic_and_version(tmp_path: Path, keep: int, message: str, check) -> None:
    data = write(tmp_path / "d.exr")
    assert struct.unpack_from("<i", data)[0] == 20000630  # the layout's magic number
    check_refuses(check, tmp_path / "d.exr", data[:keep], message)


@pytest.mark.parametrize("attribute", ["dataWindow", "compression"])
def test_a_header_without_a_required_attribute(tmp_path: Path, attribute: str) -> None:
    data = write(tmp_path / "d.exr")
    name_start, _, _ = header(data, 8)[0][attribute]
    renamed = data[:name_start] + attribute[:-1].encode() + b"q" + data[name_start + len(attribute):]
    check_refuses(exr.check_structure, tmp_path / "d.exr", renamed, r"d\.exr: truncated or corrupt OpenEXR header$")


@pytest.mark.parametrize("corner", [(-1, HEIGHT - 1), (WIDTH - 1, -1), (-1, -1)])
def test_an_empty_data_window(tmp_path: Path, corner: tuple[int, int]) -> None:
    data = write(tmp_path / "d.exr")
    _, start, size = header(data, 8)[0]["dataWindow"]
    assert size == 16 and struct.unpack_from("<4i", data, start) == (0, 0, WIDTH - 1, HEIGHT - 1)
    check_refuses(exr.check_structure, tmp_path / "d.exr", patched(data, start + 8, "<2i", *corner),
            r"d\.exr: empty data window$")


def test_an_attribute_with_an_empty_value_is_no_corruption(tmp_path: Path) -> None:
    data = write(tmp_path / "d.exr", owner="")
    assert header(data, 8)[0]["owner"][2] == 0
    assert exr.check_structure(tmp_path / "d.exr") == (WIDTH, HEIGHT)


def test_an_attribute_with_a_negative_size_is_corrupt(tmp_path: Path) -> None:
    data = write(tmp_path / "d.exr")
    found, _ = header(data, 8)
    name = max(found, key=lambda key: found[key][0])  # the header's last attribute
    name_start, start, _ = found[name]
    # a size that would lead back to the NUL after the attribute's own name
    bad = patched(data, start - 4, "<i", name_start + len(name) - start)
    check_refuses(exr.check_structure, tmp_path / "d.exr", bad, r"d\.exr: truncated or corrupt OpenEXR header$")


def test_a_tiled_file_without_compression_is_not_read_as_scanlines(tmp_path: Path) -> None:
    tiles = OpenEXR.TileDescription()
    tiles.xSize = tiles.ySize = 16
    OpenEXR.File({"compression": OpenEXR.NO_COMPRESSION, "type": OpenEXR.tiledimage, "tiles": tiles},
                 {"Z": np.full((HEIGHT, WIDTH), 1e6, dtype=np.float32)}).write(str(tmp_path / "d.exr"))
    data = (tmp_path / "d.exr").read_bytes()
    assert struct.unpack_from("<i", data, 4)[0] & 0x200  # the layout's "single tile" flag
    # as scanlines (one line a chunk) its 37 "offsets" would run into the pixels: a 1e6 is no offset in this file
    assert exr.check_structure(tmp_path / "d.exr") == (WIDTH, HEIGHT)
    assert exr.check_parts(tmp_path / "d.exr") == [("", WIDTH, HEIGHT)]


def test_an_empty_last_chunk_ending_at_the_end_of_the_file_lies_inside_it(tmp_path: Path) -> None:
    data = write(tmp_path / "d.exr")
    _, table = header(data, 8)
    offsets = struct.unpack_from("<3Q", data, table)  # 37 rows of ZIP (16 a chunk): 3 chunks
    last = max(offsets)
    cut = patched(data, last + 4, "<i", 0)[:last + 8]  # its y and a size of 0, then the end of the file
    (tmp_path / "d.exr").write_bytes(cut)
    assert exr.check_structure(tmp_path / "d.exr") == (WIDTH, HEIGHT)  # nothing lies beyond the end...
    with pytest.raises(exr.ExrDecodeError, match=r"d\.exr: cannot read image \(corrupt pixel data\)$"):
        exr.read_parts(tmp_path / "d.exr")  # ...and the decoder refuses the empty chunk


@pytest.mark.parametrize("compression", ["HTJ2K256", "HTJ2K32", "ZSTD"])
def test_a_truncated_file_in_a_newer_compression(tmp_path: Path, compression: str) -> None:
    data = write(tmp_path / "d.exr", compression=compression)
    check_refuses(exr.check_structure, tmp_path / "d.exr", data[:-1], r"d\.exr: truncated")
    (tmp_path / "d.exr").write_bytes(data)
    assert exr.check_structure(tmp_path / "d.exr") == (WIDTH, HEIGHT), "the whole file passes"


@pytest.mark.parametrize("shift", [3, -8])
def test_a_newer_compression_with_a_corrupt_offset_table_is_refused(tmp_path: Path, shift: int) -> None:
    """Without a chunk height for the compression, the table's length comes from where the first chunk starts:
    a start that is not a whole number of 8-byte entries, or before the table ends, is refused."""
    data = write(tmp_path / "d.exr", compression="HTJ2K32")
    _, table = exr._header_attributes(data, tmp_path / "d.exr")
    first = struct.unpack_from("<Q", data, table)[0]
    start = table if shift < 0 else first + shift
    check_refuses(exr.check_structure, tmp_path / "d.exr", patched(data, table, "<Q", start),
            r"d\.exr: corrupt offset table \(compression 11\)$")


def test_read_single_channel_refuses_two_and_gives_float32_for_half(tmp_path: Path) -> None:
    write(tmp_path / "two.exr", {"B": pixels(), "A": pixels()})
    with pytest.raises(exr.ExrError, match=r"two\.exr: expected one channel, found \['A', 'B'\]$"):
        exr.read_single_channel(tmp_path / "two.exr")
    half = np.array([[0.1, 1000.0], [65504.0, 3.14159]], dtype=np.float16)
    write(tmp_path / "half.exr", {"Y": half})
    image = exr.read_single_channel(tmp_path / "half.exr")
    assert image.dtype == np.float32 and np.array_equal(image, half.astype(np.float32))


@pytest.mark.parametrize("read, opened", [
    (exr.read_single_channel, {"separate_channels": True}),
    (exr.read_parts, {"separate_channels": True}),
    (exr.part_channels, {"header_only": True}),
])
def test_what_openexr_refuses_is_reported_with_its_reason(tmp_path: Path, read, opened: dict) -> None:
    path = unknown_flag(tmp_path / "d.exr")
    assert exr.check_parts(path) == [("", 5, 4)]  # the structure is whole
    with pytest.raises(Exception) as raised:  # noqa: B017  (whatever the bindings raise is the reason given)
        OpenEXR.File(str(path), **opened)
    with pytest.raises(exr.ExrDecodeError) as error:
        read(path)
    assert str(error.value) == f"{path}: cannot read EXR ({raised.value})"


def test_damaged_pixel_data_leaves_the_header_readable(tmp_path: Path) -> None:
    path = tmp_path / "d.exr"
    data = write(path)
    _, table = header(data, 8)
    first = struct.unpack_from("<Q", data, table)[0]
    size = struct.unpack_from("<i", data, first + 4)[0]
    assert size < 16 * WIDTH * 4  # compressed: its bytes are a deflate stream
    damaged = bytearray(data)
    damaged[first + 10:first + 8 + size] = bytes(size - 2)
    path.write_bytes(bytes(damaged))
    assert exr.part_channels(path) == [("", ["Z"], WIDTH, HEIGHT)]
    with pytest.raises(exr.ExrDecodeError, match=r"d\.exr: cannot read image \(corrupt pixel data\)$"):
        exr.read_parts(path)


def test_read_parts_names_the_parts_of_multipart_files_only(tmp_path: Path) -> None:
    write(tmp_path / "one.exr")
    ((name, channels),) = exr.read_parts(tmp_path / "one.exr")
    assert name == "" and list(channels) == ["Z"] and np.array_equal(channels["Z"], pixels())
    multipart(tmp_path / "two.exr", {"left": (4, 3), "right": (2, 5)})
    parts = exr.read_parts(tmp_path / "two.exr")
    assert [name for name, _ in parts] == ["left", "right"]
    assert np.array_equal(parts[1][1]["Z"], pixels(5, 2))


@pytest.mark.parametrize("dtype", [np.float16, np.float64])
def test_write_single_channel_stores_float32(tmp_path: Path, dtype: type) -> None:
    values = np.array([[0.5, 2.0, 1024.0]], dtype=dtype)
    exr.write_single_channel(tmp_path / "d.exr", values)
    with OpenEXR.File(str(tmp_path / "d.exr"), separate_channels=True) as exr_file:
        channel = exr_file.channels()["Y"]
        assert exr_file.header()["compression"] == OpenEXR.ZIP_COMPRESSION
        assert channel.pixels.dtype == np.float32 and np.array_equal(channel.pixels, values.astype(np.float32))


def test_rename_refuses_a_name_longer_than_one_letter(tmp_path: Path) -> None:
    write(tmp_path / "d.exr", {"V": pixels()})
    with pytest.raises(ValueError, match=r"^channel must be one character \(an in-place patch\), got 'YY'$"):
        exr.rename_single_channel(tmp_path / "d.exr", "YY")


def test_rename_with_a_header_larger_than_the_first_read(tmp_path: Path) -> None:
    data = write(tmp_path / "d.exr", {"V": pixels()}, comments="a long comment " * 5000)
    assert header(data, 8)[1] > 1 << 16  # the header alone is over 64 KiB
    exr.rename_single_channel(tmp_path / "d.exr")
    with OpenEXR.File(str(tmp_path / "d.exr"), separate_channels=True) as exr_file:
        assert list(exr_file.channels()) == ["Y"] and np.array_equal(exr_file.channels()["Y"].pixels, pixels())


@pytest.mark.parametrize("size", [100, 70000])  # within and beyond the first read
def test_rename_refuses_what_is_not_an_exr(tmp_path: Path, size: int) -> None:
    (tmp_path / "d.exr").write_bytes(b"\x89PNG" + bytes(size))
    with pytest.raises(exr.ExrError, match=r"d\.exr: not an OpenEXR file$"):
        exr.rename_single_channel(tmp_path / "d.exr")


def test_rename_refuses_a_header_without_a_channel_list(tmp_path: Path) -> None:
    data = write(tmp_path / "d.exr", {"V": pixels()})
    name_start, _, _ = header(data, 8)[0]["channels"]
    (tmp_path / "d.exr").write_bytes(data[:name_start] + b"chanelsX" + data[name_start + 8:])
    with pytest.raises(exr.ExrError, match=r"d\.exr: no channel list$"):
        exr.rename_single_channel(tmp_path / "d.exr")


def test_multipart_cut_between_or_inside_part_headers(tmp_path: Path) -> None:
    data = multipart(tmp_path / "m.exr", SIZES)
    _, end_of_a = header(data, 8)
    message = r"m\.exr: truncated or corrupt OpenEXR header$"
    check_refuses(exr.check_parts, tmp_path / "m.exr", data[:end_of_a], message)  # after part a's header: no NUL, no b
    check_refuses(exr.check_parts, tmp_path / "m.exr", data[:end_of_a + 20], message)  # inside part b's header


def test_multipart_header_without_a_chunk_count(tmp_path: Path) -> None:
    data = multipart(tmp_path / "m.exr", SIZES)
    (part_a, part_b), _ = headers(data)
    name_start, _, _ = part_b["chunkCount"]
    renamed = data[:name_start] + b"chunkCounq" + data[name_start + 10:]
    check_refuses(exr.check_parts, tmp_path / "m.exr", renamed, r"m\.exr: truncated or corrupt OpenEXR header$")


@pytest.mark.parametrize("field, fmt, value", [
    ("dataWindow", "<i", -1),  # part b's xmax: width 0
    ("dataWindow+4", "<i", -1),  # part b's ymax: height 0
    ("chunkCount", "<i", -1),
])
def test_multipart_empty_part(tmp_path: Path, field: str, fmt: str, value: int) -> None:
    data = multipart(tmp_path / "m.exr", SIZES)
    (_, part_b), _ = headers(data)
    name, _, extra = field.partition("+")
    _, start, _ = part_b[name]
    where = start + (8 if name == "dataWindow" else 0) + int(extra or 0)
    check_refuses(exr.check_parts, tmp_path / "m.exr", patched(data, where, fmt, value),
            r"m\.exr: part 'b' has an empty data window$")


def test_multipart_empty_last_chunk_ending_at_the_end_of_the_file_lies_inside_it(tmp_path: Path) -> None:
    data = multipart(tmp_path / "m.exr", SIZES)
    _, tables = headers(data)
    (chunk_b,) = struct.unpack_from("<Q", data, tables + 8 * 3)  # after part a's three offsets
    assert struct.unpack_from("<2i", data, chunk_b) == (1, 0)  # part 1, y 0
    (tmp_path / "m.exr").write_bytes(patched(data, chunk_b + 8, "<i", 0)[:chunk_b + 12])
    assert exr.check_parts(tmp_path / "m.exr") == [("a", WIDTH, HEIGHT), ("b", 1, 1)]


def test_multipart_deep_part_chunks_are_checked_by_their_part_number(tmp_path: Path) -> None:
    data = retyped(multipart(tmp_path / "m.exr", SIZES), 1, b"deepscanline")
    (tmp_path / "m.exr").write_bytes(data)
    assert exr.check_parts(tmp_path / "m.exr") == [("a", WIDTH, HEIGHT), ("b", 1, 1)]
    _, tables = headers(data)
    (chunk_b,) = struct.unpack_from("<Q", data, tables + 8 * 3)
    assert struct.unpack_from("<i", data, chunk_b)[0] == 1
    check_refuses(exr.check_parts, tmp_path / "m.exr", data[:chunk_b + 3],
            r"m\.exr: truncated \(a chunk of part 'b' lies beyond the end of the file\)$")


@pytest.mark.parametrize("compression", LINES)
def test_every_compression_with_a_partial_last_chunk_is_checked_to_its_last_byte(tmp_path: Path,
                                                                                  compression: str) -> None:
    path = tmp_path / "d.exr"
    data = write_compressed(path, compression, gradient())
    header, table = attributes(data, 8)
    assert header["compression"][0] == list(LINES).index(compression)
    chunks = -(-HEIGHT // LINES[compression])
    offsets = struct.unpack_from(f"<{chunks}Q", data, table)
    last = max(offsets)
    # the table from the layout document describes the file: its last chunk ends where the file ends
    assert last + 8 + struct.unpack_from("<i", data, last + 4)[0] == len(data)
    assert struct.unpack_from("<i", data, last)[0] == (chunks - 1) * LINES[compression]  # first y of the chunk

    beyond = r"d\.exr: truncated \(a chunk lies beyond the end of the file\)$"
    expect(path, data, None)
    expect(path, data[:table + 8 * chunks - 1], r"d\.exr: truncated \(offset table incomplete\)$")
    expect(path, data[:table + 8 * chunks], beyond)
    expect(path, data[:last], beyond)  # the partial last chunk is missing entirely
    expect(path, data[:last + 6], beyond)  # its size field is cut
    expect(path, data[:last + 8], beyond)
    expect(path, data[:-1], beyond)
    expect(path, data + b"\0" * 3, None)  # trailing bytes do not make a file truncated


def test_a_data_window_away_from_the_origin_gives_its_own_size(tmp_path: Path) -> None:
    path = tmp_path / "d.exr"
    data = write_compressed(path, "ZIP", gradient(), dataWindow=((-5, -3), (WIDTH - 6, HEIGHT - 4)))
    expect(path, data, None)
    table = attributes(data, 8)[1]
    expect(path, data[:table + 8 * 3 - 1], r"offset table incomplete")


def test_a_one_pixel_image_is_not_empty(tmp_path: Path) -> None:
    path = tmp_path / "d.exr"
    write_compressed(path, "ZIP", np.full((1, 1), 3.0, dtype=np.float32))
    assert exr.check_structure(path) == (1, 1)
    assert exr.check_parts(path) == [("", 1, 1)]


def test_a_tiled_file_is_not_read_as_scanlines(tmp_path: Path) -> None:
    path = tmp_path / "d.exr"
    tiles = OpenEXR.TileDescription()
    tiles.xSize = tiles.ySize = 8
    OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.tiledimage, "tiles": tiles},
                 {"Z": gradient()}).write(str(path))
    assert struct.unpack_from("<i", path.read_bytes(), 4)[0] & 0x200  # the layout's "single tile" flag
    assert exr.check_structure(path) == (WIDTH, HEIGHT)


def test_single_part_files_are_one_unnamed_part(tmp_path: Path) -> None:
    path = tmp_path / "d.exr"
    write_compressed(path, "PIZ", gradient())
    assert exr.check_parts(path) == [("", WIDTH, HEIGHT)]


def test_multipart_offset_tables_and_chunks_are_checked_to_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "m.exr"
    data = multipart_with_header(path, {"a": (11, 37), "b": (1, 1)})
    position, parts = 8, []
    while data[position] != 0:
        header, position = attributes(data, position)
        parts.append((header["name"].decode(), struct.unpack("<i", header["chunkCount"])[0]))
    position += 1
    assert parts == [("a", 3), ("b", 1)]
    tables = {}
    for name, count in parts:
        tables[name] = (position, struct.unpack_from(f"<{count}Q", data, position))
        position += 8 * count
    assert exr.check_parts(path) == [("a", 11, 37), ("b", 1, 1)]

    def refused(length: int, message: str) -> None:
        path.write_bytes(data[:length])
        with pytest.raises(exr.ExrError, match=message):
            exr.check_parts(path)

    start_a, _ = tables["a"]
    _, (chunk_b,) = tables["b"]
    assert chunk_b > max(tables["a"][1])  # part b's chunk is the file's last
    # cut inside the tables: part a's table is checked first
    refused(start_a + 8 * 3 - 1, r"m\.exr: truncated \(offset table of part 'a' incomplete\)$")
    refused(start_a + 8 * 3, r"m\.exr: truncated \(a chunk of part 'a' lies beyond the end of the file\)$")
    chunk = r"m\.exr: truncated \(a chunk of part 'b' lies beyond the end of the file\)$"
    refused(chunk_b + 11, chunk)  # its 12-byte leader (part, y, size) is cut
    refused(chunk_b + 12, chunk)
    refused(len(data) - 1, chunk)
    # a chunk that names another part is corrupt
    wrong = bytearray(data)
    struct.pack_into("<i", wrong, chunk_b, 0)
    path.write_bytes(bytes(wrong))
    with pytest.raises(exr.ExrError, match="a chunk of part 'b' lies beyond"):
        exr.check_parts(path)


def test_multipart_parts_away_from_the_origin_keep_their_sizes(tmp_path: Path) -> None:
    path = tmp_path / "m.exr"
    OpenEXR.File([OpenEXR.Part({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage,
                                "displayWindow": ((0, 0), (10, 36)), "dataWindow": window},
                               {"Z": gradient(h, w)}, name)
                  for name, window, (w, h) in (("a", ((-4, -2), (6, 34)), (11, 37)),
                                               ("b", ((3, 5), (4, 5)), (2, 1)))]).write(str(path))
    assert exr.check_parts(path) == [("a", 11, 37), ("b", 2, 1)]


def test_flow_channels_and_the_vector_pass_read_back(tmp_path: Path) -> None:
    import OpenEXR

    rng = np.random.default_rng(2)
    channels = {name: rng.normal(size=(3, 4)).astype(np.float32) for name in ("R", "G", "B")}
    exr.write_channels(tmp_path / "flow.exr", channels)
    with OpenEXR.File(str(tmp_path / "flow.exr"), separate_channels=True) as read:
        assert {name: channel.pixels.tolist() for name, channel in read.channels().items()} == {
            name: pixels.tolist() for name, pixels in channels.items()}
    layer = {f"ViewLayer.Vector.{c}": rng.normal(size=(3, 4)).astype(np.float32) for c in "XYZW"}
    exr.write_channels(tmp_path / "vector.exr", {**layer, "ViewLayer.Depth.Z": np.ones((3, 4), np.float32)})
    vector = exr.read_vector_pass(tmp_path / "vector.exr")
    assert vector.shape == (3, 4, 4) and vector.dtype == np.float32
    for index, c in enumerate("XYZW"):
        assert np.array_equal(vector[..., index], layer[f"ViewLayer.Vector.{c}"])
    with pytest.raises(exr.ExrError, match=r"flow.exr: no Vector pass"):
        exr.read_vector_pass(tmp_path / "flow.exr")


def test_a_render_written_one_pass_per_part_reads_as_one_pass(tmp_path: Path) -> None:
    """5.3 writes a render's multilayer EXR as a part per pass, the samples in the first part's header."""
    rng = np.random.default_rng(4)
    vector = {f"ViewLayer.Vector.{c}": rng.normal(size=(3, 4)).astype(np.float32) for c in "XYZW"}
    depth = {"ViewLayer.Depth.Z": np.full((3, 4), 4.0, dtype=np.float32)}
    path = tmp_path / "render_0001.exr"
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    OpenEXR.File([OpenEXR.Part({**header, "cycles.ViewLayer.samples": "1"},
                               {"ViewLayer.Combined.R": np.zeros((3, 4), np.float32)}, "ViewLayer.Combined"),
                  OpenEXR.Part(dict(header), dict(depth), "ViewLayer.Depth"),  # Part makes the arrays Channels
                  OpenEXR.Part(dict(header), dict(vector), "ViewLayer.Vector")]).write(str(path))
    rendered = exr.read_rendered_pass(path)
    assert rendered.samples == 1 and rendered.layer == "ViewLayer"
    assert np.array_equal(rendered.vector[..., 3], vector["ViewLayer.Vector.W"]) and (rendered.depth == 4.0).all()
    assert np.array_equal(exr.read_vector_pass(path), rendered.vector)


def test_a_channel_in_two_parts_is_refused(tmp_path: Path) -> None:
    vector = {f"Vector.{c}": np.zeros((3, 4), np.float32) for c in "XYZW"}
    path = multipart_file(tmp_path / "views.exr", {"left": vector, "right": vector})
    with pytest.raises(exr.ExrError, match=r"views.exr: channel 'Vector.[XYZW]' is in several parts"):
        exr.read_rendered_pass(path)
    with pytest.raises(exr.ExrError, match="no such file"):
        exr.read_rendered_pass(tmp_path / "missing.exr")


def test_rgb_channels_are_x_y_z_as_float32() -> None:
    vectors = np.arange(24, dtype=np.float64).reshape(2, 4, 3)
    channels = exr.rgb_channels(vectors)
    assert list(channels) == ["R", "G", "B"] and all(value.dtype == np.float32 for value in channels.values())
    assert all(np.array_equal(channels[name], vectors[..., axis]) for axis, name in enumerate("RGB"))


def test_read_rgb_gives_back_what_rgb_channels_wrote_and_refuses_other_layouts(tmp_path: Path) -> None:
    vectors = np.random.default_rng(1).normal(size=(3, 5, 3))
    exr.write_channels(tmp_path / "v.exr", exr.rgb_channels(vectors))
    read = exr.read_rgb(tmp_path / "v.exr")
    assert read.dtype == np.float32 and read.shape == (3, 5, 3)
    np.testing.assert_array_equal(read, vectors.astype(np.float32))
    exr.write_channels(tmp_path / "rgba.exr", {**exr.rgb_channels(vectors), "A": np.ones((3, 5), np.float32)})
    with pytest.raises(exr.ExrError, match=r"rgba\.exr: expected the channels R, G, B .* found \['A', 'B', 'G', 'R'\]"):
        exr.read_rgb(tmp_path / "rgba.exr")
