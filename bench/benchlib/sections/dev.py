"""`sluice dev`: how fast a saved file reaches the browser, and what the proxy costs a page.

One `sluice dev` session on a small Django project made here (`bench/out/dev-site/`: one view
returning a 25 KB bedrock-like HTML page with 40 <link>/<script> tags, CommonMiddleware so
Django sends Content-Length) whose STATICFILES_DIRS is the generated tree's `media/` (N files),
with its default backend, `python manage.py runserver` (autoreloader on, as developers run it).

- Write → SSE latency: a client holds `/__sluice/events` open (HTTP/1.0 socket, read with
  select, timestamps on arrival); EDITS css and EDITS js sources are rewritten (original bytes +
  a unique comment) one at a time, latency = from the write's return to the `css`/`reload`
  event line arriving. A gap of 50-150 ms separates edits.
- Proxy overhead: REQUESTS pairs of `GET /` — straight to runserver's port, then through
  sluice's port — each on a fresh connection (`Connection: close`, read to the end, as the
  proxy itself opens one backend connection per request), the order inside a pair alternating.
  Overhead = median of the per-pair differences (proxied − direct); medians of both are shown.
  The same for a static file (a 20 KB css): sluice serves it from the output, runserver's
  staticfiles handler from the finders.
Targets (issue 4): write → event ≤ 20 ms; proxy overhead per page ≤ 1 ms.
"""

import json
import os
import queue
import random
import select
import socket
import statistics
import subprocess
import threading
import time

from ..common import OUT_DIR, BenchError, fmt_time, log

EDITS = 30
REQUESTS = 200
EVENT_TIMEOUT_S = 10.0
READY_TIMEOUT_S = 900.0
T_EVENT_MS = 20.0
T_OVERHEAD_MS = 1.0

SETTINGS = '''"""sluice dev benchmark site: one page, static files from the generated tree."""
SECRET_KEY = "sluice-dev-bench-not-secret"
DEBUG = True
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["django.contrib.staticfiles"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "devbench.urls"
DATABASES = {}
STATIC_URL = "/static/"
STATICFILES_DIRS = [%(media)r]
STATIC_ROOT = %(static)r
'''

URLS = '''from django.http import HttpResponse
from django.urls import path

LINKS = %(links)r
SCRIPTS = %(scripts)r
FILLER = "".join(
    "<section><h2>Section %%d</h2><p>%%s</p></section>\\n" %% (i, "Lorem ipsum dolor sit amet. " * 20)
    for i in range(40)
)


def page(request):
    head = "".join('<link rel="stylesheet" href="/static/%%s">\\n' %% p for p in LINKS)
    tail = "".join('<script src="/static/%%s"></script>\\n' %% p for p in SCRIPTS)
    return HttpResponse(
        "<!doctype html><html><head><meta charset='utf-8'><title>bench</title>\\n"
        + head + "</head><body>\\n" + FILLER + tail + "</body></html>\\n"
    )


urlpatterns = [path("", page)]
'''

MANAGE = '''#!/usr/bin/env python3
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "devbench.settings")
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
'''


def sources(media, ext):
    found = []
    for folder, _, names in os.walk(media):
        for name in names:
            if name.endswith(ext):
                found.append(os.path.relpath(os.path.join(folder, name), media))
    return sorted(found)


def make_site(ctx, css, js):
    site = os.path.join(OUT_DIR, "dev-site")
    os.makedirs(os.path.join(site, "devbench"), exist_ok=True)
    media = os.path.join(ctx.project, "media")
    files = {
        "manage.py": MANAGE,
        "devbench/__init__.py": "",
        "devbench/settings.py": SETTINGS % {"media": media,
                                            "static": os.path.join(site, "static")},
        "devbench/urls.py": URLS % {"links": css[:20], "scripts": js[:20]},
    }
    for rel, text in files.items():
        with open(os.path.join(site, rel), "w", encoding="utf-8") as f:
            f.write(text)
    return site


