"""Flow inside Blender: the Vector pass of the job's data pass, made exact at the background and given a
visibility decided by the scene's geometry (:mod:`.visibility`).

The pass's flow is kept as Cycles wrote it (exact at one sample, measured: see
:mod:`depth_node.core.flow.vector_pass`); rays that hit nothing take the flow of their direction
(:mod:`depth_node.core.flow.infinity`); ``valid`` is 1 only where the geometry proves the point is the one
the other frame sees.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import bpy
import numpy as np

from ...core.errors import JobError
from ...core.flow import DIRECTIONS, STEP, Flow
from ...core.flow.infinity import has_rays, lands_on_image, with_background
from ...core.flow.vector_pass import from_vector_pass
from ...core.formats import exr
from ..binding import Segments, camera_at_frame
from .visibility import SEEN, UNDECIDED, first_hits, seen_from

VECTOR_PATTERN = "vector_####"
VECTOR_LAYER = "Vector"


def vector_file(stage: Path, frame: int, view_suffix: str = "") -> Path:
    """The multilayer EXR the data pass writes a view's Vector pass into (staged, never published; each view of
    a stereo or multi-view render has its own, ``vector_0001_L.exr``, measured on 4.5 and 5.0)."""
    return stage / f"{VECTOR_PATTERN.replace('####', f'{frame:04d}')}{view_suffix}.exr"


def camera_cuts(scene: bpy.types.Scene, frame: int, segments: Segments) -> dict[str, bool]:
    """Per direction: whether a timeline marker switches the camera between ``frame`` and the other frame."""
    camera = camera_at_frame(scene, frame, segments)
    return {direction: camera_at_frame(scene, frame + STEP[direction], segments) != camera
            for direction in DIRECTIONS}


def frame_flows(scene: bpy.types.Scene, frame: int, meta: dict, vector: Path | np.ndarray, cut: dict[str, bool],
                sidecar_at: Callable[[int], dict]) -> Callable[[np.ndarray], tuple[dict[str, Flow], dict[str, int]]]:
    """What :func:`~depth_node.commands.frame_files.stage_frame` calls with the frame's rendered depth: both
    directions' :class:`Flow` and the counts for the summary. ``sidecar_at(other)`` is the sidecar of this view
    at another frame (the scene is at that frame when it is called)."""

    def flows(depth: np.ndarray) -> tuple[dict[str, Flow], dict[str, int]]:
        try:
            pass_flow = from_vector_pass(vector if isinstance(vector, np.ndarray) else exr.read_vector_pass(vector))
        except exr.ExrError as error:
            raise JobError(f"frame {frame}: {error}") from None
        hits = first_hits(scene, frame, meta, depth)
        rayless = ~has_rays(meta)  # a panorama's pixels outside its image circle: 0 and invalid
        result, undecided = {}, 0
        try:
            for direction in DIRECTIONS:
                uv = pass_flow[direction].astype(np.float64)
                if cut[direction]:
                    result[direction] = Flow(np.zeros_like(uv, dtype=np.float32), np.zeros(uv.shape[:2], bool))
                    continue
                other = frame + STEP[direction]
                scene.frame_set(other)
                other_meta = sidecar_at(other)
                uv, ahead = with_background(uv, hits.background, meta, other_meta)
                uv = np.where(rayless[..., None], 0.0, uv)
                seen, inside = seen_from(scene, other, hits, other_meta), lands_on_image(other_meta, uv)
                valid = (seen == SEEN) & ahead & inside & ~rayless
                undecided += int(((seen == UNDECIDED) & inside).sum())
                result[direction] = Flow(uv.astype(np.float32), valid)
        finally:
            scene.frame_set(frame)
        return result, {"flow pixels undecided (deforming or seen-through surfaces: valid 0)": undecided}

    return flows
