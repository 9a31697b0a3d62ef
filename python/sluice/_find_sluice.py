"""Where the wheel put the `sluice` binary.

A wheel installs the binary into the scripts folder of the scheme it was installed with, so
this looks, in order, in: the running interpreter's scripts folder (a virtualenv's `bin/`),
the user scheme's (`pip install --user`), and the `bin/` (`Scripts/` on Windows) of the
folders above this package (`pip install --target DIR` puts it in `DIR/bin`, `--prefix P`
in `P/bin` while the package is in `P/lib/pythonX.Y/site-packages`). Nothing on `PATH` is
consulted: another `sluice` there could be another version.
"""

from __future__ import annotations

import os
import sys
import sysconfig


def _exe_name() -> str:
    return "sluice" + (sysconfig.get_config_var("EXE") or "")


def _candidates() -> list[str]:
    exe = _exe_name()
    found = [os.path.join(sysconfig.get_path("scripts"), exe)]
    user_scheme = sysconfig.get_preferred_scheme("user")
    found.append(os.path.join(sysconfig.get_path("scripts", scheme=user_scheme), exe))
    scripts = "Scripts" if os.name == "nt" else "bin"
    # python/sluice/_find_sluice.py -> the package folder -> the folders above it.
    folder = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for _ in range(4):
        found.append(os.path.join(folder, scripts, exe))
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return found


def find_sluice_bin() -> str:
    """The path of the `sluice` binary installed with this package."""
    tried = _candidates()
    for path in tried:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise FileNotFoundError(
        "the sluice binary is not where its wheel installs it; looked in: " + ", ".join(tried)
    )


def exec_sluice(args: list[str]) -> None:
    """Replaces this process with `sluice ARGS` (runs it and exits with its code on Windows)."""
    sluice = os.fsdecode(find_sluice_bin())
    if sys.platform == "win32":
        import subprocess

        sys.exit(subprocess.run([sluice, *args]).returncode)
    os.execv(sluice, [sluice, *args])
