"""convert in plain Python (commands/convert/): every input format, cameras and outputs, read back by other
tools; bad input, failing frames and --resume."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import h5py
import numpy as np
import OpenEXR
import pytest

from depth_node.commands.cli import main

W, H = 37, 23


K = np.array([[31.0, 0.0, 17.6], [0.0, 29.5, 10.2], [0.0, 0.0, 1.0]])


RNG = np.random.default_rng(7)


DEPTH = RNG.uniform(0.5, 30.0, (H, W))


def rays_of(K: np.ndarray) -> np.ndarray:
    """Each pixel centre's ray inv(K) @ (x, y, 1): the closed form, no reference code."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    return np.stack([x, y, np.ones_like(x)], axis=-1) @ np.linalg.inv(K).T


def distance_of(depth: np.ndarray, rays: np.ndarray) -> np.ndarray:
    return depth * np.linalg.norm(rays, axis=-1) / rays[..., 2]


def convert(*args: object) -> int:
    return main(["convert", *[str(arg) for arg in args]])


def converted(folder: Path, name: str = "depth_0001") -> np.ndarray:
    [path] = list(folder.glob(f"*/{name}.*"))
    if path.suffix == ".exr":
        return OpenEXR.File(str(path)).channels()["Y"].pixels.astype(np.float64)
    if path.suffix == ".npy":
        return np.load(path).astype(np.float64)
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED).astype(np.float64)  # OpenCV reads PFM and 16-bit PNG


def camera_json(path: Path, K: np.ndarray = K) -> Path:
    path.write_text(json.dumps({"K": K.tolist(), "width": W, "height": H}))
    return path


def write_exr_multilayer(path: Path, distance: np.ndarray) -> None:
    """What Blender's 'OpenEXR MultiLayer' File Output writes: layers named ViewLayer.Pass.channel."""
    channels = {"ViewLayer.Combined.R": np.zeros((H, W), np.float16),
                "ViewLayer.Combined.G": np.zeros((H, W), np.float16), "ViewLayer.Mist.Z": np.zeros((H, W), np.float32),
                "ViewLayer.Distance.V": distance.astype(np.float32)}
    OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}, channels).write(str(path))


def write_pfm(path: Path, image: np.ndarray) -> None:
    """Middlebury's PFM: 'Pf', size, negative scale = little-endian, rows bottom-up."""
    path.write_bytes(f"Pf\n{W} {H}\n-1.0\n".encode() + np.ascontiguousarray(image[::-1], "<f4").tobytes())


def write_hdf5(path: Path, image: np.ndarray) -> None:
    """Hypersim's layout: one float16 dataset named 'dataset'."""
    with h5py.File(path, "w") as file:
        file.create_dataset("dataset", data=image.astype(np.float16))


INPUTS = {
    "exr-multilayer": (lambda path, d: write_exr_multilayer(path, d), "distance_0001.exr",
                       ["--channel", "ViewLayer.Distance.V"], 1e-6),
    "pfm": (write_pfm, "distance_0001.pfm", [], 1e-6),
    "npy": (lambda path, d: np.save(path, d), "distance_0001.npy", [], 1e-6),
    "npz": (lambda path, d: np.savez(path, other=np.zeros(3), distance=d), "distance_0001.npz", ["--key", "distance"],
            1e-6),
    "png16": (lambda path, d: cv2.imwrite(str(path), np.round(d * 1000).astype(np.uint16)), "distance_0001.png", [],
              0.0005 / 0.5),
    "hdf5": (write_hdf5, "frame.0001.distance_meters.hdf5", [], 2 ** -10),
}


CAMERAS = {
    # a skewed K, honoured exactly through the general ray matrix
    "skew": np.array([[31.0, 3.0, 17.6], [0.0, 29.5, 10.2], [0.0, 0.0, 1.0]]),
    # a K whose last row is (0, 0, 2): the same camera as K / 2
    "scaled": K * 2.0,
}


def opencv_rays(K: np.ndarray, coefficients: list[float]) -> np.ndarray:
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    points = np.stack([x, y], axis=-1).reshape(-1, 1, 2)
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-15)
    normalized = cv2.undistortPointsIter(points, K, np.array(coefficients), None, None, criteria).reshape(H, W, 2)
    return np.concatenate([normalized, np.ones((H, W, 1))], axis=-1)


@pytest.mark.parametrize("kind", list(INPUTS))
def test_every_input_format_converts_with_a_camera_json(kind: str, tmp_path: Path) -> None:
    write, name, options, tolerance = INPUTS[kind]
    distance = distance_of(DEPTH, rays_of(K))
    write(tmp_path / name, distance)
    assert convert(tmp_path / name, "--camera", camera_json(tmp_path / "camera.json"), "--output", tmp_path / "out",
                   *options) == 0
    depth = converted(tmp_path / "out")
    assert np.abs(depth - DEPTH).max() <= tolerance * DEPTH.max(), kind


