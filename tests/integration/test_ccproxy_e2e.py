# SPDX-License-Identifier: BSD-2-Clause
"""End to end inside the real ccproxy (ccproxy-api 0.2.10 from its pinned venv): our plugin,
enabled the ccproxy way, fires the probes; ccproxy_exporter attaches by PID or by discovery.
A client sends a known mix through ccproxy's claude_api provider to the fake Anthropic API
and keeps its own tally; the exporter must equal it sample by sample, and ccproxy's own
metrics plugin, enabled in the same proxy, must differ only as docs/ccproxy.md says.
"""
import re
import time

import pytest
from ccproxy_real import (NS, ROUTE, VERSION, get_json, send_mix, settle, start_ccproxy,
                          start_upstream, venv)
from conftest import http_get, require_root, start_exporter, wait_until
from truth import parse_exposition

UP = ("up", frozenset({"job": "ccproxy"}.items()))


def g(name, **labels):
    return (name, frozenset(labels.items()))


@pytest.fixture(scope="module")
def env():
    require_root()
    return venv()


@pytest.fixture
def upstream(procs):
    return start_upstream(procs)


def read(exporter):
    return parse_exposition(exporter.metrics())


def wait_attached(exporter, n=1):
    def attached():
        got = read(exporter)
        return got.get(g("ccproxy_exporter_attached_processes")) == n and \
            got.get(g(f"{NS}_info", metrics_enabled="true", version=VERSION)) == 1.0
    wait_until(attached, timeout=30, what=f"{n} ccproxy process(es) attached and announced")


def discovering_exporter(procs, env):
    """An exporter without --pid that selects the proxies of this build's venv only (its
    interpreter is a copy with a path of its own)."""
    return start_exporter(procs, [], "--match-exe", "^" + re.escape(str(env / "bin")),
                          "--discovery.interval", "1")


def check_pool(got, stats):
    """The pool families against what the fake upstream saw on the wire."""
    acq = got[g(f"{NS}_pool_acquisitions_total")]
    assert acq == stats["requests"] > 0
    assert got[g(f"{NS}_pool_releases_total")] == acq
    assert got[g(f"{NS}_pool_acquisition_duration_seconds_count")] == acq
    created = got[g(f"{NS}_pool_connections_created_total")]
    closed = got[g(f"{NS}_pool_connections_closed_total")]
    assert created == stats["connections"]
    assert created - closed == got[g(f"{NS}_pool_clients_total")]
    assert got[g(f"{NS}_pool_clients_active")] == 0
    assert got[g(f"{NS}_pool_clients_available")] == got[g(f"{NS}_pool_clients_total")]
    assert got[g(f"{NS}_pool_health_check_failures_total")] == 0


def mix_through(procs, env, upstream, tmp_path):
    """ccproxy, the exporter on its PID, the known mix twice: (proxy, exporter), once the
    exporter equals the client's tally."""
    proxy = start_ccproxy(procs, env, upstream, tmp_path / "p")
    exporter = start_exporter(procs, proxy.pids)
    wait_attached(exporter)
    tally = send_mix(proxy.url, rounds=2)
    assert not settle(lambda: read(exporter), tally)
    return proxy, exporter


def test_known_mix_by_pid(procs, env, upstream, tmp_path):
    _, exporter = mix_through(procs, env, upstream, tmp_path)
    got = read(exporter)
    assert got[g(f"{NS}_active_requests")] == 0
    assert got[UP] == 1
    check_pool(got, get_json(upstream + "/stats"))
    # The mix exercised what it should: priced requests and every token type.
    assert sum(v for k, v in got.items() if k[0] == f"{NS}_cost_usd_total") > 0
    assert {dict(k[1])["type"] for k in got if k[0] == f"{NS}_tokens_total"} == \
        {"input", "output", "cache_read", "cache_write"}


