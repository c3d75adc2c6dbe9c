"""The package's rooms: core/ imports no bpy (directly or through anything), and no module imports form a cycle."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "depth_node"
CORE_MODULES = sorted(".".join(path.relative_to(REPO).with_suffix("").parts[:-1] if path.stem == "__init__" else
                               path.relative_to(REPO).with_suffix("").parts)
                      for path in (PACKAGE / "core").rglob("*.py") if path.parent != PACKAGE / "core"
                      or path.stem != "__init__")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The ``depth_node`` modules a file imports (at any level: also inside functions)."""
    name = module_name(path)
    package = name if path.stem == "__init__" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found |= {f"{target}.{alias.name}" for alias in node.names}
    modules = {module_name(p) for p in PACKAGE.rglob("*.py")}
    return {target for target in found if target in modules and target != name}


def import_graph() -> dict[str, set[str]]:
    return {module_name(path): imports_of(path) for path in PACKAGE.rglob("*.py")}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of module imports, ignoring the edge from a module to its own package (Python's normal case)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            if module.startswith(target + "."):
                continue  # importing from one's own package's __init__
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def test_the_package_has_no_import_cycle() -> None:
    assert find_cycle(import_graph()) is None, " -> ".join(find_cycle(import_graph()))


def test_cycle_finder_detects_a_cycle() -> None:
    graph = {"depth_node.a": {"depth_node.b"}, "depth_node.b": {"depth_node.c"}, "depth_node.c": {"depth_node.a"}}
    assert find_cycle(graph) == ["depth_node.a", "depth_node.b", "depth_node.c", "depth_node.a"]
    assert find_cycle({"depth_node.a": {"depth_node.b"}, "depth_node.b": set()}) is None


def test_relative_imports_resolve_to_modules(tmp_path: Path) -> None:
    """The AST walk sees ``from ..core import x`` and imports inside functions (so the cycle test can fail)."""
    graph = import_graph()
    assert "depth_node.core.camera" in graph["depth_node.blender.binding"]
    assert "depth_node.commands.render" in graph["depth_node.commands.cli"]  # imported inside run()


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_imports_without_bpy(module: str) -> None:
    """Each core module imports in plain Python where ``import bpy`` fails (poisoned if bpy is installed)."""
    code = (
        "import sys\n"
        "sys.modules['bpy'] = None  # any import of bpy now raises ImportError\n"
        f"import {module}\n"
        "import depth_node\n"
        "depth_node.reference.distance_to_depth\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_core_lists_every_module() -> None:
    assert {"depth_node.core.camera", "depth_node.core.reference", "depth_node.core.graph.true_depth",
            "depth_node.core.formats.exr", "depth_node.core.outputs.sidecar", "depth_node.core.outputs.pointcloud",
            "depth_node.core.projections.base", "depth_node.core.calibration", "depth_node.core.calibration.osl",
            "depth_node.core.calibration.formats.kalibr"} <= set(CORE_MODULES)


def rooms(folder: Path) -> list[Path]:
    """The packages below ``folder`` (at any depth), relative to it."""
    return sorted(path.parent.relative_to(folder) for path in folder.rglob("__init__.py")
                  if path.parent != folder and "__pycache__" not in path.parts)


def test_core_keeps_at_most_eight_modules_at_its_top_level_and_the_rest_in_rooms() -> None:
    top = sorted(path.name for path in (PACKAGE / "core").glob("*.py") if path.stem != "__init__")
    assert len(top) <= 8, top
    assert {"calibration", "calibration/formats", "formats", "graph", "outputs", "projections"} <= {
        str(room) for room in rooms(PACKAGE / "core")}


UNIT = REPO / "tests" / "unit"
WHOLE_PACKAGE_TESTS = {"test_layout.py", "test_install.py", "test_docs.py"}
"""Tests of the package as a whole (imports, pip install, documentation), not of one module."""


def mirrored_source(test_file: Path) -> Path:
    """The folder of depth_node whose modules a folder of tests/unit tests: core/ by default, commands/ itself."""
    relative = test_file.parent.relative_to(UNIT)
    if relative.parts[:1] == ("commands",):
        return PACKAGE / relative
    return PACKAGE / "core" / relative


def test_every_room_of_core_and_commands_has_its_test_folder() -> None:
    for package in (PACKAGE / "core", PACKAGE / "commands"):
        for room in rooms(package):
            folder = UNIT / room if package.name == "core" else UNIT / "commands" / room
            assert folder.is_dir(), f"{package.name}/{room} has no test folder {folder.relative_to(REPO)}"


def test_each_unit_test_file_is_named_after_the_module_or_room_it_tests() -> None:
    """tests/unit/<room>/test_<module>.py tests depth_node/core/<room>/<module>.py (or the room's own __init__)."""
    files = sorted(UNIT.rglob("test_*.py"))
    assert len(files) > 20
    for test_file in files:
        if test_file.parent == UNIT and test_file.name in WHOLE_PACKAGE_TESTS:
            continue
        source = mirrored_source(test_file)
        subject = test_file.stem.removeprefix("test_")
        names_a_module = (source / f"{subject}.py").is_file()
        names_its_room = subject == source.name and (source / "__init__.py").is_file()
        assert names_a_module or names_its_room, (
            f"{test_file.relative_to(REPO)} names no module of {source.relative_to(REPO)}")


def test_no_test_file_is_named_after_a_testing_technique() -> None:
    techniques = ("killing", "mutant", "survivor", "hardening", "found_fault", "regression")
    named = [path.relative_to(REPO) for path in (REPO / "tests").rglob("*.py")
             if any(word in path.stem for word in techniques)]
    assert not named


def test_core_imports_nothing_outside_core() -> None:
    graph = import_graph()
    for module in CORE_MODULES:
        outside = {target for target in graph[module] if not target.startswith("depth_node.core")}
        assert not outside, f"{module} imports {outside}"
