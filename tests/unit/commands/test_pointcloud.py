"""The pointcloud command: a depth image, its camera JSON and, optionally, its normals to a PLY read by plyfile."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from plyfile import PlyData

from depth_node.commands.cli import main
from depth_node.core.formats import exr

from ..samples import rotation_about

K = np.array([[30.0, 0.0, 9.5], [0.0, 30.0, 7.5], [0.0, 0.0, 1.0]])
W, H = 20, 16


def frame_files(folder: Path, pose: np.ndarray) -> tuple[Path, Path, Path, np.ndarray, np.ndarray]:
    """A depth .npy with one background pixel, its camera JSON and a normal EXR (camera frame), and both arrays."""
    rng = np.random.default_rng(6)
    depth = rng.uniform(2.0, 5.0, size=(H, W))
    depth[3, 5] = 0.0
    normals = rng.normal(size=(H, W, 3))
    normals /= np.linalg.norm(normals, axis=-1, keepdims=True)
    normals[3, 5] = 0.0
    np.save(folder / "depth_0001.npy", depth.astype(np.float32))
    (folder / "camera_0001.json").write_text(json.dumps({"K": K.tolist(), "width": W, "height": H,
                                                         "camera_to_world_opencv": pose.tolist()}))
    exr.write_channels(folder / "normal_0001.exr", exr.rgb_channels(normals))
    return folder / "depth_0001.npy", folder / "camera_0001.json", folder / "normal_0001.exr", depth, normals


def read(path: Path) -> dict[str, np.ndarray]:
    vertex = PlyData.read(str(path))["vertex"]
    return {"points": np.stack([vertex[a] for a in "xyz"], axis=1).astype(np.float64),
            "normals": np.stack([vertex[f"n{a}"] for a in "xyz"], axis=1).astype(np.float64),
            "colours": np.stack([vertex[c] for c in ("red", "green", "blue")], axis=1)}


@pytest.mark.parametrize("world", [False, True])
def test_each_point_carries_its_pixels_normal(tmp_path: Path, world: bool) -> None:
    pose = np.eye(4)
    pose[:3, :3] = rotation_about([0.3, -1.0, 0.4], 0.8)
    pose[:3, 3] = [1.0, 2.0, -0.5]
    depth_path, camera, normal_path, depth, normals = frame_files(tmp_path, pose)
    args = ["pointcloud", str(depth_path), str(camera), str(tmp_path / "cloud.ply"), "--normals", str(normal_path)]
    assert main(args + ["--world"] * world) == 0
    ply = read(tmp_path / "cloud.ply")
    surface = depth > 0
    rows, columns = np.nonzero(surface)
    rays = np.stack([(columns - K[0, 2]) / K[0, 0], (rows - K[1, 2]) / K[1, 1], np.ones(len(rows))], axis=1)
    want_points, want_normals = rays * depth[surface][:, None], normals[surface]
    if world:  # x_world = R x + t, n_world = R n
        want_points = want_points @ pose[:3, :3].T + pose[:3, 3]
        want_normals = want_normals @ pose[:3, :3].T
    assert len(ply["points"]) == W * H - 1
    assert np.abs(ply["points"] - want_points).max() <= 1e-5 * 5.0
    assert np.abs(ply["normals"] - want_normals).max() <= 1e-6
    assert np.abs(ply["colours"] - (want_normals + 1.0) / 2.0 * 255.0).max() <= 0.5 + 1e-4


def test_strided_points_take_their_own_pixels_normal(tmp_path: Path) -> None:
    depth_path, camera, normal_path, depth, normals = frame_files(tmp_path, np.eye(4))
    assert main(["pointcloud", str(depth_path), str(camera), str(tmp_path / "cloud.ply"), "--normals",
                 str(normal_path), "--stride", "3"]) == 0
    ply = read(tmp_path / "cloud.ply")
    grid = (slice(None, None, 3), slice(None, None, 3))
    want = normals[grid][depth[grid] > 0]
    assert len(ply["normals"]) == len(want) == np.count_nonzero(depth[grid] > 0)
    assert np.abs(ply["normals"] - want).max() <= 1e-6


def test_points_without_a_normal_are_counted(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    depth_path, camera, normal_path, depth, normals = frame_files(tmp_path, np.eye(4))
    normals[0, :4] = 0.0
    exr.write_channels(normal_path, exr.rgb_channels(normals))
    assert main(["pointcloud", str(depth_path), str(camera), str(tmp_path / "cloud.ply"), "--normals",
                 str(normal_path)]) == 0
    assert f"4 of {W * H - 1} points have no normal" in capsys.readouterr().out
    assert read(tmp_path / "cloud.ply")["colours"][:4].tolist() == [[128, 128, 128]] * 4


def test_normals_of_another_size_or_layout_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    depth_path, camera, normal_path, *_ = frame_files(tmp_path, np.eye(4))
    exr.write_channels(tmp_path / "small.exr", exr.rgb_channels(np.ones((H, W - 1, 3))))
    exr.write_single_channel(tmp_path / "depth.exr", np.ones((H, W), dtype=np.float32))
    for normals, message in ((tmp_path / "small.exr", f"is {W - 1}x{H} but the depth is {W}x{H}"),
                             (tmp_path / "depth.exr", "expected the channels R, G, B (a points or normal file)")):
        assert main(["pointcloud", str(depth_path), str(camera), str(tmp_path / "cloud.ply"), "--normals",
                     str(normals)]) == 1
        assert message in capsys.readouterr().err
        assert not (tmp_path / "cloud.ply").exists()
