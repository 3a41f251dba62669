# SPDX-License-Identifier: BSD-2-Clause
"""End to end: real HTTP through the demo proxy (Python, ccproxy_usdt probes) to the fake
upstream, real BPF in ccproxy_exporter attached by PID. A load client sends a known mix and
counts what the exporter must report: requests per label set, tokens per type, cost to the
nano-USD, errors, pool acquisitions, and active requests back at 0.
"""
import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from conftest import BUILD, ROOT, free_port, require_root, start_exporter, wait_until
from truth import format_key, parse_exposition

DEMO = ROOT / "examples" / "demo-proxy"
PY = "/usr/bin/python3"
sys.path.insert(0, str(DEMO))
from pricing import cost_usd  # noqa: E402

NS = "ccproxy"
SERVICE = {"/v1/messages": "claude_api", "/v1/chat/completions": "codex"}


@pytest.fixture(scope="module", autouse=True)
def _built():
    require_root()
    subprocess.run(["make", "-s", "python"], cwd=ROOT, check=True)


def _wait_http(url, proc, what):
    import urllib.request

    def up():
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited {proc.returncode}: {proc.stderr.read().decode()}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return True
        except OSError:
            return False

    wait_until(up, timeout=20, what=what)


@pytest.fixture
def upstream(procs):
    port = free_port()
    p = procs.start([PY, DEMO / "fake_upstream.py", "--port", port])
    _wait_http(f"http://127.0.0.1:{port}/health", p, "the fake upstream")
    return f"http://127.0.0.1:{port}"


def start_proxy(procs, upstream, pid_dir, workers=1, env_extra=None):
    """Starts the demo proxy; returns (proc, url, worker pids)."""
    pid_dir.mkdir(exist_ok=True)
    for f in pid_dir.glob("proxy-*.pid"):
        f.unlink()
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(BUILD / "python"), **(env_extra or {}))
    p = procs.start([PY, DEMO / "demo_proxy.py", "--port", port, "--upstream", upstream,
                     "--workers", workers, "--pid-dir", pid_dir], env=env)
    url = f"http://127.0.0.1:{port}"
    _wait_http(url + "/health", p, "the demo proxy")
    files = wait_until(lambda: (lambda fs: fs if len(fs) >= workers else None)(
        sorted(pid_dir.glob("proxy-*.pid"))), timeout=20, what="proxy worker pid files")
    return p, url, [int(f.read_text()) for f in files]


class Expect:
    """What the exporter must show, built request by request as the client sends them."""

    def __init__(self):
        self.requests = Counter()  # (endpoint, model, service, status) -> n
        self.tokens = Counter()  # (model, service, type) -> n
        self.cost = Counter()  # (model, service) -> nano-USD
        self.errors = Counter()  # (endpoint, error_type, model, service) -> n
        self.durations = Counter()  # (endpoint, model, service) -> n
        self.acquisitions = 0

    def completed(self, path, model, status, usage=None):
        svc = SERVICE[path]
        self.requests[(path, model, svc, str(status))] += 1
        self.durations[(path, model, svc)] += 1
        self.acquisitions += 1
        if usage:
            for t, n in zip(("input", "output", "cache_read", "cache_write"), usage):
                if n > 0:
                    self.tokens[(model, svc, t)] += n
            c = cost_usd(model, *usage)
            if c is not None and round(c * 1e9) > 0:
                self.cost[(model, svc)] += int(round(c * 1e9))

    def failed(self, path, model, error_type, provider_error=None):
        svc = SERVICE[path]
        self.requests[(path, model, svc, "error")] += 1
        self.errors[(path, error_type, model, svc)] += 1
        if provider_error:
            self.errors[(path, provider_error, model, svc)] += 1
        self.acquisitions += 1

    def samples(self):
        out = {}
        for (ep, model, svc, status), n in self.requests.items():
            out[(f"{NS}_requests_total", frozenset({"endpoint": ep, "method": "POST",
                 "model": model, "service_type": svc, "status": status}.items()))] = n
        for (model, svc, t), n in self.tokens.items():
            out[(f"{NS}_tokens_total", frozenset({"model": model, "service_type": svc,
                                                  "type": t}.items()))] = n
        for (ep, et, model, svc), n in self.errors.items():
            out[(f"{NS}_errors_total", frozenset({"endpoint": ep, "error_type": et,
                 "model": model, "service_type": svc}.items()))] = n
        for (ep, model, svc), n in self.durations.items():
            out[(f"{NS}_response_duration_seconds_count", frozenset(
                {"endpoint": ep, "model": model, "service_type": svc}.items()))] = n
        out[(f"{NS}_pool_acquisitions_total", frozenset())] = self.acquisitions
        out[(f"{NS}_pool_releases_total", frozenset())] = self.acquisitions
        out[(f"{NS}_active_requests", frozenset())] = 0
        return out

    def __iadd__(self, other):
        for a in ("requests", "tokens", "cost", "errors", "durations"):
            getattr(self, a).update(getattr(other, a))
        self.acquisitions += other.acquisitions
        return self


