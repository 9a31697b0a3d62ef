"""`slowmount`: the Docker-on-macOS case — sources on a slow mount that raises no file events.

The generated tree's `media/` is mounted through `benchlib/slowfs.py` (a read-only FUSE
pass-through, mfusepy from PyPI, DELAY_MS per stat/listing/open: a stat walk of 20 000 files
takes seconds, as through Docker Desktop's file sharing) at `bench/out/slowmount/mnt`; every edit
is made in `media/` underneath, where no event reaches the mount (as the host writes).

A Django site (`bench/out/slowmount-site/`) renders one bedrock-like page with PAGE_TAGS
django-pipeline tags (half `{% stylesheet %}`, half `{% javascript %}`, django-pipeline 4.1,
`PIPELINE_ENABLED = False`), its STATICFILES_DIRS the mount:

1. **collector**: `runserver --noreload` with pipeline's collector on (its default): the first
   render (an empty STATIC_ROOT: it copies every file over the mount) and the steady state
   (each render stats every file over the mount);
2. **sluice dev** (collector off, `sluice dev -- python manage.py runserver --noreload …`): the
   start (first pass over the mount), the first and steady page load (the HTML and every file
   it links, each static request checked against the mount first), the added cost per static
   request (p95, against a `--no-poll` session: the same files without the check), edit →
   browser event for files the page loaded (the hot set), edit → output for files no page
   loaded and a new file (the sweep), and sluice's idle CPU;
3. **chokidar `usePolling`** (chokidar 4) and **gulp-watch** (its chokidar 2, native events) on
   the mount, mirroring it: the same edits of the page's files, edit → output (EDIT_TIMEOUT_S,
   else missed);
4. **local disk, polling forced**: `sluice watch --poll` on the local tree, edit → output p50/p95
   and CPU, idle and with two busy-looping processes keeping both cores busy.

Targets (issue 12): request overhead ≤ 20 ms p95; edit of a loaded file → browser p50 ≤ 300 ms,
p95 ≤ 1 s; any other change within one sweep, ≤ 30 s; idle under 10 % of a core; page render
independent of the number of files and ≥ 100× faster than the collector's; local polling
p50 ≤ 500 ms, p95 ≤ 1 s, ≤ 10 % of a core, also under load.
"""

import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import time

from ..common import BENCH_DIR, OUT_DIR, BenchError, log, run_checked
from ..prepare import VENV_ROOT
from . import dev as devlib
from . import pipeline as pipelinelib
from . import watch as watchlib

DELAY_MS = 0.25
MFUSEPY = "mfusepy==3.1.1"
PAGE_TAGS = 20
EDITS = 30
OTHER_EDITS = 3
EDIT_TIMEOUT_S = 10.0
SWEEP_TIMEOUT_S = 60.0
START_TIMEOUT_S = 1800.0
INCUMBENT_READY_S = 600.0
RENDER_TIMEOUT_S = 1800.0
STEADY_RENDERS = 3
REQUESTS = 100
IDLE_S = 10.0

SETTINGS = '''"""The slowmount benchmark site: {what}."""
SECRET_KEY = "sluice-slowmount-bench"
DEBUG = True
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["django.contrib.staticfiles", "pipeline"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "slowsite.urls"
DATABASES = {{}}
TEMPLATES = [{{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [{templates!r}],
    "APP_DIRS": True,
    "OPTIONS": {{"context_processors": ["django.template.context_processors.request"]}},
}}]
STATIC_URL = "/static/"
STATICFILES_DIRS = [{media!r}]
STATIC_ROOT = {static!r}
STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]
PIPELINE = {{
    "PIPELINE_ENABLED": False,
    "PIPELINE_COLLECTOR_ENABLED": {collector},
    "STYLESHEETS": {stylesheets!r},
    "JAVASCRIPT": {javascript!r},
}}
'''

URLS = '''from django.shortcuts import render
from django.urls import path


def page(request):
    return render(request, "page.html")


urlpatterns = [path("", page)]
'''

MANAGE = '''#!/usr/bin/env python3
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "slowsite.settings_sluice")
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
'''