@pytest.mark.parametrize("case", list(CAMERAS))
def test_an_odd_K_is_honoured_exactly(case: str, tmp_path: Path) -> None:
    camera = CAMERAS[case]
    normalized = camera / camera[2, 2]
    distance = distance_of(DEPTH, rays_of(normalized))
    np.save(tmp_path / "distance_0001.npy", distance)
    assert convert(tmp_path / "distance_0001.npy", "--camera", camera_json(tmp_path / "camera.json", camera),
                   "--output", tmp_path / "out") == 0
    assert np.abs(converted(tmp_path / "out") - DEPTH).max() <= 1e-6 * DEPTH.max()


def test_a_field_of_view_and_a_ray_matrix(tmp_path: Path) -> None:
    fov = 73.0
    fx = (W / 2) / np.tan(np.radians(fov) / 2)  # pixel centres at integers: the principal point at (W-1)/2
    centred = np.array([[fx, 0, (W - 1) / 2], [0, fx, (H - 1) / 2], [0, 0, 1]])
    np.save(tmp_path / "distance_0001.npy", distance_of(DEPTH, rays_of(centred)))
    assert convert(tmp_path / "distance_0001.npy", "--fov-x", fov, "--output", tmp_path / "fov") == 0
    assert np.abs(converted(tmp_path / "fov") - DEPTH).max() <= 1e-6 * DEPTH.max()
    meta = json.loads(next((tmp_path / "fov").glob("*/camera_0001.json")).read_text())
    assert np.allclose(meta["K"], centred, rtol=1e-12)
    skewed = CAMERAS["skew"]
    np.save(tmp_path / "distance_0001.npy", distance_of(DEPTH, rays_of(skewed)))
    matrix = ",".join(repr(float(value)) for value in np.linalg.inv(skewed).ravel())
    assert convert(tmp_path / "distance_0001.npy", "--ray-matrix", matrix, "--output", tmp_path / "rays") == 0
    assert np.abs(converted(tmp_path / "rays") - DEPTH).max() <= 1e-6 * DEPTH.max()


def test_a_colmap_model_gives_each_frame_its_camera_and_pose(tmp_path: Path) -> None:
    """Two images with their own cameras (PINHOLE and OPENCV), matched to the inputs by frame number."""
    coefficients = [-0.21, 0.05, 0.001, -0.002]
    model = tmp_path / "sparse"
    model.mkdir()
    (model / "cameras.txt").write_text(
        "# Camera list with one line of data per camera:\n#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]\n"
        f"1 PINHOLE {W} {H} {K[0, 0]} {K[1, 1]} {K[0, 2] + 0.5} {K[1, 2] + 0.5}\n"
        f"2 OPENCV {W} {H} {K[0, 0]} {K[1, 1]} {K[0, 2] + 0.5} {K[1, 2] + 0.5} "
        + " ".join(map(repr, coefficients)) + "\n")
    (model / "images.txt").write_text(
        "# Image list with two lines of data per image:\n"
        "1 0.7071067811865476 0.7071067811865476 0 0 1 2 3 1 images/frame_0001.jpg\n\n"
        "2 0.5 0.5 0.5 0.5 -1 0 2 2 images/frame_0002.jpg\n\n")
    truths = {1: rays_of(K), 2: opencv_rays(K, coefficients)}
    for frame, rays in truths.items():
        np.save(tmp_path / f"distance_{frame:04d}.npy", distance_of(DEPTH, rays))
    assert convert(tmp_path / "distance_####.npy", "--camera", model, "--output", tmp_path / "out",
                   "--outputs", "depth,camera,colmap") == 0
    for frame in truths:
        assert np.abs(converted(tmp_path / "out", f"depth_{frame:04d}") - DEPTH).max() <= 1e-6 * DEPTH.max()
    meta = json.loads(next((tmp_path / "out").glob("*/camera_0001.json")).read_text())
    rotation = np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]], dtype=np.float64)  # w = x = sqrt(1/2): 90 deg about x
    to_world = np.eye(4)
    to_world[:3, :3], to_world[:3, 3] = rotation.T, -rotation.T @ np.array([1.0, 2.0, 3.0])
    assert np.allclose(meta["camera_to_world_opencv"], to_world, atol=1e-12)
    written = (next((tmp_path / "out").glob("*/colmap/images.txt"))).read_text()
    assert "0.7071067811865" in written


