# SPDX-License-Identifier: BSD-2-Clause
"""Every query of the Grafana dashboard, evaluated by a real Prometheus on real scrapes.

Two sources feed the Prometheus (/usr/bin/prometheus, scrape_interval 1s, loopback only):
- the exporter attached to two load generators (needs root and `make all`): the first one
  fires as soon as the exporter attaches, the second is held with SIGSTOP until Prometheus
  has scraped the first batch, so increase() and rate() see counters grow;
- a stand-in for the Python metrics plugin (prometheus_client, same families), which checks
  that the dashboard still works for users of the plugin. It needs neither root nor a build.

Each expression is expanded as Grafana would ($__range, $__interval, $__rate_interval,
variables at All = .*) and run through /api/v1/query; the result must be a non-empty
vector, and for panels ending in `or vector(0)` the query without that fallback must be
non-empty too, so the fallback cannot hide a query that matches nothing. The alerts on the
exporter's latency extension are evaluated the same way, without their thresholds.
"""
import ctypes
import json
import math
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

import test_dashboard as dash

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = Path("/usr/bin/prometheus")
# make passes OUTPUT (the build directory); a relative one is taken from the repository root.
BUILD = ROOT / os.environ.get("OUTPUT", "build")
EXPORTER = BUILD / "ccproxy_exporter"
LOADGEN = BUILD / "ccproxy-loadgen"
LOADGEN_ARGS = ["--events", "20000", "--threads", "2", "--seed", "1", "--linger"]
FALLBACKS = (" or on() vector(0)", " or vector(0)")
# Stat panels over $__range: data flowed during the test, so each must be above zero.
POSITIVE = {"Total Requests", "Input Tokens", "Output Tokens", "Total Cache Tokens", "Cost"}
RULES = ROOT / "prometheus" / "rules" / "ccproxy.rules.yml"
# Alerts on the latency extension, which the Python plugin does not have.
LATENCY_ALERTS = ("CCProxyHighTimeToFirstTokenP95", "CCProxyProviderRateLimited")

needs_prometheus = pytest.mark.skipif(not PROMETHEUS.exists(),
                                      reason="/usr/bin/prometheus missing (Debian package prometheus)")