def test_discovery_attaches_to_a_proxy_started_later(procs, env, upstream, tmp_path):
    """Without --pid: the exporter runs first and finds ccproxy (selected by the venv's own
    interpreter path, unique to this build) once its plugin has loaded the probes."""
    exporter = discovering_exporter(procs, env)
    proxy = start_ccproxy(procs, env, upstream, tmp_path / "p")
    wait_attached(exporter)
    tally = send_mix(proxy.url)
    assert not settle(lambda: read(exporter), tally)
    check_pool(read(exporter), get_json(upstream + "/stats"))


def test_two_workers_summed(procs, env, upstream, tmp_path):
    proxy = start_ccproxy(procs, env, upstream, tmp_path / "p", workers=2)
    assert len(proxy.pids) == 2
    exporter = start_exporter(procs, proxy.pids)
    wait_attached(exporter, 2)
    tally = send_mix(proxy.url, rounds=2)
    assert not settle(lambda: read(exporter), tally)
    got = read(exporter)
    assert got[g(f"{NS}_active_requests")] == 0
    check_pool(got, get_json(upstream + "/stats"))


def test_restart_under_discovery(procs, env, upstream, tmp_path):
    """A restarted proxy is found again; the exited process's counts stay (a counter must
    not go down) and the new one's add to them."""
    exporter = discovering_exporter(procs, env)
    proxy = start_ccproxy(procs, env, upstream, tmp_path / "p")
    wait_attached(exporter)
    tally = send_mix(proxy.url)
    assert not settle(lambda: read(exporter), tally)
    proxy.proc.terminate()
    proxy.proc.wait(timeout=30)
    wait_until(lambda: read(exporter).get(UP) == 0, timeout=20, what="up == 0")
    proxy = start_ccproxy(procs, env, upstream, tmp_path / "p")
    wait_attached(exporter)
    tally += send_mix(proxy.url, base=100)
    assert not settle(lambda: read(exporter), tally)
    assert exporter.proc.poll() is None


# ccproxy's own metrics plugin, in the same proxy, on the same traffic. Each difference is
# one row of docs/ccproxy.md; this test pins them so that a ccproxy release that changes
# one fails here instead of silently in someone's dashboard.
def _theirs(proxy_url):
    status, _, body = http_get(int(proxy_url.rsplit(":", 1)[1]), "/metrics")
    assert status == 200
    return parse_exposition(body.decode())


def _by(got, family, keep, where=lambda labels: True):
    """Sum of a family's samples grouped by the labels in `keep`."""
    out = {}
    for (name, labels), v in got.items():
        labels = dict(labels)
        if name == family and where(labels):
            key = tuple(labels.get(k) for k in keep)
            out[key] = out.get(key, 0) + v
    return out


def test_same_traffic_as_ccproxys_own_plugin(procs, env, upstream, tmp_path):
    proxy, exporter = mix_through(procs, env, upstream, tmp_path)
    ours = read(exporter)
    theirs = _theirs(proxy.url)
    full_url = proxy.url + ROUTE

    def on_route_theirs(labels):
        return labels.get("endpoint") == full_url

    def on_route_ours(labels):
        return labels.get("endpoint") == ROUTE

    # 1. endpoint: the full request URL in theirs, the route path in ours. 2. model and
    # service_type: "unknown" in theirs on every request series. Same counts once grouped,
    # but for 10: a client disconnect that cancels the response loses request.failed in
    # 0.2.10, so theirs may count fewer failures; ours (ended by the plugin's middleware)
    # equal the client's tally, checked above.
    for family, keep, lost in ((f"{NS}_requests_total", ("method", "status"),
                                ("POST", "error")),
                               (f"{NS}_response_duration_seconds_count", (), None),
                               (f"{NS}_errors_total", ("error_type",), ("unknown",))):
        t = _by(theirs, family, keep, on_route_theirs)
        o = _by(ours, family, keep, on_route_ours)
        if lost is not None:
            assert t.pop(lost, 0) <= o.pop(lost), family
        assert t == o, family
        assert set(_by(theirs, family, ("model", "service_type"), on_route_theirs)) == \
            {("unknown", "unknown")}, family
    # 3. tokens and 4. cost: 0.2.10 hands its hooks no usage, so theirs has none.
    assert not [k for k in theirs if k[0] in (f"{NS}_tokens_total", f"{NS}_cost_usd_total")]
    # 5. pool: declared, never fed in theirs.
    assert theirs[g(f"{NS}_pool_acquisitions_total")] == 0
    assert ours[g(f"{NS}_pool_acquisitions_total")] > 0
    # 6. active requests: theirs counts the scrape that reads it, once its hook thread has run
    # that request's request.started (0.2.10 runs it later, so the scrape may not see it yet).
    assert theirs[g(f"{NS}_active_requests")] in (0, 1) and ours[g(f"{NS}_active_requests")] == 0
    # 7. info: the Python client renders it as <ns>_info_info.
    assert theirs[g(f"{NS}_info_info", metrics_enabled="true", version=VERSION)] == 1
    assert ours[g(f"{NS}_info", metrics_enabled="true", version=VERSION)] == 1
    assert theirs[UP] == ours[UP] == 1


