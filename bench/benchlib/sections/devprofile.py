"""The dev profile under `sluice watch`: how long from saving a bundle member (or an SCSS
partial) to the rebuilt bundle (or compiled file) on disk, for bedrock-sized bundles.

A project made here (`bench/out/devprofile-site/`, independent of the generated tree):
BUNDLES CSS bundles of MEMBERS files each (bedrock had 131 CSS + 83 JS bundles of up to 12
files), declared in `sluice.toml`; in every bundle one member is an `.scss` file that imports
one of PARTIALS shared partials (so a partial feeds BUNDLES / PARTIALS compiled files and as many
bundles), the others plain ~2 KB `.css`. One `sluice watch` runs on it (native events).

- member → bundle: EDITS times, a random plain member is rewritten with a unique comment;
  latency = from the write's return until the bundle file in the output contains it.
- partial → compiled files and bundles: EDITS times, a partial's variable gets a new unique
  value; latency = until every bundle that (through its `.scss` member) uses it contains it.
Both are measured by polling the output every 0.2 ms (the time of a `read`), so they include
the watcher's coalescing quiet period. Reported: p50 and p95.
"""

import json
import os
import random
import subprocess
import threading
import time

from ..common import OUT_DIR, BenchError, log

BUNDLES = 100
MEMBERS = 12
PARTIALS = 10
EDITS = 30
TIMEOUT_S = 10.0
RULE = ".c{i}-{j} {{ margin: {k}px; padding: 0 {k}px; background: url(../img/x.png); }}\n"


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def _make(site):
    media = os.path.join(site, "media")
    toml = ['sources = ["media"]', 'output = "static"', ""]
    for p in range(PARTIALS):
        _write(os.path.join(media, "css", "shared", f"_p{p}.scss"), f"$v{p}: 1px;\n")
    for i in range(BUNDLES):
        files = []
        for j in range(MEMBERS - 1):
            rel = f"css/b{i}/m{j}.css"
            _write(os.path.join(media, rel), "".join(RULE.format(i=i, j=j, k=k) for k in range(25)))
            files.append(rel)
        p = i % PARTIALS
        rel = f"css/b{i}/s.scss"
        _write(os.path.join(media, rel),
               f'@import "../shared/p{p}";\n.s{i} {{ margin: $v{p}; }}\n')
        files.append(rel)
        toml += [f"[bundles.css.b{i}]", f"files = {json.dumps(files)}",
                 f'output = "css/bundles/b{i}.css"', ""]
    _write(os.path.join(site, "sluice.toml"), "\n".join(toml))


def _wait(paths, marker, deadline):
    """Polls until every path's text contains marker; returns the time it did."""
    left = set(paths)
    while left:
        for path in list(left):
            try:
                with open(path, encoding="utf-8") as f:
                    if marker in f.read():
                        left.discard(path)
            except OSError:
                pass
        if not left:
            break
        if time.perf_counter() > deadline:
            raise BenchError(f"devprofile: {marker} not in {sorted(left)[:3]} within {TIMEOUT_S} s")
        time.sleep(0.0002)
    return time.perf_counter()


def _ms(seconds):
    return f"{seconds * 1000:6.1f} ms"


def _pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def run(ctx):
    site = os.path.join(OUT_DIR, "devprofile-site")
    if os.path.exists(site):
        subprocess.run(["rm", "-rf", site], check=True)
    _make(site)
    out = os.path.join(site, "static")
    proc = subprocess.Popen([ctx.sluice, "watch", "--format", "json"], cwd=site,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={k: v for k, v in os.environ.items()
                                 if k not in ("DJANGO_SETTINGS_MODULE", "SLUICE_POLL")})
    ready = threading.Event()
    first = {}

    def read():
        for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "derived" and "first" not in first:
                first["first"] = event
            if event.get("event") == "ready":
                ready.set()
    threading.Thread(target=read, daemon=True).start()
    try:
        if not ready.wait(120):
            raise BenchError("devprofile: sluice watch did not get ready")
        first_pass = first.get("first", {})
        log(f"devprofile: {BUNDLES} bundles × {MEMBERS} files; first pass derived "
            f"{first_pass.get('bundled')} bundles, {first_pass.get('compiled')} compiled in "
            f"{first_pass.get('elapsed_ms', float('nan')):.0f} ms")
        rng = random.Random(7)
        member, partial = [], []
        for n in range(EDITS):
            i, j = rng.randrange(BUNDLES), rng.randrange(MEMBERS - 1)
            marker = f"/* edit-{n}-{time.time_ns()} */"
            src = os.path.join(site, "media", "css", f"b{i}", f"m{j}.css")
            text = "".join(RULE.format(i=i, j=j, k=k) for k in range(25)) + marker + "\n"
            with open(src, "w", encoding="utf-8") as f:
                f.write(text)
            t0 = time.perf_counter()
            t1 = _wait([os.path.join(out, "css", "bundles", f"b{i}.css")], marker,
                       t0 + TIMEOUT_S)
            member.append(t1 - t0)
            time.sleep(0.05 + rng.random() * 0.1)

            p = rng.randrange(PARTIALS)
            px = 1000 + n
            with open(os.path.join(site, "media", "css", "shared", f"_p{p}.scss"), "w",
                      encoding="utf-8") as f:
                f.write(f"$v{p}: {px}px;\n")
            t0 = time.perf_counter()
            targets = [os.path.join(out, "css", "bundles", f"b{i}.css")
                       for i in range(BUNDLES) if i % PARTIALS == p]
            t1 = _wait(targets, f"margin: {px}px", t0 + TIMEOUT_S)
            partial.append(t1 - t0)
            time.sleep(0.05 + rng.random() * 0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    res = {
        "bundles": BUNDLES, "members": MEMBERS, "partials": PARTIALS, "edits": EDITS,
        "member_to_bundle_s": member, "partial_to_bundles_s": partial,
        "p50_member_s": _pct(member, 0.5), "p95_member_s": _pct(member, 0.95),
        "p50_partial_s": _pct(partial, 0.5), "p95_partial_s": _pct(partial, 0.95),
    }
    ctx.results["devprofile"] = res
    per = BUNDLES // PARTIALS
    ctx.summary += [
        f"devprofile: {BUNDLES} CSS bundles × {MEMBERS} files, `sluice watch`, write → on disk",
        f"member → its bundle            p50 {_ms(res['p50_member_s'])}   "
        f"p95 {_ms(res['p95_member_s'])}",
        f"partial → {per} .css + {per} bundles  p50 {_ms(res['p50_partial_s'])}   "
        f"p95 {_ms(res['p95_partial_s'])}",
    ]
