"""The tools under test: sluice built in release, and a virtualenv with Django from PyPI."""

import glob
import os
import shutil
import subprocess

from .common import REPO_ROOT, BenchError, log, run_checked

VENV_ROOT = os.path.expanduser("~/.cache/sluice-bench")


def build_sluice(skip=False):
    """`cargo build --release -p sluice` from the repository root; returns the binary."""
    target = os.environ.get("CARGO_TARGET_DIR") or "target"
    binary = os.path.join(REPO_ROOT, target, "release", "sluice")   # joins to target if absolute
    if not skip:
        log("building sluice (cargo build --release -p sluice) …")
        run_checked(["cargo", "build", "--release", "-p", "sluice"], cwd=REPO_ROOT,
                    what="cargo build")
    if not os.access(binary, os.X_OK):
        raise BenchError(f"no sluice binary at {binary}")
    return binary


def _works(python):
    try:
        out = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    except OSError:
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def choose_python():
    """python3.12 if present (Django 6.x needs ≥ 3.12), else python3. A pyenv shim for a
    version that is installed but not selected fails to run, so look behind pyenv too."""
    candidates = [shutil.which("python3.12")]
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += sorted(glob.glob(os.path.join(pyenv_root, "versions", "3.12*", "bin",
                                                "python3.12")), reverse=True)
    candidates.append(shutil.which("python3"))
    for python in filter(None, candidates):
        version = _works(python)
        if version:
            return python, version
    raise BenchError("no working python3 found")


def ensure_venv():
    """~/.cache/sluice-bench/venv-<pyver> with Django; returns (venv, python, django version)."""
    base, version = choose_python()
    venv = os.path.join(VENV_ROOT, f"venv-{version}")
    python = os.path.join(venv, "bin", "python")
    probe = [python, "-c", "import django; print(django.get_version())"]
    if os.access(python, os.X_OK):
        out = subprocess.run(probe, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if out.returncode == 0:
            return venv, python, out.stdout.strip()
    log(f"creating {venv} with {base} and installing Django from PyPI …")
    os.makedirs(VENV_ROOT, exist_ok=True)
    run_checked([base, "-m", "venv", "--clear", venv], what="python -m venv")
    run_checked([python, "-m", "pip", "install", "--quiet", "Django"], what="pip install Django")
    return venv, python, run_checked(probe, what="import django").strip()


def venv_env(venv):
    """The environment of an activated virtualenv (how a developer runs both tools)."""
    env = dict(os.environ)
    env["VIRTUAL_ENV"] = venv
    env["PATH"] = os.path.join(venv, "bin") + os.pathsep + env.get("PATH", "")
    env.pop("PYTHONHOME", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env
