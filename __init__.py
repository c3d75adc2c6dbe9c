"""Blender extension entry point: everything lives in the ``depth_node`` package."""

# Blender imports this file as a package (bl_ext.<repo>.true_depth). pytest, whose rootdir
# is this folder, may import it as a plain module first; there is nothing to do then.
if __package__:
    from .depth_node import register, unregister

    __all__ = ["register", "unregister"]
