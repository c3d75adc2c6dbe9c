"""``convert --to flow`` with camera JSONs (no Blender): a multilayer EXR's Vector pass and Depth, the cameras of
f-1, f and f+1; the sky's flow checked against plain pinhole maths, written per pixel."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import OpenEXR
import pytest

from depth_node.commands.cli import main

W, H = 16, 12
K = np.array([[20.0, 0.0, 7.5], [0.0, 20.0, 5.5], [0.0, 0.0, 1.0]])
SURFACE = (slice(3, 8), slice(4, 11))
"""The rows and columns that see a surface (at depth 5); the rest is sky."""


def pose(angle: float, shift: tuple[float, float, float]) -> np.ndarray:
    """An OpenCV camera-to-world: turned by ``angle`` about the camera's y axis, moved by ``shift``."""
    c, s = math.cos(angle), math.sin(angle)
    to_world = np.eye(4)
    to_world[:3, :3] = [[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]]
    to_world[:3, 3] = shift
    return to_world


POSES = {1: pose(-0.03, (-0.1, 0.0, 0.0)), 2: pose(0.0, (0.0, 0.0, 0.0)), 3: pose(0.05, (0.2, 0.05, 0.0))}


def write_camera(folder: Path, frame: int, camera: str = "Camera", to_world: np.ndarray | None = None,
                 **more: object) -> None:
    meta = {"K": K.tolist(), "width": W, "height": H, "projection": "PERSP", "clip_start": 0.1, "clip_end": 100.0,
            "camera_to_world_opencv": (POSES[frame] if to_world is None else to_world).tolist(),
            "blender": {"scene": "Shot", "camera": camera, "frame": frame}, **more}
    (folder / f"camera_{frame:04d}.json").write_text(json.dumps(meta))


def the_pass(seed: int = 0) -> np.ndarray:
    """(H, W, 4) X, Y, Z, W: arbitrary motion on the surface, 0 on the sky (as Cycles writes it)."""
    vector = np.zeros((H, W, 4), dtype=np.float32)
    vector[SURFACE] = np.random.default_rng(seed).uniform(-3, 3, size=vector[SURFACE].shape)
    return vector


def write_pass(path: Path, vector: np.ndarray, layer: str = "ViewLayer", samples: str | None = "1",
               depth: bool = True) -> None:
    prefix = f"{layer}." if layer else ""
    channels = {f"{prefix}Vector.{axis}": np.ascontiguousarray(vector[..., index])
                for index, axis in enumerate("XYZW")}
    if depth:
        z = np.full((H, W), 1e10, dtype=np.float32)
        z[SURFACE] = 5.0
        channels[f"{prefix}Depth.Z"] = z
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    if samples is not None:
        header[f"cycles.{prefix}samples"] = samples
    OpenEXR.File(header, channels).write(str(path))


