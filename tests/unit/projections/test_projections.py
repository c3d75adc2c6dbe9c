"""Camera projections (core/projections/): each model's rays against OpenCV and Cycles' formulas, rims and
folds, the registry's group variants and refusals."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from depth_node.core import projections
from depth_node.core.camera import BlenderCamera
from depth_node.core.projections.base import normalized_offsets
from depth_node.core.projections.panoramic import sensor_mm
from depth_node.core.reference import distance_to_depth, unproject

FORWARD = np.array([0.0, 0.0, -1.0])


OPENCV = np.array([1.0, -1.0, -1.0])


# no shrinking: a failure is reported as found (keeps mutation runs fast)
PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                    phases=[Phase.explicit, Phase.generate])


def fractions(camera: BlenderCamera) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of every pixel, HxW each, from the convention above (no crop)."""
    height, width = camera.height, camera.width
    rows, columns = np.indices((height, width), dtype=np.float64)
    return (camera.lens.shift_x + (columns + 0.5) / width,
            camera.lens.shift_y + (height - 1 - rows + 0.5) / height)


def rotate(rvec, vector: np.ndarray) -> np.ndarray:
    return cv2.Rodrigues(np.asarray(rvec, dtype=np.float64).reshape(3, 1))[0] @ vector


def radial_direction(a: float, c: float, theta: float) -> np.ndarray:
    """Forward tilted by ``theta`` towards the image direction (a, c): a rotation about (sin phi, -cos phi, 0)."""
    phi = math.atan2(c, a)
    return rotate(theta * np.array([math.sin(phi), -math.cos(phi), 0.0]), FORWARD)


