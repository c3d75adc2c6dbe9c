"""The True Depth group's description (core/graph/): run by a strict node interpreter and compared with the
numpy reference; the typed socket contract, notes, variants and validation."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from depth_node.core.camera import BlenderCamera
from depth_node.core.graph.nodes import GraphBuilder
from depth_node.core.graph.true_depth import (
    GROUP_INPUT,
    MODES,
    VARIANTS,
    NodeSpec,
    SocketRef,
    build_spec,
    validate_spec,
)
from depth_node.core.projections.stereo import CONVERGENCE_MODES, PIVOTS, VIEWS, Stereo
from depth_node.core.reference import depth_to_distance, distance_to_depth

from .contract import check_typed_contract
from .interpreter import evaluate


def camera_inputs(cam: BlenderCamera, camera_type: float | None = None) -> dict:
    """The values the drivers give the group's camera inputs for ``cam`` (float32, like RNA floats)."""
    f32 = np.float32
    is_cropped = cam.frame.is_cropped
    cam = SimpleNamespace(**cam.settings())
    return {
        "Focal Length": cam.lens, "Sensor Width": cam.sensor_width, "Sensor Height": cam.sensor_height,
        "Sensor Fit": float(("AUTO", "HORIZONTAL", "VERTICAL").index(cam.sensor_fit)),
        "Shift X": cam.shift_x, "Shift Y": cam.shift_y,
        "Resolution X": cam.resolution_x, "Resolution Y": cam.resolution_y,
        "Resolution %": cam.resolution_percentage,
        "Pixel Aspect X": cam.pixel_aspect_x, "Pixel Aspect Y": cam.pixel_aspect_y,
        "Ortho Scale": cam.ortho_scale,
        "Camera Type": float(("PERSP", "ORTHO").index(cam.projection)) if camera_type is None else camera_type,
        "Crop To Border": float(is_cropped),
        "Stereo 3D": 0.0, "Interocular Distance": 0.065, "Convergence Distance": 1.95, "Convergence Mode": 0.0,
        "Stereo Pivot": 0.0,
        "Border Min X": f32(cam.border[0]), "Border Max X": f32(cam.border[1]),
        "Border Min Y": f32(cam.border[2]), "Border Max Y": f32(cam.border[3]),
    }


def random_cameras(count: int, seed: int = 7) -> list[BlenderCamera]:
    rng = np.random.default_rng(seed)
    cameras = []
    for _ in range(count):
        cameras.append(BlenderCamera.from_settings(
            lens=float(rng.uniform(8, 200)), sensor_width=float(rng.uniform(5, 50)),
            sensor_height=float(rng.uniform(5, 50)), sensor_fit=str(rng.choice(["AUTO", "HORIZONTAL", "VERTICAL"])),
            shift_x=float(rng.uniform(-0.5, 0.5)), shift_y=float(rng.uniform(-0.5, 0.5)),
            resolution_x=int(rng.integers(8, 80)), resolution_y=int(rng.integers(8, 80)),
            resolution_percentage=int(rng.choice([25, 50, 73, 100, 150])),
            pixel_aspect_x=float(rng.choice([1.0, 1.5, 2.0])), pixel_aspect_y=float(rng.choice([1.0, 1.3])),
            projection=str(rng.choice(["PERSP", "ORTHO"])), ortho_scale=float(rng.uniform(0.5, 20)),
            use_border=bool(rng.integers(2)), crop_to_border=bool(rng.integers(2)),
            border=(float(rng.uniform(0, 0.4)), float(rng.uniform(0.6, 1)),
                    float(rng.uniform(0, 0.4)), float(rng.uniform(0.6, 1)))))
    return cameras


def camera_id(cam: BlenderCamera) -> str:
    return f"{cam.projection}-{cam.lens.sensor_fit}-{cam.width}x{cam.height}-crop{cam.frame.is_cropped:d}"


VARIANT_CASES = [pytest.param(cam, variant, id=f"{variant}-{camera_id(cam)}") for cam in random_cameras(40)
                 for variant in ("pinhole", "perspective", "panoramic")
                 if variant != "perspective" or cam.projection == "PERSP"]


