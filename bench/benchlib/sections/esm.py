"""esm: ES-module bundles (rolldown in sluice) versus esbuild from npm, on the same entries.

A bedrock-shaped project (made under ~/.cache/sluice-bench/esm/project): a
`static-bundles.json` of BUNDLES bundles of `.es6.js` entries, each importing
`@mozilla-protocol/core`'s scripts (UMD) and functions of `lodash-es` (ESM, 600+ modules) and
a few local modules. Both tools bundle every entry as an IIFE, minified, with source maps:
sluice as `sluice build --no-hash --no-compress` (cold: no `.sluice/`, no output), esbuild as
one process with every bundle's entry. Dev: after one local module is edited, `sluice sync`
(warm record: only the bundles importing it are rebuilt, unminified with maps) versus esbuild
rebuilding the same bundles unminified with maps (fresh process; esbuild's CLI keeps no state
between runs). Reported: medians, ratios, and the gzip -9 size of all bundles (goal: ≤
esbuild's). Each tool's bundles are checked to run (`node --check`).
"""

import gzip
import json
import os
import shutil

from ..common import (npm_install, fmt_time, interleave, log, median, run_checked, sample_table,
                      timed)
from ..prepare import VENV_ROOT

NODE_DIR = os.path.join(VENV_ROOT, "esm")            # ~/.cache/sluice-bench/esm
PACKAGES = ["esbuild@0.28.2", "@mozilla-protocol/core@22.0.0", "lodash-es@4.17.21"]
BUNDLES = 12
PROTOCOL = ["details", "footer", "menu", "modal", "navigation", "notification-bar",
            "sidemenu", "lang-switcher", "newsletter", "sticky-promo"]
LODASH = ["chunk", "debounce", "throttle", "kebabCase", "uniq", "groupBy", "sortBy", "merge",
          "cloneDeep", "template", "escape", "pick", "omit", "flatten", "range", "sum"]


def ensure_packages():
    modules = npm_install(NODE_DIR, PACKAGES, "esm", "esbuild and the packages")
    version = run_checked([os.path.join(modules, ".bin", "esbuild"), "--version"]).strip()
    return modules, version


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def make_project(modules):
    """The project: BUNDLES bundles, bundle i importing a rotating pick of protocol's scripts and
    lodash's functions, and the shared local modules js/lib/*.es6.js."""
    p = os.path.join(NODE_DIR, "project")
    shutil.rmtree(p, ignore_errors=True)
    media = os.path.join(p, "media")
    for k in range(4):
        write(os.path.join(media, "js", "lib", f"util{k}.es6.js"),
              f"export const version{k} = 'v{k}';\n"
              f"export function tag{k}(el, name) {{ el.classList.add(name + '-{k}'); return el; }}\n"
              f"export function unused{k}() {{ return 'never-used-{k}'; }}\n")
    bundles = []
    for i in range(BUNDLES):
        picks = [PROTOCOL[(i + j) % len(PROTOCOL)] for j in range(3)]
        funcs = [LODASH[(i + j) % len(LODASH)] for j in range(4)]
        util = i % 4
        lines = [f"import Mzp{n.replace('-', '_')} from '@mozilla-protocol/core/protocol/js/{n}';"
                 for n in picks]
        lines.append(f"import {{ {', '.join(funcs)} }} from 'lodash-es';")
        lines.append(f"import {{ version{util}, tag{util} }} from '../lib/util{util}.es6.js';")
        lines.append(f"window.bundle{i} = {{ version: version{util}, "
                     + ", ".join(f"{f}: typeof {f}" for f in funcs) + " };")
        lines += [f"window.Mzp{n.replace('-', '_')} = Mzp{n.replace('-', '_')};" for n in picks]
        lines.append(f"tag{util}(document.body, 'bundle{i}');")
        write(os.path.join(media, "js", "pages", f"page{i}.es6.js"), "\n".join(lines) + "\n")
        bundles.append({"name": f"page{i}", "files": [f"js/pages/page{i}.es6.js"]})
    write(os.path.join(media, "static-bundles.json"), json.dumps({"css": [], "js": bundles}))
    write(os.path.join(p, "sluice.toml"),
          'sources = ["media"]\noutput = "static"\nstatic_bundles = "media/static-bundles.json"\n')
    os.symlink(modules, os.path.join(p, "node_modules"))
    return p


def gzip_total(folder):
    total = raw = 0
    for name in sorted(os.listdir(folder)):
        if name.endswith(".js"):
            with open(os.path.join(folder, name), "rb") as f:
                data = f.read()
            raw += len(data)
            total += len(gzip.compress(data, 9))
    return raw, total


