"""`sluice build` against `collectstatic` with ManifestStaticFilesStorage and with whitenoise's
CompressedManifestStaticFilesStorage (the incumbents of a production deploy).

Cases, one of each per round, interleaved:
- sluice cold: empty output, no build state and no compression cache (a fresh CI checkout);
- sluice cold, cache kept: empty output and no build state, `.sluice/compress/` kept (a CI
  that caches `.sluice/`): hashing and writing, no compression;
- sluice warm: nothing changed since the previous build;
- sluice --no-compress cold / warm: the same work as ManifestStaticFilesStorage;
- manifest cold / warm: `collectstatic` with ManifestStaticFilesStorage into an empty / a
  populated STATIC_ROOT;
- whitenoise cold / warm: the same with CompressedManifestStaticFilesStorage (brotli installed).

Each tool has its own output folder; sluice's state for each output is its own file in
`.sluice/`, so the cases never see each other's files.
"""

import glob
import json
import os
import subprocess

from ..common import (BenchError, fmt_time, interleave, log, median, retire, retire_build_state,
                      run_checked, sample_table, timed)

WHITENOISE = "whitenoise==6.12.0"
BROTLI = "brotli==1.2.1"

SETTINGS = '''"""Benchmark settings for the build section: {what}."""
from .settings import *  # noqa: F401,F403

STATIC_ROOT = BASE_DIR / "{root}"
STORAGES = {{
    "default": {{"BACKEND": "django.core.files.storage.FileSystemStorage"}},
    "staticfiles": {{"BACKEND": "{backend}"}},
}}
'''

CASES = {
    "manifest": ("django.contrib.staticfiles.storage.ManifestStaticFilesStorage",
                 "static-manifest"),
    "whitenoise": ("whitenoise.storage.CompressedManifestStaticFilesStorage",
                   "static-whitenoise"),
}


def _ensure_whitenoise(ctx):
    """whitenoise and brotli in the bench venv (the sync section only needs Django)."""
    probe = [ctx.python, "-c", "import whitenoise, brotli"]
    if subprocess.run(probe, stderr=subprocess.DEVNULL).returncode != 0:
        log(f"installing {WHITENOISE} and {BROTLI} into {ctx.venv} …")
        run_checked([ctx.python, "-m", "pip", "install", "--quiet", WHITENOISE, BROTLI],
                    what="pip install whitenoise brotli")


