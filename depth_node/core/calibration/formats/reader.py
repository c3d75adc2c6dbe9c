"""What every calibration reader shares: the error, the registry's interface, and a small YAML reader.
Imports no bpy.

The YAML reader covers what calibration tools write (OpenCV FileStorage, ROS camera_info, Kalibr camchain):
``%YAML`` directives and ``---``, comments, nested mappings by indentation, tags such as ``!!opencv-matrix``
(ignored), flow sequences (also over several lines, as OpenCV wraps long ``data``), block sequences, and plain
or quoted scalars. It is not a general YAML parser (no anchors, multi-line strings or flow mappings), so a file
it cannot read is refused with the line, never guessed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import Calibration, CalibrationError


class CalibrationFormatError(CalibrationError):
    """A calibration file that cannot be read: the message names the file, its model and what is supported."""


@dataclass(frozen=True)
class Format:
    """One calibration file format: whether a parsed document is of it, and how to read it."""

    name: str
    claims: Callable[[Any], bool]
    """True when the parsed document (``load_document``) looks like this format."""
    read: Callable[[Any, str | None], Calibration]
    """The calibration of the document's camera (``camera``: which one, where a file holds several)."""


def load_document(path: Path) -> Any:
    """The file parsed as JSON (``.json``), YAML (``.yaml``/``.yml``) or returned as text (anything else)."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise CalibrationFormatError(f"{path}: cannot read ({error})") from None
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise CalibrationFormatError(f"{path}: not valid JSON ({error})") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        return parse_yaml(text, str(path))
    return text


def matrix(value: Any, shape: tuple[int, int] | None, what: str) -> np.ndarray:
    """A matrix from a plain list, a nested list, or an OpenCV/ROS matrix (``rows``, ``cols``, ``data``)."""
    if isinstance(value, dict):
        if "data" not in value:
            raise CalibrationError(f"{what} has no data")
        rows, cols = value.get("rows"), value.get("cols")
        try:
            data = np.asarray(value["data"], dtype=np.float64)
        except (TypeError, ValueError):
            raise CalibrationError(f"{what} is not a list of numbers: {value['data']!r}") from None
        if rows is not None and cols is not None:
            if data.size != rows * cols:
                raise CalibrationError(f"{what}: {rows}x{cols} matrix with {data.size} values")
            data = data.reshape(rows, cols)
        value = data
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise CalibrationError(f"{what} is not a list of numbers: {value!r}") from None
    if shape is not None:
        if array.size != shape[0] * shape[1]:
            raise CalibrationError(f"{what} must have {shape[0] * shape[1]} values, got {array.size}")
        array = array.reshape(shape)
    return array


def integer(value: Any, what: str) -> int:
    """A positive integer (not a bool, not 64.5)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CalibrationError(f"{what} must be a positive integer, got {value!r}")
    return value


def choose(cameras: dict[str, Any], camera: str | None, holder: str) -> Any:
    """The entry of ``camera`` in a file holding several (the only one when ``camera`` is None)."""
    if camera is None:
        if len(cameras) != 1:
            raise CalibrationError(f"{holder} holds {len(cameras)} cameras ({', '.join(cameras)}): name one")
        camera = next(iter(cameras))
    if camera not in cameras:
        raise CalibrationError(f"no camera {camera!r} ({holder} has {', '.join(cameras)})")
    return cameras[camera]


def pick(document: dict, names: tuple[str, ...], what: str) -> Any:
    """The first of ``names`` the mapping has."""
    for name in names:
        if name in document:
            return document[name]
    raise CalibrationError(f"no {what} ({' or '.join(names)})")


# --- YAML -----------------------------------------------------------------------------------------------------

_SCALAR_INT = re.compile(r"[-+]?\d+$")
_SCALAR_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|[-+]?\.(inf|Inf|INF)$|\.(nan|NaN|NAN)$")


