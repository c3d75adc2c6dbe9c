"""The camera model, reference and graph description must import without Blender."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bpy_free_modules_import_without_bpy() -> None:
    code = (
        "import sys\n"
        "import depth_node, depth_node.camera, depth_node.reference, depth_node.graph_spec, depth_node.exr\n"
        "assert 'bpy' not in sys.modules, 'bpy was imported'\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
