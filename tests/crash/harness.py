#!/usr/bin/env python3
"""crash harness: kills `mpirun -n NP mpicompact compact` (and sometimes
`add`) at random moments and at named fault points, again and again on one
store, and checks after every kill that a plain restart brings the store to
exactly the content the harness expects. See tests/crash/README.md.

    harness.py CYCLES [--seed N] [--np N] [--bin PATH] [--shim PATH] [--keep]

The expected content is the harness's own model: every item it put into the
store through `add` (segment files it wrote with h5py) and every item `gen`
wrote (read back with h5py from the new segments right after gen commits),
reduced to the newest version per key (deletes hide). mpicompact never
tells the model anything: `add` either committed or not, which the harness
reads off CURRENT (the generation moved or not).
"""
import argparse
import collections
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "interop"))
import mcformat as mf  # noqa: E402

# Fault points on the write path that compact and add reach (docs/COMPACT.md).
COMPACT_POINTS = ["seg_create", "seg_write", "seg_fsync", "seg_rename", "dir_fsync", "manifest_write",
                  "manifest_fsync", "current_switch", "seg_unlink", "send_response", "recv_request"]
ADD_POINTS = ["seg_create", "seg_write", "seg_fsync", "seg_rename", "dir_fsync", "manifest_write",
              "manifest_fsync", "current_switch"]
# Points only rank 0 reaches in compact (the commit, the inputs' removal).
RANK0_POINTS = ("manifest_write", "manifest_fsync", "current_switch", "seg_unlink")
TIMEOUT = 900          # a run that takes longer is hung: a failure
M64 = (1 << 64) - 1


class Failure(Exception):
    pass


# ---- the digest of src/core/digest.c, for the expected content ----

SEEDS = [0x243f6a8885a308d3, 0x13198a2e03707344, 0xa4093822299f31d0, 0x082efa98ec4e6c89]


def mix64(x):
    x ^= x >> 30
    x = (x * 0xbf58476d1ce4e5b9) & M64
    x ^= x >> 27
    x = (x * 0x94d049bb133111eb) & M64
    x ^= x >> 31
    return x


def _absorb(h, w):
    for lane in range(4):
        v = h[lane] ^ ((w + SEEDS[lane]) & M64)
        h[lane] = (((v << 29) | (v >> 35)) & M64) * 0x9e3779b97f4a7c15 & M64


def _absorb_bytes(h, p):
    _absorb(h, len(p))
    i = 0
    while i + 8 <= len(p):
        _absorb(h, int.from_bytes(p[i:i + 8], "little"))
        i += 8
    if i < len(p):
        _absorb(h, int.from_bytes(p[i:], "little"))


def digest(content):
    lanes = [0, 0, 0, 0]
    for k, v in content.items():
        h = list(SEEDS)
        _absorb_bytes(h, k)
        _absorb_bytes(h, v)
        for lane in range(4):
            lanes[lane] = (lanes[lane] + mix64(h[lane] ^ SEEDS[(lane + 1) & 3])) & M64
    n = len(content)
    return "".join("%016x" % mix64((lanes[lane] + mix64((n + SEEDS[lane]) & M64)) & M64) for lane in range(4))


# ---- the model ----

class Model:
    def __init__(self):
        self.newest = {}    # key -> (seq, kind, value)
        self.max_seq = 0

    def apply(self, items):
        for k, v, s, kind in items:
            cur = self.newest.get(k)
            if cur is not None and cur[0] == s:
                raise Failure("model: two versions of %r at seq %d" % (k, s))
            if cur is None or s > cur[0]:
                self.newest[k] = (s, kind, v)
            self.max_seq = max(self.max_seq, s)

    def content(self):
        return {k: v for k, (s, kind, v) in self.newest.items() if kind == mf.PUT}


# ---- processes ----

