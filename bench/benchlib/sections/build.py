"""`sluice build` against `collectstatic` with ManifestStaticFilesStorage and with whitenoise's
CompressedManifestStaticFilesStorage (the incumbents of a production deploy).

The bench project's STORAGES name plain StaticFilesStorage (the sync section's setting), so
sluice is told what to make: `--hash --compress gzip,br` (whitenoise's work), `--hash
--no-compress` (ManifestStaticFilesStorage's).

Cases, one of each per round, interleaved:
- sluice cold: empty output and no `.sluice/` at all — no record, no content cache, no cached
  Django answer (a fresh CI checkout);
- sluice cold, cache kept: empty output and no record of it, the rest of `.sluice/` kept (a CI
  that caches `.sluice/`): hashing and writing, compressed copies from the cache;
- sluice warm: nothing changed since the previous build;
- sluice one file changed: one stylesheet edited since the previous build (a new hashed name,
  staticfiles.json and its compressed copies written again);
- sluice --no-compress cold / warm: the same work as ManifestStaticFilesStorage (cold: no
  `.sluice/`); and cold with settings cached (no output, no record of it, the rest kept);
- manifest cold / warm: `collectstatic` with ManifestStaticFilesStorage into an empty / a
  populated STATIC_ROOT;
- whitenoise cold / warm: the same with CompressedManifestStaticFilesStorage (brotli installed).

Each tool has its own output folder; sluice's record of each output is its own file in
`.sluice/`, so the cases never see each other's files. After the warm-up, both sluice outputs
are checked against Django's: the same names, the same bytes for every file, and every `.gz`
/ `.br` decompressing to the same bytes as whitenoise's.
"""

import glob
import json
import os
import subprocess

from ..common import (BenchError, fmt_time, interleave, log, median, retire, retire_record,
                      run_checked, sample_table, timed)

WHITENOISE = "whitenoise==6.12.0"
WARM_MS = 60        # issue 11: a warm no-op build at 20 000 files
ONE_FILE_MS = 100   # issue 11: a one-file rebuild at 20 000 files
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
        cmd = [ctx.sluice, "-q", "build", "--output", output, "--hash", *extra]
        return lambda: timed(cmd, cwd=p, env=env, what="sluice build")

    compress = ("--compress", "gzip,br")

    dsm_env = dict(ctx.env, DJANGO_SETTINGS_MODULE="benchsite.settings")

    def cold(output, keep_cache=False):
        def prep():
            retire(output)
            if keep_cache:
                retire_record(p, output)
            else:
                retire(state)
        return prep

    edited = _stylesheet(ctx)
    edits = [0]

    def edit_one():
        """Appends a new comment to one stylesheet (the bench owns the generated tree)."""
        edits[0] += 1
        with open(edited, "a", encoding="utf-8") as f:
            f.write(f"\n/* bench edit {edits[0]} */\n")

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

    # Every cold case retires all of .sluice/ (the other output's record too), so each warm
    # case runs after its own cold one in the round.
    cases = [
        ("sluice --no-compress cold", cold(out_plain), sluice(out_plain, "--no-compress")),
        ("sluice --no-compress warm", None, sluice(out_plain, "--no-compress")),
        ("sluice --no-compress cold, settings cached", cold(out_plain, keep_cache=True),
         sluice(out_plain, "--no-compress")),
        ("sluice cold", cold(out), sluice(out, *compress)),
        ("manifest cold", cs_cold("manifest"), collectstatic("manifest")),
        ("whitenoise cold", cs_cold("whitenoise"), collectstatic("whitenoise")),
        ("sluice cold, cache kept", cold(out, keep_cache=True), sluice(out, *compress)),
        ("sluice warm", None, sluice(out, *compress)),
        ("sluice warm, DSM exported", None, sluice(out, *compress, env=dsm_env)),
        ("sluice one file changed", edit_one, sluice(out, *compress)),
        ("manifest warm", None, collectstatic("manifest")),
        ("whitenoise warm", None, collectstatic("whitenoise")),
        ("cp -R media (one copy)", lambda: retire(copied), plain_copy()),
    ]

    # The warm-up leaves the source tree as generated, so that Django's outputs (collectstatic
    # never removes a hashed copy of an older content) name the same files as sluice's.
    log("build: untimed warm-up pass of each case …")
    interleave(1, [c for c in cases if c[1] is not edit_one], log_prefix="  warm-up ")
    _check(ctx, out, out_plain)
    log(f"build: {ctx.runs} timed rounds, interleaved …")
    with open(edited, "rb") as f:
        original = f.read()
    try:
        samples = interleave(ctx.runs, cases, log_prefix="  ")
    finally:
        with open(edited, "wb") as f:
            f.write(original)
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
                    "whitenoise_warm_ratio_min": 100, "warm_ms_max": WARM_MS,
                    "one_file_ms_max": ONE_FILE_MS},
        "met": {"warm_ms": med["sluice warm"] * 1000 <= WARM_MS,
                "one_file_ms": med["sluice one file changed"] * 1000 <= ONE_FILE_MS},
    }

    def row(label, t, other, t_other, tail):
        return f"{label:<27}{fmt_time(t)}   {other:<27}{fmt_time(t_other)}   {tail}"

    def verdict(ok):
        return "ok" if ok else "MISSED"

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
        row("  settings cached¹", med["manifest cold"], "sluice build --no-compress",
            med["sluice --no-compress cold, settings cached"],
            f"sluice is {med['manifest cold'] / med['sluice --no-compress cold, settings cached']:.1f}× faster"),
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
        f"{'  no-op':<27}{'':>7}   {'sluice build (warm)':<27}{fmt_time(med['sluice warm'])}   "
        f"target ≤ {WARM_MS} ms: {verdict(med['sluice warm'] * 1000 <= WARM_MS)}",
        row("one file changed⁵", med["whitenoise warm"], "sluice build",
            med["sluice one file changed"],
            f"target ≤ {ONE_FILE_MS} ms: "
            f"{verdict(med['sluice one file changed'] * 1000 <= ONE_FILE_MS)}"),
        "¹ no output and no record of it; the rest of .sluice/ (content cache, compressed "
        "copies, the Django answer) kept",
        "² DJANGO_SETTINGS_MODULE=benchsite.settings exported in the environment",
        "³ Brotli 11 + gzip 9 CPU time of each distinct content once (sluice's compress_cpu_ms "
        "of a cold build), divided by the cores: no build that compresses like whitenoise can "
        "be faster on this machine",
        "⁵ one stylesheet edited since the previous build: its hashed copy, staticfiles.json and "
        "their .gz/.br written again (whitenoise warm shown for scale)",
        "⁴ one plain copy of the sources (cp -R, same file system): the file creation every "
        "cold build pays at least once per distinct content (collectstatic pays it for both copies)",
    ]
    sample_table(samples)