def _ensure_mfusepy():
    """A virtualenv with mfusepy for slowfs.py, under ~/.cache/sluice-bench/."""
    venv = os.path.join(VENV_ROOT, "slowfs-venv")
    python = os.path.join(venv, "bin", "python")
    if subprocess.run([python, "-c", "import mfusepy"], stderr=subprocess.DEVNULL).returncode:
        log(f"installing {MFUSEPY} into {venv} …")
        run_checked([sys.executable, "-m", "venv", venv], what="python -m venv")
        run_checked([python, "-m", "pip", "install", "--quiet", MFUSEPY], what="pip install mfusepy")
    if not os.path.exists("/dev/fuse"):
        raise BenchError("the slowmount section needs FUSE (/dev/fuse)")
    if not shutil.which("fusermount3"):
        run_checked(["apt-get", "install", "-y", "-qq", "fuse3"], what="apt-get install fuse3")
    return python


class SlowMount:
    """slowfs.py of `under` at `at`; unmounted by `close` (on every exit path)."""

    def __init__(self, python, under, at):
        os.makedirs(at, exist_ok=True)
        self.at = at
        self.log = open(os.path.join(OUT_DIR, "slowmount-fs.log"), "wb")
        self.proc = subprocess.Popen(
            [python, os.path.join(BENCH_DIR, "benchlib", "slowfs.py"), under, at,
             "--delay-ms", str(DELAY_MS)], stdout=subprocess.PIPE, stderr=self.log)
        line = self.proc.stdout.readline()
        if b"mounted" not in line:
            self.close()
            raise BenchError("slowfs did not mount (see bench/out/slowmount-fs.log)")

    def close(self):
        subprocess.run(["fusermount3", "-u", self.at], stderr=subprocess.DEVNULL)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            subprocess.run(["fusermount3", "-uz", self.at], stderr=subprocess.DEVNULL)
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def _site(ctx, mnt, css, js):
    """The Django site: settings_collector (pipeline's collector on, its own STATIC_ROOT) and
    settings_sluice (collector off, STATIC_ROOT that sluice keeps)."""
    site = os.path.join(OUT_DIR, "slowmount-site")
    for rel in ("slowsite", "templates"):
        os.makedirs(os.path.join(site, rel), exist_ok=True)
    half = PAGE_TAGS // 2
    stylesheets = {f"s{i}": {"source_filenames": [css[i]], "output_filename": f"b/s{i}.css"}
                   for i in range(half)}
    javascript = {f"j{i}": {"source_filenames": [js[i]], "output_filename": f"b/j{i}.js"}
                  for i in range(half)}
    page = ("{% load pipeline %}<!doctype html><html><head><meta charset='utf-8'>\n"
            + "".join(f"{{% stylesheet 's{i}' %}}\n" for i in range(half))
            + "</head><body>\n"
            + "".join(f"<section><p>{'Lorem ipsum dolor sit amet. ' * 20}</p></section>\n"
                      for _ in range(40))
            + "".join(f"{{% javascript 'j{i}' %}}\n" for i in range(half))
            + "</body></html>\n")
    files = {
        "manage.py": MANAGE,
        "slowsite/__init__.py": "",
        "slowsite/urls.py": URLS,
        "templates/page.html": page,
    }
    for name, collector, what in (("collector", True, "pipeline's collector on"),
                                  ("sluice", False, "collector off, sluice keeps STATIC_ROOT")):
        files[f"slowsite/settings_{name}.py"] = SETTINGS.format(
            what=what, templates=os.path.join(site, "templates"), media=mnt,
            static=os.path.join(site, f"static-{name}"), collector=collector,
            stylesheets=stylesheets, javascript=javascript)
    for rel, text in files.items():
        with open(os.path.join(site, rel), "w", encoding="utf-8") as f:
            f.write(text)
    return site


