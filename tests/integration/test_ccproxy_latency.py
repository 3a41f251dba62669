# SPDX-License-Identifier: BSD-2-Clause
"""Where the time goes, inside the real ccproxy (0.2.10): time to first token, provider and
proxy time, time per output token, stream chunks and bytes, the provider's statuses.

The fake upstream is told how long to wait before its headers and before its first event and
between events; the client counts the events and bytes it receives. Counts, statuses, chunks
and bytes must be exact; times must respect the waits the upstream was told to make, and no
provider time may exceed its request's duration.
"""
import asyncio

import pytest
from ccproxy_real import NS, ROUTE, SERVICE, get_json, start_ccproxy, start_upstream, venv
from conftest import require_root, start_exporter, wait_until
from test_ccproxy_e2e import read, wait_attached

MODEL = "claude-3-5-haiku-20241022"
LABELS = {"model": MODEL, "service_type": SERVICE}

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


def g(name, **labels):
    return (f"{NS}_{name}", frozenset(dict(LABELS, **labels).items()))


async def _send(url):
    """Sends JOBS at once; returns [(stream, status, body bytes, SSE events, seconds)]."""
    import httpx

    async def one(client, n, stream, directive):
        body = {"model": MODEL, "max_tokens": 64, "stream": stream,
                "messages": [{"role": "user", "content": f"{n}: hi [fake {directive}]"}]}
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        async with client.stream("POST", url + ROUTE, json=body) as resp:
            raw = b"".join([c async for c in resp.aiter_raw()])
        return stream, resp.status_code, raw, raw.count(b"\n\n"), loop.time() - t0

    async with httpx.AsyncClient(timeout=60) as client:
        return await asyncio.gather(*(one(client, n, s, d) for n, (s, d, _) in enumerate(JOBS)))


@pytest.fixture(scope="module")
def env():
    require_root()
    return venv()


def test_latency_anatomy_of_real_requests(procs, env, tmp_path):
    upstream = start_upstream(procs)
    proxy = start_ccproxy(procs, env, upstream, tmp_path / "p", plugins=("usdt_metrics",))
    exporter = start_exporter(procs, proxy.pids)
    wait_attached(exporter)
    sent = asyncio.run(_send(proxy.url))
    assert [r[1] for r in sent] == [st for _, _, st in JOBS]
    wait_until(lambda: read(exporter).get(g("response_duration_seconds_count",
                                           endpoint=ROUTE)) == len(JOBS),
               timeout=20, what="every request completed")
    got = read(exporter)
    streams = [r for r in sent if r[0] and r[1] == 200]

    # The provider's own statuses, the error answers to streamed requests included.
    statuses = {dict(k[1])["status"]: v for k, v in got.items()
                if k[0] == f"{NS}_provider_responses_total"}
    assert statuses == {"200": STREAMS + PLAINS, "429": 2, "529": 1, "500": 1}

    # One chunk per SSE event ccproxy passes on, and its bytes: what the client received.
    # An error answer to a streamed request is no stream (docs/ccproxy.md).
    assert got[g("stream_chunks_total")] == sum(r[3] for r in streams) > STREAMS * CHUNKS
    assert got[g("stream_bytes_total")] == sum(len(r[2]) for r in streams)

    # Time to first token: streams only, each after both waits of the upstream, and before
    # the client had the whole stream.
    assert got[g("time_to_first_token_seconds_count")] == STREAMS
    assert got[g("time_to_first_token_seconds_bucket", le="0.25")] == 0
    ttft = got[g("time_to_first_token_seconds_sum")]
    assert STREAMS * (HEADERS_S + FIRST_S) <= ttft < sum(r[4] for r in streams)

    # Provider time: every request that reached the upstream. No provider time exceeds its
    # request's duration: then provider + overhead is the duration, request by request.
    n = len(JOBS)
    provider = got[g("provider_duration_seconds_sum")]
    overhead = got[g("proxy_overhead_seconds_sum")]
    duration = got[g("response_duration_seconds_sum", endpoint=ROUTE)]
    assert got[g("provider_duration_seconds_count")] == n
    assert got[g("proxy_overhead_seconds_count")] == n
    assert provider >= STREAMS * (HEADERS_S + FIRST_S + CHUNKS * CHUNK_S) + PLAINS * PLAIN_S
    assert provider + overhead == pytest.approx(duration, rel=1e-9, abs=1e-6)
    assert 0 < overhead < duration

    # Time per output token: (end - first chunk) / (OUTPUT - 1) for the streams.
    assert got[g("time_per_output_token_seconds_count")] == STREAMS
    tpot = got[g("time_per_output_token_seconds_sum")]
    assert STREAMS * CHUNKS * CHUNK_S / (OUTPUT - 1) <= tpot
    assert tpot * (OUTPUT - 1) <= provider

    # Each provider probe fired for its request, and only where it should.
    hits = {dict(k[1])["probe"]: v for k, v in got.items()
            if k[0] == "ccproxy_exporter_probe_hits_total"}
    assert hits["provider_request_sent"] == hits["provider_response_received"] == n
    assert hits["provider_stream_start"] == hits["provider_stream_end"] == STREAMS
    assert hits["provider_stream_chunk"] == got[g("stream_chunks_total")]
    # ... at the moment ccproxy emitted its event (ccproxy_usdt.inline), each exactly once.
    health = get_json(proxy.url + "/plugins/usdt_metrics/health")
    details = health["details"]["health_check"]["details"]
    assert details["inline_hooks"] is True and details["probes_dropped"] == 0
