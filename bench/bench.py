#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""make bench: what a request_complete event costs with ccproxy_exporter attached, beside the
empty-program floor, bpftrace and prometheus_client; scrape time and size; the exporter's
memory and CPU; exactness. Prints one table and writes it to OUTPUT/bench/results.md.

Root only. Every process it starts dies with it (PR_SET_PDEATHSIG) and is stopped on exit.
Method and the meaning of each row: BENCHMARKS.md.
"""
import argparse
import ctypes
import datetime
import gzip
import http.client
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import ccproxy_bench  # noqa: E402
import families  # noqa: E402
LIBC = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1
ALL_CPUS = set(range(os.cpu_count() or 1))
# The measured threads run on CPU 0 (the loadgen pins itself there with --threads 1, and
# bench_probes.py with --cpu 0); this driver and its polling stay off it.
DRIVER_CPU = max(ALL_CPUS)
HIT_FLOOR_NS = 50
# requests_total plus a histogram of 10 buckets (+Inf, _sum, _count): 14 samples a label set,
# so 715 label sets are Prometheus' "10k series".
SAMPLES_10K = 715  # below this a tracer's hits were not trapped: the sample is void


class BenchError(Exception):
    pass


# ---- processes ---------------------------------------------------------------------------

class Procs:
    """Every child, so that none outlives the bench."""

    def __init__(self):
        self.live = []

    @staticmethod
    def _child_setup():
        # Dies with the driver even if the driver is SIGKILLed; SIGTERM lets tracers detach.
        LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        os.sched_setaffinity(0, ALL_CPUS)

    def spawn(self, argv, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        p = subprocess.Popen(argv, preexec_fn=self._child_setup, **kw)
        self.live.append(p)
        return p

    def stop(self, p, timeout=60):
        """Detaching uprobes takes a while (each removal waits for the kernel): be patient."""
        if p is None:
            return
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGCONT)
                p.terminate()
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            except ProcessLookupError:
                pass
        for f in (p.stdin, p.stdout, p.stderr):
            if f:
                f.close()
        if p in self.live:
            self.live.remove(p)

    def stop_all(self):
        for p in list(reversed(self.live)):
            self.stop(p, timeout=30)


PROCS = Procs()


def on_signal(signum, frame):
    raise SystemExit(128 + signum)


# ---- small helpers -----------------------------------------------------------------------

def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# What Prometheus 2.42 asks for with --enable-feature=native-histograms: protobuf first.
PROTO_ACCEPT = ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
                "encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,"
                "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")


def http_get(port, path="/metrics", gzip_ok=False, timeout=60, accept=None):
    """Returns (seconds until the last byte, body as sent, content-encoding)."""
    headers = {"Accept-Encoding": "gzip"} if gzip_ok else {}
    if accept:
        headers["Accept"] = accept
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        body = r.read()
        dt = time.perf_counter() - t0
        if r.status != 200:
            raise BenchError(f"GET {path}: HTTP {r.status}")
        return dt, body, r.getheader("Content-Encoding", "")
    finally:
        conn.close()


def sample(text, name, labels=None):
    """The value of one sample of an exposition, or None."""
    want = name + ("{" + labels + "}" if labels else "")
    for line in text.splitlines():
        if line.startswith(want + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def sum_family(text, name):
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name + "{"))


def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])  # kB
    return 0


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14, 15)


TICK = os.sysconf("SC_CLK_TCK")


def wait_for(cond, timeout, what, proc=None):
    end = time.time() + timeout
    while True:
        v = cond()
        if v:
            return v
        if proc is not None and proc.poll() is not None:
            raise BenchError(f"{what}: {proc.args[0]} exited with {proc.returncode}")
        if time.time() > end:
            raise BenchError(f"timed out waiting for {what}")
        time.sleep(0.05)


def in_wait_loop(pid):
    """The loadgen has run the dynamic loader and sleeps polling its semaphore: a tracer now
    finds everything mapped, and stopping it here holds it before its first hit."""
    try:
        with open(f"/proc/{pid}/maps") as f:
            if "libc" not in f.read():
                return False
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "S"
    except FileNotFoundError:
        return False


# ---- foreign tracers ---------------------------------------------------------------------

class Watch:
    """Uprobes on our private copies of the targets that none of our tracers owns: another
    engineer's exporter in discovery mode, say. A sample taken while one was attached is
    void (it would pay for two tracers)."""

    def __init__(self, objects):
        self.ids = set()
        for path in objects:
            st = os.stat(path)
            self.ids.add((st.st_dev, st.st_ino))

    def foreign(self, mine):
        try:
            out = subprocess.run(["bpftool", "-j", "perf"], capture_output=True, text=True,
                                 timeout=20).stdout
            entries = json.loads(out or "[]")
        except (subprocess.SubprocessError, ValueError):
            return set()
        found = set()
        for e in entries:
            owner = e.get("pid")
            if e.get("fd_type") not in ("uprobe", "uretprobe") or owner in mine:
                continue
            try:
                st = os.stat(e.get("filename", ""))
            except OSError:
                continue
            if (st.st_dev, st.st_ino) in self.ids and not descends(owner, mine):
                found.add(owner)
        return found


def descends(pid, ancestors):
    for _ in range(16):
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            return False
        if pid in ancestors:
            return True
        if pid <= 1:
            return False
    return False


# ---- the targets: private copies ---------------------------------------------------------

class Env:
    def __init__(self, a):
        self.out = a.output
        self.tmp = tempfile.mkdtemp(prefix="ccproxy-bench-")
        # Copies: exporters attach to a file for every process that maps it, so a shared
        # build/ binary could be traced by someone else's test while we measure.
        self.loadgen = self._copy("ccproxy-loadgen")
        self.series = self._copy("ccproxy-bench-series")
        self.pydir = os.path.join(self.tmp, "python")
        shutil.copytree(os.path.join(self.out, "python"), self.pydir)
        self.exporter = os.path.join(self.out, "ccproxy_exporter")
        self.floor = os.path.join(self.out, "ccproxy-floor")
        so = [f for f in os.listdir(os.path.join(self.pydir, "ccproxy_usdt"))
              if f.startswith("_usdt") and f.endswith(".so")]
        self.pyso = os.path.join(self.pydir, "ccproxy_usdt", so[0])
        self.watch = Watch([self.loadgen, self.series, self.pyso])
        self.mounted_tracefs = False

    def _copy(self, name):
        dst = os.path.join(self.tmp, name)
        shutil.copy2(os.path.join(self.out, name), dst)
        return dst

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self.mounted_tracefs:
            subprocess.run(["umount", "/sys/kernel/tracing"], stderr=subprocess.DEVNULL)


def mount_tracefs(env):
    """bpftrace needs tracefs (it detaches through it)."""
    if os.path.exists("/sys/kernel/tracing/uprobe_events"):
        return
    r = subprocess.run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"],
                       capture_output=True, text=True)
    if r.returncode:
        raise BenchError(f"failed to mount tracefs: {r.stderr.strip()}")
    env.mounted_tracefs = True


# ---- tracers -----------------------------------------------------------------------------

class Exporter:
    def __init__(self, env, pid, *flags):
        self.port = free_port()
        self.p = PROCS.spawn([env.exporter, "--pid", str(pid), "--web.listen-address",
                              f"127.0.0.1:{self.port}", "--log.level", "warn", *flags])
        wait_for(self.attached, 60, "the exporter to attach", self.p)

    def metrics(self):
        return http_get(self.port)[1].decode()

    def attached(self):
        try:
            return (sample(self.metrics(), "ccproxy_exporter_attached_processes") or 0) >= 1
        except (OSError, BenchError, http.client.HTTPException):
            return False

    def stop(self):
        PROCS.stop(self.p)


def stable_uprobes(owner, settle=0.3, timeout=30):
    """Waits until tracer `owner` holds at least one uprobe and the count stops growing."""
    end, last, since = time.time() + timeout, -1, time.time()
    while time.time() < end:
        out = subprocess.run(["bpftool", "-j", "perf"], capture_output=True, text=True).stdout
        n = sum(1 for e in json.loads(out or "[]") if e.get("pid") == owner)
        if n != last:
            last, since = n, time.time()
        elif n > 0 and time.time() - since >= settle:
            return
        time.sleep(0.1)
    raise BenchError("bpftrace did not attach")


def start_tracer(env, case, pid, probe="request_complete"):
    """Starts tracer `case` on pid (on `probe`, but the exporter on all) and returns once every
    site is attached."""
    if case == "exporter":
        return Exporter(env, pid)
    if case == "exporter_classic":
        return Exporter(env, pid, "--no-native-histogram")
    if case == "floor":
        p = PROCS.spawn([env.floor, str(pid), probe], stdout=subprocess.PIPE, text=True)
        if p.stdout.readline().strip() != "attached":
            PROCS.stop(p)
            raise BenchError("ccproxy-floor failed to attach")
        return p
    prog = ("BEGIN { printf(\"go\\n\"); } "
            f"usdt:/proc/{pid}/exe:ccproxy:{probe} {{ @c = count(); }}")
    p = PROCS.spawn(["bpftrace", "-p", str(pid), "-e", prog], stdout=subprocess.PIPE,
                    text=True)
    while True:
        line = p.stdout.readline()
        if not line:
            PROCS.stop(p)
            raise BenchError("bpftrace exited before attaching")
        if line.strip() == "go":
            break
    stable_uprobes(p.pid)
    return p


def stop_tracer(t):
    if isinstance(t, Exporter):
        t.stop()
    else:
        PROCS.stop(t)


def tracer_pid(t):
    return t.p.pid if isinstance(t, Exporter) else t.pid


# ---- row 1: C ----------------------------------------------------------------------------

LOADGEN_RE = re.compile(r"events=(\d+) ns_per_event=([\d.]+) cpu_ns_per_event=([\d.]+)")


def c_once(env, case, events, probe="request_complete"):
    """ns per hit of `probe` (thread CPU time) for one loadgen run with tracer `case` attached.
    provider_stream_chunk hits one request in flight (ccproxy-loadgen --only)."""
    argv = [env.loadgen, "--only", probe, "--threads", "1", "--events", str(events)]
    if case != "none":
        argv += ["--wait-attach", "60"]
    lg = PROCS.spawn(argv, stdout=subprocess.PIPE, text=True)
    tracer = None
    try:
        if case != "none":
            wait_for(lambda: in_wait_loop(lg.pid), 10, "the loadgen to start", lg)
            os.kill(lg.pid, signal.SIGSTOP)
            tracer = start_tracer(env, case, lg.pid, probe)
            mine = {os.getpid(), tracer_pid(tracer)}
            if env.watch.foreign(mine):
                return None
            os.kill(lg.pid, signal.SIGCONT)
        out, _ = lg.communicate(timeout=600)
        m = LOADGEN_RE.search(out)
        if lg.returncode or not m or int(m.group(1)) != events:
            raise BenchError(f"loadgen failed: {out.strip()}")
        ns = float(m.group(3))
        if case != "none" and ns < HIT_FLOOR_NS:
            return None
        if case.startswith("exporter"):
            text = tracer.metrics()
            hits = sample(text, "ccproxy_exporter_probe_hits_total", f'probe="{probe}"')
            if hits != events:
                raise BenchError(f"exporter counted {hits} hits of {events}")
            started = sample(text, "ccproxy_exporter_probe_hits_total", 'probe="request_start"')
            if probe != "request_complete" and started != 1:
                raise BenchError("the chunks' request was not started first")
        return ns
    finally:
        stop_tracer(tracer) if tracer else None
        PROCS.stop(lg)


def retry(fn, *args, tries=3):
    for _ in range(tries):
        v = fn(*args)
        if v is not None:
            return v
        log("  sample void (a foreign tracer, or hits not trapped): again")
    raise BenchError(f"{fn.__name__}{args[1:]}: no valid sample in {tries} tries")


# (key in res["c"], tracer, probe): request_complete's four, provider_stream_chunk's three.
C_CASES = [("none", "none", "request_complete"), ("exporter", "exporter", "request_complete"),
           ("floor", "floor", "request_complete"), ("bpftrace", "bpftrace", "request_complete"),
           ("chunk_none", "none", "provider_stream_chunk"),
           ("chunk_exporter", "exporter", "provider_stream_chunk"),
           ("chunk_floor", "floor", "provider_stream_chunk"),
           ("exporter_classic", "exporter_classic", "request_complete")]


def row_c(env, a, res):
    runs = {k: [] for k, _, _ in C_CASES}
    n = len(C_CASES)
    for r in range(a.reps):
        # Rotated so that no case always runs first (or right after the same neighbour).
        for key, case, probe in C_CASES[r % n:] + C_CASES[:r % n]:
            runs[key].append(retry(c_once, env, case, a.events, probe))
        log(f"  C run {r + 1}/{a.reps}: " + ", ".join(f"{k} {runs[k][-1]:.1f}" for k in runs))
    res["c"] = runs


# ---- row 2: Python -----------------------------------------------------------------------

PY_CASES = ["loop", "noop2", "detached2", "noop", "detached", "enabled", "enabled_pos",
            "floor", "bpftrace", "exporter", "prometheus_client"]


def py_once(env, a):
    argv = [a.python, os.path.join(ROOT, "python", "bench", "bench_probes.py"), "--json",
            "--n", str(a.py_calls), "--repeat", "3", "--cpu", "0", "--exporter", env.exporter,
            "--floor", env.floor, "--cases", ",".join(PY_CASES)]
    penv = dict(os.environ, PYTHONPATH=env.pydir)
    p = PROCS.spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=penv)
    foreign = set()
    try:
        while True:
            try:
                out, err = p.communicate(timeout=1)
                break
            except subprocess.TimeoutExpired:
                foreign |= env.watch.foreign({os.getpid(), p.pid})
        if p.returncode == 3:  # a tracer was attached before it began: someone else's
            time.sleep(2)
            return None
        if p.returncode:
            raise BenchError(f"bench_probes.py failed: {err.strip()}")
    finally:
        PROCS.stop(p)
    if foreign:
        return None
    return {c: v["median"] for c, v in json.loads(out).items()}


def row_py(env, a, res):
    runs = []
    for r in range(a.reps):
        runs.append(retry(py_once, env, a))
        log(f"  Python run {r + 1}/{a.reps}: exporter {runs[-1]['exporter']:.0f} ns, "
            f"prometheus_client {runs[-1]['prometheus_client']:.0f} ns")
    res["py"] = {c: [r[c] for r in runs] for c in PY_CASES}


# ---- row 3: scrape -----------------------------------------------------------------------

class Series:
    """bench/series.c under an exporter with room for n label sets."""

    def __init__(self, env, n):
        self.p = PROCS.spawn([env.series], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
        self.ex = None
        self.ex = Exporter(env, self.p.pid, "--limits.requests", str(n + 64))

    def command(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        reply = self.p.stdout.readline().split()
        if len(reply) != 3 or reply[0] != "ok":
            raise BenchError(f"series: {line}: {reply}")
        return int(reply[1]), int(reply[2])

    def stop(self):
        if self.ex:
            self.ex.stop()
        PROCS.stop(self.p)


def seeded(env, n):
    s = Series(env, n)
    try:
        s.command(f"seed {n}")
        text = s.ex.metrics()
        got = sum(1 for line in text.splitlines() if line.startswith("ccproxy_requests_total{"))
        folded = sample(text, "ccproxy_exporter_events_dropped_total", 'reason="folded"')
        if got != n or folded:
            raise BenchError(f"{n} label sets fired, {got} series served ({folded} folded)")
    except BaseException:
        s.stop()
        raise
    return s


def exporter_scrapes(env, n, reps, res):
    s = seeded(env, n)
    try:
        http_get(s.ex.port)  # first scrape: buffers grown once
        plain, gz, server, size, gzsize, proto, psize = [], [], [], 0, 0, [], 0
        for _ in range(reps):
            dt, body, enc = http_get(s.ex.port, accept=PROTO_ACCEPT)
            proto.append(dt)
            psize = len(body)
            dt, body, enc = http_get(s.ex.port)
            plain.append(dt)
            size = len(body)
            server.append(sample(body.decode(), "ccproxy_exporter_scrape_duration_seconds"))
            dt, body, enc = http_get(s.ex.port, gzip_ok=True)
            if enc != "gzip":
                raise BenchError("the exporter did not gzip /metrics")
            gz.append(dt)
            gzsize = len(body)
        samples = sum(1 for line in body_plain(s.ex.port).splitlines()
                      if line.startswith(("ccproxy_requests_total{",
                                          "ccproxy_response_duration_seconds_")))
        res[n] = {"plain": plain, "gzip": gz, "server": server, "bytes": size,
                  "gzbytes": gzsize, "samples": samples, "proto": proto, "pbytes": psize}
    finally:
        s.stop()


def body_plain(port):
    return http_get(port)[1].decode()


def python_registry(n):
    """The Python plugin's families, fed the same n label sets the series target fires."""
    reg, fams = families.python_registry()
    req, dur = fams["ccproxy_requests_total"], fams["ccproxy_response_duration_seconds"]
    tok, cost = fams["ccproxy_tokens_total"], fams["ccproxy_cost_usd_total"]
    m, st = "claude-sonnet-4-20250514", "claude_api"
    for i in range(n):
        ep = f"/v1/bench/{i}"
        req.labels(method="POST", endpoint=ep, model=m, status="200", service_type=st).inc()
        dur.labels(model=m, endpoint=ep, service_type=st).observe(0.123456789)
        for t, v in (("input", 1200), ("output", 350), ("cache_read", 4000)):
            tok.labels(type=t, model=m, service_type=st).inc(v)
        cost.labels(model=m, cost_type="total", service_type=st).inc(0.0042)
    return reg


