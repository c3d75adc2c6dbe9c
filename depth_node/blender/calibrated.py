"""Real cameras in Blender: a calibration applied to a camera, rendered natively by Cycles.

A calibration with distortion becomes a Cycles custom camera (``CUSTOM``) whose OSL shader
(:mod:`depth_node.core.calibration.osl`) is compiled here and stored in the camera as bytecode, so the
.blend renders the distorted image in any Blender >= 4.5 with Cycles' OSL, without this extension and with
auto-execution off (measured on 4.5-5.3: Cycles' Z pass of such a camera is the ray distance, within 1e-4 of
the BVH ray cast along OpenCV's rays on every hit pixel). Without distortion it is an ordinary perspective
camera (lens, sensor, shift and pixel aspect from K).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

import bpy
import numpy as np

from ..core import modes
from ..core.calibration import Calibration, CalibrationError, osl
from ..core.calibration.formats import read, read_document
from ..core.camera import BlenderCamera
from ..core.graph.nodes import DriverSpec, SocketSpec
from ..core.graph.true_depth import CALIBRATED, FINGERPRINT_PROPERTY, MODE_PROPERTY, VARIANT_PROPERTY, VERSION_PROPERTY
from . import compat, scenes
from .group import fingerprint

CALIBRATION_PROPERTY = "true_depth_calibration"
"""On a camera's data: the calibration its custom shader was made from (JSON of ``Calibration.to_dict``)."""
RAY_MAP_PREFIX = "True Depth rays"
GROUP_VERSION = 2
"""Stamped on calibrated groups; 2: the frame check input (1 built before it existed)."""
FRAME_CHECK = "Frame Fits Calibration"


def calibration_of(camera_data: bpy.types.Camera) -> Calibration | None:
    """The calibration a custom camera was made from by :func:`apply_calibration` (None for any other camera,
    or a custom camera whose shader was changed since: its bytecode no longer matches)."""
    text = camera_data.get(CALIBRATION_PROPERTY)
    if camera_data.type != "CUSTOM" or not text:
        return None
    calibration = Calibration.from_dict(json.loads(text))
    if camera_data.custom_mode != "INTERNAL" or camera_data.custom_bytecode_hash != osl.bytecode_hash(
            camera_data.custom_bytecode):
        return None
    return calibration


def compile_shader(calibration: Calibration) -> str:
    """The OSO bytecode of ``calibration``'s camera shader (compiled by Cycles' own OSL compiler)."""
    try:
        import _cycles
    except ImportError:
        raise CalibrationError("this Blender has no Cycles (its custom cameras render the calibration)") from None
    if not getattr(_cycles, "with_osl", False):
        raise CalibrationError("this Blender's Cycles is built without OSL; calibrated cameras need it")
    with tempfile.TemporaryDirectory(prefix="true-depth-osl-") as folder:
        source, compiled = Path(folder) / f"{osl.SHADER_NAME}.osl", Path(folder) / f"{osl.SHADER_NAME}.oso"
        source.write_text(osl.source(calibration))
        if not _cycles.osl_compile(str(source), str(compiled)) or not compiled.is_file():
            raise CalibrationError(f"Cycles could not compile the camera shader of {calibration.model} "
                                   f"{calibration.width}x{calibration.height} (its errors are printed above)")
        return compiled.read_text()


def load_calibration(source: Calibration | dict | str | Path, camera: str | None = None) -> Calibration:
    """A calibration from a file (any supported format), a parsed document or a :class:`Calibration`."""
    if isinstance(source, Calibration):
        return source
    if isinstance(source, dict):
        return read_document(source, "calibration", camera)
    return read(source, camera)


def apply_calibration(target: Any, source: Calibration | dict | str | Path, camera: str | None = None
                      ) -> bpy.types.Object:
    """Make ``target`` (a camera object, or a scene: its active camera) the calibrated camera; returns it.

    The object keeps its pose and animation; its intrinsics, distortion and the scene's resolution come from
    the calibration (``camera``: which camera of a file holding several). Raises
    :class:`~depth_node.core.calibration.CalibrationError` with the reason.
    """
    if isinstance(target, bpy.types.Scene):
        scene, camera_object = target, target.camera
        if camera_object is None:
            raise CalibrationError(f"scene {target.name!r} has no active camera")
    else:
        camera_object = target
        scene = next((s for s in bpy.data.scenes if camera_object.name in s.objects), bpy.context.scene)
    if camera_object.type != "CAMERA":
        raise CalibrationError(f"{camera_object.name!r} is not a camera")
    calibration = load_calibration(source, camera)
    data = camera_object.data
    if not calibration.distorted:
        scenes.apply_camera(scene, BlenderCamera.from_matrix(calibration.K, calibration.width, calibration.height),
                            camera_object)
        if CALIBRATION_PROPERTY in data:
            del data[CALIBRATION_PROPERTY]
        return camera_object
    bytecode = compile_shader(calibration)
    render = scene.render
    render.resolution_x, render.resolution_y, render.resolution_percentage = calibration.width, calibration.height, 100
    render.pixel_aspect_x = render.pixel_aspect_y = 1.0
    render.use_border = False
    data.type = "CUSTOM"
    data.custom_mode = "INTERNAL"
    data.custom_bytecode = bytecode
    data.custom_bytecode_hash = osl.bytecode_hash(bytecode)
    data[CALIBRATION_PROPERTY] = json.dumps(calibration.to_dict())
    return camera_object


