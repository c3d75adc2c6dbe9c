"""The calibration reader's YAML subset, matrices and documents (core/calibration/formats/reader.py)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from depth_node.core.calibration import CalibrationError
from depth_node.core.calibration.formats.reader import (
    CalibrationFormatError,
    _flow,
    _scalar,
    _strip_comment,
    choose,
    integer,
    load_document,
    matrix,
    parse_yaml,
    pick,
)


@pytest.mark.parametrize("text, value", [
    ("12", 12), ("-7", -7), ("+3", 3), ("007", 7), ("1.5", 1.5), ("1.", 1.0), (".5", 0.5), ("-.25", -0.25),
    ("1e3", 1000.0), ("2.5E-2", 0.025), ("+1.0e+2", 100.0), ("-4e0", -4.0),
    ("true", True), ("True", True), ("TRUE", True), ("false", False), ("False", False), ("FALSE", False),
    ("~", None), ("null", None), ("Null", None), ("NULL", None), ("", None), ("   ", None),
    ("'quoted'", "quoted"), ('"double"', "double"), ("'12'", "12"), ("''", ""), ("'", "'"), ("'a\"", "'a\""),
    ("plumb_bob", "plumb_bob"), ("inf", "inf"), ("1.2.3", "1.2.3"), ("12abc", "12abc"), ("e5", "e5"),
    ("  padded  ", "padded"), ("!!int 5", 5), ("!!str hello", "hello"), ("!!float 2.5", 2.5), ("yes", "yes"),
    ("!!str hello world", "hello world"), ("XaX", "XaX"), ("'a'b'", "a'b"),
])
def test_scalars(text: str, value: object) -> None:
    result = _scalar(text)
    assert result == value and type(result) is type(value)


@pytest.mark.parametrize("text, value", [
    ("[1, 2, 3]", [1, 2, 3]), ("[]", []), ("[ ]", []), ("[1, 2, ]", [1, 2]), ("[[1, 2], [3]]", [[1, 2], [3]]),
    ("  [a, 'b c', ~]  ", ["a", "b c", None]), ("[[], [[4.5]]]", [[], [[4.5]]]), ("[1,2]", [1, 2]),
    ("[XY, X]", ["XY", "X"]),
])
def test_flow_sequences(text: str, value: list) -> None:
    assert _flow(text, "where") == value


@pytest.mark.parametrize("text, message", [
    ("[1, 2]]", r"^f\.yaml:3: unbalanced '\]'$"),
    ("1, 2]", r"^f\.yaml:3: unbalanced '\]'$"),
    ("[1, 2] x", r"^f\.yaml:3: cannot read the sequence '\[1, 2\] x'$"),
    ("[1, [2]", r"^f\.yaml:3: cannot read the sequence '\[1, \[2\]'$"),
    ("[1] [2]", r"^f\.yaml:3: cannot read the sequence '\[1\] \[2\]'$"),
])
def test_flow_sequence_refusals(text: str, message: str) -> None:
    with pytest.raises(CalibrationFormatError, match=message):
        _flow(text, "f.yaml:3")


@pytest.mark.parametrize("line, kept", [
    ("a: 1 # note", "a: 1"), ("a: 1\t# note", "a: 1"), ("# whole line", ""), ("a: x#y", "a: x#y"),
    ("a: 'x # y'", "a: 'x # y'"), ('a: "x # y" # z', 'a: "x # y"'), ("a: \"it's # in\" # out", "a: \"it's # in\""),
    ("a: 'say \"hi\" # in' # out", "a: 'say \"hi\" # in'"), ("a: 1 #note", "a: 1"), ("a: x# y", "a: x# y"),
    ("a: 1 #", "a: 1"), ("a: X#b", "a: X#b"), ("a: X # c", "a: X"), ("a: 1   ", "a: 1"),
    ("a: 'b' 'c # d'", "a: 'b' 'c # d'"),
])
def test_comments(line: str, kept: str) -> None:
    assert _strip_comment(line) == kept


def test_a_nested_opencv_document() -> None:
    text = ("%YAML:1.0\n"
            "---\n"
            "image_width: 640\n"
            "camera_matrix: !!opencv-matrix\n"
            "   rows: 3\n"
            "   cols: 3\n"
            "   dt: d\n"
            "   data: [ 5.0e+02, 0., 3.2e+02, 0.,\n"
            "       5.0e+02, 2.4e+02, 0., 0., 1. ]\n"
            "name: !!str cam\n"
            "\n"
            "   # an indented comment line\n"
            "...\n")
    assert parse_yaml(text) == {"image_width": 640, "camera_matrix": {
        "rows": 3, "cols": 3, "dt": "d", "data": [500.0, 0.0, 320.0, 0.0, 500.0, 240.0, 0.0, 0.0, 1.0]},
        "name": "cam"}


def test_block_sequences_of_mappings_scalars_and_nested_blocks() -> None:
    text = ("cameras:\n"
            "  - name: a\n"
            "    size: [1, 2]\n"
            "  - name: b\n"
            "    size: [3, 4]\n"
            "  - [5, 6]\n"
            "  - 'x: y'\n"
            "  - \"q: r\"\n"
            "  - plain\n"
            "  -\n"
            "    nested: 1\n"
            "after: 2\n")
    assert parse_yaml(text) == {"cameras": [{"name": "a", "size": [1, 2]}, {"name": "b", "size": [3, 4]}, [5, 6],
                                            "x: y", "q: r", "plain", {"nested": 1}], "after": 2}


def test_tags_before_flow_sequences_and_keys_with_any_letters() -> None:
    assert parse_yaml("a: !!seq [1, 2]\nXkeyX: 3\n- [a:b, c]\n".replace("\n- ", "\nb:\n  - ")) == {
        "a": [1, 2], "XkeyX": 3, "b": [["a:b", "c"]]}


def test_a_sequence_at_the_keys_own_indentation_and_empty_values() -> None:
    assert parse_yaml("a:\n- 1\n- 2\nb:\nc: 3\n'd e': 4\n\"f\": 5\nlast:\n") == {
        "a": [1, 2], "b": None, "c": 3, "d e": 4, "f": 5, "last": None}
    assert parse_yaml("- 1\n- two\n") == [1, "two"]
    assert parse_yaml("  a: 1\n  b: 2\n") == {"a": 1, "b": 2}
    assert parse_yaml("a:\n    b:\n        c: [1]\n    d: 2\n") == {"a": {"b": {"c": [1]}, "d": 2}}


def test_flow_sequences_over_several_lines_keep_their_own_line_number() -> None:
    assert parse_yaml("a: [1,\n\n  2, # two\n  3]\nb: 4\n") == {"a": [1, 2, 3], "b": 4}
    assert parse_yaml("a: [[1, 2],\n     [3, 4]]\n") == {"a": [[1, 2], [3, 4]]}
    with pytest.raises(CalibrationFormatError, match=r"^f\.yaml:2: cannot read the sequence '\[1, 2\] 3'$"):
        parse_yaml("z: 0\na: [1,\n 2] 3\n", "f.yaml")


@pytest.mark.parametrize("text, message", [
    ("a: [1, 2\nb: 3\n", r"^f\.yaml: unterminated '\['$"),
    ("", r"^f\.yaml: empty document$"),
    ("%YAML:1.0\n---\n# only a comment\n\n...\n", r"^f\.yaml: empty document$"),
    ("a: 1\n  b: 2\n", r"^f\.yaml:2: unexpected indentation$"),
    ("  a: 1\nb: 2\n", r"^f\.yaml:2: unexpected indentation$"),
    ("a:\n  b: 1\n    c: 2\n", r"^f\.yaml:3: unexpected indentation$"),
    ("a: 1\nb:2\n", r"^f\.yaml:2: expected 'key: value', got 'b:2'$"),
    ("a: 1\njust words\n", r"^f\.yaml:2: expected 'key: value', got 'just words'$"),
    ("a: 1\nb: {c: 2}\n", r"^f\.yaml:2: flow mappings are not supported$"),
    ("a: 1\nb: [1]]\n", r"^f\.yaml:2: unbalanced '\]'$"),
    ("- 1\n- [1]]\n", r"^f\.yaml:2: unbalanced '\]'$"),
    ("- a: 1\n  b:2\n", r"^f\.yaml:2: expected 'key: value', got 'b:2'$"),
    ("a:\n- x: 1\n  y:2\n", r"^f\.yaml:3: expected 'key: value', got 'y:2'$"),
])
def test_yaml_refusals_name_the_line(text: str, message: str) -> None:
    with pytest.raises(CalibrationFormatError, match=message):
        parse_yaml(text, "f.yaml")


def test_the_default_place_name() -> None:
    with pytest.raises(CalibrationFormatError, match=r"^YAML: empty document$"):
        parse_yaml("")


def test_lines_starting_with_percent_or_document_markers_are_skipped_only_whole() -> None:
    assert parse_yaml("%TAG ! x\n--- \n a: '---'\n ...\n") == {"a": "---"}
    assert parse_yaml("a: '%x'\n") == {"a": "%x"}


def test_matrix_from_every_layout() -> None:
    expected = np.arange(6.0).reshape(2, 3)
    assert np.array_equal(matrix({"rows": 2, "cols": 3, "data": list(range(6))}, None, "m"), expected)
    assert np.array_equal(matrix({"rows": 2, "cols": 3, "data": list(range(6))}, (3, 2), "m"), expected.reshape(3, 2))
    assert matrix({"rows": 2, "data": list(range(6))}, None, "m").shape == (6,)
    assert matrix({"cols": 3, "data": list(range(6))}, None, "m").shape == (6,)
    assert np.array_equal(matrix([[0, 1, 2], [3, 4, 5]], (1, 6), "m"), expected.reshape(1, 6))
    assert matrix([1, 2, 3], None, "m").dtype == np.float64
    assert matrix({"rows": 1, "cols": 1, "data": [2]}, (1, 1), "m").tolist() == [[2.0]]


@pytest.mark.parametrize("value, shape, message", [
    ({"rows": 3, "cols": 3}, None, r"^camera_matrix has no data$"),
    ({"rows": 3, "cols": 3, "data": [1] * 8}, None, r"^camera_matrix: 3x3 matrix with 8 values$"),
    ([1] * 8, (3, 3), r"^camera_matrix must have 9 values, got 8$"),
    ([1] * 10, (3, 3), r"^camera_matrix must have 9 values, got 10$"),
    ([1] * 5, (1, 6), r"^camera_matrix must have 6 values, got 5$"),
    (["a", "b"], None, r"^camera_matrix is not a list of numbers: \['a', 'b'\]$"),
    ([[1, 2], [3]], None, r"^camera_matrix is not a list of numbers: \[\[1, 2\], \[3\]\]$"),
])
def test_matrix_refusals(value: object, shape: tuple | None, message: str) -> None:
    with pytest.raises(CalibrationError, match=message):
        matrix(value, shape, "camera_matrix")


@pytest.mark.parametrize("value", [1, 2, 4096])
def test_integer_accepts_positive_ints(value: int) -> None:
    assert integer(value, "w") == value


@pytest.mark.parametrize("value, shown", [(0, "0"), (-1, "-1"), (True, "True"), (False, "False"), (64.0, "64.0"),
                                          (64.5, "64.5"), ("64", "'64'"), (None, "None")])
def test_integer_refusals(value: object, shown: str) -> None:
    with pytest.raises(CalibrationError, match=rf"^image_width must be a positive integer, got {shown}$"):
        integer(value, "image_width")


def test_choose_a_camera() -> None:
    assert choose({"cam0": 1}, None, "the camchain") == 1
    assert choose({"cam0": 1, "cam1": 2}, "cam1", "the camchain") == 2
    assert choose({"cam0": 1, "cam1": 2}, "cam0", "the camchain") == 1
    with pytest.raises(CalibrationError, match=r"^the camchain holds 2 cameras \(cam0, cam1\): name one$"):
        choose({"cam0": 1, "cam1": 2}, None, "the camchain")
    with pytest.raises(CalibrationError, match=r"^the camchain holds 0 cameras \(\): name one$"):
        choose({}, None, "the camchain")
    with pytest.raises(CalibrationError, match=r"^no camera 'cam2' \(the camchain has cam0, cam1\)$"):
        choose({"cam0": 1, "cam1": 2}, "cam2", "the camchain")


def test_pick_takes_the_first_name_present() -> None:
    assert pick({"K": 3, "camera_matrix": 1}, ("camera_matrix", "K"), "m") == 1
    assert pick({"K": 3, "cameraMatrix": 2}, ("camera_matrix", "cameraMatrix", "K"), "m") == 2
    assert pick({"K": None}, ("camera_matrix", "K"), "m") is None
    with pytest.raises(CalibrationError, match=r"^no camera matrix \(camera_matrix or cameraMatrix or K\)$"):
        pick({"k": 1}, ("camera_matrix", "cameraMatrix", "K"), "camera matrix")


def test_load_document_by_extension(tmp_path: Path) -> None:
    for name in ("a.json", "b.JSON"):
        (tmp_path / name).write_text('{"x": [1, 2.5], "y": null}')
        assert load_document(tmp_path / name) == {"x": [1, 2.5], "y": None}
    for name in ("c.yaml", "d.yml", "e.YAML", "f.Yml"):
        (tmp_path / name).write_text("x: [1, 2.5]\ny: ~\n")
        assert load_document(tmp_path / name) == {"x": [1, 2.5], "y": None}
    (tmp_path / "cameras.txt").write_text("x: 1\n")
    assert load_document(tmp_path / "cameras.txt") == "x: 1\n"


def test_load_document_refusals(tmp_path: Path) -> None:
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{")
    with pytest.raises(CalibrationFormatError, match=r"bad\.json: not valid JSON \(Expecting"):
        load_document(bad_json)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00a: 1")
    with pytest.raises(CalibrationFormatError, match=r"binary\.yaml: cannot read \("):
        load_document(binary)
    with pytest.raises(CalibrationFormatError, match=r"missing\.yaml: cannot read \("):
        load_document(tmp_path / "missing.yaml")
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("a: 1\nb:2\n")
    with pytest.raises(CalibrationFormatError, match=rf"^{str(bad_yaml)}:2: expected 'key: value'"):
        load_document(bad_yaml)
    assert issubclass(CalibrationFormatError, CalibrationError)


def test_yaml_infinities_and_nan_are_numbers() -> None:
    document = parse_yaml("a: .inf\nb: -.Inf\nc: [1, .nan]\n", "f.yaml")
    assert document["a"] == math.inf and document["b"] == -math.inf
    assert document["c"][0] == 1 and math.isnan(document["c"][1])


@pytest.mark.parametrize("text", ["a: 1\n\tb: 2\n", "a:\n \tb: 2\n"])
def test_tabs_in_indentation_are_refused(text: str) -> None:
    with pytest.raises(CalibrationFormatError, match="f.yaml:2: tabs in indentation"):
        parse_yaml(text, "f.yaml")


def test_matrix_data_that_is_not_numbers_is_a_calibration_error() -> None:
    with pytest.raises(CalibrationError, match="m is not a list of numbers"):
        matrix({"rows": 1, "cols": 2, "data": ["x", 1]}, None, "m")
