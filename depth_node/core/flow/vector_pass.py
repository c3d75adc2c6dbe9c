"""What Blender's Vector pass holds, in this room's convention. Imports no bpy.

Measured on 4.5.15, 5.0.1, 5.1.2, 5.2.3 and 5.3.0 at one sample (filter 0.01 px) against the hit tracked on the
mesh (tests/flow_truth.py): with EXR rows top-down, the pass's (X, Y) is the motion to f-1 with y up and
(Z, W) minus the motion to f+1 with y up, so backward = (X, -Y) and forward = (-Z, W); median 4e-6 px, max
2e-5 px for camera, rigid and shape-key motion. Written as a multilayer EXR its channels are
``<layer>.Vector.X`` ... ``.W`` on every version.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..render_passes import pass_channels
from . import BACKWARD, FORWARD

CHANNELS = ("X", "Y", "Z", "W")
PASS_NAME = "Vector"
DEPTH_CHANNEL = "Depth.Z"
"""Cycles' Z beside the Vector pass in a render's multilayer EXR (``<layer>.Depth.Z``; 1e10 where rays escape)."""


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
    return pass_channels(names, PASS_NAME, CHANNELS)


@dataclass(frozen=True)
class RenderedPass:
    """A render's Vector pass as a file holds it: (H, W, 4) ``vector``, the same layer's Z (``depth``, None when
    the file has none) and the samples Cycles says it rendered (``samples``, None when the header does not say)."""

    vector: np.ndarray
    depth: np.ndarray | None
    samples: int | None
    layer: str


def rendered_pass(channels: dict[str, np.ndarray], header: dict[str, object]) -> RenderedPass:
    """The :class:`RenderedPass` of a multilayer EXR's ``channels`` and ``header`` (ValueError naming what was found
    when it holds no single Vector pass). Cycles writes ``cycles.<layer>.samples`` into the header of every
    multilayer render (measured on 4.5.15 and 5.3.0: ``'1'``, ``'16'``)."""
    names = vector_channels(list(channels))
    prefix = names[0][:-len(f"{PASS_NAME}.X")]
    vector = np.stack([channels[name] for name in names], axis=-1).astype(np.float32, copy=False)
    depth = channels.get(f"{prefix}{DEPTH_CHANNEL}")
    samples = header.get(f"cycles.{prefix}samples")
    try:
        count = int(str(samples)) if samples is not None else None
    except ValueError:
        count = None
    return RenderedPass(vector, None if depth is None else np.asarray(depth, dtype=np.float32), count,
                        prefix.rstrip("."))
