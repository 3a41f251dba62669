# SPDX-License-Identifier: BSD-2-Clause
"""Periodic pushes against a real prometheus-pushgateway (and fake gateways) on loopback."""
import base64
import gzip
import http.server
import json
import shutil
import signal
import socket
import threading
import time
import urllib.request

import pytest

from conftest import free_port, http_get, require_root, start_exporter, start_loadgen, wait_truth, \
    wait_until
import truth as truthlib

PUSHGATEWAY = shutil.which("prometheus-pushgateway") or "/usr/bin/prometheus-pushgateway"
SELF = "ccproxy_exporter_push_"


class Gateway:
    def __init__(self, procs, port=None):
        self.port = port or free_port()
        # No --persistence.file: the gateway keeps its groups in memory only.
        self.proc = procs.start([PUSHGATEWAY, "--web.listen-address", f"127.0.0.1:{self.port}"])
        wait_until(self._ready, timeout=20, what="the pushgateway to be ready")

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"pushgateway exited: {self.proc.stderr.read().decode()}")
        try:
            return http_get(self.port, "/-/ready", timeout=1)[0] == 200
        except OSError:
            return False

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def request(self, method, path, body=b""):
        req = urllib.request.Request(self.url + path, data=body or None, method=method,
                                     headers={"Content-Type": "text/plain; version=0.0.4"})
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status

    def group(self, **key):
        """The samples of the group with exactly these grouping labels, key labels removed."""
        status, _, body = http_get(self.port, "/metrics")
        assert status == 200
        out = {}
        for (name, labels), value in truthlib.parse_exposition(body.decode()).items():
            d = dict(labels)
            if any(d.get(k) != v for k, v in key.items()):
                continue
            for k in key:
                d.pop(k)
            out[(name, normalise(d))] = value
        return out

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.communicate(timeout=10)


def normalise(labels):
    """Go writes le="1", Python le="1.0": compare bounds as numbers."""
    d = dict(labels)
    if "le" in d:
        d["le"] = repr(float(d["le"]))
    return frozenset(d.items())


def ccproxy_families(samples):
    return {(n, normalise(l)): v for (n, l), v in samples.items()
            if n.startswith("ccproxy_") and not n.startswith("ccproxy_exporter_")}


def stop(ex):
    """SIGTERM and wait: detaching every uprobe takes 4 to 10 s on a busy 2-core machine."""
    ex.proc.send_signal(signal.SIGTERM)
    _, err = ex.proc.communicate(timeout=40)
    return ex.proc.returncode, err.decode()


def self_metrics(ex):
    s = truthlib.parse_exposition(ex.metrics())
    state = next(dict(l)["state"] for (n, l), v in s.items()
                 if n == SELF + "breaker_state" and v == 1)
    return {"attempts": s[(SELF + "attempts_total", frozenset())],
            "failures": s[(SELF + "failures_total", frozenset())],
            "last_success": s[(SELF + "last_success_timestamp_seconds", frozenset())],
            "state": state}


@pytest.fixture
def loadgen(procs, tmp_path):
    require_root()
    return start_loadgen(procs, tmp_path, "--events", "20000", "--threads", "2", "--seed", "3")


def push_flags(url, *extra):
    return ["--pushgateway-enabled", "--pushgateway-url", url, "--pushgateway-push-interval",
            "1", "--pushgateway-instance", "it", *extra]


def test_pushed_samples_equal_scrape(procs, loadgen):
    gw = Gateway(procs)
    lg, truth = loadgen
    ex = start_exporter(procs, [lg.pid], *push_flags(gw.url))
    wait_truth(lg, truth)  # the load is over: the numbers stand still

    def same():
        want = ccproxy_families(truthlib.parse_exposition(ex.metrics()))
        got = ccproxy_families(gw.group(job="ccproxy", instance="it"))
        return want == got and len(want) > 100 and (want, got)
    want, got = wait_until(same, timeout=15, what="the pushed group to equal /metrics")
    assert "ccproxy_requests_total" in {n for n, _ in got}
    assert not truthlib.compare(json.loads(truth.read_text()),
                                truthlib.parse_exposition(ex.metrics()))
    s = self_metrics(ex)
    assert s["failures"] == 0 and s["state"] == "closed" and s["last_success"] > 1e9
    rc, err = stop(ex)
    assert rc == 0, err
    assert "at shutdown done" in err


