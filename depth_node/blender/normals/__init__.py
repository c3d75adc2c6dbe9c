"""Normals inside Blender: the data pass's Normal pass made the mesh's own shading normal.

Cycles' pass includes the material's bump and normal maps and, on glossy closures, its bump map correction
(measured: up to 0.07 rad at grazing angles; see :mod:`depth_node.core.normals.normal_pass`). The job's data
pass is an in-memory copy whose beauty is not kept, so :func:`mesh_normals_only` takes those out of its
materials: the pass is then the evaluated mesh's interpolated (smooth) or face (flat) normal, the ground truth
the files promise. Transparency is untouched (only normal inputs lose their links), so the surface a pixel
sees is the one its depth sees.
"""

from __future__ import annotations

import bpy

_BUMP_ONLY = "BUMP"
"""The displacement method whose Displacement output only bends the shading normal (the others move the mesh)."""


def _strip(tree: bpy.types.NodeTree, bump_only: bool, seen: set[str]) -> int:
    """Remove the links into shader nodes' normal inputs in ``tree`` and the groups it uses, and the Material
    Output's Displacement link when ``bump_only``; returns how many links went."""
    removed = 0
    for link in list(tree.links):
        socket = link.to_socket
        normal_input = socket.type == "VECTOR" and "normal" in socket.name.lower()
        bump = bump_only and link.to_node.bl_idname == "ShaderNodeOutputMaterial" and socket.name == "Displacement"
        if normal_input or bump:
            tree.links.remove(link)
            removed += 1
    for node in tree.nodes:
        group = getattr(node, "node_tree", None)
        if node.bl_idname == "ShaderNodeGroup" and group is not None and group.name not in seen:
            seen.add(group.name)
            removed += _strip(group, bump_only, seen)
    return removed


def mesh_normals_only() -> int:
    """Make every material's Normal pass the mesh's normal: no bump map correction, no links into normal inputs,
    no bump-only displacement (true displacement moves the geometry and stays). For a throw-away copy of a file.
    Returns how many materials were changed."""
    changed, seen = 0, set()
    for material in bpy.data.materials:
        if material.is_grease_pencil:
            continue
        corrected = material.cycles.use_bump_map_correction
        material.cycles.use_bump_map_correction = False
        removed = 0
        if material.node_tree is not None:
            removed = _strip(material.node_tree, material.displacement_method == _BUMP_ONLY, seen)
        changed += int(corrected or removed > 0)
    return changed
