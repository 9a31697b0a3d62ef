"""`sluice sync` against `cp -a` (the floor: a plain copy) and `collectstatic` (the incumbent).

Cases, one of each per round, interleaved:
- sluice cold: empty output and no `.sluice/` (so sluice also asks Django for its settings);
- cp -a: `cp -a media/. <empty dir>/`;
- sluice warm: nothing changed since the previous pass;
- sluice cold, settings cached: empty output, the output's record removed, the cached Django
  answer (and content cache) in `.sluice/` kept — the copy alone, to tell the Python start apart
  from sluice's own work;
- sluice warm, DJANGO_SETTINGS_MODULE exported: as a developer who has it in their shell (sluice
  then finds the module without reading manage.py);
- collectstatic cold (empty STATIC_ROOT) and warm (populated), with its own STATIC_ROOT.
"""

import json
import os

from ..common import (BenchError, fmt_time, free_bytes, interleave, log, median, retire,
                      retire_record, run_checked, sample_table, timed)


def warm_target_ms(files):
    """DESIGN targets: ≤ 100 ms at 20 000 files, ≤ 300 ms at 100 000 (linear between)."""
    if files <= 20_000:
        return 100.0
    if files >= 100_000:
        return 300.0
    return 100.0 + (files - 20_000) * (200.0 / 80_000)


COLD_RATIO_TARGET = 1.5


def _count_files(root):
    return sum(len(names) for _, _, names in os.walk(root))


