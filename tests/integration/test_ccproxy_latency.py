# SPDX-License-Identifier: BSD-2-Clause
"""Where the time goes, inside the real ccproxy (0.2.10): time to first token, provider and
proxy time, time per output token, stream chunks and bytes, the provider's statuses, on
ccproxy's Anthropic route and on its OpenAI-style ones.

The fake upstream is told how long to wait before its headers and before its first event and
between events; the client counts the events and bytes it receives. Counts, statuses, chunks
and bytes must be exact; times must respect the waits the upstream was told to make, and no
provider time may exceed its request's duration.

The OpenAI-style routes (docs/ccproxy.md): claude_api's /claude/v1/chat/completions, which
ccproxy converts to Anthropic Messages for the same upstream as its Anthropic route; the
codex provider's /codex/v1/responses and /codex/v1/chat/completions, which ccproxy sends to
the OpenAI Responses API (UPSTREAM/v1/responses), always streamed: it buffers the stream into
a plain answer when the client asked for none; and the copilot provider's
/copilot/v1/chat/completions, passed to OpenAI Chat Completions (UPSTREAM/v1/chat/completions).
"""
import asyncio
import json
import subprocess
from dataclasses import dataclass

import pytest
from ccproxy_real import NS, ROUTE, SERVICE, get_json, start_ccproxy, start_upstream, venv
from conftest import http_get, require_root, start_exporter, wait_until
from test_ccproxy_e2e import read, wait_attached
from truth import parse_exposition

MODEL = "claude-3-5-haiku-20241022"

# Streams: headers after HEADERS_S, the first event FIRST_S later, then CHUNKS deltas each
# after CHUNK_S, and OUTPUT tokens: the first token comes >= HEADERS_S + FIRST_S after the
# request reached the upstream, the stream ends >= CHUNKS * CHUNK_S after its first event.
HEADERS_S, FIRST_S, CHUNKS, CHUNK_S, OUTPUT = 0.15, 0.15, 4, 0.05, 5
STREAM = (f"usage=10,{OUTPUT},0,0 latency_ms={HEADERS_S * 1000:g} "
          f"first_chunk_ms={FIRST_S * 1000:g} chunks={CHUNKS} chunk_delay_ms={CHUNK_S * 1000:g}")
PLAIN_S = 0.2
PLAIN = f"usage=10,{OUTPUT},0,0 latency_ms={PLAIN_S * 1000:g}"
# (stream, directive, HTTP status the client must get)
JOBS = [(True, STREAM, 200)] * 3 + [(False, PLAIN, 200)] * 2 + [
    (False, "status=429", 429), (True, "status=429", 429), (False, "status=529", 529),
    (True, "status=500", 500)]
STREAMS = sum(1 for s, _, st in JOBS if s and st == 200)
PLAINS = sum(1 for s, _, st in JOBS if not s and st == 200)


def _messages(model, stream, text):
    """Anthropic Messages and OpenAI Chat Completions: the same minimal body."""
    return {"model": model, "max_tokens": 64, "stream": stream,
            "messages": [{"role": "user", "content": text}]}


def _responses(model, stream, text):
    return {"model": model, "stream": stream, "input": [
        {"role": "user", "content": [{"type": "input_text", "text": text}]}]}


@dataclass(frozen=True)
class Route:
    path: str
    body: object  # (client model, stream, text) -> JSON body
    client_model: str  # what the client asks for
    model: str  # what ccproxy sends upstream: the model label
    service: str  # the provider plugin: the service_type label
    # Chunk delays before the client's first event: 0 where it answers the upstream's opening
    # event (passed on, or message_start converted to a chunk with the role), 1 where it is
    # the first text delta (codex's converted chunks; a Chat Completions upstream's stream,
    # which opens with its first delta).
    lead: int = 0

    @property
    def labels(self):
        return {"model": self.model, "service_type": self.service}


ANTHROPIC = Route(ROUTE, _messages, MODEL, MODEL, SERVICE)
# One model per route, so that each route has series of its own. codex maps "gpt-*" to its
# default model ("gpt-5.3-codex") and passes other names on as they are.
OPENAI = (
    Route("/claude/v1/chat/completions", _messages, "claude-sonnet-4-20250514",
          "claude-sonnet-4-20250514", SERVICE),
    Route("/codex/v1/responses", _responses, "codex-mini-latest", "codex-mini-latest",
          "codex"),
    Route("/codex/v1/chat/completions", _messages, "gpt-5", "gpt-5.3-codex", "codex", lead=1),
    Route("/copilot/v1/chat/completions", _messages, "gpt-4o", "gpt-4o", "copilot", lead=1),
)


