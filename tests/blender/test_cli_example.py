"""The main job's built-in example, run in-process: files, flat wall, camera JSON, no overwrite."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import submodule


def run_cli(td, *args: str) -> int:
    return submodule(td, "cli").main(list(args))


def test_example_writes_flat_wall_depth_and_matching_camera_json(td, tmp_path: Path) -> None:
    read = submodule(td, "exr").read_single_channel
    assert run_cli(td, "example", "--output", str(tmp_path), "--resolution", "64x48", "--lens", "24") == 0
    for scene in ("wall", "suzanne"):
        for name in ("depth_0001.exr", "distance_0001.exr", "camera_0001.json"):
            assert (tmp_path / scene / name).is_file(), f"{scene}/{name} missing"
    depth = read(tmp_path / "wall" / "depth_0001.exr")
    distance = read(tmp_path / "wall" / "distance_0001.exr")
    assert depth.shape == (48, 64) and depth.dtype == np.float32
    assert (distance.max() - distance.min()) / distance.min() > 0.10
    np.testing.assert_allclose(depth, 5.0, rtol=2e-5)

    meta = json.loads((tmp_path / "wall" / "camera_0001.json").read_text())
    K = np.array(meta["K"])
    assert (meta["width"], meta["height"]) == (64, 48)
    np.testing.assert_allclose(K, submodule(td, "camera").BlenderCamera(
        lens=24, resolution_x=64, resolution_y=48).matrix(), rtol=1e-6)
    # Back-project the depth with K: the wall's points are coplanar at z = 5 (OpenCV camera frame).
    v, u = np.mgrid[0:48, 0:64]
    points = np.stack([(u - K[0, 2]) / K[0, 0] * depth, (v - K[1, 2]) / K[1, 1] * depth, depth], axis=-1)
    centred = points.reshape(-1, 3) - points.reshape(-1, 3).mean(axis=0)
    normal = np.linalg.svd(centred, full_matrices=False)[2][-1]
    assert np.max(np.abs(centred @ normal)) <= 2e-5 * 5.0  # the Z-pass jitter bound used above
    to_world = np.array(meta["camera_to_world_opencv"])
    assert np.allclose(to_world[:3, 2], [0, 0, -1])  # OpenCV +Z is Blender's view direction -Z


def test_example_never_overwrites_without_flag(td, tmp_path: Path) -> None:
    existing = tmp_path / "wall" / "depth_0001.exr"
    existing.parent.mkdir(parents=True)
    existing.write_bytes(b"precious")
    assert run_cli(td, "example", "--output", str(tmp_path), "--resolution", "16x12") == 1
    assert existing.read_bytes() == b"precious"
    assert not (tmp_path / "suzanne").exists()
    assert run_cli(td, "example", "--output", str(tmp_path), "--resolution", "16x12", "--overwrite") == 0
    assert existing.read_bytes() != b"precious"


@pytest.mark.parametrize("args", [["example", "--resolution", "12"], ["explode"], ["example", "--lens"]])
def test_bad_usage_exits_with_2(td, args: list[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        run_cli(td, *args)
    assert stop.value.code == 2


def test_summary_reads_exrs_without_openexr_like_with_it(td, tmp_path: Path, monkeypatch) -> None:
    """A user's Blender has no OpenEXR module: the CLI then reads its EXRs with Blender's loader."""
    assert run_cli(td, "example", "--output", str(tmp_path), "--resolution", "24x16") == 0
    cli, exr = submodule(td, "cli"), submodule(td, "exr")
    path = tmp_path / "suzanne" / "depth_0001.exr"
    with_openexr = cli._read_exr(path)

    def no_openexr(_path):
        raise ImportError("No module named 'OpenEXR'")

    monkeypatch.setattr(exr, "read_single_channel", no_openexr)
    without_openexr = cli._read_exr(path)
    assert without_openexr.shape == with_openexr.shape == (16, 24)
    assert np.array_equal(without_openexr, with_openexr)
