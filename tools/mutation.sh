#!/usr/bin/env bash
# Mutation testing of depth_node/core/ (bpy-free) against the plain stage (tests/unit without the pip-install
# test), with mutmut (pinned in tools/requirements-mutation.txt). Prints the score and every surviving mutant.
#
#   tools/mutation.sh                         # all of core/ (about 40 minutes on 2 cores)
#   tools/mutation.sh 'depth_node/core/reference.py' ['depth_node/core/formats/*' ...]   # only these
#   MUTATION_CHILDREN=1 tools/mutation.sh     # worker processes (default: the cores)
#   MUTATION_DIFFS=1 tools/mutation.sh        # print each survivor's diff too
#   MUTATION_REPORT=docs/mutation-report.md tools/mutation.sh   # also write the score, the per-module table and survivors there
#
# Works on a copy of the tracked (and new, not ignored) files in a temporary folder; the repository is not
# touched. tools/mutation_judge.py then re-runs the survivors mutmut cannot deliver (code that runs at import)
# in a fresh interpreter and marks as equivalent the description mutants that change only node editor text.
# Score = killed / (killed + survived + no tests + timeout), equivalent mutants excluded (and listed).
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
mutmut_seconds=$(( $(date +%s) - start ))
# mutmut cannot run code that executes at import time mutated, nor tell text-only mutants: a second opinion
(cd "$work/mutants" && "$venv/bin/python" "$work/tools/mutation_judge.py" "$work/results.txt" "$work/judged.txt")
report="${MUTATION_REPORT:+$TD_REPO/$MUTATION_REPORT}"
"$venv/bin/python" - "$work/results.txt" "$work/judged.txt" "$mutmut_seconds $(( $(date +%s) - start ))" \
  "$report" <<'PY'
import collections, re, sys
rows = {name.strip(): (status.strip(), "") for name, status in
        (line.rsplit(": ", 1) for line in open(sys.argv[1]) if ": " in line)}
for line in open(sys.argv[2]):
    name, status, reason = line.rstrip("\n").split("\t")
    rows[name] = (status, reason)
judged_states = ("killed", "survived", "no tests", "timeout", "equivalent")
counts = collections.Counter(status for status, _ in rows.values())
judged = sum(counts[state] for state in judged_states)
module_of = lambda name: re.split(r"\.x(?:ǁ|_)", name, maxsplit=1)[0]
per_module = collections.defaultdict(collections.Counter)
for name, (status, _) in rows.items():
    per_module[module_of(name)][status] += 1
score = lambda c: 100 * c["killed"] / max(sum(c[s] for s in judged_states) - c["equivalent"], 1)
mutmut_seconds, total_seconds = sys.argv[3].split()
reasons = collections.Counter((status, reason) for status, reason in rows.values() if reason)
lines = [f"mutmut 3.8.1 on depth_node/core against tests/unit ({mutmut_seconds} s), then tools/mutation_judge.py "
         f"({int(total_seconds) - int(mutmut_seconds)} s): {dict(counts)}",
         f"score: {counts['killed']} killed of {judged - counts['equivalent']} non-equivalent mutants = "
         f"{score(counts):.1f} % ({counts['equivalent']} equivalent; {100 * counts['killed'] / max(judged, 1):.1f} % "
         f"of all {judged})", ""]
lines += [f"- {status} after a second look ({count}): {reason}" for (status, reason), count in sorted(reasons.items())]
lines += ["", "| module | killed | survived | no tests | timeout | equivalent | score |", "|---|---|---|---|---|---|---|"]
for module, counter in sorted(per_module.items()):
    lines.append(f"| {module} | " + " | ".join(str(counter[state]) for state in judged_states)
                 + f" | {score(counter):.0f} % |")
lines += ["", "Not killed:", ""] + [f"- {status}: `{name}`" for name, (status, _) in rows.items()
                                    if status not in ("killed", "equivalent")]
lines += ["", "Equivalent (see the reasons above):", ""] + [f"- `{name}`" for name, (status, _) in rows.items()
                                                           if status == "equivalent"]
print("\n".join(lines))
if sys.argv[4]:
    open(sys.argv[4], "w").write("# Mutation testing (tools/mutation.sh)\n\n" + "\n".join(lines) + "\n")
PY
if [ -n "${MUTATION_DIFFS:-}" ]; then
  grep -v ": killed" "$work/results.txt" | cut -d: -f1 | tr -d " " | grep -v -x -F -f <(cut -f1 "$work/judged.txt") \
    | while read -r name; do "$venv/bin/mutmut" show "$name"; done
fi
