"""Cameras switched at timeline markers (core/projections/camera_switches.py): the constant keyframes."""

from __future__ import annotations

from depth_node.core.projections.camera_switches import switch_keys


def camera_at(keys: list[tuple[int, int]], frame: int) -> int:
    """What a CONSTANT F-curve through ``keys`` gives at ``frame`` (constant extrapolation)."""
    before = [camera for key_frame, camera in keys if key_frame <= frame]
    return before[-1] if before else keys[0][1]


def test_static_cameras_need_one_key_per_switch() -> None:
    segments = [(1, 0), (5, 1), (9, 0), (12, 2)]
    keys = switch_keys(segments, (1, 20), lambda camera: False)
    assert keys == segments
    for frame, want in ((-3, 0), (1, 0), (4, 0), (5, 1), (8, 1), (9, 0), (11, 0), (12, 2), (40, 2)):
        assert camera_at(keys, frame) == want


def test_animated_cameras_get_a_key_on_every_frame_of_their_segment_in_range() -> None:
    keys = switch_keys([(3, 0), (6, 1), (10, 2)], (1, 12), lambda camera: camera != 1)
    assert keys == [(1, 0), (2, 0), (3, 0), (4, 0), (5, 0), (6, 1), (10, 2), (11, 2), (12, 2)]


def test_hundreds_of_cameras_cost_one_key_each() -> None:
    segments = [(frame, frame - 1) for frame in range(1, 501)]
    keys = switch_keys(segments, (1, 500), lambda camera: False)
    assert len(keys) == 500 and all(camera_at(keys, frame) == frame - 1 for frame in range(1, 501))


def test_no_markers_no_keys() -> None:
    assert switch_keys([], (1, 10), lambda camera: True) == []
