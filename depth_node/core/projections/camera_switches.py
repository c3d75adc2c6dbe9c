"""Cameras switched at timeline markers, as constant keyframes on the node's camera inputs. Imports no bpy.

A driver reading ``scene.camera`` still sees the previous camera on a switch
frame (measured: 20-25 % off on those frames), and one driver expression per
input that picks the camera by ``frame`` is capped by Blender's 255 characters
(about ten switches). So with markers the camera inputs are *keyframed*: one
CONSTANT key at each segment's first frame with that camera's values, plus a key
on every frame where that camera's own settings are animated. Keyframes
evaluate without Python and without this extension, split over processes like
any animation, and cost O(log keys) per frame: the number of cameras is not
capped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

Segment = tuple[int, int]
"""(first frame, camera number): the camera Blender renders from that frame on."""


def switch_keys(segments: Sequence[Segment], frame_range: tuple[int, int],
                animated: Callable[[int], bool]) -> list[Segment]:
    """``(frame, camera number)`` of every key a switched camera input needs, in frame order.

    ``segments`` are in frame order (the first one also holds before its frame,
    as Blender uses the earliest marker's camera there); ``animated(camera)``
    says whether that camera's settings change over time, in which case it gets
    a key on every frame of its segment inside ``frame_range`` (inclusive).
    """
    if not segments:
        return []
    first, last = frame_range
    keys: list[Segment] = []
    for index, (start, camera) in enumerate(segments):
        end = segments[index + 1][0] - 1 if index + 1 < len(segments) else max(last, start)
        keys.append((start, camera))
        if animated(camera):
            begin = first if index == 0 else start
            keys.extend((frame, camera) for frame in range(max(begin, first), min(end, last) + 1)
                        if frame != start)
    return sorted(set(keys))
