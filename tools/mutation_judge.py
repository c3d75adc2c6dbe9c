"""Second opinion on mutmut's survivors (run by tools/mutation.sh inside mutmut's ``mutants/`` folder).

Two things mutmut 3.8.1 cannot tell by itself:

* **Import time.** mutmut forks every mutant's test run from a process that has
  imported the package already, so a function that only runs while a module is
  imported (``driven_input`` building the socket table, say) never runs mutated:
  its mutants "survive" whatever the tests check. Such survivors are run again
  here in a fresh interpreter with the mutant switched on before any import.
* **Listed equivalents.** ``tools/mutation_equivalents.txt`` names mutants that change no behaviour, each
  with its mutated line and the reason; an entry counts only while that mutant still makes that change.
* **Text the node editor shows.** A mutant of the code that *describes* the node
  groups may change only node names, labels, tooltips or notes. Each such survivor
  is built here (every mode and variant, plus the refusals) and compared with the
  unmutated description up to those texts: node names are replaced by positions,
  labels, socket descriptions and notes by their type. Equal means the built group
  computes exactly the same: the mutant is *equivalent* and reported as such. (A Math node input left unset
  is compared as 0.5, the value Blender gives it.)

Usage: python mutation_judge.py RESULTS_FILE OUT_FILE (cwd: mutmut's ``mutants/``); OUT_FILE gets one line
per re-judged mutant: ``name<TAB>status<TAB>reason``.
"""

from __future__ import annotations

import ast
import difflib
import functools
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, os.getcwd())

DESCRIBING = {
    "depth_node.core.graph.true_depth": r"x_(camera_inputs|_weighted_sum|_flags|_crop_mapping|_eye_shift_x"
                                        r"|_view_plane|_panoramic_sensor|_per_pixel|group_name|build_spec)",
    "depth_node.core.graph.true_flow": r"x_(_keyed|_inputs|_row|_direction|_pixel|build_spec)",
    "depth_node.core.graph.true_normal": r"x_(_inputs|build_spec)",
    "depth_node.core.graph.nodes": r"(x_driven_input|x_group_input|xǁGraphBuilderǁ(math|vector_math|existing"
                                   r"|separate|switch_view|combine|image_coordinates))",
    "depth_node.core.projections.base": r"xǁProjectionǁ(flag_node|extent_node)",
    "depth_node.core.projections.perspective": r"xǁPerspectiveǁ(extent_node|pixel_terms)",
    "depth_node.core.projections.orthographic": r"xǁOrthographicǁ(extent_node|pixel_terms)",
    "depth_node.core.projections.panoramic":
        r"xǁ\w+ǁ(pixel_terms|flag_node|affine|inside|over|scaled_offsets|half_fov)",
}
"""Functions whose only effect is the node-group description (module -> mangled name pattern)."""
PLAIN_STAGE = ["-m", "pytest", "-x", "-q", "-p", "no:pytest-blender", "-p", "no:cacheprovider", "tests/unit",
               "--ignore=tests/unit/test_install.py"]


def mangled(mutant: str) -> str:
    """``module.x_function__mutmut_7`` -> ``module.x_function``."""
    return re.sub(r"__mutmut_\d+$", "", mutant)


def import_time_functions() -> set[str]:
    """The mutated functions that run while ``depth_node.core`` is imported (names as mutmut mangles them)."""
    script = (
        "import sys\nseen = set()\n"
        "def probe(frame, event, arg):\n"
        "    name = frame.f_code.co_name\n"
        "    if event == 'call' and name.endswith('__mutmut_orig'):\n"
        "        seen.add(frame.f_globals['__name__'] + '.' + name[:-len('__mutmut_orig')])\n"
        "sys.setprofile(probe)\n"
        "import depth_node.core, pkgutil, importlib\n"
        "for module in pkgutil.walk_packages(depth_node.core.__path__, 'depth_node.core.'):\n"
        "    importlib.import_module(module.name)\n"
        "sys.setprofile(None)\nprint('\\n'.join(sorted(seen)))\n"
    )
    found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                           env={**os.environ, "MUTANT_UNDER_TEST": ""})
    return set(found.stdout.split())


