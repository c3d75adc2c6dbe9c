"""PNG previews (core/outputs/preview.py): viridis against matplotlib, glyphs, layout, and PNGs decoded by libpng."""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from depth_node.core.outputs import preview

cv2 = pytest.importorskip("cv2", reason="OpenCV (libpng) decodes the PNGs (a test dependency)")


# matplotlib's viridis sampled at 0, 1/4, 1/2, 3/4, 1 (its five-colour palette); the fit is within 4/255.
PALETTE = np.array([[0x44, 0x01, 0x54], [0x3B, 0x52, 0x8B], [0x21, 0x91, 0x8C], [0x5E, 0xC9, 0x62],
                    [0xFD, 0xE7, 0x25]])


# The glyphs as drawn (3 wide, 5 tall), written out.
ART = {
    "0": ["###", "#.#", "#.#", "#.#", "###"],
    "1": [".#.", "##.", ".#.", ".#.", "###"],
    "4": ["#.#", "#.#", "###", "..#", "..#"],
    "7": ["###", "..#", ".#.", ".#.", ".#."],
    ".": ["...", "...", "...", "...", ".#."],
    "-": ["...", "...", "###", "...", "..."],
    "m": ["...", "###", "###", "#.#", "#.#"],
}


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    found, position = [], 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position:position + 4])
        kind, body = data[position + 4:position + 8], data[position + 8:position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length:position + 12 + length])
        assert crc == zlib.crc32(kind + body)
        found.append((kind, body))
        position += 12 + length
    return found


def read_png(path: Path) -> np.ndarray:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    position, compressed = 8, b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position:position + 4])
        kind = data[position + 4:position + 8]
        if kind == b"IDAT":
            compressed += data[position + 8:position + 8 + length]
        position += 12 + length
    rows = np.frombuffer(zlib.decompress(compressed), dtype=np.uint8).reshape(height, 1 + 3 * width)
    assert np.all(rows[:, 0] == 0)  # filter type None
    return rows[:, 1:].reshape(height, width, 3)


def test_viridis_quartiles_match_matplotlib() -> None:
    got = preview.viridis(np.array([0.0, 0.25, 0.5, 0.75, 1.0])).astype(int)
    assert np.abs(got - PALETTE).max() <= 4
    assert got.shape == (5, 3)


def test_viridis_clips_and_counts_nan_as_zero() -> None:
    low, high = preview.viridis(np.array(0.0)), preview.viridis(np.array(1.0))
    got = preview.viridis(np.array([-3.0, np.nan, 7.0, np.inf, -np.inf]))
    assert got.dtype == np.uint8
    assert np.array_equal(got, [low, low, high, high, low])


def test_viridis_is_a_1024_entry_table_rounded_to_the_nearest_entry() -> None:
    table = preview.viridis(np.arange(1024) / 1023.0)
    assert len(np.unique(table, axis=0)) > 500, "a table of 1024 entries, not fewer"
    # half a step above an entry still rounds to it; just past half a step goes to the next one
    for index in (100, 700):
        assert np.array_equal(preview.viridis(np.array((index + 0.49) / 1023.0)), table[index])
        assert np.array_equal(preview.viridis(np.array((index + 0.51) / 1023.0)), table[index + 1])
    # the table itself follows the polynomial at its own sample points
    t = np.linspace(0.0, 1.0, 1024)
    assert np.array_equal(preview._VIRIDIS_LUT, table)
    assert np.abs(preview._viridis_polynomial(t).astype(int) - table.astype(int)).max() == 0


def test_the_polynomial_is_clipped_to_bytes() -> None:
    t = np.array([-2.0, 2.0, 3.0])  # far outside [0, 1]: every channel saturates
    colours = preview._viridis_polynomial(t)
    assert colours.dtype == np.uint8
    polynomial = np.stack([np.polyval(preview._VIRIDIS[::-1, channel], t) for channel in range(3)], axis=-1)
    assert np.all(np.abs(polynomial) > 1.0)
    assert np.array_equal(colours, np.where(polynomial > 0, 255, 0))


@pytest.mark.parametrize("value, surface", [
    (1e-30, True), (0.0, False), (-0.0, False), (-1e-30, False), (5.0, True), (np.nan, False), (np.inf, False),
    (-np.inf, False), (1e9, False), (np.nextafter(1e9, 0), True), (1e10, False),
])
def test_surface_mask_boundaries(value: float, surface: bool) -> None:
    assert bool(preview.surface_mask(np.array([value]))[0]) is surface
    assert preview.BACKGROUND_LIMIT == 1e9