def g(route, name, **labels):
    return (f"{NS}_{name}", frozenset(dict(route.labels, **labels).items()))


async def _send(url, routes):
    """Sends JOBS on every route at once; returns {route: [(stream, status, body bytes,
    SSE events, seconds)]}."""
    import httpx

    async def one(client, route, n, stream, directive):
        body = route.body(route.client_model, stream, f"{n}: hi [fake {directive}]")
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        async with client.stream("POST", url + route.path, json=body) as resp:
            raw = b"".join([c async for c in resp.aiter_raw()])
        return stream, resp.status_code, raw, raw.count(b"\n\n"), loop.time() - t0

    async with httpx.AsyncClient(timeout=60) as client:
        sent = await asyncio.gather(*(one(client, r, n, s, d) for r in routes
                                      for n, (s, d, _) in enumerate(JOBS)))
    return {r: sent[i * len(JOBS):(i + 1) * len(JOBS)] for i, r in enumerate(routes)}


def _through(procs, env, tmp_path, routes, **proxy):
    """A proxy and its exporter; JOBS sent on every route, each completed. Returns (proxy,
    what each route's client got, the exporter's reading)."""
    upstream = start_upstream(procs)
    proxy = start_ccproxy(procs, env, upstream, tmp_path / "p", **proxy)
    exporter = start_exporter(procs, proxy.pids)
    wait_attached(exporter)
    sent = asyncio.run(_send(proxy.url, routes))
    for r in routes:
        assert [s[1] for s in sent[r]] == [st for _, _, st in JOBS], r.path
    wait_until(lambda: all(read(exporter).get(g(r, "response_duration_seconds_count",
                                                 endpoint=r.path)) == len(JOBS)
                           for r in routes), timeout=20, what="every request completed")
    return proxy, sent, read(exporter)


def _check_anatomy(got, route, sent):
    """The latency families of one route's JOBS, under that route's model and provider."""
    streams = [s for s in sent if s[0] and s[1] == 200]

    # The provider's own statuses, the error answers to streamed requests included.
    statuses = {dict(k[1])["status"]: v for k, v in got.items()
                if k[0] == f"{NS}_provider_responses_total" and
                k[1] >= frozenset(route.labels.items())}
    assert statuses == {"200": STREAMS + PLAINS, "429": 2, "529": 1, "500": 1}

    # One chunk per SSE event ccproxy passes on, and its bytes: what the client received.
    # An error answer to a streamed request is no stream (docs/ccproxy.md), and neither is
    # the stream codex buffers into a plain answer.
    assert got[g(route, "stream_chunks_total")] == sum(s[3] for s in streams) > STREAMS * CHUNKS
    assert got[g(route, "stream_bytes_total")] == sum(len(s[2]) for s in streams)

    # Time to first token: streams only, each after both waits of the upstream (and the
    # first delta's, where that is the first chunk), and before the client had the whole
    # stream.
    first = HEADERS_S + FIRST_S + route.lead * CHUNK_S
    assert got[g(route, "time_to_first_token_seconds_count")] == STREAMS
    assert got[g(route, "time_to_first_token_seconds_bucket", le="0.25")] == 0
    ttft = got[g(route, "time_to_first_token_seconds_sum")]
    assert STREAMS * first <= ttft < sum(s[4] for s in streams)

    # Provider time: every request that reached the upstream. No provider time exceeds its
    # request's duration: then provider + overhead is the duration, request by request.
    n = len(JOBS)
    provider = got[g(route, "provider_duration_seconds_sum")]
    overhead = got[g(route, "proxy_overhead_seconds_sum")]
    duration = got[g(route, "response_duration_seconds_sum", endpoint=route.path)]
    assert got[g(route, "provider_duration_seconds_count")] == n
    assert got[g(route, "proxy_overhead_seconds_count")] == n
    assert provider >= STREAMS * (HEADERS_S + FIRST_S + CHUNKS * CHUNK_S) + PLAINS * PLAIN_S
    assert provider + overhead == pytest.approx(duration, rel=1e-9, abs=1e-6)
    assert 0 < overhead < duration

    # Time per output token: (end - first chunk) / (OUTPUT - 1) for the streams.
    assert got[g(route, "time_per_output_token_seconds_count")] == STREAMS
    tpot = got[g(route, "time_per_output_token_seconds_sum")]
    assert STREAMS * (CHUNKS - route.lead) * CHUNK_S / (OUTPUT - 1) <= tpot
    assert tpot * (OUTPUT - 1) <= provider

    # The request families name the same model and provider for the route's requests.
    requests = {dict(k[1])["status"]: v for k, v in got.items()
                if k[0] == f"{NS}_requests_total" and dict(k[1])["endpoint"] == route.path}
    assert requests == {"200": STREAMS + PLAINS, "429": 2, "529": 1, "500": 1}
    assert sum(got.get(g(route, "requests_total", endpoint=route.path, method="POST",
                         status=st), 0) for st in requests) == n