def _body(path, model, stream):
    b = {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    if stream and path == "/v1/chat/completions":
        b["stream_options"] = {"include_usage": True}
    return b


async def _send_mix(url, rounds=2):
    """The known mix; returns its Expect."""
    import httpx

    exp = Expect()
    jobs = []
    n = 0
    for r in range(rounds):
        for path, model in (("/v1/messages", "claude-sonnet-4"),
                            ("/v1/messages", "claude-haiku-3.5"),
                            ("/v1/messages", "no-price-model"),
                            ("/v1/chat/completions", "gpt-4o"),
                            ("/v1/chat/completions", "gpt-4o-mini")):
            for stream in (False, True):
                n += 1
                usage = [100 + n, 20 + n, 7 * n, 3 * n]
                if path == "/v1/chat/completions":
                    usage[3] = 0  # OpenAI reports no cache writes
                hdr = {"x-fake-usage": ",".join(map(str, usage)),
                       "x-fake-latency-ms": str(5 * (n % 7)), "x-fake-chunks": "4"}
                jobs.append(("ok", path, model, stream, hdr, usage))
            jobs.append(("status", path, model, False, {"x-fake-status": "500"}, None))
            jobs.append(("status", path, model, True, {"x-fake-status": "429"}, None))
            jobs.append(("reset", path, model, True,
                         {"x-fake-fail": "reset", "x-fake-chunks": "6"}, None))
            jobs.append(("hangup", path, model, True,
                         {"x-fake-chunks": "30", "x-fake-chunk-delay-ms": "100"}, None))

    async def one(client, kind, path, model, stream, hdr, usage):
        body = _body(path, model, stream)
        if kind == "hangup":
            async with client.stream("POST", url + path, json=body, headers=hdr) as resp:
                async for _ in resp.aiter_raw():
                    break  # leave after the first chunk: the proxy sees a disconnect
            exp.failed(path, model, "ClientDisconnected")
            return
        if kind == "reset":
            try:
                async with client.stream("POST", url + path, json=body, headers=hdr) as resp:
                    async for _ in resp.aiter_raw():
                        pass
            except httpx.HTTPError:
                pass
            exp.failed(path, model, "RemoteProtocolError", "provider_RemoteProtocolError")
            return
        if stream:
            async with client.stream("POST", url + path, json=body, headers=hdr) as resp:
                async for _ in resp.aiter_raw():
                    pass
                status = resp.status_code
        else:
            status = (await client.post(url + path, json=body, headers=hdr)).status_code
        expected = int(hdr.get("x-fake-status", 200))
        assert status == expected, (kind, path, model, stream, status)
        exp.completed(path, model, status, usage if status == 200 else None)

    sem = asyncio.Semaphore(6)

    async def guarded(client, job):
        async with sem:
            await one(client, *job)

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(guarded(client, j) for j in jobs))
    return exp


def send_mix(url, rounds=2):
    return asyncio.run(_send_mix(url, rounds))


def _mismatches(exporter, exp):
    got = parse_exposition(exporter.metrics())
    bad = []
    for key, value in exp.samples().items():
        if got.get(key) != float(value):
            bad.append(f"{format_key(key)}: want {value}, got {got.get(key)}")
    ours = {k for k in got if k[0] in (f"{NS}_requests_total", f"{NS}_tokens_total",
                                      f"{NS}_errors_total", f"{NS}_cost_usd_total")}
    for key in ours:
        if key[0] == f"{NS}_cost_usd_total":
            labels = dict(key[1])
            want = exp.cost.get((labels["model"], labels["service_type"]))
            if want is None or round(got[key] * 1e9) != want:
                bad.append(f"{format_key(key)}: want {want} nUSD, got {got[key]}")
        elif key not in exp.samples():
            bad.append(f"unexpected {format_key(key)} = {got[key]}")
    for model, svc in exp.cost:
        key = (f"{NS}_cost_usd_total", frozenset({"cost_type": "total", "model": model,
                                                  "service_type": svc}.items()))
        if key not in got:
            bad.append(f"missing {format_key(key)}")
    return bad


