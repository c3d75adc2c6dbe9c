"""Blender extension entry point: everything lives in the ``depth_node`` package."""

from .depth_node import register, unregister

__all__ = ["register", "unregister"]
