"""A deterministic media tree shaped like bedrock's (DESIGN.md, "Scale to design for"), inside a
minimal Django project that both `collectstatic` and `sluice sync` understand.

Same (N, seed, GENERATOR_VERSION) → same paths and bytes. Trees are cached under
`bench/out/trees/<N>/` with a `.complete` marker; bump GENERATOR_VERSION when the shape changes.
"""

import json
import math
import os
import posixpath
import random
import shutil
import time

from .common import note_deletes

GENERATOR_VERSION = 2   # 2: @import only base sheets (no cycles, depth ≤ 2, as Django needs)
DEFAULT_SEED = 20160401

# Share of files per kind (bedrock 2016: png 1734, jpg 837, less 183, js 153, fonts ~290, svg 70
# of 3414). Sums to 1.
MIX = [
    ("png", 0.50),
    ("jpg", 0.25),
    ("css", 0.035),
    ("less", 0.015),
    ("js", 0.05),
    ("font", 0.09),
    ("svg", 0.02),
    ("misc", 0.04),
]
FONT_EXTS = [("woff2", 40), ("woff", 30), ("ttf", 15), ("eot", 10), ("otf", 5)]
MISC_EXTS = [("ico", 20), ("gif", 25), ("webp", 15), ("json", 10), ("txt", 8), ("pdf", 7),
             ("mp4", 5), ("xml", 5), ("map", 5)]
# Top-level folder per kind, as in bedrock's media/.
TOP = {"png": "img", "jpg": "img", "svg": "img", "css": "css", "less": "css", "js": "js",
       "font": "fonts", "misc": "misc"}
# Log-normal sizes: (median bytes, sigma). Mean ≈ 11 KB per file overall.
SIZES = {"png": (2500, 1.1), "jpg": (7000, 1.0), "css": (3000, 0.9), "less": (2500, 0.9),
         "js": (4000, 1.1), "font": (20000, 0.6), "svg": (1500, 0.8), "misc": (2000, 1.2)}
LARGE_SHARE = 0.0015          # a few large files (images, video, pdf): 0.5–6 MB
LARGE_KINDS = {"png", "jpg", "misc"}
MAX_SIZE = 8_000_000
LEAF_FILES = 25               # files per leaf folder, on average

SECTIONS = ["firefox", "mozorg", "privacy", "foundation", "about", "contribute", "careers",
            "newsletter", "security", "mission", "products", "developer", "home", "legal",
            "press", "channel", "releases", "vpn", "pocket", "relay", "monitor", "sync"]
WORDS = ["alpha", "beta", "hero", "icon", "logo", "banner", "card", "grid", "nav", "footer",
         "header", "promo", "feature", "download", "sprite", "badge", "avatar", "thumb", "bg",
         "pattern", "shield", "globe", "fox", "panda", "screenshot", "mobile", "desktop", "tile",
         "intro", "outro", "modal", "button", "arrow", "check", "star", "heart", "cloud", "lock"]

MAGIC = {
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "gif": b"GIF89a",
    "webp": b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    "woff2": b"wOF2\x00\x01\x00\x00",
    "woff": b"wOFF\x00\x01\x00\x00",
    "ttf": b"\x00\x01\x00\x00\x00\x10\x01\x00",
    "otf": b"OTTO\x00\x0c\x00\x80",
    "eot": b"\x00\x00\x01\x00LP",
    "ico": b"\x00\x00\x01\x00\x01\x00",
    "pdf": b"%PDF-1.4\n",
    "mp4": b"\x00\x00\x00\x18ftypmp42",
}

MANAGE_PY = '''#!/usr/bin/env python
"""Django's command-line utility for the sluice benchmark project."""
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
'''

SETTINGS_PY = '''"""Minimal settings for the sluice benchmark: only staticfiles, plain StaticFilesStorage."""
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "sluice-bench-not-secret"
DEBUG = True
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["django.contrib.staticfiles"]
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "media"]
STATIC_ROOT = BASE_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
'''

# collectstatic gets its own STATIC_ROOT so its warm runs and sluice's never see each other's
# output (sluice would treat collectstatic's files as foreign, and the reverse).
SETTINGS_COLLECTSTATIC_PY = '''"""The benchmark settings, with collectstatic writing to its own folder."""
from .settings import *  # noqa: F401,F403
from .settings import BASE_DIR

STATIC_ROOT = BASE_DIR / "static-collectstatic"
'''

# The bench compares with tools that copy sources as they are: sluice compiles nothing either
# (the tree's .less files would otherwise need lessc). Sources and output still come from Django.
SLUICE_TOML = "compile = false\n"

