"""`manage.py sluice ARGS`: runs `sluice ARGS`, the binary installed with this package.

The arguments go to sluice untouched (`manage.py sluice build --no-minify`), but for
manage.py's own `--settings` and `--pythonpath`, which reach sluice as `DJANGO_SETTINGS_MODULE`
and `PYTHONPATH`. The settings module is the one manage.py chose, and when this
Python runs in a virtualenv that is not activated, sluice sees it as activated
(`VIRTUAL_ENV`, its `bin` first on `PATH`), so it reads the settings with this interpreter.
"""

import argparse
import os
import subprocess
import sys

from django.core.management.base import BaseCommand, CommandError

from sluice._find_sluice import find_sluice_bin


def _split_django_options(args):
    """sluice's arguments, and the `--pythonpath` values, without the `--settings` and
    `--pythonpath` options manage.py already applied (the settings are in the environment)."""
    kept, paths = [], []
    it = iter(args)
    for arg in it:
        name, eq, value = arg.partition("=")
        if name in ("--settings", "--pythonpath"):
            if not eq:
                value = next(it, "")
            if name == "--pythonpath":
                paths.append(value)
            continue
        kept.append(arg)
    return kept, paths


def _environment(pythonpath=()):
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join([*pythonpath, env.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        )
    if not env.get("VIRTUAL_ENV") and sys.prefix != sys.base_prefix:
        env["VIRTUAL_ENV"] = sys.prefix
        scripts = os.path.dirname(sys.executable)
        env["PATH"] = os.pathsep.join([scripts, env.get("PATH", "")])
    return env


class Command(BaseCommand):
    help = "Run sluice (sync, watch, dev, build, config, init) with this project's settings."

    def run_from_argv(self, argv):
        # Django's option parser would reject sluice's flags: everything after the command
        # name is sluice's.
        sluice = find_sluice_bin()
        rest, pythonpath = _split_django_options(argv[2:])
        args, env = [sluice, *rest], _environment(pythonpath)
        if sys.platform == "win32":
            sys.exit(subprocess.run(args, env=env).returncode)
        os.execve(sluice, args, env)

    def add_arguments(self, parser):
        parser.add_argument("args", nargs=argparse.REMAINDER)

    def handle(self, *args, **options):
        # call_command("sluice", "build"): run it and report a failure as Django does.
        code = subprocess.run([find_sluice_bin(), *args], env=_environment()).returncode
        if code != 0:
            raise CommandError(f"sluice {' '.join(args)} exited with {code}", returncode=code)
