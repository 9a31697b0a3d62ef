"""What every benchmark section shares: paths, the run context, timing and formatting."""

import glob
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(BENCH_DIR)
OUT_DIR = os.path.join(BENCH_DIR, "out")


def log(*args):
    print(*args, file=sys.stderr, flush=True)


class BenchError(Exception):
    """A step failed; the message says which and how."""


@dataclass
class Context:
    """Everything a section needs; built once by `bench/run`."""
    files: int
    runs: int
    project: str            # the generated Django project
    tree: dict              # the tree's summary (files, bytes, by_ext, …)
    sluice: str             # the release binary
    python: str             # the venv's python (has Django)
    venv: str
    env: dict               # environment for the project's tools (venv activated)
    results: dict = field(default_factory=dict)   # section name → raw numbers, for the JSON
    summary: list = field(default_factory=list)   # lines of the final block


def run_checked(cmd, cwd=None, env=None, what=None):
    """Runs cmd (untimed), raising BenchError with its output when it fails."""
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise BenchError(f"{what or cmd[0]} failed (exit {proc.returncode}): "
                         f"{' '.join(cmd)}\n{proc.stdout[-4000:]}")
    return proc.stdout


@dataclass
class Sample:
    """One timed run: wall-clock seconds, and the CPU seconds of the process and its waited-for
    children (from wait4), which say whether a slow run was busy or waiting."""
    wall: float
    user: float
    sys: float


def timed(cmd, cwd=None, env=None, what=None):
    """One run of cmd: wall clock by time.perf_counter around the subprocess. The page cache is
    left warm; dirty pages from earlier steps are flushed first (os.sync, untimed) so a run does
    not pay for the previous one's writeback."""
    os.sync()
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stderr.close()
    if proc.returncode != 0:
        raise BenchError(f"{what or cmd[0]} failed (exit {proc.returncode}): {' '.join(cmd)}\n"
                         + stderr.decode(errors="replace")[-4000:])
    return Sample(elapsed, usage.ru_utime, usage.ru_stime)


# Why outputs are moved aside instead of deleted between timed runs: on ext4 without a journal
# (this VM's root filesystem, and others), the inode allocator skips every inode freed in the
# last ~30 s and reads its inode-table block to find out (fs/ext4/ialloc.c, recently_deleted).
# Creating 20 000 files right after deleting 20 000 then costs seconds of kernel time (measured:
# cp -a 13.3 s right after an rm -rf, 2.0 s 40 s later), whichever tool runs. So retired outputs
# go to out/trash/ (a rename), the trash is emptied after the last timed run, and a run that
# starts within RECENT_DELETE_S of the previous emptying waits first.
TRASH_ROOT = os.path.join(OUT_DIR, "trash")
TRASH_DIR = os.path.join(TRASH_ROOT, str(os.getpid()))   # this run's own
LAST_DELETE = os.path.join(OUT_DIR, ".last-delete")
RECENT_DELETE_S = 40
_retired = [0]


def retire(path):
    """Moves path out of the way (untimed preparation) without freeing any inode."""
    if not os.path.lexists(path):
        return
    os.makedirs(TRASH_DIR, exist_ok=True)
    _retired[0] += 1
    os.rename(path, os.path.join(TRASH_DIR, str(_retired[0])))


def retire_record(project, output):
    """Retires sluice's record of `output` in project's `.sluice/` (`out-<hash>.rec`, which
    names its output root in its header; with its lock and any crash journal), so the next run
    into it starts from nothing recorded. The content cache and the Django answer stay."""
    names = {os.fsencode(output), os.fsencode(os.path.realpath(output))}
    for f in glob.glob(os.path.join(project, ".sluice", "out-*.rec")):
        with open(f, "rb") as fh:
            head = fh.read(4096)
        if any(name in head for name in names):
            stem = f[:-len(".rec")]
            for path in (f, stem + ".lock", stem + ".intent"):
                retire(path)