# --- helpers ------------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(pred, timeout, what, interval=0.2):
    """Polls pred() until it returns a true value (returned) or fails the test after timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            v = pred()
            if v:
                return v
        except (OSError, ValueError, urllib.error.URLError) as e:
            last = e
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what}" + (f" (last error: {last})" if last else ""))


def _die_with_parent():
    # PR_SET_PDEATHSIG: children get SIGTERM even if pytest itself is killed.
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


class Processes:
    """Children of one test; stop_all() leaves none behind, stopped ones included."""

    def __init__(self, logdir):
        self.logdir = logdir
        self.procs = []

    def start(self, name, argv):
        log = open(self.logdir / f"{name}.log", "wb")
        p = subprocess.Popen([str(a) for a in argv], stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        log.close()
        self.procs.append((name, p))
        return p

    def check_alive(self):
        for name, p in self.procs:
            if p.poll() is not None:
                pytest.fail(f"{name} exited with {p.returncode}:\n{self.log(name)}")

    def log(self, name):
        try:
            return (self.logdir / f"{name}.log").read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def stop_all(self):
        for _, p in reversed(self.procs):
            if p.poll() is None:
                for sig in (signal.SIGCONT, signal.SIGTERM):
                    try:
                        p.send_signal(sig)
                    except ProcessLookupError:
                        pass
                try:
                    # Detaching uprobes waits for an RCU grace period per link: seconds.
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=10)


@pytest.fixture
def children(tmp_path):
    ps = Processes(tmp_path)
    yield ps
    ps.stop_all()


class Prometheus:
    def __init__(self, url):
        self.url = url

    def api(self, path, **params):
        body = json.loads(http_get(f"{self.url}{path}?{urllib.parse.urlencode(params)}"))
        if body.get("status") != "success":
            raise ValueError(f"{path} {params}: {body}")
        return body["data"]

    def query(self, expr, at=None):
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        return self.api("/api/v1/query", **params)

    def scalar(self, expr, at=None):
        """Value of a one-series vector, or None when it is empty."""
        r = self.query(expr, at)["result"]
        return float(r[0]["value"][1]) if r else None


def start_prometheus(children, tmp_path, target):
    port = free_port()
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": "ccproxy", "honor_labels": False,
                            "static_configs": [{"targets": [target]}]}],
    }
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(json.dumps(config))  # JSON is YAML
    children.start("prometheus", [
        PROMETHEUS, f"--config.file={cfg}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
    ])
    prom = Prometheus(f"http://127.0.0.1:{port}")

    def ready():
        children.check_alive()
        return "Ready" in http_get(f"{prom.url}/-/ready")

    wait_until(ready, 30, "prometheus to be ready")
    return prom


def strip_fallback(expr):
    for f in FALLBACKS:
        if expr.endswith(f):
            return expr[: -len(f)]
    return None


def evaluate_dashboard(prom, at, range_s, skip=lambda expr: False, **variables):
    """Runs every dashboard query at time at; returns {title: [value of first series, ...]}."""
    problems, values = [], {}
    for title, expr in dash.expressions(dash.load()):
        if skip(expr):
            continue
        # $__rate_interval spans the whole test, so rate() panels see the traffic too.
        q = dash.substitute(expr, range_s, interval="1s", rate_interval=f"{range_s}s", **variables)
        data = prom.query(q, at)
        if data["resultType"] != "vector":
            problems.append(f"{title}: result type {data['resultType']} for {q}")
        elif not data["result"]:
            problems.append(f"{title}: empty result for {q}")
        else:
            values.setdefault(title, []).append(float(data["result"][0]["value"][1]))
        bare = strip_fallback(q)
        if bare and not prom.query(bare, at)["result"]:
            problems.append(f"{title}: empty without its vector(0) fallback: {bare}")
    if problems:
        targets = prom.api("/api/v1/targets")["activeTargets"]
        health = [(t["scrapeUrl"], t["health"], t["lastError"]) for t in targets]
        pytest.fail("\n".join(problems + [f"targets: {health}"]))
    print(json.dumps(values, indent=1, sort_keys=True))
    return values


def check_values(prom, values, at, range_s):
    for title in POSITIVE:
        assert values[title][0] > 0, f"{title} = {values[title][0]}"
    assert values["Service Health"] == [1.0]
    # The variables filter: one service's requests are part of All's.
    services = prom.api("/api/v1/label/service_type/values", **{"match[]": "ccproxy_requests_total"})
    assert services
    total = values["Total Requests"][0]
    expr = [e for t, e in dash.expressions(dash.load()) if t == "Total Requests"][0]
    parts = 0.0
    for s in services:
        v = prom.scalar(dash.substitute(expr, range_s, service_type=s), at)
        assert v is not None and v <= total * (1 + 1e-9), (s, v, total)
        parts += v
    assert math.isclose(parts, total, rel_tol=1e-6), (parts, total)
    both = "(" + "|".join(services[:2]) + ")"  # Grafana's multi-value format
    assert prom.scalar(dash.substitute(expr, range_s, service_type=both), at) > 0


# --- the stand-in for the Python metrics plugin --------------------------------------------

class PluginStandIn:
    """The Python plugin's families (spec section 1) in prometheus_client, growing per scrape."""

    def __init__(self):
        pc = pytest.importorskip("prometheus_client")
        self.pc = pc
        self.reg = r = pc.CollectorRegistry()
        ns = "ccproxy"
        self.requests = pc.Counter("requests_total", "Total number of requests processed",
                                   ["method", "endpoint", "model", "status", "service_type"],
                                   namespace=ns, registry=r)
        self.duration = pc.Histogram("response_duration_seconds", "Response time in seconds",
                                     ["model", "endpoint", "service_type"], namespace=ns,
                                     registry=r, buckets=[0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                                                          5.0, 10.0, 25.0])
        self.tokens = pc.Counter("tokens_total", "Total tokens processed",
                                 ["type", "model", "service_type"], namespace=ns, registry=r)
        self.cost = pc.Counter("cost_usd_total", "Total cost in USD",
                               ["model", "cost_type", "service_type"], namespace=ns, registry=r)
        self.errors = pc.Counter("errors_total", "Total number of errors",
                                 ["error_type", "endpoint", "model", "service_type"],
                                 namespace=ns, registry=r)
        self.active = pc.Gauge("active_requests", "Number of currently active requests",
                               namespace=ns, registry=r)
        pc.Gauge("info", "System information", ["version", "metrics_enabled"], namespace=ns,
                 registry=r).labels("0.2.10", "true").set(1)
        pc.Gauge("up", "Service is up and running", ["job"], registry=r).labels("ccproxy").set(1)
        g = lambda n, h: pc.Gauge(n, h, namespace=ns, registry=r)  # noqa: E731
        c = lambda n, h: pc.Counter(n, h, namespace=ns, registry=r)  # noqa: E731
        self.clients = [g("pool_clients_total", "Total number of clients in the pool"),
                        g("pool_clients_available", "Number of available clients in the pool"),
                        g("pool_clients_active",
                          "Number of active clients currently processing requests")]
        self.pool = [c("pool_connections_created_total", "Total number of pool connections created"),
                     c("pool_connections_closed_total", "Total number of pool connections closed"),
                     c("pool_acquisitions_total", "Total number of client acquisitions from pool"),
                     c("pool_releases_total", "Total number of client releases to pool"),
                     c("pool_health_check_failures_total",
                       "Total number of pool health check failures")]
        self.wait = pc.Histogram("pool_acquisition_duration_seconds",
                                 "Time taken to acquire a client from the pool", namespace=ns,
                                 registry=r, buckets=[0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5,
                                                      1.0, 2.5, 5.0])
        self.lock = threading.Lock()

    def tick(self):
        for svc, model, secs in (("claude_api", "claude-sonnet-4", 0.3), ("codex", "gpt-5", 2.0)):
            self.requests.labels("POST", "/v1/messages", model, "200", svc).inc(3)
            self.requests.labels("POST", "/v1/messages", model, "error", svc).inc()
            self.duration.labels(model, "/v1/messages", svc).observe(secs)
            for t, n in (("input", 100), ("output", 50), ("cache_read", 20), ("cache_write", 5)):
                self.tokens.labels(t, model, svc).inc(n)
            self.cost.labels(model, "total", svc).inc(0.01)
            self.errors.labels("TimeoutError", "/v1/messages", model, svc).inc()
        self.active.set(2)
        for gauge, v in zip(self.clients, (4, 3, 1)):
            gauge.set(v)
        for counter in self.pool:
            counter.inc()
        self.wait.observe(0.004)

    def render(self):
        with self.lock:
            self.tick()
            return self.pc.generate_latest(self.reg)