def rays_of(camera: BlenderCamera) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit rays (Blender axes) of every pixel from the code under test via unproject, plus the points and
    the mask of pixels that got one (unproject drops the others)."""
    rows, columns = (index.ravel() for index in np.indices((camera.height, camera.width)))
    depth = np.random.default_rng(0).uniform(0.5, 20.0, rows.size)
    points = unproject(depth, camera, camera.projection, rows, columns)
    b, valid = camera.model.unit_directions(camera, (camera.height, camera.width))
    kept = (valid & (b[..., 2] != 0)).ravel()
    np.testing.assert_allclose(points[:, 2], depth[kept], rtol=1e-12)  # planar depth is the OpenCV z
    rays = points * OPENCV
    rays /= np.linalg.norm(rays, axis=1, keepdims=True)
    return rays, kept.reshape(camera.height, camera.width), b


def facing(rays: np.ndarray) -> np.ndarray:
    """Rays turned to the half space in front of the camera: a positive depth on a backward ray (cos < 0)
    puts its point on the opposite ray, in front of the camera."""
    return rays * np.sign(-rays[..., 2:3])


def pano(panorama_type: str, **settings_) -> BlenderCamera:
    return BlenderCamera.from_settings(projection="PANO", panorama_type=panorama_type, **settings_)


def equisolid(u: float, v: float, lens: float, fov: float) -> tuple:
    """theta = 2 asin(r / (2 lens)); the image circle is where theta <= fov / 2."""
    r = math.hypot(u, v)
    return u, v, 2 * math.asin(min(r / (2 * lens), 1.0)), r <= 2 * lens * math.sin(fov / 4)


FISHEYES = {
    "FISHEYE_EQUIDISTANT": (dict(fisheye_fov=3.9), lambda a, c, cam: (2 * a, 2 * c, math.hypot(2 * a, 2 * c) * 1.95,
                                                                      math.hypot(2 * a, 2 * c) <= 1)),
    "FISHEYE_EQUISOLID": (dict(fisheye_lens=7.0, fisheye_fov=3.4, sensor_width=30.0, sensor_fit="HORIZONTAL"),
                          lambda a, c, cam: equisolid(30 * a, 30 * c * cam.height / cam.width, 7.0, 3.4)),
    "FISHEYE_LENS_POLYNOMIAL": (dict(fisheye_polynomial_k0=0.0, fisheye_polynomial_k1=-0.09,
                                     fisheye_polynomial_k2=1e-4, fisheye_polynomial_k3=0.0,
                                     fisheye_polynomial_k4=0.0, fisheye_fov=3.0, sensor_width=36.0,
                                     sensor_fit="HORIZONTAL"),
                                lambda a, c, cam: (36 * a, 36 * c * cam.height / cam.width,
                                                   0.09 * math.hypot(36 * a, 36 * c * cam.height / cam.width)
                                                   - 1e-4 * math.hypot(36 * a, 36 * c * cam.height / cam.width) ** 2,
                                                   None)),
}


# The rims: one pixel exactly on the image circle, one just beyond (W = 2, H = 1, shift 0.25: the second
# pixel's x is exactly 1).
RIMS = {
    "MIRRORBALL": {},
    "FISHEYE_EQUIDISTANT": dict(fisheye_fov=2.5),
    "FISHEYE_EQUISOLID": dict(fisheye_lens=9.0, fisheye_fov=2 * math.pi, sensor_width=36.0,
                              sensor_fit="HORIZONTAL"),  # r = 18 mm = 2 lens sin(fov / 4)
    "FISHEYE_LENS_POLYNOMIAL": dict(fisheye_polynomial_k0=0.0, fisheye_polynomial_k1=-0.125,
                                    fisheye_polynomial_k2=0.0, fisheye_polynomial_k3=0.0,
                                    fisheye_polynomial_k4=0.0, fisheye_fov=4.5, sensor_width=36.0,
                                    sensor_fit="HORIZONTAL"),  # theta = 18 / 8 = fov / 2
}


@PROPERTY
@given(lat=st.tuples(st.floats(-1.5, 0.0), st.floats(0.1, 1.5)), lon=st.tuples(st.floats(-3.0, 0.0),
                                                                                  st.floats(0.1, 3.0)),
       shift=st.tuples(st.floats(-0.2, 0.2), st.floats(-0.2, 0.2)))
def test_equirectangular_rays_are_the_forward_axis_turned_by_longitude_then_latitude(lat, lon, shift) -> None:
    camera = pano("EQUIRECTANGULAR", latitude_min=lat[0], latitude_max=lat[1], longitude_min=lon[0],
                  longitude_max=lon[1], shift_x=shift[0], shift_y=shift[1], resolution_x=9, resolution_y=7)
    x, y = fractions(camera)
    rays, kept, _ = rays_of(camera)
    expected = np.empty((camera.height, camera.width, 3))
    for (row, column), fx in np.ndenumerate(x):
        longitude = lon[0] + fx * (lon[1] - lon[0])
        latitude = lat[0] + y[row, column] * (lat[1] - lat[0])
        # up by the latitude (about +x), then right by the longitude (about -y)
        expected[row, column] = rotate([0.0, -longitude, 0.0], rotate([latitude, 0.0, 0.0], FORWARD))
    np.testing.assert_allclose(rays, facing(expected[kept]), atol=1e-9)


def test_equirectangular_top_row_looks_up_and_right_column_looks_right() -> None:
    camera = pano("EQUIRECTANGULAR", latitude_min=-1.0, latitude_max=1.0, longitude_min=-1.0, longitude_max=1.0,
                  resolution_x=5, resolution_y=5)
    rays, kept, _ = rays_of(camera)
    rays = rays.reshape(5, 5, 3)
    assert kept.all()
    assert (rays[0, :, 1] > 0.3).all() and (rays[-1, :, 1] < -0.3).all()
    assert (rays[:, -1, 0] > 0.3).all() and (rays[:, 0, 0] < -0.3).all()
    np.testing.assert_allclose(rays[2, 2], FORWARD, atol=1e-15)


def test_cubemap_face_angles_grow_linearly_across_the_face() -> None:
    camera = pano("EQUIANGULAR_CUBEMAP_FACE", resolution_x=8, resolution_y=6, shift_x=0.05, shift_y=-0.1)
    x, y = fractions(camera)
    rays, kept, _ = rays_of(camera)
    assert kept.all()
    rays = rays.reshape(6, 8, 3)
    np.testing.assert_allclose(np.arctan2(rays[..., 0], -rays[..., 2]), (x - 0.5) * np.pi / 2, atol=1e-12)
    np.testing.assert_allclose(np.arctan2(rays[..., 1], -rays[..., 2]), (y - 0.5) * np.pi / 2, atol=1e-12)


def test_central_cylindrical_rays_have_the_longitude_and_height_of_their_pixel() -> None:
    settings_ = dict(central_cylindrical_range_u_min=-2.0, central_cylindrical_range_u_max=1.0,
                     central_cylindrical_range_v_min=-0.5, central_cylindrical_range_v_max=1.5,
                     central_cylindrical_radius=1.5)
    camera = pano("CENTRAL_CYLINDRICAL", resolution_x=9, resolution_y=5, shift_y=0.1, **settings_)
    x, y = fractions(camera)
    b, valid = camera.model.unit_directions(camera, (5, 9))
    assert valid.all()
    np.testing.assert_allclose(np.linalg.norm(b, axis=-1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(np.arctan2(b[..., 0], -b[..., 2]), -2.0 + 3.0 * x, atol=1e-12)
    np.testing.assert_allclose(b[..., 1] / np.hypot(b[..., 0], b[..., 2]), (-0.5 + 2.0 * y) / 1.5, atol=1e-12)


def test_mirror_ball_rays_are_reflections_on_the_ball() -> None:
    camera = pano("MIRRORBALL", resolution_x=11, resolution_y=9, shift_x=0.02)
    x, y = fractions(camera)
    rays, kept, b = rays_of(camera)
    expected = []
    for (row, column), fx in np.ndenumerate(x):
        a, c = 2 * fx - 1, 2 * y[row, column] - 1
        if a * a + c * c > 1:
            assert not kept[row, column]
            np.testing.assert_array_equal(b[row, column], 0.0)  # no ray: a zero direction
            continue
        normal = np.array([a, c, -math.sqrt(1 - a * a - c * c)])  # the ball's surface, seen from behind
        expected.append((np.eye(3) - 2 * np.outer(normal, normal)) @ np.array([0.0, 0.0, 1.0]))
    assert 0 < kept.sum() < kept.size
    np.testing.assert_allclose(rays, facing(np.array(expected)), atol=1e-9)


@pytest.mark.parametrize("panorama_type", FISHEYES)
def test_fisheye_rays_tilt_towards_their_pixel_by_the_lens_angle(panorama_type: str) -> None:
    settings_, model = FISHEYES[panorama_type]
    camera = pano(panorama_type, resolution_x=13, resolution_y=9, shift_x=-0.03, shift_y=0.04, **settings_)
    x, y = fractions(camera)
    rays, kept, _ = rays_of(camera)
    expected = []
    for (row, column), fx in np.ndenumerate(x):
        u, v, theta, inside = model(fx - 0.5, y[row, column] - 0.5, camera)
        if inside is None:
            inside = abs(theta) <= 1.5
        assert kept[row, column] == inside, (row, column)
        if inside:
            expected.append(radial_direction(u, v, theta))
    assert 0 < kept.sum()
    np.testing.assert_allclose(rays, facing(np.array(expected)), atol=1e-9)
    assert (rays[:, 1] > 0.1).any() and (rays[:, 1] < -0.1).any()


def test_polynomial_fisheye_with_a_constant_term_tilts_its_centre_pixel_up() -> None:
    # Cycles takes phi = acos(0) (straight up) where r = 0: the centre ray is forward turned up by -k0
    camera = pano("FISHEYE_LENS_POLYNOMIAL", resolution_x=3, resolution_y=3, fisheye_polynomial_k0=-0.2,
                  fisheye_polynomial_k1=-0.01, fisheye_polynomial_k2=0.0, fisheye_polynomial_k3=0.0,
                  fisheye_polynomial_k4=0.0)
    b, valid = camera.model.unit_directions(camera, (3, 3))
    assert valid[1, 1]
    np.testing.assert_allclose(b[1, 1], rotate([0.2, 0.0, 0.0], FORWARD), atol=1e-15)


def test_sensor_mm_gives_the_fit_dimension_the_sensor_and_scales_the_other_by_the_displayed_frame() -> None:
    def mm(**settings_):
        return sensor_mm(pano("FISHEYE_EQUISOLID", sensor_width=36.0, sensor_height=24.0, **settings_))

    # 40 x 20 pixels drawn 1 x 1.5: a 40 x 30 frame; AUTO fits the larger, with the sensor width
    assert mm(resolution_x=40, resolution_y=20, pixel_aspect_y=1.5) == pytest.approx((36.0, 27.0), rel=1e-15)
    assert mm(resolution_x=20, resolution_y=40, pixel_aspect_x=1.5) == pytest.approx((27.0, 36.0), rel=1e-15)
    assert mm(resolution_x=40, resolution_y=20, pixel_aspect_y=1.5, sensor_fit="VERTICAL") == pytest.approx(
        (32.0, 24.0), rel=1e-15)
    assert mm(resolution_x=20, resolution_y=40, sensor_fit="HORIZONTAL") == pytest.approx((36.0, 72.0), rel=1e-15)
    assert mm(resolution_x=40, resolution_y=20, sensor_fit="VERTICAL") == pytest.approx((48.0, 24.0), rel=1e-15)


@pytest.mark.parametrize("panorama_type", RIMS)
def test_a_pixel_exactly_on_the_image_circle_has_a_ray_one_beyond_has_none(panorama_type: str) -> None:
    on = pano(panorama_type, resolution_x=2, resolution_y=1, shift_x=0.25, **RIMS[panorama_type])
    beyond = pano(panorama_type, resolution_x=2, resolution_y=1, shift_x=0.25 + 2 ** -20, **RIMS[panorama_type])
    assert on.model.unit_directions(on, (1, 2))[1].tolist() == [[True, True]]
    assert beyond.model.unit_directions(beyond, (1, 2))[1].tolist() == [[True, False]]
    depth = distance_to_depth(np.full((1, 2), 4.0), beyond)
    assert depth[0, 1] == 0.0 and depth[0, 0] != 0.0


@pytest.mark.parametrize("panorama_type", ["FISHEYE_EQUIDISTANT", "MIRRORBALL", "FISHEYE_EQUISOLID"])
def test_the_centre_pixel_looks_straight_ahead_depth_equals_distance(panorama_type: str) -> None:
    camera = pano(panorama_type, resolution_x=5, resolution_y=3)
    depth = distance_to_depth(np.full((3, 5), 7.5), camera)
    assert depth[1, 2] == 7.5
    points = unproject(np.array([7.5]), camera, "PANO", np.array([1]), np.array([2]))
    np.testing.assert_allclose(points, [[0.0, 0.0, 7.5]], atol=1e-15)


def test_panoramic_unproject_keeps_backward_rays_behind_the_camera_and_drops_the_others() -> None:
    # a 360 x 180 equirectangular image: the left and right columns look backwards
    camera = pano("EQUIRECTANGULAR", resolution_x=8, resolution_y=4)
    rows, columns = np.array([1, 1, 2]), np.array([0, 4, 7])
    depth = np.array([-2.0, 3.0, -1.0])
    points = unproject(depth, camera, "PANO", rows, columns)
    assert points.shape == (3, 3)
    np.testing.assert_allclose(points[:, 2], depth, rtol=1e-12)
    x, y = fractions(camera)
    for point, row, column in zip(points, rows, columns, strict=True):
        lon, lat = -math.pi + 2 * math.pi * x[row, column], -math.pi / 2 + math.pi * y[row, column]
        direction = rotate([0.0, -lon, 0.0], rotate([lat, 0.0, 0.0], FORWARD)) * OPENCV
        np.testing.assert_allclose(point, direction * point[2] / direction[2], rtol=1e-12, atol=1e-12)
    # a ray at exactly 90 degrees (cos 0) has no planar depth: dropped
    side = pano("EQUIRECTANGULAR", resolution_x=4, resolution_y=1, longitude_min=-math.pi / 2 - math.pi / 4,
                longitude_max=math.pi / 2 + math.pi / 4, latitude_min=-0.5, latitude_max=0.5)
    b, _ = side.model.unit_directions(side, (1, 4))
    kept = unproject(np.ones(4), side, "PANO", np.zeros(4, int), np.arange(4))
    assert len(kept) == int((b[0, :, 2] != 0).sum())


@pytest.mark.parametrize("projection", ["PERSP", "ORTHO"])
@pytest.mark.parametrize("seed", range(4))
def test_pinhole_unproject_inverts_the_projection_with_unequal_focal_lengths(projection: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    camera = BlenderCamera.from_settings(
        projection=projection, lens=float(rng.uniform(20, 80)), ortho_scale=float(rng.uniform(2, 9)),
        resolution_x=int(rng.integers(20, 50)), resolution_y=int(rng.integers(20, 50)),
        pixel_aspect_x=float(rng.uniform(1.0, 2.0)), pixel_aspect_y=float(rng.uniform(1.0, 2.0)),
        shift_x=float(rng.uniform(-0.3, 0.3)), shift_y=float(rng.uniform(-0.3, 0.3)))
    K = camera.matrix()
    assert abs(K[0, 0] - K[1, 1]) > 1e-3 * K[0, 0] and abs(K[0, 2] - K[1, 2]) > 1e-3
    rows, columns = rng.integers(0, camera.height, 30), rng.integers(0, camera.width, 30)
    depth = rng.uniform(1, 50, 30)
    for points in (unproject(depth, camera, projection, rows, columns), unproject(depth, K, projection, rows,
                                                                                  columns)):
        np.testing.assert_allclose(points[:, 2], depth, rtol=1e-14)
        if projection == "PERSP":
            pixels = cv2.projectPoints(points.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), K, None)[0]
            np.testing.assert_allclose(pixels.reshape(-1, 2), np.column_stack([columns, rows]), atol=1e-9)
        else:  # orthographic: x grows to the right, y downwards, both in scene units per K's scale
            np.testing.assert_allclose(points[:, 0] * K[0, 0] + K[0, 2], columns, atol=1e-9)
            np.testing.assert_allclose(points[:, 1] * K[1, 1] + K[1, 2], rows, atol=1e-9)


def test_orthographic_unproject_places_pixels_on_the_view_window() -> None:
    # a 6-unit-wide window over 12 x 8 pixels shifted by 0.1 of its width: pixel centres 0.5 units apart
    camera = BlenderCamera.from_settings(projection="ORTHO", ortho_scale=6.0, resolution_x=12, resolution_y=8,
                                         shift_x=0.1, shift_y=-0.05)
    rows, columns = np.array([0, 7, 3]), np.array([0, 11, 5])
    points = unproject(np.array([1.0, 2.0, 3.0]), camera, "ORTHO", rows, columns)
    x = -3.0 + 0.6 + (columns + 0.5) * 0.5
    y = 2.0 - 0.3 - (rows + 0.5) * 0.5  # camera y up; OpenCV's y is its negative
    np.testing.assert_allclose(points, np.column_stack([x, -y, [1.0, 2.0, 3.0]]), atol=1e-12)


@pytest.mark.parametrize("name", ["PERSP", "ORTHO"])
def test_pinhole_unproject_keeps_image_shaped_inputs_image_shaped(name: str) -> None:
    tx, ty = np.meshgrid(np.linspace(-1, 1, 4), np.linspace(-0.5, 0.5, 3))
    points = projections.get(name).unproject(tx, ty, np.full((3, 4), 2.0))
    assert points.shape == (3, 4, 3)
    np.testing.assert_allclose(points[..., 2], 2.0)
    np.testing.assert_allclose(points[..., 1] / (2.0 if name == "PERSP" else 1.0), ty)


@pytest.mark.parametrize("fx, fy", [(100.0, 0.0), (0.0, 100.0), (-1.0, 5.0), (5.0, -1.0), (np.nan, 1.0)])
def test_normalized_offsets_refuses_focal_lengths_that_are_not_positive(fx: float, fy: float) -> None:
    with pytest.raises(ValueError, match="positive focal lengths"):
        normalized_offsets(np.array([[fx, 0, 2], [0, fy, 2], [0, 0, 1]]), (4, 4))


def test_normalized_offsets_of_integer_matrix_are_exact_fractions() -> None:
    tx, ty = normalized_offsets([[4, 0, 1], [0, 8, 3], [0, 0, 1]], (3, 2))
    np.testing.assert_array_equal(tx, [[-0.25, 0.0]])
    np.testing.assert_array_equal(ty, [[-0.375], [-0.25], [-0.125]])


@pytest.mark.parametrize("name", projections.NAMES)
def test_the_sidecar_projection_model_names_the_model_and_its_settings(name: str) -> None:
    projection = projections.get(name)
    lens = (pano(name) if projection.camera_type == "PANO" else BlenderCamera.from_settings(projection=name)).lens
    described = projection.describe(lens)
    assert described["type"] == projection.camera_type
    if projection.camera_type == "PANO":
        assert set(described) == {"type", "panorama_type", "model", "parameters", "pixel"}
        assert described["panorama_type"] == name and described["model"] == projection.label
        assert described["parameters"] == {setting: getattr(lens, setting) for setting in projection.parameters}
        assert described["pixel"].startswith("x = shift_x + (full-frame column + 0.5) / W, y = shift_y + ")
        assert "kernel/camera/projection.h" in described["pixel"]
    else:
        assert set(described) == {"type", "model", "ray"}
        assert described["model"] == {"PERSP": "pinhole", "ORTHO": "orthographic"}[name]
        assert "((x - cx) / fx, (y - cy) / fy, " in described["ray"]


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


PANORAMA_SETTINGS = {
    "EQUIRECTANGULAR": {"latitude_min": -1.2, "latitude_max": 1.4, "longitude_min": -2.5, "longitude_max": 2.9},
    "EQUIANGULAR_CUBEMAP_FACE": {},
    "MIRRORBALL": {},
    "FISHEYE_EQUIDISTANT": {"fisheye_fov": math.radians(170)},
    "FISHEYE_EQUISOLID": {"fisheye_lens": 6.0, "fisheye_fov": math.radians(190)},
    "FISHEYE_LENS_POLYNOMIAL": {"fisheye_polynomial_k1": -0.04, "fisheye_polynomial_k2": 1e-5,
                                "fisheye_fov": math.radians(200)},
    "CENTRAL_CYLINDRICAL": {"central_cylindrical_range_u_min": -2.0, "central_cylindrical_range_u_max": 1.5,
                            "central_cylindrical_range_v_min": -0.7, "central_cylindrical_range_v_max": 1.1,
                            "central_cylindrical_radius": 1.3},
}


@pytest.mark.parametrize("panorama_type", list(PANORAMA_SETTINGS))
def test_a_panorama_projects_each_of_its_rays_back_to_its_image_position(panorama_type: str) -> None:
    camera = pano(panorama_type, resolution_x=40, resolution_y=27, shift_x=0.02, shift_y=-0.03,
                  **PANORAMA_SETTINGS[panorama_type])
    rng = np.random.default_rng(7)
    rows, columns = (index.astype(np.float64) for index in np.indices((camera.height, camera.width)))
    columns, rows = columns + rng.uniform(-0.49, 0.49, columns.shape), rows + rng.uniform(-0.49, 0.49, rows.shape)
    directions, has_ray = camera.model.pixel_directions(camera, columns, rows)
    assert has_ray.mean() > 0.2
    found_columns, found_rows, seen = camera.model.project(camera, directions * rng.uniform(0.1, 9.0, rows.shape)[
        ..., None])
    assert np.array_equal(seen & ~has_ray, np.zeros_like(seen)), "nothing off the image is seen"
    share = (seen & has_ray).sum() / has_ray.sum()
    assert share >= (0.98 if panorama_type == "MIRRORBALL" else 0.999), f"{share:.2%}"  # the ball's rim is singular
    error = np.hypot(found_columns - columns, found_rows - rows)[seen]
    assert error.max() < 1e-6, error.max()


def test_pixel_directions_at_the_centres_are_the_unit_directions() -> None:
    camera = pano("FISHEYE_EQUISOLID", resolution_x=9, resolution_y=7, shift_x=0.1, fisheye_lens=8.0,
                  fisheye_fov=math.radians(150))
    rows, columns = (index.astype(np.float64) for index in np.indices((7, 9)))
    directions, has_ray = camera.model.pixel_directions(camera, columns, rows)
    units, valid = camera.model.unit_directions(camera, (7, 9))
    assert np.array_equal(has_ray, valid) and 0 < valid.sum() < valid.size
    np.testing.assert_allclose(directions[valid], units[valid], atol=1e-15)
    _, outside = camera.model.pixel_directions(camera, np.array([-0.51, 8.49, 8.51]), np.array([3.0, 3.0, 3.0]))
    assert outside.tolist() == [False, True, False] or not outside[0] and not outside[2]


def test_an_equirectangular_camera_turned_by_one_pixel_sees_every_direction_one_pixel_over() -> None:
    """Longitude grows to the right by (lon_max - lon_min) / W a pixel: a direction at the longitude of pixel
    column c + 1 (same row) is seen at column c + 1."""
    camera = pano("EQUIRECTANGULAR", resolution_x=24, resolution_y=12)
    rows, columns = (index.astype(np.float64) for index in np.indices((12, 24)))
    step = 2 * math.pi / 24
    lon = -math.pi + (columns + 1.5) * step
    lat = -math.pi / 2 + (12 - 1 - rows + 0.5) * (math.pi / 12)
    directions = np.stack([np.cos(lat) * np.sin(lon), np.sin(lat), -np.cos(lat) * np.cos(lon)], axis=-1)
    found_columns, found_rows, seen = camera.model.project(camera, directions)
    assert seen.all()
    wrapped = np.where(columns + 1 > 23.5, columns + 1 - 24, columns + 1)  # the seam: lon + 2 pi is the same
    np.testing.assert_allclose(found_columns, wrapped, atol=1e-6)
    np.testing.assert_allclose(found_rows, rows, atol=1e-6)


def test_a_fisheye_continues_its_formula_beyond_its_circle_without_seeing_there() -> None:
    camera = pano("FISHEYE_EQUIDISTANT", resolution_x=21, resolution_y=21, fisheye_fov=math.pi)
    # 100 degrees off the axis, to the right: r = 100 / 90 of the circle's radius (10.5 px)
    theta = math.radians(100)
    columns, rows, seen = camera.model.project(camera, np.array([[math.sin(theta), 0.0, -math.cos(theta)],
                                                                 [0.0, 0.0, 0.0]]))
    assert seen.tolist() == [False, False]
    assert columns[0] == pytest.approx(10.0 + 10.5 * 100 / 90, abs=1e-6) and rows[0] == pytest.approx(10.0, abs=1e-6)
    assert np.isnan(columns[1]) and np.isnan(rows[1]), "a zero direction has no place"
