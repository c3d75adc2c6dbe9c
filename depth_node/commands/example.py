"""``example``: the built-in scenes (a wall; Suzanne in front of a wall), rendered by the render job."""

from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np

from ..blender import scenes
from .base import check_outputs_free, log, read_exr
from .frames import DEFAULT_REQUEST, NO_CALIBRATION, Calibrated, Request, summarize
from .render import for_scene, render_frames

EXAMPLE_WALL_DISTANCE = 5.0
EXAMPLE_SCENES = (("wall", False), ("suzanne", True))


def run_example(output: Path, resolution: tuple[int, int], lens: float, overwrite: bool,
                request: Request = DEFAULT_REQUEST, calibration: Calibrated = NO_CALIBRATION) -> int:
    """Render the built-in example scenes into ``output``."""
    frame = 1
    folders = {name: output / name for name, _ in EXAMPLE_SCENES}
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    first = bpy.context.scene
    request = for_scene(request, first)
    check_outputs_free(((folder, frame) for folder in folders.values()), overwrite, request.kinds)
    written = 0
    for index, (name, with_suzanne) in enumerate(EXAMPLE_SCENES):
        scene = first if index == 0 else bpy.data.scenes.new(name)
        scene.name = name
        scene.render.resolution_x, scene.render.resolution_y = resolution
        scene.render.resolution_percentage = 100
        scenes.setup_cycles(scene, samples=16, filter_width=1.5)
        scenes.add_camera(scene, f"{name} camera").data.lens = lens
        scenes.add_wall(scene, EXAMPLE_WALL_DISTANCE)
        scenes.add_light(scene)
        if with_suzanne:
            scenes.add_suzanne(scene)
        calibration.apply(scene)
        scene.frame_start = scene.frame_end = frame
        log(f"{name}: rendering frame {frame} ({scene.render.resolution_x}x{scene.render.resolution_y})")
        results = render_frames(scene, folders[name], [frame], request=request)
        written += summarize(folders[name], results, request)
        (result,) = results
        depth, distance = (getattr(result, kind) if getattr(result, kind) is not None
                           else read_exr(result.paths[kind]) if kind in result.paths else None
                           for kind in ("depth", "distance"))
        if name == "wall" and depth is not None and distance is not None:
            flatness = float(np.max(np.abs(depth - EXAMPLE_WALL_DISTANCE)) / EXAMPLE_WALL_DISTANCE)
            spread = float((distance.max() - distance.min()) / distance.min())
            log(f"wall: distance varies {spread:.1%} across the frame; depth is flat to {flatness:.1e} "
                f"(relative) around {EXAMPLE_WALL_DISTANCE}")
        elif depth is not None:
            log(f"{name}: depth {depth.min():.3f} .. {depth.max():.3f}")
    log(f"wrote {written} files under {output}")
    return 0
