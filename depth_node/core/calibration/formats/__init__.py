"""Calibration files of other tools, one module per format, each returning a
:class:`~depth_node.core.calibration.Calibration`. Imports no bpy.

:func:`read` parses the file once (JSON, YAML or text by its extension) and gives it to the first format that
claims it. Every failure is one :class:`~depth_node.core.calibration.formats.reader.CalibrationFormatError`
naming the file, the format and what is supported.
"""

from __future__ import annotations

from pathlib import Path

from .. import Calibration, CalibrationError
from . import colmap, kalibr, opencv, ros, sidecar
from .reader import CalibrationFormatError, Format, load_document

FORMATS: tuple[Format, ...] = (
    Format("True Depth camera sidecar (K, width, height, distortion)", sidecar.claims, sidecar.read),
    Format("ROS camera_info (distortion_model plumb_bob, rational_polynomial, equidistant)", ros.claims, ros.read),
    opencv.FORMAT,
    Format(kalibr.FORMAT_NAME, kalibr.claims, kalibr.read),
    Format("COLMAP cameras.txt (" + ", ".join(colmap.MODELS) + ")", colmap.claims, colmap.read),
)

__all__ = ["FORMATS", "CalibrationFormatError", "read", "read_document"]


def read(path: str | Path, camera: str | None = None) -> Calibration:
    """The calibration in ``path`` (``camera``: its name or id where the file holds several)."""
    path = Path(path)
    if not path.is_file():
        raise CalibrationFormatError(f"{path}: no such file")
    return read_document(load_document(path), str(path), camera)


def read_document(document: object, where: str = "calibration", camera: str | None = None) -> Calibration:
    """The calibration of an already parsed document (a dict, or the text of a COLMAP file)."""
    for candidate in FORMATS:
        if candidate.claims(document):
            try:
                return candidate.read(document, camera)
            except CalibrationError as error:
                raise CalibrationFormatError(f"{where}: {candidate.name}: {error}") from None
    raise CalibrationFormatError(f"{where}: not a calibration this tool reads; supported: "
                                 + "; ".join(candidate.name for candidate in FORMATS))