def python_scrapes(n, reps, res):
    from prometheus_client import generate_latest

    reg = python_registry(n)
    generate_latest(reg)
    plain, gz = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        body = generate_latest(reg)
        plain.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        # What prometheus_client's own HTTP handler does for a gzip client.
        zbody = gzip.compress(generate_latest(reg))
        gz.append(time.perf_counter() - t0)
    res[n] = {"plain": plain, "gzip": gz, "bytes": len(body), "gzbytes": len(zbody)}
    del reg


def row_scrape(env, a, res):
    ex, py = {}, {}
    for n in a.series:
        reps = a.reps if n <= 10000 else 3
        exporter_scrapes(env, n, reps, ex)
        python_scrapes(n, reps, py)
        log(f"  {n} series: exporter {statistics.median(ex[n]['plain']) * 1e3:.2f} ms, "
            f"generate_latest {statistics.median(py[n]['plain']) * 1e3:.1f} ms")
    res["scrape"] = {"exporter": ex, "python": py}


# ---- row 4: memory and CPU ---------------------------------------------------------------

def row_mem(env, a, res):
    n = 10000
    out = {k: [] for k in ("rss0", "rss", "cpu_idle", "cpu_busy", "rss_busy", "hwm", "rate",
                           "proxy_cpu")}
    for r in range(a.mem_reps):
        s = Series(env, n)
        try:
            ex = s.ex.p.pid
            out["rss0"].append(proc_status(ex, "VmRSS") / 1024)
            s.command(f"seed {n}")
            # Prometheus asks for gzip; a few scrapes, as a server settles into its routine.
            for _ in range(3):
                http_get(s.ex.port, gzip_ok=True)
            out["rss"].append(proc_status(ex, "VmRSS") / 1024)
            c0, t0 = cpu_ticks(ex), time.time()
            time.sleep(a.idle_seconds)
            out["cpu_idle"].append((cpu_ticks(ex) - c0) / TICK / (time.time() - t0) * 100)
            # Busy: 100k events/s over the n label sets, scraped once a second.
            s.p.stdin.write(f"rate {n} {a.rate} {a.busy_seconds}\n")
            s.p.stdin.flush()
            c0, p0, t0 = cpu_ticks(ex), cpu_ticks(s.p.pid), time.time()
            while True:
                http_get(s.ex.port, gzip_ok=True)
                line = wait_readable(s.p.stdout, 1.0)
                if line is not None:
                    break
            dt = time.time() - t0
            out["cpu_busy"].append((cpu_ticks(ex) - c0) / TICK / dt * 100)
            out["proxy_cpu"].append((cpu_ticks(s.p.pid) - p0) / TICK / dt * 100)
            fired, ns = (int(x) for x in line.split()[1:3])
            out["rate"].append(fired / (ns / 1e9))
            out["rss_busy"].append(proc_status(ex, "VmRSS") / 1024)
            out["hwm"].append(proc_status(ex, "VmHWM") / 1024)
            text = s.ex.metrics()
            hits = sample(text, "ccproxy_exporter_probe_hits_total", 'probe="request_complete"')
            if hits != n + fired:
                raise BenchError(f"busy phase: {n + fired} fired, {hits} hits counted")
        finally:
            s.stop()
        log(f"  memory run {r + 1}/{a.mem_reps}: RSS {out['rss'][-1]:.1f} MiB, "
            f"CPU busy {out['cpu_busy'][-1]:.2f} %")
    res["mem"] = out