def read_flow(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with OpenEXR.File(str(path), separate_channels=True) as exr_file:
        channels = {name: channel.pixels for name, channel in exr_file.channels().items()}
    assert sorted(channels) == ["B", "G", "R"]
    return np.stack([channels["R"], channels["G"]], axis=-1), channels["B"]


def sky_flow(x: int, y: int, frame: int, other: int) -> tuple[float, float]:
    """Where ``other``'s camera sees the direction of ``frame``'s pixel centre (x, y), minus (x, y)."""
    direction = POSES[frame][:3, :3] @ np.linalg.solve(K, [x, y, 1.0])
    seen = K @ (POSES[other][:3, :3].T @ direction)
    return seen[0] / seen[2] - x, seen[1] / seen[2] - y


@pytest.fixture
def shot(tmp_path: Path) -> Path:
    """Frames 1-3 of camera JSONs and frame 2's pass."""
    for frame in POSES:
        write_camera(tmp_path, frame)
    write_pass(tmp_path / "render_0002.exr", the_pass())
    return tmp_path


def convert(folder: Path, *args: object, pattern: str = "render_####.exr") -> int:
    return main(["convert", str(folder / pattern), "--to", "flow", "--output", str(folder / "out"),
                 *[str(arg) for arg in args]])


def test_the_pass_becomes_opencv_flow_and_the_sky_takes_the_flow_of_its_direction(shot: Path, capsys) -> None:
    assert convert(shot, "--camera", shot / "camera_####.json", "--frames", "2") == 0
    vector, folder = the_pass(), shot / "out" / "Shot"
    forward, forward_valid = read_flow(folder / "flow_forward_0002.exr")
    backward, backward_valid = read_flow(folder / "flow_backward_0002.exr")
    surface = np.zeros((H, W), dtype=bool)
    surface[SURFACE] = True
    # Blender's layout (EXR rows top-down): backward = (X, -Y), forward = (-Z, W).
    assert np.array_equal(backward[surface], np.stack([vector[..., 0], -vector[..., 1]], -1)[surface])
    assert np.array_equal(forward[surface], np.stack([-vector[..., 2], vector[..., 3]], -1)[surface])
    for y, x in zip(*np.nonzero(~surface), strict=True):
        assert forward[y, x] == pytest.approx(sky_flow(x, y, 2, 3), abs=1e-4)
        assert backward[y, x] == pytest.approx(sky_flow(x, y, 2, 1), abs=1e-4)
    assert np.abs(forward[~surface]).max() > 0.5, "the camera turns: the sky moves"
    assert not forward_valid.any() and not backward_valid.any(), "no geometry: nothing is proven visible"
    meta = json.loads((folder / "camera_0002.json").read_text())
    assert (meta["flow"]["forward_frame"], meta["flow"]["backward_frame"]) == (3, 1)
    assert meta["flow"]["samples"] == 1 and meta["flow"]["source"] == "render_0002.exr"
    assert meta["flow"]["valid"].startswith("0 everywhere")
    out = capsys.readouterr().out
    inside = int(out.split("flow pixels undecided (no scene geometry: valid 0): ")[1].split()[0])
    assert 0.6 * 2 * W * H < inside <= 2 * W * H


def test_a_missing_camera_or_a_cut_makes_that_side_zero_and_invalid(shot: Path) -> None:
    (shot / "camera_0001.json").unlink()
    write_camera(shot, 3, camera="Other Shot")
    assert convert(shot, "--camera", shot / "camera_####.json", "--frames", "2") == 0
    folder = shot / "out" / "Shot"
    for direction in ("forward", "backward"):
        uv, valid = read_flow(folder / f"flow_{direction}_0002.exr")
        assert not uv.any() and not valid.any()
    meta = json.loads((folder / "camera_0002.json").read_text())
    assert meta["flow"]["forward_frame"] is None and meta["flow"]["backward_frame"] is None


def test_a_pass_of_many_samples_is_said_in_one_line(shot: Path, capsys) -> None:
    write_pass(shot / "render_0002.exr", the_pass(), samples="16")
    assert convert(shot, "--camera", shot / "camera_####.json", "--frames", "2") == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "samples" in line and "exact" in line]
    assert len(lines) == 1 and "render_0002.exr: rendered at 16 samples" in lines[0]
    assert json.loads((shot / "out" / "Shot" / "camera_0002.json").read_text())["flow"]["samples"] == 16


def test_the_layer_name_and_a_plain_file_output_layout_are_read(shot: Path) -> None:
    write_pass(shot / "render_0002.exr", the_pass(), layer="", samples=None)
    assert convert(shot, "--camera", shot / "camera_####.json", "--frames", "2", "--flow-format", "flo") == 0
    import cv2

    flow = cv2.readOpticalFlow(str(shot / "out" / "Shot" / "flow_forward_0002.flo"))
    vector = the_pass()
    assert np.array_equal(flow[SURFACE], np.stack([-vector[..., 2], vector[..., 3]], -1)[SURFACE])


