# SPDX-License-Identifier: BSD-2-Clause
"""The exporter attached by PID to the load generator: exact numbers, format, lifecycle, errors."""
import gzip
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import (EXPORTER, LOADGEN, free_port, require_root, start_exporter, start_loadgen,
                      wait_truth, wait_until)
import truth as truthlib


@pytest.fixture
def attached(procs, tmp_path):
    """Loadgen (2 threads, 100k events, 3 requests left active) with the exporter attached."""
    require_root()
    lg, truth = start_loadgen(procs, tmp_path, "--events", "100000", "--threads", "2",
                              "--seed", "7", "--leave-active", "3")
    ex = start_exporter(procs, [lg.pid])
    wait_truth(lg, truth)
    return lg, ex, json.loads(truth.read_text())


def test_scrape_equals_truth(attached):
    _, ex, truth = attached
    scraped = truthlib.parse_exposition(ex.metrics())
    mismatches = truthlib.compare(truth, scraped)
    assert not mismatches, "\n".join(mismatches[:50])


def test_nothing_dropped_and_every_probe_seen(attached):
    _, ex, _ = attached
    scraped = truthlib.parse_exposition(ex.metrics())
    drops = {dict(k[1])["reason"]: v for k, v in scraped.items()
             if k[0] == "ccproxy_exporter_events_dropped_total"}
    assert drops and not any(drops.values()), drops
    hits = {dict(k[1])["probe"]: v for k, v in scraped.items()
            if k[0] == "ccproxy_exporter_probe_hits_total"}
    assert len(hits) == 16 and all(hits.values()), hits


def test_promtool_accepts_scrape(attached):
    _, ex, _ = attached
    r = subprocess.run(["promtool", "check", "metrics"], input=ex.metrics().encode(),
                       capture_output=True, timeout=30)
    findings = [l for l in (r.stdout + r.stderr).decode().splitlines() if l.strip()]
    # The one lint finding the inherited ccproxy names force: a gauge named *_total.
    allowed = ['ccproxy_pool_clients_total non-counter metrics should not have "_total" suffix']
    assert findings == allowed, findings


def test_headers_and_gzip(attached):
    _, ex, _ = attached
    status, headers, body = ex.get()
    assert status == 200
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert headers["Cache-Control"] == "no-cache, no-store, must-revalidate"
    assert headers["Pragma"] == "no-cache" and headers["Expires"] == "0"
    status, headers, zbody = ex.get(headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("Content-Encoding") == "gzip"
    strip = lambda t: [l for l in t.splitlines() if "ccproxy_exporter_" not in l]
    assert strip(gzip.decompress(zbody).decode()) == strip(body.decode())


def test_health_and_landing(attached):
    lg, ex, _ = attached
    status, headers, body = ex.get("/metrics/health")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    health = json.loads(body)
    assert health["status"] == "healthy" and health["prometheus_enabled"] is True
    assert health["namespace"] == "ccproxy"
    assert [(p["pid"], p["state"]) for p in health["processes"]] == [(lg.pid, "attached")]
    status, _, body = ex.get("/")
    assert status == 200 and b"/metrics" in body
    assert ex.get("/nope")[0] == 404
    assert ex.get("/metrics", method="POST")[0] == 405


def test_target_exit(attached):
    lg, ex, truth = attached
    lg.send_signal(signal.SIGKILL)
    lg.wait(timeout=10)
    scraped = truthlib.parse_exposition(ex.metrics())
    assert scraped[("up", frozenset({("job", "ccproxy")}))] == 0
    assert scraped[("ccproxy_active_requests", frozenset())] == 0
    assert scraped[("ccproxy_exporter_attached_processes", frozenset())] == 0
    # Counters keep what the process sent.
    for s in truth["samples"]:
        if s["name"] == "ccproxy_requests_total":
            assert scraped[(s["name"], frozenset(s["labels"].items()))] == s["value"]
    health = json.loads(ex.get("/metrics/health")[2])
    assert health["processes"][0]["state"] == "exited"


def test_sigterm_exits_zero(attached):
    _, ex, _ = attached
    code, err = ex.stop(signal.SIGTERM)
    assert code == 0, err


def run_exporter(*args, env=None, timeout=30):
    return subprocess.run([str(EXPORTER), *args], capture_output=True, timeout=timeout, env=env)


def test_no_such_pid():
    require_root()
    r = run_exporter("--pid", "4194303", "--web.listen-address", f"127.0.0.1:{free_port()}")
    assert r.returncode != 0 and b"no such process" in r.stderr, r.stderr


def test_process_without_probes(procs):
    require_root()
    sleeper = procs.start(["sleep", "60"])
    r = run_exporter("--pid", str(sleeper.pid), "--web.listen-address",
                     f"127.0.0.1:{free_port()}")
    assert r.returncode != 0 and b"no ccproxy probes" in r.stderr, r.stderr


@pytest.mark.parametrize("args, needle", [
    (["--bogus"], b"--bogus"),
    (["--pid"], b"--pid"),
    (["--pid", "abc"], b"--pid"),
    (["--pid", "-5"], b"--pid"),
    (["--pid", "1", "--web.listen-address", "nohost"], b"--web.listen-address"),
    (["--pid", "1", "--histogram-buckets", "1,0.5"], b"--histogram-buckets"),
    (["--pid", "1", "--namespace", "9bad"], b"--namespace"),
    ([], b"--pid"),
])
def test_bad_flags(args, needle):
    r = run_exporter(*args)
    assert r.returncode == 2 and needle in r.stderr, r.stderr
    assert len(r.stderr.decode().strip().splitlines()) <= 2


def test_bad_env():
    env = dict(os.environ, PLUGINS__METRICS__COLLECT_TOKEN_METRICS="maybe")
    r = run_exporter("--pid", "1", env=env)
    assert r.returncode == 2 and b"PLUGINS__METRICS__COLLECT_TOKEN_METRICS" in r.stderr


def test_port_in_use(procs, tmp_path):
    require_root()
    lg, _ = start_loadgen(procs, tmp_path, "--events", "10", "--threads", "1", "--seed", "1")
    ex = start_exporter(procs, [lg.pid])
    r = run_exporter("--pid", str(lg.pid), "--web.listen-address", f"127.0.0.1:{ex.port}")
    assert r.returncode != 0 and b"address already in use" in r.stderr, r.stderr
