"""Blender's render passes as a multilayer EXR names their channels (``<view layer>.<pass>.<component>``, or
``<pass>.<component>`` from a File Output node's layer). Imports no bpy."""

from __future__ import annotations


def pass_channels(names: list[str], pass_name: str, components: tuple[str, ...]) -> list[str]:
    """The channel names of the one ``pass_name`` pass among ``names`` (``ViewLayer.Vector.X`` or ``Vector.X``...),
    in ``components`` order; ValueError naming what was found when there is not exactly one."""
    first = f"{pass_name}.{components[0]}"
    prefixes = sorted({name[:-len(first)] for name in names
                       if name.endswith(first) and (name == first or name.endswith(f".{first}"))})
    whole = [prefix for prefix in prefixes if all(f"{prefix}{pass_name}.{c}" in names for c in components)]
    if len(whole) != 1:
        found = ", ".join(sorted(names)[:12]) + (" ..." if len(names) > 12 else "")
        what = "no" if not whole else f"{len(whole)} ({', '.join(p.rstrip('.') or '(no layer)' for p in whole)})"
        listed = ", ".join([f"<layer>.{first}", *(f".{c}" for c in components[1:])])
        raise ValueError(f"{what} {pass_name} pass (channels {listed}) among the channels: {found}")
    return [f"{whole[0]}{pass_name}.{c}" for c in components]