def wait_readable(f, timeout):
    import select

    r, _, _ = select.select([f], [], [], timeout)
    return f.readline() if r else None


# ---- row 5: exactness --------------------------------------------------------------------

def exact_once(env, events):
    lg = PROCS.spawn([env.loadgen, "--only", "request_complete", "--threads", "2", "--events",
                      str(events), "--wait-attach", "60"], stdout=subprocess.PIPE, text=True)
    ex = None
    try:
        wait_for(lambda: in_wait_loop(lg.pid), 10, "the loadgen to start", lg)
        os.kill(lg.pid, signal.SIGSTOP)
        ex = Exporter(env, lg.pid)
        os.kill(lg.pid, signal.SIGCONT)
        out, _ = lg.communicate(timeout=600)
        m = LOADGEN_RE.search(out)
        if lg.returncode or not m:
            raise BenchError(f"loadgen failed: {out.strip()}")
        fired = int(m.group(1))
        # ns_per_event sums both threads' loop times: the pair's rate is 2 / that.
        rate = 2e9 / float(m.group(2))
        text = ex.metrics()
        hits = sample(text, "ccproxy_exporter_probe_hits_total", 'probe="request_complete"')
        reqs = sum_family(text, "ccproxy_requests_total")
        return {"fired": fired, "hits": hits, "requests": reqs, "rate": rate}
    finally:
        if ex:
            ex.stop()
        PROCS.stop(lg)


