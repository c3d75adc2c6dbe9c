#!/usr/bin/env bash
# True Depth's main job. Sets up its own environment, then runs the CLI inside Blender:
#
#   tools/true_depth.sh                      # = example --output true_depth_output
#   tools/true_depth.sh example --output DIR [--resolution 320x240] [--lens 35] [--overwrite]
#
# Uses BLENDER=/path/to/blender when given, else the cached bpy wheel environment
# of TRUE_DEPTH_BLENDER (4.5, 5.0 or 5.2; default 5.0) in .venvs/.
set -u
source "$(dirname "$0")/blender_env.sh"
[ $# -gt 0 ] || set -- example --output true_depth_output
if [ -n "${BLENDER:-}" ]; then
  blender=$BLENDER
else
  venv=$(td_ensure_bpy_venv "${TRUE_DEPTH_BLENDER:-5.0}") || exit 1
  blender="$venv/bin/blender"
fi
exec "$blender" -b --python-exit-code 1 --python "$TD_REPO/tools/true_depth_cli.py" -- "$@"
