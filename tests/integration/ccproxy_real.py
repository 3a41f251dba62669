# SPDX-License-Identifier: BSD-2-Clause
"""The real ccproxy for the tests: its venv, the fake upstream, `ccproxy serve` against it,
and a client that sends a known mix and keeps its own tally of what must be counted.

The tally is built from what the client sent and got back, and from the fake upstream's wire
format (usage blocks, where a reset stream stops), never from the proxy or the exporter.
"""
import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from decimal import Decimal
from pathlib import Path

from conftest import BUILD, ROOT, free_port, wait_until

FAKE = ROOT / "tools" / "fake-llm"
sys.path.insert(0, str(FAKE))
from pricing import PRICES  # noqa: E402

DEBIAN_PY = "/usr/bin/python3"
NS = "ccproxy"
ROUTE = "/claude/v1/messages"
SERVICE = "claude_api"
VERSION = "0.2.10"
TOKEN_TYPES = ("input", "output", "cache_read", "cache_write")


def venv():
    """The venv with ccproxy-api 0.2.10 and our package (built once, then reused)."""
    out = subprocess.run([ROOT / "scripts" / "ccproxy-venv.sh", BUILD / "ccproxy-venv"],
                         cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True)
    return Path(out.stdout.strip()).resolve()


def wait_http(url, proc, what, timeout=60):
    def up():
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited {proc.returncode}: "
                                 f"{proc.stderr.read().decode()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return True
        except OSError:
            return False

    wait_until(up, timeout=timeout, what=what)


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def start_upstream(procs):
    port = free_port()
    p = procs.start([DEBIAN_PY, FAKE / "fake_upstream.py", "--port", port])
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/health", p, "the fake upstream")
    return url


def children(pid):
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d.name))
            except (OSError, IndexError, ValueError):
                pass
    return out


def has_probes(pid):
    try:
        return "ccproxy_usdt/_usdt" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


class Proxy:
    def __init__(self, proc, url, pids, home):
        self.proc, self.url, self.pids, self.home = proc, url, pids, home