def _stylesheet(ctx):
    """The stylesheet the one-file case edits: the first in the tree, by name."""
    media = os.path.join(ctx.project, "media")
    sheets = sorted(glob.glob(os.path.join(media, "**", "*.css"), recursive=True))
    if not sheets:
        raise BenchError(f"no stylesheet under {media}")
    return sheets[0]


# Run by the venv's Python (it has brotli): compares two output trees file by file; prints a
# JSON summary. Compressed copies are compared by what they decompress to (encoders may differ
# by a byte and still be right), and each must decompress to its sibling.
COMPARE = r"""
import brotli, gzip, json, os, sys
ours, theirs = sys.argv[1], sys.argv[2]
def names(root):
    # sluice.json (bundles and integrity digests for sluice's Django app) is sluice's own.
    return {rel for rel in (os.path.relpath(os.path.join(d, f), root).replace(os.sep, "/")
                            for d, _, fs in os.walk(root) for f in fs)
            if not rel.startswith("sluice.json")}
a, b = names(ours), names(theirs)
def read(root, rel):
    with open(os.path.join(root, rel), "rb") as f:
        data = f.read()
    if rel.endswith(".gz"):
        return gzip.decompress(data)
    if rel.endswith(".br"):
        return brotli.decompress(data)
    return data
differ, not_sibling, compressed = [], [], 0
for rel in sorted(a & b):
    x = read(ours, rel)
    if x != read(theirs, rel):
        differ.append(rel)
    if rel.endswith((".gz", ".br")):
        compressed += 1
        if x != read(ours, rel[:-3]):
            not_sibling.append(rel)
print(json.dumps({"sluice": len(a), "django": len(b), "only_sluice": sorted(a - b)[:5],
                  "only_django": sorted(b - a)[:5], "differ": differ[:5],
                  "n_differ": len(differ), "not_sibling": not_sibling[:5],
                  "compressed": compressed}))
"""


def _check(ctx, out, out_plain):
    """After the warm-up: each sluice output names the same files as Django's (whitenoise's,
    for the compressed one) with the same bytes, compressed copies by what they decompress to;
    and a warm build is a no-op (otherwise "warm" would not mean what it says)."""
    p = ctx.project
    for ours, name in ((out_plain, "manifest"), (out, "whitenoise")):
        theirs = os.path.join(p, CASES[name][1])
        got = json.loads(run_checked([ctx.python, "-c", COMPARE, ours, theirs],
                                     what=f"comparing sluice's output with {name}'s"))
        if got["only_sluice"] or got["only_django"] or got["n_differ"] or got["not_sibling"]:
            raise BenchError(f"sluice build and collectstatic ({name}) differ: {got}")
        ctx.results.setdefault("checks", {})[f"build_files_{name}"] = got
    report_out = run_checked([ctx.sluice, "build", "--output", out, "--hash", "--compress",
                              "gzip,br", "--format", "json"],
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
    retire(os.path.join(p, ".sluice"))
    report_out = run_checked([ctx.sluice, "build", "--output", out, "--hash", "--compress",
                              "gzip,br", "--format", "json"],
                             cwd=p, env=ctx.env, what="sluice build --format json (cold)")
    for line in report_out.splitlines():
        if line.startswith("{"):
            event = json.loads(line)
            if event.get("event") == "build":
                return event["compress_cpu_ms"] / 1000.0
    raise BenchError(f"no build report in sluice's JSON output:\n{report_out}")