PROJECT_FILES = {
    "manage.py": MANAGE_PY,
    "sluice.toml": SLUICE_TOML,
    "benchsite/__init__.py": "",
    "benchsite/settings.py": SETTINGS_PY,
    "benchsite/settings_collectstatic.py": SETTINGS_COLLECTSTATIC_PY,
}


def _weighted(rng, pairs):
    total = sum(w for _, w in pairs)
    x = rng.uniform(0, total)
    for value, w in pairs:
        x -= w
        if x <= 0:
            return value
    return pairs[-1][0]


def _counts(n):
    """Files per kind, exactly n in all (largest remainder)."""
    raw = [(kind, share * n) for kind, share in MIX]
    counts = {kind: int(math.floor(x)) for kind, x in raw}
    rest = n - sum(counts.values())
    for kind, x in sorted(raw, key=lambda kx: kx[1] - math.floor(kx[1]), reverse=True)[:rest]:
        counts[kind] += 1
    return counts


def _size(rng, kind):
    if kind in LARGE_KINDS and rng.random() < LARGE_SHARE:
        return rng.randint(500_000, 6_000_000)
    median, sigma = SIZES[kind]
    return max(64, min(MAX_SIZE, int(rng.lognormvariate(math.log(median), sigma))))


def plan(n, seed):
    """[(relative path, kind, ext, size)] for n files, deterministic in (n, seed)."""
    rng = random.Random(seed)
    files = []
    for kind, count in _counts(n).items():
        leaves = max(1, round(count / LEAF_FILES))
        per_leaf = [count // leaves + (1 if i < count % leaves else 0) for i in range(leaves)]
        for leaf, k in enumerate(per_leaf):
            section = SECTIONS[leaf % len(SECTIONS)]
            depth = rng.choice([1, 2, 2, 3])
            parts = [TOP[kind], section]
            for d in range(depth - 1):
                parts.append(rng.choice(WORDS))
            parts.append(f"{rng.choice(WORDS)}-{leaf:04d}")
            folder = "/".join(parts)
            names = set()
            for i in range(k):
                if kind == "font":
                    ext = _weighted(rng, FONT_EXTS)
                elif kind == "misc":
                    ext = _weighted(rng, MISC_EXTS)
                else:
                    ext = kind
                name = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}-{i:02d}.{ext}"
                names.add(name)
                files.append((f"{folder}/{name}", kind, ext, _size(rng, kind)))
    files.sort()
    return files


# The "refs" shape: the tree the issue's Django and whitenoise figures were measured on
# (DESIGN reference notes, "Timing"): text-heavy, every stylesheet full of references, which
# is where ManifestStaticFilesStorage's passes spend their time. Per 5 000 files: 1 500 CSS
# with 2–25 url() each (60 % also @import a base sheet, so depth ≤ 2), 1 200 JS of which 300
# have a source map beside them, 2 000 images and fonts; sizes log-uniform 1–50 KB.
REFS_MIX = [("css", 0.30), ("js", 0.30), ("png", 0.20), ("jpg", 0.10), ("font", 0.10)]
REFS_MAPPED_JS = 0.25          # of the JS files (300 of 1 200): a `.js.map` beside them


def _size_refs(rng):
    return int(math.exp(rng.uniform(math.log(1000), math.log(50000))))


def plan_refs(n, seed):
    """[(relative path, kind, ext, size)] for the "refs" shape; maps are added by the writer."""
    rng = random.Random(seed)
    files = []
    counts = {kind: int(share * n) for kind, share in REFS_MIX}
    counts["png"] += n - sum(counts.values()) - round(counts["js"] * REFS_MAPPED_JS)
    for kind, count in counts.items():
        leaves = max(1, round(count / LEAF_FILES))
        for i in range(count):
            leaf = i % leaves
            folder = (f"{TOP[kind]}/{SECTIONS[leaf % len(SECTIONS)]}/"
                      f"{WORDS[leaf % len(WORDS)]}-{leaf:04d}")
            ext = _weighted(rng, FONT_EXTS) if kind == "font" else kind
            files.append((f"{folder}/{rng.choice(WORDS)}-{i:05d}.{ext}", kind, ext,
                          _size_refs(rng)))
    files.sort()
    return files


