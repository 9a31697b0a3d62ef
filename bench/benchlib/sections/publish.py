"""publish: deploying to object storage — `collectstatic` with django-storages'
S3ManifestStaticStorage, plain and with Collectfasta, vs `sluice build && sluice publish`,
against moto_server on loopback (`moto[server]`, pinned; signatures not checked), and the fleet
case: a cold build on a "second machine" with the shared cache warm vs whitenoise's cold
collectstatic.

Run it on a tree of the issue's size: `bench/run --only publish --files 5000` (each round
makes fresh buckets; a round at 5 000 files takes minutes, mostly collectstatic's).

Cases, one round each `--runs` (at most 3: first deploys are slow):
- first deploy: an empty bucket;
- no-change deploy: the same again;
- one file changed: one stylesheet edited, then deploy.
For each: wall time and the requests the server logged (moto's request log, counted between
marks, so no tool's own count is trusted). sluice builds with `--no-compress`, the same
work as S3ManifestStaticStorage (which compresses nothing).

Fleet: the tree gets built bundles first (`media/dist/`, removed after the section): a big
Django site ships large CSS/JS bundles (mozilla.org's webpack output, collected by
collectstatic) besides its images, and Brotli 11 on them is most of whitenoise's cold build —
the bedrock-shaped tree alone is images and 3–4 KB sheets, where there is little to compress.
One bundle per 100 files (at least 4), 100–600 KB each, half CSS and half JS, of the tree's
own generated text (an assumption about shape, not measured from mozilla.org). Then machine
one builds with `--compress gzip,br --cache-write` and `[cache] remote` (added to the bench
project's `sluice.toml` for the section, restored after it); then,
each round, a cold build (no `.sluice/`, empty output) reading that cache vs `collectstatic`
with whitenoise's CompressedManifestStaticFilesStorage into an empty STATIC_ROOT. The issue's
goal: ≥ 20×.

Collectfasta (the maintained fork of the archived Collectfast; pinned in COLLECTFASTA, installed
apart from PACKAGES so that a failed install only drops it) is a third tool in each round, with
its own bucket and settings module (`settings_publish_collectfasta.py`): `collectstatic` with
`collectfasta` before `django.contrib.staticfiles` in INSTALLED_APPS, the same
S3ManifestStaticStorage, and the strategy its README recommends for that storage,
`Boto3ManifestMemoryStrategy` (hashes and post-processes in an InMemoryStorage, then uploads the
files whose md5 differs from the ETag in a listing of the bucket; measured at 500 files, a first
deploy makes a HEAD, a DELETE and a PUT for each file, a no-change one a few listings).
COLLECTFASTA_THREADS = 16, sluice publish's default concurrency. Its hash cache
(COLLECTFASTA_CACHE) is a LocMemCache (thread-safe, MAX_ENTRIES above any tree's size): it lives
in the collectstatic process only, so no deploy starts with hashes remembered from an earlier
one — what a fresh CI runner has, and no help the other two tools lack (the remote hashes come
from the bucket listing either way). After each of its deploys the section lists its bucket and
the collectstatic one (untimed, outside the marks) and requires both to hold the same keys with
the same ETags, so a misconfigured run that uploads nothing (its thread pool drops exceptions)
is not reported as fast. If it does not install, a deploy fails or a listing differs, the
section goes on without it (dropping its samples) and says "Collectfasta: not measured —
<reason>" in its table and results.
"""

import glob
import os
import socket
import subprocess
import threading
import time

from ..common import BenchError, fmt_time, log, median, retire, run_checked, timed

PACKAGES = ["moto[server]==5.2.5", "django-storages[s3]==1.14.6", "whitenoise==6.12.0",
            "brotli==1.2.1"]
# Collectfasta 3.3.5 declares Django 5.2–6.1 and Python 3.10–3.14; needs django-storages ≥ 1.13.2.
COLLECTFASTA = "collectfasta==3.3.5"
CF_VERSION = COLLECTFASTA.split("==")[1]
COLLECTFASTA_THREADS = 16   # sluice publish's default `concurrency`

COLLECTFASTA_SETTINGS = '''
INSTALLED_APPS = ["collectfasta", *INSTALLED_APPS]
COLLECTFASTA_STRATEGY = "collectfasta.strategies.boto3.Boto3ManifestMemoryStrategy"
COLLECTFASTA_THREADS = {threads}
COLLECTFASTA_CACHE = "collectfasta"
CACHES = {{
    "default": {{"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
    "collectfasta": {{"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                      "LOCATION": "collectfasta", "TIMEOUT": None,
                      "OPTIONS": {{"MAX_ENTRIES": 10_000_000}}}},
}}
'''