def row_exact(env, a, res):
    runs = []
    for r in range(a.exact_reps):
        runs.append(exact_once(env, a.exact_events))
        log(f"  exactness run {r + 1}/{a.exact_reps}: {runs[-1]}")
    res["exact"] = runs


# ---- the table ---------------------------------------------------------------------------

def med(v):
    return statistics.median(v)


class Table:
    def __init__(self):
        self.rows = []
        self.targets = []

    def add(self, row, what, values, fmt, target="", met=None):
        """values: one number per run (or a single number)."""
        if not isinstance(values, list):
            values = [values]
        m = fmt(med(values))
        spread = f"{fmt(min(values))} – {fmt(max(values))}" if len(values) > 1 else ""
        verdict = ""
        if met is not None:
            verdict = f"{target}: {'met' if met else 'NOT met'}"
            self.targets.append((what, target, m, met))
        self.rows.append((row, what, m, spread, verdict))

    def markdown(self):
        out = ["| # | measurement | median | min – max | target |",
               "|---|---|---:|---:|---|"]
        out += [f"| {r} | {w} | {m} | {s} | {v} |" for r, w, m, s, v in self.rows]
        return "\n".join(out)


def ns(v):
    return f"{v:.1f} ns" if v < 100 else f"{v:.0f} ns"


