"""Everything that needs Blender: group builder, binding, the 4.5/5.x compat seam, scenes, images and UI."""
