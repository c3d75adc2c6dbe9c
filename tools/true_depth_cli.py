"""Blender-side entry of tools/true_depth.sh: ``blender -b --python tools/true_depth_cli.py -- ARGS``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from depth_node.commands.cli import main  # noqa: E402  (needs the repo on sys.path first)

sys.exit(main())