def run(ctx):
    p = ctx.project
    _ensure_whitenoise(ctx)
    for name, (backend, root) in CASES.items():
        path = os.path.join(p, "benchsite", f"settings_build_{name}.py")
        with open(path, "w", encoding="utf-8") as f:
            f.write(SETTINGS.format(what=backend, root=root, backend=backend))
    state = os.path.join(p, ".sluice")
    out = os.path.join(p, "static-build")
    out_plain = os.path.join(p, "static-build-plain")

    def sluice(output, *extra, env=ctx.env):
        cmd = [ctx.sluice, "-q", "build", "--output", output, *extra]
        return lambda: timed(cmd, cwd=p, env=env, what="sluice build")

    dsm_env = dict(ctx.env, DJANGO_SETTINGS_MODULE="benchsite.settings")

    def cold(output, keep_cache=False):
        def prep():
            retire(output)
            retire_build_state(p, output)
            if not keep_cache:
                retire(os.path.join(state, "compress"))
        return prep

    def collectstatic(name):
        cmd = [ctx.python, "manage.py", "collectstatic", "--noinput",
               f"--settings=benchsite.settings_build_{name}"]
        return lambda: timed(cmd, cwd=p, env=ctx.env, what=f"collectstatic ({name})")

    def cs_cold(name):
        return lambda: retire(os.path.join(p, CASES[name][1]))

    media = os.path.join(p, "media")
    copied = os.path.join(p, "static-cp")

    def plain_copy():
        cmd = ["cp", "-R", media, copied]
        return lambda: timed(cmd, cwd=p, env=ctx.env, what="cp -R media")

    cases = [
        ("sluice cold", cold(out), sluice(out)),
        ("manifest cold", cs_cold("manifest"), collectstatic("manifest")),
        ("whitenoise cold", cs_cold("whitenoise"), collectstatic("whitenoise")),
        ("sluice cold, cache kept", cold(out, keep_cache=True), sluice(out)),
        ("sluice warm", None, sluice(out)),
        ("sluice warm, DSM exported", None, sluice(out, env=dsm_env)),
        ("manifest warm", None, collectstatic("manifest")),
        ("whitenoise warm", None, collectstatic("whitenoise")),
        ("sluice --no-compress cold", cold(out_plain, keep_cache=True),
         sluice(out_plain, "--no-compress")),
        ("sluice --no-compress warm", None, sluice(out_plain, "--no-compress")),
        ("cp -R media (one copy)", lambda: retire(copied), plain_copy()),
    ]

    log("build: untimed warm-up pass of each case …")
    interleave(1, cases, log_prefix="  warm-up ")
    _check(ctx, out, out_plain)
    log(f"build: {ctx.runs} timed rounds, interleaved …")
    samples = interleave(ctx.runs, cases, log_prefix="  ")
    med = {name: median([x.wall for x in xs]) for name, xs in samples.items()}
    cpu = {name: median([x.user + x.sys for x in xs]) for name, xs in samples.items()}

    ratios = {
        "manifest_cold_over_sluice_no_compress_cold":
            med["manifest cold"] / med["sluice --no-compress cold"],
        "manifest_warm_over_sluice_no_compress_warm":
            med["manifest warm"] / med["sluice --no-compress warm"],
        "whitenoise_cold_over_sluice_cold": med["whitenoise cold"] / med["sluice cold"],
        "whitenoise_cold_over_sluice_cold_cache_kept":
            med["whitenoise cold"] / med["sluice cold, cache kept"],
        "whitenoise_warm_over_sluice_warm": med["whitenoise warm"] / med["sluice warm"],
        "sluice_no_compress_cold_over_cp":
            med["sluice --no-compress cold"] / med["cp -R media (one copy)"],
        "whitenoise_warm_over_sluice_warm_dsm":
            med["whitenoise warm"] / med["sluice warm, DSM exported"],
    }
    ctx.results["build"] = {
        "samples_s": {name: [x.wall for x in xs] for name, xs in samples.items()},
        "cpu_s": cpu,
        "medians_s": med,
        "ratios": ratios,
        "targets": {"manifest_ratio_min": 20, "whitenoise_cold_ratio_min": 5,
                    "whitenoise_warm_ratio_min": 100},
    }

    def row(label, t, other, t_other, tail):
        return f"{label:<27}{fmt_time(t)}   {other:<27}{fmt_time(t_other)}   {tail}"

    cpu_floor = compression_floor(ctx, out)
    cores = os.cpu_count() or 1
    floor = cpu_floor / cores
    ctx.results["build"]["compression_floor_s"] = floor
    ctx.results["build"]["encoder_cpu_s"] = cpu_floor
    ctx.summary += [
        row("cold   manifest", med["manifest cold"], "sluice build --no-compress",
            med["sluice --no-compress cold"],
            f"sluice is {ratios['manifest_cold_over_sluice_no_compress_cold']:.1f}× faster "
            "(target ≥ 20×)"),
        row("  I/O reference⁴", med["manifest cold"], "cp -R media",
            med["cp -R media (one copy)"],
            f"sluice --no-compress cold is "
            f"{med['sluice --no-compress cold'] / med['cp -R media (one copy)']:.2f}× cp -R"),
        row("warm   manifest", med["manifest warm"], "sluice build --no-compress",
            med["sluice --no-compress warm"],
            f"sluice is {ratios['manifest_warm_over_sluice_no_compress_warm']:.1f}× faster "
            "(target ≥ 20×)"),
        row("cold   whitenoise", med["whitenoise cold"], "sluice build",
            med["sluice cold"],
            f"sluice is {ratios['whitenoise_cold_over_sluice_cold']:.1f}× faster "
            f"(target ≥ 5×; CPU {fmt_time(cpu['whitenoise cold']).strip()} vs "
            f"{fmt_time(cpu['sluice cold']).strip()})"),
        f"{'  floor³':<27}{'':>7}   {'encoder CPU / ' + str(cores) + ' cores':<27}"
        f"{fmt_time(floor)}   sluice cold is {med['sluice cold'] / floor:.2f}× the floor; "
        f"whitenoise cold / floor = {med['whitenoise cold'] / floor:.1f}×",
        row("  sluice cache kept¹", med["whitenoise cold"], "sluice build",
            med["sluice cold, cache kept"],
            f"sluice is {ratios['whitenoise_cold_over_sluice_cold_cache_kept']:.1f}× faster"),
        row("warm   whitenoise", med["whitenoise warm"], "sluice build", med["sluice warm"],
            f"sluice is {ratios['whitenoise_warm_over_sluice_warm']:.1f}× faster "
            "(target ≥ 100×)"),
        row("  DSM exported²", med["whitenoise warm"], "sluice build",
            med["sluice warm, DSM exported"],
            f"sluice is {ratios['whitenoise_warm_over_sluice_warm_dsm']:.1f}× faster"),
        "¹ no output and no build state, the compression cache in .sluice/compress/ kept",
        "² DJANGO_SETTINGS_MODULE=benchsite.settings exported in the environment",
        "³ Brotli 11 + gzip 9 CPU time of each distinct content once (sluice's compress_cpu_ms "
        "of a cold build), divided by the cores: no build that compresses like whitenoise can "
        "be faster on this machine",
        "⁴ one plain copy of the sources (cp -R, same file system): the file creation every "
        "cold build pays at least once per distinct content (collectstatic pays it for both copies)",
    ]
    sample_table(samples)