def ratio(v):
    return f"{v:.2f}×"


def ms(v):
    return f"{v * 1e3:.2f} ms" if v < 1 else f"{v:.2f} s"


def pct(v):
    return f"{v:.2f} %"


def mib(v):
    return f"{v:.1f} MiB"


def per(a, b):
    return [x / y for x, y in zip(a, b)]


def minus(a, b):
    return [x - y for x, y in zip(a, b)]


def table_c(t, c):
    t.add(1, "C, ns per hit: nothing attached", c["none"], ns)
    t.add(1, "C: ccproxy_exporter attached", c["exporter"], ns)
    t.add(1, "C: empty BPF program attached (floor)", c["floor"], ns)
    t.add(1, "C: bpftrace count() attached", c["bpftrace"], ns)
    r = per(c["exporter"], c["floor"])
    t.add(1, "C: exporter / floor", r, ratio, "≤ 1.4×", med(r) <= 1.4)
    t.add(1, "C: exporter − floor (the program's own work)", minus(c["exporter"], c["floor"]),
          ns)
    t.add(1, "C: bpftrace / floor", per(c["bpftrace"], c["floor"]), ratio)
    t.add(1, "C: exporter / bpftrace", per(c["exporter"], c["bpftrace"]), ratio)
    t.add(1, "C, provider_stream_chunk, ns per hit: nothing attached", c["chunk_none"], ns)
    t.add(1, "C, provider_stream_chunk: ccproxy_exporter attached", c["chunk_exporter"], ns)
    t.add(1, "C, provider_stream_chunk: empty BPF program attached (floor)", c["chunk_floor"],
          ns)
    t.add(1, "C, provider_stream_chunk: exporter / floor",
          per(c["chunk_exporter"], c["chunk_floor"]), ratio)
    t.add(1, "C, provider_stream_chunk: exporter − floor",
          minus(c["chunk_exporter"], c["chunk_floor"]), ns)
    t.add(1, "C: exporter, --no-native-histogram", c["exporter_classic"], ns)
    t.add(1, "C: exporter, --no-native-histogram / floor", per(c["exporter_classic"], c["floor"]),
          ratio)
    t.add(1, "C: native histograms' own cost (exporter − exporter without them)",
          minus(c["exporter"], c["exporter_classic"]), ns)


