"""Stereo 3D eyes (core/projections/stereo.py): each eye's pose and off-axis shift against OpenCV's projector
and the closest points of the two eyes' rays."""

from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from depth_node.core.camera import BlenderCamera, camera_from_scene
from depth_node.core.projections.stereo import Stereo

FLIP = np.diag([1.0, -1.0, -1.0, 1.0])  # Blender camera axes <-> OpenCV camera axes


PIVOTS = ("LEFT", "RIGHT", "CENTER")


MODES = ("OFFAXIS", "PARALLEL", "TOE")


def random_pose(rng: np.random.Generator) -> np.ndarray:
    """A camera-to-world matrix (Blender axes) with a random rotation (OpenCV's Rodrigues) and position."""
    pose = np.eye(4)
    pose[:3, :3] = cv2.Rodrigues(rng.uniform(-np.pi, np.pi, 3).reshape(3, 1) * 0.9)[0]
    pose[:3, 3] = rng.uniform(-5, 5, 3)
    return pose


def project(points_world: np.ndarray, camera: BlenderCamera, to_world_blender: np.ndarray) -> np.ndarray:
    """Pixels (x, y) of world points seen by ``camera`` at ``to_world_blender``: cv2.projectPoints."""
    to_world = to_world_blender @ FLIP
    rotation = to_world[:3, :3].T
    translation = -rotation @ to_world[:3, 3]
    pixels, _ = cv2.projectPoints(points_world.reshape(-1, 1, 3), cv2.Rodrigues(rotation)[0], translation,
                                  camera.matrix(), None)
    return pixels.reshape(-1, 2)


def eye_camera(stereo: Stereo, view: str, lens: float, sensor: float, shift_x: float) -> BlenderCamera:
    return BlenderCamera.from_settings(lens=lens, sensor_width=sensor, sensor_fit="HORIZONTAL", shift_x=
                                       stereo.shift_x(shift_x, lens, sensor, view), shift_y=0.03,
                                       resolution_x=64, resolution_y=40)


def closest_point_of_two_lines(p: np.ndarray, u: np.ndarray, q: np.ndarray, v: np.ndarray) -> tuple:
    """The midpoint of the shortest segment between lines p + s u and q + t v, and that segment's length."""
    a = np.array([[u @ u, -(u @ v)], [u @ v, -(v @ v)]])
    s, t = np.linalg.solve(a, [(q - p) @ u, (q - p) @ v])
    x, y = p + s * u, q + t * v
    return (x + y) / 2, float(np.linalg.norm(x - y)), s, t


def stereo_scene(views_format: str = "STEREO_3D", use_multiview: bool = True) -> SimpleNamespace:
    data = SimpleNamespace(type="PERSP", lens=40.0, sensor_width=30.0, sensor_height=20.0, sensor_fit="AUTO",
                           shift_x=0.02, shift_y=0.0, stereo=SimpleNamespace(
                               interocular_distance=0.3, convergence_distance=2.0, convergence_mode="OFFAXIS",
                               pivot="CENTER"))
    render = SimpleNamespace(resolution_x=40, resolution_y=30, resolution_percentage=100, pixel_aspect_x=1.0,
                             pixel_aspect_y=1.0, use_border=False, use_crop_to_border=False, border_min_x=0.0,
                             border_max_x=1.0, border_min_y=0.0, border_max_y=1.0, use_multiview=use_multiview,
                             views_format=views_format)
    return SimpleNamespace(name="Scene", camera=SimpleNamespace(name="Camera", data=data), render=render)