def pinhole_part(calibration: Calibration) -> BlenderCamera:
    """The perspective camera of the calibration's K and size (the sidecar's ``K``; the image size)."""
    return BlenderCamera.from_matrix(calibration.K, calibration.width, calibration.height)


def _key(calibration: Calibration) -> str:
    return hashlib.sha256(json.dumps(calibration.to_dict(), sort_keys=True).encode()).hexdigest()[:12]


def ray_map(calibration: Calibration) -> bpy.types.Image:
    """A packed float image holding each pixel's ray z component (planar depth / ray distance; 0: no ray).

    Packed as a float32 OpenEXR inside the .blend (measured on 4.5 and 5.3: read back bit for bit after saving
    and opening), so a farm renders it without this extension. One image per calibration, shared by its groups.
    """
    key = _key(calibration)
    full = f"{RAY_MAP_PREFIX} {calibration.model} {calibration.width}x{calibration.height} {key}"
    old = bpy.data.images.get(full)
    if old is not None and old.get(CALIBRATION_PROPERTY) == key and old.packed_file is not None:
        return old
    if old is not None:
        bpy.data.images.remove(old)
    rays_z = np.nan_to_num(calibration.pixel_rays()[..., 2], nan=0.0).astype(np.float32)
    image = bpy.data.images.new(full, calibration.width, calibration.height, alpha=False, float_buffer=True)
    image.colorspace_settings.name = "Non-Color"
    pixels = np.zeros((calibration.height, calibration.width, 4), dtype=np.float32)
    pixels[..., 0] = rays_z[::-1]  # Blender's rows start at the bottom
    pixels[..., 3] = 1.0
    image.pixels.foreach_set(pixels.ravel())
    image.file_format = "OPEN_EXR"
    image.pack()
    image[CALIBRATION_PROPERTY] = key
    return image


def _enum_value(owner: type, name: str, item: str) -> int:
    return owner.bl_rna.properties[name].enum_items[item].value


def frame_check(calibration: Calibration) -> SocketSpec:
    """The group input that is 1 while the scene renders a custom camera at the calibration's size, else 0 (the
    group then gives 0 everywhere: a saved file rendered without this extension never gets a misaligned ray map)."""
    custom = _enum_value(bpy.types.Camera, "type", "CUSTOM")
    return SocketSpec(
        FRAME_CHECK, f"1 while the scene renders its custom camera at {calibration.width}x{calibration.height}, "
                     "100 %, square pixels, uncropped; else 0 and the output is 0", 0.0, 0.0, 1.0,
        DriverSpec(expression=f"kind == {custom} and x == {calibration.width} and y == {calibration.height} "
                              "and percent == 100 and aspect_x == aspect_y and not (border and crop)",
                   variables=(("kind", "camera.data.type"), ("x", "render.resolution_x"),
                              ("y", "render.resolution_y"), ("percent", "render.resolution_percentage"),
                              ("aspect_x", "render.pixel_aspect_x"), ("aspect_y", "render.pixel_aspect_y"),
                              ("border", "render.use_border"), ("crop", "render.use_crop_to_border"))))


def frame_problem(scene: bpy.types.Scene, camera_object: bpy.types.Object, calibration: Calibration) -> str | None:
    """Why ``scene`` does not render ``calibration``'s image (what :func:`frame_check` tests), or None."""
    render = scene.render
    size = f"{calibration.width}x{calibration.height}"
    if (render.resolution_x, render.resolution_y, render.resolution_percentage) != (
            calibration.width, calibration.height, 100):
        return (f"camera {camera_object.name!r} is calibrated for {size} but scene {scene.name!r} renders "
                f"{render.resolution_x}x{render.resolution_y} at {render.resolution_percentage} %: set {size} at "
                "100 % (or apply the calibration again)")
    if render.pixel_aspect_x != render.pixel_aspect_y:
        return (f"scene {scene.name!r} has non-square pixels ({render.pixel_aspect_x:g}:{render.pixel_aspect_y:g}); "
                f"camera {camera_object.name!r}'s calibration has its own: set the pixel aspect to 1:1")
    if render.use_border and render.use_crop_to_border:
        return (f"scene {scene.name!r} crops the render to a border region; camera {camera_object.name!r}'s "
                "calibration covers the whole image: turn off Crop to Render Region")
    return None


def is_calibrated_group(group: bpy.types.NodeTree | None) -> bool:
    """True for a group made by :func:`ensure_group` (any version)."""
    return group is not None and group.get(VARIANT_PROPERTY) == CALIBRATED


