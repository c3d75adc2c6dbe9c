"""Faults found by mutation testing in the calibration readers, each pinned before its fix."""

from __future__ import annotations

import math

import pytest

from depth_node.core.calibration import CalibrationError
from depth_node.core.calibration.formats import read_document
from depth_node.core.calibration.formats.reader import CalibrationFormatError, matrix, parse_yaml


def test_yaml_infinities_and_nan_are_numbers() -> None:
    document = parse_yaml("a: .inf\nb: -.Inf\nc: [1, .nan]\n", "f.yaml")
    assert document["a"] == math.inf and document["b"] == -math.inf
    assert document["c"][0] == 1 and math.isnan(document["c"][1])


@pytest.mark.parametrize("text", ["a: 1\n\tb: 2\n", "a:\n \tb: 2\n"])
def test_tabs_in_indentation_are_refused(text: str) -> None:
    with pytest.raises(CalibrationFormatError, match="f.yaml:2: tabs in indentation"):
        parse_yaml(text, "f.yaml")


def test_a_ros_file_without_distortion_model_is_one_line() -> None:
    with pytest.raises(CalibrationFormatError, match="no distortion_model"):
        read_document({"camera_matrix": [1, 0, 0, 0, 1, 0, 0, 0, 1], "rectification_matrix": [1]}, "c.yaml")


def test_matrix_data_that_is_not_numbers_is_a_calibration_error() -> None:
    with pytest.raises(CalibrationError, match="m is not a list of numbers"):
        matrix({"rows": 1, "cols": 2, "data": ["x", 1]}, None, "m")
