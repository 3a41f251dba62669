#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""ns per request_complete call from Python: detached; enabled with no tracer (the argument
conversion alone); with the empty-program floor, bpftrace, or ccproxy_exporter attached to this
very process by PID; against prometheus_client doing the Python plugin's per-request updates
(requests counter + duration histogram + 4 token counters + cost counter).

Run: PYTHONPATH=build/python /usr/bin/python3 python/bench/bench_probes.py [--n 200000]
Pinned to one CPU; medians of --repeat runs. --clock cpu (the default) counts this thread's CPU
time, which includes the uprobe trap and leaves out the time other tasks held the CPU; --clock
wall counts elapsed time. --json prints {case: {"median": ns, "runs": [ns, ...]}} for make bench.
"""
import argparse
import ctypes
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

import ccproxy_usdt as u
from ccproxy_usdt import _usdt

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import families  # noqa: E402
BUILD = os.path.join(ROOT, os.environ.get("OUTPUT", "build"))
CLOCK = {"cpu": time.thread_time_ns, "wall": time.perf_counter_ns}
clock = CLOCK["cpu"]


def per_call_ns(fn, n, repeat):
    runs = []
    for _ in range(repeat):
        t0 = clock()
        for i in range(n):
            fn(i)
        runs.append((clock() - t0) / n)
    return runs


def empty_loop(i):
    pass


# Literal keywords, as the hook adapter calls the probes (no dict built per call).
def bench_probe(i, f=u.request_complete):
    f(i, 200, method="POST", endpoint="/v1/messages", model="claude-sonnet-4",
      service_type="claude_api", duration_ns=123456789, input_tokens=100, output_tokens=50,
      cache_read_tokens=1000, cache_write_tokens=20, cost_nusd=1234567)


def bench_noop(i, f=_usdt._noop):
    f(i, 200, method="POST", endpoint="/v1/messages", model="claude-sonnet-4",
      service_type="claude_api", duration_ns=123456789, input_tokens=100, output_tokens=50,
      cache_read_tokens=1000, cache_write_tokens=20, cost_nusd=1234567)


# The same values passed by position: what the keyword matching costs, by difference.
def bench_probe_pos(i, f=u.request_complete):
    f(i, 200, "POST", "/v1/messages", "claude-sonnet-4", "claude_api", 123456789, 100, 50,
      1000, 20, 1234567)


def bench_probe2(i, f=u.request_complete):
    f(i, 200)


def bench_noop2(i, f=_usdt._noop):
    f(i, 200)


def make_prometheus():
    reg, fams = families.python_registry()
    req, dur = fams["ccproxy_requests_total"], fams["ccproxy_response_duration_seconds"]
    tok, cost = fams["ccproxy_tokens_total"], fams["ccproxy_cost_usd_total"]

    def one(i):
        m, ep, st = "claude-sonnet-4", "/v1/messages", "claude_api"
        req.labels(method="POST", endpoint=ep, model=m, status="200", service_type=st).inc()
        dur.labels(model=m, endpoint=ep, service_type=st).observe(0.123456789)
        tok.labels(type="input", model=m, service_type=st).inc(100)
        tok.labels(type="output", model=m, service_type=st).inc(50)
        tok.labels(type="cache_read", model=m, service_type=st).inc(1000)
        tok.labels(type="cache_write", model=m, service_type=st).inc(20)
        cost.labels(model=m, cost_type="total", service_type=st).inc(0.001234567)

    return one


def so_path():
    with open("/proc/self/maps") as f:
        for line in f:
            if "ccproxy_usdt/_usdt" in line:
                return line.split()[-1]
    raise RuntimeError("extension not mapped")


def semaphore(name="request_complete"):
    """The extension's semaphore as a ctypes object: the symbol is hidden, so from .symtab
    (nm) plus the load address of the object (its first mapping, at file offset 0)."""
    path = so_path()
    sym = f" ccproxy_{name}_semaphore"
    out = subprocess.run(["nm", path], capture_output=True, text=True, check=True).stdout
    off = [int(line.split()[0], 16) for line in out.splitlines() if line.endswith(sym)]
    with open("/proc/self/maps") as f:
        base = min(int(line.split("-")[0], 16) for line in f if line.rstrip().endswith(path))
    if len(off) != 1:
        raise RuntimeError(f"{sym.strip()} not found in {path}")
    return ctypes.c_ushort.from_address(base + off[0])


def with_semaphore_only(fn, n, repeat):
    """Raises the semaphore with no uprobe behind it: the cost of converting the arguments
    and building the event, without any trap."""
    sem = semaphore()
    sem.value += 1
    try:
        assert u.enabled("request_complete")
        return per_call_ns(fn, n, repeat)
    finally:
        sem.value -= 1


def wait_enabled(p, timeout=30):
    t = time.time() + timeout
    while not u.enabled("request_complete"):
        if p.poll() is not None:
            raise RuntimeError(f"{p.args[0]} exited with {p.returncode} before attaching")
        if time.time() > t:
            raise RuntimeError("tracer did not raise the semaphore")
        time.sleep(0.05)
    # The extension has one site per probe; the rest of a tracer's attaching is other probes.
    time.sleep(0.3)


def stop(p):
    p.terminate()
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    t = time.time() + 10
    while u.enabled("request_complete") and time.time() < t:
        time.sleep(0.05)


def tracer(argv, fn, n, repeat):
    """Runs argv (a tracer of this process) and measures fn while it is attached."""
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_enabled(p)
        return per_call_ns(fn, n, repeat)
    finally:
        stop(p)


def with_bpftrace(n, repeat):
    prog = f"usdt:{so_path()}:ccproxy:request_complete {{ @ = count(); }}"
    return tracer(["bpftrace", "-p", str(os.getpid()), "-e", prog], bench_probe, n, repeat)


def with_floor(floor, n, repeat):
    return tracer([floor, str(os.getpid()), "request_complete", so_path()], bench_probe, n,
                  repeat)


def exporter_hits(port):
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
    for line in body.decode().splitlines():
        if line.startswith('ccproxy_exporter_probe_hits_total{probe="request_complete"}'):
            return int(float(line.split()[-1]))
    return None


def with_exporter(exe, n, repeat):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = subprocess.Popen([exe, "--pid", str(os.getpid()), "--web.listen-address",
                          f"127.0.0.1:{port}", "--log.level", "warn"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_enabled(p)
        before = exporter_hits(port)
        runs = per_call_ns(bench_probe, n, repeat)
        hits = exporter_hits(port) - before
        if hits != n * repeat:
            raise RuntimeError(f"exporter counted {hits} hits of {n * repeat} calls")
        return runs
    finally:
        stop(p)


CASES = ["loop", "noop2", "detached2", "noop", "detached", "enabled", "enabled_pos",
         "prometheus_client", "floor", "bpftrace", "exporter"]
LABELS = {
    "loop": "loop overhead (empty Python function)",
    "noop2": "empty C function (_noop), 2 positional",
    "detached2": "request_complete detached, 2 positional",
    "noop": "empty C function (_noop), 2 pos + 10 kw",
    "detached": "request_complete detached, 2 pos + 10 kw",
    "enabled": "enabled, no tracer (conversion), 2+10 kw",
    "enabled_pos": "enabled, no tracer (conversion), 12 pos",
    "prometheus_client": "prometheus_client, 7 updates",
    "floor": "request_complete 2+10, empty BPF program",
    "bpftrace": "request_complete 2+10, bpftrace count()",
    "exporter": "request_complete 2+10, ccproxy_exporter",
}


def run_case(case, a):
    n, r = a.n, a.repeat
    simple = {"loop": empty_loop, "noop2": bench_noop2, "detached2": bench_probe2,
              "noop": bench_noop, "detached": bench_probe}
    if case in simple:
        return per_call_ns(simple[case], n, r)
    if case == "enabled":
        return with_semaphore_only(bench_probe, n // 4, r)
    if case == "enabled_pos":
        return with_semaphore_only(bench_probe_pos, n // 4, r)
    if case == "prometheus_client":
        return per_call_ns(make_prometheus(), n // 4, r)
    if case == "floor":
        return with_floor(a.floor, n // 4, r)
    if case == "bpftrace":
        return with_bpftrace(n // 4, r)
    return with_exporter(a.exporter, n // 4, r)


def available(case, a):
    root = os.geteuid() == 0
    if case in ("enabled", "enabled_pos"):
        return shutil.which("nm") is not None
    if case == "floor":
        return root and os.path.exists(a.floor)
    if case == "bpftrace":
        return root and shutil.which("bpftrace") is not None
    if case == "exporter":
        return root and os.path.exists(a.exporter)
    return True


def main():
    global clock
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cpu", type=int, default=0)
    ap.add_argument("--clock", choices=sorted(CLOCK), default="cpu")
    ap.add_argument("--exporter", default=os.path.join(BUILD, "ccproxy_exporter"))
    ap.add_argument("--floor", default=os.path.join(BUILD, "ccproxy-floor"))
    ap.add_argument("--cases", default=",".join(CASES),
                    help="comma-separated, from: " + ",".join(CASES))
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    # Stopped from outside (make bench), still stop the tracers: finally blocks must run.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    clock = CLOCK[a.clock]
    os.sched_setaffinity(0, {a.cpu})
    # Out of sight of exporters that discover processes by the name "python3".
    ctypes.CDLL(None).prctl(15, b"ccproxy-bench", 0, 0, 0)  # PR_SET_NAME
    if u.enabled("request_complete"):
        print("bench_probes: a tracer is already attached to request_complete", file=sys.stderr)
        sys.exit(3)
    results = {}
    for case in a.cases.split(","):
        if case not in LABELS:
            sys.exit(f"bench_probes: unknown case {case!r}")
        if available(case, a):
            runs = run_case(case, a)
            results[case] = {"median": statistics.median(runs), "runs": runs}
    if a.json:
        json.dump(results, sys.stdout)
        print()
        return
    base = results.get("loop", {"median": 0.0})["median"]
    print(f"python {sys.version.split()[0]}, {a.n} calls x {a.repeat} runs, CPU {a.cpu}, "
          f"{a.clock} clock, medians")
    print(f"{'case':45} {'ns/call':>9} {'minus loop':>11}")
    for case, res in results.items():
        ns = res["median"]
        print(f"{LABELS[case]:45} {ns:9.1f} {ns - base:11.1f}")


if __name__ == "__main__":
    main()
