"""Present the ``bpy`` module (Blender as a Python module, from PyPI) through Blender's command line.

pytest-blender, the CLI and render-farm style tests start "Blender" as
``blender -b [FILE.blend] --python SCRIPT -- ARGS`` or ask ``blender --version``.
No Blender executable >= 4.5 can be installed on machines without internet, but
the bpy wheel can; this launcher runs with the wheel's Python and handles the
arguments, in order, the way Blender does:

    --version | -v                    print "Blender X.Y.Z" and exit
    -b | --background | -noaudio | --factory-startup | --python-use-system-env
                                      accepted (bpy is always background/factory)
    -y | --enable-autoexec, -Y | --disable-autoexec
                                      Python auto-execution for files opened later
    FILE.blend                        open the file
    --python FILE, --python-expr EXPR run a script / expression (sys.argv as in Blender)
    --python-exit-code N              exit with N when a script raises
    -S | --scene NAME, -E | --engine ENGINE, -o | --render-output PATH,
    -s | --frame-start N, -e | --frame-end N, -f | --render-frame N, -a | --render-anim
    --                                everything after it is left to the scripts

Anything else is refused with exit code 2, so a test never silently runs with
an argument the launcher ignored.
"""

from __future__ import annotations

import runpy
import sys
import traceback

_IGNORED_FLAGS = {"-b", "--background", "-noaudio", "--factory-startup", "--python-use-system-env"}
_VALUE_OPTIONS = {
    "--python", "--python-expr", "--python-exit-code", "-S", "--scene", "-E", "--engine",
    "-o", "--render-output", "-s", "--frame-start", "-e", "--frame-end", "-f", "--render-frame",
}


class LauncherError(Exception):
    """A command line the launcher cannot honour."""


def _version_text(bpy) -> str:
    return f"Blender {bpy.app.version_string}\n\tbuild: bpy module from PyPI (tools/blender_launcher.py)\n"


def _parse_frame(value: str, scene) -> int:
    if value == "+" or value.startswith("+"):
        return scene.frame_start + int(value[1:] or 0)
    if value.startswith("-"):
        return scene.frame_end - int(value[1:] or 0)
    return int(value)


def _run_script(run, exit_code_on_error: int | None) -> int | None:
    """Run a script callable like Blender: report exceptions, honour ``--python-exit-code``."""
    try:
        run()
    except SystemExit as stop:
        raise stop
    except BaseException:  # Blender prints any script error and carries on
        traceback.print_exc()
        if exit_code_on_error is not None:
            return exit_code_on_error
    return None


def main(argv: list[str]) -> int:
    blender_args = argv[: argv.index("--")] if "--" in argv else list(argv)
    if "--version" in blender_args or "-v" in blender_args:
        import bpy

        sys.stdout.write(_version_text(bpy))
        return 0

    import bpy

    # Scripts look for their arguments after "--" in sys.argv, as in Blender.
    sys.argv = [sys.argv[0], *argv]
    exit_code_on_error: int | None = None
    scene = bpy.context.scene
    index = 0
    while index < len(blender_args):
        arg = blender_args[index]
        if arg in _VALUE_OPTIONS:
            if index + 1 >= len(blender_args):
                raise LauncherError(f"{arg} needs a value")
            value = blender_args[index + 1]
            index += 2
        else:
            value = None
            index += 1
        if arg in _IGNORED_FLAGS:
            continue
        if arg in ("-y", "--enable-autoexec", "-Y", "--disable-autoexec"):
            bpy.context.preferences.filepaths.use_scripts_auto_execute = arg in ("-y", "--enable-autoexec")
        elif arg.endswith(".blend") and not arg.startswith("-"):
            bpy.ops.wm.open_mainfile(filepath=arg, load_ui=False)
            scene = bpy.context.scene
        elif arg == "--python":
            sys.stdout.flush()
            failed = _run_script(lambda path=value: runpy.run_path(path, run_name="__main__"), exit_code_on_error)
            if failed is not None:
                return failed
            scene = bpy.context.scene
        elif arg == "--python-expr":
            failed = _run_script(
                lambda code=value: exec(compile(code, "<string>", "exec"), {"__name__": "__main__"}),
                exit_code_on_error,
            )
            if failed is not None:
                return failed
        elif arg == "--python-exit-code":
            exit_code_on_error = int(value)
        elif arg in ("-S", "--scene"):
            if value not in bpy.data.scenes:
                raise LauncherError(f"no scene named {value!r}")
            scene = bpy.data.scenes[value]
        elif arg in ("-E", "--engine"):
            scene.render.engine = value
        elif arg in ("-o", "--render-output"):
            scene.render.filepath = value
        elif arg in ("-s", "--frame-start"):
            scene.frame_start = _parse_frame(value, scene)
        elif arg in ("-e", "--frame-end"):
            scene.frame_end = _parse_frame(value, scene)
        elif arg in ("-f", "--render-frame"):
            for part in value.split(","):
                first, _, last = part.partition("..")
                for frame in range(_parse_frame(first, scene), _parse_frame(last or first, scene) + 1):
                    scene.frame_set(frame)
                    bpy.ops.render.render(write_still=True, scene=scene.name)
        elif arg in ("-a", "--render-anim"):
            bpy.ops.render.render(animation=True, scene=scene.name)
        else:
            raise LauncherError(f"unsupported Blender argument {arg!r} (see tools/blender_launcher.py)")
    return 0


if __name__ == "__main__":
    try:
        code = main(sys.argv[1:])
    except LauncherError as error:
        sys.stderr.write(f"blender_launcher: {error}\n")
        code = 2
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)
