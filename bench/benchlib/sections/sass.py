"""sass: the cost of one Sass compile — sluice's dart-sass (Embedded Sass protocol, one process
kept running, as `sluice watch`/`dev` keep it) vs grass (in-process, the fallback) vs the
`sass` npm package's command (`npx sass`, dart-sass compiled to JavaScript, a fresh node per
compile, as a build script runs it).

Inputs: @mozilla-protocol/core 22's `protocol.scss` and bootstrap 5.3's `scss/bootstrap.scss`,
from npm (pinned, with `sass` and `sass-embedded` 1.108.2). sluice's two engines run through the
`sass` example of sluice-assets (release): one process per engine compiling the file `--runs`
times; its first compile includes dart-sass's start. Reported: medians and ratios.
"""

import json
import os

from ..common import npm_install, REPO_ROOT, fmt_time, interleave, log, median, run_checked, timed
from ..prepare import VENV_ROOT

NODE_DIR = os.path.join(VENV_ROOT, "sass")          # ~/.cache/sluice-bench/sass
PACKAGES = ["sass@1.108.2", "sass-embedded@1.108.2", "bootstrap@5.3.9",
            "@mozilla-protocol/core@22.0.0"]
FILES = {"protocol.scss": "@mozilla-protocol/core/protocol/css/protocol.scss",
         "bootstrap.scss": "bootstrap/scss/bootstrap.scss"}


def ensure_inputs():
    return npm_install(NODE_DIR, PACKAGES, "sass", "sass and the inputs")


def build_example():
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO_ROOT, "target")
    log("building the sass example (cargo build --release -p sluice-assets --example sass) …")
    run_checked(["cargo", "build", "--release", "-p", "sluice-assets", "--example", "sass"],
                cwd=REPO_ROOT, what="cargo build")
    return os.path.join(target, "release", "examples", "sass")


def run(ctx):
    modules = ensure_inputs()
    example = build_example()
    runs = max(ctx.runs, 3)
    result = {}
    lines = [f"sass (one compile; sluice's engines in one process, {runs} compiles each; "
             f"npx sass: a fresh node per compile)",
             f"  {'file':<16}{'dart-sass 1st':>14}{'dart-sass':>11}{'grass':>9}{'npx sass':>10}"
             f"{'grass/dart':>12}{'npx/dart':>10}"]
    for name, rel in FILES.items():
        path = os.path.join(modules, rel)
        engines = {}
        for engine in ("dart", "grass"):
            out = run_checked([example, engine, str(runs), path, modules], what=f"sass {engine}")
            engines[engine] = json.loads(out.strip().splitlines()[-1])["seconds"]
        npx = [os.path.join(modules, ".bin", "sass"), "--no-source-map", "--quiet",
               "--load-path", modules, path, os.path.join(NODE_DIR, name + ".css")]
        run_checked(npx, what="npx sass")   # warm-up, untimed
        samples = interleave(runs, [("npx sass", None, lambda: timed(npx, what="npx sass"))],
                             log_prefix="sass ")
        dart_first, dart_warm = engines["dart"][0], median(engines["dart"][1:])
        grass = median(engines["grass"])
        node = median([s.wall for s in samples["npx sass"]])
        result[name] = {"dart_first_s": dart_first, "dart_warm_s": dart_warm, "grass_s": grass,
                        "npx_sass_s": node, "dart_all_s": engines["dart"],
                        "grass_all_s": engines["grass"]}
        lines.append(f"  {name:<16}{fmt_time(dart_first, 14)}{fmt_time(dart_warm, 11)}"
                     f"{fmt_time(grass, 9)}{fmt_time(node, 10)}{grass / dart_warm:>11.2f}×"
                     f"{node / dart_warm:>9.2f}×")
    ctx.results["sass"] = {"packages": PACKAGES, "runs": runs, "files": result}
    ctx.summary.extend(lines)