def _scalar(text: str) -> Any:
    text = text.strip()
    if text.startswith("!!"):  # a tag on a scalar: keep the value
        text = text.partition(" ")[2].strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    if text in ("", "~", "null", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if _SCALAR_INT.match(text):
        return int(text)
    if _SCALAR_FLOAT.match(text):  # YAML writes infinity and NaN as .inf and .nan (any case)
        return float(text.replace(".", "", 1) if text.lower().lstrip("+-").startswith((".inf", ".nan")) else text)
    return text


def _flow(text: str, where: str) -> Any:
    """A flow sequence ``[a, b, [c, d]]``."""
    items, stack, token = [], [], ""
    for char in text.strip():
        if char == "[":
            stack.append(items)
            items = []
        elif char in ",]":
            if token.strip():
                items.append(_scalar(token))
            token = ""
            if char == "]":
                if not stack:
                    raise CalibrationFormatError(f"{where}: unbalanced ']'")
                finished, items = items, stack.pop()
                items.append(finished)
        else:
            token += char
    if stack or token.strip() or len(items) != 1:
        raise CalibrationFormatError(f"{where}: cannot read the sequence {text.strip()!r}")
    return items[0]


def _strip_comment(line: str) -> str:
    quote = None
    for index, char in enumerate(line):
        if char in "'\"":
            quote = None if quote == char else quote or char
        elif char == "#" and quote is None and (index == 0 or line[index - 1] in " \t"):
            return line[:index].rstrip()
    return line.rstrip()


def parse_yaml(text: str, where: str = "YAML") -> Any:
    """The document of a calibration YAML file (see the module docstring for what is covered)."""
    lines: list[tuple[int, str, int]] = []
    pending, pending_indent, pending_line = "", 0, 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.startswith("%") or raw.strip() in ("---", "..."):
            continue
        line = _strip_comment(raw)
        if not line.strip():
            continue
        if pending:  # a flow sequence continued over lines
            pending += " " + line.strip()
            if pending.count("[") == pending.count("]"):
                lines.append((pending_indent, pending, pending_line))
                pending = ""
            continue
        indent, content = len(line) - len(line.lstrip(" \t")), line.strip()
        if "\t" in line[:indent]:
            raise CalibrationFormatError(f"{where}:{number}: tabs in indentation")
        if content.count("[") > content.count("]"):
            pending, pending_indent, pending_line = content, indent, number
            continue
        lines.append((indent, content, number))
    if pending:
        raise CalibrationFormatError(f"{where}: unterminated '['")
    if not lines:
        raise CalibrationFormatError(f"{where}: empty document")
    value, end = _block(lines, 0, lines[0][0], where)
    if end != len(lines):
        raise CalibrationFormatError(f"{where}:{lines[end][2]}: unexpected indentation")
    return value


def _value(text: str, lines: list, index: int, indent: int, where: str, number: int) -> tuple[Any, int]:
    """The value after ``key:`` or ``- ``: inline, or the nested block on the following lines."""
    text = text.strip()
    if text.startswith("!!") and " " not in text:  # a tag alone (``!!opencv-matrix``): the block follows
        text = ""
    elif text.startswith("!!"):
        text = text.partition(" ")[2].strip()
    if text.startswith("["):
        return _flow(text, f"{where}:{number}"), index
    if text.startswith("{"):
        raise CalibrationFormatError(f"{where}:{number}: flow mappings are not supported")
    if text:
        return _scalar(text), index
    if index < len(lines) and lines[index][0] > indent:
        return _block(lines, index, lines[index][0], where)
    if index < len(lines) and lines[index][0] == indent and lines[index][1].startswith("- "):
        return _block(lines, index, indent, where)  # a sequence at the key's own indentation
    return None, index


def _block(lines: list, index: int, indent: int, where: str) -> tuple[Any, int]:
    first = lines[index][1]
    if first == "-" or first.startswith("- "):
        items = []
        while index < len(lines) and lines[index][0] == indent and (lines[index][1] == "-"
                                                                      or lines[index][1].startswith("- ")):
            _, content, number = lines[index]
            rest = content[1:].strip()
            if ":" in rest and not rest.startswith("[") and not rest.startswith(("'", '"')):
                # a mapping inside a sequence item: re-read its first line at the item's content indentation
                lines[index] = (indent + 2, rest, number)
                value, index = _block(lines, index, indent + 2, where)
            else:
                value, index = _value(rest, lines, index + 1, indent, where, number)
            items.append(value)
        return items, index
    mapping: dict[str, Any] = {}
    while index < len(lines) and lines[index][0] == indent:
        _, content, number = lines[index]
        key, colon, rest = content.partition(":")
        if not colon or (rest and not rest.startswith(" ")):
            raise CalibrationFormatError(f"{where}:{number}: expected 'key: value', got {content!r}")
        key = key.strip().strip("'\"")
        value, index = _value(rest, lines, index + 1, indent, where, number)
        mapping[key] = value
    if index < len(lines) and lines[index][0] > indent:
        raise CalibrationFormatError(f"{where}:{lines[index][2]}: unexpected indentation")
    return mapping, index
