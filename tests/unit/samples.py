"""Cameras and values the unit tests of several rooms share."""

from __future__ import annotations

import numpy as np

from depth_node.core.camera import BlenderCamera

CAMERAS = {
    "persp": BlenderCamera.from_settings(lens=30, resolution_x=40, resolution_y=30, shift_x=0.1),
    "persp-aspect-vertical": BlenderCamera.from_settings(lens=50, sensor_fit="VERTICAL", resolution_x=30,
                                                         resolution_y=40,
                                           pixel_aspect_x=1.7, shift_y=-0.2),
    "ortho-crop": BlenderCamera.from_settings(projection="ORTHO", ortho_scale=3.0, resolution_x=40, resolution_y=30,
                                use_border=True, crop_to_border=True, border=(0.1, 0.9, 0.2, 0.8)),
}


SPECIAL_VALUE_CAMERAS = {
    "perspective": BlenderCamera.from_settings(resolution_x=6, resolution_y=4),
    # 7x5: the centre pixel's ray starts at the camera origin (lateral offset 0)
    "orthographic 7x5": BlenderCamera.from_settings(projection="ORTHO", ortho_scale=8.0, resolution_x=7,
                                                    resolution_y=5),
    "orthographic": BlenderCamera.from_settings(projection="ORTHO", ortho_scale=8.0, resolution_x=6, resolution_y=4),
    "fisheye": BlenderCamera.from_settings(projection="PANO", panorama_type="FISHEYE_EQUIDISTANT", fisheye_fov=3.0,
                                           resolution_x=6, resolution_y=4),
    # a 4 mm lens on a 36 mm sensor: the corners lie beyond the equisolid model's r = 2 f
    "equisolid": BlenderCamera.from_settings(projection="PANO", panorama_type="FISHEYE_EQUISOLID", fisheye_lens=4.0,
                                             fisheye_fov=3.1, resolution_x=6, resolution_y=4),
    "mirror ball": BlenderCamera.from_settings(projection="PANO", panorama_type="MIRRORBALL", resolution_x=6,
                                               resolution_y=4),
    "equirectangular": BlenderCamera.from_settings(projection="PANO", panorama_type="EQUIRECTANGULAR",
                                                   resolution_x=6, resolution_y=4),
}


def special(dtype: type, shape: tuple[int, int] = (4, 6)) -> np.ndarray:
    """0, +-inf, NaN, the smallest and largest magnitudes of ``dtype``, and ordinary values (0 in the middle)."""
    huge, tiny = np.finfo(dtype).max / 4, np.finfo(dtype).smallest_subnormal
    values = [0.0, np.inf, -np.inf, np.nan, tiny, -2.0, huge, 3.0, 0.5, 1e-20, 7.0, np.nan, np.inf, 0.0, 2.0, 4.0,
              -0.0, 1.0, 5.0, np.nan, -huge, 9.0, np.inf, 0.25]
    image = np.resize(np.array(values, dtype=dtype), shape)
    image[shape[0] // 2, shape[1] // 2] = 0.0
    return image


def camera(K: list[list[float]], to_world: np.ndarray, distortion: dict | None = None, **extra: object) -> dict:
    blender = to_world @ np.diag([1.0, -1.0, -1.0, 1.0])
    meta = {"K": K, "width": 64, "height": 48, "projection": "PERSP", "camera_to_world_opencv": to_world.tolist(),
            "camera_to_world_blender": blender.tolist(), "unit_scale": 1.0, **extra}
    if distortion is not None:
        meta["distortion"] = distortion
    return meta


def rotation_about(axis: list[float], angle: float) -> np.ndarray:
    """The 3x3 rotation by ``angle`` radians about ``axis``."""
    axis = np.asarray(axis, dtype=np.float64) / np.linalg.norm(axis)
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross
