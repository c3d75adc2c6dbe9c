"""The flow of rays that hit nothing, against far points projected by a plain pinhole formula."""

from __future__ import annotations

import numpy as np
import pytest

from depth_node.core.flow.infinity import (
    has_rays,
    infinity_flow,
    lands_on_image,
    pixel_directions,
    pixel_rays,
    project_points,
    with_background,
)

from ..samples import rotation_about


def sidecar(K: np.ndarray, to_world: np.ndarray, projection: str = "PERSP", size: tuple[int, int] = (7, 5)) -> dict:
    return {"K": K.tolist(), "camera_to_world_opencv": to_world.tolist(), "projection": projection,
            "width": size[0], "height": size[1]}


def pose(rotation: np.ndarray, origin: tuple[float, float, float]) -> np.ndarray:
    to_world = np.eye(4)
    to_world[:3, :3], to_world[:3, 3] = rotation, origin
    return to_world


K1 = np.array([[9.0, 0.0, 3.2], [0.0, 8.0, 1.9], [0.0, 0.0, 1.0]])
K2 = np.array([[10.0, 0.5, 2.8], [0.0, 11.0, 2.3], [0.0, 0.0, 1.0]])


def project(K: np.ndarray, to_world: np.ndarray, point: np.ndarray) -> np.ndarray:
    camera = (point - to_world[:3, 3]) @ to_world[:3, :3]
    return (camera @ K.T)[..., :2] / (camera @ K.T)[..., 2:]


def test_a_direction_moves_as_a_very_far_point() -> None:
    first = pose(rotation_about([0.2, 1.0, 0.1], 0.1), (0.0, 0.0, 0.0))
    second = pose(rotation_about([1.0, 0.3, 0.0], 0.15), (5.0, -3.0, 2.0))
    meta, other = sidecar(K1, first), sidecar(K2, second)
    directions = pixel_directions(meta)
    rows, columns = np.mgrid[0:5, 0:7]
    assert np.allclose(project(K1, first, directions * 1e3), np.stack([columns, rows], -1), atol=1e-9)
    far = directions / np.linalg.norm(directions, axis=-1, keepdims=True) * 1e12
    want = project(K2, second, far) - np.stack([columns, rows], -1)
    uv, ahead = infinity_flow(meta, other)
    assert ahead.all()
    assert np.abs(uv - want).max() < 1e-6
    assert np.abs(uv).max() > 1  # the rotation moves it


def test_directions_behind_the_other_camera_are_not_ahead() -> None:
    meta = sidecar(K1, pose(np.eye(3), (0, 0, 0)))
    turned = sidecar(K1, pose(rotation_about([0.0, 1.0, 0.0], np.pi), (0, 0, 0)))
    uv, ahead = infinity_flow(meta, turned)
    assert not ahead.any() and not uv.any()
    sideways = sidecar(K1, pose(rotation_about([0.0, 1.0, 0.0], np.pi / 2 - 0.02), (0, 0, 0)))
    _, ahead = infinity_flow(meta, sideways)
    assert ahead.any() and not ahead.all()


def test_no_orthographic_sidecars() -> None:
    meta = sidecar(K1, np.eye(4))
    for first, second in ((sidecar(K1, np.eye(4), "ORTHO"), meta), (meta, sidecar(K1, np.eye(4), "ORTHO"))):
        with pytest.raises(ValueError, match="only in a perspective or panoramic camera, not ORTHO"):
            infinity_flow(first, second)


def test_pixel_rays_go_through_their_pixel_centres() -> None:
    to_world = pose(rotation_about([0.3, 0.2, 1.0], 0.4), (1.0, 2.0, 3.0))
    rows, columns = np.mgrid[0:5, 0:7]
    starts, directions = pixel_rays(sidecar(K2, to_world))
    assert np.allclose(np.linalg.norm(directions, axis=-1), 1.0)
    assert np.allclose(starts, to_world[:3, 3])
    assert np.allclose(project(K2, to_world, starts + 4.0 * directions), np.stack([columns, rows], -1))
    starts, directions = pixel_rays(sidecar(K2, to_world, "ORTHO"))
    assert np.allclose(directions, to_world[:3, 2])
    camera = (starts - to_world[:3, 3]) @ to_world[:3, :3]
    assert np.allclose(camera[..., 2], 0.0)
    ty = (rows - K2[1, 2]) / K2[1, 1]
    assert np.allclose(camera[..., 1], ty)
    assert np.allclose(camera[..., 0], (columns - K2[0, 2] - K2[0, 1] * ty) / K2[0, 0])


def test_a_sidecar_without_projection_is_perspective() -> None:
    meta = sidecar(K1, pose(np.eye(3), (0, 0, 0)))
    del meta["projection"]
    turned = sidecar(K1, pose(rotation_about([0.0, 1.0, 0.0], 0.05), (0, 0, 0)))
    del turned["projection"]
    uv, ahead = infinity_flow(meta, turned)
    assert ahead.all() and np.abs(uv).max() > 0.1
    starts, directions = pixel_rays(meta)
    assert np.allclose(starts, 0.0) and not np.allclose(directions, directions[0, 0])


def test_directions_exactly_sideways_are_not_ahead() -> None:
    meta = sidecar(np.eye(3), pose(np.eye(3), (0, 0, 0)), size=(1, 1))  # the one pixel looks along +z
    exactly = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])  # its view axis is world x
    sideways = sidecar(K1, pose(exactly, (0, 0, 0)))
    uv, ahead = infinity_flow(meta, sideways)
    assert not ahead.any() and uv.tolist() == [[[0.0, 0.0]]]


def test_with_background_replaces_only_the_sky() -> None:
    first = pose(rotation_about([0.2, 1.0, 0.1], 0.1), (0.0, 0.0, 0.0))
    second = pose(rotation_about([1.0, 0.3, 0.0], 0.15), (5.0, -3.0, 2.0))
    meta, other = sidecar(K1, first), sidecar(K2, second)
    uv = np.full((5, 7, 2), 7.0)
    background = np.zeros((5, 7), dtype=bool)
    background[1:3, 2:6] = True
    merged, ahead = with_background(uv, background, meta, other)
    want, want_ahead = infinity_flow(meta, other)
    assert np.array_equal(merged[background], want[background])
    assert np.array_equal(merged[~background], uv[~background])
    assert np.array_equal(ahead, want_ahead)


def test_with_background_of_an_orthographic_camera_is_zero_and_never_ahead() -> None:
    meta = sidecar(K1, np.eye(4), "ORTHO")
    uv = np.full((5, 7, 2), 3.0)
    background = np.zeros((5, 7), dtype=bool)
    background[0, :4] = True
    merged, ahead = with_background(uv, background, meta, sidecar(K1, np.eye(4), "ORTHO"))
    assert merged.dtype == np.float64
    assert not merged[background].any() and (merged[~background] == 3.0).all()
    assert np.array_equal(ahead, ~background)


def test_with_background_takes_a_sidecar_without_projection_as_perspective() -> None:
    meta = sidecar(K1, np.eye(4))
    del meta["projection"]
    other = sidecar(K1, pose(rotation_about([0.0, 1.0, 0.0], 0.1), (0, 0, 0)))
    merged, _ = with_background(np.zeros((5, 7, 2)), np.ones((5, 7), dtype=bool), meta, other)
    assert np.abs(merged).max() > 0.5


def panorama_sidecar(to_world_opencv: np.ndarray, panorama_type: str = "EQUIRECTANGULAR", width: int = 24,
                     height: int = 12, **settings) -> dict:
    from depth_node.core.camera import BlenderCamera

    camera = BlenderCamera.from_settings(projection="PANO", panorama_type=panorama_type, resolution_x=width,
                                         resolution_y=height, **settings)
    return {"K": None, "projection": "PANO", "width": width, "height": height, "camera_model": camera.settings(),
            "camera_to_world_opencv": to_world_opencv.tolist()}


def test_a_panorama_turned_by_one_pixel_of_longitude_moves_the_sky_by_one_pixel() -> None:
    """Equirectangular, 24 columns over 360 degrees: the camera turned right (about its up axis) by 15 degrees
    sees every direction one column further left; the seam wraps."""
    meta = panorama_sidecar(np.eye(4))
    turned = pose(rotation_about([0.0, 1.0, 0.0], 2 * np.pi / 24), (3.0, 1.0, -2.0))  # about OpenCV y: down
    uv, ahead = infinity_flow(meta, panorama_sidecar(turned))
    assert ahead.all()
    columns = np.arange(24)[np.newaxis, :].repeat(12, axis=0)
    want = np.where(columns == 0, 23.0, -1.0)
    np.testing.assert_allclose(uv[..., 0], want, atol=1e-6)
    np.testing.assert_allclose(uv[..., 1], 0.0, atol=1e-6)


def test_a_panoramas_rays_are_its_models_turned_to_the_world() -> None:
    from depth_node.core.camera import BlenderCamera

    to_world = pose(rotation_about([0.3, 1.0, 0.2], 0.7), (1.0, 2.0, 3.0))
    meta = panorama_sidecar(to_world, "FISHEYE_EQUIDISTANT", 9, 9, fisheye_fov=np.pi)
    camera = BlenderCamera.from_settings(**meta["camera_model"])
    units, valid = camera.model.unit_directions(camera, (9, 9))
    blender_to_world = to_world[:3, :3] @ np.diag([1.0, -1.0, -1.0])
    starts, directions = pixel_rays(meta)
    assert np.array_equal(has_rays(meta), valid) and 0 < valid.sum() < 81
    np.testing.assert_allclose(directions[valid], units[valid] @ blender_to_world.T, atol=1e-12)
    assert not directions[~valid].any() and np.allclose(starts, to_world[:3, 3])
    centre_ray = directions[4, 4]
    np.testing.assert_allclose(centre_ray, to_world[:3, 2], atol=1e-12)  # the OpenCV view axis


def test_landing_on_a_fisheye_needs_its_circle_and_a_pinhole_its_frame() -> None:
    fisheye = panorama_sidecar(np.eye(4), "FISHEYE_EQUIDISTANT", 9, 9, fisheye_fov=np.pi)
    uv = np.zeros((9, 9, 2))
    assert np.array_equal(lands_on_image(fisheye, uv), has_rays(fisheye))
    uv[4, 4] = (4.4, 0.0)  # to the rim's pixel (4, 8): inside the square, on the circle
    uv[4, 3] = (5.6, 0.0)  # off the image
    landed = lands_on_image(fisheye, uv)
    assert landed[4, 4] and not landed[4, 3]
    pinhole = sidecar(K1, np.eye(4), size=(9, 9))
    assert lands_on_image(pinhole, np.zeros((9, 9, 2))).all()
    assert not lands_on_image(pinhole, np.full((9, 9, 2), 9.0)).any()


def test_a_direction_off_a_panoramas_formula_gets_no_flow() -> None:
    meta = sidecar(K1, np.eye(4))
    ball = panorama_sidecar(pose(rotation_about([0.0, 1.0, 0.0], np.pi), (0, 0, 0)), "FISHEYE_EQUISOLID", 9, 9,
                            fisheye_lens=4.0, fisheye_fov=np.pi / 2)
    uv, ahead = infinity_flow(meta, ball)  # the pinhole looks away from the fisheye's axis
    assert not ahead.any() and np.isfinite(uv).all()


RADTAN = (-0.2, 0.05, 0.001, -0.001, 0.0)


def calibrated_sidecar(to_world: np.ndarray, coefficients: tuple[float, ...] = RADTAN) -> dict:
    from depth_node.core.calibration import Calibration

    calibration = Calibration(16, 12, 10.0, 11.0, 7.5, 5.25, model="radtan", coefficients=coefficients)
    return {**calibration.to_dict(), "projection": "PERSP", "camera_to_world_opencv": to_world.tolist()}


def test_a_calibrated_camera_images_points_as_opencv_does() -> None:
    import cv2

    to_world = pose(rotation_about([0.2, 1.0, 0.1], 0.3), (1.0, -0.5, 2.0))
    meta = calibrated_sidecar(to_world)
    rng = np.random.default_rng(3)
    local = np.stack([rng.uniform(-1.2, 1.2, 50), rng.uniform(-0.9, 0.9, 50), rng.uniform(1.0, 9.0, 50)], -1)
    local[:, :2] *= local[:, 2:]
    points = local @ to_world[:3, :3].T + to_world[:3, 3]
    positions, seen = project_points(meta, points)
    want, _ = cv2.projectPoints(local.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), np.asarray(meta["K"]),
                                np.array(RADTAN))
    np.testing.assert_allclose(positions, want.reshape(-1, 2), atol=1e-9)
    inside = ((want[:, 0, 0] >= -0.5) & (want[:, 0, 0] < 15.5) & (want[:, 0, 1] >= -0.5) & (want[:, 0, 1] < 11.5))
    assert np.array_equal(seen, inside) and 10 < seen.sum() < 50
    behind = points - 2 * (local[:, 2:] * to_world[:3, 2])  # mirrored through the camera plane
    assert not project_points(meta, behind)[1].any()


def test_a_calibrated_pixels_rays_are_opencvs_undistorted_centres() -> None:
    import cv2

    to_world = pose(rotation_about([0.0, 1.0, 0.0], 0.4), (0.0, 0.0, 0.0))
    meta = calibrated_sidecar(to_world)
    rows, columns = np.mgrid[0:12, 0:16].astype(np.float64)
    undistorted = cv2.undistortPointsIter(np.stack([columns, rows], -1).reshape(-1, 1, 2), np.asarray(meta["K"]),
                                          np.array(RADTAN), None, None,
                                          (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-14))
    rays = np.concatenate([undistorted.reshape(12, 16, 2), np.ones((12, 16, 1))], -1) @ to_world[:3, :3].T
    directions = pixel_directions(meta)
    np.testing.assert_allclose(directions, rays / np.linalg.norm(rays, axis=-1, keepdims=True), atol=1e-9)
    assert has_rays(meta).all()


def test_a_calibrated_sky_moves_as_the_other_calibration_images_its_directions() -> None:
    import cv2

    meta = calibrated_sidecar(np.eye(4))
    turned = pose(rotation_about([0.1, 1.0, 0.0], 0.05), (4.0, 0.0, 0.0))
    uv, ahead = infinity_flow(meta, calibrated_sidecar(turned))
    directions = pixel_directions(meta)
    local = directions @ turned[:3, :3]
    want, _ = cv2.projectPoints(local.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), np.asarray(meta["K"]),
                                np.array(RADTAN))
    rows, columns = np.mgrid[0:12, 0:16].astype(np.float64)
    np.testing.assert_allclose(uv, want.reshape(12, 16, 2) - np.stack([columns, rows], -1), atol=1e-8)
    assert ahead.any() and not ahead.all(), "the turn moves some directions off the image"


def test_a_point_the_radial_model_folds_back_into_the_image_is_not_seen() -> None:
    """k1 = -0.5: r (1 - 0.5 r^2) peaks at r = 0.82, so a point at r = 1.3 lands at r_d = 0.20, inside the image,
    where the camera's ray (r = 0.21) is another one."""
    meta = calibrated_sidecar(np.eye(4), (-0.5, 0.0, 0.0, 0.0, 0.0))
    positions, seen = project_points(meta, np.array([[1.3, 0.0, 1.0], [0.21, 0.0, 1.0]]))
    assert -0.5 <= positions[0, 0] < 15.5 and -0.5 <= positions[0, 1] < 11.5
    assert seen.tolist() == [False, True]


def test_a_calibrations_pixels_beyond_the_radius_it_inverts_have_no_ray_and_no_flow() -> None:
    """k1 = -0.5 inverts distorted radii up to 0.544: the image's corners (radius 0.9) have no ray."""
    meta = calibrated_sidecar(np.eye(4), (-0.5, 0.0, 0.0, 0.0, 0.0))
    rays = has_rays(meta)
    assert rays.shape == (12, 16) and rays[6, 8] and not rays[0, 0] and not rays[11, 15] and 0.3 < rays.mean() < 0.9
    directions = pixel_directions(meta)
    assert not directions[~rays].any() and np.allclose(np.linalg.norm(directions[rays], axis=-1), 1.0)
    uv, ahead = infinity_flow(meta, calibrated_sidecar(pose(rotation_about([0, 1, 0], 0.02), (0, 0, 0))))
    assert not uv[~rays].any() and not ahead[~rays].any() and ahead[rays].mean() > 0.5


def test_a_calibrated_sky_behind_the_other_camera_has_no_flow() -> None:
    meta = calibrated_sidecar(np.eye(4))
    uv, ahead = infinity_flow(meta, calibrated_sidecar(pose(rotation_about([0, 1, 0], np.pi), (0, 0, 0))))
    assert not ahead.any() and not uv.any()


def pinhole_calibration(to_world: np.ndarray) -> dict:
    from depth_node.core.calibration import Calibration

    calibration = Calibration(16, 12, 8.0, 8.0, 7.5, 5.5, model="radtan", coefficients=(0.0, 0.0, 0.0, 0.0, 0.0))
    return {**calibration.to_dict(), "projection": "PERSP", "camera_to_world_opencv": to_world.tolist()}


def test_a_calibrated_image_holds_its_pixel_squares_left_and_top_edges_not_right_and_bottom() -> None:
    meta = pinhole_calibration(np.eye(4))  # x = 8 X / Z + 7.5, y = 8 Y / Z + 5.5: the edges are exact
    points = np.array([[-1.0, 0.0, 1.0], [1.0, 0.0, 1.0], [0.0, -0.75, 1.0], [0.0, 0.75, 1.0], [-0.999, 0.0, 1.0]])
    positions, seen = project_points(meta, points)
    np.testing.assert_allclose(positions[:4], [[-0.5, 5.5], [15.5, 5.5], [7.5, -0.5], [7.5, 11.5]], atol=1e-12)
    assert seen.tolist() == [True, False, True, False, True]


def test_a_calibrated_camera_sees_near_points_but_not_its_own_centre() -> None:
    to_world = pose(rotation_about([0.3, 1.0, 0.0], 0.2), (1.0, 2.0, 3.0))
    meta = pinhole_calibration(to_world)
    near = to_world[:3, 3] + to_world[:3, 2] * 0.25 + to_world[:3, 0] * 0.05
    positions, seen = project_points(meta, np.array([near, to_world[:3, 3]]))
    assert seen.tolist() == [True, False]
    np.testing.assert_allclose(positions[0], [8 * 0.2 + 7.5, 5.5], atol=1e-9)


def test_landing_on_a_panorama_adds_the_flow_to_the_pixel_in_both_axes() -> None:
    fisheye = panorama_sidecar(np.eye(4), "FISHEYE_EQUIDISTANT", 9, 9, fisheye_fov=np.pi)
    uv = np.zeros((9, 9, 2))
    uv[4, 0] = (4.4, 0.0)  # from the rim's left pixel to near the centre; minus the flow would leave the image
    uv[0, 4] = (0.0, 4.4)
    landed = lands_on_image(fisheye, uv)
    assert landed[4, 0] and landed[0, 4]
