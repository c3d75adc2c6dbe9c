"""Node groups as plain data: the node vocabulary (:mod:`.nodes`) and each group's declarative description
(:mod:`.true_depth`), which :mod:`depth_node.blender.group` builds. Imports no bpy."""
