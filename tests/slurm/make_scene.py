"""Run by the bpy wheel's Python: write a small animated Cycles scene (tests/slurm's fixtures).

    python make_scene.py OUT.blend FRAMES WIDTH HEIGHT SAMPLES FAILING_FRAME

A cube before a wall, a camera moving from frame 1 to the last; with FAILING_FRAME > 0 the camera's type is keyed
to CUSTOM from that frame on (a camera the job refuses: that frame fails).
"""

import sys

import bpy

out, frames, width, height, samples, failing = sys.argv[1:7]
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.name = "Shot"
scene.render.engine = "CYCLES"
scene.cycles.samples = int(samples)
scene.render.resolution_x, scene.render.resolution_y = int(width), int(height)
scene.frame_start, scene.frame_end = 1, int(frames)
bpy.ops.mesh.primitive_cube_add(location=(0, 0, 0))
bpy.ops.mesh.primitive_plane_add(size=20, location=(0, 4, 0), rotation=(1.5708, 0, 0))
camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
scene.collection.objects.link(camera)
scene.camera = camera
for frame, x in ((1, -1.0), (int(frames), 1.0)):
    camera.location = (x, -6, 1)
    camera.rotation_euler = (1.45, 0, 0.1 * x)
    camera.keyframe_insert("location", frame=frame)
    camera.keyframe_insert("rotation_euler", frame=frame)
if int(failing):
    for frame, camera_type in ((1, "PERSP"), (int(failing), "CUSTOM")):
        camera.data.type = camera_type
        camera.data.keyframe_insert("type", frame=frame)
    scene.frame_set(1)
bpy.ops.wm.save_as_mainfile(filepath=out)
