"""minify: sluice's JS (oxc) and CSS (lightningcss) minifiers versus esbuild from npm.

Inputs are ~5.5 MB of real library JS and ~1.1 MB of real library CSS from npm (the set of
shared/reference part B): each library wrapped in an IIFE, concatenated into big.js / big.css.
Each tool runs as a fresh process per run (sluice through the `minify` example of
sluice-assets, built in release), both writing a source map and keeping `/*!` comments
inline. Reported: median wall time, output bytes and gzip -9 bytes; both outputs are checked
(`node --check` for JS, a re-minify with esbuild for CSS).
"""

import gzip
import json
import os
import subprocess

from ..common import (npm_install, REPO_ROOT, fmt_time, interleave, log, median, run_checked,
                      sample_table, timed)
from ..prepare import VENV_ROOT

NODE_DIR = os.path.join(VENV_ROOT, "minify")          # ~/.cache/sluice-bench/minify
PACKAGES = ["esbuild@0.28.2", "jquery@3.7.1", "bootstrap@5.3.3", "lodash@4.17.21",
            "d3@7.9.0", "moment@2.30.1", "vue@3.5.13", "react@18.3.1", "react-dom@18.3.1",
            "three@0.170.0", "bulma@1.0.2", "animate.css@4.1.1", "normalize.css@8.0.1"]
JS_FILES = ["jquery/dist/jquery.js", "bootstrap/dist/js/bootstrap.bundle.js", "lodash/lodash.js",
            "d3/dist/d3.js", "moment/min/moment-with-locales.js", "vue/dist/vue.global.js",
            "react/umd/react.development.js", "react-dom/umd/react-dom.development.js",
            "three/build/three.cjs"]
CSS_FILES = ["bootstrap/dist/css/bootstrap.css", "bulma/css/bulma.css",
             "animate.css/animate.css", "normalize.css/normalize.css"]

# Issue 6's targets: no bigger (gzip -9) and no slower than esbuild.


def ensure_inputs():
    modules = npm_install(NODE_DIR, PACKAGES, "minify", "esbuild and the inputs")
    work = os.path.join(NODE_DIR, "inputs")
    os.makedirs(work, exist_ok=True)
    parts = []
    for rel in JS_FILES:
        with open(os.path.join(modules, rel), encoding="utf-8") as f:
            src = f.read()
        if rel.endswith(".cjs"):   # three: CommonJS → one global, so nothing is dead code
            parts.append("(function(){var exports={};\n" + src + "\n;globalThis.THREE=exports;})();\n")
        else:
            parts.append("(function(){\n" + src + "\n}).call(this);\n")
    css = []
    for rel in CSS_FILES:
        with open(os.path.join(modules, rel), encoding="utf-8") as f:
            css.append(f.read())
    js_path, css_path = os.path.join(work, "big.js"), os.path.join(work, "big.css")
    for path, text in ((js_path, "".join(parts)), (css_path, "\n".join(css))):
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    version = run_checked([os.path.join(modules, ".bin", "esbuild"), "--version"]).strip()
    return modules, js_path, css_path, version


def build_example():
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO_ROOT, "target")
    log("building the minify example (cargo build --release -p sluice-assets --example minify) …")
    run_checked(["cargo", "build", "--release", "-p", "sluice-assets", "--example", "minify"],
                cwd=REPO_ROOT, what="cargo build")
    return os.path.join(target, "release", "examples", "minify")


def sizes(path):
    with open(path, "rb") as f:
        data = f.read()
    return len(data), len(gzip.compress(data, 9))


def run(ctx):
    modules, js_in, css_in, esbuild_version = ensure_inputs()
    minify = build_example()
    esbuild = os.path.join(modules, ".bin", "esbuild")
    out = os.path.join(NODE_DIR, "out")
    os.makedirs(out, exist_ok=True)

    def o(name):
        return os.path.join(out, name)

    cases = {
        "sluice js": [minify, "js", js_in, o("sluice.js")],
        "esbuild js": [esbuild, js_in, "--minify", "--sourcemap", "--legal-comments=inline",
                       "--log-level=warning", "--outfile=" + o("esbuild.js")],
        "sluice css": [minify, "css", css_in, o("sluice.css")],
        "esbuild css": [esbuild, css_in, "--minify", "--sourcemap", "--legal-comments=inline",
                        "--log-level=warning", "--outfile=" + o("esbuild.css")],
    }
    for name, cmd in cases.items():   # warm-up, untimed
        run_checked(cmd, cwd=NODE_DIR, what=name)
    samples = interleave(ctx.runs, [(name, None, (lambda c=cmd, n=name: timed(c, cwd=NODE_DIR, what=n)))
                                    for name, cmd in cases.items()], log_prefix="minify ")
    sample_table(samples)
    for js in ("sluice.js", "esbuild.js"):
        run_checked(["node", "--check", o(js)], what=f"node --check {js}")
    for css in ("sluice.css", "esbuild.css"):
        run_checked([esbuild, o(css), "--minify", "--log-level=error", "--outfile=" + o(css + ".re")],
                    what=f"re-parse {css}")

    inputs = {"js": sizes(js_in), "css": sizes(css_in)}
    result = {}
    for name in cases:
        tool, kind = name.split()
        b, g = sizes(o(f"{tool}.{kind}"))
        result[name] = {"wall_s": median([s.wall for s in samples[name]]),
                        "cpu_s": median([s.user + s.sys for s in samples[name]]),
                        "bytes": b, "gzip9": g, "all_wall_s": [s.wall for s in samples[name]]}
    met = {kind: {"size": result[f"sluice {kind}"]["gzip9"] <= result[f"esbuild {kind}"]["gzip9"],
                  "time": result[f"sluice {kind}"]["wall_s"] <= result[f"esbuild {kind}"]["wall_s"]}
           for kind in ("js", "css")}
    ctx.results["minify"] = {"esbuild": esbuild_version, "packages": PACKAGES,
                             "inputs": {k: {"bytes": b, "gzip9": g} for k, (b, g) in inputs.items()},
                             "cases": result, "met": met}

    def ok(b):
        return "ok" if b else "MISSED"

    lines = [f"minify (fresh process per run, source maps on, legal comments kept; esbuild "
             f"{esbuild_version})",
             f"  {'case':<12}{'wall':>9}{'cpu':>9}{'bytes':>12}{'gzip -9':>11}"]
    for name, r in result.items():
        lines.append(f"  {name:<12}{fmt_time(r['wall_s'], 9)}{fmt_time(r['cpu_s'], 9)}"
                     f"{r['bytes']:>12,}{r['gzip9']:>11,}")
    for kind in ("js", "css"):
        s, e = result[f"sluice {kind}"], result[f"esbuild {kind}"]
        lines.append(f"  {kind:<4} input {inputs[kind][0]:,} B (gzip {inputs[kind][1]:,}); "
                     f"gzip {s['gzip9'] / e['gzip9'] * 100:.1f} % of esbuild's "
                     f"(target ≤ 100 %: {ok(met[kind]['size'])}), time "
                     f"{s['wall_s'] / e['wall_s']:.2f}× esbuild's (target ≤ 1: {ok(met[kind]['time'])})")
    ctx.summary.extend(lines)