def table_py(t, p):
    loop = p["loop"]
    d = minus(p["detached"], loop)
    t.add(2, "Python, ns per call above an empty Python call: detached, 2 pos + 10 kw", d, ns,
          "≤ 15 ns", med(d) <= 15)
    t.add(2, "Python: empty C function (_noop), same 2 pos + 10 kw", minus(p["noop"], loop), ns)
    t.add(2, "Python: detached, 2 positional", minus(p["detached2"], loop), ns)
    t.add(2, "Python: detached, 2 pos + 10 kw, minus _noop with the same arguments",
          minus(p["detached"], p["noop"]), ns)
    t.add(2, "Python, ns per call (total): enabled, no tracer (arguments converted), 2+10 kw",
          p["enabled"], ns)
    t.add(2, "Python: enabled, no tracer, the same 12 values by position", p["enabled_pos"], ns)
    t.add(2, "Python: empty BPF program attached (floor)", p["floor"], ns)
    t.add(2, "Python: bpftrace count() attached", p["bpftrace"], ns)
    t.add(2, "Python: ccproxy_exporter attached", p["exporter"], ns)
    t.add(2, "Python: prometheus_client, the plugin's 7 updates", p["prometheus_client"], ns)
    r = per(p["prometheus_client"], p["exporter"])
    t.add(2, "Python: prometheus_client / exporter attached", r, ratio, "≥ 7×", med(r) >= 7)
    t.add(2, "Python: exporter − floor (the program's own work)",
          minus(p["exporter"], p["floor"]), ns)
    t.add(2, "Python: floor − enabled-no-tracer (the uprobe trap)",
          minus(p["floor"], p["enabled"]), ns)


