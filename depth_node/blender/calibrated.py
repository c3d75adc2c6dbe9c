"""Real cameras in Blender: a calibration applied to a camera, rendered natively by Cycles.

A calibration with distortion becomes a Cycles custom camera (``CUSTOM``) whose OSL shader
(:mod:`depth_node.core.calibration.osl`) is compiled here and stored in the camera as bytecode, so the
.blend renders the distorted image in any Blender >= 4.5 with Cycles' OSL, without this extension and with
auto-execution off (measured on 4.5-5.3: Cycles' Z pass of such a camera is the ray distance, within 1e-4 of
the BVH ray cast along OpenCV's rays on every hit pixel). Without distortion it is an ordinary perspective
camera (lens, sensor, shift and pixel aspect from K).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import bpy
import numpy as np

from ..core.calibration import Calibration, CalibrationError, osl
from ..core.calibration.formats import read, read_document
from ..core.camera import BlenderCamera
from ..core.modes import DISTANCE_TO_DEPTH
from . import scenes

CALIBRATION_PROPERTY = "true_depth_calibration"
"""On a camera's data: the calibration its custom shader was made from (JSON of ``Calibration.to_dict``)."""
RAY_MAP_PREFIX = "True Depth rays"
GROUP_PREFIX = "True Depth (calibrated"


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


def ray_map(calibration: Calibration, name: str) -> bpy.types.Image:
    """A packed float image holding each pixel's ray z component (planar depth / ray distance; 0: no ray).

    Packed as a float32 OpenEXR inside the .blend (measured on 4.5 and 5.3: read back bit for bit after saving
    and opening), so a farm renders it without this extension.
    """
    rays_z = np.nan_to_num(calibration.pixel_rays()[..., 2], nan=0.0).astype(np.float32)
    full = f"{RAY_MAP_PREFIX} {name}"
    old = bpy.data.images.get(full)
    if old is not None:
        bpy.data.images.remove(old)
    image = bpy.data.images.new(full, calibration.width, calibration.height, alpha=False, float_buffer=True)
    image.colorspace_settings.name = "Non-Color"
    pixels = np.zeros((calibration.height, calibration.width, 4), dtype=np.float32)
    pixels[..., 0] = rays_z[::-1]  # Blender's rows start at the bottom
    pixels[..., 3] = 1.0
    image.pixels.foreach_set(pixels.ravel())
    image.file_format = "OPEN_EXR"
    image.pack()
    return image


def calibrated_group(calibration: Calibration, mode: str, name: str) -> bpy.types.NodeTree:
    """The True Depth group of a calibrated camera: the input times (distance -> depth) or divided by
    (depth -> distance) each pixel's ray z, read from its ray map; 0 where the pixel has no ray (Blender's
    Math Divide gives 0 for a zero divisor)."""
    forward = mode == DISTANCE_TO_DEPTH
    group = bpy.data.node_groups.new(f"{GROUP_PREFIX} {name})", "CompositorNodeTree")
    group.interface.new_socket("Distance" if forward else "Depth", in_out="INPUT", socket_type="NodeSocketFloat")
    group.interface.new_socket("Depth" if forward else "Distance", in_out="OUTPUT", socket_type="NodeSocketFloat")
    group_input, group_output = group.nodes.new("NodeGroupInput"), group.nodes.new("NodeGroupOutput")
    rays = group.nodes.new("CompositorNodeImage")
    rays.image = ray_map(calibration, name)
    rays.label = "Ray z per pixel (planar depth / distance)"
    separate = group.nodes.new("CompositorNodeSeparateColor")
    group.links.new(rays.outputs["Image"], separate.inputs[0])
    math = group.nodes.new("ShaderNodeMath")
    math.operation = "MULTIPLY" if forward else "DIVIDE"
    group.links.new(group_input.outputs[0], math.inputs[0])
    group.links.new(separate.outputs[0], math.inputs[1])
    group.links.new(math.outputs[0], group_output.inputs[0])
    return group


def describe(meta: dict, calibration: Calibration) -> dict:
    """A sidecar of the calibration's pinhole part completed for the calibrated camera: its distortion, how a
    pixel maps to a ray; the Blender settings of the pinhole part are not the camera's, so they are left out."""
    meta = {key: value for key, value in meta.items() if key != "camera_model"}
    meta["distortion"] = calibration.describe()
    meta["projection_model"] = {"type": "CALIBRATED", "model": calibration.model,
                                "pixel_to_ray": "OpenCV's model inverted exactly (cv2.undistortPoints); "
                                                "K is the pinhole part"}
    return meta
