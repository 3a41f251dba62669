# SPDX-License-Identifier: BSD-2-Clause
"""`make bench` row 6: the cost of metrics inside the real ccproxy (0.2.10, its pinned venv).

Four cases on the same traffic, rotated within each run: (a) no metrics plugin, (b) ccproxy's
own metrics plugin, (c) our usdt_metrics plugin with nothing attached, (d) ours with
ccproxy_exporter attached by PID. ccproxy runs alone on CPU 0; the fake upstream, the load
client (bench/ccproxy_load.py) and this driver on the other CPUs. Per case: requests/s at a
fixed concurrency and ccproxy's CPU time (utime + stime, all threads) per request, after a
warm-up. Then the cost of one hook call of each plugin (bench/ccproxy_hooks.py).
"""
import json
import os
import subprocess
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FAKE = os.path.join(ROOT, "tools", "fake-llm")
DEBIAN_PY = "/usr/bin/python3"
CASES = (("a", "no metrics plugin", ()),
         ("b", "ccproxy's metrics plugin", ("metrics",)),
         ("c", "usdt_metrics, nothing attached", ("usdt_metrics",)),
         ("d", "usdt_metrics, exporter attached", ("usdt_metrics",)))
TICK = os.sysconf("SC_CLK_TCK")


def _get(url, timeout=2):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def _wait(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Bench:
    def __init__(self, procs, a, exporter):
        self.procs, self.a, self.exporter = procs, a, exporter
        out = subprocess.run([os.path.join(ROOT, "scripts", "ccproxy-venv.sh"),
                              os.path.join(a.output, "ccproxy-venv")], cwd=ROOT, check=True,
                             stdout=subprocess.PIPE, text=True).stdout.strip()
        self.venv = os.path.abspath(os.path.join(ROOT, out) if not os.path.isabs(out) else out)
        self.tmp = tempfile.mkdtemp(prefix="ccproxy-bench-real-")
        self.others = set(range(os.cpu_count() or 1)) - {0} or {0}

    def spawn(self, argv, cpus, **kw):
        p = self.procs.spawn([str(x) for x in argv], **kw)
        os.sched_setaffinity(p.pid, cpus)
        return p

    def upstream(self):
        port = _free_port()
        p = self.spawn([DEBIAN_PY, os.path.join(FAKE, "fake_upstream.py"), "--port", port],
                       self.others)
        url = f"http://127.0.0.1:{port}"
        _wait(lambda: _get(url + "/health"), 30, "the fake upstream")
        return p, url

    def ccproxy(self, name, plugins, upstream):
        work = os.path.join(self.tmp, name)
        os.makedirs(work, exist_ok=True)
        port = _free_port()
        args = [os.path.join(self.venv, "bin", "python3"), os.path.join(FAKE, "ccproxy_home.py"),
                work, "--port", port, "--upstream", upstream]
        for pl in plugins:
            args += ["--plugin", pl]
        subprocess.run([str(x) for x in args], check=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "PLUGINS__"))}
        env["HOME"] = os.path.join(work, "home")
        # One hash seed for every instance: str hashing and dict layout differ per seed, and
        # so does CPU per request, by more than what is measured here.
        env["PYTHONHASHSEED"] = "0"
        p = self.spawn([os.path.join(self.venv, "bin", "ccproxy"), "serve", "-c",
                        os.path.join(work, "ccproxy.toml")], {0}, env=env, cwd=work)
        url = f"http://127.0.0.1:{port}"
        _wait(lambda: _get(url + "/health"), 60, "ccproxy")
        return p, url

    def attach(self, pid):
        port = _free_port()
        p = self.spawn([self.exporter, "--pid", pid, "--web.listen-address",
                        f"127.0.0.1:{port}"], self.others)

        def attached():
            text = _get(f"http://127.0.0.1:{port}/metrics").decode()
            return "ccproxy_exporter_attached_processes 1" in text and \
                'ccproxy_info{metrics_enabled="true"' in text
        _wait(attached, 60, "the exporter to attach")
        return p

    def load(self, url, n):
        out = subprocess.run([DEBIAN_PY, os.path.join(HERE, "ccproxy_load.py"), url, str(n),
                              str(self.a.ccproxy_concurrency)], check=True,
                             stdout=subprocess.PIPE, text=True,
                             preexec_fn=lambda: os.sched_setaffinity(0, self.others))
        r = json.loads(out.stdout)
        if r["ok"] != n:
            raise RuntimeError(f"{n - r['ok']} of {n} bench requests failed: {r['failed']}")
        return r["seconds"]

    def one(self, key, plugins, upstream):
        proxy, url = self.ccproxy(key, plugins, upstream)
        exporter = self.attach(proxy.pid) if key == "d" else None
        try:
            self.load(url, self.a.ccproxy_warmup)
            c0 = _cpu_seconds(proxy.pid)
            seconds = self.load(url, self.a.ccproxy_requests)
            cpu = _cpu_seconds(proxy.pid) - c0
        finally:
            self.procs.stop(exporter)
            self.procs.stop(proxy)
        n = self.a.ccproxy_requests
        return {"rps": n / seconds, "cpu_us": cpu / n * 1e6}

    def hooks(self):
        p = self.spawn([os.path.join(self.venv, "bin", "python3"),
                        os.path.join(HERE, "ccproxy_hooks.py"), self.a.ccproxy_hook_requests],
                       {0}, stdout=subprocess.PIPE, text=True)
        detached = json.loads(p.stdout.readline())
        pid = json.loads(p.stdout.readline())["pid"]
        port = _free_port()
        exporter = self.spawn([self.exporter, "--pid", pid, "--web.listen-address",
                               f"127.0.0.1:{port}"], self.others)
        try:
            attached = json.loads(p.stdout.readline())
        finally:
            self.procs.stop(exporter)
            self.procs.stop(p)
        return {"theirs": detached["theirs"], "theirs_calls": detached["theirs_calls"],
                "ours_detached": detached["ours"], "ours_calls": detached["ours_calls"],
                "ours_attached": attached["ours"]}


