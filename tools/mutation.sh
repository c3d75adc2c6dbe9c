#!/usr/bin/env bash
# Mutation testing of depth_node/core/ (bpy-free) against the plain stage (tests/unit without the pip-install
# test), with mutmut (pinned in tools/requirements-mutation.txt). Prints the score and every surviving mutant.
#
#   tools/mutation.sh                         # all of core/ (about 40 minutes on 2 cores)
#   tools/mutation.sh 'depth_node/core/reference.py' ['depth_node/core/formats/*' ...]   # only these
#   MUTATION_CHILDREN=1 tools/mutation.sh     # worker processes (default: the cores)
#   MUTATION_DIFFS=1 tools/mutation.sh        # print each survivor's diff too
#   MUTATION_REPORT=MUTATION.md tools/mutation.sh   # also write the score, the per-module table and survivors there
#
# Works on a copy of the tracked (and new, not ignored) files in a temporary folder; the repository is not
# touched. Score = killed / (killed + survived + no tests + timeout); the equivalent mutants (no behaviour
# change, listed in README "Mutation testing") are counted as survivors here and discounted there.
set -eu
source "$(dirname "$0")/blender_env.sh"
python=$(td_find_python 3.11) || { echo "mutation: needs Python 3.11" >&2; exit 1; }
venv="$TD_REPO/.venvs/mutation-py3.11"
stamp=$(sha256sum <"$TD_REPO/tools/requirements-mutation.txt" | cut -c1-16)
if [ "$(cat "$venv/.stamp" 2>/dev/null)" != "$stamp" ]; then
  td_log "creating $venv"
  rm -rf "$venv" && "$python" -m venv "$venv" && "$venv/bin/pip" install -q -r "$TD_REPO/tools/requirements-mutation.txt" >&2
  echo "$stamp" >"$venv/.stamp"
fi
work=$(mktemp -d -t true-depth-mutation.XXXXXX)
trap 'rm -rf "$work"' EXIT
(cd "$TD_REPO" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$work")
if [ $# -gt 0 ]; then
  only=$(printf '"%s", ' "$@")
  sed -i "s#^only_mutate = .*#only_mutate = [${only%, }]#" "$work/pyproject.toml"
fi
cd "$work"
start=$(date +%s)
"$venv/bin/mutmut" run --max-children "${MUTATION_CHILDREN:-$(nproc)}" >"$work/run.log" 2>&1 || {
  tail -20 "$work/run.log" >&2; echo "mutation: mutmut run failed" >&2; exit 1; }
"$venv/bin/mutmut" results --all true >"$work/results.txt"
report="${MUTATION_REPORT:+$TD_REPO/$MUTATION_REPORT}"
"$venv/bin/python" - "$work/results.txt" "$(( $(date +%s) - start ))" "$report" <<'PY'
import collections, re, sys
rows = [(name.strip(), status.strip()) for name, status in
        (line.rsplit(": ", 1) for line in open(sys.argv[1]) if ": " in line)]
judged_states = ("killed", "survived", "no tests", "timeout")
counts = collections.Counter(status for _, status in rows)
judged = sum(counts[state] for state in judged_states)
module_of = lambda name: re.split(r"\.x(?:ǁ|_)", name, maxsplit=1)[0]
per_module = collections.defaultdict(collections.Counter)
for name, status in rows:
    per_module[module_of(name)][status] += 1
lines = [f"mutmut 3.8.1 on depth_node/core against tests/unit: {dict(counts)}; {sys.argv[2]} s",
         f"score: {counts['killed']} of {judged} killed = {100 * counts['killed'] / max(judged, 1):.1f} %", "",
         "| module | killed | survived | no tests | timeout | score |", "|---|---|---|---|---|---|"]
for module, counter in sorted(per_module.items()):
    total = sum(counter[state] for state in judged_states)
    lines.append(f"| {module} | " + " | ".join(str(counter[state]) for state in judged_states)
                 + f" | {100 * counter['killed'] / max(total, 1):.0f} % |")
lines += ["", "Not killed:", ""] + [f"- {status}: `{name}`" for name, status in rows if status != "killed"]
print("\n".join(lines))
if sys.argv[3]:
    open(sys.argv[3], "w").write("# Mutation testing (tools/mutation.sh)\n\n" + "\n".join(lines) + "\n")
PY
if [ -n "${MUTATION_DIFFS:-}" ]; then
  grep -v ": killed" "$work/results.txt" | cut -d: -f1 | while read -r name; do "$venv/bin/mutmut" show "$name"; done
fi
