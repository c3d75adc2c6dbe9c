"""Behaviours the mutation survivors of exports, camera, sidecar and pointcloud showed untested: names of frame
files, refusal messages, nested output folders, panoramic sidecars, calibrated point clouds with folded rays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_killing_exports import RATIONAL, camera, pose

from depth_node.core.calibration import Calibration
from depth_node.core.camera import BlenderCamera
from depth_node.core.outputs import exports
from depth_node.core.outputs.pointcloud import calibrated_points
from depth_node.core.outputs.sidecar import camera_metadata


@pytest.mark.parametrize(("pattern", "frame", "view", "expected"), [
    ("f#.png", 7, "", "f7.png"),
    ("f#.png", 12, "", "f12.png"),
    ("scan.v2.####.exr", 3, "_L", "scan.v2.0003_L.exr"),
    ("depth_##", 5, "_R", "depth_05_R"),
    ("plain.png", 9, "_R", "plain_R.png"),
])
def test_image_names_pad_the_frame_to_the_hashes_and_put_the_view_before_the_last_extension(
        pattern: str, frame: int, view: str, expected: str) -> None:
    assert exports.image_name(pattern, frame, view) == expected


def test_colmap_makes_missing_parent_folders(tmp_path: Path) -> None:
    meta = camera([[50.0, 0.0, 31.5], [0.0, 50.0, 23.5], [0.0, 0.0, 1.0]], pose(np.eye(3), np.zeros(3)))
    paths = exports.write_colmap(tmp_path / "new" / "deeper" / "sparse", [exports.Record(1, "", meta, None)], None)
    assert [path.name for path in paths] == ["cameras.txt", "images.txt", "points3D.txt"]
    assert all(path.is_file() for path in paths)


def test_refusals_say_what_is_wrong() -> None:
    pano = {"K": None, "projection": "PANO", "width": 8, "height": 8}
    with pytest.raises(ValueError, match=r"^a PANO camera has no pinhole model; COLMAP and nerfstudio files need "
                                         r"perspective cameras$"):
        exports.nerfstudio_camera(pano)
    rational = camera([[50.0, 0.0, 31.5], [0.0, 50.0, 23.5], [0.0, 0.0, 1.0]], pose(np.eye(3), np.zeros(3)),
                      RATIONAL)
    with pytest.raises(ValueError, match=r"^nerfstudio's OPENCV model has no rational coefficients \(k4, k5, k6 of "
                                         r"OpenCV's 8-term model\)$"):
        exports.nerfstudio_camera(rational)
    with pytest.raises(ValueError, match=r"dividing by K\[2\]\[2\]\): a Blender camera has none and cannot "
                                         r"represent it$"):
        BlenderCamera.from_matrix([[50.0, 2.0, 10.0], [0.0, 50.0, 8.0], [0.0, 0.0, 2.0]], 20, 16)
    for width, height, name in ((0, 16, "width"), (20, 2.5, "height")):
        with pytest.raises(ValueError, match=rf"^{name} must be a positive integer, got "):
            BlenderCamera.from_matrix(np.eye(3), width, height)
    with pytest.raises(TypeError, match=r"^unknown camera settings \['bogus', 'lense'\]$"):
        BlenderCamera.from_settings(lense=50.0, bogus=1)
    fisheye = BlenderCamera.from_settings(projection="PANO", panorama_type="FISHEYE_EQUIDISTANT")
    with pytest.raises(ValueError, match=r"^a fisheye equidistant camera has no pinhole matrix K$"):
        fisheye.matrix()


def test_a_panoramic_sidecar_has_no_K_and_names_its_model_and_parameters() -> None:
    fisheye = BlenderCamera.from_settings(projection="PANO", panorama_type="FISHEYE_EQUISOLID", fisheye_fov=2.5,
                                          fisheye_lens=7.0, resolution_x=40, resolution_y=30)
    meta = camera_metadata(fisheye, np.eye(4), 0.1, 100.0, 1.0)
    assert meta["K"] is None and meta["projection"] == "PANO"
    model = meta["projection_model"]
    assert model["panorama_type"] == "FISHEYE_EQUISOLID"
    assert model["parameters"]["fisheye_fov"] == 2.5 and model["parameters"]["fisheye_lens"] == 7.0


def test_calibrated_points_keep_every_pixel_with_a_ray_and_drop_folded_ones() -> None:
    # k1 this negative folds the model over near the corners: those pixels have no ray (NaN)
    folded = Calibration(41, 31, 30.0, 30.0, 20.0, 15.0, "radtan", (-0.6, 0.0, 0.0, 0.0, 0.0))
    rays = folded.pixel_rays()
    has_ray = np.isfinite(rays).all(axis=-1)
    assert 0 < (~has_ray).sum() < has_ray.sum(), "the fixture must fold somewhere, not everywhere"
    assert np.array_equal(rays[15, 20], [0.0, 0.0, 1.0]), "the principal point is a pixel centre: its ray is +z"
    depth = np.full((31, 41), 2.0)
    points = calibrated_points(depth, folded)
    assert len(points) == has_ray.sum()
    np.testing.assert_allclose(points[:, 2], 2.0)
    expected = rays[has_ray] * (2.0 / rays[has_ray][:, 2:3])
    np.testing.assert_allclose(points, expected, rtol=1e-12)


def test_panoramic_projections_refuse_a_pinhole_K_by_name() -> None:
    from depth_node.core import projections
    from depth_node.core.reference import distance_to_depth, unproject

    K = np.array([[10.0, 0.0, 3.5], [0.0, 10.0, 2.5], [0.0, 0.0, 1.0]])
    needs = r"^a mirror ball camera needs its camera settings, not K: pass the BlenderCamera$"
    with pytest.raises(ValueError, match=needs):
        distance_to_depth(np.ones((6, 8)), K, "MIRRORBALL")
    with pytest.raises(ValueError, match=needs):
        unproject(np.ones((6, 8)), K, "MIRRORBALL", np.array([1]), np.array([2]))
    with pytest.raises(ValueError, match=r"^a equirectangular camera has no pinhole view extent$"):
        projections.get("EQUIRECTANGULAR").view_extent(BlenderCamera.from_settings().lens)
    with pytest.raises(ValueError, match=r"^no projection models camera type 'EQUIRECTANGULAR'$"):
        projections.for_camera("EQUIRECTANGULAR")  # a panorama type where Blender's camera type belongs


@pytest.mark.parametrize(("members", "variant"), [
    (["PERSP"], "perspective"), (["ORTHO"], "pinhole"), (["PERSP", "ORTHO"], "pinhole"),
    (["MIRRORBALL"], "panoramic"), (["PERSP", "FISHEYE_EQUIDISTANT"], "panoramic"), ([], "perspective"),
])
def test_the_smallest_group_variant_that_holds_the_cameras_is_chosen(members: list[str], variant: str) -> None:
    from depth_node.core import projections

    assert projections.variant_for([projections.get(name) for name in members]) == variant


def test_a_fisheye_ray_exactly_on_the_image_circle_keeps_its_azimuth() -> None:
    """Pixel (0, 1) of a 2x1 frame shifted by a quarter lies exactly on the rim (r = 1) on the +x axis: its ray is
    fov / 2 off the axis towards +x (Cycles' fisheye_to_direction)."""
    camera = BlenderCamera.from_settings(projection="PANO", panorama_type="FISHEYE_EQUIDISTANT", fisheye_fov=2.0,
                                         resolution_x=2, resolution_y=1, shift_x=0.25)
    points = camera.model.unproject_camera(camera, np.array([0]), np.array([1]), np.array([3.0]))
    theta = 1.0  # fov / 2 at r = 1
    np.testing.assert_allclose(points, [[3.0 * np.tan(theta), 0.0, 3.0]], atol=1e-12)