@pytest.mark.parametrize("value, text", [
    (0.001, "0.001"), (0.000999, "9.99e-04"), (1.0, "1"), (2.5, "2.5"), (12.3456, "12.35"), (99999.0, "1e+05"),
    (100000.0, "1.00e+05"), (123456.0, "1.23e+05"), (-3.25, "-3.25"), (-0.0005, "-5.00e-04"), (0.0, "0.00e+00"),
])
def test_scale_numbers(value: float, text: str) -> None:
    assert preview._format(value) == text


@pytest.mark.parametrize("character", sorted(ART))
def test_glyphs_are_drawn_twice_size_at_their_place(character: str) -> None:
    canvas = np.zeros((20, 30, 3), dtype=np.uint8)
    preview._draw_text(canvas, " " + character, 3, 1)  # the second character starts 4 x 2 pixels further
    bits = np.array([[c == "#" for c in row] for row in ART[character]])
    expected = np.zeros((20, 30), dtype=bool)
    expected[3:13, 9:15] = np.kron(bits, np.ones((2, 2), dtype=bool))
    assert np.array_equal(canvas[..., 0] == 255, expected)
    assert np.array_equal(canvas[..., 0], canvas[..., 2]) and set(np.unique(canvas)) <= {0, 255}


def test_every_glyph_is_a_3x5_bitmap_and_unknown_characters_are_blank() -> None:
    text = "".join(sorted(preview._GLYPHS))
    canvas = np.zeros((12, 8 * len(text) + 4, 3), dtype=np.uint8)
    preview._draw_text(canvas, text, 1, 2)
    for index, character in enumerate(text):
        cell = canvas[1:11, 2 + 8 * index:2 + 8 * index + 6, 0]
        bits = np.array([bit == "1" for bit in preview._GLYPHS[character]]).reshape(5, 3)
        assert np.array_equal(cell == 255, np.kron(bits, np.ones((2, 2), dtype=bool))), character
    assert np.count_nonzero(canvas[:, :, 0]) == 4 * sum(glyph.count("1") for glyph in preview._GLYPHS.values())
    assert not canvas[0].any() and not canvas[11].any()
    blank = np.zeros((12, 20, 3), dtype=np.uint8)
    preview._draw_text(blank, "?#x ", 1, 1)
    assert not blank.any()


def test_text_is_clipped_at_the_canvas_edge() -> None:
    canvas = np.zeros((6, 5, 3), dtype=np.uint8)
    preview._draw_text(canvas, "8", 1, 1)  # the glyph is 10 tall and 6 wide: only 5 x 4 fits
    assert canvas[1, 1:5, 0].tolist() == [255, 255, 255, 255]
    assert canvas[3, 1:5, 0].tolist() == [255, 255, 0, 0]
    assert not canvas[0].any() and not canvas[:, 0].any()


@pytest.mark.parametrize("width, height, zoom, step", [
    (20, 10, 8, 1), (160, 4, 1, 1), (161, 3, 1, 1), (159, 3, 2, 1), (480, 2, 1, 1), (481, 2, 1, 2), (961, 2, 1, 3),
    (1, 1, 160, 1),
])
def test_layout_sizes(width: int, height: int, zoom: int, step: int) -> None:
    distance = np.ones((height, width), dtype=np.float32)
    image = preview.side_by_side(distance, distance)
    panel_w, panel_h = math.ceil(width / step) * zoom, math.ceil(height / step) * zoom
    assert image.shape == (16 + panel_h + 34, 2 * panel_w + 8, 3) and image.dtype == np.uint8
    gap = image[16:16 + panel_h, panel_w:panel_w + 8]
    assert np.all(gap == 32)


