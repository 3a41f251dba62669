# SPDX-License-Identifier: BSD-2-Clause
"""Shared fixtures for the integration tests: real binaries, real BPF, loopback only.

Every process a test starts is killed at teardown; every wait has a deadline.
"""
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# make passes OUTPUT; a relative one is taken from the repository root.
BUILD = ROOT / os.environ.get("OUTPUT", "build")
EXPORTER = BUILD / "ccproxy_exporter"
LOADGEN = BUILD / "ccproxy-loadgen"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(pred, timeout=10.0, step=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def http_get(port, path="/metrics", headers=None, method="GET", timeout=5):
    """(status, headers, body bytes); HTTP errors are returned, not raised."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {},
                                 method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


class Procs:
    """Starts processes and guarantees they are gone at teardown. A process started with
    start_new_session=True takes its whole session with it (a server's worker processes)."""

    def __init__(self):
        self.procs = []

    def start(self, argv, **kw):
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        p = subprocess.Popen([str(a) for a in argv], **kw)
        p.own_session = kw.get("start_new_session", False)
        self.procs.append(p)
        return p

    def stop_all(self):
        for p in self.procs:
            if p.own_session:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            elif p.poll() is None:
                p.kill()
            try:
                p.communicate(timeout=5)
            except (subprocess.TimeoutExpired, ValueError):
                pass


@pytest.fixture
def pin_dir():
    """A --bpf-pin-path of the test's own on the host's bpffs, removed afterwards."""
    if not os.path.ismount("/sys/fs/bpf"):
        subprocess.run(["mount", "-t", "bpf", "bpf", "/sys/fs/bpf"], check=True)
    d = f"/sys/fs/bpf/ccproxy-test-{uuid.uuid4().hex[:8]}"
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def procs():
    ps = Procs()
    yield ps
    ps.stop_all()


def require_build():
    """Only the tests that run the binaries need them; the others run without a build."""
    for binary in (EXPORTER, LOADGEN):
        if not binary.exists():
            pytest.fail(f"{binary} is missing: run make")


def require_root():
    if os.geteuid() != 0:
        pytest.skip("needs root for BPF and uprobes (CI runs as root)")


class Exporter:
    def __init__(self, proc, port):
        self.proc = proc
        self.port = port

    def get(self, path="/metrics", **kw):
        return http_get(self.port, path, **kw)

    def metrics(self):
        status, _, body = self.get()
        assert status == 200, body
        return body.decode()

    def stop(self, sig=None):
        self.proc.send_signal(sig or 15)
        # Detaching waits ~0.25 s per probe in the kernel: 16 probes take ~4 s.
        out, err = self.proc.communicate(timeout=40)
        return self.proc.returncode, err.decode()


def start_exporter(procs, pids, *extra, env=None):
    """Starts the exporter on a free loopback port and waits until it serves."""
    require_build()
    port = free_port()
    argv = [EXPORTER, "--web.listen-address", f"127.0.0.1:{port}"]
    for pid in pids:
        argv += ["--pid", str(pid)]
    p = procs.start(argv + list(extra), env=env)

    def serving():
        if p.poll() is not None:
            raise AssertionError(f"exporter exited {p.returncode}: {p.stderr.read().decode()}")
        try:
            return http_get(port, "/metrics/health", timeout=1)[0] == 200
        except OSError:
            return False

    wait_until(serving, timeout=20, what="the exporter to serve")
    return Exporter(p, port)


def start_loadgen(procs, tmp_path, *args):
    """Starts the load generator waiting for a tracer; returns (proc, truth path)."""
    require_build()
    truth = tmp_path / "truth.json"
    p = procs.start([LOADGEN, "--wait-attach", "20", "--linger", "--truth", truth, *args])
    return p, truth


def wait_truth(proc, truth, timeout=120):
    """The truth file is written once every event has been fired."""
    def done():
        if proc.poll() is not None:
            raise AssertionError(f"loadgen exited {proc.returncode}: {proc.stderr.read().decode()}")
        return truth.exists() and truth.stat().st_size > 0 and truth.read_text().rstrip().endswith("}")
    wait_until(done, timeout=timeout, step=0.05, what="the load generator to finish")