def driven_values(spec, cam: BlenderCamera, stereo: Stereo | None = None, views_format: int | None = None) -> dict:
    """Every camera input of ``spec`` as its driver computes it for ``cam`` (enums as indices, float32 like RNA);
    ``views_format`` (0 = STEREO_3D, 1 = MULTIVIEW) turns Multi-View on."""
    lens, frame, stereo = cam.lens, cam.frame, stereo or Stereo()
    # Blender's enum item values, measured on 4.5.15 and 5.3.0 (panorama_type's are not in list order)
    enums = {"type": {"PERSP": 0, "ORTHO": 1, "PANO": 2, "CUSTOM": 3},
             "sensor_fit": {"AUTO": 0, "HORIZONTAL": 1, "VERTICAL": 2},
             "panorama_type": {"EQUIRECTANGULAR": 0, "EQUIANGULAR_CUBEMAP_FACE": 5, "MIRRORBALL": 3,
                               "FISHEYE_EQUIDISTANT": 1, "FISHEYE_EQUISOLID": 2, "FISHEYE_LENS_POLYNOMIAL": 4,
                               "CENTRAL_CYLINDRICAL": 6},
             "convergence_mode": {"OFFAXIS": 0, "PARALLEL": 1, "TOE": 2},
             "pivot": {"LEFT": 0, "RIGHT": 1, "CENTER": 2}}
    render = {"use_multiview": views_format is not None, "views_format": views_format or 0,
              "use_crop_to_border": frame.crop_to_border, "border_min_x": frame.border[0],
              "border_max_x": frame.border[1], "border_min_y": frame.border[2], "border_max_y": frame.border[3]}

    def read(path: str) -> float:
        owner, _, name = path.rpartition(".")
        if owner == "camera.data.stereo":
            value = getattr(stereo, name)
            return float(enums[name][value]) if name in enums else float(np.float32(value))
        if owner == "camera.data":
            value = lens.projection if name == "type" else getattr(lens, name)
            return float(enums[name][value]) if name in enums else float(np.float32(value))
        return float(np.float32(render.get(name, getattr(frame, name, None))))

    values = {}
    for socket in spec.camera_inputs:
        names = {name: read(path) for name, path in socket.driver.variables}
        values[socket.name] = float(eval(socket.driver.expression, {"__builtins__": {}}, names))  # noqa: S307
    return values


def panoramic_cameras() -> dict[str, BlenderCamera]:
    """Every panorama type with two parameter sets (shift, portrait, crop, pixel aspect, wide fields of view)."""
    from depth_node.core.projections.base import BLENDER_PANORAMA_TYPES

    extra = {
        "EQUIRECTANGULAR": dict(latitude_min=-1.0, latitude_max=1.2, longitude_min=-2.5, longitude_max=2.0),
        "EQUIANGULAR_CUBEMAP_FACE": {},
        "MIRRORBALL": {},
        "FISHEYE_EQUIDISTANT": dict(fisheye_fov=4.2),
        "FISHEYE_EQUISOLID": dict(fisheye_lens=8.0, fisheye_fov=3.6),
        "FISHEYE_LENS_POLYNOMIAL": dict(fisheye_polynomial_k1=-0.03, fisheye_polynomial_k2=1e-5, fisheye_fov=3.8),
        "CENTRAL_CYLINDRICAL": dict(central_cylindrical_range_u_min=-2.0, central_cylindrical_range_u_max=2.5,
                                    central_cylindrical_range_v_min=-0.5, central_cylindrical_range_v_max=1.5,
                                    central_cylindrical_radius=1.5),
    }
    cameras = {}
    for name in BLENDER_PANORAMA_TYPES:
        cameras[f"{name}-default"] = BlenderCamera.from_settings(projection="PANO", panorama_type=name,
                                                                 resolution_x=32, resolution_y=24)
        cameras[f"{name}-varied"] = BlenderCamera.from_settings(
            projection="PANO", panorama_type=name, resolution_x=24, resolution_y=36, resolution_percentage=75,
            shift_x=0.05, shift_y=-0.04, sensor_fit="VERTICAL", pixel_aspect_x=1.5, use_border=True,
            crop_to_border=True, border=(0.1, 0.9, 0.2, 0.85), **extra[name])
    return cameras


PANORAMIC_CAMERAS = panoramic_cameras()


STEREO_CAMERA = BlenderCamera.from_settings(lens=35.0, sensor_width=32.0, shift_x=0.07, shift_y=-0.02,
                                            resolution_x=20, resolution_y=14, sensor_fit="HORIZONTAL")


@pytest.mark.parametrize("mode", MODES)
def test_spec_is_consistent(mode: str) -> None:
    spec = build_spec(mode)
    assert validate_spec(spec) == []
    assert spec.inputs[0].name == ("Distance" if mode == "DISTANCE_TO_DEPTH" else "Depth")
    assert all(len(node.label) < 64 and len(node.name) < 64 for node in spec.nodes)