def empty_trash(everything=False):
    """Deletes what this run's `retire` moved aside (with everything=True: any run's, for
    leftovers of interrupted runs; only under the lock); remembers when, for
    `wait_after_deletes`."""
    target = TRASH_ROOT if everything else TRASH_DIR
    if not os.path.isdir(target):
        return
    if not os.listdir(target):
        os.rmdir(target)
        return
    log(f"emptying bench/out/{os.path.relpath(target, OUT_DIR)} (untimed) …")
    subprocess.run(["rm", "-rf", target])
    note_deletes()


def note_deletes():
    with open(LAST_DELETE, "w") as f:
        f.write(str(time.time()))


def wait_after_deletes():
    """Sleeps until RECENT_DELETE_S have passed since the last mass delete (see TRASH_DIR)."""
    try:
        with open(LAST_DELETE) as f:
            since = time.time() - float(f.read())
    except (OSError, ValueError):
        return
    if 0 <= since < RECENT_DELETE_S:
        wait = RECENT_DELETE_S - since
        log(f"waiting {wait:.0f} s: files were deleted {since:.0f} s ago, and ext4 without a "
            "journal makes file creation slow for ~30 s after a mass delete")
        time.sleep(wait)


def free_bytes(path):
    return shutil.disk_usage(path).free


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def sample_table(samples):
    """Logs one row per case: median, min and max wall time, median CPU, every sample."""
    log("")
    log(f"  {'case':<30} {'median':>8} {'min':>8} {'max':>8} {'cpu u+s':>8}   all wall (s)")
    for name, xs in samples.items():
        wall = [x.wall for x in xs]
        cpu = median([x.user + x.sys for x in xs])
        log(f"  {name:<30} {fmt_time(median(wall), 8)} {fmt_time(min(wall), 8)} "
            f"{fmt_time(max(wall), 8)} {fmt_time(cpu, 8)}   "
            + " ".join(f"{x:.3f}" for x in wall))
    log("  (cpu u+s: median user+system CPU of the process and its children)")
    log("")


def fmt_time(seconds, width=7):
    """812 ms / 4.1 s, right-aligned in width."""
    text = f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"
    return text.rjust(width)


LOAD_SEEN = []   # 1-minute load average after every timed run, for the peak in the header


def load():
    return os.getloadavg()


def interleave(runs, cases, log_prefix=""):
    """Runs each case once per round, in order, for `runs` rounds: A B C A B C …, never all A
    then all B, so drift in the machine's load hits every case alike.

    A case is (name, prepare, command) where prepare() does the untimed set-up and command()
    returns a Sample. Returns {name: [Sample per round]}."""
    samples = {name: [] for name, _, _ in cases}
    for r in range(runs):
        line = []
        for name, prepare, command in cases:
            if prepare:
                prepare()
            t = command()
            LOAD_SEEN.append(os.getloadavg()[0])
            samples[name].append(t)
            line.append(f"{name} {fmt_time(t.wall).strip()}")
        log(f"{log_prefix}round {r + 1}/{runs}: " + ", ".join(line))
    return samples


def npm_install(node_dir, packages, section, tools="the packages"):
    """Installs the pinned npm `packages` into `node_dir` once (a stamp file names what is
    there) and returns its node_modules folder. `section` and `tools` word the error when node
    or npm is missing."""
    npm = shutil.which("npm")
    if not npm or not shutil.which("node"):
        raise BenchError(f"the {section} section needs node and npm (for {tools})")
    stamp = os.path.join(node_dir, ".installed")
    want = " ".join(packages)
    try:
        with open(stamp, encoding="utf-8") as f:
            have = f.read()
    except OSError:
        have = None
    if have != want:
        log(f"installing {want} from npm into {node_dir} …")
        os.makedirs(node_dir, exist_ok=True)
        with open(os.path.join(node_dir, "package.json"), "w") as f:
            f.write('{"private": true}\n')
        run_checked([npm, "install", "--no-audit", "--no-fund", "--loglevel=error"] + list(packages),
                    cwd=node_dir, what="npm install")
        with open(stamp, "w", encoding="utf-8") as f:
            f.write(want)
    return os.path.join(node_dir, "node_modules")
