#!/usr/bin/env bash
# True Depth's main job. Sets up its own environment, then runs the CLI inside Blender:
#
#   tools/true_depth.sh                                  # = example --output true_depth_output
#   tools/true_depth.sh example [--output DIR] [--resolution 320x240] [--lens 35] [--overwrite]
#   tools/true_depth.sh render SCENE.blend --output DIR [--frames 1-250] [--scene NAME] [--source aov|mist]
#   tools/true_depth.sh convert 'IN_####.exr' --camera camera.json|SCENE.blend --output DIR [--to depth|distance]
#   tools/true_depth.sh pointcloud DEPTH.exr CAMERA.json OUT.ply [--stride N] [--world]
#   tools/true_depth.sh build [--output-dir DIR]          # the extension zip (default dist/), validated
#   tools/true_depth.sh slurm render|convert ... [--tasks N] [--wait]   # a SLURM job array (docs/slurm.md)
#   tools/true_depth.sh slurm status DIR
#   tools/true_depth.sh SUBCOMMAND --help
#
# Uses BLENDER=/path/to/blender when given (its Python gets OpenEXR in .venvs/blender-VERSION-site,
# so the EXRs get OpenCV's channel name), else the cached bpy wheel environment of
# TRUE_DEPTH_BLENDER (a series of TD_VERSIONS in tools/blender_env.sh: 4.5, 5.0, 5.1, 5.2 or 5.3; default 5.0) in .venvs/. Exit codes: 0 ok, 1 failed, 2 bad usage.
set -u
source "$(dirname "$0")/blender_env.sh"
[ $# -gt 0 ] || set -- example --output true_depth_output

if [ "$1" = "build" ]; then  # Blender's own extension tool: build, then validate what it built
  shift
  out_dir="$TD_REPO/dist"
  while [ $# -gt 0 ]; do
    case $1 in
      --output-dir) [ $# -ge 2 ] || { echo "true_depth build: --output-dir needs a folder" >&2; exit 2; }
                    out_dir=$2; shift 2 ;;
      -h|--help) echo "usage: tools/true_depth.sh build [--output-dir DIR]   (default: dist/)"; exit 0 ;;
      *) echo "true_depth build: unknown argument $1" >&2; exit 2 ;;
    esac
  done
  mkdir -p "$out_dir" || exit 1
  if [ -n "${BLENDER:-}" ]; then
    ext=("$BLENDER" --factory-startup --command extension)
  else
    venv=$(td_ensure_bpy_venv "${TRUE_DEPTH_BLENDER:-5.0}") || exit 1
    tool=$(ls "$venv"/lib/python*/site-packages/bpy/*/scripts/addons_core/bl_pkg/cli/blender_ext.py 2>/dev/null | head -n1)
    [ -n "$tool" ] || { echo "true_depth build: Blender's extension tool is missing in $venv" >&2; exit 1; }
    ext=("$venv/bin/python" "$tool")
  fi
  "${ext[@]}" build --source-dir "$TD_REPO" --output-dir "$out_dir" >&2 || exit 1
  zip_path=$(ls -t "$out_dir"/true_depth-*.zip | head -n1)
  "${ext[@]}" validate "$zip_path" >&2 || exit 1
  echo "$zip_path"
  exit 0
fi
export TRUE_DEPTH_LAUNCHER="$TD_REPO/tools/true_depth.sh"  # slurm: its tasks run this same launcher
if [ -n "${BLENDER:-}" ]; then
  site=$(td_ensure_real_blender_site) || exit 1
  # Blender reads PYTHONPATH only with --python-use-system-env.
  PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}" exec "$BLENDER" --python-use-system-env -b \
    --python-exit-code 1 --python "$TD_REPO/tools/true_depth_cli.py" -- "$@"
fi
venv=$(td_ensure_bpy_venv "${TRUE_DEPTH_BLENDER:-5.0}") || exit 1
exec "$venv/bin/blender" -b --python-exit-code 1 --python "$TD_REPO/tools/true_depth_cli.py" -- "$@"
