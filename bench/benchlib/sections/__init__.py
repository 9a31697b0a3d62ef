"""Benchmark sections, each selectable with `bench/run --only NAME`.

A section is a function `run(ctx)` that times its cases (interleaved, see
`common.interleave`), stores raw numbers in `ctx.results[name]` and appends lines of the final
block to `ctx.summary`. To add one, write `sections/<name>.py` with such a function and list it
in SECTIONS below; `bench/run` knows nothing else about it.
"""

from . import build, pipeline, sync, watch

# name → (run function or None while planned, one-line description)
SECTIONS = {
    "sync": (sync.run, "cold/warm `sluice sync` vs `cp -a` and `collectstatic`"),
    "watch": (watch.run, "`sluice watch` (native, --poll) vs gulp-watch / chokidar: ready, "
                         "edit latency, RSS, idle CPU"),
    "build": (build.run, "cold/warm `sluice build` vs ManifestStaticFilesStorage and whitenoise"),
    "pipeline": (pipeline.run, "cold/warm `sluice build --no-minify` vs collectstatic with "
                               "django-pipeline (no compressor, pure-Python compressors)"),
    # Planned (issues to come); listed so `--only` and `--help` name them already.
    "minify": (None, "CSS/JS minification vs esbuild"),
}
