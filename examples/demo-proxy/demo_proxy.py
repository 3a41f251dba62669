# SPDX-License-Identifier: BSD-2-Clause
"""Demo LLM proxy: forwards Anthropic POST /v1/messages (service_type "claude_api") and OpenAI
POST /v1/chat/completions ("codex") to an upstream, raising ccproxy's hook events at the points
ccproxy raises them, through ccproxy_usdt's UsdtMetricsHook, so ccproxy_exporter can count
its traffic from outside the process.

Events per request: request.started -> provider.request.sent -> provider.response.received ->
[provider.stream.start -> provider.stream.chunk* -> provider.stream.end] -> request.completed;
an upstream exception raises provider.error then request.failed; a client that goes away
mid-stream raises request.failed (error ClientDisconnected).

The upstream clients come from a small pool of httpx.AsyncClient, reported through the pool_*
probes (acquire with wait time, release, create, close, failed health check, gauges).

Configuration by environment (uvicorn workers are spawned processes that re-import this
module): DEMO_UPSTREAM (http://127.0.0.1:18081), DEMO_POOL_SIZE (4), DEMO_PID_DIR (each
worker writes proxy-<pid>.pid there once ready), DEMO_VERSION (announced by the info probe),
DEMO_HEALTH_INTERVAL (s, 2), DEMO_IMPORT_DELAY (s, 0: wait before importing ccproxy_usdt).

Run: PYTHONPATH=build/python python3 demo_proxy.py --port 18080 [--workers 2]
"""
import argparse
import asyncio
import json
import os
import sys
import time
import uuid

import anyio
import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# Tests start a tracer before the extension is mapped: DEMO_IMPORT_DELAY (s) holds the import.
time.sleep(float(os.environ.get("DEMO_IMPORT_DELAY", "0")))
from ccproxy_usdt.ccproxy_plugin import PoolProbes, UsdtMetricsHook  # noqa: E402
from pricing import cost_usd  # noqa: E402

UPSTREAM = os.environ.get("DEMO_UPSTREAM", "http://127.0.0.1:18081")
POOL_SIZE = int(os.environ.get("DEMO_POOL_SIZE", "4"))
PID_DIR = os.environ.get("DEMO_PID_DIR", "")
VERSION = os.environ.get("DEMO_VERSION", "0.2.10-demo")
HEALTH_INTERVAL = float(os.environ.get("DEMO_HEALTH_INTERVAL", "2"))

ROUTES = {"/v1/messages": "claude_api", "/v1/chat/completions": "codex"}


class ClientDisconnected(Exception):
    """The client closed its connection before the response was complete."""


class HookContext:
    """The context ccproxy passes to hooks (same fields)."""

    __slots__ = ("event", "timestamp", "data", "metadata", "request", "response", "provider",
                 "plugin", "error")

    def __init__(self, event, data=None, metadata=None, request=None, response=None,
                 provider=None, error=None):
        self.event = event
        self.timestamp = time.time()
        self.data = data or {}
        self.metadata = metadata or {}
        self.request = request
        self.response = response
        self.provider = provider
        self.plugin = None
        self.error = error


class HookManager:
    """Calls every hook subscribed to an event, as ccproxy's HookManager does."""

    def __init__(self, hooks):
        self.hooks = hooks

    async def emit(self, event, **kw):
        ctx = HookContext(event, **kw)
        for h in self.hooks:
            if event in h.events:
                await h(ctx)

    def emit_sync(self, event, **kw):
        """For code that cannot await (an async generator being closed)."""
        ctx = HookContext(event, **kw)
        for h in self.hooks:
            if event in h.events:
                h.handle(ctx)


class ClientPool:
    """A fixed set of httpx.AsyncClient; a request borrows one for its whole upstream call."""

    def __init__(self, size, base_url, probes):
        self.size = size
        self.base_url = base_url
        self.probes = probes
        self.free = asyncio.Queue()
        self.clients = []

    def _new_client(self):
        c = httpx.AsyncClient(base_url=self.base_url, timeout=httpx.Timeout(30.0, connect=5.0),
                              limits=httpx.Limits(max_connections=32))
        self.probes.connection_created()
        return c

    def _gauges(self):
        free = self.free.qsize()
        self.probes.set_gauges(self.size, free, self.size - free)

    def start(self):
        for _ in range(self.size):
            c = self._new_client()
            self.clients.append(c)
            self.free.put_nowait(c)
        self._gauges()

    async def acquire(self):
        t0 = time.monotonic_ns()
        c = await self.free.get()
        self.probes.acquired_ns(time.monotonic_ns() - t0)
        self._gauges()
        return c

    def release(self, c):
        self.free.put_nowait(c)
        self.probes.released()
        self._gauges()

    async def health_check(self):
        """Probe the upstream with one idle client; replace it when it fails."""
        if self.free.empty():
            return
        c = self.free.get_nowait()
        try:
            r = await c.get("/health", timeout=2.0)
            ok = r.status_code == 200
        except httpx.HTTPError:
            ok = False
        if not ok:
            self.probes.health_check_failed()
            await c.aclose()
            self.probes.connection_closed()
            self.clients.remove(c)
            c = self._new_client()
            self.clients.append(c)
        self.free.put_nowait(c)

    async def close(self):
        for c in self.clients:
            await c.aclose()
            self.probes.connection_closed()
        self.clients = []