def test_plugin_leaves_responses_unchanged(procs, env, upstream, tmp_path):
    """The same requests through a proxy with our plugin (and an exporter attached) and one
    without any metrics plugin get the same status and body."""
    import httpx

    plain = start_ccproxy(procs, env, upstream, tmp_path / "plain", plugins=())
    ours = start_ccproxy(procs, env, upstream, tmp_path / "ours", plugins=("usdt_metrics",))
    start_exporter(procs, ours.pids)
    for stream in (False, True):
        for directive in ("usage=11,22,33,44", "status=529"):
            body = {"model": "claude-3-5-haiku-20241022", "max_tokens": 8, "stream": stream,
                    "messages": [{"role": "user", "content": f"same [fake {directive}]"}]}
            a = httpx.post(plain.url + ROUTE, json=body, timeout=30)
            b = httpx.post(ours.url + ROUTE, json=body, timeout=30)
            assert (a.status_code, a.content) == (b.status_code, b.content), (stream, directive)


def test_late_exporter_learns_info_and_pool(procs, env, upstream, tmp_path):
    """The info is a state: a tracer attached after the traffic learns it from the plugin's
    periodic announcement (wait_attached waits for version 0.2.10)."""
    proxy = start_ccproxy(procs, env, upstream, tmp_path / "p")
    send_mix(proxy.url)
    time.sleep(0.5)
    exporter = start_exporter(procs, proxy.pids)
    wait_attached(exporter)
    got = read(exporter)
    # Connections made before the attach are the baseline, not "created" (the pool gauge
    # itself may already be 0: httpx closes idle connections after 5 s).
    assert got[g(f"{NS}_pool_connections_created_total")] == 0


def test_settings_come_from_ccproxys_environment(procs, env, upstream, tmp_path):
    """PLUGINS__USDT_METRICS__* reach the plugin through ccproxy's own settings: with the
    pool instrumentation off the pool families stay at 0 while requests are counted; with
    the plugin disabled nothing is counted although the probes are loaded."""
    proxy = start_ccproxy(procs, env, upstream, tmp_path / "nopool",
                          settings={"PLUGINS__USDT_METRICS__INSTRUMENT_POOL": "false"})
    exporter = start_exporter(procs, proxy.pids)
    wait_attached(exporter)
    tally = send_mix(proxy.url)
    assert not settle(lambda: read(exporter), tally)
    assert read(exporter)[g(f"{NS}_pool_acquisitions_total")] == 0

    off = start_ccproxy(procs, env, upstream, tmp_path / "off",
                        settings={"PLUGINS__USDT_METRICS__ENABLED": "false"})
    exporter = start_exporter(procs, off.pids)
    wait_until(lambda: read(exporter).get(g("ccproxy_exporter_attached_processes")) == 1,
               timeout=30, what="the exporter to attach")
    send_mix(off.url)
    time.sleep(1.5)  # two announce intervals: an enabled plugin would have fired info
    got = read(exporter)
    assert not [k for k in got if k[0] == f"{NS}_requests_total"]
    # The exporter shows an attached process it has heard nothing from as version unknown.
    assert [dict(k[1])["version"] for k in got if k[0] == f"{NS}_info"] == ["unknown"]