SETTINGS = '''"""Benchmark settings for the publish section: {what}."""
from .settings import *  # noqa: F401,F403

STATIC_ROOT = BASE_DIR / "{root}"
STORAGES = {{
    "default": {{"BACKEND": "django.core.files.storage.FileSystemStorage"}},
    "staticfiles": {{"BACKEND": "{backend}"}},
}}
AWS_STORAGE_BUCKET_NAME = {bucket!r}
AWS_S3_ENDPOINT_URL = {endpoint!r}
AWS_S3_REGION_NAME = "us-east-1"
AWS_LOCATION = "static"
AWS_ACCESS_KEY_ID = "bench"
AWS_SECRET_ACCESS_KEY = "bench"
'''

BOTO = '''import boto3, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                  aws_access_key_id="bench", aws_secret_access_key="bench")
for b in sys.argv[2:]:
    s3.create_bucket(Bucket=b)
'''

# Prints, for each bucket: its object count and a digest of its sorted (key, ETag) pairs.
LISTING = '''import boto3, hashlib, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                  aws_access_key_id="bench", aws_secret_access_key="bench")
for b in sys.argv[2:]:
    pairs = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=b, Prefix="static/"):
        pairs += [(o["Key"], o["ETag"]) for o in page.get("Contents", [])]
    pairs.sort()
    print(len(pairs), hashlib.sha256(repr(pairs).encode()).hexdigest())
'''


