"""Bundle name -> URL (and subresource integrity) for the template tags and Jinja2 globals.

The names come from `sluice.json`, which sluice writes into STATIC_ROOT beside
`staticfiles.json`: `sluice sync`/`watch`/`dev` list the bundles, `sluice build` adds the
`sha384` of each stylesheet and script under the name the storage serves. So the binary that
builds the bundles is the one place that resolves the configuration (django-pipeline's
PIPELINE, static-bundles.json, [bundles.*] in sluice.toml or [tool.sluice]); the record
deploys with the build output, needs no sluice.toml or sources in production, and costs one
small JSON read per process (a `stat` per render where the storage is local, so a running
`sluice watch` is seen at once).

Development or production is the staticfiles storage's own rule, the one `{% static %}`
follows: URLs come from `staticfiles_storage.url(output)`, so with DEBUG on (or a plain
storage) they name the file sluice keeps fresh in development, and with a manifest storage
and DEBUG off the hashed name in `staticfiles.json` (whitenoise serves it unchanged).
`integrity` and `crossorigin="anonymous"` are rendered when DEBUG is off and the record has
a digest for the very name the storage serves (a stale record gives no attribute, never a
wrong one).
"""

import json
import os
import threading

from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.utils.html import format_html

RECORD_NAME = "sluice.json"
RECORD_VERSION = 1


class BundleError(LookupError):
    """A bundle the templates ask for that sluice's record does not have."""


_lock = threading.Lock()
_cached = {}  # "record" -> (key, record)


def _record_key():
    """(path, mtime_ns, size) of a local record, `None` for a remote storage."""
    try:
        path = staticfiles_storage.path(RECORD_NAME)
    except NotImplementedError:
        return None
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        raise BundleError(
            f"{path} does not exist: run `sluice sync` (development) or `sluice build` "
            "(production), which write it into STATIC_ROOT"
        ) from None
    return (path, stat.st_mtime_ns, stat.st_size)


def load_record():
    """sluice's record in STATIC_ROOT, read again when a local file changed."""
    key = _record_key()
    with _lock:
        cached = _cached.get("record")
        if cached is not None and (key is None or cached[0] == key):
            return cached[1]
        try:
            with staticfiles_storage.open(RECORD_NAME) as f:
                record = json.loads(f.read().decode("utf-8"))
        except FileNotFoundError:
            raise BundleError(
                f"{RECORD_NAME} is not in the static files storage: run `sluice build`"
            ) from None
        if not isinstance(record, dict) or record.get("sluice") != RECORD_VERSION:
            raise BundleError(f"{RECORD_NAME} in STATIC_ROOT was not written by this sluice")
        _cached["record"] = (key, record)
        return record


def served_name(logical):
    """The name the storage serves for `logical` (the hashed one for a manifest storage)."""
    stored_name = getattr(staticfiles_storage, "stored_name", None)
    if stored_name is None:
        return logical
    try:
        return stored_name(logical)
    except ValueError:
        return None


def integrity(logical, record=None):
    """`sha384-…` for `logical` when pages load it with integrity, else `None`."""
    if settings.DEBUG:
        return None
    record = record if record is not None else load_record()
    entry = (record.get("files") or {}).get(logical)
    if not entry or entry.get("name") != served_name(logical):
        return None
    return entry.get("integrity")


def bundle(kind, name):
    """`(url, integrity or None)` of the `kind` ("css"/"js") bundle `name`."""
    record = load_record()
    bundles = (record.get("bundles") or {}).get(kind) or {}
    output = bundles.get(name)
    if output is None:
        known = ", ".join(sorted(bundles)) or "none"
        raise BundleError(
            f'no {kind} bundle "{name}" in {RECORD_NAME} (its {kind} bundles: {known}); '
            "define it (PIPELINE, static-bundles.json or [bundles.*]) and run sluice again"
        )
    return staticfiles_storage.url(output), integrity(output, record)


def _sri(digest):
    if not digest:
        return ""
    return format_html(' integrity="{}" crossorigin="anonymous"', digest)


def css_tag(name):
    """`<link rel="stylesheet">` for the CSS bundle `name`."""
    url, digest = bundle("css", name)
    return format_html('<link href="{}" rel="stylesheet"{}>', url, _sri(digest))


def js_tag(name):
    """`<script>` for the JS bundle `name`."""
    url, digest = bundle("js", name)
    return format_html('<script src="{}"{}></script>', url, _sri(digest))