def killed_in_fresh_interpreter(mutant: str) -> bool:
    """Whether the plain stage fails with ``mutant`` on from the first import."""
    run = subprocess.run([sys.executable, *PLAIN_STAGE], capture_output=True, text=True,
                         cwd=os.getcwd(), env={**os.environ, "MUTANT_UNDER_TEST": mutant}, timeout=900)
    return run.returncode != 0


def description_probe() -> object:
    """Every group description and refusal, with node editor texts reduced to their type (see the docstring)."""
    from depth_node.core.graph import true_depth as graph_spec
    from depth_node.core.graph import true_flow, true_normal
    from depth_node.core.graph.nodes import GROUP_INPUT, SocketRef

    def text(value: object) -> str:
        return type(value).__name__

    def canonical(spec: graph_spec.GroupSpec) -> object:
        position = {GROUP_INPUT: GROUP_INPUT, **{node.name: index for index, node in enumerate(spec.nodes)}}
        notes = {title: index for index, (title, _) in enumerate(spec.frames)}

        def operand(value: object) -> object:
            if isinstance(value, SocketRef):
                return position.get(value.node, ("unknown", value.node)), value.socket
            return type(value).__name__, value

        def inputs(node: graph_spec.NodeSpec) -> tuple:
            given = dict(node.inputs)
            if node.bl_idname == "ShaderNodeMath":  # its unset inputs are 0.5 (bpy 4.5.15, 5.0.1)
                given = {index: 0.5 for index in range(3)} | given
            return tuple((index, operand(value)) for index, value in sorted(given.items()))

        def socket(item: graph_spec.SocketSpec) -> object:
            return (item.name, text(item.description), item.default, item.min_value, item.max_value, item.driver,
                    item.socket_type)

        names = [node.name for node in spec.nodes]
        return (
            spec.name, spec.mode, spec.variant, spec.version, text(spec.description),
            tuple(socket(item) for item in spec.inputs), tuple(socket(item) for item in spec.outputs),
            tuple((node.bl_idname, text(node.label), node.properties, inputs(node),
                   notes.get(node.frame, ("not a note", node.frame))) for node in spec.nodes),
            {name: operand(ref) for name, ref in spec.result.items()},
            tuple((text(title), text(note)) for title, note in spec.frames),
            # Blender keeps 63 bytes of a node name: longer or clashing names would break the links
            all(isinstance(name, str) and len(name.encode()) < 64 for name in names)
            and len({name[:63] for name in names}) == len(names),
        )

    def attempt(build: Callable[[], object]) -> object:
        try:
            return build()
        except Exception as error:  # noqa: BLE001 - a refusal is part of the behaviour compared
            return "refused", type(error).__name__, str(error)

    probes: list[object] = []
    for variant in graph_spec.VARIANTS:
        probes.append(attempt(lambda variant=variant: tuple(
            item.name for item in graph_spec.camera_inputs(variant))))
        for mode in graph_spec.MODES:
            probes.append(attempt(lambda mode=mode, variant=variant: canonical(graph_spec.build_spec(mode, variant))))
            probes.append(attempt(lambda mode=mode, variant=variant: graph_spec.group_name(mode, variant)))
    probes.append(attempt(lambda: canonical(true_flow.build_spec())))
    probes.append(attempt(lambda: canonical(true_normal.build_spec())))
    probes.append(attempt(lambda: graph_spec.build_spec("DEPTH_TO_DEPTH")))
    probes.append(attempt(lambda: graph_spec.build_spec(graph_spec.DISTANCE_TO_DEPTH, "no such variant")))
    return probes


def describes(mutant: str) -> bool:
    module, _, function = mangled(mutant).rpartition(".")
    pattern = DESCRIBING.get(module)
    return pattern is not None and re.fullmatch(pattern, function) is not None