@pytest.mark.parametrize(("change", "message"), [
    ("rgba", "no Vector pass (channels <layer>.Vector.X, .Y, .Z, .W) among the channels: A, B, G, R; convert "
             "--to flow reads a multilayer EXR"),
    ("no depth", "layer 'ViewLayer' has a Vector pass but no Depth (ViewLayer.Depth.Z)"),
    ("two layers", "2 (Other, ViewLayer) Vector pass"),
    ("motion blur", "the Vector pass is 0 on every surface although the camera moves"),
    ("one json", "needs each frame's camera: give the pattern of the camera JSONs"),
    ("ortho", "convert --to flow takes perspective and panoramic cameras (this one is ORTHO)"),
    ("no pose", "the camera has no pose"),
    ("size", "the pass is 16x12, the camera of frame 2 renders 17x12"),
    ("no camera", "needs the cameras of f-1, f and f+1"),
    ("depth kind", "--outputs depth: convert --to flow writes flow and camera files"),
    ("engine", "has one engine"),
    ("jobs", "runs in one process"),
    ("frame", "no camera file for frame(s) 2"),
])
def test_what_cannot_be_exact_flow_is_refused_in_one_line(shot: Path, change: str, message: str, capsys) -> None:
    camera: list[object] = ["--camera", shot / "camera_####.json"]
    extra: list[object] = []
    if change == "rgba":
        channels = {name: np.zeros((H, W), dtype=np.float32) for name in "RGBA"}
        OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION}, channels).write(str(shot / "render_0002.exr"))
    elif change == "no depth":
        write_pass(shot / "render_0002.exr", the_pass(), depth=False)
    elif change == "two layers":
        write_pass(shot / "first.exr", the_pass())
        with OpenEXR.File(str(shot / "first.exr"), separate_channels=True) as exr_file:
            channels = {name: c.pixels for name, c in exr_file.channels().items()}
        channels.update({name.replace("ViewLayer", "Other"): pixels for name, pixels in list(channels.items())})
        OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION}, channels).write(str(shot / "render_0002.exr"))
    elif change == "motion blur":
        write_pass(shot / "render_0002.exr", np.zeros((H, W, 4), dtype=np.float32))
    elif change == "one json":
        camera = ["--camera", shot / "camera_0002.json"]
    elif change == "ortho":
        write_camera(shot, 1, projection="ORTHO")
    elif change == "no pose":
        meta = json.loads((shot / "camera_0003.json").read_text())
        del meta["camera_to_world_opencv"]
        (shot / "camera_0003.json").write_text(json.dumps(meta))
    elif change == "size":
        meta = json.loads((shot / "camera_0002.json").read_text())
        (shot / "camera_0002.json").write_text(json.dumps({**meta, "width": W + 1}))
    elif change == "no camera":
        camera = []
    elif change == "depth kind":
        extra = ["--outputs", "depth,flow"]
    elif change == "engine":
        extra = ["--engine", "node"]
    elif change == "jobs":
        extra = ["--jobs", "2"]
    elif change == "frame":
        (shot / "camera_0002.json").unlink()
    assert convert(shot, *camera, *extra, "--frames", "2") in (1, 2)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not any(path.is_file() for path in (shot / "out").rglob("*"))


def test_a_panoramas_sky_takes_the_other_frames_inverse_mapping(tmp_path: Path) -> None:
    """Equirectangular, 16 columns over 360 degrees, turned right by one column a frame: every sky direction
    is seen one column further left at f+1 (the seam wraps) and one further right at f-1."""
    from depth_node.core.camera import BlenderCamera

    model = BlenderCamera.from_settings(projection="PANO", panorama_type="EQUIRECTANGULAR", resolution_x=W,
                                        resolution_y=H).settings()
    step = 2 * math.pi / W
    for frame in POSES:
        turn = pose(step * (frame - 2), (0.0, 0.0, 0.0))  # about OpenCV's y (down): turns the view right
        meta = {"K": None, "width": W, "height": H, "projection": "PANO", "camera_model": model,
                "clip_start": 0.1, "clip_end": 100.0, "camera_to_world_opencv": turn.tolist(),
                "blender": {"scene": "Shot", "camera": "Camera", "frame": frame}}
        (tmp_path / f"camera_{frame:04d}.json").write_text(json.dumps(meta))
    write_pass(tmp_path / "render_0002.exr", the_pass())
    assert convert(tmp_path, "--camera", tmp_path / "camera_####.json", "--frames", "2") == 0
    folder = tmp_path / "out" / "Shot"
    sky = np.ones((H, W), dtype=bool)
    sky[SURFACE] = False
    columns = np.arange(W)[np.newaxis, :].repeat(H, axis=0)
    for direction, want in (("forward", np.where(columns == 0, W - 1.0, -1.0)),
                            ("backward", np.where(columns == W - 1, 1.0 - W, 1.0))):
        uv, valid = read_flow(folder / f"flow_{direction}_0002.exr")
        assert np.abs(uv[..., 0] - want)[sky].max() < 1e-5 and np.abs(uv[..., 1])[sky].max() < 1e-5, direction
        assert not valid.any()
    forward, _ = read_flow(folder / "flow_forward_0002.exr")
    assert np.array_equal(forward[SURFACE], np.stack([-the_pass()[..., 2], the_pass()[..., 3]], -1)[SURFACE])
