"""Frames split over local worker processes (commands/workers.py) and their command lines."""

from __future__ import annotations


def test_frames_split_into_contiguous_parts_and_worker_arguments() -> None:
    from depth_node.commands.cli import worker_argv
    from depth_node.commands.workers import chunks

    assert chunks([1, 2, 3, 4, 5], 2) == [[1, 2, 3], [4, 5]]
    assert chunks([7], 4) == [[7]]
    assert sum(chunks(list(range(1, 101)), 3), []) == list(range(1, 101))
    argv = ["render", "shot.blend", "--output", "out", "--frames", "1-9", "--jobs=3", "--resume", "--outputs",
            "depth,colmap"]
    # a worker makes exactly its frames: the parent checked the outputs (and chose them, with --resume)
    assert worker_argv(argv, [4, 5, 6], ["depth", "camera"]) == [
        "render", "shot.blend", "--output", "out", "--frames", "4,5,6", "--jobs", "1", "--outputs", "depth,camera",
        "--overwrite"]
