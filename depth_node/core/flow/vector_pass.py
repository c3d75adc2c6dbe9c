"""What Blender's Vector pass holds, in this room's convention. Imports no bpy.

Measured on 4.5.15, 5.0.1, 5.1.2, 5.2.3 and 5.3.0 at one sample (filter 0.01 px) against the hit tracked on the
mesh (tests/flow_truth.py): with EXR rows top-down, the pass's (X, Y) is the motion to f-1 with y up and
(Z, W) minus the motion to f+1 with y up, so backward = (X, -Y) and forward = (-Z, W); median 4e-6 px, max
2e-5 px for camera, rigid and shape-key motion. Written as a multilayer EXR its channels are
``<layer>.Vector.X`` ... ``.W`` on every version.
"""

from __future__ import annotations

import numpy as np

from . import BACKWARD, FORWARD

CHANNELS = ("X", "Y", "Z", "W")
PASS_NAME = "Vector"


def from_vector_pass(vector: np.ndarray) -> dict[str, np.ndarray]:
    """``{direction: (H, W, 2) flow}`` from the pass's (H, W, 4) X, Y, Z, W (EXR rows top-down)."""
    vector = np.asarray(vector, dtype=np.float32)
    if vector.ndim != 3 or vector.shape[2] != 4:
        raise ValueError(f"a Vector pass has 4 channels (X, Y, Z, W) per pixel, got shape {vector.shape}")
    return {BACKWARD: np.stack([vector[..., 0], -vector[..., 1]], axis=-1),
            FORWARD: np.stack([-vector[..., 2], vector[..., 3]], axis=-1)}


def to_vector_pass(flows: dict[str, np.ndarray]) -> np.ndarray:
    """The inverse of :func:`from_vector_pass` (what Blender would have written for these flows)."""
    backward, forward = flows[BACKWARD], flows[FORWARD]
    return np.stack([backward[..., 0], -backward[..., 1], -forward[..., 0], forward[..., 1]], axis=-1)


def vector_channels(names: list[str]) -> list[str]:
    """The four channel names of the one Vector pass among ``names`` (``ViewLayer.Vector.X`` or ``Vector.X``...),
    in X, Y, Z, W order; ValueError naming what was found when there is not exactly one."""
    prefixes = sorted({name[:-len(f"{PASS_NAME}.X")] for name in names if name.endswith(f"{PASS_NAME}.X")})
    whole = [prefix for prefix in prefixes if all(f"{prefix}{PASS_NAME}.{c}" in names for c in CHANNELS)]
    if len(whole) != 1:
        found = ", ".join(sorted(names)[:12]) + (" ..." if len(names) > 12 else "")
        what = "no" if not whole else f"{len(whole)} ({', '.join(p.rstrip('.') or '(no layer)' for p in whole)})"
        raise ValueError(f"{what} Vector pass (channels <layer>.Vector.X, .Y, .Z, .W) among the channels: {found}")
    return [f"{whole[0]}{PASS_NAME}.{c}" for c in CHANNELS]