def _check_probes(got, proxy, routes):
    """Each provider probe fired for its request, and only where it should, at the moment
    ccproxy emitted its event (ccproxy_usdt.inline), each exactly once."""
    n = len(JOBS) * len(routes)
    hits = {dict(k[1])["probe"]: v for k, v in got.items()
            if k[0] == "ccproxy_exporter_probe_hits_total"}
    assert hits["provider_request_sent"] == hits["provider_response_received"] == n
    assert hits["provider_stream_start"] == hits["provider_stream_end"] == \
        STREAMS * len(routes)
    assert hits["provider_stream_chunk"] == sum(got[g(r, "stream_chunks_total")]
                                                for r in routes)
    health = get_json(proxy.url + "/plugins/usdt_metrics/health")
    details = health["details"]["health_check"]["details"]
    assert details["inline_hooks"] is True and details["probes_dropped"] == 0


@pytest.fixture(scope="module")
def env():
    require_root()
    return venv()


def test_latency_anatomy_of_real_requests(procs, env, tmp_path):
    proxy, sent, got = _through(procs, env, tmp_path, [ANTHROPIC], plugins=("usdt_metrics",))
    _check_anatomy(got, ANTHROPIC, sent[ANTHROPIC])
    _check_probes(got, proxy, [ANTHROPIC])


def test_latency_anatomy_on_openai_routes(procs, env, tmp_path):
    """The same anatomy on the OpenAI-style routes. codex emits no provider.request.prepared
    and names no provider in its stream events: the plugin takes the provider request from
    the upstream HTTP client's event and the provider from the route (docs/ccproxy.md)."""
    proxy, sent, got = _through(procs, env, tmp_path, OPENAI, providers=("codex", "copilot"),
                                plugins=("metrics", "usdt_metrics"))
    for route in OPENAI:
        _check_anatomy(got, route, sent[route])
    _check_probes(got, proxy, OPENAI)

    # ccproxy's own metrics plugin, in the same proxy, counts the same requests on each
    # route, and names no model or provider for any of them ("unknown": 0.2.10 gives its
    # request events neither); ours are the model sent upstream and the provider plugin.
    status, _, body = http_get(int(proxy.url.rsplit(":", 1)[1]), "/metrics")
    assert status == 200
    theirs = parse_exposition(body.decode())
    for route in OPENAI:
        labels = [dict(k[1]) for k in theirs if k[0] == f"{NS}_requests_total" and
                  dict(k[1])["endpoint"] == proxy.url + route.path]
        assert {(x["model"], x["service_type"]) for x in labels} == {("unknown", "unknown")}
        assert sum(theirs[(f"{NS}_requests_total", frozenset(x.items()))]
                   for x in labels) == len(JOBS)


# A Responses WebSocket client, run by the venv's interpreter (ccproxy depends on websockets):
# one response.create, then the events until the response ends; prints their types.
_WS_CLIENT = r'''
import asyncio, json, sys
from websockets.asyncio.client import connect

async def main(url, model, text):
    async with connect(url) as ws:
        await ws.send(json.dumps({"type": "response.create", "model": model, "input": [
            {"role": "user", "content": [{"type": "input_text", "text": text}]}]}))
        types = []
        while not types or types[-1] not in ("response.completed", "response.failed"):
            types.append(json.loads(await ws.recv()).get("type"))
    print(json.dumps(types))

asyncio.run(main(*sys.argv[1:]))
'''


