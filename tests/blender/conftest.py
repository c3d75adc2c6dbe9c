"""Fixtures for the tests that run inside Blender (through pytest-blender).

The session builds the extension zip with Blender's own extension tool,
installs it into the isolated user directory (BLENDER_USER_RESOURCES, set by
tools/run_tests.sh) and enables it, so the tests use what users install.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

bpy = pytest.importorskip("bpy", reason="these tests run inside Blender: use tools/run_tests.sh")

REPO = Path(os.environ.get("TRUE_DEPTH_REPO", Path(__file__).resolve().parents[2]))
EXTENSION_MODULE = "bl_ext.user_default.true_depth"


def blender_ext(*args: str) -> subprocess.CompletedProcess:
    """Run Blender's extension command-line tool (bundled with Blender and the bpy wheel)."""
    tool = Path(bpy.utils.system_resource("SCRIPTS")) / "addons_core" / "bl_pkg" / "cli" / "blender_ext.py"
    assert tool.is_file(), f"Blender's extension tool is missing: {tool}"
    return subprocess.run([sys.executable, str(tool), *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="session")
def extension_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out_dir = tmp_path_factory.mktemp("dist")
    result = blender_ext("build", "--source-dir", str(REPO), "--output-dir", str(out_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    (zip_path,) = out_dir.glob("true_depth-*.zip")
    return zip_path


@pytest.fixture(scope="session")
def td(extension_zip: Path):
    """The installed and enabled extension's ``depth_node`` package."""
    user_resources = os.environ.get("BLENDER_USER_RESOURCES")
    assert user_resources, "BLENDER_USER_RESOURCES must point at a throw-away directory (tools/run_tests.sh sets it)"
    assert Path(bpy.utils.resource_path("USER")) == Path(user_resources)
    result = bpy.ops.extensions.package_install_files(
        filepath=str(extension_zip), repo="user_default", enable_on_install=True
    )
    assert result == {"FINISHED"}, result
    assert EXTENSION_MODULE in bpy.context.preferences.addons, "the extension did not enable"
    return importlib.import_module(f"{EXTENSION_MODULE}.depth_node")


def submodule(td, name: str):
    """A submodule of the installed ``depth_node`` package (e.g. ``submodule(td, "blender.compat")``)."""
    return importlib.import_module(f"{td.__name__}.{name}")


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    return tmp_path
