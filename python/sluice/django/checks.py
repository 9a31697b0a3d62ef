"""System checks: settings under which a project would fight sluice, each with its fix.

- sluice.W001: django-pipeline's collector is on where pipeline renders member tags (it walks
  every static file on each render and copies them into STATIC_ROOT, which sluice keeps);
- sluice.W002: a django-pipeline compiler that would run its binary on every render in
  development over the files sluice compiles (`SASS_BINARY`, `LESS_BINARY`,
  `TYPE_SCRIPT_BINARY` not a no-op);
- sluice.W003: `STATIC_ROOT` unset (sluice's output, whitenoise's root);
- sluice.W004: a `STATICFILES_DIRS` entry that does not exist.

"Development" is django-pipeline's own rule: `PIPELINE["PIPELINE_ENABLED"]`, which defaults
to `not DEBUG`; with it on, pipeline links the built bundles and neither runs its collector
nor its compilers.
"""

import os

from django.apps import apps
from django.conf import settings
from django.core.checks import Tags, Warning, register

# django-pipeline's compilers whose binary runs on each render, with the setting that names
# it and pipeline's default.
COMPILER_BINARIES = {
    "pipeline.compilers.sass.SASSCompiler": ("SASS_BINARY", "/usr/bin/env sass", ".scss"),
    "pipeline.compilers.less.LessCompiler": ("LESS_BINARY", "/usr/bin/env lessc", ".less"),
    "pipeline.compilers.typescript.TypeScriptCompiler": (
        "TYPE_SCRIPT_BINARY",
        "/usr/bin/env tsc",
        ".ts",
    ),
}

# Programs that do nothing and succeed.
NO_OPS = {"true", ":"}


def _pipeline_in_development():
    """django-pipeline's settings when it renders member tags here (`None` otherwise)."""
    if not apps.is_installed("pipeline"):
        return None
    conf = getattr(settings, "PIPELINE", None) or {}
    if conf.get("PIPELINE_ENABLED", not settings.DEBUG):
        return None
    return conf


def _is_no_op(binary):
    words = binary.split() if isinstance(binary, str) else [str(w) for w in binary or ()]
    if words and os.path.basename(words[0]) == "env":
        words = words[1:]
    return not words or os.path.basename(words[0]) in NO_OPS


@register(Tags.staticfiles)
def check_pipeline(app_configs=None, **kwargs):
    conf = _pipeline_in_development()
    if conf is None:
        return []
    found = []
    if conf.get("PIPELINE_COLLECTOR_ENABLED", True):
        found.append(
            Warning(
                "django-pipeline's collector is enabled: each page render walks every static "
                "file and copies it into STATIC_ROOT, which sluice keeps in step already.",
                hint='Set PIPELINE["PIPELINE_COLLECTOR_ENABLED"] = False in the development '
                "settings and run `sluice watch` (or `sluice dev`).",
                id="sluice.W001",
            )
        )
    for compiler in conf.get("COMPILERS", ()) or ():
        if compiler not in COMPILER_BINARIES:
            continue
        key, default, suffix = COMPILER_BINARIES[compiler]
        binary = conf.get(key, default)
        if _is_no_op(binary):
            continue
        found.append(
            Warning(
                f"django-pipeline runs {key} ({binary!r}) for every {suffix} bundle member on "
                "each render in development, over the output sluice compiles.",
                hint=f'Set PIPELINE["{key}"] = "true" (a no-op) in the development settings: '
                f"sluice compiles {suffix} sources itself and pipeline's tags link its output.",
                id="sluice.W002",
            )
        )
    return found


@register(Tags.staticfiles)
def check_static_folders(app_configs=None, **kwargs):
    found = []
    if not getattr(settings, "STATIC_ROOT", None):
        found.append(
            Warning(
                "STATIC_ROOT is not set: sluice has no folder to write to, and whitenoise "
                "none to serve from.",
                hint='Set STATIC_ROOT (e.g. BASE_DIR / "static"), or `output` in sluice.toml.',
                id="sluice.W003",
            )
        )
    for entry in getattr(settings, "STATICFILES_DIRS", ()) or ():
        path = entry[1] if isinstance(entry, (list, tuple)) else entry
        if not os.path.isdir(path):
            found.append(
                Warning(
                    f"STATICFILES_DIRS has {os.fspath(path)!r}, which is not a folder: sluice "
                    "has no files from it.",
                    hint="Create the folder, or remove the entry from STATICFILES_DIRS.",
                    id="sluice.W004",
                )
            )
    return found
