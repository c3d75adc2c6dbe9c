"""An independent port of Blender's BKE_camera_params_compute_viewplane, for checking K.

It computes the view plane in camera space at unit distance (the window that
Blender's projection matrix maps onto the image) and derives K from it, so it
shares no code or formula with depth_node.camera.
"""

from __future__ import annotations

import numpy as np


def viewplane_k(cam) -> np.ndarray:
    winx, winy = cam.width, cam.height
    aspx, aspy = cam.pixel_aspect_x, cam.pixel_aspect_y
    ycor = aspy / aspx
    sensor_size = cam.sensor_height if cam.sensor_fit == "VERTICAL" else cam.sensor_width
    pixsize = sensor_size / cam.lens  # at clip distance 1
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
    # The view plane spans the image edges; pixel i's centre is at xmin + (i + 0.5) * (xmax - xmin) / winx.
    fx = winx / (xmax - xmin)
    fy = winy / (ymax - ymin)
    cx = -xmin * fx - 0.5
    cy = ymax * fy - 0.5  # image rows grow downwards, camera y upwards
    return np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]], dtype=np.float64)