def session_pids(sid):
    """(pid, zombie) of the processes in session SID (from /proc)."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[3]) == sid:
            pids.append((int(name), fields[0] == "Z"))
    return pids


def rank_of(pid):
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            env = f.read().split(b"\0")
    except OSError:
        return None
    for e in env:
        if e.startswith(b"OMPI_COMM_WORLD_RANK="):
            return int(e.split(b"=", 1)[1])
    return None


def kill_session(sid, keep=None):
    """SIGKILL to every process of the session until none is left, not even
    a zombie (a zombie rank still "holds" the store's lock: its pid exists).
    The harness is a child subreaper, so orphaned ranks are its children and
    it reaps them; KEEP (the job's own process, which Popen reaps) is left
    to the caller once dead."""
    for _ in range(6000):
        pids = [(p, z) for p, z in session_pids(sid) if not (z and p == keep)]
        if not pids:
            return
        for p, zombie in pids:
            try:
                if zombie:
                    os.waitpid(p, os.WNOHANG)
                else:
                    os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.01)
    raise Failure("processes of session %d do not go away: %s" % (sid, session_pids(sid)))


def become_subreaper():
    """Orphaned processes of our jobs get reparented to us (PR_SET_CHILD_SUBREAPER)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)


class Harness:
    def __init__(self, a):
        self.a = a
        self.rnd = random.Random(a.seed)
        self.work = tempfile.mkdtemp(prefix="mccrash.")
        self.store = os.path.join(self.work, "store")
        self.log = os.path.join(self.work, "powercut.log")
        self.bak = os.path.join(self.work, "bak")
        os.mkdir(self.bak)
        self.model = Model()
        self.kills = collections.Counter()
        self.points = collections.Counter()
        self.est_compact = 4.0    # seconds a compact run takes (moving average)
        self.est_add = 1.5
        self.env = dict(os.environ)
        self.env.update({"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
                         "OMPI_MCA_mpi_yield_when_idle": "1", "OMPI_MCA_ess_singleton_isolated": "1",
                         "OMPI_MCA_rmaps_base_oversubscribe": "1", "HDF5_USE_FILE_LOCKING": "FALSE",
                         "MPICOMPACT_FAULT": ""})
        # Manifest bases written by a child process from the first segment
        # (src/core/manifest_base.h): kills and power losses also land while
        # a child writes one and while a commit renames it into place.
        self.env["MPICOMPACT_MANIFEST_BG_MIN"] = "1"
        self.env["MPICOMPACT_COMMIT_INTERVAL"] = "0.02"   # many commits a run
        # Open MPI's session directories of our own: isolated singletons all
        # use job family 0, and two of them (ours and another test's) racing
        # on one /tmp/ompi.HOST.UID/jf.0 fail in MPI_Init.
        os.mkdir(os.path.join(self.work, "ompi"))
        self.env["OMPI_MCA_orte_tmpdir_base"] = os.path.join(self.work, "ompi")
        # The shared-memory transport's backing files too: a killed job
        # leaves them behind (one per rank), thousands over a long run. On
        # /dev/shm as by default, in a directory removed at the end.
        shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else self.work
        self.vader = tempfile.mkdtemp(prefix="mccrash-vader.", dir=shm)
        self.env["OMPI_MCA_btl_vader_backing_directory"] = self.vader
        self.cycle = 0
        self.step = ""

    # -- running commands --

    def run(self, args, what, faults="", shim=False, ok=(0,)):
        """A singleton command to its end; returns (rc, stdout, stderr)."""
        env = self.shim_env(shim)
        env["MPICOMPACT_FAULT"] = faults
        try:
            p = subprocess.run([self.a.bin] + args, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            raise Failure("%s: no end after %d s (hung)" % (what, TIMEOUT))
        out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
        if ok is not None and p.returncode not in ok:
            raise Failure("%s: exit %d\n--- stderr ---\n%s" % (what, p.returncode, err[-4000:]))
        return p.returncode, out, err

    def shim_env(self, shim):
        env = dict(self.env)
        if shim:
            env.update({"LD_PRELOAD": self.a.shim, "POWERCUT_ROOT": self.store, "POWERCUT_LOG": self.log,
                        "POWERCUT_BAK": self.bak})
        return env

    def mpirun_args(self, args):
        fwd = []
        for v in ("LD_PRELOAD", "POWERCUT_ROOT", "POWERCUT_LOG", "POWERCUT_BAK", "MPICOMPACT_FAULT"):
            fwd += ["-x", v]
        return ["mpirun", "-n", str(self.a.np), "--oversubscribe", "--bind-to", "none"] + fwd + [self.a.bin] + args

    def start(self, argv, faults, shim):
        env = self.shim_env(shim)
        env["MPICOMPACT_FAULT"] = faults
        if not shim:
            env["LD_PRELOAD"] = env.get("LD_PRELOAD", "")
            env.update({"POWERCUT_ROOT": "", "POWERCUT_LOG": "", "POWERCUT_BAK": ""})
        errf = open(os.path.join(self.work, "job.err"), "w+b")
        p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errf,
                             start_new_session=True)
        return p, errf

    # -- the power loss --

    def power_cut(self):
        """Undoes what was not durable (tests/crash/powercut.c's log)."""
        if not os.path.exists(self.log):
            return
        with open(self.log) as f:
            lines = f.read().splitlines()
        data = {}        # (dev, ino) -> [synced size or None, dirty]
        dirops = []      # (index, dir, op)
        last_sync = {}   # dir -> index of its last fsync
        for i, line in enumerate(lines):
            f = line.split(" ")
            t = f[0]
            if t == "N":
                dirops.append((i, os.path.dirname(f[1]), ("N", f[1], (int(f[2]), int(f[3])))))
            elif t == "C":
                data[(int(f[1]), int(f[2]))] = [0, True]
            elif t == "W":
                data.setdefault((int(f[1]), int(f[2])), [None, False])[1] = True
            elif t == "S":
                data[(int(f[1]), int(f[2]))] = [int(f[3]), False]
            elif t == "R":
                dirops.append((i, os.path.dirname(f[2]), ("R", f[1], f[2], f[3])))
            elif t == "U":
                dirops.append((i, os.path.dirname(f[1]), ("U", f[1], f[2])))
            elif t == "D":
                last_sync[f[1]] = i
        # Per directory, the operations after its last fsync may be lost:
        # a random suffix of them is.
        by_dir = collections.defaultdict(list)
        for i, d, op in dirops:
            if i > last_sync.get(d, -1):
                by_dir[d].append((i, op))
        undo = []
        for d in sorted(by_dir):
            ops = by_dir[d]
            undo += ops[self.rnd.randint(0, len(ops)):]
        undone = 0
        for i, op in sorted(undo, key=lambda x: -x[0]):
            undone += 1
            if op[0] == "N":
                try:
                    st = os.lstat(op[1])
                    if (st.st_dev, st.st_ino) == op[2]:
                        os.unlink(op[1])
                except FileNotFoundError:
                    pass
            elif op[0] == "R":
                _, old, new, bak = op
                if os.path.lexists(new):
                    os.rename(new, old)
                if bak != "-":
                    os.link(bak, new)
            elif op[0] == "U":
                _, path, bak = op
                if bak != "-" and not os.path.lexists(path):
                    os.link(bak, path)
        truncated = 0
        for root, _dirs, files in os.walk(self.store):
            for name in files:
                p = os.path.join(root, name)
                st = os.lstat(p)
                d = data.get((st.st_dev, st.st_ino))
                if d and d[1] and d[0] is not None and st.st_size > d[0]:
                    os.truncate(p, d[0])
                    truncated += 1
        # A power loss means a reboot, which takes longer than the 10 s after
        # which an empty LOCK (created, its pid never made durable) counts as
        # stale (docs/COMPACT.md): age it as the reboot would. Without this the
        # instant restart is refused as "a writer is creating it" (seed
        # 20261203, cycle 650).
        lock = os.path.join(self.store, "LOCK")
        if os.path.isfile(lock) and os.path.getsize(lock) == 0:
            t = time.time() - 60
            os.utime(lock, (t, t))
        self.note("power cut: %d directory operation(s) undone, %d file(s) truncated" % (undone, truncated))

    def clear_log(self):
        if os.path.exists(self.log):
            os.unlink(self.log)
        shutil.rmtree(self.bak)
        os.mkdir(self.bak)

    # -- bookkeeping --

    def note(self, msg):
        if self.a.verbose:
            print("cycle %d: %s" % (self.cycle, msg), flush=True)

    def generation(self):
        with open(os.path.join(self.store, "CURRENT")) as f:
            return f.read().strip()

    def manifest(self):
        return mf.read_manifest(self.store)

    # -- level-0 data --

    def do_gen(self):
        _rel, attrs, entries = self.manifest()
        before = {e["segno"] for e in entries}
        nseg, nitems = self.rnd.randint(1, 3), self.rnd.randint(50, 300)
        self.run(["gen", self.store, "--segments", str(nseg), "--items", str(nitems), "--seed",
                  str(self.rnd.randrange(1 << 30)), "--key-size", "4:12", "--value-size", "0:64",
                  "--overwrite", "0.2", "--delete", "0.1"], "gen")
        _rel, attrs, entries = self.manifest()
        items = []
        for e in entries:
            if e["segno"] not in before:
                items += mf.read_segment(mf.seg_path(self.store, e["segno"]))[1]
        self.model.apply(items)
        self.model.max_seq = max(self.model.max_seq, int(attrs["next_seq"]) - 1)
        self.note("gen: %d segments, %d items" % (nseg, len(items)))

    def new_items(self):
        """Items at fresh seqs: keys old (the model's) and new, puts and deletes."""
        known = list(self.model.newest)
        n = self.rnd.randint(1, 120)
        keys = set()
        while len(keys) < n:
            if known and self.rnd.random() < 0.6:
                keys.add(self.rnd.choice(known))
            else:
                keys.add(b"h%06d" % self.rnd.randrange(20000))
        items = []
        seq = self.model.max_seq
        for k in sorted(keys):
            seq += 1
            if self.rnd.random() < 0.25:
                items.append((k, b"", seq, mf.DELETE))
            else:
                v = bytes(self.rnd.randrange(256) for _ in range(self.rnd.randint(0, 48)))
                items.append((k, v, seq, mf.PUT))
        return items

    def old_items(self, deleted):
        """Puts at old seqs under this phase's deletes (hidden while the
        deletes are kept, which compaction must do) and under newer puts."""
        items = []
        for k in deleted:
            s, kind, _v = self.model.newest[k]
            if kind == mf.DELETE and s > 1:
                items.append((k, b"old-%d" % self.rnd.randrange(1000), self.rnd.randint(1, s - 1), mf.PUT))
        lives = [k for k, (s, kind, v) in self.model.newest.items() if kind == mf.PUT and s > 1]
        for k in self.rnd.sample(lives, min(len(lives), 5)):
            if k in deleted:
                continue
            s = self.model.newest[k][0]
            items.append((k, b"older-%d" % self.rnd.randrange(1000), self.rnd.randint(1, s - 1), mf.PUT))
        return items

    def add_file(self, items, kill):
        """Adds a segment of ITEMS, maybe killed; the model follows CURRENT."""
        path = os.path.join(self.work, "add.h5")
        mf.write_segment(path, items)
        before = self.generation()
        if not kill:
            self.run(["add", self.store, path], "add")
            self.model.apply(items)
            return True
        rc = self.kill_add(path)
        committed = self.generation() != before
        if rc == 0 and not committed:
            raise Failure("add exited 0, but after the kill its commit is gone (CURRENT %s)" % self.generation())
        self.note("add killed; %s" % ("committed" if committed else "not committed"))
        if committed:
            self.model.apply(items)
        return committed

    def kill_add(self, path):
        power = self.rnd.random() < self.a.power
        faults = ""
        if self.rnd.random() < 0.5:
            point = self.rnd.choice(ADD_POINTS)
            faults = "%s:mode=kill:after=%d" % (point, self.after())
        self.clear_log()
        p, errf = self.start([self.a.bin, "add", self.store, path], faults, shim=True)
        t0 = time.time()
        if faults:
            p.wait(timeout=TIMEOUT)
        else:
            delay = self.rnd.uniform(0, self.est_add)
            try:
                p.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                pass
        kind = self.finish_kill(p, errf, "add", None, power)
        if kind == "missed":
            self.est_add = 0.8 * self.est_add + 0.2 * (time.time() - t0)
        self.tally("add", kind, faults, power, errf)
        errf.close()
        return p.returncode

    def add_phase(self, kill):
        items = self.new_items()
        if not self.add_file(items, kill):
            return
        deleted = [k for k, v, s, kind in items if kind == mf.DELETE]
        old = self.old_items(deleted)
        if old:
            self.add_file(old, False)

    # -- the kills --

    def finish_kill(self, p, errf, what, victim_rank, power):
        """The job P is killed now (or ends on its own): returns the kind."""
        sid = p.pid
        if p.poll() is not None and not power:
            errf.seek(0)
            fired = b"] fault " in errf.read()   # the line a kill-mode point prints
            kind = "point" if fired else "missed"
            if kind == "missed" and p.returncode not in (0, 3):
                errf.seek(0)
                raise Failure("%s ended with exit %d before any kill\n%s" % (what, p.returncode,
                                                                            errf.read()[-3000:].decode(errors="replace")))
            kill_session(sid)
            return kind
        if power:
            kill_session(sid, keep=p.pid)
            p.wait()
            kill_session(sid)
            return "power"
        if victim_rank is None:
            victim, kind = p.pid, "mpirun" if what == "compact" else "process"
        else:
            victim, kind = None, "rank0" if victim_rank == 0 else "rank"
            for pid, _zombie in session_pids(sid):
                if rank_of(pid) == victim_rank:
                    victim = pid
            if victim is None:   # ranks not started yet: the launcher goes
                victim, kind = p.pid, "mpirun"
        try:
            os.kill(victim, signal.SIGKILL)
        except OSError:
            pass
        # Let the rest of the job end as it would (mpirun aborts it), then
        # make sure: nothing of it may outlive the cycle.
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        t = time.time()
        while [1 for _p, z in session_pids(sid) if not z] and time.time() - t < 10:
            time.sleep(0.05)
        kill_session(sid, keep=p.pid)
        p.wait()
        kill_session(sid)
        return kind

    def tally(self, what, kind, faults, power, errf):
        errf.seek(0)
        if faults and b"] fault " in errf.read():   # fired (also when a power loss followed)
            self.points[faults.split(":")[0]] += 1
        self.kills["%s:%s" % (what, kind)] += 1
        if power and kind != "missed":
            self.kills["power-loss"] += 1
            self.power_cut()
        self.clear_log()

    def after(self):
        """K of after=K: mostly the first hit (small runs reach few)."""
        return 0 if self.rnd.random() < 0.6 else self.rnd.randint(1, 3)

    def kill_compact(self):
        full = self.rnd.random() < 0.5
        power = self.rnd.random() < self.a.power
        args = ["compact", self.store, "--progress", "none"] + (["--full"] if full else [])
        faults, victim_rank = "", None
        r = self.rnd.random()
        if r < 0.45:
            point = self.rnd.choice(COMPACT_POINTS)
            faults = "%s:mode=kill:after=%d" % (point, self.after())
            if point in ("send_response", "recv_request"):   # workers only
                faults += ":rank=%d" % self.rnd.randint(1, self.a.np - 1)
            elif point in RANK0_POINTS:
                pass
            elif self.rnd.random() < 0.5:
                faults += ":rank=%d" % self.rnd.randrange(self.a.np)
        elif r < 0.6:
            victim_rank = None
        elif r < 0.8:
            victim_rank = 0
        else:
            victim_rank = self.rnd.randint(1, self.a.np - 1)
        self.clear_log()
        t0 = time.time()
        p, errf = self.start(self.mpirun_args(args), faults, shim=True)
        if faults:
            # Wait for the point to fire (its line on stderr) or the job to end.
            while p.poll() is None:
                errf.seek(0)
                if b"] fault " in errf.read():
                    break
                if time.time() - t0 > TIMEOUT:
                    raise Failure("compact with %s: no end after %d s" % (faults, TIMEOUT))
                time.sleep(0.02)
            if p.poll() is None and not power:
                p.wait(timeout=TIMEOUT)
        else:
            try:
                p.wait(timeout=self.rnd.uniform(0, self.est_compact))
            except subprocess.TimeoutExpired:
                pass
        kind = self.finish_kill(p, errf, "compact", victim_rank, power)
        if kind == "missed":
            self.est_compact = 0.8 * self.est_compact + 0.2 * (time.time() - t0)
        self.note("compact%s killed: %s %s" % (" --full" if full else "", kind, faults))
        self.tally("compact", kind, faults, power, errf)
        errf.close()

    # -- the checks --

    def restart_and_check(self):
        full = self.rnd.random() < 0.3
        env = dict(self.env)
        argv = self.mpirun_args(["compact", self.store, "--progress", "none"] + (["--full"] if full else []))
        env.update({"LD_PRELOAD": "", "POWERCUT_ROOT": "", "POWERCUT_LOG": "", "POWERCUT_BAK": ""})
        try:
            p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            raise Failure("restart: compact did not end in %d s (hung)" % TIMEOUT)
        if p.returncode != 0:
            raise Failure("restart: compact exit %d\n%s" % (p.returncode, p.stderr.decode(errors="replace")[-4000:]))
        self.run(["verify", self.store], "verify")
        want = self.model.content()
        _rc, out, _err = self.run(["scan", self.store], "scan")
        lines = out.splitlines()
        want_lines = mf.scan_lines(want)
        if lines != want_lines:
            got = dict(mf.parse_scan(out))
            extra = sorted(set(got) - set(want))[:5]
            missing = sorted(set(want) - set(got))[:5]
            wrong = sorted(k for k in set(got) & set(want) if got[k] != want[k])[:5]
            raise Failure("scan differs from the model: %d lines, want %d; extra %r missing %r wrong value %r" %
                          (len(lines), len(want_lines), extra, missing, wrong))
        _rc, out, _err = self.run(["digest", self.store], "digest")
        if out.strip() != digest(want):
            raise Failure("digest %s, the model's is %s" % (out.strip(), digest(want)))
        self.check_files()

    def check_files(self):
        rel, _attrs, entries = self.manifest()
        want = sorted(mf.seg_relpath(e["segno"]) for e in entries)
        have = mf.seg_dir_files(self.store)
        if want != have:
            raise Failure("seg/ differs from the manifest: extra %s missing %s" %
                          (sorted(set(have) - set(want))[:10], sorted(set(want) - set(have))[:10]))
        mans = sorted(os.listdir(os.path.join(self.store, "manifest")))
        chain = [os.path.basename(r) for r in mf.manifest_chain(self.store)]
        if mans != chain:
            raise Failure("manifest/ holds %s, the committed manifest is made of %s" % (mans, chain))
        # LOCK.stale-PID (a taken-over lock moved aside, then unlinked) may
        # come back after a power loss: harmless, not checked.
        top = sorted(n for n in os.listdir(self.store) if not n.startswith("LOCK.stale-"))
        if top != ["CURRENT", "manifest", "seg"]:
            raise Failure("the store directory holds %s" % top)

    # -- the loop --

    def setup(self):
        self.run(["init", self.store, "--l0-limit", "1", "--fanout", "3", "--levels", "4", "--segment-size",
                  "16K"], "init")
        self.do_gen()

    def one_cycle(self):
        self.step = "data"
        r = self.rnd.random()
        if r < 0.35:
            self.do_gen()
        elif r < 0.85:
            self.add_phase(kill=self.rnd.random() < self.a.add_kills)
        else:
            self.do_gen()
            self.add_phase(kill=False)
        self.step = "kill"
        self.kill_compact()
        self.step = "restart"
        self.restart_and_check()

    def summary(self, survived):
        kinds = ", ".join("%s=%d" % kv for kv in sorted(self.kills.items()))
        pts = ", ".join("%s=%d" % kv for kv in sorted(self.points.items()))
        print("crash: seed=%d np=%d survived %d of %d cycles; kills by kind: %s; by point: %s" %
              (self.a.seed, self.a.np, survived, self.a.cycles, kinds or "none", pts or "none"), flush=True)

    def main(self):
        print("crash: seed=%d np=%d cycles=%d work=%s" % (self.a.seed, self.a.np, self.a.cycles, self.work),
              flush=True)
        survived = 0
        try:
            self.setup()
            for self.cycle in range(1, self.a.cycles + 1):
                self.one_cycle()
                survived += 1
                if self.a.every and survived % self.a.every == 0:
                    self.summary(survived)
        except (Failure, subprocess.TimeoutExpired, OSError) as e:
            print("FAIL: cycle %d (%s): %s" % (self.cycle, self.step, e), file=sys.stderr, flush=True)
            print("  reproduce: bash tests/crash/run.sh %d --seed %d   (store kept in %s)" %
                  (self.a.cycles, self.a.seed, self.store), file=sys.stderr, flush=True)
            self.summary(survived)
            return 1
        finally:
            shutil.rmtree(self.vader, ignore_errors=True)
        self.summary(survived)
        if not self.a.keep:
            shutil.rmtree(self.work, ignore_errors=True)
        return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cycles", type=int)
    ap.add_argument("--seed", type=int, default=int(os.environ.get("MC_SEED", "0")) or None)
    ap.add_argument("--np", type=int, default=4)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--shim", required=True)
    ap.add_argument("--power", type=float, default=0.3, help="share of kills that are power losses")
    ap.add_argument("--add-kills", type=float, default=0.25, help="share of add phases killed")
    ap.add_argument("--every", type=int, default=0, help="print the tally every N cycles")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    if a.seed is None:
        a.seed = random.SystemRandom().randrange(1, 10 ** 9)
    a.bin = os.path.abspath(a.bin)
    a.shim = os.path.abspath(a.shim)
    become_subreaper()
    return Harness(a).main()


if __name__ == "__main__":
    sys.exit(main())