@pytest.mark.parametrize("cam, variant", VARIANT_CASES)
@pytest.mark.parametrize("mode", MODES)
def test_graph_maths_equals_reference(cam: BlenderCamera, variant: str, mode: str) -> None:
    """Every variant of the group that holds the camera's projection gives the reference's numbers."""
    spec = build_spec(mode, variant)
    shape = (cam.height, cam.width)
    source = np.random.default_rng(1).uniform(1, 100, size=shape)
    if cam.projection == "ORTHO" and mode == "DISTANCE_TO_DEPTH":
        source = np.hypot(source, cam.lens.ortho_scale * 2)  # a real surface is farther than the lateral offset
    # float64 camera values (as the reference has them); the panorama inputs only exist in that variant
    inputs = {**driven_values(spec, cam), **camera_inputs(cam)}
    got = evaluate(spec, {spec.inputs[0].name: source, **inputs}, shape)
    convert = distance_to_depth if mode == "DISTANCE_TO_DEPTH" else depth_to_distance
    np.testing.assert_allclose(got, convert(source, cam.matrix(), cam.projection), rtol=1e-11)


@pytest.mark.parametrize("mode", MODES)
def test_graph_defines_special_values_like_the_reference(mode: str) -> None:
    cam = BlenderCamera.from_settings(projection="ORTHO", ortho_scale=10.0, resolution_x=6, resolution_y=4)
    spec = build_spec(mode, "pinhole")
    source = np.array([[0.0, 0.01, -0.01, 1e-15, 25.0, -25.0]] * 4)
    got = evaluate(spec, {spec.inputs[0].name: source, **camera_inputs(cam)}, source.shape)
    convert = distance_to_depth if mode == "DISTANCE_TO_DEPTH" else depth_to_distance
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, convert(source, cam.matrix(), "ORTHO"), rtol=1e-11, atol=1e-25)


def test_panoramic_camera_gives_zero_even_for_inf_and_nan() -> None:
    spec = build_spec("DISTANCE_TO_DEPTH")
    cam = random_cameras(1)[0]
    source = np.full((cam.height, cam.width), np.inf)
    source[0, 0] = np.nan
    got = evaluate(spec, {"Distance": source, **camera_inputs(cam, camera_type=2.0)}, source.shape)
    assert np.all(got == 0.0)


def test_every_camera_input_is_a_driven_scene_property() -> None:
    spec = build_spec("DISTANCE_TO_DEPTH")
    assert [socket.name for socket in spec.camera_inputs] == [socket.name for socket in spec.inputs[1:]]
    for socket in spec.camera_inputs:
        names = {name for name, _ in socket.driver.variables}
        assert names and all(path.startswith(("camera.data.", "render.")) for _, path in socket.driver.variables)
        assert all(name in socket.driver.expression for name in names)


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="mode must be one of"):
        build_spec("DEPTH_TO_DEPTH")


def test_validate_spec_reports_use_before_definition_and_unknown_references() -> None:
    import dataclasses

    spec = build_spec("DISTANCE_TO_DEPTH")
    first, second = spec.nodes[0], spec.nodes[1]
    swapped = dataclasses.replace(spec, nodes=(second, first) + spec.nodes[2:])
    uses_first = any(isinstance(v, SocketRef) and v.node == first.name for _, v in second.inputs)
    errors = validate_spec(swapped)
    if uses_first:
        assert any("before it is defined" in error for error in errors)
    broken = dataclasses.replace(spec, nodes=spec.nodes + (dataclasses.replace(
        spec.nodes[0], name="Dangling", inputs=((0, SocketRef("Nowhere", 0)), (1, SocketRef(GROUP_INPUT, "Nope")))),))
    errors = validate_spec(broken)
    assert "Dangling[0]: unknown node 'Nowhere'" in errors
    assert "Dangling[1]: unknown group input 'Nope'" in errors
    late = dataclasses.replace(spec, nodes=(dataclasses.replace(
        spec.nodes[-1], name="Early", inputs=((0, SocketRef(spec.nodes[-1].name, 0)),)),) + spec.nodes)
    assert f"Early uses {spec.nodes[-1].name} before it is defined" in validate_spec(late)


def test_build_spec_validates_what_it_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    from depth_node.core.graph import true_depth as graph_spec

    monkeypatch.setattr(graph_spec, "validate_spec", lambda spec: ["a planted problem"])
    with pytest.raises(ValueError, match="a planted problem"):
        graph_spec.build_spec("DISTANCE_TO_DEPTH")


