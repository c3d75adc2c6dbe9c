"""``convert --engine node``: every frame of an EXR sequence through the True Depth node, written by File Output."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import bpy

from ...blender import compat
from ...blender.binding import camera_segments
from ...blender.job_graph import wire_convert
from ...core.camera import BlenderCamera
from ...core.outputs import exports
from ..base import JobError, check_input, staging
from ..frames import DEFAULT_REQUEST, FrameResult, Request, check_request, run_frames


def load_input(path: Path, size: tuple[int, int]) -> bpy.types.Image:
    """Check one input frame's structure and size from its header, and load it (as non-colour data).

    Blender decodes the pixels when the compositor first uses them; asking for ``image.size`` here
    would decode them once more (measured: 22 ms of a 106 ms 1080p frame), so call
    :func:`check_decoded` after the render instead.
    """
    check_input(path, size)
    try:
        image = bpy.data.images.load(str(path), check_existing=False)
    except RuntimeError as error:
        raise JobError(f"{path}: cannot read image ({str(error).strip()})") from None
    image.colorspace_settings.name = "Non-Color"
    return image


def check_decoded(image: bpy.types.Image, size: tuple[int, int]) -> None:
    """Refuse a frame whose pixels Blender could not decode (its compositor then reads nothing)."""
    if tuple(image.size) != size:
        raise JobError(f"{bpy.path.abspath(image.filepath)}: cannot read image (corrupt pixel data)")


def convert_frames(scene: bpy.types.Scene, folder: Path, inputs: dict[int, Path], to: str,
                   request: Request = DEFAULT_REQUEST, kept: Sequence[exports.Record] = ()) -> list[FrameResult]:
    """Convert a sequence of distance (``to="depth"``) or depth EXRs through the node, frame by frame."""
    segments = camera_segments(scene)
    image_node, file_output = wire_convert(scene, to, segments, request.graph_kinds)
    check_request(scene, segments, request)
    with staging(folder) as stage:
        compat.set_output_directory(file_output, str(stage))

        def load(frame: int, camera: BlenderCamera) -> str:
            previous, image_node.image = image_node.image, load_input(inputs[frame], (camera.width, camera.height))
            if previous is not None:
                bpy.data.images.remove(previous)
            return f" {inputs[frame].name}"

        def check(camera: BlenderCamera) -> None:
            check_decoded(image_node.image, (camera.width, camera.height))

        return run_frames(scene, folder, list(inputs), segments, request, stage, load, check, kept=kept)
