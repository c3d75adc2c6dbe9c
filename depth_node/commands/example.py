"""``example``: the built-in scenes (a wall; Suzanne in front of a wall), rendered by the render job."""

from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np

from ..blender import scenes
from ..blender.devices import CPU, Device
from ..core.formats.complete import is_complete
from ..core.outputs import job_paths
from .base import check_outputs_free, log, read_exr
from .frame_files import resume_plan
from .frames import DEFAULT_REQUEST, NO_CALIBRATION, Calibrated, Request, summarize
from .render import for_scene, render_frames

EXAMPLE_WALL_DISTANCE = 5.0
EXAMPLE_SCENES = (("wall", False), ("suzanne", True))


def run_example(output: Path, resolution: tuple[int, int], lens: float, overwrite: bool,
                request: Request = DEFAULT_REQUEST, calibration: Calibrated = NO_CALIBRATION, resume: bool = False,
                device: Device = CPU) -> int:
    """Render the built-in example scenes into ``output`` (with ``resume``: the ones not complete)."""
    frame = 1
    folders = {name: output / name for name, _ in EXAMPLE_SCENES}
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    first = bpy.context.scene
    request = for_scene(request, first)
    complete = {name: resume and not resume_plan(folder, [frame], request)[0]
                and all(is_complete(path) for path in job_paths(folder, request.kinds))
                for name, folder in folders.items()}
    check_outputs_free(((folder, frame) for name, folder in folders.items() if not complete[name]),
                       overwrite or resume, request.kinds)
    written = 0
    for index, (name, with_suzanne) in enumerate(EXAMPLE_SCENES):
        if complete[name]:
            log(f"{name}: complete, kept (--resume)")
            continue
        scene = first if index == 0 else bpy.data.scenes.new(name)
        scene.name = name
        scene.render.resolution_x, scene.render.resolution_y = resolution
        scene.render.resolution_percentage = 100
        scenes.setup_cycles(scene, samples=16, filter_width=1.5)
        used = device.apply(scene)
        scenes.add_camera(scene, f"{name} camera").data.lens = lens
        scenes.add_wall(scene, EXAMPLE_WALL_DISTANCE)
        scenes.add_light(scene)
        if with_suzanne:
            scenes.add_suzanne(scene)
        calibration.apply(scene)
        scene.frame_start = scene.frame_end = frame
        log(f"{name}: rendering frame {frame} ({scene.render.resolution_x}x{scene.render.resolution_y}) on {used}")
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