def _css_refs(rng, rel, size, images, fonts, bases):
    """A stylesheet with 2–25 url() references; 60 % @import a base sheet (which imports
    nothing)."""
    here = posixpath.dirname(rel)

    def ref(target):
        return posixpath.relpath(target, here)

    head = []
    if bases and rel not in bases and rng.random() < 0.6:
        head.append(f'@import "{ref(rng.choice(bases))}";')
    refs = rng.randint(2, 25)
    targets = images + fonts

    def plain(r):
        return (f".{r.choice(WORDS)}-{r.choice(WORDS)} {{\n  margin: {r.randint(0, 40)}px;\n"
                f"  color: #{r.randrange(0x1000000):06x};\n}}")

    body = []
    total = sum(len(h) + 1 for h in head)
    for _ in range(refs):
        target = ref(rng.choice(targets))
        url = (f"url({target})", f"url('{target}')", f'url("{target}")')[rng.randrange(3)]
        body.append(f".{rng.choice(WORDS)}-{rng.choice(WORDS)} {{\n  background: {url} "
                    "no-repeat;\n}")
        total += len(body[-1]) + 1
    while total < size:
        # Plain rules, the references spread among them.
        rule = plain(rng)
        body.insert(rng.randrange(len(body) + 1), rule)
        total += len(rule) + 1
    return "\n".join(head + body) + "\n"


def _filler_text(rng, size, line):
    """Text of about `size` bytes made of lines from `line(rng)`."""
    out, total = [], 0
    while total < size:
        s = line(rng)
        out.append(s)
        total += len(s) + 1
    return "\n".join(out) + "\n"


def _css(rng, rel, size, images, fonts, sheets):
    here = posixpath.dirname(rel)

    def ref(target):
        return posixpath.relpath(target, here)

    head = []
    if sheets and rel not in sheets and rng.random() < 0.3:
        head.append(f'@import "{ref(rng.choice(sheets))}";')
    if fonts and rng.random() < 0.4:
        family = rng.choice(WORDS).title()
        woff2, woff = rng.choice(fonts), rng.choice(fonts)
        head.append(
            "@font-face {\n"
            f"  font-family: '{family}';\n"
            f"  src: url('{ref(woff2)}') format('woff2'),\n"
            f"       url(\"{ref(woff)}\") format('woff');\n"
            "}"
        )

    def rule(r):
        sel = f".{r.choice(WORDS)}-{r.choice(WORDS)}"
        props = [f"  margin: {r.randint(0, 40)}px {r.randint(0, 40)}px;",
                 f"  color: #{r.randrange(0x1000000):06x};"]
        if images and r.random() < 0.5:
            style = r.randrange(3)
            target = ref(r.choice(images))
            url = (f"url({target})", f"url('{target}')", f'url("{target}")')[style]
            props.append(f"  background: {url} no-repeat;")
        return f"{sel} {{\n" + "\n".join(props) + "\n}"

    body = _filler_text(rng, max(0, size - sum(len(h) for h in head)), rule)
    return "\n".join(head + [body])


def _less(rng, rel, size, images, fonts, sheets):
    css = _css(rng, rel, size, images, fonts, [])
    return f"@brand: #{rng.randrange(0x1000000):06x};\n.mixin() {{ color: @brand; }}\n" + css


def _js(rng, rel, size):
    def line(r):
        a, b = r.choice(WORDS), r.choice(WORDS)
        return (f"function {a}_{b}{r.randint(0, 999)}(el, opts) {{ "
                f"var x = el.querySelector('.{a}'); if (x) {{ x.classList.add('{b}'); }} "
                f"return opts && opts.{a} ? {r.randint(0, 9999)} : null; }}")

    return "(function () {\n'use strict';\n" + _filler_text(rng, size, line) + "})();\n"


def _svg(rng, size):
    def line(r):
        return (f'  <path d="M{r.randint(0, 99)} {r.randint(0, 99)}L{r.randint(0, 99)} '
                f'{r.randint(0, 99)}Z" fill="#{r.randrange(0x1000000):06x}"/>')

    return ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">\n'
            + _filler_text(rng, size, line) + "</svg>\n")