class Dev:
    """The `sluice dev` process; its JSON events on a queue, kept until taken."""

    def __init__(self, ctx, site):
        env = dict(ctx.env)
        env.pop("PORT", None)
        env.pop("DJANGO_SETTINGS_MODULE", None)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        self.stderr = open(os.path.join(OUT_DIR, "dev-sluice.log"), "wb")
        self.proc = subprocess.Popen([ctx.sluice, "dev", "--format", "json", "--port", "0"],
                                     cwd=site, env=env, stdout=subprocess.PIPE,
                                     stderr=self.stderr, stdin=subprocess.DEVNULL)
        self.events = queue.Queue()
        self.pending = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            try:
                self.events.put(json.loads(raw))
            except ValueError:
                continue
        self.events.put(None)

    def wait(self, name, timeout):
        for i, event in enumerate(self.pending):
            if event.get("event") == name:
                return self.pending.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            try:
                event = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise BenchError(f"sluice dev: no `{name}` event within {timeout:.0f} s "
                                 "(see bench/out/dev-sluice.log)")
            if event is None:
                raise BenchError("sluice dev exited early (see bench/out/dev-sluice.log)")
            if event.get("event") == name:
                return event
            self.pending.append(event)

    def stop(self):
        self.proc.send_signal(2)
        code = self.proc.wait(timeout=60)
        self.stderr.close()
        if code != 0:
            raise BenchError(f"sluice dev exited {code} on SIGINT")


