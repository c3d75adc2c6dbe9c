#!/usr/bin/env bash
# Run the whole test suite inside Blender, once per supported Blender version.
#
#   tools/run_tests.sh [PYTEST ARGS...]
#
# Without BLENDER: for each supported Blender (TD_VERSIONS in blender_env.sh) a cached virtual environment
# (.venvs/, git-ignored) holds the bpy wheel and the test dependencies, and
# pytest-blender starts "Blender" through tools/blender_launcher.py. The
# bpy-free tests (tests/unit) also run once in plain Python, without bpy. tests/slurm runs once (with
# Blender 5.0's environment, or the first version asked for) against a one-node SLURM cluster it starts and
# stops itself (tools/slurm_cluster.py); Debian's SLURM is installed with apt-get when missing (as root).
# With BLENDER=/path/to/blender the same suite runs inside that Blender (tests/slurm not included).
#
#   TRUE_DEPTH_VERSIONS="5.0 5.2"   only these versions
# A version whose Python is missing is skipped loudly, and fails the run when CI=true.
set -u
source "$(dirname "$0")/blender_env.sh"
cd "$TD_REPO" || exit 1

# The suite is tests/ unless the arguments name test files or folders themselves. tests/slurm runs once, in a
# stage of its own (a throw-away SLURM cluster, tools/slurm_cluster.py), not inside each Blender.
declare -a targets=(tests --ignore=tests/slurm)
slurm_wanted=1
for arg in "$@"; do
  case $arg in -*) ;; *) [ -e "${arg%%::*}" ] && targets=() && slurm_wanted=0 ;; esac
done

declare -a summary=()
failed=0
junit_dir=$(mktemp -d "${TMPDIR:-/tmp}/true-depth-junit.XXXXXX")
trap 'rm -rf "$junit_dir"' EXIT

run_suite() {  # label, blender executable, python for the outer pytest, extra env..., then -- pytest args
  local label=$1 blender=$2 python=$3
  shift 3
  local -a env_args=()
  while [ "$1" != "--" ]; do env_args+=("$1"); shift; done
  shift
  local user_dir rc
  user_dir=$(mktemp -d "${TMPDIR:-/tmp}/true-depth-user.XXXXXX")
  td_log "== $label: pytest inside $blender"
  env BLENDER_USER_RESOURCES="$user_dir" TRUE_DEPTH_REPO="$TD_REPO" TRUE_DEPTH_BLENDER_EXECUTABLE="$blender" \
    "${env_args[@]}" \
    "$python" -m pytest --blender-executable "$blender" --junitxml "$junit_dir/${label//[^A-Za-z0-9.]/_}.xml" "$@"
  rc=$?
  rm -rf "$user_dir"
  return $rc
}

record() {  # label, rc
  case $2 in
    0) summary+=("$1: passed") ;;
    skip) summary+=("$1: SKIPPED ($3)") ;;
    *) summary+=("$1: FAILED (exit $2)"); failed=1 ;;
  esac
}

td_ensure_slurm() {  # prints what is missing after trying Debian's packages (as root), nothing when all is there
  local missing
  missing=$(python3 "$TD_REPO/tools/slurm_cluster.py" missing)
  if [ -n "$missing" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    td_log "installing SLURM for tests/slurm (missing: $missing): apt-get install slurmctld slurmd slurm-client munge"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        slurmctld slurmd slurm-client munge; } >&2
    missing=$(python3 "$TD_REPO/tools/slurm_cluster.py" missing)
  fi
  echo "$missing"
}

run_slurm_stage() {  # Blender series, its venv: tests/slurm once, rendering with that Blender
  local missing
  missing=$(td_ensure_slurm)
  if [ -n "$missing" ]; then
    td_log "SKIPPING tests/slurm: SLURM is not installed (missing: $missing)"
    if [ "${CI:-}" = "true" ]; then record "SLURM (tests/slurm)" 1; else record "SLURM (tests/slurm)" skip \
      "SLURM not installed"; fi
    return
  fi
  td_log "== SLURM: tests/slurm on a one-node cluster, rendering with Blender $1"
  TRUE_DEPTH_BLENDER=$1 "$2/bin/python" -m pytest -p no:pytest-blender -p no:cacheprovider -q \
    --junitxml "$junit_dir/slurm.xml" tests/slurm
  record "SLURM (tests/slurm, Blender $1)" $?
}

if [ -n "${BLENDER:-}" ]; then
  bversion=$(td_real_blender_version)
  if [ -z "$bversion" ]; then
    td_log "BLENDER=$BLENDER does not answer --version"; exit 1
  fi
  site=$(td_ensure_real_blender_site) || { td_log "cannot install test dependencies for $BLENDER"; exit 1; }
  host=$(td_ensure_host_venv) || exit 1
  # Blender ignores PYTHONPATH unless --python-use-system-env is given (the part after the first --).
  label="Blender $bversion ($BLENDER)"
  run_suite "$label" "$BLENDER" "$host/bin/python" PYTHONPATH="$site" -- "${targets[@]}" "$@" -- --python-use-system-env
  record "$label" $?
else
  read -r -a series_list <<<"${TRUE_DEPTH_VERSIONS:-${TD_SUPPORTED_SERIES[*]}}"
  # tests/slurm renders with tools/true_depth.sh's default Blender (5.0), or the first version asked for
  TD_SLURM_SERIES=${series_list[0]}
  for series in "${series_list[@]}"; do [ "$series" = "5.0" ] && TD_SLURM_SERIES=5.0; done
  unit_done=0
  for series in "${series_list[@]}"; do
    venv=$(td_ensure_bpy_venv "$series")
    status=$?
    if [ $status -eq 3 ]; then
      reason="no Python $(td_python_series "$series") on this machine"
      td_log "SKIPPING Blender $series: $reason"
      if [ "${CI:-}" = "true" ]; then record "Blender $series" 1; else record "Blender $series" skip "$reason"; fi
      continue
    elif [ $status -ne 0 ]; then
      record "Blender $series (environment)" $status
      continue
    fi
    if [ $unit_done -eq 0 ]; then
      td_log "== bpy-free tests in plain Python (no bpy imported)"
      "$venv/bin/python" -m pytest -p no:pytest-blender -p no:cacheprovider -q --junitxml "$junit_dir/unit.xml" tests/unit
      record "plain Python (tests/unit)" $?
      unit_done=1
    fi
    label="Blender $series (bpy $(td_bpy_pin "$series"))"
    run_suite "$label" "$venv/bin/blender" "$venv/bin/python" -- "${targets[@]}" "$@"
    record "$label" $?
    if [ $slurm_wanted -eq 1 ] && [ "$series" = "$TD_SLURM_SERIES" ]; then run_slurm_stage "$series" "$venv"; fi
  done
fi

echo
echo "==================== True Depth test summary ===================="
for line in "${summary[@]}"; do echo "  $line"; done
echo "================================================================="
# One closing line over every run (counts from the JUnit reports each pytest wrote).
shopt -s nullglob
reports=("$junit_dir"/*.xml)
if [ ${#reports[@]} -eq 0 ]; then
  echo "no test ran"; failed=1
else
  python3 "$TD_REPO/tools/junit_totals.py" "${reports[@]}" || failed=1
fi
exit $failed