hook = UsdtMetricsHook(version=VERSION)
hook.pool = PoolProbes()
hooks = HookManager([hook])
pool = ClientPool(POOL_SIZE, UPSTREAM, hook.pool)
app = FastAPI(title="ccproxy demo proxy")
_background = []


async def _every(seconds, fn):
    while True:
        await asyncio.sleep(seconds)
        try:
            r = fn()
            if asyncio.iscoroutine(r):
                await r
        except Exception as e:  # keep the demo running; say what broke
            print(f"demo-proxy: periodic task failed: {e!r}", file=sys.stderr)


@app.on_event("startup")
async def _startup():
    pool.start()
    hook.announce()
    # info and pool gauges are states: re-fire them for exporters attached since.
    _background.append(asyncio.create_task(_every(1.0, hook.announce)))
    _background.append(asyncio.create_task(_every(HEALTH_INTERVAL, pool.health_check)))
    if PID_DIR:
        path = os.path.join(PID_DIR, f"proxy-{os.getpid()}.pid")
        with open(path + ".tmp", "w") as f:
            f.write(f"{os.getpid()}\n")
        os.replace(path + ".tmp", path)


@app.on_event("shutdown")
async def _shutdown():
    for t in _background:
        t.cancel()
    await pool.close()
    if PID_DIR:
        try:
            os.unlink(os.path.join(PID_DIR, f"proxy-{os.getpid()}.pid"))
        except OSError:
            pass


@app.get("/health")
async def health():
    return {"status": "ok", "pid": os.getpid()}


