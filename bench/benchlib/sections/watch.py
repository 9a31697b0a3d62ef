"""`sluice watch` against the incumbent dev watchers: gulp-watch (bedrock's gulp setup) and a plain
chokidar mirror (the floor of a Node watcher), natively and polling.

Cases, one session of each per round, interleaved:
- sluice cold: `sluice watch` with an empty output and no `.sluice/` (so it also asks Django for
  its settings and copies all N files before it is ready);
- sluice warm: output and state present (the previous session's);
- sluice --poll: warm, with sluice's own stat-only poller at its default interval;
- gulp-watch: gulp 5 + gulp-watch, `src('media/**/*').pipe(watch(…)).pipe(dest(out))` into an
  empty output (it always copies everything at start);
- chokidar: chokidar 4 + fs.copyFile into an empty output, initial files included;
- chokidar poll: the same with `usePolling: true` (chokidar's default intervals).

A session: spawn → ready line (ready time; CPU to ready), 3 s settle, RSS of the process tree,
10 s idle CPU of the tree, then EDITS edits of random css/js sources, each waiting until the
output holds the new bytes (latency = from the write's return to the new content visible,
observed through inotify on the output folder with a 0.5 ms stat+read backstop), then SIGINT.
"""

import ctypes
import ctypes.util
import json
import os
import queue
import random
import select
import shutil
import signal
import subprocess
import threading
import time

from ..common import (BENCH_DIR, BenchError, LOAD_SEEN, OUT_DIR, fmt_time, free_bytes, log,
                      median, retire, run_checked)
from ..prepare import VENV_ROOT

NODE_DIR = os.path.join(VENV_ROOT, "node")           # ~/.cache/sluice-bench/node
SCRIPTS = os.path.join(BENCH_DIR, "benchlib", "node")
PACKAGES = ["gulp@5.0.1", "gulp-watch@5.0.1", "chokidar@4.0.3"]

EDITS = 30                 # per session (issue 3: ≥ 30)
SETTLE_S = 3.0             # after ready, before RSS and the idle window
IDLE_S = 10.0              # idle CPU window
EDIT_TIMEOUT_S = 10.0
READY_TIMEOUT_S = 900.0
BACKSTOP_S = 0.0005        # stat+read of the output at least this often while waiting

# Issue 3's targets.
T_READY_COLD_S = 2.0       # at 20 000 files
T_READY_WARM_S = 0.3
T_P50_MS = 2.0
T_P95_MS = 10.0
T_RSS_MB = 40.0            # at 20 000 files
T_IDLE_PCT = 1.0           # "~0": under 1 % of a core
T_POLL_PCT = 10.0
T_POLL_LAT_S = 1.0

CLK_TCK = os.sysconf("SC_CLK_TCK")


# ----------------------------------------------------------------------------- the incumbents

def ensure_node():
    """gulp, gulp-watch and chokidar from npm into ~/.cache/sluice-bench/node/, once.
    Returns (node binary, {name: version})."""
    node = shutil.which("node")
    npm = shutil.which("npm")
    if not node or not npm:
        raise BenchError("the watch section needs node and npm (for gulp-watch and chokidar)")
    modules = os.path.join(NODE_DIR, "node_modules")
    want = {p.rsplit("@", 1)[0]: p.rsplit("@", 1)[1] for p in PACKAGES}

    def versions():
        have = {}
        for name in want:
            try:
                with open(os.path.join(modules, name, "package.json"), encoding="utf-8") as f:
                    have[name] = json.load(f)["version"]
            except (OSError, ValueError, KeyError):
                have[name] = None
        return have

    if versions() != want:
        log(f"installing {' '.join(PACKAGES)} from npm into {NODE_DIR} …")
        os.makedirs(NODE_DIR, exist_ok=True)
        shutil.copy(os.path.join(SCRIPTS, "package.json"), os.path.join(NODE_DIR, "package.json"))
        run_checked([npm, "install", "--no-audit", "--no-fund", "--no-save"] + PACKAGES,
                    cwd=NODE_DIR, what="npm install")
        if versions() != want:
            raise BenchError(f"npm installed {versions()}, wanted {want}")
    have = versions()
    try:   # gulp-watch brings its own chokidar (2.x)
        with open(os.path.join(modules, "gulp-watch", "node_modules", "chokidar",
                               "package.json"), encoding="utf-8") as f:
            have["chokidar (of gulp-watch)"] = json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        pass
    have["node"] = run_checked([node, "--version"], what="node --version").strip()
    return node, have


