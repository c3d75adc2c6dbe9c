"""Property-based tests (hypothesis) of the numpy reference for random Blender cameras."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from test_reference import plane_distances

from depth_node.core.camera import BlenderCamera
from depth_node.core.reference import depth_to_distance, distance_to_depth

finite = {"allow_nan": False, "allow_infinity": False}


@st.composite
def cameras(draw: st.DrawFn) -> BlenderCamera:
    """Any camera Blender accepts, on small frames (with crop, the region keeps at least one pixel)."""
    resolution_x = draw(st.integers(2, 64))
    resolution_y = draw(st.integers(2, 64))
    min_x = draw(st.floats(0.0, 0.5, **finite))
    min_y = draw(st.floats(0.0, 0.5, **finite))
    settings = dict(
        lens=draw(st.floats(1.0, 500.0, **finite)),
        sensor_width=draw(st.floats(1.0, 100.0, **finite)),
        sensor_height=draw(st.floats(1.0, 100.0, **finite)),
        sensor_fit=draw(st.sampled_from(["AUTO", "HORIZONTAL", "VERTICAL"])),
        shift_x=draw(st.floats(-2.0, 2.0, **finite)),
        shift_y=draw(st.floats(-2.0, 2.0, **finite)),
        resolution_x=resolution_x,
        resolution_y=resolution_y,
        resolution_percentage=draw(st.sampled_from([100, 50, 150, 37])) if min(resolution_x, resolution_y) > 2
        else 100,
        pixel_aspect_x=draw(st.floats(0.5, 3.0, **finite)),
        pixel_aspect_y=draw(st.floats(0.5, 3.0, **finite)),
        projection=draw(st.sampled_from(["PERSP", "ORTHO"])),
        ortho_scale=draw(st.floats(0.01, 100.0, **finite)),
        use_border=True,
        crop_to_border=draw(st.booleans()),
        border=(min_x, draw(st.floats(min_x + 0.5, 1.0, **finite)),
                min_y, draw(st.floats(min_y + 0.5, 1.0, **finite))),
    )
    try:
        return BlenderCamera.from_settings(**settings)
    except ValueError:  # a crop of less than one pixel: Blender refuses to render it too
        assume(False)
        raise


@settings(max_examples=300, deadline=None)
@given(camera=cameras(), depth=st.floats(1e-3, 1e6, **finite))
def test_depth_to_distance_to_depth_round_trips(camera: BlenderCamera, depth: float) -> None:
    K = camera.matrix()
    planar = np.full((camera.height, camera.width), depth)
    distance = depth_to_distance(planar, K, camera.projection)
    back = distance_to_depth(distance, K, camera.projection)
    np.testing.assert_array_less(np.abs(back - planar), depth * ortho_rtol(camera, distance, planar))


def ortho_rtol(camera: BlenderCamera, distance: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """1e-9, widened for orthographic cameras: sqrt(distance^2 - lateral^2) loses (distance / depth)^2 ulps."""
    if camera.projection == "PERSP":
        return np.full(depth.shape, 1e-9)
    return 1e-9 + 1e-15 * (distance / np.maximum(np.abs(depth), 1e-300)) ** 2


@settings(max_examples=300, deadline=None)
@given(camera=cameras(), tilt=st.tuples(st.floats(-0.5, 0.5, **finite), st.floats(-0.5, 0.5, **finite)),
       offset=st.floats(0.1, 1e4, **finite))
def test_reference_agrees_with_direct_ray_plane_intersection(camera: BlenderCamera, tilt: tuple,
                                                            offset: float) -> None:
    K = camera.matrix()
    normal = np.array([tilt[0], tilt[1], 1.0])
    normal /= np.linalg.norm(normal)
    distance, depth = plane_distances(K, (camera.height, camera.width), normal, offset, camera.projection)
    visible = depth > 0  # a tilted plane can pass behind a steep off-axis ray
    got = distance_to_depth(distance, K, camera.projection)
    rtol = ortho_rtol(camera, distance, depth)
    np.testing.assert_array_less(np.abs(got - depth)[visible], (rtol * np.abs(depth) + 1e-12)[visible])
    np.testing.assert_allclose(depth_to_distance(depth, K, camera.projection)[visible], distance[visible],
                               rtol=1e-9)
