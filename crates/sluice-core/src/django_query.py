# Run by sluice with the project's own Python: imports the Django settings once and prints, as
# one JSON line after a marker, what sluice needs (static roots, URL, storage, PIPELINE) together
# with every file and environment variable the settings consulted, which key sluice's cache.
import builtins
import io
import json
import os
import sys
import sysconfig

MARKER = "SLUICE-DJANGO-JSON:"
project_dir = os.getcwd()
if project_dir not in sys.path:
    sys.path.insert(0, project_dir)

env_seen = {}
opened = set()
_getitem = os._Environ.__getitem__


def _recording_getitem(self, key):
    try:
        value = _getitem(self, key)
    except KeyError:
        env_seen.setdefault(key, None)
        raise
    env_seen.setdefault(key, value)
    return value


os._Environ.__getitem__ = _recording_getitem
_open = builtins.open


def _recording_open(file, *args, **kwargs):
    if isinstance(file, (str, bytes, os.PathLike)):
        try:
            opened.add(os.path.abspath(os.fsdecode(file)))
        except Exception:
            pass
    return _open(file, *args, **kwargs)


builtins.open = _recording_open
io.open = _recording_open

import django  # noqa: E402
from django.conf import settings  # noqa: E402

django.setup()
builtins.open = _open
io.open = _open

from django.apps import apps  # noqa: E402


def json_safe(value):
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return repr(value)


from django.utils.module_loading import import_string  # noqa: E402

dirs = []
for entry in getattr(settings, "STATICFILES_DIRS", []):
    prefix, path = entry if isinstance(entry, (list, tuple)) else (None, entry)
    dirs.append([prefix, os.path.abspath(os.fspath(path))])

app_dirs = []
app_paths = []
for config in apps.get_app_configs():
    path = os.path.join(config.path, "static")
    app_paths.append(config.path)
    if os.path.isdir(path):
        app_dirs.append([config.label, path])


def subclass_of(cls, *paths):
    for path in paths:
        try:
            if issubclass(cls, import_string(path)):
                return True
        except Exception:
            pass
    return False


# What each finder is, as collectstatic would use it: the roots it walks, in order, and the
# extra patterns it ignores (django-pipeline's filtering finders).
FINDER_KINDS = [
    ("filesystem", "django.contrib.staticfiles.finders.FileSystemFinder"),
    ("app_directories", "django.contrib.staticfiles.finders.AppDirectoriesFinder"),
    ("pipeline", "pipeline.finders.PipelineFinder"),
    ("pipeline", "pipeline.finders.ManifestFinder"),
    ("pipeline", "pipeline.finders.CachedFileFinder"),
    ("default_storage", "django.contrib.staticfiles.finders.DefaultStorageFinder"),
]
finders = []
for path in getattr(settings, "STATICFILES_FINDERS", []):
    entry = {"class": path, "kind": "unknown", "ignore": []}
    try:
        cls = import_string(path)
    except Exception as e:
        entry["error"] = repr(e)
        finders.append(entry)
        continue
    for kind, base in FINDER_KINDS:
        if subclass_of(cls, base):
            entry["kind"] = kind
            break
    if entry["kind"] in ("filesystem", "app_directories"):
        patterns = getattr(cls, "ignore_patterns", None)
        if isinstance(patterns, (list, tuple)):
            entry["ignore"] = sorted(set(str(p) for p in patterns))
    finders.append(entry)

storages = getattr(settings, "STORAGES", {}) or {}
storage = (storages.get("staticfiles") or {}).get("BACKEND") or getattr(
    settings, "STATICFILES_STORAGE", None
)
storage_features = None
if storage:
    try:
        storage_cls = import_string(storage)
        storage_features = {
            "hashed": subclass_of(
                storage_cls, "django.contrib.staticfiles.storage.HashedFilesMixin"
            ),
            "compressed": subclass_of(
                storage_cls,
                "whitenoise.storage.CompressedStaticFilesStorage",
                "whitenoise.storage.CompressedManifestStaticFilesStorage",
            ),
            "gzip": subclass_of(storage_cls, "pipeline.storage.GZIPMixin"),
            "keep_only_hashed": bool(getattr(settings, "WHITENOISE_KEEP_ONLY_HASHED_FILES", False))
            and subclass_of(storage_cls, "whitenoise.storage.CompressedManifestStaticFilesStorage"),
        }
    except Exception as e:
        storage_features = {"error": repr(e)}
try:
    ignore_patterns = list(apps.get_app_config("staticfiles").ignore_patterns)
except LookupError:
    ignore_patterns = ["CVS", ".*", "*~"]

stdlib = {os.path.realpath(p) for p in (sysconfig.get_paths().get("stdlib"), sys.base_prefix) if p}
files = set(opened)
for module in list(sys.modules.values()):
    path = getattr(module, "__file__", None)
    if path:
        files.add(os.path.abspath(path))
files = sorted(
    f
    for f in files
    if os.path.isfile(f) and not any(os.path.realpath(f).startswith(s + os.sep) for s in stdlib)
)

# The folders the template engines load from (TEMPLATES DIRS, and each app's `templates/` or
# `jinja2/` when APP_DIRS): sluice compiles the sources their `static` references name.
template_dirs = []
try:
    from django.template import engines

    for engine in engines.all():
        for folder in getattr(engine, "template_dirs", ()):
            folder = os.path.abspath(os.fspath(folder))
            if folder not in template_dirs:
                template_dirs.append(folder)
except Exception:
    pass

static_root = getattr(settings, "STATIC_ROOT", None)
answer = {
    "django_version": django.get_version(),
    "settings_file": getattr(sys.modules.get(settings.SETTINGS_MODULE), "__file__", None),
    "static_root": os.path.abspath(os.fspath(static_root)) if static_root else None,
    "static_url": settings.STATIC_URL,
    "staticfiles_dirs": dirs,
    "app_static_dirs": app_dirs,
    "finders": list(getattr(settings, "STATICFILES_FINDERS", [])),
    "finder_kinds": finders,
    "storage": storage,
    "storage_features": storage_features,
    "app_paths": app_paths,
    "ignore_patterns": ignore_patterns,
    "pipeline": json_safe(getattr(settings, "PIPELINE", None)),
    "installed_apps": [c.name for c in apps.get_app_configs()],
    "debug": bool(getattr(settings, "DEBUG", False)),
    "template_dirs": template_dirs,
    "allowed_hosts": [str(h) for h in getattr(settings, "ALLOWED_HOSTS", None) or []],
}
# sluice sets DJANGO_SETTINGS_MODULE itself, and the module is part of the cache key already.
env_seen.pop("DJANGO_SETTINGS_MODULE", None)
print(MARKER + json.dumps({"answer": answer, "files": files, "env": env_seen}))