def start_ccproxy(procs, env_dir, upstream, workdir, plugins=("metrics", "usdt_metrics"),
                  workers=1, settings=None, providers=()):
    """`ccproxy serve` from the venv with the given plugins and PLUGINS__* settings (and
    the providers beyond claude_api asked for: codex, copilot); returns a Proxy whose pids
    are the processes that serve requests (the server itself, or its uvicorn workers)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    py = env_dir / "bin" / "python3"
    args = [py, FAKE / "ccproxy_home.py", workdir, "--port", str(port), "--upstream", upstream,
            "--workers", str(workers)]
    for name in plugins:
        args += ["--plugin", name]
    for name in providers:
        args += ["--provider", name]
    subprocess.run(args, check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "PLUGINS__"))}
    env["HOME"] = str(workdir / "home")
    env.update(settings or {})
    p = procs.start([env_dir / "bin" / "ccproxy", "serve", "-c", workdir / "ccproxy.toml"],
                    env=env, cwd=workdir, stdout=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/health", p, "ccproxy")
    if workers == 1:
        pids = [p.pid]
    else:
        pids = wait_until(lambda: (lambda c: c if len(c) >= workers else None)(
            [c for c in children(p.pid) if has_probes(c)]), timeout=60,
            what=f"{workers} ccproxy workers")
    return Proxy(p, url, sorted(pids), workdir / "home")


def nusd(model, usage):
    """A request's cost in nano-USD as ccproxy's pricing computes it from LiteLLM's per-token
    prices (Decimal per million tokens), then as the plugin rounds it; None: no price."""
    prices = PRICES.get(model)
    if prices is None:
        return None
    total = Decimal("0")
    for per_million, n in zip(prices, usage):
        if n > 0:
            per_token = per_million / 1e6
            total += Decimal(str(per_token * 1_000_000)) * n / Decimal("1000000")
    return int(round(float(total) * 1e9))


class Tally:
    """What the exporter must show, built request by request as the client sends them."""

    def __init__(self):
        self.requests = Counter()  # (model, status) -> n
        self.durations = Counter()  # model -> n
        self.tokens = Counter()  # (model, type) -> n
        self.cost = Counter()  # model -> nano-USD
        self.errors = Counter()  # (model, error_type) -> n
        self.provider = Counter()  # (model, the upstream's status) -> n

    def completed(self, model, status, usage=None):
        """A request the client got `status` for, which is what the upstream answered."""
        self.requests[(model, str(status))] += 1
        self.provider[(model, str(status))] += 1
        self.durations[model] += 1
        if usage:
            for t, n in zip(TOKEN_TYPES, usage):
                if n > 0:
                    self.tokens[(model, t)] += n
            c = nusd(model, usage)
            if c:
                self.cost[model] += c

    def failed(self, model, error_type, upstream_status):
        self.requests[(model, "error")] += 1
        self.errors[(model, error_type)] += 1
        self.provider[(model, str(upstream_status))] += 1

    def __iadd__(self, other):
        for a in ("requests", "durations", "tokens", "cost", "errors", "provider"):
            getattr(self, a).update(getattr(other, a))
        return self

    def samples(self):
        """{(family, frozenset(labels)): value} of every series the tally implies."""
        out = {}
        for (model, status), n in self.requests.items():
            out[(f"{NS}_requests_total", frozenset({
                "endpoint": ROUTE, "method": "POST", "model": model, "service_type": SERVICE,
                "status": status}.items()))] = n
        for model, n in self.durations.items():
            out[(f"{NS}_response_duration_seconds_count", frozenset({
                "endpoint": ROUTE, "model": model, "service_type": SERVICE}.items()))] = n
        for (model, t), n in self.tokens.items():
            out[(f"{NS}_tokens_total", frozenset({
                "model": model, "service_type": SERVICE, "type": t}.items()))] = n
        for (model, et), n in self.errors.items():
            out[(f"{NS}_errors_total", frozenset({
                "endpoint": ROUTE, "error_type": et, "model": model,
                "service_type": SERVICE}.items()))] = n
        for (model, status), n in self.provider.items():
            out[(f"{NS}_provider_responses_total", frozenset({
                "model": model, "service_type": SERVICE, "status": status}.items()))] = n
        for model, n in self.cost.items():
            out[(f"{NS}_cost_usd_total", frozenset({
                "cost_type": "total", "model": model, "service_type": SERVICE}.items()))] = \
                n / 1e9
        return out


MODELS = ("claude-sonnet-4-20250514", "claude-3-5-haiku-20241022", "no-price-model")


def mix_jobs(rounds=1, base=0):
    """The known mix: (kind, model, stream, directive, usage) per request."""
    jobs = []
    n = base
    for _ in range(rounds):
        for model in MODELS:
            for stream in (False, True):
                n += 1
                usage = (100 + n, 20 + n, 7 * n, 3 * n)
                jobs.append(("ok", model, stream,
                             f"usage={','.join(map(str, usage))} latency_ms={5 * (n % 7)} "
                             "chunks=4", usage))
            for status in (500, 429, 529):
                jobs.append(("status", model, status % 2 == 1, f"status={status}", None))
            n += 1
            usage = (100 + n, 20 + n, 7 * n, 3 * n)
            jobs.append(("reset", model, True,
                         f"usage={','.join(map(str, usage))} fail=reset chunks=6", usage))
            jobs.append(("hangup", model, True, "chunks=30 chunk_delay_ms=100", None))
    return jobs


def _body(model, stream, directive, n):
    text = f"request {n}: say hello [fake {directive}]"
    return {"model": model, "max_tokens": 64, "stream": stream,
            "messages": [{"role": "user", "content": text}]}


async def _send(url, jobs, concurrency):
    import httpx

    tally = Tally()

    async def one(client, n, kind, model, stream, directive, usage):
        body = _body(model, stream, directive, n)
        if kind == "hangup":
            async with client.stream("POST", url + ROUTE, json=body) as resp:
                async for _ in resp.aiter_raw():
                    break  # leave after the first chunk: the proxy sees a disconnect
            # ccproxy 0.2.10 passes no exception; the upstream had answered 200.
            tally.failed(model, "unknown", 200)
            return
        if stream:
            async with client.stream("POST", url + ROUTE, json=body) as resp:
                async for _ in resp.aiter_raw():
                    pass
                status = resp.status_code
        else:
            status = (await client.post(url + ROUTE, json=body)).status_code
        if kind == "status":
            assert status == int(directive.split("=")[1]), (n, kind, status)
            tally.completed(model, status)
        elif kind == "reset":
            # The stream had begun: the client gets 200, message_start's usage (output 1)
            # and an error event instead of the rest.
            assert status == 200, (n, kind, status)
            tally.completed(model, status, (usage[0], 1, usage[2], usage[3]))
        else:
            assert status == 200, (n, kind, status)
            tally.completed(model, status, usage)

    sem = asyncio.Semaphore(concurrency)

    async def guarded(client, n, job):
        async with sem:
            await one(client, n, *job)

    async with httpx.AsyncClient(timeout=60) as client:
        await asyncio.gather(*(guarded(client, n, j) for n, j in enumerate(jobs)))
    return tally


def send_mix(url, rounds=1, base=0, concurrency=6):
    """Sends the mix; returns its Tally."""
    return asyncio.run(_send(url, mix_jobs(rounds, base), concurrency))


def mismatches(got, tally, families=None):
    """Samples of the tally that `got` (a parsed exposition) lacks or has otherwise, and the
    series of those families that `got` has and the tally does not."""
    want = tally.samples()
    families = families or {k[0] for k in want}
    bad = []
    for key, value in want.items():
        v = got.get(key)
        if v is None or abs(v - value) > 1e-12 * max(1.0, abs(value)):
            bad.append(f"{key[0]}{dict(key[1])}: want {value}, got {v}")
    for key, value in got.items():
        if key[0] in families and key not in want and dict(key[1]).get("endpoint", ROUTE) \
                == ROUTE:
            bad.append(f"unexpected {key[0]}{dict(key[1])} = {value}")
    return bad


def settle(read, tally, timeout=20, families=None):
    """Client disconnects reach the proxy asynchronously: poll until the reading matches."""
    deadline = time.monotonic() + timeout
    while True:
        bad = mismatches(read(), tally, families)
        if not bad or time.monotonic() > deadline:
            return bad
        time.sleep(0.25)
