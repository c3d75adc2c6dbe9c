"""Make tests/data/made_in_blender_4_5.blend with Blender 4.5 (run once; the file is committed).

    .venvs/bpy-4.5.15-py3.11/bin/blender -b --python tools/make_fixtures.py

A wall 5 units in front of a shifted camera, the distance AOV -> True Depth and
Cycles' Z -> True Depth Inverse, all written by a File Output node into "//exr/"
(next to wherever the .blend is copied). Tests open it on every Blender version:
Blender's own versioning must carry the compositor (4.5's scene.node_tree) to 5.x.
"""

import sys
from pathlib import Path

import bpy

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from depth_node.blender import compat, scenes  # noqa: E402
from depth_node.blender.binding import add_true_depth_node  # noqa: E402
from depth_node.core.camera import BlenderCamera  # noqa: E402

if bpy.app.version[:2] != (4, 5):
    raise SystemExit(f"run this with Blender 4.5, not {bpy.app.version_string}")
bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
scene = bpy.context.scene
scene.name = "made_in_4_5"
scenes.setup_cycles(scene)
scenes.add_camera(scene)
scenes.apply_camera(scene, BlenderCamera.from_settings(lens=30, shift_x=0.1, resolution_x=48, resolution_y=32))
scenes.add_wall(scene, 5.0)
scenes.enable_depth_passes(scene)
tree = compat.compositor_tree(scene)
layers = tree.nodes.new("CompositorNodeRLayers")
layers.scene = scene
forward = add_true_depth_node(scene, location=(300, 0))
inverse = add_true_depth_node(scene, mode="DEPTH_TO_DISTANCE", location=(300, -400))
distance, z = layers.outputs[scenes.DISTANCE_AOV], layers.outputs["Depth"]
tree.links.new(distance, forward.inputs[0])
tree.links.new(z, inverse.inputs[0])
_, sockets = compat.new_exr_file_output(tree, "//exr/", ["distance_####", "z_####", "depth_node_####",
                                                         "distance_node_####"])
for source, socket in zip((distance, z, forward.outputs[0], inverse.outputs[0]), sockets, strict=True):
    tree.links.new(source, socket)
out = REPO / "tests" / "data" / "made_in_blender_4_5.blend"
bpy.ops.wm.save_as_mainfile(filepath=str(out), compress=True)
print(f"wrote {out} ({out.stat().st_size} bytes)")