def is_current(group: bpy.types.NodeTree, calibration: Calibration | None = None, mode: str | None = None) -> bool:
    """True when ``group`` is a calibrated group of this version, not edited since it was built (and, when given,
    built for ``calibration`` and ``mode``)."""
    return (is_calibrated_group(group) and group.get(VERSION_PROPERTY) == GROUP_VERSION
            and group.get(FINGERPRINT_PROPERTY) == fingerprint(group)
            and (calibration is None or group.get(CALIBRATION_PROPERTY) == json.dumps(calibration.to_dict()))
            and (mode is None or group.get(MODE_PROPERTY) == mode))


def _populate(group: bpy.types.NodeTree, calibration: Calibration, mode: str) -> None:
    """(Re)build ``group`` in place: the input times (distance -> depth) or divided by (depth -> distance) each
    pixel's ray z from its ray map, times the frame check; 0 where the pixel has no ray (Blender's Math Divide
    gives 0 for a zero divisor)."""
    chosen = modes.mode(mode)
    forward = mode == modes.DISTANCE_TO_DEPTH
    group.nodes.clear()
    group.interface.clear()
    group.interface.new_socket(chosen.input, in_out="INPUT", socket_type="NodeSocketFloat")
    check = frame_check(calibration)
    socket = group.interface.new_socket(check.name, in_out="INPUT", socket_type=check.socket_type)
    socket.description, socket.default_value = check.description, check.default
    socket.min_value, socket.max_value = check.min_value, check.max_value
    group.interface.new_socket(chosen.output, in_out="OUTPUT", socket_type="NodeSocketFloat")
    group_input, group_output = group.nodes.new("NodeGroupInput"), group.nodes.new("NodeGroupOutput")
    rays = group.nodes.new("CompositorNodeImage")
    rays.image = ray_map(calibration)
    rays.label = "Ray z per pixel (planar depth / distance)"
    separate = group.nodes.new("CompositorNodeSeparateColor")
    group.links.new(rays.outputs["Image"], separate.inputs[0])
    checked = group.nodes.new("ShaderNodeMath")
    checked.operation = "MULTIPLY"
    group.links.new(group_input.outputs[0], checked.inputs[0])
    group.links.new(group_input.outputs[1], checked.inputs[1])
    math = group.nodes.new("ShaderNodeMath")
    math.operation = "MULTIPLY" if forward else "DIVIDE"
    group.links.new(checked.outputs[0], math.inputs[0])
    group.links.new(separate.outputs[0], math.inputs[1])
    group.links.new(math.outputs[0], group_output.inputs[0])
    for column, node in enumerate((group_input, rays, separate, checked, math, group_output)):
        node.location = (200.0 * column, 0.0)
    if hasattr(group, "description"):
        group.description = (f"{chosen.description}, exactly, for a calibrated {calibration.model} camera "
                             f"({calibration.width}x{calibration.height}; rays from its calibration)")
    group[VERSION_PROPERTY], group[MODE_PROPERTY], group[VARIANT_PROPERTY] = GROUP_VERSION, mode, CALIBRATED
    group[CALIBRATION_PROPERTY] = json.dumps(calibration.to_dict())
    group[FINGERPRINT_PROPERTY] = fingerprint(group)


def ensure_group(calibration: Calibration, mode: str, camera_name: str) -> bpy.types.NodeTree:
    """The True Depth group of ``camera_name``'s calibration in ``mode``: reused when current, else (re)built in
    place, so every node using it follows a changed calibration."""
    name = f"{modes.mode(mode).group_name} ({camera_name}, calibrated)"
    group = bpy.data.node_groups.get(name)
    if group is not None and group.bl_idname != compat.COMPOSITOR_TREE_IDNAME:
        group.name = f"{name} (not a compositor group)"
        group = None
    if group is None:
        group = bpy.data.node_groups.new(name, compat.COMPOSITOR_TREE_IDNAME)
    if not is_current(group, calibration, mode):
        _populate(group, calibration, mode)
    return group


def rebuild_outdated() -> list[bpy.types.NodeTree]:
    """Rebuild (in place, from the calibration they hold) the calibrated groups stamped with another version."""
    rebuilt = []
    for group in bpy.data.node_groups:
        if is_calibrated_group(group) and group.get(VERSION_PROPERTY) != GROUP_VERSION:
            _populate(group, Calibration.from_dict(json.loads(group[CALIBRATION_PROPERTY])), group[MODE_PROPERTY])
            rebuilt.append(group)
    return rebuilt


def describe(meta: dict, calibration: Calibration) -> dict:
    """A sidecar of the calibration's pinhole part completed for the calibrated camera: its distortion, how a
    pixel maps to a ray; the Blender settings of the pinhole part are not the camera's, so they are left out."""
    meta = {key: value for key, value in meta.items() if key != "camera_model"}
    meta["distortion"] = calibration.describe()
    meta["projection_model"] = {"type": "CALIBRATED", "model": calibration.model,
                                "pixel_to_ray": "OpenCV's model inverted exactly (cv2.undistortPoints); "
                                                "K is the pinhole part"}
    return meta
