"""The OSL camera shader of a :class:`~depth_node.core.calibration.Calibration`, for Cycles' custom cameras.
Imports no bpy.

The calibration is baked into the source as constants, so the compiled bytecode stored in the .blend renders
anywhere (no extension, no Python). Per camera sample: the raster position (0..1, origin bottom-left) becomes
the OpenCV pixel position ``u = x W - 0.5``, ``v = (1 - y) H - 0.5``; the model's inverse (Newton's method, as
:mod:`~depth_node.core.calibration.models` does in float64) gives the ray, turned from OpenCV camera axes
(y down) into Cycles' camera space (y up). A pixel without a ray gets zero throughput: nothing is seen there
(depth 0).
"""

from __future__ import annotations

import hashlib
import math

from . import Calibration, models

SHADER_NAME = "true_depth_calibrated_camera"
ITERATIONS = 24
"""Newton steps in the shader (float32): measured to converge well before this on the tested models."""
TOLERANCE = 1e-5
"""A pixel whose residual (normalized units, float32) stays above this has no ray."""


def _number(value: float) -> str:
    return repr(float(value)) if math.isfinite(value) else "1e30"


def source(calibration: Calibration) -> str:
    """The OSL source of ``calibration``'s camera."""
    c = calibration
    head = f"""// True Depth: calibrated camera, {c.model} model, {c.width}x{c.height}. Generated; the calibration is
// baked in: {c.to_dict()}
shader {SHADER_NAME}(output point position = point(0.0, 0.0, 0.0),
                     output vector direction = vector(0.0, 0.0, 1.0),
                     output color throughput = color(1.0, 1.0, 1.0))
{{
    point raster = camera_shader_raster_position();
    float xd = (raster[0] * {c.width}.0 - 0.5 - {_number(c.cx)}) / {_number(c.fx)};
    float yd = ((1.0 - raster[1]) * {c.height}.0 - 0.5 - {_number(c.cy)}) / {_number(c.fy)};
"""
    if c.model == "fisheye":
        k1, k2, k3, k4 = (_number(value) for value in c.coefficients)
        limit = _number(models.fisheye_max_theta(c.coefficients))
        body = f"""    float td = hypot(xd, yd);
    float theta = min(td, {limit});
    float residual = 0.0;
    for (int i = 0; i < {ITERATIONS}; i++) {{
        float t2 = theta * theta;
        residual = theta * (1.0 + t2 * ({k1} + t2 * ({k2} + t2 * ({k3} + t2 * {k4})))) - td;
        float slope = 1.0 + t2 * (3.0 * {k1} + t2 * (5.0 * {k2} + t2 * (7.0 * {k3} + t2 * 9.0 * {k4})));
        theta = clamp(theta - residual / slope, 0.0, {limit});
    }}
    float t2 = theta * theta;
    residual = theta * (1.0 + t2 * ({k1} + t2 * ({k2} + t2 * ({k3} + t2 * {k4})))) - td;
    float scale = td > 0.0 ? sin(theta) / td : 1.0;
    direction = vector(xd * scale, -yd * scale, cos(theta));
    if (abs(residual) > {TOLERANCE} * max(1.0, td)) {{
        throughput = color(0.0);
    }}
}}
"""
    else:
        k1, k2, p1, p2, k3, k4, k5, k6 = (_number(value) for value in (c.coefficients or (0.0,) * 8))
        limit = _number(models.radtan_max_radius(c.coefficients) if c.model == "radtan" else math.inf)
        body = f"""    float x = xd;
    float y = yd;
    float ex = 0.0;
    float ey = 0.0;
    float det = 1.0;
    for (int i = 0; i <= {ITERATIONS}; i++) {{
        float r2 = x * x + y * y;
        float num = 1.0 + r2 * ({k1} + r2 * ({k2} + r2 * {k3}));
        float den = 1.0 + r2 * ({k4} + r2 * ({k5} + r2 * {k6}));
        float q = num / den;
        float dq = (({k1} + r2 * (2.0 * {k2} + r2 * 3.0 * {k3})) * den
                    - num * ({k4} + r2 * (2.0 * {k5} + r2 * 3.0 * {k6}))) / (den * den);
        ex = x * q + 2.0 * {p1} * x * y + {p2} * (r2 + 2.0 * x * x) - xd;
        ey = y * q + {p1} * (r2 + 2.0 * y * y) + 2.0 * {p2} * x * y - yd;
        float a = q + 2.0 * x * x * dq + 2.0 * {p1} * y + 6.0 * {p2} * x;
        float b = 2.0 * x * y * dq + 2.0 * {p1} * x + 2.0 * {p2} * y;
        float d = q + 2.0 * y * y * dq + 6.0 * {p1} * y + 2.0 * {p2} * x;
        det = a * d - b * b;
        if (i < {ITERATIONS}) {{
            x -= (d * ex - b * ey) / det;
            y -= (a * ey - b * ex) / det;
        }}
    }}
    direction = normalize(vector(x, -y, 1.0));
    if (!(hypot(ex, ey) <= {TOLERANCE} * max(1.0, hypot(xd, yd))) || !(det > 0.0) || !(hypot(x, y) < {limit})) {{
        throughput = color(0.0);
    }}
}}
"""
    return head + body


def bytecode_hash(bytecode: str) -> str:
    """The hash Cycles stores next to a custom camera's bytecode (its own add-on's: MD5 of the text)."""
    return hashlib.md5(bytecode.encode(), usedforsecurity=False).hexdigest()
