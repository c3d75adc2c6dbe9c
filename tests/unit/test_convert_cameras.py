"""Cameras that convert reads beyond a plain K: the general ray matrix (skewed or projective K, a field of view,
Hypersim's tilt-shift cameras), the per-frame cameras of COLMAP and nerfstudio reconstructions and their matching
to an image sequence, and the camera JSON's exact-or-refuse K and size. Every truth is computed independently of
the code under test (the tools' own formulas, OpenCV, axis-angle rotations)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from depth_node.core import reference
from depth_node.core.calibration import Calibration, CalibrationError
from depth_node.core.calibration.frames import FrameCamera, colmap_frames, match_frames, nerfstudio_frames
from depth_node.core.calibration.ray_matrix import RayMatrix
from depth_node.core.camera import BlenderCamera
from depth_node.core.outputs import exports, sidecar

DATA = Path(__file__).resolve().parents[1] / "data" / "cameras"
K = np.array([[512.25, 0.0, 319.75], [0.0, 515.5, 241.125], [0.0, 0.0, 1.0]])
FLIP = np.diag([1.0, -1.0, -1.0, 1.0])


def pixel_grid(width: int, height: int) -> np.ndarray:
    """(H, W, 3) homogeneous pixel centres [x, y, 1], row 0 at the top."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    return np.stack([x, y, np.ones_like(x)], axis=-1)


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def rodrigues(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rotation by ``angle`` (radians) about ``axis``: Rodrigues' formula."""
    a = np.asarray(axis, dtype=np.float64) / np.linalg.norm(axis)
    cross = np.array([[0.0, -a[2], a[1]], [a[2], 0.0, -a[0]], [-a[1], a[0], 0.0]])
    return np.eye(3) + math.sin(angle) * cross + (1.0 - math.cos(angle)) * cross @ cross


def axis_angle_quaternion(axis: np.ndarray, angle: float) -> tuple[float, ...]:
    a = np.asarray(axis, dtype=np.float64) / np.linalg.norm(axis)
    return (math.cos(angle / 2), *(math.sin(angle / 2) * a))


def random_rotations(rng: np.random.Generator, count: int) -> list[tuple[np.ndarray, float]]:
    """Random axes with angles spread over [0, pi], plus angles at and just below 180 degrees."""
    axes = rng.normal(size=(count, 3))
    angles = list(rng.uniform(0.0, math.pi, size=count - 8)) + [math.pi, math.pi - 1e-12, math.pi - 1e-9,
                                                                   math.pi - 1e-6, math.pi - 1e-3, 1e-9, 0.0, 3.1]
    return list(zip(axes, angles, strict=True))


# --- RayMatrix ------------------------------------------------------------------------------------------------


def test_from_K_without_skew_is_the_pinhole_calibration() -> None:
    camera = RayMatrix.from_K(K, 64, 48)
    expected = unit(pixel_grid(64, 48) @ np.linalg.inv(K).T)
    np.testing.assert_allclose(camera.pixel_rays(), expected, rtol=0, atol=1e-15)
    pinhole = Calibration(64, 48, K[0, 0], K[1, 1], K[0, 2], K[1, 2]).pixel_rays()
    np.testing.assert_allclose(camera.pixel_rays(), pinhole, rtol=0, atol=1e-15)
    np.testing.assert_allclose(reference.calibrated_geometry(camera).ray,
                               reference.ray_length(K, (48, 64)), rtol=1e-14)


@pytest.mark.parametrize("matrix", [
    [[500.0, 3.0, 320.0], [0.0, 510.0, 240.0], [0.0, 0.0, 1.0]],  # skew 3 px
    [[1000.0, 6.0, 640.0], [0.0, 1020.0, 480.0], [0.0, 0.0, 2.0]],  # the same, scaled by K[2][2] = 2
    [[500.0, -40.0, 320.0], [12.0, 510.0, 240.0], [0.0, 0.0, 1.0]],  # both off-diagonal terms
    [[500.0, 3.0, 320.0], [0.0, 510.0, 240.0], [1e-4, -2e-4, 1.0]],  # a projective last row
])
def test_any_K_projects_its_rays_back_onto_the_pixel_centres(matrix: list) -> None:
    camera = RayMatrix.from_K(matrix, 40, 30)
    projected = camera.pixel_rays() @ np.asarray(matrix).T
    np.testing.assert_allclose(projected[..., :2] / projected[..., 2:], pixel_grid(40, 30)[..., :2], rtol=0,
                               atol=1e-9)
    np.testing.assert_allclose(camera.project(camera.pixel_rays() * 7.0), pixel_grid(40, 30)[..., :2], atol=1e-9)


def test_planar_depth_of_a_skewed_camera_is_exact() -> None:
    """A plane z = 3 seen by a skewed camera: the distances through its rays convert back to depth 3."""
    matrix = np.array([[500.0, 30.0, 20.0], [0.0, 510.0, 15.0], [0.0, 0.0, 1.0]])
    camera = RayMatrix.from_K(matrix, 40, 30)
    rays = pixel_grid(40, 30) @ np.linalg.inv(matrix).T  # independent: points at depth 3 are 3 * ray / ray_z
    distance = np.linalg.norm(3.0 * rays / rays[..., 2:], axis=-1)
    depth = reference.distance_to_depth(distance, reference.calibrated_geometry(camera))
    np.testing.assert_allclose(depth, 3.0, rtol=1e-14)
    pinhole = reference.distance_to_depth(distance, np.diag([500.0, 510.0, 1.0]) + np.array(
        [[0, 0, 20.0], [0, 0, 15.0], [0, 0, 0]]))
    assert np.abs(pinhole - 3.0).max() > 1e-4, "the skew matters: a plain pinhole is off"


def test_rays_behind_the_image_plane_are_kept_and_give_negative_depth() -> None:
    camera = RayMatrix(8, 6, np.diag([1.0, 1.0, -1.0]))
    rays = camera.pixel_rays()
    assert (rays[..., 2] < 0).all() and np.isfinite(rays).all()
    depth = reference.distance_to_depth(np.full((6, 8), 2.0), reference.calibrated_geometry(camera))
    np.testing.assert_allclose(depth, 2.0 * rays[..., 2], rtol=1e-15)
    assert (depth < 0).all()


def test_ray_matrix_round_trips_through_json_and_describes_itself() -> None:
    camera = RayMatrix.from_K([[500.0, 3.0, 320.0], [0.0, 510.0, 240.0], [0.0, 0.0, 1.0]], 640, 480)
    data = json.loads(json.dumps(camera.to_dict()))
    assert data["model"] == "ray_matrix" and "ray_matrix" in data
    assert RayMatrix.from_dict(data) == camera
    described = json.loads(json.dumps(camera.describe()))
    assert described["type"] == "RAY_MATRIX" and np.array_equal(described["matrix"], camera.matrix)
    assert described["pixel_to_ray"] == "ray = matrix @ [x, y, 1], OpenCV axes, pixel centres at integers"
    assert camera.model == "ray_matrix"
    with pytest.raises(ValueError):
        camera.matrix[0, 0] = 1.0  # read-only
    assert hash(camera) == hash(RayMatrix.from_dict(data))


@pytest.mark.parametrize("width, height, matrix, message", [
    (64.5, 48, np.eye(3), "width must be a positive integer, got 64.5"),
    (64, True, np.eye(3), "height must be a positive integer, got True"),
    (64.0, 48, np.eye(3), "width must be a positive integer, got 64.0"),
    (0, 48, np.eye(3), "width must be a positive integer, got 0"),
    (64, 48, np.diag([1.0, 1.0, 0.0]), "singular"),
    (64, 48, [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 0.0, 1.0]], "singular"),
    (64, 48, np.full((3, 3), np.nan), "finite 3x3"),
    (64, 48, np.eye(2), "finite 3x3"),
    (64, 48, "eye", "3x3 matrix of numbers"),
])
def test_bad_ray_matrices_are_refused(width: object, height: object, matrix: object, message: str) -> None:
    with pytest.raises(CalibrationError, match=message):
        RayMatrix(width, height, matrix)