def _usage_from(api, u):
    """(input, output, cache_read, cache_write) from an upstream usage block."""
    if not u:
        return None
    if api == "codex":
        cached = int((u.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
        return (int(u.get("prompt_tokens") or 0) - cached, int(u.get("completion_tokens") or 0),
                cached, 0)
    return (int(u.get("input_tokens") or 0), int(u.get("output_tokens") or 0),
            int(u.get("cache_read_input_tokens") or 0),
            int(u.get("cache_creation_input_tokens") or 0))


def _usage_dict(model, t):
    """ccproxy's usage names, plus cost_usd and model as in provider.stream.end."""
    d = {"input_tokens": t[0], "output_tokens": t[1], "cache_read_input_tokens": t[2],
         "cache_creation_input_tokens": t[3], "model": model}
    c = cost_usd(model, *t)
    if c is not None:
        d["cost_usd"] = c
    return d


class SseUsage:
    """Collects usage from an SSE stream (Anthropic message_start/message_delta, OpenAI's
    final chunk) as chunks pass through."""

    def __init__(self, api):
        self.api = api
        self.buf = b""
        self.u = {}

    def feed(self, chunk):
        self.buf += chunk
        *lines, self.buf = self.buf.split(b"\n")
        for line in lines:
            if not line.startswith(b"data: ") or line == b"data: [DONE]":
                continue
            try:
                ev = json.loads(line[6:])
            except ValueError:
                continue
            if self.api == "codex":
                if ev.get("usage"):
                    self.u = ev["usage"]
            elif ev.get("type") == "message_start":
                self.u.update(ev["message"].get("usage") or {})
            elif ev.get("type") == "message_delta":
                self.u.update(ev.get("usage") or {})

    def usage(self):
        return _usage_from(self.api, self.u)


async def _proxy(request: Request):
    t0 = time.monotonic()
    path = request.url.path
    service = ROUTES[path]
    raw = await request.body()
    try:
        body = json.loads(raw)
    except ValueError:
        body = {}
    model = str(body.get("model") or "")
    streaming = bool(body.get("stream"))
    rid = request.headers.get("x-request-id") or uuid.uuid4().hex
    base = {"request_id": rid, "method": request.method, "endpoint": path, "model": model,
            "service_type": service}
    pmeta = {"request_id": rid}
    await hooks.emit("request.started", data=dict(base), request=request)

    client = await pool.acquire()
    released = False
    try:
        fwd = {k: v for k, v in request.headers.items() if k.lower().startswith(("x-fake-",
               "anthropic-", "authorization", "x-api-key", "content-type"))}
        up = client.build_request("POST", path, content=raw, headers=fwd)
        await hooks.emit("provider.request.sent", data={"model": model}, metadata=pmeta,
                         provider=service)
        try:
            resp = await client.send(up, stream=True)
        except httpx.HTTPError as e:
            return await _failed(base, pmeta, service, model, path, e)
        await hooks.emit("provider.response.received", data={"status_code": resp.status_code},
                         metadata=pmeta, provider=service)
        if streaming and resp.status_code == 200:
            released = True  # the stream releases the client when it ends
            return StreamingResponse(
                _stream(resp, client, base, pmeta, service, model, t0),
                status_code=200, media_type=resp.headers.get("content-type"))
        try:
            content = await resp.aread()
        except httpx.HTTPError as e:
            return await _failed(base, pmeta, service, model, path, e)
        finally:
            await resp.aclose()
        done = dict(base, status_code=resp.status_code, duration=time.monotonic() - t0)
        if resp.status_code == 200:
            try:
                t = _usage_from(service, json.loads(content).get("usage"))
            except ValueError:
                t = None
            if t:
                u = _usage_dict(model, t)
                done["usage"] = u
                if "cost_usd" in u:
                    done["cost_usd"] = u["cost_usd"]
        await hooks.emit("request.completed", data=done)
        return Response(content, status_code=resp.status_code,
                        media_type=resp.headers.get("content-type"))
    finally:
        if not released:
            pool.release(client)


async def _failed(base, pmeta, service, model, path, err):
    await hooks.emit("provider.error", data={"model": model, "endpoint": path},
                     metadata=pmeta, provider=service, error=err)
    await hooks.emit("request.failed", data=dict(base), error=err)
    return JSONResponse({"error": {"type": "upstream_error", "message": type(err).__name__}},
                        status_code=502)


async def _stream(resp, client, base, pmeta, service, model, t0):
    sse = SseUsage(service)
    finished = False
    await hooks.emit("provider.stream.start", data={"model": model}, metadata=pmeta,
                     provider=service)
    try:
        async for chunk in resp.aiter_raw():
            sse.feed(chunk)
            await hooks.emit("provider.stream.chunk", data={"chunk_size": len(chunk)},
                             metadata=pmeta, provider=service)
            yield chunk
        t = sse.usage()
        end = {"request_id": base["request_id"], "model": model}
        if t:
            end["usage_metrics"] = _usage_dict(model, t)
        await hooks.emit("provider.stream.end", data=end, metadata=pmeta, provider=service)
        await hooks.emit("request.completed", data=dict(
            base, status_code=200, streaming=True, duration=time.monotonic() - t0))
        finished = True
    except httpx.HTTPError as e:
        finished = True
        await hooks.emit("provider.error", data={"model": model, "endpoint": base["endpoint"]},
                         metadata=pmeta, provider=service, error=e)
        await hooks.emit("request.failed", data=dict(base), error=e)
    finally:
        if not finished:
            # Cancelled (client gone) or closed by the server: no awaiting hooks here.
            hooks.emit_sync("request.failed", data=dict(base), error=ClientDisconnected())
        with anyio.CancelScope(shield=True):
            await resp.aclose()
        pool.release(client)


for _path in ROUTES:
    app.add_api_route(_path, _proxy, methods=["POST"])


def main():
    global UPSTREAM, POOL_SIZE, PID_DIR, pool
    import uvicorn

    ap = argparse.ArgumentParser(description="ccproxy demo proxy")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=18080)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--upstream", default=UPSTREAM)
    ap.add_argument("--pool-size", type=int, default=POOL_SIZE)
    ap.add_argument("--pid-dir", default=PID_DIR)
    a = ap.parse_args()
    os.environ.update(DEMO_UPSTREAM=a.upstream, DEMO_POOL_SIZE=str(a.pool_size),
                      DEMO_PID_DIR=a.pid_dir)
    # Workers are spawned and re-import the module: they find it (and ccproxy_usdt) by path.
    here = os.path.dirname(os.path.abspath(__file__))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [here] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    if a.workers > 1:
        uvicorn.run("demo_proxy:app", host=a.host, port=a.port, workers=a.workers,
                    log_level="warning", access_log=False)
    else:
        UPSTREAM, POOL_SIZE, PID_DIR = a.upstream, a.pool_size, a.pid_dir
        pool = ClientPool(POOL_SIZE, UPSTREAM, hook.pool)
        uvicorn.run(app, host=a.host, port=a.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
