"""`manage.py sluice ARGS`: runs `sluice ARGS`, the binary installed with this package.

The arguments go to sluice untouched (`manage.py sluice build --no-minify`). The settings
module is the one manage.py chose (`DJANGO_SETTINGS_MODULE` is inherited), and when this
Python runs in a virtualenv that is not activated, sluice sees it as activated
(`VIRTUAL_ENV`, its `bin` first on `PATH`), so it reads the settings with this interpreter.
"""

import argparse
import os
import subprocess
import sys

from django.core.management.base import BaseCommand, CommandError

from sluice._find_sluice import find_sluice_bin


def _environment():
    env = dict(os.environ)
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
        args = [sluice, *argv[2:]]
        if sys.platform == "win32":
            sys.exit(subprocess.run(args, env=_environment()).returncode)
        os.execve(sluice, args, _environment())

    def add_arguments(self, parser):
        parser.add_argument("args", nargs=argparse.REMAINDER)

    def handle(self, *args, **options):
        # call_command("sluice", "build"): run it and report a failure as Django does.
        code = subprocess.run([find_sluice_bin(), *args], env=_environment()).returncode
        if code != 0:
            raise CommandError(f"sluice {' '.join(args)} exited with {code}", returncode=code)
