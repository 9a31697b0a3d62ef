"""Switching one STATIC_ROOT between development and a production build: `sluice sync` → `sluice
build --hash --compress gzip,br` → `sluice sync` → …, each against a fresh run of the same
command into an empty STATIC_ROOT.

With one engine and one record per output root, a switch costs what differs between the two
profiles' outputs (the hashed copies, staticfiles.json and the compressed copies come and go),
and switching back to a build compresses nothing again: compressed copies are cached by content.

Cases, one of each per round, interleaved, in this order (so each "after" case runs right after
the other command):
- sync fresh: empty STATIC_ROOT, no record of it (`.sluice/`'s cache and Django answer kept);
- build after sync: `sluice build` into the STATIC_ROOT the sync just wrote;
- sync after build: `sluice sync` into the STATIC_ROOT the build just wrote;
- build fresh: empty STATIC_ROOT, no record of it, the content cache kept (so the build
  compresses nothing either: the difference is the switch alone);
- sync warm, build warm: nothing changed, for scale (each right after itself).

After the warm-up, the switched outputs are compared with fresh ones: file names and bytes.
"""

import os

from ..common import (BenchError, fmt_time, interleave, log, median, retire, retire_record,
                      run_checked, sample_table, timed)

BUILD_FLAGS = ["--hash", "--compress", "gzip,br"]


def _tree(root):
    """{relative path: bytes} of every file under root (sluice's record lives in .sluice/)."""
    out = {}
    for d, _, names in os.walk(root):
        for name in names:
            path = os.path.join(d, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = f.read()
    return out


def _same(what, a, b):
    if a.keys() != b.keys():
        raise BenchError(f"{what}: the names differ: only after switching "
                         f"{sorted(a.keys() - b.keys())[:5]}, only fresh "
                         f"{sorted(b.keys() - a.keys())[:5]}")
    differ = [k for k in a if a[k] != b[k]]
    if differ:
        raise BenchError(f"{what}: {len(differ)} files differ, e.g. {differ[:5]}")


def run(ctx):
    p = ctx.project
    static = os.path.join(p, "static")
    sync_cmd = [ctx.sluice, "-q", "sync"]
    build_cmd = [ctx.sluice, "-q", "build", *BUILD_FLAGS]

    def sync():
        return timed(sync_cmd, cwd=p, env=ctx.env, what="sluice sync")

    def build():
        return timed(build_cmd, cwd=p, env=ctx.env, what="sluice build")

    def fresh():
        retire(static)
        retire_record(p, static)

    cases = [
        ("sync fresh", fresh, sync),
        ("sync warm", None, sync),
        ("build after sync", None, build),
        ("build warm", None, build),
        ("sync after build", None, sync),
        ("build fresh", fresh, build),
    ]

    log("switch: untimed warm-up (sync, build, sync into one STATIC_ROOT; fresh of each) …")
    _check(ctx, static, fresh)
    interleave(1, cases, log_prefix="  warm-up ")
    log(f"switch: {ctx.runs} timed rounds, interleaved …")
    samples = interleave(ctx.runs, cases, log_prefix="  ")
    med = {name: median([x.wall for x in xs]) for name, xs in samples.items()}
    ratios = {
        "build_after_sync_over_build_fresh": med["build after sync"] / med["build fresh"],
        "sync_after_build_over_sync_fresh": med["sync after build"] / med["sync fresh"],
    }
    ctx.results["switch"] = {
        "samples_s": {name: [x.wall for x in xs] for name, xs in samples.items()},
        "cpu_s": {name: median([x.user + x.sys for x in xs]) for name, xs in samples.items()},
        "medians_s": med,
        "ratios": ratios,
    }

    def row(label, t, other, t_other, tail):
        return f"{label:<27}{fmt_time(t)}   {other:<27}{fmt_time(t_other)}   {tail}"

    ctx.summary += [
        row("switch sync → build", med["build after sync"], "build fresh¹",
            med["build fresh"],
            f"{ratios['build_after_sync_over_build_fresh']:.2f}× a fresh build "
            f"(warm no-op {fmt_time(med['build warm']).strip()})"),
        row("switch build → sync", med["sync after build"], "sync fresh¹",
            med["sync fresh"],
            f"{ratios['sync_after_build_over_sync_fresh']:.2f}× a fresh sync "
            f"(warm no-op {fmt_time(med['sync warm']).strip()})"),
        "¹ into an empty STATIC_ROOT with no record of it; .sluice/'s content cache (compressed "
        "copies) and Django answer kept. build: --hash --compress gzip,br",
    ]
    sample_table(samples)


def _check(ctx, static, fresh):
    """Each switch leaves exactly what a fresh run of the same command leaves."""
    p = ctx.project
    sync_cmd = [ctx.sluice, "-q", "sync"]
    build_cmd = [ctx.sluice, "-q", "build", *BUILD_FLAGS]
    fresh()
    run_checked(build_cmd, cwd=p, env=ctx.env, what="sluice build (fresh)")
    built = _tree(static)
    fresh()
    run_checked(sync_cmd, cwd=p, env=ctx.env, what="sluice sync (fresh)")
    synced = _tree(static)
    run_checked(build_cmd, cwd=p, env=ctx.env, what="sluice build (after sync)")
    _same("sluice build after sync vs a fresh build", _tree(static), built)
    run_checked(sync_cmd, cwd=p, env=ctx.env, what="sluice sync (after build)")
    _same("sluice sync after build vs a fresh sync", _tree(static), synced)
    ctx.results.setdefault("checks", {})["switch_identical"] = {
        "build_files": len(built), "sync_files": len(synced)}