def test_mist_becomes_distance_and_outside_the_range_no_data(tmp_path: Path) -> None:
    start, depth_range = 2.0, 20.0
    distance = distance_of(DEPTH, rays_of(K))
    mist = np.clip((distance - start) / depth_range, 0.0, 1.0)
    np.save(tmp_path / "mist_0001.npy", mist)
    assert convert(tmp_path / "mist_0001.npy", "--camera", camera_json(tmp_path / "camera.json"), "--output",
                   tmp_path / "out", "--mist", "--mist-start", start, "--mist-depth", depth_range) == 0
    depth = converted(tmp_path / "out")
    inside = (mist > 0) & (mist < 1)
    assert 0.2 < inside.mean() < 0.95
    assert np.abs(depth - DEPTH)[inside].max() <= 1e-5 * DEPTH.max() and np.all(depth[~inside] == 0)


@pytest.mark.parametrize("fmt", ["npy", "pfm", "png16"])
def test_output_formats_read_back_by_other_tools(fmt: str, tmp_path: Path) -> None:
    np.save(tmp_path / "distance_0001.npy", distance_of(DEPTH, rays_of(K)))
    assert convert(tmp_path / "distance_0001.npy", "--camera", camera_json(tmp_path / "camera.json"), "--output",
                   tmp_path / "out", "--format", fmt) == 0
    depth = converted(tmp_path / "out")
    if fmt == "png16":  # counts of 1/1000 (the default --depth16-scale)
        assert np.abs(depth / 1000 - DEPTH).max() <= 0.5 / 1000 + 1e-9
    else:
        assert np.abs(depth - DEPTH).max() <= 1e-6 * DEPTH.max()


@pytest.mark.parametrize("args, message", [
    (["--camera", "wrong_size"], "image is 37x23, the camera renders 36x23"),
    (["--fov-x", "60", "--camera", "camera"], "exactly one camera"),
    ([], "exactly one camera"),
    (["--camera", "camera", "--mist"], "mist settings of a .blend camera"),
    (["--camera", "camera", "--engine", "node", "--format", "npy"], "--engine node reads single-channel EXRs"),
    (["--camera", "half_width"], "width"),
    (["--camera", "camera", "--outputs", "flow"], "convert writes flow from Blender's Vector pass with --to flow"),
    (["--camera", "camera", "--outputs", "depth,normal,normal16"],
     "--outputs normal,normal16: normals come from Blender's Normal pass, which convert does not read"),
])
def test_bad_input_is_one_line_and_writes_nothing(args: list[str], message: str, tmp_path: Path, capsys) -> None:
    np.save(tmp_path / "distance_0001.npy", distance_of(DEPTH, rays_of(K)))
    camera_json(tmp_path / "camera")
    (tmp_path / "wrong_size").write_text(json.dumps({"K": K.tolist(), "width": W - 1, "height": H}))
    (tmp_path / "half_width").write_text(json.dumps({"K": K.tolist(), "width": W - 0.5, "height": H}))
    args = [str(tmp_path / arg) if arg in ("camera", "wrong_size", "half_width") else arg for arg in args]
    assert convert(tmp_path / "distance_0001.npy", "--output", tmp_path / "out", *args) in (1, 2)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not any(path.is_file() for path in (tmp_path / "out").rglob("*"))


def test_a_failing_frame_stops_the_job_and_resume_goes_on(tmp_path: Path, capsys) -> None:
    """Frame 3 unreadable: frames 1-2 stay complete, the account names the failed frame; once the input is
    fixed, --resume makes frames 3-4 only, and the result equals one run."""
    distance = distance_of(DEPTH, rays_of(K))
    for frame in range(1, 5):
        np.save(tmp_path / f"distance_{frame:04d}.npy", distance * frame)
    (tmp_path / "distance_0003.npy").write_bytes(b"not numpy")
    camera = tmp_path / "camera.json"
    camera.write_text(json.dumps({"K": K.tolist(), "width": W, "height": H,
                                  "camera_to_world_opencv": np.eye(4).tolist()}))
    args = [tmp_path / "distance_####.npy", "--camera", camera, "--output", tmp_path / "out", "--outputs",
            "depth,camera,colmap"]
    assert convert(*args) == 1
    captured = capsys.readouterr()
    assert "frames: 2 made, 0 skipped (--resume), 1 failed (frame 3)" in captured.out
    assert "distance_0003.npy" in captured.err
    folder = tmp_path / "out" / "converted"
    assert sorted(path.name for path in folder.iterdir()) == ["camera_0001.json", "camera_0002.json",
                                                              "depth_0001.exr", "depth_0002.exr"]
    np.save(tmp_path / "distance_0003.npy", distance * 3)
    assert convert(*args, "--resume") == 0
    assert "frames: 2 made, 2 skipped (--resume), 0 failed" in capsys.readouterr().out
    assert convert(*args[:-3], tmp_path / "whole", "--outputs", "depth,camera,colmap") == 0
    whole = tmp_path / "whole" / "converted"
    for path in sorted(whole.rglob("*.*")):
        name = path.relative_to(whole)
        if path.suffix == ".exr":
            assert np.array_equal(converted(tmp_path / "out", path.stem), converted(tmp_path / "whole", path.stem))
        else:
            assert (folder / name).read_bytes() == path.read_bytes(), name