def test_numpy_integer_sizes_are_integers() -> None:
    camera = RayMatrix(np.int64(4), np.int32(3), np.eye(3))
    assert (camera.width, camera.height) == (4, 3) and type(camera.width) is int


@pytest.mark.parametrize("data, message", [
    ({"width": 4, "height": 3}, "missing ray_matrix"),
    ({"width": 4, "height": 3, "ray_matrix": np.eye(3).tolist(), "model": "pinhole"}, "not a ray-matrix"),
    ([1, 2], "a mapping"),
])
def test_bad_ray_matrix_dicts_are_refused(data: object, message: str) -> None:
    with pytest.raises(CalibrationError, match=message):
        RayMatrix.from_dict(data)


# --- field of view (AirSim-style) ------------------------------------------------------------------------------


@pytest.mark.parametrize("fov_x, width, height, fov_y", [(90.0, 256, 144, None), (60.0, 640, 480, None),
                                                         (120.0, 33, 17, 100.0), (1.0, 7, 5, 179.0)])
def test_fov_camera_against_opencv(fov_x: float, width: int, height: int, fov_y: float | None) -> None:
    cv2 = pytest.importorskip("cv2", reason="opencv-python-headless is a test dependency")
    fx = (width / 2) / math.tan(math.radians(fov_x) / 2)
    fy = fx if fov_y is None else (height / 2) / math.tan(math.radians(fov_y) / 2)
    K_fov = np.array([[fx, 0.0, (width - 1) / 2], [0.0, fy, (height - 1) / 2], [0.0, 0.0, 1.0]])
    pixels = pixel_grid(width, height)[..., :2].reshape(-1, 1, 2)
    normalized = cv2.undistortPoints(pixels, K_fov, None).reshape(height, width, 2)
    rays = RayMatrix.from_fov(fov_x, width, height, fov_y).pixel_rays()
    np.testing.assert_allclose(rays[..., :2] / rays[..., 2:], normalized, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fov, width, height", [(90.0, 256, 144), (60.0, 7, 5), (150.0, 1000, 10)])
def test_fov_spans_the_image_edge_to_edge(fov: float, width: int, height: int) -> None:
    """The outer edges of the first and last columns (x = -0.5 and W - 0.5) are fov apart, symmetric about the
    axis: a principal point at W/2 - 1 (microsoft/AirSim#376) would tilt them by half a pixel."""
    camera = RayMatrix.from_fov(fov, width, height)
    left, right = camera.rays(np.array([-0.5, width - 0.5]), np.full(2, (height - 1) / 2))
    assert math.degrees(math.acos(np.clip(left @ right, -1, 1))) == pytest.approx(fov, abs=1e-9)
    assert left[0] == pytest.approx(-right[0], abs=1e-15) and left[1] == pytest.approx(0.0, abs=1e-15)
    top, bottom = camera.rays(np.full(2, (width - 1) / 2), np.array([-0.5, height - 0.5]))
    assert top[1] == pytest.approx(-bottom[1], abs=1e-15)


@pytest.mark.parametrize("fov, message", [(0.0, "between 0 and 180"), (180.0, "between 0 and 180"),
                                          (-5.0, "between 0 and 180"), (True, "number of degrees"),
                                          ("90", "number of degrees"), (float("nan"), "between 0 and 180")])
def test_bad_fields_of_view_are_refused(fov: object, message: str) -> None:
    with pytest.raises(CalibrationError, match=message):
        RayMatrix.from_fov(fov, 64, 48)
    with pytest.raises(CalibrationError, match=message):
        RayMatrix.from_fov(60.0, 64, 48, fov)


# --- Hypersim ---------------------------------------------------------------------------------------------------


def hypersim_rows() -> dict[str, dict]:
    with (DATA / "hypersim_metadata_camera_parameters.csv").open(newline="") as file:
        return {row["scene_name"]: row for row in csv.DictReader(file)}


def hypersim_rays_as_their_notebook_casts_them(M_cam_from_uv: np.ndarray, width: int, height: int) -> np.ndarray:
    """apple/ml-hypersim contrib/mikeroberts3000/jupyter/01_casting_rays_that_match_hypersim_images.ipynb, step by
    step: u, v over [-1, 1] at pixel centres, v reversed (up), rays M_cam_from_uv @ [u, v, 1] in camera axes with
    +y up and +z away from the view; then OpenCV axes (y and z flipped)."""
    u_min, u_max, v_min, v_max = -1.0, 1.0, -1.0, 1.0
    half_du = 0.5 * (u_max - u_min) / width
    half_dv = 0.5 * (v_max - v_min) / height
    u, v = np.meshgrid(np.linspace(u_min + half_du, u_max - half_du, width),
                       np.linspace(v_min + half_dv, v_max - half_dv, height)[::-1])
    uvs_2d = np.dstack((u, v, np.ones_like(u)))
    P_uv = uvs_2d.reshape(-1, 3).T
    rays = (M_cam_from_uv @ P_uv).T.reshape(height, width, 3)
    return unit(rays * np.array([1.0, -1.0, -1.0]))


@pytest.mark.parametrize("scene", ["ai_037_002", "ai_001_001"])
def test_hypersim_matches_their_ray_casting(scene: str) -> None:
    row = hypersim_rows()[scene]
    M = np.array([[float(row[f"M_cam_from_uv_{i}{j}"]) for j in range(3)] for i in range(3)])
    width, height = int(float(row["settings_output_img_width"])), int(float(row["settings_output_img_height"]))
    camera = RayMatrix.from_hypersim_csv_row(row)
    assert (camera.width, camera.height) == (1024, 768)
    expected = hypersim_rays_as_their_notebook_casts_them(M, width, height)
    np.testing.assert_allclose(camera.pixel_rays(), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(RayMatrix.from_hypersim(M, width, height).pixel_rays(), expected, rtol=0, atol=1e-12)
    assert (camera.pixel_rays()[..., 2] > 0).all()


def test_hypersim_tilt_shift_on_a_small_image_and_a_made_up_matrix() -> None:
    M = np.array([[0.6, 0.05, -0.07], [0.01, 0.45, 0.09], [0.02, 0.004, -1.0]])
    for width, height in ((5, 3), (2, 7), (1, 1)):
        np.testing.assert_allclose(RayMatrix.from_hypersim(M, width, height).pixel_rays(),
                                   hypersim_rays_as_their_notebook_casts_them(M, width, height), rtol=0, atol=1e-12)


def test_hypersim_without_tilt_shift_is_a_centred_field_of_view() -> None:
    row = hypersim_rows()["ai_001_001"]
    tan_x, tan_y = float(row["M_cam_from_uv_00"]), float(row["M_cam_from_uv_11"])
    fov = RayMatrix.from_fov(math.degrees(2 * math.atan(tan_x)), 1024, 768, math.degrees(2 * math.atan(tan_y)))
    np.testing.assert_allclose(RayMatrix.from_hypersim_csv_row(row).matrix, fov.matrix, rtol=0, atol=1e-15)


def test_the_tilt_shift_camera_is_not_a_centred_pinhole() -> None:
    rows = hypersim_rows()
    tilted, plain = (RayMatrix.from_hypersim_csv_row(rows[name]).pixel_rays() for name in ("ai_037_002",
                                                                                           "ai_001_001"))
    assert np.abs(tilted[..., 2] - plain[..., 2]).max() > 1e-3


@pytest.mark.parametrize("change, message", [
    ({"settings_output_img_width": "1024.5"}, "settings_output_img_width must be a positive integer"),
    ({"settings_output_img_height": "-768"}, "settings_output_img_height must be a positive integer"),
    ({"settings_output_img_height": "wide"}, "settings_output_img_height must be a positive integer"),
    ({"M_cam_from_uv_12": "n/a"}, "M_cam_from_uv_12 must be a number"),
    ({"M_cam_from_uv_22": "0.0", "M_cam_from_uv_20": "0.0", "M_cam_from_uv_21": "0.0"}, "singular"),
    ({"M_cam_from_uv_00": None}, "M_cam_from_uv_00 must be a number"),
])
def test_bad_hypersim_rows_are_refused(change: dict, message: str) -> None:
    row = {**hypersim_rows()["ai_037_002"], **change}
    with pytest.raises(CalibrationError, match=message):
        RayMatrix.from_hypersim_csv_row(row)
    row = dict(hypersim_rows()["ai_037_002"])
    del row["M_cam_from_uv_21"]
    with pytest.raises(CalibrationError, match="no column.*M_cam_from_uv_21"):
        RayMatrix.from_hypersim_csv_row(row)


def test_hypersim_rows_from_pandas_like_floats() -> None:
    row = {key: (float(value) if key != "scene_name" else value) for key, value in
           hypersim_rows()["ai_037_002"].items()}
    assert RayMatrix.from_hypersim_csv_row(row) == RayMatrix.from_hypersim_csv_row(hypersim_rows()["ai_037_002"])


# --- COLMAP -------------------------------------------------------------------------------------------------------

COLMAP_IMAGES = {  # the fixture's images: axis, angle (degrees), translation, camera id
    "images/frame_0001.png": ((1.0, 2.0, 3.0), 30.0, (0.25, -1.5, 4.0), 1),
    "images/frame_0002.png": ((1.0, 0.0, 0.0), 170.0, (-2.0, 0.5, 1.0), 1),
    "images/frame_0003.png": ((0.1, 1.0, 0.2), 175.0, (3.0, 0.0, -0.75), 2),
    "images/frame_0004.png": ((0.0, 0.0, 1.0), 180.0, (0.0, 1.0, 2.0), 2),
}


def quaternion_branch(R: np.ndarray) -> str:
    """Which branch of the usual rotation -> quaternion conversion (exports._quaternion's) a matrix takes."""
    if np.trace(R) > 0:
        return "trace"
    if R[0, 0] > R[1, 1] and R[0, 0] > R[2, 2]:
        return "x"
    return "y" if R[1, 1] > R[2, 2] else "z"


def test_colmap_fixture_poses_and_intrinsics() -> None:
    for path in (DATA / "colmap", DATA / "colmap" / "images.txt"):
        frames = colmap_frames(path)
        assert [frame.name for frame in frames] == list(COLMAP_IMAGES)
        branches = set()
        for frame in frames:
            axis, angle, t, camera_id = COLMAP_IMAGES[frame.name]
            R = rodrigues(np.array(axis), math.radians(angle))  # world -> camera
            branches.add(quaternion_branch(R))
            np.testing.assert_allclose(frame.camera_to_world_opencv[:3, :3], R.T, rtol=0, atol=1e-12)
            np.testing.assert_allclose(frame.camera_to_world_opencv[:3, 3], -R.T @ np.array(t), rtol=0, atol=1e-12)
            np.testing.assert_array_equal(frame.camera_to_world_opencv[3], [0, 0, 0, 1])
            # the camera centre maps to the camera origin through COLMAP's x_cam = R x_world + t
            centre = frame.camera_to_world_opencv[:3, 3]
            np.testing.assert_allclose(R @ centre + np.array(t), 0.0, atol=1e-12)
        assert branches == {"trace", "x", "y", "z"}
    first, _, third, _ = frames
    np.testing.assert_array_equal(first.camera.K, [[500.0, 0.0, 320.0], [0.0, 510.0, 240.0], [0.0, 0.0, 1.0]])
    assert (first.camera.width, first.camera.height, first.camera.model) == (640, 480, "pinhole")
    assert third.camera == Calibration(320, 240, 250.25, 251.5, 160.25, 118.75, "radtan",
                                       (-0.12, 0.034, 0.0005, -0.0007))


def write_images_txt(folder: Path, lines: list[str], cameras: str = "1 PINHOLE 64 48 50 50 32 24\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cameras.txt").write_text(cameras)
    (folder / "images.txt").write_text("# IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME\n"
                                       + "\n".join(lines) + "\n")
    return folder


def test_colmap_random_rotations_against_axis_angle(tmp_path: Path) -> None:
    rng = np.random.default_rng(20240611)
    rotations = random_rotations(rng, 300)
    lines, expected = [], []
    for index, (axis, angle) in enumerate(rotations, start=1):
        q = np.array(axis_angle_quaternion(axis, angle)) * rng.choice([-1.0, 1.0])  # q and -q: the same rotation
        t = rng.normal(size=3) * 5
        lines += [f"{index} " + " ".join(repr(float(v)) for v in (*q, *t)) + f" 1 img_{index:05d}.jpg", ""]
        R = rodrigues(axis, angle)
        expected.append((R.T, -R.T @ t))
    frames = colmap_frames(write_images_txt(tmp_path / "model", lines))
    assert len(frames) == len(rotations)
    branches = set()
    for frame, (rotation, centre) in zip(frames, expected, strict=True):
        branches.add(quaternion_branch(rotation.T))
        np.testing.assert_allclose(frame.camera_to_world_opencv[:3, :3], rotation, rtol=0, atol=1e-12)
        np.testing.assert_allclose(frame.camera_to_world_opencv[:3, 3], centre, rtol=0, atol=1e-11)
    assert branches == {"trace", "x", "y", "z"}


def sidecar_record(frame: int, to_world_opencv: np.ndarray, K_: np.ndarray = K, distortion: dict | None = None
                   ) -> exports.Record:
    camera = {"K": K_.tolist(), "width": 640, "height": 480, "projection": "PERSP",
              "camera_to_world_opencv": to_world_opencv.tolist(),
              "camera_to_world_blender": (to_world_opencv @ FLIP).tolist()}
    if distortion is not None:
        camera["distortion"] = distortion
    return exports.Record(frame, "", camera, f"depth_{frame:04d}.exr")


def random_poses(seed: int, count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    poses = []
    for axis, angle in random_rotations(rng, count):
        pose = np.eye(4)
        pose[:3, :3] = rodrigues(axis, angle)
        pose[:3, 3] = rng.normal(size=3) * 3
        poses.append(pose)
    return poses


def test_colmap_reads_what_true_depth_writes(tmp_path: Path) -> None:
    poses = random_poses(11, 60)
    distortion = {"model": "radtan", "coefficients": {"k1": -0.2, "k2": 0.05, "p1": 0.001, "p2": -0.0004,
                                                      "k3": 0.01, "k4": 0.0, "k5": 0.0, "k6": 0.0}}
    records = [sidecar_record(index, pose, distortion=distortion if index % 2 else None)
               for index, pose in enumerate(poses)]
    exports.write_colmap(tmp_path / "sparse", records, "image_####.png")
    frames = colmap_frames(tmp_path / "sparse")
    assert [frame.name for frame in frames] == [f"image_{index:04d}.png" for index in range(len(poses))]
    for index, (frame, pose) in enumerate(zip(frames, poses, strict=True)):
        np.testing.assert_allclose(frame.camera_to_world_opencv, pose, rtol=0, atol=1e-12)
        np.testing.assert_allclose(frame.camera.K, K, rtol=1e-15)
        assert frame.camera.model == ("radtan" if index % 2 else "pinhole")


@pytest.mark.parametrize("lines, cameras, message", [
    (["1 0 0 0 0 0 0 0 1 a.png", ""], None, "not a rotation"),
    (["1 1 0 0 0 0 0 0 7 a.png", ""], None, "uses camera 7, which cameras.txt does not list"),
    (["1 1 0 0 0 0 0 0 1 a.png", "2 1 0 0 0 0 0 0 1 b.png", ""], None, "expected the POINTS2D line"),
    (["1 1 0 0 0 0 0 0 1 a.png", "", "1 1 0 0 0 0 0 0 1 b.png", ""], None, "image id 1 is listed twice"),
    (["1 1 0 0 0 0 0 1 a.png", ""], None, "expected 'IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME'"),
    (["1 1 0 0 zero 0 0 0 1 a.png", ""], None, "QZ is not a number"),
    (["1 1 0 0 0 0 inf 0 1 a.png", ""], None, "TY is not finite"),
    (["x 1 0 0 0 0 0 0 1 a.png", ""], None, "IMAGE_ID and CAMERA_ID must be non-negative integers"),
    ([], None, "lists no images"),
    (["1 1 0 0 0 0 0 0 1 a.png", ""], "1 EQUIRECTANGULAR 64 32 1 2 3\n", "camera 1: camera model EQUIRECTANGULAR"),
    (["1 1 0 0 0 0 0 0 1 a.png", ""], "1 PINHOLE 64 32 50 50 32\n", "camera 1: PINHOLE takes 4 parameters"),
    (["1 1 0 0 0 0 0 0 1 a.png", ""], "1 PINHOLE 64 32 50 50 32 16\n1 PINHOLE 64 32 50 50 32 16\n",
     "camera id 1 is listed twice"),
    (["1 1 0 0 0 0 0 0 1 a.png", ""], "# nothing\n", "lists no cameras"),
])
def test_bad_colmap_models_are_refused(tmp_path: Path, lines: list[str], cameras: str | None, message: str) -> None:
    folder = write_images_txt(tmp_path / "model", lines, *(() if cameras is None else (cameras,)))
    with pytest.raises(CalibrationError, match=message):
        colmap_frames(folder)


def test_colmap_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(CalibrationError, match="images.txt: no such file"):
        colmap_frames(tmp_path)
    (tmp_path / "images.txt").write_text("")
    (tmp_path / "cameras.bin").write_bytes(b"\0")
    with pytest.raises(CalibrationError, match="cameras.txt: no such file.*model_converter --output_type TXT"):
        colmap_frames(tmp_path / "images.txt")


def test_colmap_image_names_and_points_lines(tmp_path: Path) -> None:
    folder = write_images_txt(tmp_path / "model", [
        "1 1 0 0 0 0 0 0 1 cam 2/frame 0009.png", "1.5 2.5 -1 3.5 4.5 12",
        "2 1 0 0 0 0 0 0 1 b.png", "", "", ""])
    frames = colmap_frames(folder)
    assert [frame.name for frame in frames] == ["cam 2/frame 0009.png", "b.png"]


# --- nerfstudio ---------------------------------------------------------------------------------------------------


def test_nerfstudio_fixture_per_frame_intrinsics_and_poses() -> None:
    frames = nerfstudio_frames(DATA / "nerfstudio" / "transforms.json")
    assert [frame.name for frame in nerfstudio_frames(DATA / "nerfstudio")] == [frame.name for frame in frames]
    document = json.loads((DATA / "nerfstudio" / "transforms.json").read_text())
    first, second, third = frames
    # nerfstudio's cx, cy put the top-left pixel's centre at (0.5, 0.5): OpenCV's are 0.5 less
    assert first.camera == Calibration(64, 48, 60.0, 61.0, 31.5, 23.5)
    assert second.camera == Calibration(64, 48, 70.0, 70.0, 31.0, 24.0, "radtan", (-0.1, 0.02, 0.001, -0.002, 0.003))
    assert third.camera == Calibration(64, 48, 55.5, 56.5, 29.5, 21.5, "radtan", (0.05, 0.0, 0.0, 0.0, 0.0))
    for frame, entry in zip(frames, document["frames"], strict=True):
        assert frame.name == entry["file_path"]
        opengl = np.array(entry["transform_matrix"])
        np.testing.assert_array_equal(frame.camera_to_world_opencv[:, 0], opengl[:, 0])  # x right in both
        np.testing.assert_array_equal(frame.camera_to_world_opencv[:, 1], -opengl[:, 1])  # y: up -> down
        np.testing.assert_array_equal(frame.camera_to_world_opencv[:, 2], -opengl[:, 2])  # looks down -z (OpenGL)
        np.testing.assert_array_equal(frame.camera_to_world_opencv[:, 3], opengl[:, 3])


def test_nerfstudio_random_poses(tmp_path: Path) -> None:
    poses = random_poses(5, 200)
    document = {"camera_model": "OPENCV_FISHEYE", "fl_x": 300.0, "fl_y": 301.0, "cx": 320.0, "cy": 240.0,
                "w": 640, "h": 480, "k1": 0.01, "k2": -0.002, "k3": 0.0003, "k4": -0.00004,
                "frames": [{"file_path": f"images/frame_{index:05d}.png", "transform_matrix": (pose @ FLIP).tolist()}
                           for index, pose in enumerate(poses)]}
    (tmp_path / "transforms.json").write_text(json.dumps(document))
    frames = nerfstudio_frames(tmp_path)
    for frame, pose in zip(frames, poses, strict=True):
        np.testing.assert_allclose(frame.camera_to_world_opencv, pose, rtol=0, atol=1e-15)
        # OpenCV's forward axis is the direction nerfstudio's camera looks at: -Z of its transform_matrix
        np.testing.assert_allclose(frame.camera_to_world_opencv[:3, 2], -(pose @ FLIP)[:3, 2], atol=1e-15)
        assert frame.camera == Calibration(640, 480, 300.0, 301.0, 319.5, 239.5, "fisheye",
                                           (0.01, -0.002, 0.0003, -0.00004))


def test_nerfstudio_reads_what_true_depth_writes(tmp_path: Path) -> None:
    poses = random_poses(3, 40)
    K_ = np.array([[400.0, 0.0, 319.25], [0.0, 402.0, 240.75], [0.0, 0.0, 1.0]])
    records = [sidecar_record(index, pose, K_ @ np.diag([1 + index / 100, 1 - index / 300, 1.0]))
               for index, pose in enumerate(poses)]
    exports.write_nerfstudio(tmp_path / "transforms.json", records, None)
    frames = nerfstudio_frames(tmp_path / "transforms.json")
    for record, frame, pose in zip(records, frames, poses, strict=True):
        np.testing.assert_allclose(frame.camera_to_world_opencv, pose, rtol=0, atol=1e-12)
        np.testing.assert_allclose(frame.camera.K, record.camera["K"], rtol=1e-15, atol=1e-12)
        assert frame.camera.model == "pinhole" and (frame.camera.width, frame.camera.height) == (640, 480)
        assert frame.name == f"image_{record.frame:04d}.png"


def nerfstudio_bad(tmp_path: Path, top: dict, frame: dict) -> Path:
    base = {"file_path": "a_0001.png", "fl_x": 50.0, "fl_y": 50.0, "cx": 32.0, "cy": 24.0, "w": 64, "h": 48,
            "transform_matrix": np.eye(4).tolist()}
    document = {**top, "frames": [{key: value for key, value in {**base, **frame}.items() if value is not None}]}
    (tmp_path / "transforms.json").write_text(json.dumps(document))
    return tmp_path / "transforms.json"


@pytest.mark.parametrize("top, frame, message", [
    ({"fl_x": 55.0}, {}, "fl_x is 50.0 here and 55.0 at the top of the file; nerfstudio uses the top-level value"),
    ({}, {"fl_y": None}, r"frames\[0\] \(a_0001.png\): no fl_y"),
    ({}, {"w": 64.5}, "w must be a positive integer, got 64.5"),
    ({}, {"h": True}, "h must be a positive integer, got True"),
    ({}, {"cx": "32"}, "cx must be a finite number"),
    ({}, {"k4": 0.01}, "k4=0.01 is nerfstudio's r\\^8 radial term"),
    ({"camera_model": "OPENCV_FISHEYE"}, {"p1": 0.01}, "OPENCV_FISHEYE has no tangential terms"),
    ({"camera_model": "EQUIRECTANGULAR"}, {}, "camera_model 'EQUIRECTANGULAR' is not supported"),
    ({}, {"camera_model": "OPENCV_FISHEYE"}, "no per-frame camera_model"),
    ({"k1": 0.1}, {"k1": 0.2}, "the frame's distortion differs from the top-level one"),
    ({"k4": 0.1}, {}, "k4 alone at the top of the file is ignored by nerfstudio"),
    ({}, {"distortion_params": [0.1, 0.0]}, "distortion_params must be the 6 values"),
    ({}, {"distortion_params": [0.1, 0, 0, 0, 0, 0], "k1": 0.2}, "distortion_params and k1 disagree"),
    ({}, {"transform_matrix": None}, "no transform_matrix"),
    ({}, {"transform_matrix": (np.eye(4) * 2).tolist()}, "last row must be 0 0 0 1"),
    ({}, {"transform_matrix": np.diag([2.0, 2.0, 2.0, 1.0]).tolist()}, "not a rigid motion"),
    ({}, {"transform_matrix": np.diag([1.0, 1.0, -1.0, 1.0]).tolist()}, "not a rigid motion"),
    ({}, {"transform_matrix": [[1, 0], [0, 1]]}, "finite 4x4"),
    ({}, {"file_path": None}, "a frame needs a file_path"),
])
def test_bad_nerfstudio_files_are_refused(tmp_path: Path, top: dict, frame: dict, message: str) -> None:
    with pytest.raises(CalibrationError, match=message):
        nerfstudio_frames(nerfstudio_bad(tmp_path, top, frame))


def test_nerfstudio_agreeing_values_and_3x4_poses_are_read(tmp_path: Path) -> None:
    pose = np.eye(4)[:3].tolist()
    path = nerfstudio_bad(tmp_path, {"fl_x": 50.0, "k1": 0.1}, {"k1": 0.1, "transform_matrix": pose})
    (frame,) = nerfstudio_frames(path)
    assert frame.camera.coefficients[0] == 0.1
    np.testing.assert_array_equal(frame.camera_to_world_opencv, FLIP)


@pytest.mark.parametrize("content, message", [(None, "no such file"), ("{", "not valid JSON"),
                                              ('{"frames": 3}', "no 'frames' list"), ('{"frames": []}', "no frames")])
def test_bad_nerfstudio_documents_are_refused(tmp_path: Path, content: str | None, message: str) -> None:
    if content is not None:
        (tmp_path / "transforms.json").write_text(content)
    with pytest.raises(CalibrationError, match=message):
        nerfstudio_frames(tmp_path)


# --- matching frames ----------------------------------------------------------------------------------------------


def cameras_named(*names: str) -> list[FrameCamera]:
    calibration = Calibration(4, 3, 2.0, 2.0, 1.5, 1.0)
    return [FrameCamera(name, calibration, None) for name in names]


def test_match_by_stem_then_by_number() -> None:
    cameras = cameras_named("images/shot_0005.png", "other_0005.png", "images/frame_00007.jpg", "x12y3.png")
    matched = match_frames(cameras, {5: Path("renders/shot_0005.exr"), 7: Path("depth_0007.exr"),
                                     3: Path("depth_0003.exr")})
    assert matched[5].name == "images/shot_0005.png"  # the stem, though two cameras are numbered 5
    assert matched[7].name == "images/frame_00007.jpg"  # 00007 == 7 as integers
    assert matched[3].name == "x12y3.png"  # the last group of digits


def test_match_refuses_missing_and_ambiguous_frames() -> None:
    cameras = cameras_named("image_0007_L.png", "image_0007_R.png", "image_0008.png")
    with pytest.raises(CalibrationError) as error:
        match_frames(cameras, {7: Path("depth_0007.exr"), 8: Path("depth_0008.exr"), 9: Path("depth_0009.exr")})
    message = str(error.value)
    assert "frame 7 (depth_0007.exr) matches 2 cameras: image_0007_L.png, image_0007_R.png" in message
    assert "frame 9 (depth_0009.exr) has no camera" in message
    assert "frame 8" not in message
    with pytest.raises(CalibrationError, match="matches 2 cameras: a/x.png, b/x.png"):
        match_frames(cameras_named("a/x.png", "b/x.png"), {1: Path("x.exr")})


def test_match_frames_of_the_fixtures() -> None:
    frames = colmap_frames(DATA / "colmap")
    matched = match_frames(frames, {number: Path(f"distance_{number:04d}.exr") for number in (1, 2, 3, 4)})
    assert [matched[number].name for number in (1, 2, 3, 4)] == list(COLMAP_IMAGES)


# --- the camera JSON: exact or refused ----------------------------------------------------------------------------

SKEWED = [[500.0, 3.0, 320.0], [0.0, 510.0, 240.0], [0.0, 0.0, 1.0]]


@pytest.mark.parametrize("matrix, message", [
    (SKEWED, "K has skew"),
    ([[500.0, 0.0, 320.0], [2.0, 510.0, 240.0], [0.0, 0.0, 1.0]], "K has skew"),
    ([[500.0, 0.0, 320.0], [0.0, 510.0, 240.0], [1e-4, 0.0, 1.0]], "last row must be \\(0, 0, s\\)"),
    ([[500.0, 0.0, 320.0], [0.0, 510.0, 240.0], [0.0, 0.0, 0.0]], "last row must be \\(0, 0, s\\)"),
    ([[500.0, 0.0, 320.0], [0.0, 510.0, 240.0], [0.0, 0.0, -1.0]], "positive focal lengths"),
    ([[500.0, 0.0], [0.0, 510.0]], "finite 3x3"),
])
def test_from_matrix_refuses_what_no_blender_camera_is(matrix: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BlenderCamera.from_matrix(matrix, 640, 480)


def test_from_matrix_divides_out_the_last_row_scale() -> None:
    plain = BlenderCamera.from_matrix(K, 640, 480)
    for scale in (2.0, 0.5, -3.0):
        np.testing.assert_allclose(BlenderCamera.from_matrix(K * scale, 640, 480).matrix(), K, rtol=1e-12)
        assert BlenderCamera.from_matrix(K * scale, 640, 480).matrix() == pytest.approx(plain.matrix())


@pytest.mark.parametrize("size", [64.5, 64.0, True, 0, -3, "64"])
def test_from_matrix_sizes_are_positive_integers(size: object) -> None:
    with pytest.raises(ValueError, match="must be a positive integer"):
        BlenderCamera.from_matrix(K, size, 480)
    with pytest.raises(ValueError, match="must be a positive integer"):
        BlenderCamera.from_matrix(K, 640, size)


@pytest.mark.parametrize("change, message", [
    ({"width": 64.5}, "width must be a positive integer, got 64.5"),
    ({"height": True}, "height must be a positive integer, got True"),
    ({"width": 640.0}, "width must be a positive integer, got 640.0"),
    ({"K": SKEWED}, "K has skew"),
])
def test_sidecar_refuses_sizes_and_skew(tmp_path: Path, change: dict, message: str) -> None:
    meta = {"K": K.tolist(), "width": 640, "height": 480, "projection": "PERSP", **change}
    with pytest.raises(sidecar.SidecarError, match=message):
        sidecar.camera_from_metadata(meta)
    path = tmp_path / "camera.json"
    path.write_text(json.dumps(meta))
    with pytest.raises(sidecar.SidecarError, match=message):
        sidecar.load(path)
    assert sidecar.read_metadata(path) == meta


def test_sidecar_K_with_a_scaled_last_row_is_exact() -> None:
    meta = {"K": (K * 2).tolist(), "width": 640, "height": 480}
    np.testing.assert_allclose(sidecar.camera_from_metadata(meta).matrix(), K, rtol=1e-12)
    assert sidecar.ray_camera_from_metadata(meta) is None


def test_sidecar_ray_camera_honours_skew_exactly() -> None:
    for matrix in (SKEWED, (np.array(SKEWED) * 2).tolist(), [[500.0, 0, 320], [0, 510, 240], [1e-4, 0, 1.0]]):
        camera = sidecar.ray_camera_from_metadata({"K": matrix, "width": 64, "height": 48})
        assert isinstance(camera, RayMatrix) and (camera.width, camera.height) == (64, 48)
        projected = camera.pixel_rays() @ np.asarray(matrix).T
        np.testing.assert_allclose(projected[..., :2] / projected[..., 2:], pixel_grid(64, 48)[..., :2], atol=1e-9)
        assert (camera.pixel_rays()[..., 2] > 0).all()


@pytest.mark.parametrize("meta", [
    {"K": K.tolist(), "width": 64, "height": 48},
    {"K": None, "width": 64, "height": 48, "projection": "PANO"},
    {"K": [[5.0, 0, 3], [0, 5, 2], [0, 0, 1]], "width": 64, "height": 48, "projection": "ORTHO"},
])
def test_sidecar_ray_camera_is_none_for_what_blender_cameras_describe(meta: dict) -> None:
    assert sidecar.ray_camera_from_metadata(meta) is None


@pytest.mark.parametrize("meta, message", [
    ({"K": SKEWED, "width": 64.5, "height": 48}, "width must be a positive integer"),
    ({"K": SKEWED, "height": 48}, "lacks 'width'"),
    ({"K": SKEWED, "width": 64, "height": 48, "projection": "ORTHO"}, "only a perspective camera"),
    ({"K": [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 0.0, 1.0]], "width": 64, "height": 48}, "singular"),
    ({"K": [[1.0, 2.0], [2.0, 4.0]], "width": 64, "height": 48}, "finite 3x3"),
    ({"K": "K", "width": 64, "height": 48}, "3x3 matrix of numbers"),
])
def test_sidecar_ray_camera_refusals(meta: dict, message: str) -> None:
    with pytest.raises(sidecar.SidecarError, match=message):
        sidecar.ray_camera_from_metadata(meta)


def test_sidecar_of_a_ray_matrix_camera_reads_back() -> None:
    camera = RayMatrix.from_fov(75.0, 64, 48)
    meta = json.loads(json.dumps({"K": None, "width": 64, "height": 48, "projection": "RAY_MATRIX",
                                  "projection_model": camera.describe()}))
    assert sidecar.ray_camera_from_metadata(meta) == camera
    with pytest.raises(sidecar.SidecarError, match="lacks 'matrix'"):
        sidecar.ray_camera_from_metadata({**meta, "projection_model": {"type": "RAY_MATRIX"}})
    with pytest.raises(sidecar.SidecarError, match="ray matrix: .*singular"):
        sidecar.ray_camera_from_metadata({**meta, "projection_model": {"type": "RAY_MATRIX",
                                                                       "matrix": np.zeros((3, 3)).tolist()}})