@pytest.mark.parametrize("pivot", PIVOTS)
@pytest.mark.parametrize("seed", range(3))
def test_off_axis_eyes_see_the_convergence_plane_without_parallax(pivot: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    stereo = Stereo(interocular_distance=float(rng.uniform(0.05, 0.4)), convergence_distance=float(
        rng.uniform(0.7, 6.0)), convergence_mode="OFFAXIS", pivot=pivot)
    lens, sensor, shift = float(rng.uniform(18, 90)), float(rng.uniform(20, 40)), float(rng.uniform(-0.2, 0.2))
    pose = random_pose(rng)
    # points of the convergence plane (z = -convergence distance in Blender camera axes) and a far point
    local = np.column_stack([rng.uniform(-1, 1, 12), rng.uniform(-0.6, 0.6, 12),
                             np.full(12, -stereo.convergence_distance), np.ones(12)])
    world = (pose @ local.T).T[:, :3]
    far = (pose @ np.array([0.1, -0.05, -1e4 * stereo.convergence_distance, 1.0]))[:3]
    seen = {}
    for view in ("left", "right"):
        camera = eye_camera(stereo, view, lens, sensor, shift)
        to_world = stereo.eye_to_world(pose, view)
        seen[view] = project(world, camera, to_world)
        seen[view + " far"] = project(far[None], camera, to_world)[0]
        np.testing.assert_allclose(to_world[:3, :3], pose[:3, :3], rtol=0, atol=1e-12)  # axes stay parallel
    np.testing.assert_allclose(seen["left"], seen["right"], rtol=0, atol=1e-7)
    # beyond the convergence plane the left eye sees a point further left than the right eye (by the baseline's
    # disparity f b (1/c - 1/z): fx = W lens / sensor pixels)
    disparity = seen["right far"][0] - seen["left far"][0]
    expected = 64 * lens / sensor * stereo.interocular_distance * (1 / stereo.convergence_distance - 1e-4
                                                                    / stereo.convergence_distance)
    assert disparity == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("pivot", PIVOTS)
def test_eye_positions_lie_on_the_camera_x_axis_right_eye_on_plus_x(mode: str, pivot: str) -> None:
    rng = np.random.default_rng(len(mode) * 7 + len(pivot))
    pose = random_pose(rng)
    b, c = 0.3, 2.5
    stereo = Stereo(b, c, mode, pivot)
    left, right = (stereo.eye_to_world(pose, view) for view in ("left", "right"))
    origin, x_axis, y_axis = pose[:3, 3], pose[:3, 0], pose[:3, 1]
    assert np.linalg.norm(right[:3, 3] - left[:3, 3]) == pytest.approx(b, rel=1e-12)
    assert np.dot(right[:3, 3] - left[:3, 3], x_axis) > 0.9 * b  # the right eye is on the camera's right
    for eye in (left, right):
        np.testing.assert_allclose(eye[3], [0, 0, 0, 1], atol=0)
        np.testing.assert_allclose(eye[:3, :3].T @ eye[:3, :3], np.eye(3), atol=1e-12)  # a rigid pose
        assert np.linalg.det(eye[:3, :3]) == pytest.approx(1.0, abs=1e-12)
        np.testing.assert_allclose(eye[:3, 1], y_axis, atol=1e-12)  # eyes turn about the camera's y only
        assert abs(np.dot(eye[:3, 3] - origin, y_axis)) < 1e-12
    pivot_eye = {"LEFT": left, "RIGHT": right}.get(pivot)
    if pivot_eye is not None:
        np.testing.assert_array_equal(pivot_eye, pose)
    else:  # the camera is the middle of the eyes
        np.testing.assert_allclose((left[:3, 3] + right[:3, 3]) / 2, origin, atol=1e-12)
    if mode != "TOE":
        offsets = {"LEFT": (0.0, b), "RIGHT": (-b, 0.0), "CENTER": (-b / 2, b / 2)}[pivot]
        for eye, offset in zip((left, right), offsets, strict=True):
            np.testing.assert_allclose(eye[:3, 3], origin + offset * x_axis, rtol=0, atol=1e-12)
            np.testing.assert_allclose(eye[:3, :3], pose[:3, :3], rtol=0, atol=1e-15)


@pytest.mark.parametrize("pivot", PIVOTS)
@pytest.mark.parametrize("b, c", [(0.065, 1.95), (0.5, 1.2), (0.2, 7.0)])
def test_toe_in_axes_meet_at_the_convergence_distance_from_the_middle_of_the_eyes(pivot: str, b: float, c: float
                                                                                  ) -> None:
    rng = np.random.default_rng(int(b * 1000 + c))
    pose = random_pose(rng)
    stereo = Stereo(b, c, "TOE", pivot)
    left, right = (stereo.eye_to_world(pose, view) for view in ("left", "right"))
    # view axes: -Z of each eye
    meet, gap, s, t = closest_point_of_two_lines(left[:3, 3], -left[:3, 2], right[:3, 3], -right[:3, 2])
    assert gap < 1e-9 and s > 0 and t > 0  # the axes cross in front of both eyes
    middle = (left[:3, 3] + right[:3, 3]) / 2
    assert np.linalg.norm(meet - middle) == pytest.approx(c, rel=1e-9)
    assert np.linalg.norm(meet - left[:3, 3]) == pytest.approx(np.linalg.norm(meet - right[:3, 3]), rel=1e-9)
    assert np.dot(meet - middle, right[:3, 3] - left[:3, 3]) == pytest.approx(0.0, abs=1e-9)
    if pivot == "CENTER":  # the camera's own axis goes through the meeting point
        np.testing.assert_allclose(meet, pose[:3, 3] - c * pose[:3, 2], atol=1e-9)
    else:
        pivot_eye = left if pivot == "LEFT" else right
        np.testing.assert_array_equal(pivot_eye, pose)


@pytest.mark.parametrize("mode", ("PARALLEL", "TOE"))
@pytest.mark.parametrize("pivot", PIVOTS)
def test_only_off_axis_changes_the_shift(mode: str, pivot: str) -> None:
    stereo = Stereo(0.3, 2.0, mode, pivot)
    for view in ("left", "right"):
        assert stereo.shift_x(0.125, 35.0, 24.0, view) == 0.125


@pytest.mark.parametrize("pivot", PIVOTS)
def test_off_axis_shift_is_the_baseline_over_the_sensor_times_lens_over_convergence(pivot: str) -> None:
    # the eye at x = e (camera frame) sees the axis point at distance c at x = -e on the view plane: a
    # sensor offset of -e * lens / c millimetres, a fraction -e lens / (c sensor) of the sensor width
    b, c, lens, sensor = 0.4, 2.5, 80.0, 32.0
    stereo = Stereo(b, c, "OFFAXIS", pivot)
    positions = {"LEFT": {"left": 0.0, "right": b}, "RIGHT": {"left": -b, "right": 0.0},
                 "CENTER": {"left": -b / 2, "right": b / 2}}[pivot]
    for view, eye_x in positions.items():
        assert stereo.shift_x(0.01, lens, sensor, view) == pytest.approx(0.01 - eye_x * lens / (c * sensor),
                                                                         rel=1e-14, abs=1e-15)


@pytest.mark.parametrize("method", ("shift_x", "eye_to_world"))
def test_unknown_view_is_refused(method: str) -> None:
    stereo = Stereo(pivot="CENTER")
    args = (0.0, 50.0, 36.0) if method == "shift_x" else (np.eye(4),)
    for view in ("LEFT", "centre", ""):
        with pytest.raises(ValueError, match=r"view must be one of \('left', 'right'\), got '" + view + "'"):
            getattr(stereo, method)(*args, view)


def test_pivot_eye_is_a_float_copy_of_the_camera_pose() -> None:
    pose = [[1, 0, 0, 2], [0, 1, 0, 3], [0, 0, 1, 4], [0, 0, 0, 1]]
    eye = Stereo(pivot="LEFT").eye_to_world(pose, "left")
    assert eye.dtype == np.float64
    eye[0, 3] = 99.0
    assert pose[0][3] == 2


def test_describe_names_the_settings_as_the_sidecar_documents() -> None:
    stereo = Stereo(0.07, 3.0, "TOE", "RIGHT")
    assert stereo.describe() == {"baseline": 0.07, "convergence_distance": 3.0, "convergence_mode": "TOE",
                                 "pivot": "RIGHT"}


def test_camera_from_scene_gives_each_eye_its_off_axis_shift() -> None:
    step = 0.3 / 30.0 * (40.0 / 2.0) * 0.5  # half the baseline (centre pivot) on the sensor, in sensor widths
    scene = stereo_scene()
    assert camera_from_scene(scene, view="left").lens.shift_x == pytest.approx(0.02 + step, rel=1e-12)
    assert camera_from_scene(scene, view="right").lens.shift_x == pytest.approx(0.02 - step, rel=1e-12)
    assert camera_from_scene(scene).lens.shift_x == 0.02
    for other in (stereo_scene("MULTIVIEW"), stereo_scene(use_multiview=False)):  # no Stereo 3D: no eye shift
        assert camera_from_scene(other, view="left").lens.shift_x == 0.02