# ----------------------------------------------------------------------------- /proc

def _tree(root):
    """root and its descendants (pids), from /proc/*/stat."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(name))
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo += children.get(pid, [])
    return pids


def tree_cpu(root):
    """utime+stime (+ waited-for children's) of the tree, seconds."""
    total = 0
    for pid in _tree(root):
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15])   # utime stime cutime cstime
    return total / CLK_TCK


def tree_rss_mb(root):
    total = 0
    for pid in _tree(root):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def tree_inotify_watches(root):
    n = 0
    for pid in _tree(root):
        try:
            fds = os.listdir(f"/proc/{pid}/fdinfo")
        except OSError:
            continue
        for fd in fds:
            try:
                with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                    n += sum(1 for line in f if line.startswith("inotify wd:"))
            except OSError:
                pass
    return n


# ----------------------------------------------------------------------------- inotify probe

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
IN_MODIFY, IN_CLOSE_WRITE, IN_MOVED_TO, IN_CREATE = 0x2, 0x8, 0x80, 0x100
IN_NONBLOCK, IN_CLOEXEC = 0o4000, 0o2000000


class OutputProbe:
    """Waits until a file holds given bytes: inotify on its folder wakes the wait at once on
    modify/close-write/create/moved-to; between events it stats and reads every BACKSTOP_S."""

    def __init__(self):
        self.fd = _libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            raise BenchError(f"inotify_init1: {os.strerror(ctypes.get_errno())}")
        self.dirs = {}

    def watch(self, folder):
        if folder not in self.dirs:
            wd = _libc.inotify_add_watch(self.fd, os.fsencode(folder),
                                         IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE)
            self.dirs[folder] = wd

    def reset(self):
        """Forgets the watches (outputs are renamed away between sessions)."""
        for wd in self.dirs.values():
            _libc.inotify_rm_watch(self.fd, wd)
        self.dirs = {}
        self._drain()

    def _drain(self):
        try:
            while os.read(self.fd, 65536):
                pass
        except BlockingIOError:
            pass

    def wait_for(self, path, content, deadline):
        """Monotonic time when path first held content, or None at the deadline."""
        while True:
            try:
                if os.stat(path).st_size == len(content):
                    with open(path, "rb") as f:
                        if f.read() == content:
                            return time.monotonic()
            except OSError:
                pass
            now = time.monotonic()
            if now >= deadline:
                return None
            r, _, _ = select.select([self.fd], [], [], min(BACKSTOP_S, deadline - now))
            if r:
                self._drain()

    def close(self):
        os.close(self.fd)


# ----------------------------------------------------------------------------- a session