@pytest.mark.parametrize("cam", PANORAMIC_CAMERAS.values(), ids=PANORAMIC_CAMERAS.keys())
@pytest.mark.parametrize("mode", MODES)
def test_panoramic_graph_equals_reference(cam: BlenderCamera, mode: str) -> None:
    spec = build_spec(mode, "panoramic")
    shape = (cam.height, cam.width)
    source = np.random.default_rng(2).uniform(1, 100, size=shape)
    got = evaluate(spec, {spec.inputs[0].name: source, **driven_values(spec, cam)}, shape)
    convert = distance_to_depth if mode == "DISTANCE_TO_DEPTH" else depth_to_distance
    # the reference on the same float32 settings the drivers read (RNA floats)
    settings = {name: float(np.float32(value)) if isinstance(value, float) else value
                for name, value in cam.settings().items()}
    want = convert(source, BlenderCamera.from_settings(**settings))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    assert np.array_equal(got == 0, want == 0)


@pytest.mark.parametrize("cam", [PANORAMIC_CAMERAS["EQUIRECTANGULAR-default"],
                                 PANORAMIC_CAMERAS["FISHEYE_EQUIDISTANT-varied"]], ids=["equirect", "fisheye"])
def test_panoramic_depth_keeps_the_sign_of_backward_rays_and_zeroes_outside_the_image(cam: BlenderCamera) -> None:
    depth = distance_to_depth(np.full((cam.height, cam.width), 10.0), cam)
    assert (depth < 0).any() and (depth > 0).any(), "a 360 degree view sees behind the camera"
    np.testing.assert_allclose(depth_to_distance(depth, cam)[depth != 0], 10.0, rtol=1e-12)
    if cam.lens.panorama_type.startswith("FISHEYE"):
        assert (depth == 0).any(), "pixels outside the image circle are 0"


def test_pinhole_variant_gives_zero_for_a_panoramic_camera() -> None:
    spec = build_spec("DISTANCE_TO_DEPTH")
    cam = PANORAMIC_CAMERAS["MIRRORBALL-default"]
    got = evaluate(spec, {"Distance": np.full((24, 32), 5.0), **driven_values(spec, cam)}, (24, 32))
    assert np.all(got == 0.0)


@pytest.mark.parametrize("views_format", [0, 1, None], ids=["stereo-3d", "multi-view", "single-view"])
@pytest.mark.parametrize("pivot", PIVOTS)
@pytest.mark.parametrize("convergence_mode", CONVERGENCE_MODES)
@pytest.mark.parametrize("variant", ["perspective", "panoramic"])
def test_each_eye_gets_its_own_off_axis_shift(variant: str, convergence_mode: str, pivot: str,
                                             views_format: int | None) -> None:
    """Switch View picks each eye's shift (core/projections/stereo.py, checked against OpenCV's projector) only for
    Stereo 3D."""
    cam = STEREO_CAMERA
    stereo = Stereo(interocular_distance=0.3, convergence_distance=2.5, convergence_mode=convergence_mode,
                    pivot=pivot)
    spec = build_spec("DISTANCE_TO_DEPTH", variant)
    shape = (cam.height, cam.width)
    distance = np.random.default_rng(3).uniform(1, 50, size=shape)
    inputs = {"Distance": distance, **driven_values(spec, cam, stereo, views_format)}
    for view in VIEWS:
        shift = cam.lens.shift_x if views_format != 0 else stereo.shift_x(cam.lens.shift_x, cam.lens.lens,
                                                                           cam.lens.sensor_width, view)
        eye = BlenderCamera.from_settings(**{**cam.settings(), "shift_x": float(np.float32(shift))})
        got = evaluate(spec, inputs, shape, view)
        np.testing.assert_allclose(got, distance_to_depth(distance, eye), rtol=1e-6)