def table_scrape(t, s):
    ex, py = s["exporter"], s["python"]
    for n in sorted(ex):
        e, p = ex[n], py[n]
        if n == SAMPLES_10K:
            # Prometheus counts a series per sample line: 10k of them, the other reading.
            k = f"{n} label sets = {e['samples'] / 1000:.0f}k samples"
            t.add(3, f"{k}: exporter /metrics ({e['bytes']:,} B)", e["plain"], ms,
                  "≤ 5 ms (10k samples)", med(e["plain"]) <= 0.005)
            r = med(p["plain"]) / med(e["plain"])
            t.add(3, f"{k}: generate_latest ({p['bytes']:,} B) / exporter", r, ratio,
                  "≥ 10× (10k samples)", r >= 10)
            continue
        k = f"{n // 1000}k series ({e['samples'] / 1000:.0f}k samples)"
        target = n == 10000
        t.add(3, f"{k}: exporter /metrics ({e['bytes']:,} B)", e["plain"], ms,
              "≤ 5 ms" if target else "", med(e["plain"]) <= 0.005 if target else None)
        t.add(3, f"{k}: exporter, its own scrape_duration_seconds", e["server"], ms)
        t.add(3, f"{k}: exporter /metrics gzip ({e['gzbytes']:,} B)", e["gzip"], ms)
        t.add(3, f"{k}: exporter /metrics protobuf, native buckets too ({e['pbytes']:,} B)",
              e["proto"], ms)
        r = med(e["proto"]) / med(e["plain"])
        t.add(3, f"{k}: protobuf / text (plain)", r, ratio, "≤ 1×" if target else "",
              r <= 1 if target else None)
        t.add(3, f"{k}: prometheus_client generate_latest ({p['bytes']:,} B)",
              p["plain"], ms)
        t.add(3, f"{k}: generate_latest + gzip.compress ({p['gzbytes']:,} B)",
              p["gzip"], ms)
        # The runs are not paired one to one: the ratio of medians, its range from extremes.
        r = med(p["plain"]) / med(e["plain"])
        t.add(3, f"{k}: generate_latest / exporter (plain)", r, ratio,
              "≥ 10×" if target else "", r >= 10 if target else None)
        t.add(3, f"{k}: generate_latest+gzip / exporter gzip",
              med(p["gzip"]) / med(e["gzip"]), ratio)


def table_mem(t, m, a):
    t.add(4, "exporter VmRSS, attached, no series yet", m["rss0"], mib)
    t.add(4, "exporter VmRSS, 10k series, idle after 3 gzip scrapes", m["rss"], mib,
          "≤ 16 MiB", med(m["rss"]) <= 16)
    t.add(4, f"exporter CPU, idle ({a.idle_seconds:g} s, no events, no scrapes)", m["cpu_idle"],
          pct)
    t.add(4, "events/s reached by the probe target", m["rate"], lambda v: f"{v:,.0f}")
    t.add(4, "exporter CPU at that rate, scraped (gzip) once a second", m["cpu_busy"], pct)
    t.add(4, "probe target's CPU at that rate (its loop and the hits, paid in the proxy)",
          m["proxy_cpu"], pct)
    t.add(4, "exporter VmRSS after the busy phase", m["rss_busy"], mib)
    t.add(4, "exporter VmHWM (peak RSS)", m["hwm"], mib)


def table_exact(t, runs):
    ok = [r["fired"] == r["hits"] == r["requests"] for r in runs]
    fired = sum(r["fired"] for r in runs)
    t.add(5, "events/s, 2 threads, exporter attached", [r["rate"] for r in runs],
          lambda v: f"{v:,.0f}")
    frac = [min(r["hits"], r["requests"]) / r["fired"] * 100 for r in runs]
    t.add(5, f"counted / fired ({len(runs)} runs, {fired:,} events; probe_hits_total and "
          f"requests_total)", frac, lambda v: f"{v:.4f} %", "100 %", all(ok))


