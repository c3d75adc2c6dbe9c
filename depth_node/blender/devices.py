"""Which device Cycles renders a job's frames with: the CPU, or the GPUs of one backend (``--device``).

Like Blender's own ``--cycles-device``, a GPU backend's devices are all enabled through Cycles' preferences and
the scene renders with ``device = "GPU"``. Without ``--device`` a job keeps the CPU unless the file asks for the
GPU and one is found. The compositor always runs on the CPU for jobs (its GPU device is measured equal, within
1.4e-7 on 5.2 with software OpenGL, but the CPU is what every test and farm runs).
"""

from __future__ import annotations

from dataclasses import dataclass

import bpy

from ..core.errors import JobError
from . import compat

BACKENDS = ("OPTIX", "CUDA", "HIP", "METAL", "ONEAPI")
"""Cycles' GPU backends, in the order they are tried (OptiX first: NVIDIA's fastest)."""
DEVICES = ("cpu", "gpu")


def _cycles_preferences() -> bpy.types.AddonPreferences:
    return bpy.context.preferences.addons["cycles"].preferences


def find_gpus(backends: tuple[str, ...]) -> tuple[str, list[bpy.types.bpy_struct]] | None:
    """The first backend of ``backends`` with usable GPU devices in this Blender, and those devices (or None)."""
    preferences = _cycles_preferences()
    known = preferences.bl_rna.properties["compute_device_type"].enum_items.keys()
    for backend in backends:
        if backend not in known:
            continue  # e.g. METAL outside macOS
        preferences.compute_device_type = backend
        preferences.refresh_devices()
        gpus = [device for device in preferences.devices if device.type == backend]
        if gpus:
            return backend, gpus
    preferences.compute_device_type = "NONE"
    return None


@dataclass(frozen=True)
class Device:
    """``--device`` (None: as the file asks) and ``--gpu-backend`` (None: every backend, in :data:`BACKENDS` order)."""

    kind: str | None = None
    backend: str | None = None

    def apply(self, scene: bpy.types.Scene, threads: int | None = None) -> str:
        """Set up Cycles' device for ``scene``'s renders (``threads``: the CPU threads, e.g. a SLURM task's
        allocation; None: Blender's choice); returns what renders, for the job's first line."""
        compat.use_cpu_compositor(scene)
        allocated = ""
        if threads is not None:
            scene.render.threads_mode = "FIXED"
            scene.render.threads = threads
            allocated = f" ({scene.render.threads} thread{'s' if scene.render.threads > 1 else ''}: the task's CPUs)"
        wanted = self.kind == "gpu" or (self.kind is None and scene.cycles.device == "GPU")
        if not wanted:
            scene.cycles.device = "CPU"
            return "the CPU" + allocated
        backends = (self.backend.upper(),) if self.backend else BACKENDS
        found = find_gpus(backends)
        if found is None:
            looked = f"Cycles' {', '.join(backends)} devices"
            if self.kind == "gpu":
                raise JobError(f"--device gpu: no usable GPU in this Blender (looked for {looked})")
            scene.cycles.device = "CPU"
            return f"the CPU (the file asks for the GPU; none found: looked for {looked})"
        backend, gpus = found
        for device in _cycles_preferences().devices:
            device.use = device in gpus
        scene.cycles.device = "GPU"
        return f"the GPU ({backend}: {', '.join(device.name for device in gpus)})"


CPU = Device("cpu")
"""The CPU whatever the file asks (tests, and the default of the Python API)."""