class Session:
    """One watcher process: spawned, its stdout lines timestamped by a reader thread."""

    def __init__(self, cmd, cwd, env, log_path):
        self.stderr = open(log_path, "wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                     stderr=self.stderr, stdin=subprocess.DEVNULL)
        self.lines = queue.Queue()
        self.all = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            t = time.monotonic()
            try:
                obj = json.loads(raw)
            except ValueError:
                continue
            self.all.append((t, obj))
            self.lines.put((t, obj))
        self.lines.put((time.monotonic(), None))

    def wait_event(self, name, timeout):
        deadline = time.monotonic() + timeout
        while True:
            try:
                t, obj = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return None, None
            if obj is None:
                return None, None
            if obj.get("event") == name:
                return t, obj

    def stop(self):
        """SIGINT, as Ctrl-C; SIGKILL after 20 s. Returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()
        return self.proc.returncode


def _pct(xs, q):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def run_session(ctx, case, sources, originals, rng, probe, logs_dir):
    """Runs one case's session; returns its measurements (dict)."""
    if case["prepare"]:
        case["prepare"]()
    probe.reset()
    os.sync()
    log_path = os.path.join(logs_dir, case["name"].replace(" ", "_").replace("-", "") + ".log")
    s = Session(case["cmd"], ctx.project, case["env"], log_path)
    rec = {}
    try:
        t_ready, ready = s.wait_event("ready", READY_TIMEOUT_S)
        if ready is None:
            s.stop()
            with open(log_path, errors="replace") as f:
                raise BenchError(f"{case['name']}: no ready line (exit {s.proc.returncode}); "
                                 f"stderr:\n{f.read()[-3000:]}")
        rec["ready_s"] = t_ready - s.started
        rec["cpu_to_ready_s"] = tree_cpu(s.proc.pid)
        rec["ready_line"] = ready
        if case.get("backend") and ready.get("backend") != case["backend"]:
            raise BenchError(f"{case['name']}: backend {ready.get('backend')!r}, expected "
                             f"{case['backend']!r}: {ready}")
        time.sleep(SETTLE_S)
        rec["rss_mb"] = tree_rss_mb(s.proc.pid)
        rec["inotify_watches"] = tree_inotify_watches(s.proc.pid)
        c0, w0 = tree_cpu(s.proc.pid), time.monotonic()
        time.sleep(IDLE_S)
        c1, w1 = tree_cpu(s.proc.pid), time.monotonic()
        rec["idle_cpu_pct"] = 100.0 * (c1 - c0) / (w1 - w0)

        out_root = case["out"]
        lat, reported, missed = [], [], 0
        picks = rng.sample(sources, EDITS)
        for i, rel in enumerate(picks):
            src = os.path.join(ctx.project, "media", rel)
            dst = os.path.join(out_root, rel)
            probe.watch(os.path.dirname(dst))
            marker = f"\n/* sluice-bench {case['name']} {os.getpid()} {time.time_ns()} {i} */\n"
            content = originals[rel] + marker.encode()
            with open(src, "wb") as f:
                f.write(content)
            t_write = time.monotonic()
            t_seen = probe.wait_for(dst, content, t_write + EDIT_TIMEOUT_S)
            if t_seen is None:
                missed += 1
            else:
                lat.append(t_seen - t_write)
            # Gap before the next edit: random, so the edits fall at random phases of a poller.
            time.sleep(rng.uniform(*case["gap"]))
        for t, obj in s.all:
            if obj.get("event") == "copied" and "t_ms" in obj:
                reported.append(obj)
        rec["latency_s"] = lat
        rec["missed"] = missed
        rec["p50_ms"] = _pct(lat, 0.5) * 1000
        rec["p95_ms"] = _pct(lat, 0.95) * 1000
        rec["max_ms"] = max(lat) * 1000 if lat else float("nan")
        changes = [obj for _, obj in s.all if obj.get("event") == "change"]
        if changes:
            rec["sluice_change_elapsed_ms"] = [c.get("elapsed_ms") for c in changes]
    finally:
        rec["exit"] = s.stop()
    if case.get("expect_exit0") and rec["exit"] != 0:
        raise BenchError(f"{case['name']}: exit {rec['exit']} after SIGINT (see {log_path})")
    LOAD_SEEN.append(os.getloadavg()[0])
    return rec


# ----------------------------------------------------------------------------- the section

def run(ctx):
    p = ctx.project
    node, versions = ensure_node()
    node_env = dict(ctx.env, NODE_PATH=os.path.join(NODE_DIR, "node_modules"))
    media = os.path.join(p, "media")
    static = os.path.join(p, "static")
    state = os.path.join(p, ".sluice")
    outs = {k: os.path.join(p, f"watch-{k}") for k in ("gulp", "chokidar", "chokidar-poll")}
    logs_dir = os.path.join(OUT_DIR, "watch-logs")
    os.makedirs(logs_dir, exist_ok=True)

    need = 4 * (ctx.runs + 1) * ctx.tree["bytes"] * 1.1
    if free_bytes(p) < need:
        raise BenchError(f"the watch section keeps {need / 1e9:.1f} GB of retired outputs until "
                         f"it ends, and {p} has {free_bytes(p) / 1e9:.1f} GB free")

    sources = sorted(
        os.path.relpath(os.path.join(d, n), media)
        for top in ("css", "js") for d, _, names in os.walk(os.path.join(media, top))
        for n in names if n.endswith((".css", ".js")))
    if len(sources) < EDITS:
        raise BenchError(f"only {len(sources)} css/js files in {media}")
    originals = {rel: open(os.path.join(media, rel), "rb").read() for rel in sources}
    stats = {rel: os.stat(os.path.join(media, rel)) for rel in sources}

    def sluice_cmd(*extra):
        return [ctx.sluice, "watch", "--format", "json", *extra]

    def cold_sluice():
        retire(static)
        retire(state)

    def node_case(name, script, out, *extra, gap=(0.05, 0.15)):
        return {"name": name, "cmd": [node, os.path.join(SCRIPTS, script), "media", out, *extra],
                "env": node_env, "out": out, "gap": gap,
                "prepare": lambda: retire(out)}

    cases = [
        {"name": "sluice cold", "cmd": sluice_cmd(), "env": ctx.env, "out": static,
         "prepare": cold_sluice, "backend": "native", "gap": (0.05, 0.15), "expect_exit0": True},
        {"name": "sluice warm", "cmd": sluice_cmd(), "env": ctx.env, "out": static,
         "prepare": None, "backend": "native", "gap": (0.05, 0.15), "expect_exit0": True},
        {"name": "sluice --poll", "cmd": sluice_cmd("--poll"), "env": ctx.env, "out": static,
         "prepare": None, "backend": "poll", "gap": (0.05, 0.8), "expect_exit0": True},
        node_case("gulp-watch", "gulp-watch.js", outs["gulp"]),
        node_case("chokidar", "chokidar-mirror.js", outs["chokidar"]),
        node_case("chokidar poll", "chokidar-mirror.js", outs["chokidar-poll"], "poll",
                  gap=(0.05, 0.5)),
    ]

    rng = random.Random(f"watch:{ctx.files}:{time.time_ns()}")
    probe = OutputProbe()
    samples = {c["name"]: [] for c in cases}
    log(f"watch: {', '.join(f'{k} {v}' for k, v in versions.items())}")
    log(f"watch: untimed warm-up round, then {ctx.runs} rounds of {len(cases)} sessions "
        f"(ready, {SETTLE_S:.0f} s settle, RSS, {IDLE_S:.0f} s idle CPU, {EDITS} edits) …")
    try:
        for r in range(ctx.runs + 1):
            line = []
            for case in cases:
                rec = run_session(ctx, case, sources, originals, rng, probe, logs_dir)
                if r > 0:
                    samples[case["name"]].append(rec)
                line.append(f"{case['name']} ready {rec['ready_s']:.2f} s "
                            f"p50 {rec['p50_ms']:.1f} ms")
                if rec["missed"]:
                    line[-1] += f" ({rec['missed']} missed)"
            log(("  warm-up: " if r == 0 else f"  round {r}/{ctx.runs}: ") + "; ".join(line))
            if r == 0:
                _check_outputs(ctx, static, outs)
    finally:
        probe.close()
        # Put the edited sources back (bytes and mtimes): the tree is shared with other sections.
        for rel in sources:
            path = os.path.join(media, rel)
            with open(path, "rb") as f:
                if f.read() == originals[rel]:
                    continue
            with open(path, "wb") as f:
                f.write(originals[rel])
            os.utime(path, ns=(stats[rel].st_atime_ns, stats[rel].st_mtime_ns))

    _report(ctx, cases, samples, versions)


def _count_files(root):
    return sum(len(names) for _, _, names in os.walk(root))


def _check_outputs(ctx, static, outs):
    """After the warm-up: every tool's output has the N files (gulp 5 without encoding:false
    would have corrupted binaries: compare a few png byte for byte)."""
    media = os.path.join(ctx.project, "media")
    for name, root in [("sluice", static)] + [(k, v) for k, v in outs.items()]:
        n = _count_files(root)
        if n != ctx.files:
            raise BenchError(f"{name} left {n} files in {root}, expected {ctx.files}")
    pngs = []
    for d, _, names in os.walk(os.path.join(media, "img")):
        pngs += [os.path.relpath(os.path.join(d, n), media) for n in names if n.endswith(".png")]
        if len(pngs) > 20:
            break
    for rel in pngs[:20]:
        want = open(os.path.join(media, rel), "rb").read()
        for name, root in [("sluice", static)] + list(outs.items()):
            if open(os.path.join(root, rel), "rb").read() != want:
                raise BenchError(f"{name}'s copy of {rel} differs from the source")


def _report(ctx, cases, samples, versions):
    def med(name, key):
        return median([s[key] for s in samples[name]])

    def pooled(name):
        return [x for s in samples[name] for x in s["latency_s"]]

    m = {}
    for c in cases:
        name = c["name"]
        lat = pooled(name)
        m[name] = {
            "ready_s": med(name, "ready_s"),
            "cpu_to_ready_s": med(name, "cpu_to_ready_s"),
            "rss_mb": med(name, "rss_mb"),
            "idle_cpu_pct": med(name, "idle_cpu_pct"),
            "p50_ms": med(name, "p50_ms"),
            "p95_ms": med(name, "p95_ms"),
            "pooled_p50_ms": _pct(lat, 0.5) * 1000,
            "pooled_p95_ms": _pct(lat, 0.95) * 1000,
            "pooled_max_ms": max(lat) * 1000 if lat else float("nan"),
            "missed": sum(s["missed"] for s in samples[name]),
            "inotify_watches": med(name, "inotify_watches"),
        }

    sc, sw, sp = m["sluice cold"], m["sluice warm"], m["sluice --poll"]
    gw, ck, cp = m["gulp-watch"], m["chokidar"], m["chokidar poll"]
    scale = ctx.files / 20_000
    met = {
        "ready_cold": sc["ready_s"] <= T_READY_COLD_S * max(1.0, scale),
        "ready_warm": sw["ready_s"] <= T_READY_WARM_S * max(1.0, scale),
        "edit_p50": max(sw["p50_ms"], sc["p50_ms"]) <= T_P50_MS,
        "edit_p95": max(sw["p95_ms"], sc["p95_ms"]) <= T_P95_MS,
        "rss": max(sw["rss_mb"], sc["rss_mb"]) <= T_RSS_MB * max(1.0, scale),
        "idle_cpu": max(sw["idle_cpu_pct"], sc["idle_cpu_pct"]) <= T_IDLE_PCT,
        "poll_cpu": sp["idle_cpu_pct"] <= T_POLL_PCT,
        "poll_latency": (sp["pooled_max_ms"] / 1000 <= T_POLL_LAT_S and not sp["missed"]),
    }
    ctx.results["watch"] = {
        "versions": versions,
        "edits_per_session": EDITS, "settle_s": SETTLE_S, "idle_window_s": IDLE_S,
        "sessions": {name: [{k: v for k, v in s.items()} for s in xs]
                     for name, xs in samples.items()},
        "medians": m,
        "targets": {"ready_cold_s": T_READY_COLD_S, "ready_warm_s": T_READY_WARM_S,
                    "edit_p50_ms": T_P50_MS, "edit_p95_ms": T_P95_MS, "rss_mb": T_RSS_MB,
                    "idle_cpu_pct": T_IDLE_PCT, "poll_cpu_pct": T_POLL_PCT,
                    "poll_latency_s": T_POLL_LAT_S,
                    "note": "ready/RSS targets are for 20 000 files; above that they are "
                            "scaled linearly with N"},
        "met": met,
    }

    def ok(b):
        return "ok" if b else "MISSED"

    def x(a, b):
        return f"{a / b:.0f}×" if b > 0 and a / b >= 10 else (f"{a / b:.1f}×" if b > 0 else "–")

    sfx = "" if scale <= 1 else f" (scaled ×{scale:.0f} for N)"
    lines = [
        f"watch ({EDITS} edits a session, {ctx.runs} sessions a tool; p50/p95 = median over "
        "sessions; RSS after ready + 3 s; idle CPU over 10 s, % of one core)",
        f"  {'tool':<16}{'ready':>8}{'CPU→ready':>11}{'RSS':>9}{'idle CPU':>10}"
        f"{'edit p50':>11}{'p95':>11}{'max':>10}{'watches':>9}",
    ]
    for name, v in m.items():
        lines.append(
            f"  {name:<16}{fmt_time(v['ready_s'], 8)}{fmt_time(v['cpu_to_ready_s'], 11)}"
            f"{v['rss_mb']:>6.0f} MB{v['idle_cpu_pct']:>9.1f}%"
            f"{v['p50_ms']:>8.1f} ms{v['p95_ms']:>8.1f} ms{v['pooled_max_ms']:>7.0f} ms"
            f"{v['inotify_watches']:>9.0f}" + (f"  ({v['missed']} missed)" if v["missed"] else ""))
    lines += [
        f"  ready cold   sluice {fmt_time(sc['ready_s']).strip()} vs gulp-watch "
        f"{fmt_time(gw['ready_s']).strip()} ({x(gw['ready_s'], sc['ready_s'])}), chokidar "
        f"{fmt_time(ck['ready_s']).strip()} ({x(ck['ready_s'], sc['ready_s'])})   "
        f"(target ≤ {T_READY_COLD_S * max(1.0, scale):.0f} s{sfx}: {ok(met['ready_cold'])})",
        f"  ready warm   sluice {fmt_time(sw['ready_s']).strip()}   "
        f"(target ≤ {T_READY_WARM_S * max(1.0, scale) * 1000:.0f} ms{sfx}: "
        f"{ok(met['ready_warm'])})",
        f"  edit p50     sluice {sw['p50_ms']:.1f} ms (cold session {sc['p50_ms']:.1f}) vs "
        f"gulp-watch {gw['p50_ms']:.1f} ({x(gw['p50_ms'], sw['p50_ms'])}), chokidar "
        f"{ck['p50_ms']:.1f} ({x(ck['p50_ms'], sw['p50_ms'])})   "
        f"(target ≤ {T_P50_MS:.0f} ms: {ok(met['edit_p50'])})",
        f"  edit p95     sluice {sw['p95_ms']:.1f} ms (cold session {sc['p95_ms']:.1f}) vs "
        f"gulp-watch {gw['p95_ms']:.1f}, chokidar {ck['p95_ms']:.1f}   "
        f"(target ≤ {T_P95_MS:.0f} ms: {ok(met['edit_p95'])})",
        f"  RSS          sluice {sw['rss_mb']:.0f} MB (cold session {sc['rss_mb']:.0f}) vs "
        f"gulp-watch {gw['rss_mb']:.0f} ({x(gw['rss_mb'], sw['rss_mb'])}), chokidar "
        f"{ck['rss_mb']:.0f} ({x(ck['rss_mb'], sw['rss_mb'])})   "
        f"(target ≤ {T_RSS_MB * max(1.0, scale):.0f} MB{sfx}: {ok(met['rss'])})",
        f"  idle CPU     sluice {sw['idle_cpu_pct']:.2f} % vs gulp-watch "
        f"{gw['idle_cpu_pct']:.2f} %, chokidar {ck['idle_cpu_pct']:.2f} %   "
        f"(target ~0, < {T_IDLE_PCT:.0f} %: {ok(met['idle_cpu'])})",
        f"  poll CPU     sluice --poll {sp['idle_cpu_pct']:.1f} % vs chokidar usePolling "
        f"{cp['idle_cpu_pct']:.1f} % ({x(cp['idle_cpu_pct'], sp['idle_cpu_pct'])})   "
        f"(target ≤ {T_POLL_PCT:.0f} %: {ok(met['poll_cpu'])})",
        f"  poll latency sluice --poll p50 {sp['p50_ms']:.0f} / p95 {sp['p95_ms']:.0f} / max "
        f"{sp['pooled_max_ms']:.0f} ms vs chokidar usePolling {cp['p50_ms']:.0f} / "
        f"{cp['p95_ms']:.0f} / {cp['pooled_max_ms']:.0f} ms   "
        f"(target ≤ {T_POLL_LAT_S * 1000:.0f} ms: {ok(met['poll_latency'])})",
    ]
    ctx.summary += lines
    log("")
    for line in lines[1:len(m) + 2]:
        log(line)
    log("")