# ---- main --------------------------------------------------------------------------------

def log(msg):
    print(msg, file=sys.stderr, flush=True)


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    rev = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                         capture_output=True, text=True).stdout.strip()
    return (f"{os.cpu_count()} CPUs ({model}), Linux {platform.release()}, "
            f"python {platform.python_version()}, commit {rev or '?'}, load average {load}")


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--output", default=os.environ.get("OUTPUT", "build"))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--quick", action="store_true",
                    help="fewer events and runs, no 100k series (a smoke test)")
    ap.add_argument("--rows", default="1,2,3,4,5,6")
    ap.add_argument("--python", default="/usr/bin/python3")
    a = ap.parse_args()
    a.rows = {int(x) for x in a.rows.split(",")}
    a.events = 1000000
    a.py_calls = 200000
    a.series = [SAMPLES_10K, 1000, 10000, 100000]
    a.mem_reps, a.idle_seconds, a.busy_seconds, a.rate = 3, 5, 10, 100000
    a.exact_reps, a.exact_events = 3, 4000000
    a.ccproxy_reps, a.ccproxy_requests, a.ccproxy_warmup = 5, 2500, 300
    a.ccproxy_concurrency, a.ccproxy_hook_requests = 8, 20000
    if a.quick:
        a.ccproxy_reps, a.ccproxy_requests, a.ccproxy_warmup = 1, 300, 50
        a.ccproxy_hook_requests = 4000
        a.reps, a.events, a.py_calls, a.series = 2, 200000, 40000, [SAMPLES_10K, 10000]
        a.mem_reps, a.idle_seconds, a.busy_seconds = 1, 2, 3
        a.exact_reps, a.exact_events = 1, 1000000
    return a


def run(a, env, res):
    steps = [(1, "row 1: C probe cost", row_c), (2, "row 2: Python probe cost", row_py),
             (3, "row 3: scrape", row_scrape), (4, "row 4: memory and CPU", row_mem),
             (5, "row 5: exactness", row_exact),
             (6, "row 6: inside the real ccproxy",
              lambda env, a, res: ccproxy_bench.row(PROCS, a, res, env.exporter))]
    for n, title, fn in steps:
        if n in a.rows:
            log(title)
            t0 = time.time()
            fn(env, a, res)
            log(f"  ({time.time() - t0:.0f} s)")


def report(a, res, started, before):
    t = Table()
    if "c" in res:
        table_c(t, res["c"])
    if "py" in res:
        table_py(t, res["py"])
    if "scrape" in res:
        table_scrape(t, res["scrape"])
    if "mem" in res:
        table_mem(t, res["mem"], a)
    if "exact" in res:
        table_exact(t, res["exact"])
    if "ccproxy" in res:
        ccproxy_bench.table(t, res["ccproxy"], med, ratio, ns)
    met = sum(1 for x in t.targets if x[3])
    head = [f"# make bench, {started:%Y-%m-%d %H:%M} UTC",
            "",
            f"Machine: {before}",
            f"After: {machine().rsplit(', ', 1)[1]}; runtime {time.time() - started.timestamp():.0f} s.",
            f"Runs: {a.reps} (rows 1–3), {a.mem_reps} (row 4), {a.exact_reps} (row 5), "
            f"{a.ccproxy_reps} (row 6); "
            f"ns per hit/call in thread CPU time; scrape times wall-clock from request to last byte.",
            "", ]
    tail = ["", f"Targets met: {met} of {len(t.targets)}."]
    return "\n".join(head) + t.markdown() + "\n" + "\n".join(tail) + "\n"


def main():
    a = parse_args()
    if os.geteuid() != 0:
        sys.exit("make bench: needs root (BPF, uprobes, tracefs)")
    for tool in ("bpftool", "bpftrace", "nm"):
        if not shutil.which(tool):
            sys.exit(f"make bench: {tool} not found (scripts/install-deps.sh)")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    os.sched_setaffinity(0, {DRIVER_CPU})
    started = datetime.datetime.now(datetime.timezone.utc)
    before = machine()
    env = Env(a)
    res = {}
    try:
        mount_tracefs(env)
        run(a, env, res)
    except BenchError as e:
        sys.exit(f"make bench: {e}")
    finally:
        PROCS.stop_all()
        env.cleanup()
    text = report(a, res, started, before)
    os.makedirs(os.path.join(a.output, "bench"), exist_ok=True)
    path = os.path.join(a.output, "bench", "results.md")
    with open(path, "w") as f:
        f.write(text)
    print(text)
    log(f"written to {path}")


if __name__ == "__main__":
    main()