def test_grouping_key_with_slash_and_empty_value(procs, loadgen):
    gw = Gateway(procs)
    lg, _ = loadgen
    ex = start_exporter(procs, [lg.pid], *push_flags(gw.url, "--pushgateway-label", "path=/a/b",
                                                     "--pushgateway-label", "empty=",
                                                     "--pushgateway-job", "my job"))
    key = dict(job="my job", instance="it", path="/a/b")
    wait_until(lambda: gw.group(**key), timeout=10, what="the group with path=/a/b")
    rc, err = stop(ex)
    assert rc == 0, err
    # The gateway exposes no empty label, but it is part of the group's key: deleting the group
    # by its full key, empty label included, must remove it.
    b64 = base64.urlsafe_b64encode(b"/a/b").decode()
    assert gw.request("DELETE", f"/metrics/job/my%20job/instance/it/path@base64/{b64}") == 202
    assert gw.group(**key), "a key without the empty label is another group"
    assert gw.request("DELETE", f"/metrics/job/my%20job/instance/it/path@base64/{b64}"
                                "/empty@base64/=") == 202
    assert gw.group(**key) == {}


def put_foreign(gw, path):
    assert gw.request("PUT", path, b"# TYPE foreign_metric gauge\nforeign_metric 42\n") in (200, 202)


@pytest.mark.parametrize("method, foreign_kept", [("put", False), ("post", True)])
def test_put_replaces_group_post_keeps_others(procs, loadgen, method, foreign_kept):
    gw = Gateway(procs)
    put_foreign(gw, "/metrics/job/ccproxy/instance/it")
    assert ("foreign_metric", frozenset()) in gw.group(job="ccproxy", instance="it")
    lg, _ = loadgen
    ex = start_exporter(procs, [lg.pid], *push_flags(gw.url, "--pushgateway-method", method))
    wait_until(lambda: any(n == "ccproxy_up" or n.startswith("ccproxy_requests")
                           for n, _ in gw.group(job="ccproxy", instance="it")),
               timeout=10, what="the first push")
    group = gw.group(job="ccproxy", instance="it")
    assert (("foreign_metric", frozenset()) in group) == foreign_kept
    stop(ex)


def test_delete_on_shutdown_removes_the_group(procs, loadgen):
    gw = Gateway(procs)
    lg, _ = loadgen
    ex = start_exporter(procs, [lg.pid],
                        *push_flags(gw.url, "--pushgateway-delete-on-shutdown"))
    wait_until(lambda: gw.group(job="ccproxy", instance="it"), timeout=10, what="a push")
    rc, err = stop(ex)
    assert rc == 0, err
    assert gw.group(job="ccproxy", instance="it") == {}
    assert "delete of metrics" in err


def test_breaker_opens_stays_quiet_and_closes(procs, loadgen):
    port = free_port()  # nothing listens here yet
    lg, _ = loadgen
    ex = start_exporter(procs, [lg.pid], *push_flags(
        f"http://127.0.0.1:{port}", "--pushgateway-breaker-threshold", "2",
        "--pushgateway-breaker-reset", "4"))
    # attempt 1 at once, attempt 2 after 2 s (+-12.5 %): then open for 4 s
    wait_until(lambda: self_metrics(ex)["state"] == "open", timeout=10, what="the breaker to open")
    s = self_metrics(ex)
    assert s["attempts"] == 2 and s["failures"] == 2 and s["last_success"] == 0
    time.sleep(2.5)
    assert self_metrics(ex)["attempts"] == 2, "no attempt while open"
    gw = Gateway(procs, port)
    wait_until(lambda: self_metrics(ex)["state"] == "closed", timeout=10,
               what="the breaker to close")
    s = self_metrics(ex)
    assert s["attempts"] >= 3 and s["failures"] == 2 and s["last_success"] > 0
    assert gw.group(job="ccproxy", instance="it")
    rc, err = stop(ex)
    assert "circuit breaker open after 2 consecutive failed pushes" in err
    assert "circuit breaker closed" in err