def run(ctx):
    p = ctx.project
    media = os.path.join(p, "media")
    static = os.path.join(p, "static")
    state = os.path.join(p, ".sluice")
    cp_out = os.path.join(p, "cp-out")
    cs_root = os.path.join(p, "static-collectstatic")
    sluice = [ctx.sluice, "-q", "sync"]
    collectstatic = [ctx.python, "manage.py", "collectstatic", "--noinput",
                     "--settings=benchsite.settings_collectstatic"]

    def sluice_sync():
        return timed(sluice, cwd=p, env=ctx.env, what="sluice sync")

    dsm_env = dict(ctx.env, DJANGO_SETTINGS_MODULE="benchsite.settings")

    def sluice_sync_dsm():
        return timed(sluice, cwd=p, env=dsm_env, what="sluice sync")

    def cold_sluice_prep():
        retire(static)
        retire(state)

    def cold_cached_prep():
        retire(static)
        retire_record(p, static)

    def cp_prep():
        retire(cp_out)
        os.mkdir(cp_out)

    # Retired outputs stay on disk until the end (see common.TRASH_DIR): 4 full copies a round.
    need = 4 * (ctx.runs + 1) * ctx.tree["bytes"] * 1.1
    if free_bytes(p) < need:
        raise BenchError(f"the sync section keeps {need / 1e9:.1f} GB of retired outputs until "
                         f"it ends, and {p} has {free_bytes(p) / 1e9:.1f} GB free; "
                         "use fewer --runs or --files")

    cases = [
        ("sluice cold", cold_sluice_prep, sluice_sync),
        ("cp -a", cp_prep,
         lambda: timed(["cp", "-a", media + "/.", cp_out + "/"], what="cp -a")),
        ("sluice warm", None, sluice_sync),
        ("sluice warm, DSM exported", None, sluice_sync_dsm),
        ("sluice cold, settings cached", cold_cached_prep, sluice_sync),
        ("collectstatic cold", lambda: retire(cs_root),
         lambda: timed(collectstatic, cwd=p, env=ctx.env, what="collectstatic")),
        ("collectstatic warm", None,
         lambda: timed(collectstatic, cwd=p, env=ctx.env, what="collectstatic")),
    ]

    log("sync: untimed warm-up pass of each case (page cache warm for every tool) …")
    interleave(1, cases, log_prefix="  warm-up ")
    _check(ctx, static, cp_out, cs_root)
    log(f"sync: {ctx.runs} timed rounds, interleaved …")
    samples = interleave(ctx.runs, cases, log_prefix="  ")

    med = {name: median([x.wall for x in xs]) for name, xs in samples.items()}

    def per_round(a, b):
        """Median of a/b within each round: the two ran a few seconds apart, so this ratio
        is steadier than the ratio of medians when the machine's speed drifts."""
        return median([x.wall / y.wall for x, y in zip(samples[a], samples[b])])

    cold, cp, warm = med["sluice cold"], med["cp -a"], med["sluice warm"]
    cs_cold, cs_warm = med["collectstatic cold"], med["collectstatic warm"]
    target = warm_target_ms(ctx.files)
    ratios = {
        "cold_sluice_over_cp": cold / cp,
        "cold_sluice_over_cp_per_round": per_round("sluice cold", "cp -a"),
        "cold_cached_sluice_over_cp": med["sluice cold, settings cached"] / cp,
        "cold_cached_sluice_over_cp_per_round": per_round("sluice cold, settings cached", "cp -a"),
        "warm_sluice_dsm_ms": med["sluice warm, DSM exported"] * 1000,
        "cold_collectstatic_over_sluice": cs_cold / cold,
        "warm_collectstatic_over_sluice": cs_warm / warm,
    }
    ctx.results["sync"] = {
        "samples_s": {name: [x.wall for x in xs] for name, xs in samples.items()},
        "cpu_user_s": {name: [x.user for x in xs] for name, xs in samples.items()},
        "cpu_sys_s": {name: [x.sys for x in xs] for name, xs in samples.items()},
        "medians_s": med,
        "ratios": ratios,
        "targets": {"cold_ratio_max": COLD_RATIO_TARGET, "warm_ms_max": target},
        "met": {"cold_ratio": ratios["cold_sluice_over_cp"] <= COLD_RATIO_TARGET,
                "cold_ratio_settings_cached":
                    ratios["cold_cached_sluice_over_cp"] <= COLD_RATIO_TARGET,
                "warm_ms_dsm_exported": med["sluice warm, DSM exported"] * 1000 <= target,
                "warm_ms": warm * 1000 <= target},
    }

    def verdict(ok):
        return "ok" if ok else "MISSED"

    cached = med["sluice cold, settings cached"]
    dsm = med["sluice warm, DSM exported"]

    def row(label, t, other="", t_other=None, tail=""):
        mid = f"{other:<13}{fmt_time(t_other)}" if t_other is not None else " " * 20
        return f"{label:<20}{fmt_time(t)}   {mid}   {tail}".rstrip()

    ctx.summary += [
        row("cold   sluice sync", cold, "cp -a", cp,
            f"ratio {ratios['cold_sluice_over_cp']:.2f}×  (target ≤ {COLD_RATIO_TARGET}×: "
            f"{verdict(ratios['cold_sluice_over_cp'] <= COLD_RATIO_TARGET)}; "
            f"per round {ratios['cold_sluice_over_cp_per_round']:.2f}×)"),
        row("  settings cached¹", cached, "", None,
            f"ratio {ratios['cold_cached_sluice_over_cp']:.2f}×  "
            f"(per round {ratios['cold_cached_sluice_over_cp_per_round']:.2f}×)"),
        row("warm   sluice sync", warm, "", None,
            f"(target ≤ {target:.0f} ms: {verdict(warm * 1000 <= target)})"),
        row("  DSM exported²", dsm, "", None,
            f"(target ≤ {target:.0f} ms: {verdict(dsm * 1000 <= target)})"),
        row("cold   collectstatic", cs_cold, "sluice sync", cold,
            f"sluice is {ratios['cold_collectstatic_over_sluice']:.1f}× faster"),
        row("warm   collectstatic", cs_warm, "sluice sync", warm,
            f"sluice is {ratios['warm_collectstatic_over_sluice']:.1f}× faster"),
        "¹ cold sync with the output and its record (.sluice/out-*.rec) removed, the cached Django answer kept",
        "² DJANGO_SETTINGS_MODULE=benchsite.settings exported in the environment",
    ]
    sample_table(samples)


def _check(ctx, static, cp_out, cs_root):
    """After the warm-up: every tool produced all N files, and a warm sluice pass copies
    nothing (otherwise "warm" would not be a no-op and the numbers would lie)."""
    for name, root in (("sluice", static), ("cp -a", cp_out), ("collectstatic", cs_root)):
        n = _count_files(root)
        if n != ctx.files:
            raise BenchError(f"{name} produced {n} files in {root}, expected {ctx.files}")
    out = run_checked([ctx.sluice, "sync", "--format", "json"], cwd=ctx.project, env=ctx.env,
                      what="sluice sync --format json")
    reports = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    report = next((r for r in reports if r.get("event") == "sync"), None)
    if report is None:
        raise BenchError(f"no sync report in sluice's JSON output:\n{out}")
    if report["files"] != ctx.files or report["copied"] or report["adopted"] or report["removed"]:
        raise BenchError(f"a warm sluice pass was not a no-op: {report}")
    ctx.results.setdefault("checks", {})["warm_sync_report"] = {
        k: report[k] for k in ("files", "copied", "unchanged", "elapsed_ms")}
