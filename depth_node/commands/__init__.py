"""The command line and its jobs: ``cli`` parses, ``jobs`` (Blender) and ``pointcloud`` (numpy) do the work."""
