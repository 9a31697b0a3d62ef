"""Benchmark sections, each selectable with `bench/run --only NAME`.

A section is a function `run(ctx)` that times its cases (interleaved, see
`common.interleave`), stores raw numbers in `ctx.results[name]` and appends lines of the final
block to `ctx.summary`. To add one, write `sections/<name>.py` with such a function and list it
in SECTIONS below; `bench/run` knows nothing else about it.
"""

from . import (build, dev, devprofile, esm, minify, pipeline, publish, sass, slowmount, soak, switch,
               sync, watch)

# name → (run function or None while planned, one-line description)
SECTIONS = {
    "sync": (sync.run, "cold/warm `sluice sync` vs `cp -a` and `collectstatic`"),
    "watch": (watch.run, "`sluice watch` (native, --poll) vs gulp-watch / chokidar: ready, "
                         "edit latency, RSS, idle CPU"),
    "build": (build.run, "cold/warm `sluice build` vs ManifestStaticFilesStorage and whitenoise"),
    "switch": (switch.run, "one STATIC_ROOT: sync → build → sync, each switch vs a fresh run"),
    "dev": (dev.run, "`sluice dev`: write → live-reload event latency, proxy overhead per page "
                     "request vs runserver direct"),
    "devprofile": (devprofile.run, "dev profile under `sluice watch`: member/partial write → "
                                   "rebuilt bundle on disk, 100 bundles × 12 files (p50/p95)"),
    "esm": (esm.run, "ES-module bundles (rolldown) vs esbuild: cold build, one-module rebuild "
                     "in dev, gzip size"),
    "minify": (minify.run, "JS/CSS minification (oxc, lightningcss) vs esbuild: time, gzip size"),
    "slowmount": (slowmount.run, "sources on a slow, event-less FUSE mount: page render with "
                                 "pipeline's collector vs sluice dev, request check, edit → "
                                 "browser, chokidar polling / gulp-watch there; local --poll"),
    "sass": (sass.run, "one Sass compile (protocol.scss, bootstrap.scss): dart-sass kept running "
                       "vs grass vs `npx sass`"),
    "soak": (soak.run, "`sluice dev` for 10 minutes under changes, checkouts and requests: "
                       "convergence, failed requests, descriptors, threads, memory"),
    "pipeline": (pipeline.run, "cold/warm `sluice build --no-minify` vs collectstatic with "
                               "django-pipeline (no compressor, pure-Python compressors)"),
    "publish": (publish.run, "deploys to S3 (moto): collectstatic with S3ManifestStaticStorage "
                             "(plain and with Collectfasta) vs `sluice build && sluice "
                             "publish`; a cold build with the shared "
                             "cache vs whitenoise"),
    "fleet": (publish.run_fleet, "publish's fleet case alone: a cold build with the shared "
                                 "cache warm (moto) vs whitenoise's cold collectstatic"),
}