def _free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_up(port, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            devlib.fetch(port, "/__nothing__")
            return
        except OSError:
            time.sleep(0.1)
    raise BenchError(f"{what} did not answer on port {port} within {timeout:.0f} s")


def _links(html):
    """The /static/ URLs a page links."""
    import re
    return re.findall(rb'(?:href|src)="(/static/[^"]+)"', html)


def _load(port):
    """A page load: GET / and every file it links, one after the other. (html s, total s)."""
    t0 = time.perf_counter()
    took, status, html = devlib.fetch(port, "/")
    if status != 200:
        raise BenchError(f"GET / on port {port}: status {status}: {html[:300]!r}")
    for url in _links(html):
        _, status, _ = devlib.fetch(port, url.decode())
        if status != 200:
            raise BenchError(f"GET {url.decode()}: status {status}")
    return took, time.perf_counter() - t0, html


def _collector(ctx, site, env, runs):
    """runserver with the collector on: first and steady renders of the page (HTML only: the
    collector runs inside the template tags)."""
    static = os.path.join(site, "static-collector")
    shutil.rmtree(static, ignore_errors=True)
    port = _free_port()
    log_file = open(os.path.join(OUT_DIR, "slowmount-collector.log"), "wb")
    proc = subprocess.Popen([ctx.python, "manage.py", "runserver", "--noreload",
                             "--settings=slowsite.settings_collector", f"127.0.0.1:{port}"],
                            cwd=site, env=env, stdout=log_file, stderr=log_file)
    try:
        _wait_up(port, 120, "runserver (collector)")
        log("  collector: first render (empty STATIC_ROOT: copies the tree over the mount) …")
        first, status, _ = devlib.fetch(port, "/")
        if status != 200:
            raise BenchError(f"collector page: status {status} (see bench/out/slowmount-collector.log)")
        steady = []
        for i in range(runs):
            took, _, _ = devlib.fetch(port, "/")
            steady.append(took)
            log(f"  collector: steady render {i + 1}/{runs}: {took:.2f} s")
        return {"first_s": first, "steady_s": steady}
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log_file.close()


def _edit(media, rel, originals, tag):
    content = originals[rel][0] + f"\n/* slowmount bench {tag} {time.time_ns()} */\n".encode()
    with open(os.path.join(media, rel), "wb") as f:
        f.write(content)
    return content


def _sluice_dev(ctx, site, env, media, page_files, others, originals, rng, runs, no_poll=False):
    args = [ctx.sluice, "dev", "--format", "json", "--port", "0"]
    if no_poll:
        args.append("--no-poll")
    args += ["--", ctx.python, "manage.py", "runserver", "--noreload", "127.0.0.1:{port}"]
    env = dict(env, DJANGO_SETTINGS_MODULE="slowsite.settings_sluice")
    env.pop("SLUICE_POLL", None)
    log_path = os.path.join(OUT_DIR, "slowmount-sluice%s.log" % ("-nopoll" if no_poll else ""))
    session = watchlib.Session(args, site, env, log_path)
    rec = {}
    try:
        t, listening = session.wait_event("listening", START_TIMEOUT_S)
        t_ready, ready = session.wait_event("ready", START_TIMEOUT_S)
        if ready is None:
            raise BenchError(f"sluice dev: no ready event (see {log_path})")
        rec["ready_line"] = ready
        rec["start_s"] = t_ready - session.started
        port = listening["port"]
        _wait_up(port, 120, "sluice dev")
        # The backend may still be starting: wait for a page.
        deadline = time.monotonic() + 120
        while True:
            _, status, _ = devlib.fetch(port, "/")
            if status == 200:
                break
            if time.monotonic() > deadline:
                raise BenchError(f"sluice dev: GET / status {status} (see {log_path})")
            time.sleep(0.2)
        html_s, load_s, html = _load(port)
        rec["first"] = {"html_s": html_s, "load_s": load_s}
        rec["steady"] = [dict(zip(("html_s", "load_s"), _load(port)[:2])) for _ in range(runs)]
        statics = [u.decode() for u in _links(html)]
        rec["static_s"] = [devlib.fetch(port, statics[i % len(statics)])[0]
                           for i in range(REQUESTS)]
        if no_poll:
            return rec
        # Edit → browser: files this page loaded (the hot set).
        stream = devlib.EventStream(port)
        lat, missed = [], 0
        for i, rel in enumerate(rng.sample(page_files, min(EDITS, len(page_files)))):
            _edit(media, rel, originals, f"page {i}")
            t0 = time.perf_counter()
            t, name = stream.next(EDIT_TIMEOUT_S)
            if t is None:
                missed += 1
            else:
                lat.append(t - t0)
            time.sleep(rng.uniform(0.05, 0.3))
            while stream.next(0.2)[0] is not None:
                pass
        rec["edit_to_browser_s"], rec["edit_missed"] = lat, missed
        # Any other change: files no page loaded, and a new file, found by the sweep.
        probe = watchlib.OutputProbe()
        out = os.path.join(site, "static-sluice")
        sweep = []
        try:
            for i, rel in enumerate(others):
                content = _edit(media, rel, originals, f"other {i}")
                dst = os.path.join(out, rel)
                probe.watch(os.path.dirname(dst))
                t0 = time.monotonic()
                seen = probe.wait_for(dst, content, t0 + SWEEP_TIMEOUT_S)
                sweep.append(None if seen is None else seen - t0)
            new_rel = os.path.join(os.path.dirname(others[0]), "slowmount-new.css")
            content = b"/* a file created underneath */\n"
            with open(os.path.join(media, new_rel), "wb") as f:
                f.write(content)
            t0 = time.monotonic()
            seen = probe.wait_for(os.path.join(out, new_rel), content, t0 + SWEEP_TIMEOUT_S)
            sweep.append(None if seen is None else seen - t0)
            os.remove(os.path.join(media, new_rel))
        finally:
            probe.close()
        rec["sweep_s"] = sweep
        # sluice's own idle CPU (not the backend's).
        time.sleep(2.0)
        c0, w0 = _cpu(session.proc.pid), time.monotonic()
        time.sleep(IDLE_S)
        rec["idle_cpu_pct"] = 100 * (_cpu(session.proc.pid) - c0) / (time.monotonic() - w0)
        return rec
    finally:
        rec["exit"] = session.stop()


def _cpu(pid):
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return sum(int(x) for x in fields[11:13]) / watchlib.CLK_TCK


def _incumbent(ctx, name, cmd, out, media, page_files, originals, rng):
    """A node watcher mirroring the mount into `out`: ready time and edit → output."""
    shutil.rmtree(out, ignore_errors=True)
    session = watchlib.Session(cmd, ctx.project, ctx.env,
                               os.path.join(OUT_DIR, f"slowmount-{name}.log"))
    rec = {}
    probe = watchlib.OutputProbe()
    try:
        t, ready = session.wait_event("ready", INCUMBENT_READY_S)
        if ready is None:
            log(f"  {name}: not ready within {INCUMBENT_READY_S:.0f} s; edits not tried")
            rec.update(ready_s=None, latency_s=[], missed=None)
            return rec
        rec["ready_s"] = t - session.started
        log(f"  {name}: ready in {rec['ready_s']:.1f} s")
        lat, missed = [], 0
        for i, rel in enumerate(rng.sample(page_files, min(EDITS, len(page_files)))):
            content = _edit(media, rel, originals, f"{name} {i}")
            dst = os.path.join(out, rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            probe.watch(os.path.dirname(dst))
            t0 = time.monotonic()
            seen = probe.wait_for(dst, content, t0 + EDIT_TIMEOUT_S)
            if seen is None:
                missed += 1
            else:
                lat.append(seen - t0)
            time.sleep(rng.uniform(0.05, 0.3))
        rec["latency_s"], rec["missed"] = lat, missed
    finally:
        probe.close()
        session.stop()
    return rec


def _local_poll(ctx, sources, originals, rng, busy):
    """`sluice watch --poll` on the local tree: edit → output and CPU; `busy`: with two
    processes keeping both cores busy."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2 if busy else 0)]
    session = watchlib.Session([ctx.sluice, "watch", "--format", "json", "--poll"], ctx.project,
                               ctx.env, os.path.join(OUT_DIR, "slowmount-localpoll.log"))
    probe = watchlib.OutputProbe()
    rec = {}
    try:
        t, ready = session.wait_event("ready", START_TIMEOUT_S)
        if ready is None or ready.get("backend") != "poll":
            raise BenchError(f"sluice watch --poll: ready {ready}")
        time.sleep(2.0)
        c0, w0 = _cpu(session.proc.pid), time.monotonic()
        time.sleep(IDLE_S)
        rec["idle_cpu_pct"] = 100 * (_cpu(session.proc.pid) - c0) / (time.monotonic() - w0)
        lat, missed = [], 0
        media = os.path.join(ctx.project, "media")
        out = os.path.join(ctx.project, "static")
        for i, rel in enumerate(rng.sample(sources, EDITS)):
            content = _edit(media, rel, originals, f"local {i}")
            dst = os.path.join(out, rel)
            probe.watch(os.path.dirname(dst))
            t0 = time.monotonic()
            seen = probe.wait_for(dst, content, t0 + EDIT_TIMEOUT_S)
            if seen is None:
                missed += 1
            else:
                lat.append(seen - t0)
            time.sleep(rng.uniform(0.05, 0.8))
        rec["latency_s"], rec["missed"] = lat, missed
    finally:
        probe.close()
        session.stop()
        for h in hogs:
            h.kill()
            h.wait()
    return rec


def run(ctx):
    media = os.path.join(ctx.project, "media")
    css, js = devlib.sources(media, ".css"), devlib.sources(media, ".js")
    half = PAGE_TAGS // 2
    if len(css) < half + OTHER_EDITS or len(js) < half:
        raise BenchError(f"the tree has {len(css)} css and {len(js)} js files; too few")
    pipelinelib._ensure_packages(ctx)
    node, versions = watchlib.ensure_node()
    fuse_python = _ensure_mfusepy()
    rng = random.Random(12)
    page_files = css[:half] + js[:half]
    others = rng.sample(css[half:], OTHER_EDITS)
    local_sources = rng.sample(css + js, min(len(css + js), 200))
    originals = {}
    for rel in set(page_files + others + local_sources):
        path = os.path.join(media, rel)
        with open(path, "rb") as f:
            originals[rel] = (f.read(), os.stat(path))

    mnt = os.path.join(OUT_DIR, "slowmount", "mnt")
    subprocess.run(["fusermount3", "-uz", mnt], stderr=subprocess.DEVNULL)
    site = _site(ctx, mnt, css, js)
    env = dict(ctx.env)
    env.pop("PORT", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    runs = min(ctx.runs, STEADY_RENDERS)
    res = {"delay_ms": DELAY_MS, "page_tags": PAGE_TAGS, "versions": versions}
    log(f"slowmount: {ctx.files} files through slowfs ({DELAY_MS} ms per metadata operation) "
        f"at {os.path.relpath(mnt, os.getcwd())}; edits underneath")
    mount = SlowMount(fuse_python, media, mnt)
    try:
        t0 = time.monotonic()
        n = sum(len(files) for _, _, files in os.walk(mnt))
        res["walk_s"] = time.monotonic() - t0
        log(f"  one walk of the mount: {n} files in {res['walk_s']:.1f} s")
        shutil.rmtree(os.path.join(site, "static-sluice"), ignore_errors=True)
        shutil.rmtree(os.path.join(site, ".sluice"), ignore_errors=True)
        log("  sluice dev: first start over the mount …")
        res["sluice"] = _sluice_dev(ctx, site, env, media, page_files, others, originals, rng, runs)
        log(f"  sluice dev: start {res['sluice']['start_s']:.1f} s")
        log("  sluice dev --no-poll (the same requests without the check) …")
        res["sluice_nopoll"] = _sluice_dev(ctx, site, env, media, page_files, others, originals,
                                           rng, runs, no_poll=True)
        res["collector"] = _collector(ctx, site, env, runs)
        nodes = os.path.join(watchlib.NODE_DIR, "node_modules")
        node_env = dict(ctx.env, NODE_PATH=nodes)
        ctx_env = ctx.env
        ctx.env = node_env
        try:
            res["chokidar_poll"] = _incumbent(
                ctx, "chokidar-poll",
                [node, os.path.join(watchlib.SCRIPTS, "chokidar-mirror.js"), mnt,
                 os.path.join(OUT_DIR, "slowmount-chokidar"), "poll"],
                os.path.join(OUT_DIR, "slowmount-chokidar"), media, page_files, originals, rng)
            res["gulp_watch"] = _incumbent(
                ctx, "gulp-watch",
                [node, os.path.join(watchlib.SCRIPTS, "gulp-watch.js"), mnt,
                 os.path.join(OUT_DIR, "slowmount-gulp")],
                os.path.join(OUT_DIR, "slowmount-gulp"), media, page_files, originals, rng)
        finally:
            ctx.env = ctx_env
    finally:
        mount.close()
        for rel, (data, st) in originals.items():
            path = os.path.join(media, rel)
            with open(path, "wb") as f:
                f.write(data)
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    try:
        res["local_poll"] = _local_poll(ctx, local_sources, originals, rng, busy=False)
        res["local_poll_busy"] = _local_poll(ctx, local_sources, originals, rng, busy=True)
    finally:
        for rel, (data, st) in originals.items():
            path = os.path.join(media, rel)
            with open(path, "wb") as f:
                f.write(data)
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    ctx.results["slowmount"] = res
    _report(ctx, res)


def _report(ctx, res):
    pct = watchlib._pct
    ms = lambda s: f"{s * 1000:.0f} ms"  # noqa: E731
    met = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    s, nopoll, col = res["sluice"], res["sluice_nopoll"], res["collector"]
    steady_html = statistics.median(x["html_s"] for x in s["steady"])
    steady_load = statistics.median(x["load_s"] for x in s["steady"])
    col_steady = statistics.median(col["steady_s"])
    added = pct(s["static_s"], 0.95) - statistics.median(nopoll["static_s"])
    lat = s["edit_to_browser_s"]
    sweep = [x for x in s["sweep_s"] if x is not None]
    swept_all = len(sweep) == len(s["sweep_s"])
    lines = [
        f"slowmount ({ctx.files} files through slowfs, {res['delay_ms']} ms per metadata "
        f"operation; one walk {res['walk_s']:.1f} s; {res['page_tags']} pipeline tags):",
        f"  page, collector on     first {col['first_s']:.1f} s, steady {col_steady:.2f} s (HTML)",
        f"  page, sluice dev       first {s['first']['html_s'] * 1000:.0f} ms HTML / "
        f"{s['first']['load_s'] * 1000:.0f} ms with its {res['page_tags']} files; steady "
        f"{steady_html * 1000:.0f} ms / {steady_load * 1000:.0f} ms (start {s['start_s']:.1f} s)",
        f"  ratio                  steady {col_steady / steady_html:.0f}× (HTML), "
        f"{col_steady / steady_load:.0f}× (whole load); first {col['first_s'] / s['first']['html_s']:.0f}× "
        f"(target ≥ 100×: {met(col_steady / steady_load >= 100)})",
        f"  request check          +{added * 1000:.1f} ms p95 per static request vs --no-poll "
        f"(median {statistics.median(s['static_s']) * 1000:.1f} vs "
        f"{statistics.median(nopoll['static_s']) * 1000:.1f} ms; target ≤ 20 ms: {met(added <= 0.020)})",
        f"  edit → browser         p50 {ms(pct(lat, 0.5))}, p95 {ms(pct(lat, 0.95))} "
        f"({len(lat)} loaded files, {s['edit_missed']} missed; target p50 ≤ 300 ms, p95 ≤ 1 s: "
        f"{met(pct(lat, 0.5) <= 0.3 and pct(lat, 0.95) <= 1.0 and not s['edit_missed'])})",
        f"  other change → output  max {max(sweep) if sweep else float('nan'):.1f} s "
        f"({len(sweep)}/{len(s['sweep_s'])} seen; target ≤ 30 s: "
        f"{met(swept_all and max(sweep) <= 30)})",
        f"  sluice idle CPU        {s['idle_cpu_pct']:.1f} % of a core (target < 10 %: "
        f"{met(s['idle_cpu_pct'] < 10)})",
    ]
    for key, label in (("chokidar_poll", "chokidar usePolling"), ("gulp_watch", "gulp-watch")):
        r = res[key]
        if r["ready_s"] is None:
            lines.append(f"  {label:<22} not ready within {INCUMBENT_READY_S:.0f} s")
            continue
        lines.append(
            f"  {label:<22} ready {r['ready_s']:.1f} s; edit → output p50 "
            f"{ms(pct(r['latency_s'], 0.5))}, p95 {ms(pct(r['latency_s'], 0.95))}, "
            f"{r['missed']}/{r['missed'] + len(r['latency_s'])} missed (> {EDIT_TIMEOUT_S:.0f} s)")
    for key, label in (("local_poll", "local --poll, idle"), ("local_poll_busy", "local --poll, 2 busy")):
        r = res[key]
        ok = pct(r["latency_s"], 0.5) <= 0.5 and pct(r["latency_s"], 0.95) <= 1.0 and not r["missed"]
        lines.append(
            f"  {label:<22} edit → output p50 {ms(pct(r['latency_s'], 0.5))}, p95 "
            f"{ms(pct(r['latency_s'], 0.95))}, {r['missed']} missed; CPU {r['idle_cpu_pct']:.1f} % "
            f"(target p50 ≤ 500 ms, p95 ≤ 1 s, ≤ 10 %: {met(ok and r['idle_cpu_pct'] <= 10)})")
    for line in lines[1:]:
        log(line)
    ctx.summary += lines
