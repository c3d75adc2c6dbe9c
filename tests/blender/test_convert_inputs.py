"""``convert`` on what Blender itself writes: an "OpenEXR MultiLayer" File Output holding the Z and Mist passes
(channel names as each version writes them), converted with ``--channel`` and ``--mist`` (the World's linear
mist) against Cycles' own Z pass, and round trips distance -> depth -> distance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import submodule
from real_scenes import build

bpy = pytest.importorskip("bpy")


def multilayer_output(td, tree: bpy.types.NodeTree, folder: str, layers: list[str]) -> bpy.types.Node:
    """A File Output node writing one OpenEXR MultiLayer file per frame (``ml_####.exr``) with these layers."""
    compat = submodule(td, "blender.compat")
    node = tree.nodes.new("CompositorNodeOutputFile")
    if compat.USES_COMPOSITING_NODE_GROUP:
        compat.set_output_directory(node, folder)
        node.format.media_type = "MULTI_LAYER_IMAGE"
        node.file_name = "ml_####"
        node.format.file_format = "OPEN_EXR_MULTILAYER"
        for layer in layers:
            node.file_output_items.new("FLOAT", layer)
    else:
        node.format.file_format = "OPEN_EXR_MULTILAYER"
        node.base_path = f"{folder}/ml_####"
        node.layer_slots.clear()
        for layer in layers:
            node.layer_slots.new(layer)
    node.format.color_depth = "32"
    return node


@pytest.fixture(scope="module")
def multilayer(td, tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("multilayer")
    scene = build("layers")
    bpy.data.objects["Camera"].data.dof.use_dof = False
    scene.cycles.samples, scene.cycles.filter_width = 1, 0.01
    layer = scene.view_layers[0]
    layer.use_pass_z = layer.use_pass_mist = True
    scene.world = scene.world or bpy.data.worlds.new("World")
    mist = scene.world.mist_settings
    mist.start, mist.depth, mist.falloff = 1.5, 10.5, "LINEAR"  # the wall is partly beyond the mist
    tree = submodule(td, "blender.compat").fresh_compositor_tree(scene)
    layers_node = tree.nodes.new("CompositorNodeRLayers")
    layers_node.scene = scene
    output = multilayer_output(td, tree, str(folder / "ml"), ["Depth", "Mist"])
    tree.links.new(layers_node.outputs["Depth"], output.inputs[0])
    tree.links.new(layers_node.outputs["Mist"], output.inputs[1])
    blend = folder / "layers.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    with bpy.context.temp_override(scene=scene):
        bpy.ops.render.render(write_still=False)
    [exr] = list((folder / "ml").glob("ml_*.exr"))
    names = submodule(td, "core.formats.exr").part_channels(exr)
    return {"folder": folder, "blend": blend, "exr": exr, "names": names}


def channels(multilayer: dict) -> list[str]:
    return [name for _, names, _, _ in multilayer["names"] for name in names]


def run_cli(td, *args: object) -> int:
    return submodule(td, "commands.cli").main([str(arg) for arg in args])


def read_channel(td, path: Path, wanted: str) -> np.ndarray:
    """One channel of the multilayer file, by its full name (5.0 writes one part per layer, measured)."""
    found = {name: pixels for _, channels in submodule(td, "core.formats.exr").read_parts(path)
             for name, pixels in channels.items()}
    return found[wanted].astype(np.float64)


def test_blenders_multilayer_depth_channel_round_trips(td, multilayer: dict, tmp_path: Path, capsys) -> None:
    """Z (planar depth) -> distance -> depth with the .blend's camera; the Z channel chosen by --channel."""
    print("channels Blender wrote:", multilayer["names"])
    depth_channel = next(name for name in channels(multilayer) if "Depth" in name)
    assert run_cli(td, "convert", multilayer["exr"], "--camera", multilayer["blend"], "--channel", depth_channel,
                   "--to", "distance", "--output", tmp_path / "distance") == 0
    distance_file = next((tmp_path / "distance").glob("*/distance_*.exr"))
    assert run_cli(td, "convert", distance_file, "--camera", multilayer["blend"], "--output", tmp_path / "depth") == 0
    read = submodule(td, "core.formats.exr").read_single_channel
    z = read_channel(td, multilayer["exr"], depth_channel)
    back = read(next((tmp_path / "depth").glob("*/depth_*.exr"))).astype(np.float64)
    surface = z < 1e9
    assert surface.mean() > 0.5
    assert np.abs(back - z)[surface].max() <= 1e-6 * z[surface].max()
    # without --channel two channels are candidates only if both look like depth: Mist does not
    capsys.readouterr()
    assert run_cli(td, "convert", multilayer["exr"], "--camera", multilayer["blend"], "--to", "distance",
                   "--output", tmp_path / "auto") == 0
    assert depth_channel in capsys.readouterr().out


def test_blenders_mist_pass_gives_the_depth_inside_the_mist_range(td, multilayer: dict, tmp_path: Path) -> None:
    mist_channel = next(name for name in channels(multilayer) if "Mist" in name)
    assert run_cli(td, "convert", multilayer["exr"], "--camera", multilayer["blend"], "--channel", mist_channel,
                   "--mist", "--output", tmp_path / "mist") == 0
    depth = submodule(td, "core.formats.exr").read_single_channel(next((tmp_path / "mist").glob("*/depth_*.exr")))
    z = read_channel(td, multilayer["exr"], next(name for name in channels(multilayer) if "Depth" in name))
    mist = read_channel(td, multilayer["exr"], mist_channel)
    inside = (mist > 0) & (mist < 1)
    close = np.abs(depth - z) <= 1e-4 * z
    print(f"Mist -> depth within 1e-4 of Cycles' Z on {close[inside].mean():.2%} of {inside.sum()} pixels inside the "
          "mist range")
    assert 0.2 < inside.mean() < 0.95 and close[inside].mean() >= 0.99
    assert np.all(depth[~inside] == 0)
