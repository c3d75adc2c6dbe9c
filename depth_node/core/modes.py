"""The conversion modes of the True Depth node, defined once. Imports no bpy."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mode:
    """One direction of the conversion: its id, UI texts, socket names and node group name."""

    id: str
    label: str
    description: str
    input: str
    output: str
    group_name: str


DISTANCE_TO_DEPTH = "DISTANCE_TO_DEPTH"
DEPTH_TO_DISTANCE = "DEPTH_TO_DISTANCE"

MODE_TABLE: dict[str, Mode] = {
    DISTANCE_TO_DEPTH: Mode(DISTANCE_TO_DEPTH, "Distance to Depth", "Ray distance in, planar depth out",
                            "Distance", "Depth", "True Depth"),
    DEPTH_TO_DISTANCE: Mode(DEPTH_TO_DISTANCE, "Depth to Distance", "Planar depth in, ray distance out",
                            "Depth", "Distance", "True Depth Inverse"),
}
MODES: tuple[str, ...] = tuple(MODE_TABLE)


def mode(mode_id: str) -> Mode:
    """The :class:`Mode` called ``mode_id``; ValueError naming the valid ones otherwise."""
    try:
        return MODE_TABLE[mode_id]
    except (KeyError, TypeError):
        raise ValueError(f"mode must be one of {MODES}, got {mode_id!r}") from None
