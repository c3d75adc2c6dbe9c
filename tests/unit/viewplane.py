"""An independent port of Blender's BKE_camera_params_compute_viewplane, for checking K.

It computes the view plane in camera space (at unit distance for perspective
cameras, in scene units for orthographic ones: the window that Blender's
projection matrix maps onto the frame) and derives K from it, then applies the
border crop the way the render pipeline cuts its display rectangle, so it
shares no code or formula with depth_node.camera.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np


def viewplane_k(camera) -> np.ndarray:
    cam = SimpleNamespace(**camera.settings())
    winx = cam.resolution_x * cam.resolution_percentage // 100
    winy = cam.resolution_y * cam.resolution_percentage // 100
    aspx, aspy = cam.pixel_aspect_x, cam.pixel_aspect_y
    ycor = aspy / aspx
    sensor_size = cam.sensor_height if cam.sensor_fit == "VERTICAL" else cam.sensor_width
    pixsize = cam.ortho_scale if cam.projection == "ORTHO" else sensor_size / cam.lens
    if cam.sensor_fit == "AUTO":
        fit = "HORIZONTAL" if aspx * winx >= aspy * winy else "VERTICAL"
    else:
        fit = cam.sensor_fit
    viewfac = winx if fit == "HORIZONTAL" else ycor * winy
    pixsize /= viewfac
    xmin, xmax = -0.5 * winx, 0.5 * winx
    ymin, ymax = -0.5 * ycor * winy, 0.5 * ycor * winy
    dx, dy = cam.shift_x * viewfac, cam.shift_y * viewfac
    xmin, xmax, ymin, ymax = ((xmin + dx) * pixsize, (xmax + dx) * pixsize,
                              (ymin + dy) * pixsize, (ymax + dy) * pixsize)
    # The view plane spans the frame edges; pixel i's centre is at xmin + (i + 0.5) * (xmax - xmin) / winx.
    fx = winx / (xmax - xmin)
    fy = winy / (ymax - ymin)
    cx = -xmin * fx - 0.5
    cy = ymax * fy - 0.5  # image rows grow downwards, camera y upwards
    if cam.use_border and cam.crop_to_border:
        # render_init_from_main: disprect = border * winx, converted to int (C truncation of a float product).
        border = np.float32(cam.border)
        left = int(border[0] * np.float32(winx))
        top = int(border[3] * np.float32(winy))  # border y counts from the bottom
        cx -= left
        cy -= winy - top
    return np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]], dtype=np.float64)
