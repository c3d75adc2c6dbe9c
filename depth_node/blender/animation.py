"""F-curves of an ID, and writing many constant keys at once (the same API on 4.5, 5.0 and 5.3, measured)."""

from __future__ import annotations

from collections.abc import Sequence

import bpy
import numpy as np
from bpy_extras import anim_utils

_CONSTANT = 0
"""``KeyframePoint.interpolation`` items start with CONSTANT."""


def fcurves(id_data: bpy.types.ID) -> bpy.types.bpy_prop_collection | None:
    """The F-curves of ``id_data``'s action for its slot (None when it has no action)."""
    animation = id_data.animation_data
    if animation is None or animation.action is None:
        return None
    channelbag = anim_utils.action_get_channelbag_for_slot(animation.action, animation.action_slot)
    return None if channelbag is None else channelbag.fcurves


def find_fcurve(id_data: bpy.types.ID, data_path: str, index: int = 0) -> bpy.types.FCurve | None:
    """The F-curve animating ``data_path`` of ``id_data``, if any."""
    curves = fcurves(id_data)
    return None if curves is None else curves.find(data_path, index=index)


def remove_fcurve(id_data: bpy.types.ID, data_path: str) -> None:
    """Remove the F-curve animating ``data_path`` (keyframes, not drivers), if any."""
    curves = fcurves(id_data)
    fcurve = None if curves is None else curves.find(data_path)
    if fcurve is not None:
        curves.remove(fcurve)


def set_constant_keys(id_data: bpy.types.ID, data_path: str, frames: Sequence[int], values: Sequence[float]
                      ) -> bpy.types.FCurve:
    """Replace ``data_path``'s animation with CONSTANT keys ``(frame, value)`` (frames ascending, distinct)."""
    remove_fcurve(id_data, data_path)
    id_data.keyframe_insert(data_path, frame=frames[0])
    fcurve = find_fcurve(id_data, data_path)
    points = fcurve.keyframe_points
    points.add(len(frames) - 1)
    points.foreach_set("co", np.column_stack([frames, values]).astype(np.float32).ravel())
    points.foreach_set("interpolation", np.full(len(frames), _CONSTANT, dtype=np.int32))
    fcurve.update()
    return fcurve