class EventStream:
    """/__sluice/events over a raw socket: (arrival time, event name) per event."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.sendall(b"GET /__sluice/events HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        self.buf = b""
        self.name = None
        if self.next(EVENT_TIMEOUT_S)[1] != "hello":
            raise BenchError("the event stream did not start with `hello`")

    def next(self, timeout):
        deadline = time.perf_counter() + timeout
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                if line.startswith(b"event: "):
                    self.name = line[7:].decode()
                elif line.startswith(b"data: ") and self.name:
                    return time.perf_counter(), self.name
            left = deadline - time.perf_counter()
            if left <= 0:
                return None, None
            r, _, _ = select.select([self.sock], [], [], left)
            if r:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise BenchError("the event stream closed")
                self.buf += chunk


def fetch(port, path):
    """Seconds for one GET on a fresh connection, read to the end; and the status."""
    started = time.perf_counter()
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    sock.close()
    elapsed = time.perf_counter() - started
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return elapsed, status, data


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else float("nan")


def ms(seconds):
    return f"{seconds * 1000:.2f} ms"


def run(ctx):
    media = os.path.join(ctx.project, "media")
    css, js = sources(media, ".css"), sources(media, ".js")
    if len(css) < EDITS or len(js) < EDITS:
        raise BenchError(f"the tree has {len(css)} css and {len(js)} js files; need {EDITS} each")
    site = make_site(ctx, css, js)
    rng = random.Random(4)
    edits = [(p, "css") for p in rng.sample(css, EDITS)] + [(p, "reload") for p in rng.sample(js, EDITS)]
    rng.shuffle(edits)
    originals = {}
    for rel, _ in edits:
        path = os.path.join(media, rel)
        with open(path, "rb") as f:
            originals[rel] = (f.read(), os.stat(path))

    log(f"dev: sluice dev on {os.path.relpath(site, os.getcwd())} (sources: the {ctx.files}-file "
        "tree), default backend runserver")
    started = time.monotonic()
    dev = Dev(ctx, site)
    try:
        listening = dev.wait("listening", READY_TIMEOUT_S)
        backend = dev.wait("backend_started", READY_TIMEOUT_S)
        dev.wait("ready", READY_TIMEOUT_S)
        dev.wait("backend_up", READY_TIMEOUT_S)
        ready_s = time.monotonic() - started
        public, private = listening["port"], backend["port"]
        page = fetch(public, "/")
        if page[1] != 200 or b"/__sluice/client.js" not in page[2]:
            raise BenchError(f"GET / through sluice: status {page[1]}, no client script")

        # Write → event.
        stream = EventStream(public)
        latencies = {"css": [], "reload": []}
        missed = 0
        for i, (rel, kind) in enumerate(edits):
            path = os.path.join(media, rel)
            with open(path, "wb") as f:
                f.write(originals[rel][0] + f"\n/* dev bench edit {i} */\n".encode())
            t0 = time.perf_counter()
            t, name = stream.next(EVENT_TIMEOUT_S)
            if t is None:
                missed += 1
            elif name != kind:
                raise BenchError(f"editing {rel} sent `{name}`, expected `{kind}`")
            else:
                latencies[kind].append(t - t0)
            time.sleep(rng.uniform(0.05, 0.15))
            # Anything else for this edit (there should be nothing) is not the next edit's.
            while stream.next(0.0)[0] is not None:
                pass

        # Proxy overhead, pages and a static file.
        static_path = "/static/" + min(css, key=lambda p: abs(os.path.getsize(os.path.join(media, p)) - 20000))
        overhead = {}
        for label, path in (("page", "/"), ("static", static_path)):
            direct, proxied, diffs = [], [], []
            for i in range(REQUESTS):
                order = [(private, direct), (public, proxied)]
                if i % 2:
                    order.reverse()
                took = {}
                for port, into in order:
                    elapsed, status, _ = fetch(port, path)
                    if status != 200:
                        raise BenchError(f"GET {path} on port {port}: status {status}")
                    into.append(elapsed)
                    took[port] = elapsed
                diffs.append(took[public] - took[private])
            overhead[label] = {"direct": direct, "proxied": proxied, "diffs": diffs}
    finally:
        try:
            dev.stop()
        finally:
            for rel, (data, st) in originals.items():
                path = os.path.join(media, rel)
                with open(path, "wb") as f:
                    f.write(data)
                os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))

    all_lat = latencies["css"] + latencies["reload"]
    log("")
    log(f"  sluice dev ready (initial sync + runserver up) in {fmt_time(ready_s).strip()}")
    for kind, xs in latencies.items():
        log(f"  write → `{kind}` event: p50 {ms(percentile(xs, 50))}, p95 {ms(percentile(xs, 95))}, "
            f"max {ms(max(xs) if xs else float('nan'))} ({len(xs)} edits)")
    if missed:
        log(f"  {missed} edits sent no event within {EVENT_TIMEOUT_S:.0f} s")
    for label, o in overhead.items():
        log(f"  GET {label}: direct median {ms(statistics.median(o['direct']))}, through sluice "
            f"{ms(statistics.median(o['proxied']))}, overhead median {ms(statistics.median(o['diffs']))}"
            f" ({REQUESTS} pairs)")
    log("")

    p50, p95 = percentile(all_lat, 50), percentile(all_lat, 95)
    page_over = statistics.median(overhead["page"]["diffs"])
    static_over = statistics.median(overhead["static"]["diffs"])
    ctx.results["dev"] = {
        "ready_s": ready_s, "latency_s": latencies, "missed": missed,
        "overhead_s": overhead, "static_path": static_path, "requests": REQUESTS,
    }
    met = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    ctx.summary += [
        "dev (sluice dev with runserver):",
        f"  write → SSE event      p50 {ms(p50)}, p95 {ms(p95)} "
        f"(css {ms(percentile(latencies['css'], 50))}, reload {ms(percentile(latencies['reload'], 50))}; "
        f"target ≤ {T_EVENT_MS:.0f} ms: {met(p95 * 1000 <= T_EVENT_MS and not missed)})",
        f"  proxy overhead, page   {ms(page_over)} per request (direct "
        f"{ms(statistics.median(overhead['page']['direct']))}; target ≤ {T_OVERHEAD_MS:.0f} ms: "
        f"{met(page_over * 1000 <= T_OVERHEAD_MS)})",
        f"  static file via sluice {ms(statistics.median(overhead['static']['proxied']))} vs "
        f"runserver {ms(statistics.median(overhead['static']['direct']))}",
    ]
