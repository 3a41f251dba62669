#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""ns per request_complete call from Python: detached, with bpftrace attached, with
ccproxy_exporter attached (when built and root), against prometheus_client doing the Python
plugin's per-request updates (requests counter + duration histogram + 4 token counters +
cost counter).

Run: PYTHONPATH=build/python /usr/bin/python3 python/bench/bench_probes.py [--n 200000]
Pinned to one CPU; medians of --repeat runs. Tracers are attached to this very process.
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

import ccproxy_usdt as u
from ccproxy_usdt import _usdt

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def per_call_ns(fn, n, repeat):
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        for i in range(n):
            fn(i)
        runs.append((time.perf_counter_ns() - t0) / n)
    return statistics.median(runs)


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


def bench_probe2(i, f=u.request_complete):
    f(i, 200)


def bench_noop2(i, f=_usdt._noop):
    f(i, 200)


def make_prometheus():
    from prometheus_client import CollectorRegistry, Counter, Histogram

    reg = CollectorRegistry()
    req = Counter("ccproxy_requests_total", "Total number of requests processed",
                  ["method", "endpoint", "model", "status", "service_type"], registry=reg)
    dur = Histogram("ccproxy_response_duration_seconds", "Response time in seconds",
                    ["model", "endpoint", "service_type"], registry=reg,
                    buckets=[0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25])
    tok = Counter("ccproxy_tokens_total", "Total tokens processed",
                  ["type", "model", "service_type"], registry=reg)
    cost = Counter("ccproxy_cost_usd_total", "Total cost in USD",
                   ["model", "cost_type", "service_type"], registry=reg)

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


def wait_enabled(timeout=30):
    t = time.time() + timeout
    while not u.enabled("request_complete"):
        if time.time() > t:
            raise RuntimeError("tracer did not raise the semaphore")
        time.sleep(0.05)


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


def with_bpftrace(n, repeat):
    prog = f"usdt:{so_path()}:ccproxy:request_complete {{ @ = count(); }}"
    p = subprocess.Popen(["bpftrace", "-p", str(os.getpid()), "-e", prog],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_enabled()
        return per_call_ns(bench_probe, n, repeat)
    finally:
        stop(p)


def with_exporter(n, repeat):
    exe = os.path.join(ROOT, "build", "ccproxy_exporter")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = subprocess.Popen([exe, "--pid", str(os.getpid()), "--web.listen-address",
                          f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        wait_enabled()
        ns = per_call_ns(bench_probe, n, repeat)
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
        seen = [line for line in body.decode().splitlines()
                if line.startswith("ccproxy_requests_total{")]
        return ns, seen
    finally:
        stop(p)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cpu", type=int, default=0)
    a = ap.parse_args()
    os.sched_setaffinity(0, {a.cpu})
    n, r = a.n, a.repeat
    base = per_call_ns(empty_loop, n, r)
    rows = [("loop overhead (empty Python function)", base)]
    assert not u.enabled("request_complete"), "a tracer is already attached"
    rows.append(("empty C function (_noop), 2 positional", per_call_ns(bench_noop2, n, r)))
    rows.append(("request_complete detached, 2 positional", per_call_ns(bench_probe2, n, r)))
    rows.append(("empty C function (_noop), 2 pos + 10 kw", per_call_ns(bench_noop, n, r)))
    rows.append(("request_complete detached, 2 pos + 10 kw", per_call_ns(bench_probe, n, r)))
    rows.append(("prometheus_client, 7 updates", per_call_ns(make_prometheus(), n // 4, r)))
    root = os.geteuid() == 0
    if root and shutil.which("bpftrace"):
        rows.append(("request_complete 2+10, bpftrace count()", with_bpftrace(n // 4, r)))
    exe = os.path.join(ROOT, "build", "ccproxy_exporter")
    if root and os.path.exists(exe):
        ns, seen = with_exporter(n // 4, r)
        rows.append(("request_complete 2+10, ccproxy_exporter", ns))
    print(f"python {sys.version.split()[0]}, {n} calls x {r} runs, CPU {a.cpu}, medians")
    print(f"{'case':45} {'ns/call':>9} {'minus loop':>11}")
    for name, ns in rows:
        print(f"{name:45} {ns:9.1f} {ns - base:11.1f}")


if __name__ == "__main__":
    main()