def equivalent_in_fresh_interpreter(mutant: str) -> bool:
    """:func:`description_probe` with ``mutant`` on from the first import equals the unmutated one."""
    tools = os.path.dirname(os.path.abspath(__file__))
    script = (f"import sys; sys.path.insert(0, '.'); sys.path.insert(0, {tools!r}); import mutation_judge as j; "
              "print(repr(j.description_probe()))")
    outputs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False,
                              env={**os.environ, "MUTANT_UNDER_TEST": name}).stdout for name in ("", mutant)]
    return bool(outputs[0]) and outputs[0] == outputs[1]


@functools.cache
def _functions(module: str) -> dict[str, list[str]]:
    """The source lines of every function in the mutated copy of ``module``."""
    path = Path(*module.split("."))
    path = path.with_suffix(".py") if path.with_suffix(".py").exists() else path / "__init__.py"
    lines = path.read_text().splitlines()
    return {node.name: lines[node.lineno:node.end_lineno] for node in ast.walk(ast.parse("\n".join(lines)))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}


def mutated_lines(mutant: str) -> str:
    """What ``mutant`` puts in place of the original lines of its function (stripped, one string)."""
    module, _, function = mutant.rpartition(".")
    functions = _functions(module)
    original, changed = functions[re.sub(r"__mutmut_\d+$", "__mutmut_orig", function)], functions[function]
    return " ".join(line[1:].strip() for line in difflib.unified_diff(original, changed, lineterm="", n=0)
                    if line.startswith("+") and not line.startswith("+++"))


def listed_equivalents(path: Path) -> dict[str, tuple[str, str]]:
    """``tools/mutation_equivalents.txt``: mutant -> (its mutated line, why no behaviour changes)."""
    entries = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, change, reason = line.split("\t")
            entries[name] = (change, reason)
    return entries


def main(results_file: str, out_file: str) -> None:
    statuses = {name.strip(): status.strip() for name, status in (line.rstrip("\n").rsplit(": ", 1)
                                                                  for line in open(results_file) if ": " in line)}
    survivors = [name for name, status in statuses.items() if status in ("survived", "no tests")]
    at_import = import_time_functions()
    os.environ["MUTANT_UNDER_TEST"] = ""
    baseline = repr(description_probe())
    verdicts: list[tuple[str, str, str]] = []
    listed = listed_equivalents(Path(__file__).with_name("mutation_equivalents.txt"))
    mutated_modules = {name.rpartition(".")[0] for name in statuses}
    for name in sorted(name for name in listed if name.rpartition(".")[0] in mutated_modules
                       and statuses.get(name) not in ("survived", "no tests")):
        print(f"mutation_judge: {name} (in mutation_equivalents.txt) was {statuses.get(name, 'not made')}: "
              "remove it", file=sys.stderr)
    for mutant in survivors:
        if mutant in listed:
            change, reason = listed[mutant]
            if " ".join(change.split()) in " ".join(mutated_lines(mutant).split()):
                verdicts.append((mutant, "equivalent", reason))
                continue
            print(f"mutation_judge: stale entry in mutation_equivalents.txt: {mutant} no longer makes {change!r}",
                  file=sys.stderr)
        import_time = mangled(mutant) in at_import
        if import_time and killed_in_fresh_interpreter(mutant):
            verdicts.append((mutant, "killed", "runs at import time: killed in a fresh interpreter"))
            continue
        if not describes(mutant):
            continue
        if import_time:
            same = equivalent_in_fresh_interpreter(mutant)
        else:
            os.environ["MUTANT_UNDER_TEST"] = mutant
            try:
                same = repr(description_probe()) == baseline
            finally:
                os.environ["MUTANT_UNDER_TEST"] = ""
        if same:
            verdicts.append((mutant, "equivalent", "changes only node editor text (names, labels, tooltips, notes)"))
    with open(out_file, "w") as out:
        out.writelines(f"{name}\t{status}\t{reason}\n" for name, status, reason in verdicts)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