def _check(ctx, out, out_plain):
    """After the warm-up: sluice and Django produced the same set of file names, and a warm
    build is a no-op (otherwise "warm" would not mean what it says)."""
    p = ctx.project
    for ours, name in ((out_plain, "manifest"), (out, "whitenoise")):
        theirs = os.path.join(p, CASES[name][1])
        a = {os.path.relpath(os.path.join(d, f), ours)
             for d, _, fs in os.walk(ours) for f in fs}
        b = {os.path.relpath(os.path.join(d, f), theirs)
             for d, _, fs in os.walk(theirs) for f in fs}
        if name == "manifest" and a != b:
            raise BenchError(f"sluice build --no-compress and collectstatic ({name}) differ: "
                             f"{sorted(a - b)[:5]} / {sorted(b - a)[:5]}")
        ctx.results.setdefault("checks", {})[f"build_files_{name}"] = {
            "sluice": len(a), "django": len(b), "only_sluice": len(a - b),
            "only_django": len(b - a)}
    report_out = run_checked([ctx.sluice, "build", "--output", out, "--format", "json"],
                             cwd=p, env=ctx.env, what="sluice build --format json")
    reports = [json.loads(line) for line in report_out.splitlines() if line.startswith("{")]
    report = next((r for r in reports if r.get("event") == "build"), None)
    if report is None:
        raise BenchError(f"no build report in sluice's JSON output:\n{report_out}")
    if report["written"] or report["read"] or report["compressed"] or report["removed"]:
        raise BenchError(f"a warm sluice build was not a no-op: {report}")
    ctx.results["checks"]["warm_build_report"] = {
        k: report[k] for k in ("files", "outputs", "unchanged", "bytes", "elapsed_ms")}


def compression_floor(ctx, out):
    """One more cold build (untimed, cache dropped) for its encoder CPU time: divided by the
    cores, the floor of a cold build (each distinct content compressed once, perfectly
    parallel)."""
    p = ctx.project
    retire(out)
    for f in glob.glob(os.path.join(p, ".sluice", "build-*.json")):
        retire(f)
    retire(os.path.join(p, ".sluice", "compress"))
    report_out = run_checked([ctx.sluice, "build", "--output", out, "--format", "json"],
                             cwd=p, env=ctx.env, what="sluice build --format json (cold)")
    for line in report_out.splitlines():
        if line.startswith("{"):
            event = json.loads(line)
            if event.get("event") == "build":
                return event["compress_cpu_ms"] / 1000.0
    raise BenchError(f"no build report in sluice's JSON output:\n{report_out}")
