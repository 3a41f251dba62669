# SPDX-License-Identifier: BSD-2-Clause
"""The exporter attached by PID to the load generator: exact numbers, format, lifecycle, errors."""
import gzip
import json
import os
import signal
import subprocess

import pytest

from conftest import (EXPORTER, LOADGEN, free_port, require_root, start_exporter, start_loadgen,
                      wait_truth, wait_until)
import truth as truthlib


ROOMY = ["--limits.requests", "16384", "--limits.errors", "8192", "--limits.usage", "4096"]


@pytest.fixture
def attached(procs, tmp_path):
    """Loadgen (2 threads, 100k events, 3 requests left active) with the exporter attached."""
    require_root()
    lg, truth = start_loadgen(procs, tmp_path, "--events", "100000", "--threads", "2",
                              "--seed", "7", "--leave-active", "3")
    # The mix has ~6.5k request and ~2.5k error label sets: room for all of them.
    ex = start_exporter(procs, [lg.pid], *ROOMY)
    wait_truth(lg, truth)
    return lg, ex, json.loads(truth.read_text())


def test_scrape_equals_truth(attached):
    _, ex, truth = attached
    scraped = truthlib.parse_exposition(ex.metrics())
    mismatches = truthlib.compare(truth, scraped)
    assert not mismatches, "\n".join(mismatches[:50])


def family_totals(samples, name):
    return sum(v for (n, _), v in samples.items() if n == name)


def test_full_maps_fold_into_overflow(procs, tmp_path):
    """Default limits are below the mix's cardinality: new label sets fold, totals stay exact."""
    require_root()
    lg, truth = start_loadgen(procs, tmp_path, "--events", "100000", "--threads", "2",
                              "--seed", "7")
    ex = start_exporter(procs, [lg.pid], "--limits.requests", "1000", "--limits.errors", "500",
                        "--limits.usage", "16")
    wait_truth(lg, truth)
    want = truthlib.parse_exposition("")  # empty dict of the same shape
    for s in json.loads(truth.read_text())["samples"]:
        want[(s["name"], frozenset(s["labels"].items()))] = s.get("value", 0)
    got = truthlib.parse_exposition(ex.metrics())
    for name in ("ccproxy_requests_total", "ccproxy_errors_total", "ccproxy_tokens_total",
                 "ccproxy_response_duration_seconds_count"):
        assert family_totals(got, name) == family_totals(want, name), name
    overflow = [k for k in got if k[0] == "ccproxy_requests_total"
                and ("model", "__overflow__") in k[1]]
    assert overflow
    assert got[("ccproxy_exporter_events_dropped_total", frozenset({("reason", "folded")}))] > 0
    assert got[("ccproxy_exporter_events_dropped_total", frozenset({("reason", "map_full")}))] == 0


def test_drops_and_hits_are_exactly_the_fired_ones(attached):
    """Only what the mix sends on purpose is dropped: corrupt values, completions never started."""
    _, ex, truth = attached
    scraped = truthlib.parse_exposition(ex.metrics())
    drops = {dict(k[1])["reason"]: v for k, v in scraped.items()
             if k[0] == "ccproxy_exporter_events_dropped_total"}
    fired = truth["probe_hits"]
    started = fired["request_start"] - truth["leave_active"]
    orphans = fired["request_complete"] + fired["request_fail"] - started
    want = dict.fromkeys(drops, 0.0)
    want.update(invalid_value=truth["invalid"], unpaired=orphans)
    assert drops == want
    hits = {dict(k[1])["probe"]: v for k, v in scraped.items()
            if k[0] == "ccproxy_exporter_probe_hits_total"}
    assert hits == fired


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


CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE, CAP_SYS_ADMIN, CAP_PERFMON, CAP_BPF = 2, 19, 21, 38, 39


def thread_caps(pid):
    """{field: mask} of every thread of pid: capabilities belong to threads."""
    caps = set()
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            fields = dict(l.split(":\t", 1) for l in f if l.startswith("Cap"))
        caps.add(tuple(sorted((k, int(v, 16)) for k, v in fields.items())))
    return caps


def test_privileges_dropped_in_every_thread(attached):
    _, ex, _ = attached
    only_bpf = 1 << CAP_BPF
    assert thread_caps(ex.proc.pid) == {(("CapAmb", 0), ("CapBnd", only_bpf), ("CapEff", only_bpf),
                                         ("CapInh", 0), ("CapPrm", only_bpf))}
    with open(f"/proc/{ex.proc.pid}/status") as f:
        assert "NoNewPrivs:\t1" in f.read()


def test_discovery_keeps_what_attaching_needs(procs):
    require_root()
    ex = start_exporter(procs, [], "--match-comm", "^nothing-matches$")
    keep = sum(1 << c for c in (CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE, CAP_SYS_ADMIN, CAP_PERFMON,
                                CAP_BPF))
    for caps in thread_caps(ex.proc.pid):
        assert dict(caps)["CapEff"] == keep and dict(caps)["CapBnd"] == keep


def test_permission_denied(procs):
    """Without CAP_DAC_READ_SEARCH the exporter cannot open a binary in another user's private
    directory: it says so, instead of claiming the process has no probes."""
    require_root()
    import pwd
    import shutil
    import tempfile
    nobody = pwd.getpwnam("nobody")
    private = tempfile.mkdtemp(prefix="ccproxy-private-", dir="/tmp")
    try:
        binary = os.path.join(private, "lgpriv")
        shutil.copy(LOADGEN, binary)
        for p in (private, binary):
            os.chown(p, nobody.pw_uid, nobody.pw_gid)
        lg = procs.start(["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}",
                          "--clear-groups", binary, "--events", "100", "--linger",
                          "--wait-attach", "30"])
        wait_until(lambda: os.path.exists(f"/proc/{lg.pid}/exe") and
                   os.readlink(f"/proc/{lg.pid}/exe") == binary, what="the load generator")
        r = subprocess.run(["setpriv", "--inh-caps=-all", "--ambient-caps=-all",
                            "--bounding-set=-all,+sys_admin,+sys_ptrace", str(EXPORTER),
                            "--pid", str(lg.pid), "--web.listen-address",
                            f"127.0.0.1:{free_port()}"], capture_output=True, timeout=60)
        assert r.returncode == 1 and b"permission denied" in r.stderr, r.stderr
    finally:
        shutil.rmtree(private, ignore_errors=True)