def _text(rng, ext, size):
    if ext == "json":
        return json.dumps({"items": [rng.choice(WORDS) for _ in range(max(1, size // 9))]})
    if ext == "map":
        return json.dumps({"version": 3, "sources": [], "names": [],
                           "mappings": ";".join("AAAA" for _ in range(max(1, size // 5)))})
    if ext == "xml":
        return "<?xml version='1.0'?>\n<r>\n" + _filler_text(
            rng, size, lambda r: f"  <i>{r.choice(WORDS)}</i>") + "</r>\n"
    return _filler_text(rng, size, lambda r: " ".join(r.choice(WORDS) for _ in range(12)))


def _binary(rng, ext, size):
    magic = MAGIC.get(ext, b"")
    return magic + rng.randbytes(max(0, size - len(magic)))


def _write_project(project):
    """Writes the Django project files, leaving identical ones untouched (mtime kept, so sluice's
    cached answer from Django stays valid)."""
    for rel, text in PROJECT_FILES.items():
        path = os.path.join(project, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            with open(path, encoding="utf-8") as f:
                if f.read() == text:
                    continue
        except FileNotFoundError:
            pass
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)


SHAPES = ("bedrock", "refs")


def ensure_tree(out_dir, n, seed=DEFAULT_SEED, log=print, shape="bedrock"):
    """The project for n files under out_dir/trees/<n>/ (`refs-<n>` for the "refs" shape),
    generated unless already complete. Returns (project dir, summary dict)."""
    name = str(n) if shape == "bedrock" else f"{shape}-{n}"
    project = os.path.join(out_dir, "trees", name)
    marker = os.path.join(project, ".complete")
    want = {"generator": GENERATOR_VERSION, "seed": seed, "files": n}
    if shape != "bedrock":
        want["shape"] = shape
    try:
        with open(marker, encoding="utf-8") as f:
            have = json.load(f)
        if all(have.get(k) == v for k, v in want.items()):
            _write_project(project)
            return project, have
    except (FileNotFoundError, ValueError):
        pass

    log(f"generating {n} files (seed {seed}) in {project} …")
    started = time.perf_counter()
    if os.path.exists(project):
        shutil.rmtree(project)
        note_deletes()
    files = plan(n, seed) if shape == "bedrock" else plan_refs(n, seed)
    images = [p for p, kind, _, _ in files if kind in ("png", "jpg", "svg")]
    fonts = [p for p, _, ext, _ in files if ext in ("woff2", "woff")]
    sheets = [p for p, _, ext, _ in files if ext == "css"]
    bases = set(sheets[::5])   # "refs": a fifth of the sheets are imported, and import nothing
    base_list = sorted(bases)
    scripts = [p for p, _, ext, _ in files if ext == "js"]
    mapped = set(scripts[::round(1 / REFS_MAPPED_JS)]) if shape == "refs" else set()
    media = os.path.join(project, "media")
    made = set()
    total = 0
    by_ext = {}
    files_extra = []
    for i, (rel, kind, ext, size) in enumerate(files):
        rng = random.Random(f"{seed}:{rel}")  # per file: content independent of the others
        if kind == "css" and shape == "refs":
            data = _css_refs(rng, rel, size, images, fonts, base_list).encode()
        elif kind == "css":
            # Only base sheets are imported, and they import nothing: Django's manifest
            # storage gives up on an import cycle and on chains deeper than its 5 passes.
            data = _css(rng, rel, size, images, fonts,
                        [] if rel in bases else base_list).encode()
        elif kind == "js" and rel in mapped:
            name = posixpath.basename(rel)
            data = (_js(rng, rel, size) + f"//# sourceMappingURL={name}.map\n").encode()
            files_extra.append((rel + ".map", json.dumps({
                "version": 3, "file": name, "sources": [name], "names": [],
                "mappings": ";".join("AAAA" for _ in range(max(1, size // 60)))}).encode()))
        elif kind == "less":
            data = _less(rng, rel, size, images, fonts, sheets).encode()
        elif kind == "js":
            data = _js(rng, rel, size).encode()
        elif kind == "svg":
            data = _svg(rng, size).encode()
        elif ext in ("json", "map", "xml", "txt"):
            data = _text(rng, ext, size).encode()
        else:
            data = _binary(rng, ext, size)
        path = os.path.join(media, *rel.split("/"))
        folder = os.path.dirname(path)
        if folder not in made:
            os.makedirs(folder, exist_ok=True)
            made.add(folder)
        with open(path, "wb") as f:
            f.write(data)
        total += len(data)
        by_ext[ext] = by_ext.get(ext, 0) + 1
        for extra_rel, extra in files_extra:
            with open(os.path.join(media, *extra_rel.split("/")), "wb") as f:
                f.write(extra)
            total += len(extra)
            by_ext["map"] = by_ext.get("map", 0) + 1
        files_extra.clear()
        if (i + 1) % 10000 == 0:
            log(f"  {i + 1}/{n} files, {total / 1e6:.0f} MB")
    _write_project(project)
    summary = dict(want, bytes=total, folders=len(made), by_ext=dict(sorted(by_ext.items())),
                   seconds=round(time.perf_counter() - started, 1))
    with open(marker, "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    log(f"  done: {n} files, {total / 1e6:.0f} MB in {len(made)} folders, {summary['seconds']} s")
    return project, summary
