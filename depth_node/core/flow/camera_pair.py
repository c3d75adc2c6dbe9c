"""What the "True Flow" compositor group needs of two cameras, as plain numbers per frame. Imports no bpy.

The group (:mod:`depth_node.core.graph.true_flow`) turns the Vector pass into flow without Python at render
time. Two things need the camera of f+-1, which no driver can read: the flow of rays that hit nothing and
whether the point is in the other frame's view. Both are linear in the pixel ``p = (x, y, 1)`` (OpenCV pixels of
the output image) and in the planar depth ``d``, so one frame pair is a handful of numbers the binding keys per
frame:

* ``H`` (3x3): where the other camera sees the direction of pixel ``p`` (``H p``, homogeneous, in front when
  ``(H p)_z > 0``); ``H = K' R'^T R K^-1`` for a perspective camera, 0 for an orthographic one (a direction has
  no orthographic image);
* ``G``, ``T`` (3 each): the point's planar depth in the other camera, ``z' = d (G . p) + T . p``;
* the other camera's clip range (Cycles clips planar depth).

Works on two camera sidecars (``K``, ``camera_to_world_opencv``, ``projection``, ``clip_start``, ``clip_end``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CameraPair:
    """The numbers of one direction of one frame (see the module docstring); ``active`` 0 across a camera cut."""

    homography: np.ndarray
    depth_gain: np.ndarray
    depth_offset: np.ndarray
    clip_start: float
    clip_end: float
    active: float = 1.0


def _pose(meta: dict) -> tuple[np.ndarray, np.ndarray]:
    to_world = np.asarray(meta["camera_to_world_opencv"], dtype=np.float64)
    return to_world[:3, :3], to_world[:3, 3]


def camera_pair(meta: dict, other: dict) -> CameraPair:
    """The numbers that carry frame ``meta``'s pixels to the camera of ``other`` (perspective or orthographic
    sidecars; ValueError for any other projection)."""
    for sidecar in (meta, other):
        if sidecar.get("projection", "PERSP") not in ("PERSP", "ORTHO"):
            raise ValueError(f"the True Flow group knows perspective and orthographic cameras, not "
                             f"{sidecar['projection']}")
    rotation, origin = _pose(meta)
    other_rotation, other_origin = _pose(other)
    relative = other_rotation.T @ rotation  # this camera's axes in the other camera's frame
    offset = other_rotation.T @ (origin - other_origin)
    to_plane = np.linalg.inv(np.asarray(meta["K"], dtype=np.float64))  # pixel -> (x/z, y/z, 1) or (x, y, 1)
    if meta.get("projection", "PERSP") == "PERSP":
        # the point is d K^-1 p: z' = d (R K^-1 p)_z + t_z
        through = relative @ to_plane
        gain, depth_offset = through[2], np.array([0.0, 0.0, offset[2]])
        homography = np.asarray(other["K"], dtype=np.float64) @ through
    else:
        # the point is (K^-1 p)_xy + d e_z: z' = d R_zz + (R (K^-1 p)_xy)_z + t_z
        lateral = to_plane.copy()
        lateral[2] = 0.0
        gain = np.array([0.0, 0.0, relative[2, 2]])
        depth_offset = (relative @ lateral)[2] + np.array([0.0, 0.0, offset[2]])
        homography = np.zeros((3, 3))
    return CameraPair(homography, gain, depth_offset, float(other["clip_start"]), float(other["clip_end"]))


def across_cut() -> CameraPair:
    """A direction whose other frame is seen by another camera: the group gives 0 and invalid there."""
    return CameraPair(np.zeros((3, 3)), np.zeros(3), np.zeros(3), 0.0, 0.0, active=0.0)
