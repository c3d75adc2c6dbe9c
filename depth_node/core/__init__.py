"""The bpy-free core: camera frame and projections, numpy reference, graph description, file formats.

Nothing under ``depth_node.core`` imports bpy, directly or through anything it
imports (``tests/unit/test_layout.py`` enforces it), so all of it works in any
Python with numpy.
"""
