"""The camera shader (core/calibration/osl.py), run in Python and compared with OpenCV's rays."""

from __future__ import annotations

import hashlib
import math
import re

import numpy as np
import pytest

from depth_node.core.calibration import Calibration, osl

cv2 = pytest.importorskip("cv2", reason="OpenCV is the oracle (opencv-python-headless, a test dependency)")


CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-15)


def translate(source: str) -> str:
    """The shader's body as a Python function ``shade() -> (direction, throughput)``."""
    lines = source.splitlines()
    start = lines.index("{") + 1
    python, depth = ["def shade():", "    throughput = color(1.0)"], 1
    statements: list[str] = []
    for line in lines[start:]:  # statements continued over lines joined
        if statements and not statements[-1].endswith((";", "{", "}")) and not statements[-1].startswith("//"):
            statements[-1] += " " + line.strip()
        else:
            statements.append(line.strip())
    for text in statements:
        if text == "}" or text.startswith("}"):
            depth -= 1
            continue
        if text.startswith("//") or not text:
            continue
        loop = re.fullmatch(r"for \(int i = 0; i (<=?) (\d+); i\+\+\) \{", text)
        condition = re.fullmatch(r"if \((.*)\) \{", text)
        if loop:
            count = int(loop.group(2)) + (loop.group(1) == "<=")
            python.append("    " * depth + f"for i in range({count}):")
            depth += 1
            continue
        if condition:
            expression = condition.group(1).replace("||", " or ").replace("&&", " and ").replace("!(", "not (")
            python.append("    " * depth + f"if {expression}:")
            depth += 1
            continue
        assert text.endswith(";"), text
        text = re.sub(r"^(float|point|int) ", "", text[:-1])
        ternary = re.fullmatch(r"(\w+) = (.+?) \? (.+) : (.+)", text)
        if ternary:
            name, test, yes, no = ternary.groups()
            text = f"{name} = ({yes}) if ({test}) else ({no})"
        python.append("    " * depth + text)
    python.append("    return direction, throughput")
    return "\n".join(python)