def test_hypersims_tilt_shift_camera_from_its_csv(tmp_path: Path) -> None:
    """Hypersim's distances of the tilt-shift scene ai_037_002, made with their notebook's formula (u, v over
    [-1, 1] at pixel centres, v up; rays M_cam_from_uv @ (u, v, 1), camera looking down -z), to planar depth."""
    import csv

    table = Path(__file__).resolve().parents[3] / "data" / "cameras" / "hypersim_metadata_camera_parameters.csv"
    row = next(row for row in csv.DictReader(table.open()) if row["scene_name"] == "ai_037_002")
    width, height = int(float(row["settings_output_img_width"])), int(float(row["settings_output_img_height"]))
    M = np.array([float(row[f"M_cam_from_uv_{i}{j}"]) for i in range(3) for j in range(3)]).reshape(3, 3)
    u = np.linspace(-1 + 1 / width, 1 - 1 / width, width)
    v = np.linspace(-1 + 1 / height, 1 - 1 / height, height)[::-1]
    uu, vv = np.meshgrid(u, v)
    rays = np.stack([uu, vv, np.ones_like(uu)], axis=-1) @ M.T
    depth = np.random.default_rng(11).uniform(1.0, 20.0, (height, width))
    np.save(tmp_path / "frame.0000.distance_meters.npy", depth * np.linalg.norm(rays, axis=-1) / -rays[..., 2])
    assert convert(tmp_path / "frame.0000.distance_meters.npy", "--camera", table, "--scene", "ai_037_002",
                   "--output", tmp_path / "out", "--format", "npy") == 0
    got = np.load(tmp_path / "out" / "ai_037_002" / "depth_0000.npy")
    assert np.abs(got - depth).max() <= 2e-6 * depth.max()
    assert convert(tmp_path / "frame.0000.distance_meters.npy", "--camera", table, "--output", tmp_path / "x") == 1


def test_point_maps_from_a_distance_sequence_in_the_camera_and_the_world_frame(tmp_path: Path,
                                                                               capsys: pytest.CaptureFixture) -> None:
    np.save(tmp_path / "distance_0001.npy", distance_of(DEPTH, rays_of(K)))
    assert convert(tmp_path / "distance_0001.npy", "--camera", camera_json(tmp_path / "camera.json"), "--output",
                   tmp_path / "local", "--outputs", "depth,points") == 0
    [path] = list((tmp_path / "local").glob("*/points_0001.exr"))
    channels = OpenEXR.File(str(path), separate_channels=True).channels()
    points = np.stack([channels[name].pixels for name in "RGB"], axis=-1).astype(np.float64)
    want = rays_of(K) * DEPTH[..., None]  # x, y, z = the ray to z = 1, times the depth
    assert np.abs(points - want).max() <= 1e-6 * DEPTH.max()
    # without a pose there is no world frame: refused in one line, nothing written
    assert convert(tmp_path / "distance_0001.npy", "--camera", tmp_path / "camera.json", "--output",
                   tmp_path / "world", "--outputs", "depth,points_world") == 1
    assert "needs the camera's pose (camera_to_world_opencv" in capsys.readouterr().err
    assert not list((tmp_path / "world").glob("*/*.exr"))
    pose = np.eye(4)
    pose[:3, 3] = [2.0, -1.0, 0.5]
    (tmp_path / "posed.json").write_text(json.dumps({"K": K.tolist(), "width": W, "height": H,
                                                     "camera_to_world_opencv": pose.tolist()}))
    assert convert(tmp_path / "distance_0001.npy", "--camera", tmp_path / "posed.json", "--output",
                   tmp_path / "posed", "--outputs", "depth,points_world") == 0
    [path] = list((tmp_path / "posed").glob("*/points_world_0001.exr"))
    channels = OpenEXR.File(str(path), separate_channels=True).channels()
    world = np.stack([channels[name].pixels for name in "RGB"], axis=-1).astype(np.float64)
    assert np.abs(world - (want + pose[:3, 3])).max() <= 1e-6 * DEPTH.max()