@pytest.mark.parametrize("variant", ["perspective", "pinhole", "panoramic"])
@pytest.mark.parametrize("mode", MODES)
def test_no_two_nodes_compute_the_same_thing(mode: str, variant: str) -> None:
    """Shared values (the panoramic flag, the frame fractions, the sensor size) are built once and reused."""
    spec = build_spec(mode, variant)
    signature: dict[str, object] = {}
    for node in spec.nodes:
        inputs = tuple((index, (signature.get(value.node, value.node), value.socket))
                       if isinstance(value, SocketRef) else (index, value) for index, value in node.inputs)
        signature[node.name] = (node.bl_idname, node.properties, inputs)
    duplicates = [name for name in signature if list(signature.values()).count(signature[name]) > 1]
    assert duplicates == []


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("mode", MODES)
def test_the_description_keeps_the_typed_contract(mode: str, variant: str) -> None:
    """Texts, ordered float ranges, drivers reading exactly their variables, and the note "Camera constants
    (single values, computed once per frame)" holding exactly the nodes that depend on no pixel (neither the image
    input nor Image Coordinates); every other node is in the "Per pixel" note."""
    spec = build_spec(mode, variant)
    check_typed_contract(spec, {spec.inputs[0].name})
    assert all(socket.socket_type == "NodeSocketFloat" for socket in spec.inputs + spec.outputs)
    assert spec.frames[0][0].startswith("Camera constants")


def test_a_node_name_is_given_once() -> None:
    graph = GraphBuilder()
    graph.math("Twice", "ADD", 1.0, 2.0)
    with pytest.raises(ValueError, match="duplicate node name 'Twice'"):
        graph.vector_math("Twice", "ADD", 1.0, 2.0)


def test_validate_names_each_problem() -> None:
    import dataclasses

    spec = build_spec("DISTANCE_TO_DEPTH")
    looped = NodeSpec("Loop", "ShaderNodeMath", inputs=((0, SocketRef("Loop", 0)),))
    texty = NodeSpec("Texty", "ShaderNodeMath", inputs=((1, "one"),))
    errors = validate_spec(dataclasses.replace(spec, nodes=spec.nodes + (looped, texty)))
    assert errors == ["Loop uses Loop before it is defined", "Texty[1]: unsupported constant 'one'"]
    lost = dataclasses.replace(spec, result={"Depth": SocketRef("Nowhere", 0)})
    assert validate_spec(lost) == ["output Depth: unknown node 'Nowhere'"]
    extra = dataclasses.replace(spec, result={**spec.result, "Extra": spec.result["Depth"]})
    assert validate_spec(extra) == ["result does not cover exactly the group outputs"]


@pytest.mark.parametrize(("mode", "expected"), [("DISTANCE_TO_DEPTH", 5), ("DEPTH_TO_DISTANCE", 7)])
def test_a_perspective_group_costs_five_nodes_per_pixel(mode: str, expected: int) -> None:
    """docs/cameras.md and core/projections/__init__.py: the perspective group has 5 per-pixel nodes (the inverse
    adds the 2 that saturate at the float32 range)."""
    spec = build_spec(mode, "perspective")
    assert sum(node.frame == "Per pixel" for node in spec.nodes) == expected


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_inverse_keeps_negative_and_saturates_huge_depths_like_the_reference(variant: str) -> None:
    cam = BlenderCamera.from_settings(resolution_x=6, resolution_y=4, shift_x=0.1)
    spec = build_spec("DEPTH_TO_DISTANCE", variant)
    depth = np.array([[-3.0, -1e-3, 0.0, 2.0, 3e38, -3e38]] * 4, dtype=np.float32)
    got = evaluate(spec, {"Depth": depth.astype(np.float64), **driven_values(spec, cam)}, depth.shape)
    want = depth_to_distance(depth, cam).astype(np.float64)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert (got[:, :2] < 0).all() and (np.abs(got) <= np.finfo(np.float32).max).all()


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("mode", MODES)
def test_the_spec_names_itself_and_its_notes(mode: str, variant: str) -> None:
    spec = build_spec(mode, variant)
    base = {"DISTANCE_TO_DEPTH": "True Depth", "DEPTH_TO_DISTANCE": "True Depth Inverse"}[mode]
    suffix = {"perspective": "", "pinhole": " (orthographic)", "panoramic": " (panoramic)"}[variant]
    assert (spec.name, spec.mode, spec.variant) == (base + suffix, mode, variant)
    assert all(isinstance(text, str) and len(text) > 8 for frame in spec.frames for text in frame)
    assert "distance" in spec.frames[1][1] and "|ray|" in spec.frames[1][1]
    # an unconnected node reads 0 and gives 0, never a made-up depth
    assert spec.inputs[0].default == 0.0 and spec.outputs[0].default == 0.0


def test_an_unknown_variant_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"^variant must be one of \('perspective', 'pinhole', 'panoramic'\), "
                                         r"got 'fisheye'$"):
        build_spec("DISTANCE_TO_DEPTH", "fisheye")
