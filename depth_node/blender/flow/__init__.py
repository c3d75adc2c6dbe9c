"""Flow inside Blender: the Vector pass of the job's data pass, made exact at the background and given a
visibility decided by the scene's geometry (:mod:`.visibility`).

The pass's flow is kept as Cycles wrote it (exact at one sample, measured: see
:mod:`depth_node.core.flow.vector_pass`); rays that hit nothing take the flow of their direction
(:mod:`depth_node.core.flow.infinity`); ``valid`` is 1 only where the geometry proves the point is the one
the other frame sees. A calibrated (OSL) camera's pass is wrong (measured on 5.3.0: 1.9 px median, where the
flow was 2 px): its flow is the tracked point imaged by the other frame's calibration.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import bpy
import numpy as np

from ...core.calibration import from_sidecar
from ...core.errors import JobError
from ...core.flow import DIRECTIONS, STEP, Flow
from ...core.flow.infinity import has_rays, infinity_flow, lands_on_image, project_points, with_background
from ...core.flow.vector_pass import from_vector_pass
from ...core.formats import exr
from ..binding import Segments, camera_at_frame
from .visibility import SEEN, UNDECIDED, Hits, first_hits, seen_from


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
        calibrated = from_sidecar(meta) is not None
        try:  # an OSL camera's Vector pass is wrong (measured: 1.9 px median): its flow comes from the geometry
            pass_flow = None if calibrated else from_vector_pass(
                vector if isinstance(vector, np.ndarray) else exr.read_vector_pass(vector))
        except exr.ExrError as error:
            raise JobError(f"frame {frame}: {error}") from None
        hits = first_hits(scene, frame, meta, depth)
        rayless = ~has_rays(meta)  # a panorama's pixels outside its image circle: 0 and invalid
        shape = hits.parts.shape
        result, undecided, unknown = {}, 0, 0
        try:
            for direction in DIRECTIONS:
                if cut[direction]:
                    result[direction] = Flow(np.zeros(shape + (2,), dtype=np.float32), np.zeros(shape, bool))
                    continue
                other = frame + STEP[direction]
                scene.frame_set(other)
                other_meta = sidecar_at(other)
                seen, moved = seen_from(scene, other, hits, other_meta)
                if calibrated:
                    uv, inside, missing = _geometric_flow(hits, seen, moved, meta, other_meta)
                    unknown += int((missing & ~rayless).sum())
                    ahead = np.ones(shape, dtype=bool)
                else:
                    uv, ahead = with_background(pass_flow[direction].astype(np.float64), hits.background, meta,
                                                other_meta)
                    inside = lands_on_image(other_meta, uv)
                uv = np.where(rayless[..., None], 0.0, uv)
                valid = (seen == SEEN) & ahead & inside & ~rayless
                undecided += int(((seen == UNDECIDED) & inside & ~rayless).sum())
                result[direction] = Flow(uv.astype(np.float32), valid)
        finally:
            scene.frame_set(frame)
        report = {"flow pixels undecided (seen-through or untracked surfaces: valid 0)": undecided}
        if calibrated:
            report["flow pixels unknown (a calibrated camera's surface not tracked: 0, invalid)"] = unknown
        return result, report

    return flows


def _geometric_flow(hits: Hits, seen: np.ndarray, moved: np.ndarray, meta: dict, other: dict
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(uv, on the other image, unknown)`` of a calibrated camera: each tracked point (and each escaped ray's
    direction) imaged by the other frame's calibration; 0 where the point is not tracked."""
    rows, columns = np.mgrid[0:hits.parts.shape[0], 0:hits.parts.shape[1]].astype(np.float64)
    positions, on_image = project_points(other, moved)
    known = (hits.parts >= 0) & (seen != UNDECIDED)
    sky, ahead = infinity_flow(meta, other)
    uv = np.where(known[..., None], positions - np.stack([columns, rows], axis=-1), 0.0)
    uv = np.where(hits.background[..., None], sky, uv)
    return (np.where(np.isfinite(uv), uv, 0.0), np.where(hits.background, ahead, on_image & known),
            ~hits.background & ~known)