def test_codex_websocket_route_is_not_measured(procs, env, tmp_path):
    """ccproxy 0.2.10 serves the Responses API over a WebSocket too (/codex/v1/responses):
    that route runs outside ccproxy's HTTP middlewares and hands the upstream stream to the
    socket itself. No request event, no provider.* event, no request id: no probe can time
    or count the request. Only the HTTP client's answer event remains, counted under no model
    and no provider (docs/ccproxy.md)."""
    upstream = start_upstream(procs)
    proxy = start_ccproxy(procs, env, upstream, tmp_path / "p", providers=("codex",),
                          plugins=("metrics", "usdt_metrics"))
    exporter = start_exporter(procs, proxy.pids)
    wait_attached(exporter)
    before = read(exporter)
    url = proxy.url.replace("http://", "ws://") + "/codex/v1/responses"
    out = subprocess.run([env / "bin" / "python3", "-c", _WS_CLIENT, url, "codex-mini-latest",
                          f"hi [fake {STREAM}]"], capture_output=True, text=True, timeout=30,
                         check=True)
    events = json.loads(out.stdout)
    assert events.count("response.output_text.delta") == CHUNKS
    assert events[-1] == "response.completed"
    assert get_json(upstream + "/stats")["status"] == {"200": 1}

    unknown = (f"{NS}_provider_responses_total", frozenset(
        {"model": "unknown", "service_type": "unknown", "status": "200"}.items()))
    got = wait_until(lambda: (lambda r: r if r.get(unknown) == 1 else None)(read(exporter)),
                     timeout=10, what="the upstream's answer counted")

    def hits(reading, probe):
        return reading.get(("ccproxy_exporter_probe_hits_total",
                            frozenset({"probe": probe}.items())), 0)

    for probe in ("request_start", "request_complete", "request_fail", "provider_request_sent",
                  "provider_stream_start", "provider_stream_chunk", "provider_stream_end"):
        assert hits(got, probe) == hits(before, probe), probe
    received = "provider_response_received"
    assert hits(got, received) == hits(before, received) + 1
    assert not [k for k in got if dict(k[1]).get("endpoint", "").startswith("/codex")]
    assert not [k for k in got if k[0] in (f"{NS}_time_to_first_token_seconds_count",
                                           f"{NS}_provider_duration_seconds_count")]
    # ccproxy's own plugin sees no request either.
    status, _, body = http_get(int(proxy.url.rsplit(":", 1)[1]), "/metrics")
    assert status == 200 and b"/codex/" not in body


def test_codex_streams_the_upstream_drops(procs, env, tmp_path):
    """The upstream drops its stream midway, to a streamed and to a plain request on codex.
    The streamed one: the client has its 200, the events before the drop and ccproxy's error
    event (no chunk); no stream end, so no provider time. The plain one, buffered: ccproxy
    fails it (500 to the client, request.failed, provider.error); the provider's 200 still
    counts, at the provider.error (docs/ccproxy.md)."""
    import httpx

    route = OPENAI[1]
    upstream = start_upstream(procs)
    proxy = start_ccproxy(procs, env, upstream, tmp_path / "p", providers=("codex",),
                          plugins=("usdt_metrics",))
    exporter = start_exporter(procs, proxy.pids)
    wait_attached(exporter)
    got = {}
    for stream in (True, False):
        body = route.body(route.client_model, stream, f"drop [fake {STREAM} fail=reset]")
        with httpx.stream("POST", proxy.url + route.path, json=body, timeout=30) as resp:
            got[stream] = (resp.status_code, b"".join(resp.iter_raw()))
    assert [got[True][0], got[False][0]] == [200, 500]
    streamed = got[True][1]
    error_event = streamed[streamed.rindex(b"data: {\"error\""):]
    assert streamed.endswith(b"\n\n") and b"\n\n" not in error_event[:-2]

    done = g(route, "requests_total", endpoint=route.path, method="POST", status="error")
    reading = wait_until(lambda: (lambda r: r if r.get(done) == 1 else None)(read(exporter)),
                         timeout=20, what="the plain request failed")
    assert reading[g(route, "requests_total", endpoint=route.path, method="POST",
                     status="200")] == 1
    assert reading[g(route, "errors_total", endpoint="/",
                     error_type="provider_RemoteProtocolError")] == 1
    assert reading[g(route, "provider_responses_total", status="200")] == 2
    assert reading[g(route, "stream_chunks_total")] == streamed.count(b"\n\n") - 1
    assert reading[g(route, "stream_bytes_total")] == len(streamed) - len(error_event)
    assert reading[g(route, "time_to_first_token_seconds_count")] == 1
    assert reading[g(route, "time_to_first_token_seconds_sum")] >= HEADERS_S + FIRST_S
    assert reading.get(g(route, "provider_duration_seconds_count"), 0) == 0
    assert reading.get(g(route, "time_per_output_token_seconds_count"), 0) == 0
