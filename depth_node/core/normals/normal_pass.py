"""What Cycles' Normal pass holds. Imports no bpy.

Measured at one sample (filter 0.01 px) against the evaluated mesh's normal at the BVH hit (tests/normal_truth.py;
4.5.15 and 5.3.0, and through the job on 4.5.15, 5.0.1, 5.1.2, 5.2.3 and 5.3.0: median 1-2e-7 rad): the
world-axis shading normal, unit length to 1e-7. A smooth face's is the vertex (or
corner) normals, each turned into world axes and normalised, interpolated barycentrically and normalised (with a
non-uniform scale, interpolating in object space instead is 8.6e-3 rad off); a flat face's is its triangle's.
At a back face it is turned towards the camera (pi rad from the face's own normal, every pixel). It includes the
material's bump and normal maps (a noise bump: 1.3e-3 rad median) and, on a glossy closure, Cycles' bump map
correction (0.07 rad at grazing angles, 3 % of a smooth sphere's pixels), which the job's data pass removes (see
:mod:`depth_node.blender.normals`). Background pixels are 0. Written as a multilayer EXR its channels are
``<layer>.Normal.X`` ... ``.Z``.
"""

from __future__ import annotations

import numpy as np

from ..render_passes import pass_channels

CHANNELS = ("X", "Y", "Z")
PASS_NAME = "Normal"


def normal_channels(names: list[str]) -> list[str]:
    """The three channel names of the one Normal pass among ``names``, in X, Y, Z order; ValueError naming what was
    found when there is not exactly one."""
    return pass_channels(names, PASS_NAME, CHANNELS)


def from_channels(channels: dict[str, np.ndarray]) -> np.ndarray:
    """The (H, W, 3) float32 world-axis normals of a multilayer EXR's ``channels`` (ValueError: no single pass)."""
    return np.stack([channels[name] for name in normal_channels(list(channels))], axis=-1).astype(np.float32)