def assert_reports(exporter, exp, timeout=20):
    """Client disconnects reach the proxy asynchronously: poll until the scrape settles."""
    deadline = time.monotonic() + timeout
    while True:
        bad = _mismatches(exporter, exp)
        if not bad or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert not bad, "\n".join(bad)


def _wait_attached(exporter, n=1):
    def attached():
        got = parse_exposition(exporter.metrics())
        return got.get(("ccproxy_exporter_attached_processes", frozenset())) == n and \
            got.get((f"{NS}_info", frozenset({"metrics_enabled": "true",
                                              "version": "0.2.10-demo"}.items()))) == 1.0
    wait_until(attached, timeout=20, what=f"{n} attached process(es) announcing their info")


def test_known_mix(procs, upstream, tmp_path):
    proxy, url, pids = start_proxy(procs, upstream, tmp_path / "run")
    exporter = start_exporter(procs, pids)
    _wait_attached(exporter)
    exp = send_mix(url)
    assert_reports(exporter, exp)
    got = parse_exposition(exporter.metrics())
    assert got[(f"{NS}_pool_clients_total", frozenset())] == 4
    assert got[(f"{NS}_pool_clients_active", frozenset())] == 0
    assert got[("up", frozenset({"job": "ccproxy"}.items()))] == 1


def test_two_workers_summed(procs, upstream, tmp_path):
    proxy, url, pids = start_proxy(procs, upstream, tmp_path / "run", workers=2)
    assert len(pids) == 2
    exporter = start_exporter(procs, pids)
    _wait_attached(exporter, 2)
    exp = send_mix(url, rounds=3)
    assert_reports(exporter, exp)
    got = parse_exposition(exporter.metrics())
    assert got[(f"{NS}_pool_clients_total", frozenset())] == 8  # 4 per worker, summed


def test_proxy_restart_while_exporter_runs(procs, upstream, tmp_path):
    """Attach by PID follows a process, not a program: after a restart the new PID is not
    watched. What is checked: the old process's counts stay, up drops to 0 and the exporter
    keeps serving."""
    proxy, url, pids = start_proxy(procs, upstream, tmp_path / "run")
    exporter = start_exporter(procs, pids)
    _wait_attached(exporter)
    exp = send_mix(url, rounds=1)
    assert_reports(exporter, exp)
    proxy.terminate()
    proxy.wait(timeout=20)
    wait_until(lambda: parse_exposition(exporter.metrics()).get(
        ("up", frozenset({"job": "ccproxy"}.items()))) == 0, timeout=20, what="up == 0")
    proxy2, url2, pids2 = start_proxy(procs, upstream, tmp_path / "run")
    send_mix(url2, rounds=1)
    time.sleep(1)
    assert exporter.proc.poll() is None, "exporter died when its target exited"
    got = parse_exposition(exporter.metrics())
    assert got[("up", frozenset({"job": "ccproxy"}.items()))] == 0
    # Counters of the exited process are kept (a counter must not go down) and the new
    # process's requests are not seen: the same totals as before the restart.
    for key, value in exp.samples().items():
        if key[0] in (f"{NS}_requests_total", f"{NS}_tokens_total"):
            assert got.get(key) == value, format_key(key)


def test_attach_before_import(procs, upstream, tmp_path):
    """The exporter runs before the proxy has imported ccproxy_usdt (so before the probes'
    shared object is mapped): discovery looks again every interval and attaches on import.
    The proxy runs under a unique name (a symlink to python3) that --match-comm selects."""
    name = "pydemo" + uuid.uuid4().hex[:9]
    python = tmp_path / name
    python.symlink_to(PY)
    exporter = start_exporter(procs, [], "--match-comm", f"^{name}$")
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(BUILD / "python"), DEMO_IMPORT_DELAY="3")
    proxy = procs.start([python, DEMO / "demo_proxy.py", "--port", port, "--upstream", upstream],
                        env=env)
    time.sleep(0.5)  # the interpreter is up, the extension is not imported yet
    with open(f"/proc/{proxy.pid}/maps") as f:
        assert "ccproxy_usdt" not in f.read()
    url = f"http://127.0.0.1:{port}"
    _wait_http(url + "/health", proxy, "the demo proxy")
    _wait_attached(exporter)
    exp = send_mix(url, rounds=1)
    assert_reports(exporter, exp)