class Moto:
    """moto_server on a free loopback port; its request lines are counted."""

    def __init__(self, python):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        program = ("from moto.server import main\n"
                   f"main(['-H', '127.0.0.1', '-p', '{self.port}'])\n")
        self.proc = subprocess.Popen([python, "-c", program], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        self.lines = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise BenchError("moto_server did not start")
                time.sleep(0.1)
        self.python = python

    def _read(self):
        for line in self.proc.stderr:
            if " HTTP/1.1" in line:
                with self.lock:
                    self.lines += 1

    def count(self):
        # The server logs a request before it answers it; give the reader a moment.
        time.sleep(0.3)
        with self.lock:
            return self.lines

    def buckets(self, *names):
        run_checked([self.python, "-c", BOTO, self.endpoint, *names], what="create buckets")

    def listing(self, *names):
        """(object count, digest of the keys and ETags) of each bucket under static/."""
        out = run_checked([self.python, "-c", LISTING, self.endpoint, *names],
                          what="list buckets")
        return [(int(n), digest) for n, digest in (line.split() for line in out.splitlines())]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _ensure_packages(ctx):
    probe = [ctx.python, "-c", "import moto.server, storages, whitenoise, brotli, boto3"]
    if subprocess.run(probe, stderr=subprocess.DEVNULL).returncode != 0:
        log(f"installing {' '.join(PACKAGES)} into {ctx.venv} …")
        run_checked([ctx.python, "-m", "pip", "install", "--quiet", *PACKAGES],
                    what="pip install " + " ".join(PACKAGES))


def _ensure_collectfasta(ctx):
    """None when the pinned Collectfasta imports (installing it if needed), else why not."""
    version = CF_VERSION
    # Its modules read Django settings on import: configure a minimal one first.
    probe = [ctx.python, "-c",
             "import importlib.metadata as m, django; from django.conf import settings; "
             "settings.configure(INSTALLED_APPS=['collectfasta', 'django.contrib.staticfiles']); "
             "django.setup(); "
             "import collectfasta.management.commands.collectstatic, "
             "collectfasta.strategies.boto3; "
             f"assert m.version('collectfasta') == {version!r}, m.version('collectfasta')"]
    if subprocess.run(probe, stderr=subprocess.DEVNULL).returncode == 0:
        return None
    log(f"installing {COLLECTFASTA} into {ctx.venv} …")
    pip = subprocess.run([ctx.python, "-m", "pip", "install", "--quiet", COLLECTFASTA],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if pip.returncode != 0:
        last = [l for l in pip.stdout.splitlines() if l.strip()][-1:] or ["no output"]
        return f"pip install {COLLECTFASTA} failed (exit {pip.returncode}): {last[0].strip()}"
    check = subprocess.run(probe, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if check.returncode != 0:
        last = [l for l in check.stdout.splitlines() if l.strip()][-1:] or ["no output"]
        return f"{COLLECTFASTA} installed but does not import: {last[0].strip()}"
    return None


def _stylesheet(ctx):
    sheets = sorted(glob.glob(os.path.join(ctx.project, "media", "**", "*.css"), recursive=True))
    if not sheets:
        raise BenchError("the bench tree has no stylesheet to edit")
    return sheets[0]


def run(ctx):
    _ensure_packages(ctx)
    cf_reason = _ensure_collectfasta(ctx)
    if cf_reason:
        log(f"Collectfasta: not measured — {cf_reason}")
    p = ctx.project
    moto = Moto(ctx.python)
    sheet = _stylesheet(ctx)
    with open(sheet, "rb") as f:
        original = f.read()
    toml = os.path.join(p, "sluice.toml")
    with open(toml, "rb") as f:
        toml_text = f.read()
    try:
        result = _measure(ctx, moto, sheet, toml, toml_text.decode(), cf_reason)
    finally:
        with open(sheet, "wb") as f:
            f.write(original)
        with open(toml, "wb") as f:
            f.write(toml_text)
        moto.stop()
    ctx.results["publish"] = result


def _measure(ctx, moto, sheet, toml, toml_text, cf_reason):
    p = ctx.project
    runs = max(1, min(ctx.runs, 3))
    env = _env(ctx, moto)
    rows = {k: {"django": [], "collectfasta": [], "sluice": []}
            for k in ("first", "nochange", "onefile")}
    # Collectfasta's state: why it is not (or no longer) measured, and its buckets' listings.
    cf = {"reason": cf_reason, "objects": []}
    edits = [0]

    def edit():
        edits[0] += 1
        with open(sheet, "a", encoding="utf-8") as f:
            f.write(f"\n/* publish bench edit {edits[0]} */\n")

    def drop_collectfasta(reason):
        log(f"Collectfasta: not measured — {reason}")
        cf["reason"] = reason
        for kind in rows:
            rows[kind]["collectfasta"] = []

    for r in range(runs):
        dj_bucket, sl_bucket = f"django-{r}-{os.getpid()}", f"sluice-{r}-{os.getpid()}"
        cf_bucket = f"collectfasta-{r}-{os.getpid()}"
        moto.buckets(dj_bucket, sl_bucket, cf_bucket)
        settings = os.path.join(p, "benchsite", "settings_publish_s3.py")
        with open(settings, "w", encoding="utf-8") as f:
            f.write(SETTINGS.format(what="S3ManifestStaticStorage", root="static-publish-s3",
                                    backend="storages.backends.s3.S3ManifestStaticStorage",
                                    bucket=dj_bucket, endpoint=moto.endpoint))
        cf_settings = os.path.join(p, "benchsite", "settings_publish_collectfasta.py")
        with open(cf_settings, "w", encoding="utf-8") as f:
            f.write(SETTINGS.format(what="Collectfasta, S3ManifestStaticStorage",
                                    root="static-publish-collectfasta",
                                    backend="storages.backends.s3.S3ManifestStaticStorage",
                                    bucket=cf_bucket, endpoint=moto.endpoint)
                    + COLLECTFASTA_SETTINGS.format(threads=COLLECTFASTA_THREADS))
        django = [ctx.python, "manage.py", "collectstatic", "--noinput", "-v", "0",
                  "--settings", "benchsite.settings_publish_s3"]
        collectfasta = [ctx.python, "manage.py", "collectstatic", "--noinput", "-v", "0",
                        "--settings", "benchsite.settings_publish_collectfasta"]
        out = os.path.join(p, "static-publish")
        retire(out)
        retire(os.path.join(p, ".sluice"))
        build = [ctx.sluice, "-q", "build", "--output", out, "--hash", "--no-compress"]
        publish = [ctx.sluice, "-q", "publish", f"s3://{sl_bucket}/static", "--output", out]

        def each(kind):
            n = moto.count()
            t = timed(django, cwd=p, env=env, what="collectstatic (S3)")
            rows[kind]["django"].append((t.wall, moto.count() - n))
            note = ""
            if not cf["reason"]:
                n = moto.count()
                try:
                    c = timed(collectfasta, cwd=p, env=env, what="collectstatic (Collectfasta)")
                except BenchError as e:
                    drop_collectfasta(f"its {kind} deploy failed: "
                                      + " | ".join(str(e).strip().splitlines()[-3:]))
                else:
                    requests = moto.count() - n
                    # Untimed, outside the marks: the same keys and ETags as collectstatic's?
                    (dj_n, dj_digest), (cf_n, cf_digest) = moto.listing(dj_bucket, cf_bucket)
                    cf["objects"].append({"round": r + 1, "deploy": kind,
                                          "collectfasta": cf_n, "collectstatic": dj_n})
                    if (cf_n, cf_digest) != (dj_n, dj_digest):
                        drop_collectfasta(
                            f"after its {kind} deploy its bucket holds {cf_n} objects, "
                            f"collectstatic's {dj_n}"
                            + (" (same count, different keys or ETags)" if cf_n == dj_n else ""))
                    else:
                        rows[kind]["collectfasta"].append((c.wall, requests))
                        note = (f", Collectfasta {fmt_time(c.wall).strip()} ({requests} requests,"
                                f" {cf_n} objects)")
            n = moto.count()
            a = timed(build, cwd=p, env=env, what="sluice build")
            b = timed(publish, cwd=p, env=env, what="sluice publish")
            rows[kind]["sluice"].append((a.wall + b.wall, moto.count() - n, b.wall))
            log(f"publish round {r + 1}/{runs} {kind}: collectstatic {fmt_time(t.wall).strip()}"
                f" ({rows[kind]['django'][-1][1]} requests){note}, sluice "
                f"{fmt_time(a.wall + b.wall).strip()} ({rows[kind]['sluice'][-1][1]} requests)")

        each("first")
        each("nochange")
        edit()
        each("onefile")

    # Fleet: one machine fills the shared cache, a second (cold) reads it.
    dist = _add_bundles(p, ctx.files)
    try:
        return _fleet(ctx, p, moto, env, toml, toml_text, rows, runs, cf)
    finally:
        retire(dist)


def _add_bundles(project, files):
    """Built bundles in `media/dist/` (see the module comment); returns the folder."""
    import random
    from .. import tree
    rng = random.Random(files)
    dist = os.path.join(project, "media", "dist")
    os.makedirs(dist, exist_ok=True)
    for i in range(max(4, files // 100)):
        size = rng.randint(100_000, 600_000)
        if i % 2:
            rel, text = f"dist/bundle-{i}.js", tree._js(rng, f"dist/bundle-{i}.js", size)
        else:
            rel = f"dist/bundle-{i}.css"
            text = tree._css(rng, rel, size, [], [], [])
        with open(os.path.join(project, "media", rel), "w", encoding="utf-8") as f:
            f.write(text)
    return dist


def run_fleet(ctx):
    """The fleet case alone (`--only fleet`): minutes where the whole section takes an hour at
    5 000 files, most of it collectstatic's S3 deploys."""
    _ensure_packages(ctx)
    p = ctx.project
    moto = Moto(ctx.python)
    toml = os.path.join(p, "sluice.toml")
    with open(toml, "rb") as f:
        toml_text = f.read()
    runs = max(1, min(ctx.runs, 3))
    try:
        dist = _add_bundles(p, ctx.files)
        try:
            fleet = _fleet_rounds(ctx, p, moto, _env(ctx, moto), toml, toml_text.decode(), runs)
        finally:
            retire(dist)
    finally:
        with open(toml, "wb") as f:
            f.write(toml_text)
        moto.stop()
    line = _fleet_line(fleet)
    ctx.summary.extend([f"fleet ({ctx.files} files and {max(4, ctx.files // 100)} built bundles;"
                        f" median of {runs})", line])
    ctx.results["fleet"] = _fleet_summary(fleet)


def _env(ctx, moto):
    return dict(ctx.env, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                AWS_ENDPOINT_URL=moto.endpoint, AWS_REGION="us-east-1")


def _fleet_line(fleet):
    sl, wn = median(fleet["sluice"]), median(fleet["whitenoise"])
    return (f"  fleet: cold build, shared cache warm {fmt_time(sl).strip()} vs whitenoise cold"
            f" {fmt_time(wn).strip()}: {wn / sl:.1f}× (goal ≥ 20×)")


def _fleet_summary(fleet):
    return {"sluice_s": median(fleet["sluice"]), "whitenoise_s": median(fleet["whitenoise"]),
            "samples": fleet}


def _fleet_rounds(ctx, p, moto, env, toml, toml_text, runs):
    """Machine one fills the shared cache; then, each round, a cold build reading it vs
    whitenoise's cold collectstatic."""
    cache_bucket = f"cache-{os.getpid()}"
    moto.buckets(cache_bucket)
    with open(toml, "w", encoding="utf-8") as f:
        f.write(f'{toml_text}\n[cache]\nremote = "s3://{cache_bucket}/sluice-cache"\n')
    fleet_out = os.path.join(p, "static-fleet")
    compress = ["--hash", "--compress", "gzip,br"]

    def cold():
        retire(fleet_out)
        retire(os.path.join(p, ".sluice"))

    cold()
    run_checked([ctx.sluice, "-q", "build", "--output", fleet_out, *compress, "--cache-write"],
                cwd=p, env=env, what="sluice build --cache-write")
    wn_settings = os.path.join(p, "benchsite", "settings_publish_whitenoise.py")
    with open(wn_settings, "w", encoding="utf-8") as f:
        f.write(SETTINGS.format(what="whitenoise", root="static-publish-whitenoise",
                                backend="whitenoise.storage.CompressedManifestStaticFilesStorage",
                                bucket="", endpoint=""))
    whitenoise = [ctx.python, "manage.py", "collectstatic", "--noinput", "-v", "0",
                  "--settings", "benchsite.settings_publish_whitenoise"]
    fleet = {"sluice": [], "whitenoise": []}
    for r in range(runs):
        cold()
        t = timed([ctx.sluice, "-q", "build", "--output", fleet_out, *compress], cwd=p, env=env,
                  what="sluice build (shared cache)")
        fleet["sluice"].append(t.wall)
        retire(os.path.join(p, "static-publish-whitenoise"))
        t = timed(whitenoise, cwd=p, env=env, what="collectstatic (whitenoise)")
        fleet["whitenoise"].append(t.wall)
        log(f"publish fleet round {r + 1}/{runs}: sluice {fmt_time(fleet['sluice'][-1]).strip()},"
            f" whitenoise {fmt_time(t.wall).strip()}")
    return fleet


def _fleet(ctx, p, moto, env, toml, toml_text, rows, runs, cf):
    fleet = _fleet_rounds(ctx, p, moto, env, toml, toml_text, runs)
    measured_cf = not cf["reason"]
    lines = [f"publish ({ctx.files} files, moto on loopback; median of {runs}; requests as the "
             f"server logged them)",
             f"  {'deploy':<18}{'collectstatic S3':>18}{'requests':>10}"
             + (f"{'Collectfasta':>14}{'requests':>10}" if measured_cf else "")
             + f"{'sluice build+publish':>22}{'requests':>10}{'ratio':>8}"
             + (f"{'cf/sl':>8}{'cf/sl req':>11}" if measured_cf else "")]
    summary = {}
    for kind, label in (("first", "first"), ("nochange", "no change"), ("onefile", "one file")):
        dj = median([w for w, _ in rows[kind]["django"]])
        djr = median([n for _, n in rows[kind]["django"]])
        sl = median([w for w, _, _ in rows[kind]["sluice"]])
        slr = median([n for _, n, _ in rows[kind]["sluice"]])
        summary[kind] = {"collectstatic_s": dj, "collectstatic_requests": djr,
                         "sluice_s": sl, "sluice_requests": slr,
                         "samples": rows[kind]}
        line = f"  {label:<18}{fmt_time(dj, 18)}{djr:>10.0f}"
        if measured_cf:
            cfs = median([w for w, _ in rows[kind]["collectfasta"]])
            cfr = median([n for _, n in rows[kind]["collectfasta"]])
            req_ratio = cfr / slr if slr else None
            summary[kind].update({"collectfasta_s": cfs, "collectfasta_requests": cfr,
                                  "collectfasta_vs_sluice_time": cfs / sl,
                                  "collectfasta_vs_sluice_requests": req_ratio})
            line += f"{fmt_time(cfs, 14)}{cfr:>10.0f}"
        line += f"{fmt_time(sl, 22)}{slr:>10.0f}{dj / sl:>7.1f}×"
        if measured_cf:
            req_text = f"{req_ratio:.1f}×" if req_ratio is not None else "—"
            line += f"{cfs / sl:>7.1f}×{req_text:>11}"
        lines.append(line)
    if measured_cf:
        lines.append(f"  ratio: collectstatic / sluice time; cf/sl: Collectfasta {CF_VERSION} "
                     f"({COLLECTFASTA_THREADS} threads, Boto3ManifestMemoryStrategy) / sluice, "
                     f"time and requests")
    else:
        lines.append(f"  Collectfasta: not measured — {cf['reason']}")
    summary["collectfasta"] = {"version": CF_VERSION, "measured": measured_cf,
                               "reason": cf["reason"], "threads": COLLECTFASTA_THREADS,
                               "strategy": "collectfasta.strategies.boto3."
                                           "Boto3ManifestMemoryStrategy",
                               "cache": "LocMemCache (per collectstatic process)",
                               "objects": cf["objects"]}
    lines.append(_fleet_line(fleet))
    summary["fleet"] = _fleet_summary(fleet)
    ctx.summary.extend(lines)
    return summary
