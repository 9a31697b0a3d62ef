"""soak: the long run of `crates/sluice/tests/soak.rs` — `sluice dev` for 10 minutes (set
BENCH_SOAK_SECS) on a 20 000-file tree (`--files`) in a git repository whose two branches differ
in a quarter of it (5 000 files at 20 000), under random creates, edits, deletes and renames,
`git checkout`s between the branches every 1/6 of the run, and page and static requests through
the proxy all along. Reported: changes, checkouts, requests and failures, how long the output
took to equal a fresh `sluice sync`'s after the last change, and sluice's file descriptors,
threads and resident memory after warm-up (a quarter in) and at the end. The test asserts no
failed request, no leaked descriptor or thread, and memory growth within 8 MB here (48 MB in
CI's 15-second version). Not a comparison: no incumbent does this job.
"""

import os
import re
import subprocess

from ..common import REPO_ROOT, log


def run(ctx):
    secs = int(os.environ.get("BENCH_SOAK_SECS", "600"))
    files = ctx.files
    env = dict(os.environ, SLUICE_SOAK_SECS=str(secs), SLUICE_SOAK_FILES=str(files),
               SLUICE_SOAK_DIFFER=str(files // 4), SLUICE_SOAK_RSS_KB=str(8 * 1024))
    log(f"soak: `sluice dev` for {secs} s on {files} files (cargo test --release --test soak) …")
    proc = subprocess.run(
        ["cargo", "test", "--release", "-p", "sluice", "--test", "soak", "--", "--nocapture"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    figures = re.search(r"^soak: .*$", proc.stderr, re.M)
    line = figures.group(0) if figures else "soak: no figures (see below)"
    passed = proc.returncode == 0
    ctx.results["soak"] = {"secs": secs, "files": files, "passed": passed, "figures": line}
    ctx.summary.append("")
    ctx.summary.append(f"soak ({'passed' if passed else 'FAILED'}): {line.removeprefix('soak: ')}")
    if not passed:
        tail = "\n".join(proc.stderr.splitlines()[-40:])
        ctx.summary.append(tail)
