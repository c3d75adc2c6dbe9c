"""Multi-View renders whose views use their own cameras (found by name suffix), as Blender resolves them.

For such a scene the node is a small wrapper group: one True Depth node per view, each bound to its
view's camera object, and a Switch View node that passes the current view's result (the compositor runs
once per view; measured on 4.5-5.3, Switch View inside a group picks per view, custom view names too).
"""

from __future__ import annotations

import bpy

VIEWS_PROPERTY = "true_depth_views"
"""On a wrapper group: what it was built for (scene, views and their cameras)."""


def view_cameras(scene: bpy.types.Scene, camera: bpy.types.Object) -> dict[str, bpy.types.Object]:
    """``{view name: camera}`` of a Multi-View render (``{}`` otherwise), as ``camera_multiview_advanced``.

    The longest view suffix that ends ``camera``'s name is replaced by each view's suffix; a view whose
    camera does not exist renders with ``camera`` itself.
    """
    render = scene.render
    if camera is None or not render.use_multiview or render.views_format != "MULTIVIEW":
        return {}
    views = [view for view in render.views if view.use]
    stem, longest = None, -1
    for view in render.views:
        suffix = view.camera_suffix
        if len(suffix) >= longest and len(camera.name) >= len(suffix) and camera.name.endswith(suffix):
            stem, longest = camera.name[:len(camera.name) - len(suffix)], len(suffix)
    cameras = {}
    for view in views:
        other = scene.objects.get(f"{stem}{view.camera_suffix}") if stem is not None else None
        cameras[view.name] = other if other is not None else camera
    return cameras


def needs_views_group(scene: bpy.types.Scene, camera: bpy.types.Object) -> bool:
    """True when the views of ``scene``'s render use more than one camera."""
    return len(set(view_cameras(scene, camera).values())) > 1


def views_signature(scene: bpy.types.Scene, camera: bpy.types.Object) -> str:
    """What a wrapper depends on: the views, their cameras and those cameras' projection types."""
    return repr((scene.name, sorted((view, obj.name, obj.data.type, obj.data.panorama_type)
                                    for view, obj in view_cameras(scene, camera).items())))


def views_nodes(tree: bpy.types.NodeTree):
    """The multi-view wrapper nodes directly inside ``tree``."""
    for node in tree.nodes:
        group = getattr(node, "node_tree", None)
        if group is not None and VIEWS_PROPERTY in group:
            yield node