def row(procs, a, res, exporter):
    """Fills res["ccproxy"]: {case: [{"rps", "cpu_us"} per run], "hooks": [...]}."""
    b = Bench(procs, a, exporter)
    up, upstream = b.upstream()
    out = {k: [] for k, _, _ in CASES}
    out["hooks"] = []
    try:
        for rep in range(a.ccproxy_reps):
            order = CASES[rep % len(CASES):] + CASES[:rep % len(CASES)]
            for key, _, plugins in order:
                out[key].append(b.one(key, plugins, upstream))
            out["hooks"].append(b.hooks())
    finally:
        procs.stop(up)
    res["ccproxy"] = out


def table(t, r, med, ratio, ns):
    def us(v):
        return f"{v:.0f} µs"

    for key, what, _ in CASES:
        t.add(6, f"ccproxy, ({key}) {what}: requests/s", [x["rps"] for x in r[key]],
              lambda v: f"{v:.1f}")
        t.add(6, f"ccproxy, ({key}) {what}: CPU per request", [x["cpu_us"] for x in r[key]], us)
    base = [x["cpu_us"] for x in r["a"]]
    for key in ("b", "c", "d"):
        rel = [(x["cpu_us"] / b - 1) * 100 for x, b in zip(r[key], base)]
        target = key in ("c", "d")
        t.add(6, f"ccproxy: CPU per request, ({key}) against (a)", rel,
              lambda v: f"{v:+.1f} %", "within 1 %" if target else "",
              abs(med(rel)) <= 1 if target else None)
    h = r["hooks"]
    t.add(6, f"hook call, ccproxy's metrics plugin ({h[0]['theirs_calls']:.0f} calls a "
             "request)", [x["theirs"] for x in h], ns)
    t.add(6, f"hook call, usdt_metrics, nothing attached ({h[0]['ours_calls']:.0f} calls a "
             "request)", [x["ours_detached"] for x in h], ns)
    t.add(6, "hook call, usdt_metrics, exporter attached", [x["ours_attached"] for x in h], ns)
    for what, key in (("nothing attached", "ours_detached"), ("exporter attached",
                                                              "ours_attached")):
        rr = [x["theirs"] / x[key] for x in h]
        t.add(6, f"hook call: ccproxy's plugin / usdt_metrics, {what}", rr, ratio, "≥ 5×",
              med(rr) >= 5)