@pytest.fixture
def plugin_standin():
    plugin = PluginStandIn()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = plugin.render()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@needs_prometheus
def test_dashboard_on_python_plugin_output(children, tmp_path, plugin_standin):
    start = time.time()
    prom = start_prometheus(children, tmp_path, plugin_standin)
    wait_until(lambda: (prom.scalar("max(count_over_time(ccproxy_requests_total[1m]))") or 0) >= 5,
               30, "five scrapes of the plugin stand-in")
    at = time.time()
    range_s = math.ceil(at - start) + 5
    # The plugin has no ccproxy_exporter_* self-metrics.
    values = evaluate_dashboard(
        prom, at, range_s,
        skip=lambda e: "ccproxy_exporter_" in e or bool(dash.metric_names(e) & dash.LATENCY))
    check_values(prom, values, at, range_s)


# --- the exporter ---------------------------------------------------------------------------

def alert_exprs(names):
    """{alert: its expression without the final threshold comparison}."""
    groups = yaml.safe_load(RULES.read_text())["groups"]
    rules = {r["alert"]: r["expr"] for g in groups for r in g["rules"] if "alert" in r}
    out = {}
    for name in names:
        head, op, threshold = rules[name].strip().rpartition(" > ")
        assert op and float(threshold) > 0, (name, rules[name])
        out[name] = head
    return out


def check_latency(prom, values, at):
    """The Latency anatomy panels and alerts show the loadgen's streams and statuses."""
    for title in dash.LATENCY_PANELS:
        assert values[title], title
        for v in values[title]:
            assert math.isfinite(v) and v > 0, (title, values[title])
    for name, expr in alert_exprs(LATENCY_ALERTS).items():
        result = prom.query(expr, at)["result"]
        assert result, f"{name}: empty result for {expr}"
        for r in result:
            v = float(r["value"][1])
            assert math.isfinite(v) and v > 0, (name, r)


def exe_of(pid):
    try:
        return os.path.realpath(f"/proc/{pid}/exe")
    except OSError:
        return None


@needs_prometheus
@pytest.mark.skipif(os.geteuid() != 0, reason="attaching BPF programs needs root")
@pytest.mark.skipif(not (EXPORTER.exists() and LOADGEN.exists()),
                    reason=f"{EXPORTER} or {LOADGEN} not built (make all)")
def test_dashboard_on_exporter(children, tmp_path):
    first = children.start("loadgen-1", [LOADGEN, *LOADGEN_ARGS, "--wait-attach", "10"])
    # The second batch waits, stopped, until Prometheus has seen the first: counters must
    # grow between scrapes for increase() and rate() to be non-zero.
    second = children.start("loadgen-2", [LOADGEN, *LOADGEN_ARGS, "--wait-attach", "60"])
    wait_until(lambda: exe_of(second.pid) == str(LOADGEN.resolve()), 10, "loadgen-2 to exec")
    second.send_signal(signal.SIGSTOP)

    port = free_port()
    children.start("exporter", [EXPORTER, "--pid", first.pid, "--pid", second.pid,
                             "--web.listen-address", f"127.0.0.1:{port}"])

    def first_batch_served():
        children.check_alive()
        return "\nccproxy_requests_total{" in http_get(f"http://127.0.0.1:{port}/metrics")

    wait_until(first_batch_served, 30, "the exporter to serve the first batch")

    start = time.time()
    prom = start_prometheus(children, tmp_path, f"127.0.0.1:{port}")
    wait_until(lambda: (prom.scalar("max(count_over_time(ccproxy_requests_total[1m]))") or 0) >= 3,
               30, "three scrapes of the first batch")
    before = prom.scalar("sum(ccproxy_requests_total)")

    second.send_signal(signal.SIGCONT)
    wait_until(lambda: (prom.scalar("sum(ccproxy_requests_total)") or 0) > before, 30,
               "Prometheus to scrape the second batch")
    time.sleep(3)  # a few more scrapes after the batch
    children.check_alive()

    at = time.time()
    range_s = math.ceil(at - start) + 5
    values = evaluate_dashboard(prom, at, range_s)
    check_values(prom, values, at, range_s)
    check_latency(prom, values, at)
    assert values["Attached Processes"] == [2.0]
