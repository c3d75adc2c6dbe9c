#!/usr/bin/env bash
# True Depth's main job. Sets up its own environment, then runs the CLI inside Blender:
#
#   tools/true_depth.sh                                  # = example --output true_depth_output
#   tools/true_depth.sh example [--output DIR] [--resolution 320x240] [--lens 35] [--overwrite]
#   tools/true_depth.sh render SCENE.blend --output DIR [--frames 1-250] [--scene NAME] [--source aov|mist]
#   tools/true_depth.sh convert 'IN_####.exr' --camera camera.json|SCENE.blend --output DIR [--to depth|distance]
#   tools/true_depth.sh pointcloud DEPTH.exr CAMERA.json OUT.ply [--stride N] [--world]
#   tools/true_depth.sh SUBCOMMAND --help
#
# Uses BLENDER=/path/to/blender when given (its Python gets OpenEXR in .venvs/blender-VERSION-site,
# so the EXRs get OpenCV's channel name), else the cached bpy wheel environment of
# TRUE_DEPTH_BLENDER (a series of TD_VERSIONS in tools/blender_env.sh: 4.5, 5.0, 5.2 or 5.3; default 5.0) in .venvs/. Exit codes: 0 ok, 1 failed, 2 bad usage.
set -u
source "$(dirname "$0")/blender_env.sh"
[ $# -gt 0 ] || set -- example --output true_depth_output
if [ -n "${BLENDER:-}" ]; then
  site=$(td_ensure_real_blender_site) || exit 1
  # Blender reads PYTHONPATH only with --python-use-system-env.
  PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}" exec "$BLENDER" --python-use-system-env -b \
    --python-exit-code 1 --python "$TD_REPO/tools/true_depth_cli.py" -- "$@"
fi
venv=$(td_ensure_bpy_venv "${TRUE_DEPTH_BLENDER:-5.0}") || exit 1
exec "$venv/bin/blender" -b --python-exit-code 1 --python "$TD_REPO/tools/true_depth_cli.py" -- "$@"