class Silent:
    """Accepts connections and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)

    def close(self):
        self.stopped = True
        for c in self.conns:
            c.close()
        self.sock.close()


def test_silent_gateway_times_out_and_scrapes_stay_fast(procs, loadgen):
    srv = Silent()
    try:
        lg, _ = loadgen
        ex = start_exporter(procs, [lg.pid], *push_flags(
            f"http://127.0.0.1:{srv.port}", "--pushgateway-timeout", "2"))
        worst = 0.0
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            t0 = time.monotonic()
            status, _, _ = ex.get(timeout=5)
            worst = max(worst, time.monotonic() - t0)
            assert status == 200
            time.sleep(0.05)
        assert worst < 1.0, f"a scrape took {worst:.2f} s while a push hung"
        assert self_metrics(ex)["failures"] >= 1
        rc, err = stop(ex)
        assert rc == 0
        assert "Operation timed out after 2" in err, err
    finally:
        srv.close()


class Refuser(http.server.BaseHTTPRequestHandler):
    """Answers every push with 400 and a body, as a gateway rejecting the text would."""
    seen = []

    def do_PUT(self):
        n = int(self.headers.get("Content-Length", 0))
        Refuser.seen.append((self.command, self.path, dict(self.headers), self.rfile.read(n)))
        body = b'text format parsing error in line 3: expected "quoted" value\n' + b"x" * 400
        self.send_response(400)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_PUT

    def log_message(self, *a):
        pass


class Importer(Refuser):
    """A VictoriaMetrics import endpoint: 204 for every POST."""

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        Importer.seen.append((self.command, self.path, dict(self.headers), self.rfile.read(n)))
        self.send_response(204)
        self.end_headers()


def serve(handler):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def test_400_is_logged_with_its_body(procs, loadgen):
    Refuser.seen = []
    srv = serve(Refuser)
    try:
        lg, _ = loadgen
        ex = start_exporter(procs, [lg.pid], *push_flags(
            f"http://127.0.0.1:{srv.server_port}"))
        wait_until(lambda: self_metrics(ex)["failures"] >= 1, timeout=10, what="a failed push")
        rc, err = stop(ex)
        assert rc == 0
        line = next(l for l in err.splitlines() if "HTTP 400" in l)
        assert 'text format parsing error in line 3: expected \\"quoted\\" value\\x0a' in line
        assert "x" * 100 in line and "x" * 200 not in line, "only the start of the body"
        method, path, headers, body = Refuser.seen[0]
        assert (method, path) == ("PUT", "/metrics/job/ccproxy/instance/it")
        assert headers["Content-Encoding"] == "gzip"
        assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        assert b"# TYPE ccproxy_requests_total counter" in gzip.decompress(body)
    finally:
        srv.shutdown()


def test_victoriametrics_import(procs, loadgen):
    Importer.seen = []
    srv = serve(Importer)
    try:
        lg, _ = loadgen
        ex = start_exporter(procs, [lg.pid], *push_flags(
            f"http://127.0.0.1:{srv.server_port}/api/v1/write",
            "--pushgateway-delete-on-shutdown"))
        wait_until(lambda: self_metrics(ex)["last_success"] > 0, timeout=10, what="a push")
        rc, err = stop(ex)
        assert rc == 0
        method, path, headers, body = Importer.seen[0]
        assert method == "POST"
        assert path == ("/api/v1/import/prometheus?extra_label=job%3Dccproxy"
                        "&extra_label=instance%3Dit")
        assert headers["Content-Type"] == "text/plain; charset=utf-8"
        assert b"ccproxy_requests_total" in gzip.decompress(body)
        # no DELETE there: the last request is one more import
        assert all(m == "POST" for m, *_ in Importer.seen)
        assert "VictoriaMetrics has no group to delete" in err
    finally:
        srv.shutdown()


def test_basic_auth_password_from_file(procs, loadgen, tmp_path):
    Importer.seen = []
    srv = serve(Importer)
    pw = tmp_path / "pw"
    pw.write_text("s3cret:x\n")  # the trailing newline is not part of it
    try:
        lg, _ = loadgen
        ex = start_exporter(procs, [lg.pid], *push_flags(
            f"http://127.0.0.1:{srv.server_port}/api/v1/write", "--pushgateway-username", "bob",
            "--pushgateway-password-file", str(pw)))
        wait_until(lambda: Importer.seen, timeout=10, what="a push")
        assert "s3cret" not in " ".join(ex.proc.args)
        auth = Importer.seen[0][2]["Authorization"]
        assert auth == "Basic " + base64.b64encode(b"bob:s3cret:x").decode()
        stop(ex)
    finally:
        srv.shutdown()