def run(ctx):
    modules, esbuild_version = ensure_packages()
    p = make_project(modules)
    esbuild = os.path.join(modules, ".bin", "esbuild")
    entries = [os.path.join(p, "media", "js", "pages", f"page{i}.es6.js") for i in range(BUNDLES)]
    # The bundles that import util0: edited in the dev case.
    edited = os.path.join(p, "media", "js", "lib", "util0.es6.js")
    importers = [e for i, e in enumerate(entries) if i % 4 == 0]
    sluice_out = os.path.join(p, "static", "js", "BUNDLES")
    esbuild_out = os.path.join(p, "esbuild-out")
    esbuild_dev_out = os.path.join(p, "esbuild-dev")
    counter = [0]

    def clean_sluice():
        shutil.rmtree(os.path.join(p, "static"), ignore_errors=True)
        shutil.rmtree(os.path.join(p, ".sluice"), ignore_errors=True)

    def clean_esbuild():
        shutil.rmtree(esbuild_out, ignore_errors=True)

    def edit():
        counter[0] += 1
        with open(edited, encoding="utf-8") as f:
            text = f.read().split("\n// edit")[0]
        write(edited, text + f"\n// edit {counter[0]}\n")

    cold = [
        ("sluice build (cold)", clean_sluice,
         lambda: timed([ctx.sluice, "-q", "build", "--no-hash", "--no-compress"], cwd=p,
                       what="sluice build")),
        ("esbuild (cold)", clean_esbuild,
         lambda: timed([esbuild, *entries, "--bundle", "--minify", "--sourcemap", "--format=iife",
                        "--log-level=error", "--outdir=" + esbuild_out], cwd=p, what="esbuild")),
    ]
    for _, prepare, command in cold:   # warm-up, untimed
        prepare()
        command()
    run_checked([ctx.sluice, "-q", "sync"], cwd=p, what="sluice sync (first)")
    dev = [
        ("sluice sync (1 module edited)", edit,
         lambda: timed([ctx.sluice, "-q", "sync"], cwd=p, what="sluice sync")),
        ("esbuild dev (same bundles)", edit,
         lambda: timed([esbuild, *importers, "--bundle", "--sourcemap", "--format=iife",
                        "--log-level=error", "--outdir=" + esbuild_dev_out], cwd=p,
                       what="esbuild dev")),
    ]
    log(f"esm: {ctx.runs} timed rounds, interleaved …")
    samples = interleave(ctx.runs, cold, log_prefix="esm cold ")
    # The dev rounds run on the sync output; the build output is made again for the sizes.
    samples.update(interleave(ctx.runs, dev, log_prefix="esm dev "))
    sample_table(samples)
    clean_sluice()
    run_checked([ctx.sluice, "-q", "build", "--no-hash", "--no-compress"], cwd=p, what="sluice build")
    clean_esbuild()
    run_checked([esbuild, *entries, "--bundle", "--minify", "--sourcemap", "--format=iife",
                 "--log-level=error", "--outdir=" + esbuild_out], cwd=p, what="esbuild")
    for folder in (sluice_out, esbuild_out):
        for name in os.listdir(folder):
            if name.endswith(".js"):
                run_checked(["node", "--check", os.path.join(folder, name)], what="node --check")
    ours, theirs = gzip_total(sluice_out), gzip_total(esbuild_out)
    wall = {name: median([s.wall for s in xs]) for name, xs in samples.items()}
    cold_ratio = wall["sluice build (cold)"] / wall["esbuild (cold)"]
    dev_ratio = wall["sluice sync (1 module edited)"] / wall["esbuild dev (same bundles)"]
    size_ratio = ours[1] / theirs[1]
    ctx.results["esm"] = {"esbuild": esbuild_version, "packages": PACKAGES, "bundles": BUNDLES,
                          "wall_s": wall, "sluice_bytes": ours, "esbuild_bytes": theirs,
                          "met": {"size": ours[1] <= theirs[1]}}

    def ok(b):
        return "ok" if b else "MISSED"

    ctx.summary += [
        f"esm ({BUNDLES} bedrock-shaped .es6.js bundles importing @mozilla-protocol/core and "
        f"lodash-es; esbuild {esbuild_version})",
        f"  cold build (minified, maps): sluice {fmt_time(wall['sluice build (cold)'], 0).strip()}"
        f" vs esbuild {fmt_time(wall['esbuild (cold)'], 0).strip()}: {cold_ratio:.2f}× esbuild's",
        f"  one module edited (dev, {len(importers)} bundles rebuilt): sluice sync "
        f"{fmt_time(wall['sluice sync (1 module edited)'], 0).strip()} vs esbuild "
        f"{fmt_time(wall['esbuild dev (same bundles)'], 0).strip()}: {dev_ratio:.2f}× esbuild's",
        f"  all bundles, gzip -9: sluice {ours[1]:,} B ({ours[0]:,} raw) vs esbuild {theirs[1]:,} B "
        f"({theirs[0]:,} raw): {size_ratio * 100:.1f} % (target ≤ 100 %: {ok(ours[1] <= theirs[1])})",
    ]