def test_panels_colours_scale_and_bar() -> None:
    distance = np.array([[2.0, 4.0, 6.0, 0.0], [np.nan, 1e10, -1.0, 3.0]])
    depth = np.array([[2.0, 2.0, 2.0, 2.0], [np.inf, 2.0, 2.0, 5.0]])
    image = preview.side_by_side(distance, depth)
    zoom = 40
    panel = 4 * zoom

    def left(row: int, column: int) -> np.ndarray:
        return image[16 + row * zoom + zoom // 2, column * zoom + zoom // 2]

    def right(row: int, column: int) -> np.ndarray:
        return image[16 + row * zoom + zoom // 2, panel + 8 + column * zoom + zoom // 2]

    # one scale over both panels: 2 (lowest) .. 6 (highest)
    assert np.array_equal(left(0, 0), preview.viridis(np.array(0.0)))
    assert np.array_equal(left(0, 1), preview.viridis(np.array(0.5)))
    assert np.array_equal(left(0, 2), preview.viridis(np.array(1.0)))
    assert np.array_equal(left(1, 3), preview.viridis(np.array(0.25)))
    assert np.array_equal(right(1, 3), preview.viridis(np.array(0.75)))
    assert np.array_equal(right(0, 0), preview.viridis(np.array(0.0)))
    for pixel in (left(0, 3), left(1, 0), left(1, 1), left(1, 2), right(1, 0)):
        assert pixel.tolist() == [96, 96, 96]
    assert image[0, :].tolist() == [[32, 32, 32]] * image.shape[1]  # the title's margin
    bar_top = 16 + 2 * zoom + 4
    bar = image[bar_top:bar_top + 8]
    ramp = preview.viridis(np.linspace(0.0, 1.0, image.shape[1]))
    assert np.array_equal(bar, np.broadcast_to(ramp, bar.shape))
    assert image[bar_top - 1].tolist() == [[32, 32, 32]] * image.shape[1]
    assert image[bar_top + 8].tolist() == [[32, 32, 32]] * image.shape[1]
    text = image[bar_top + 10:bar_top + 20]
    assert set(np.unique(text)) == {32, 255}
    canvas = np.full((10, image.shape[1], 3), 32, dtype=np.uint8)
    preview._draw_text(canvas, "2", 0, 2)
    label = "6 m"
    preview._draw_text(canvas, label, 0, image.shape[1] - len(label) * 8 - 2)
    assert np.array_equal(text, canvas)
    title = image[2:12]
    canvas = np.full((10, image.shape[1], 3), 32, dtype=np.uint8)
    preview._draw_text(canvas, "DISTANCE", 0, 2)
    preview._draw_text(canvas, "DEPTH", 0, panel + 8 + 2)
    assert np.array_equal(title, canvas)


@pytest.mark.filterwarnings("error")
def test_no_surface_at_all_and_a_flat_scene() -> None:
    empty = np.zeros((3, 4))
    image = preview.side_by_side(empty, empty, unit="")
    panel = image[16:16 + 3 * 40, :4 * 40]
    assert np.all(panel == 96)
    text = image[16 + 120 + 14:16 + 120 + 24]
    canvas = np.full((10, image.shape[1], 3), 32, dtype=np.uint8)
    preview._draw_text(canvas, "0.00e+00", 0, 2)
    preview._draw_text(canvas, "1", 0, image.shape[1] - 8 - 2)  # no unit: no trailing space
    assert np.array_equal(text, canvas)
    flat = np.full((3, 4), 7.0)
    flat[0, 0] = 0.0  # background next to a flat surface: no division by a zero span
    image = preview.side_by_side(flat, flat)
    assert np.array_equal(image[16 + 60, 60], preview.viridis(np.array(0.0)))
    assert image[16 + 20, 20].tolist() == [96, 96, 96]


def test_a_scale_label_wider_than_the_image_starts_at_the_margin() -> None:
    image = preview.side_by_side(np.full((1, 1), 2.0), np.full((1, 1), 2.0), unit="m" * 50)
    assert image.shape[1] == 2 * 160 + 8
    text = image[16 + 160 + 14:16 + 160 + 24]
    canvas = np.full((10, image.shape[1], 3), 32, dtype=np.uint8)
    preview._draw_text(canvas, "2", 0, 2)
    preview._draw_text(canvas, "2 " + "m" * 50, 0, 2)  # drawn over the low label, clipped at the right edge
    assert np.array_equal(text, canvas)


def test_a_wide_frame_is_subsampled_from_its_first_pixel() -> None:
    distance = np.tile(np.arange(1, 962, dtype=np.float64), (3, 1))  # 961 wide: every third pixel
    distance[:, 1::3] = 0.0  # never sampled: no grey appears
    image = preview.side_by_side(distance, distance)
    panel = image[16:17, :321]
    assert not np.any(np.all(panel == 96, axis=-1))
    assert np.array_equal(panel[0, 0], preview.viridis(np.array(0.0)))
    assert np.array_equal(panel[0, -1], preview.viridis(np.array(1.0)))


def test_mismatched_or_flat_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match=r"^expected two HxW arrays of one shape, got \(2, 3\) and \(3, 2\)$"):
        preview.side_by_side(np.ones((2, 3)), np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"^expected two HxW arrays of one shape, got \(6,\) and \(6,\)$"):
        preview.side_by_side(np.ones(6), np.ones(6))


def test_rgb_png_decoded_by_libpng(tmp_path: Path) -> None:
    pixels = np.random.default_rng(5).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    path = tmp_path / "rgb.png"
    preview.write_png(path, pixels)
    decoded = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert decoded.dtype == np.uint8 and np.array_equal(decoded[..., ::-1], pixels)
    kinds = chunks(path.read_bytes())
    assert [kind for kind, _ in kinds] == [b"IHDR", b"IDAT", b"IEND"]
    assert kinds[0][1] == struct.pack(">IIBBBBB", 5, 7, 8, 2, 0, 0, 0) and kinds[2][1] == b""


def test_sixteen_bit_png_decoded_by_libpng(tmp_path: Path) -> None:
    pixels = np.array([[0, 1, 255, 256], [65535, 4660, 43981, 32768], [7, 8, 9, 10]], dtype=np.uint16)
    path = tmp_path / "depth16.png"
    preview.write_png(path, pixels)
    decoded = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert decoded.dtype == np.uint16 and np.array_equal(decoded, pixels)
    header = chunks(path.read_bytes())[0][1]
    assert header == struct.pack(">IIBBBBB", 4, 3, 16, 0, 0, 0, 0)
    # a float image that is not uint16 is written as 8-bit RGB
    preview.write_png(tmp_path / "as8.png", np.full((2, 2, 3), 9.0))
    assert np.array_equal(cv2.imread(str(tmp_path / "as8.png"), cv2.IMREAD_UNCHANGED), np.full((2, 2, 3), 9))
    rgb16 = np.arange(12, dtype=np.uint16).reshape(2, 2, 3) * 5000  # 3 channels of uint16: 16-bit RGB
    preview.write_png(tmp_path / "rgb16.png", rgb16)
    read = cv2.imread(str(tmp_path / "rgb16.png"), cv2.IMREAD_UNCHANGED)
    assert read.dtype == np.uint16 and np.array_equal(read[..., ::-1], rgb16)
    preview.write_png(str(tmp_path / "str.png"), pixels)
    assert (tmp_path / "str.png").read_bytes() == path.read_bytes()


def test_preview_shares_one_scale_and_greys_the_background(tmp_path: Path) -> None:
    distance = np.tile(np.linspace(5.0, 6.0, 20), (10, 1)).astype(np.float32)
    depth = np.full_like(distance, 5.0)
    distance[0, 0] = depth[0, 0] = 0.0
    image = preview.side_by_side(distance, depth)
    path = tmp_path / "preview.png"
    preview.write_png(path, image)
    np.testing.assert_array_equal(read_png(path), image)
    zoom = 160 // 20
    title = 16
    left_panel = image[title:title + 10 * zoom, :20 * zoom]
    right_panel = image[title:title + 10 * zoom, 20 * zoom + 8:]
    assert tuple(left_panel[0, 0]) == (96, 96, 96) == tuple(right_panel[0, 0])
    # Depth 5.0 is the scale's minimum in both panels: the same colour as the left panel's 5.0 column.
    np.testing.assert_array_equal(right_panel[5 * zoom, 5 * zoom], left_panel[5 * zoom, 0])
    np.testing.assert_array_equal(left_panel[5 * zoom, -1], preview.viridis(np.array(1.0)))


def test_viridis_endpoints_match_matplotlib() -> None:
    # matplotlib's viridis: #440154 at 0, #21918c at 0.5, #fde725 at 1 (the fit is within 4/255).
    expected = np.array([[0x44, 0x01, 0x54], [0x21, 0x91, 0x8C], [0xFD, 0xE7, 0x25]])
    got = preview.viridis(np.array([0.0, 0.5, 1.0])).astype(int)
    assert np.max(np.abs(got - expected)) <= 4


def test_a_panel_goes_beside_the_preview() -> None:
    distance = np.tile(np.linspace(5.0, 6.0, 20), (10, 1)).astype(np.float32)
    canvas = preview.side_by_side(distance, distance)
    colours = np.zeros((10, 20, 3), dtype=np.uint8)
    colours[2:5, 3:7] = (200, 10, 30)
    wider = preview.panel_beside(canvas, colours, "FLOW")
    zoom = 8  # 160 px for a 20-pixel frame
    assert wider.shape == (canvas.shape[0], canvas.shape[1] + 8 + 20 * zoom, 3)
    assert np.array_equal(wider[:, :canvas.shape[1]], canvas)
    left, top = canvas.shape[1] + 8, 16
    panel = wider[top:top + 10 * zoom, left:]
    assert np.array_equal(panel[::zoom, ::zoom], colours)
    assert (wider[2:12, left:left + 30] == 255).any(), "the title is drawn"
    with pytest.raises(ValueError, match="does not fit"):
        preview.panel_beside(canvas, np.zeros((40, 20, 3), dtype=np.uint8), "FLOW")