def run(calibration: Calibration, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    names = {
        "hypot": math.hypot, "sin": math.sin, "cos": math.cos, "abs": abs, "min": min, "max": max,
        "clamp": lambda value, low, high: min(max(value, low), high),
        "vector": lambda *values: np.array(values, dtype=np.float64),
        "color": lambda *values: float(values[0]),
        "normalize": lambda value: value / np.linalg.norm(value),
    }
    code = translate(osl.source(calibration))
    position: list[tuple[float, float]] = []
    names["camera_shader_raster_position"] = lambda: position[-1]
    exec(code, names)  # noqa: S102 - the shader under test, translated
    directions, throughputs = [], []
    for x, y in zip(u.ravel(), v.ravel(), strict=True):
        position.append(((x + 0.5) / calibration.width, 1.0 - (y + 0.5) / calibration.height))
        direction, throughput = names["shade"]()
        directions.append(direction / np.linalg.norm(direction))
        throughputs.append(throughput)
    return np.array(directions), np.array(throughputs)


def grid(calibration: Calibration) -> tuple[np.ndarray, np.ndarray]:
    v, u = np.mgrid[0:calibration.height:3, 0:calibration.width:3].astype(np.float64)
    return u.ravel(), v.ravel()


def opencv_axes_to_cycles(rays: np.ndarray) -> np.ndarray:
    return rays * np.array([1.0, -1.0, 1.0])


@pytest.mark.parametrize("calibration", [
    Calibration(40, 30, 36.0, 37.5, 19.2, 14.7, "radtan", (-0.21, 0.05, 0.0012, -0.0018, -0.01)),
    Calibration(40, 30, 30.0, 31.0, 18.6, 15.4, "radtan", (0.4, -0.3, -0.002, 0.003, 0.05, 0.6, -0.2, 0.08)),
    Calibration(40, 30, 30.0, 31.0, 18.6, 15.4, "radtan", (0.0, 0.0, 0.03, 0.0)),
    Calibration(40, 30, 30.0, 31.0, 18.6, 15.4, "radtan", (0.0, 0.0, 0.0, -0.03)),
], ids=["radtan5", "rational8", "p1", "p2"])
def test_the_radtan_shader_gives_opencvs_rays(calibration: Calibration) -> None:
    u, v = grid(calibration)
    directions, throughput = run(calibration, u, v)
    normalized = cv2.undistortPointsIter(np.stack([u, v], axis=-1).reshape(-1, 1, 2), calibration.K,
                                         np.array(calibration.coefficients), None, None, CRITERIA).reshape(-1, 2)
    rays = np.concatenate([normalized, np.ones((len(u), 1))], axis=1)
    rays /= np.linalg.norm(rays, axis=1, keepdims=True)
    seen = np.isfinite(calibration.rays(u, v)).all(axis=1)  # the Python model's own verdict
    assert seen.mean() > 0.9
    assert np.array_equal(throughput, np.where(seen, 1.0, 0.0))
    assert np.abs(directions[seen] - opencv_axes_to_cycles(rays[seen])).max() < 1e-10


def test_a_pinhole_shader_is_the_plain_inverse_of_k() -> None:
    calibration = Calibration(16, 12, 20.0, 22.0, 7.25, 5.75)
    source = osl.source(calibration)
    assert "hypot(x, y) < 1e30" in source
    u, v = grid(calibration)
    directions, throughput = run(calibration, u, v)
    rays = np.stack([(u - 7.25) / 20.0, (v - 5.75) / 22.0, np.ones_like(u)], axis=-1)
    rays /= np.linalg.norm(rays, axis=1, keepdims=True)
    assert np.all(throughput == 1.0)
    assert np.abs(directions - opencv_axes_to_cycles(rays)).max() < 1e-14


def test_the_radtan_shader_sees_nothing_beyond_the_fold() -> None:
    calibration = Calibration(60, 40, 40.0, 40.0, 29.5, 19.5, "radtan", (-0.45, 0.0, 0.0, 0.0))
    u, v = np.array([0.0, 29.5, 59.0, 10.0]), np.array([0.0, 19.5, 39.0, 19.5])
    directions, throughput = run(calibration, u, v)
    python = calibration.rays(u, v)
    assert np.array_equal(throughput == 0.0, ~np.isfinite(python).all(axis=1))
    assert throughput.tolist() == [0.0, 1.0, 0.0, 1.0]
    seen = throughput == 1.0
    assert np.abs(directions[seen] - opencv_axes_to_cycles(python[seen])).max() < 1e-10


@pytest.mark.parametrize("coefficients", [(0.05, -0.012, 0.004, -0.0006), (0.0, 0.0, 0.0, 0.0), (0.0, 0.03, 0.0, 0.0),
                                          (0.0, 0.0, 0.01, 0.0), (0.0, 0.0, 0.0, 0.004)])
def test_the_fisheye_shader_gives_opencvs_rays(coefficients: tuple) -> None:
    calibration = Calibration(40, 40, 14.0, 14.5, 20.3, 19.1, "fisheye", coefficients)
    u, v = grid(calibration)
    directions, throughput = run(calibration, u, v)
    assert np.all(throughput == 1.0)
    python = calibration.rays(u, v)
    assert np.abs(directions - opencv_axes_to_cycles(python)).max() < 1e-10
    xd, yd = calibration.normalized(u, v)
    front = np.hypot(xd, yd) < math.pi / 2 - 1e-3
    normalized = cv2.fisheye.undistortPoints(np.stack([u, v], axis=-1).reshape(-1, 1, 2), calibration.K,
                                             np.array(coefficients), criteria=CRITERIA).reshape(-1, 2)
    rays = np.concatenate([normalized, np.ones((len(u), 1))], axis=1)
    rays /= np.linalg.norm(rays, axis=1, keepdims=True)
    assert front.sum() > 20
    assert np.abs(directions[front] - opencv_axes_to_cycles(rays[front])).max() < 1e-8


def test_the_fisheye_shader_sees_nothing_beyond_its_largest_angle() -> None:
    calibration = Calibration(40, 40, 8.0, 8.0, 19.5, 19.5, "fisheye", (-0.2, 0.0, 0.0, 0.0))
    theta = 1 / math.sqrt(0.6)  # where theta (1 - 0.2 theta^2) stops growing
    reach = theta * (1 - 0.2 * theta ** 2) * 8.0  # in pixels from the centre
    u, v = np.array([19.5 + reach * 0.97, 19.5 + reach * 1.05, 19.5]), np.array([19.5, 19.5, 19.5 - reach * 1.05])
    directions, throughput = run(calibration, u, v)
    assert throughput.tolist() == [1.0, 0.0, 0.0]
    assert np.abs(directions[0] - opencv_axes_to_cycles(calibration.rays(u[:1], v[:1]))[0]).max() < 1e-10


def test_the_shader_name_the_header_and_the_numbers() -> None:
    calibration = Calibration(64, 48, 50.0, 51.0, 31.5, 23.5, "radtan", (0.1, 0.0, 0.0, 0.0))
    source = osl.source(calibration)
    assert osl.SHADER_NAME == "true_depth_calibrated_camera"
    assert "\nshader true_depth_calibrated_camera(output point position = point(0.0, 0.0, 0.0),\n" in source
    assert source.startswith("// True Depth: calibrated camera, radtan model, 64x48. Generated; the calibration is\n"
                             f"// baked in: {calibration.to_dict()}\n")
    assert osl._number(0.1) == "0.1" and osl._number(3) == "3.0" and osl._number(-2.5e-7) == "-2.5e-07"
    assert osl._number(math.inf) == "1e30" and osl._number(-math.inf) == "1e30" and osl._number(math.nan) == "1e30"


def test_bytecode_hash_is_the_md5_of_the_text() -> None:
    assert osl.bytecode_hash("") == "d41d8cd98f00b204e9800998ecf8427e"
    assert osl.bytecode_hash("OpenShadingLanguage 1.00") == hashlib.md5(b"OpenShadingLanguage 1.00").hexdigest()
    assert osl.bytecode_hash("é") == hashlib.md5("é".encode()).hexdigest()
