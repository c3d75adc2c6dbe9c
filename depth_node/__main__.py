"""``python -m depth_node SUBCOMMAND ...``: the command line, next to the bpy wheel or for ``pointcloud``."""

import sys

from .commands.cli import main

sys.exit(main(sys.argv[1:]))
