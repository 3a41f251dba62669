# SPDX-License-Identifier: BSD-2-Clause
"""UsdtMetricsHook against the HookEvent/HookContext stand-ins and a recording probe module."""
import asyncio

import pytest
from ccproxy_standins import HookContext, HookEvent
from usdt_testlib import Recorder, plugin

E = HookEvent


def ctx(event, **kw):
    return HookContext(event=event, **kw)


def hook_with(rec, **kw):
    return plugin.UsdtMetricsHook(probes=rec, **kw)


def test_events_cover_request_and_provider_events():
    h = hook_with(Recorder(), hook_event=HookEvent)
    assert E.REQUEST_STARTED in h.events and E.PROVIDER_STREAM_END in h.events
    assert all(isinstance(e, HookEvent) for e in h.events)
    assert E.APP_STARTUP not in h.events
    assert hook_with(Recorder()).events == list(plugin.EVENT_NAMES)


def test_request_lifecycle_with_usage(rec):
    h = hook_with(rec)
    data = {"request_id": "abc", "method": "POST",
            "url": "http://127.0.0.1:8000/v1/messages?beta=true", "model": "claude-sonnet-4",
            "service_type": "claude_api"}
    asyncio.run(h(ctx(E.REQUEST_STARTED, data=dict(data))))
    done = dict(data, status_code=200, duration=0.25,
                usage={"input_tokens": 10, "output_tokens": 20,
                       "cache_read_input_tokens": 3, "cache_creation_input_tokens": 4},
                cost_usd=0.000123)
    asyncio.run(h(ctx(E.REQUEST_COMPLETED, data=done)))
    (n1, a1, k1), (n2, a2, k2) = rec.calls
    assert n1 == "request_start" and a1 == ("abc",)
    assert k1 == {"method": "POST", "endpoint": "/v1/messages", "model": "claude-sonnet-4",
                  "service_type": "claude_api"}
    assert n2 == "request_complete" and a2 == ("abc", 200)
    assert k2["duration_ns"] == 250_000_000
    assert (k2["input_tokens"], k2["output_tokens"], k2["cache_read_tokens"],
            k2["cache_write_tokens"]) == (10, 20, 3, 4)
    assert k2["cost_nusd"] == 123_000
    assert k2["endpoint"] == "/v1/messages"


def test_metadata_fallbacks(rec):
    h = hook_with(rec)
    meta = {"request_id": "r1", "model": "gpt-4o", "service_type": "codex",
            "tokens_input": 5, "tokens_output": 6, "cache_read_tokens": 7,
            "cache_write_tokens": 8, "cost_usd": 1.5}
    h.handle(ctx(E.REQUEST_COMPLETED, data={"method": "POST", "endpoint": "/v1/chat"},
                 metadata=meta, response=type("R", (), {"status_code": 201})()))
    name, args, kw = rec.calls[0]
    assert args == ("r1", 201)
    assert kw["model"] == "gpt-4o" and kw["service_type"] == "codex"
    assert (kw["input_tokens"], kw["output_tokens"], kw["cache_read_tokens"],
            kw["cache_write_tokens"], kw["cost_nusd"]) == (5, 6, 7, 8, 1_500_000_000)
    assert kw["duration_ns"] == 0  # the tracer measures it


def test_service_type_falls_back_to_provider(rec):
    hook_with(rec).handle(ctx(E.REQUEST_STARTED, data={"request_id": 7}, provider="copilot"))
    assert rec.calls[0][2]["service_type"] == "copilot"


def test_streamed_usage_reported_once(rec):
    h = hook_with(rec)
    usage = {"input_tokens": 1, "output_tokens": 2, "cache_read_input_tokens": 3,
             "cache_creation_input_tokens": 4, "cost_usd": 0.5, "model": "claude-haiku"}
    h.handle(ctx(E.PROVIDER_STREAM_END, data={"request_id": "s", "usage_metrics": usage},
                 provider="claude_api"))
    h.handle(ctx(E.REQUEST_COMPLETED, data={"request_id": "s", "status_code": 200,
                                           "usage": usage, "cost_usd": 0.5}))
    (n1, a1, k1), (n2, a2, k2) = rec.calls
    assert n1 == "provider_stream_end"
    assert k1 == {"model": "claude-haiku", "service_type": "claude_api", "input_tokens": 1,
                  "output_tokens": 2, "cache_read_tokens": 3, "cache_write_tokens": 4,
                  "cost_nusd": 500_000_000}
    assert n2 == "request_complete"
    assert not any(k.endswith("_tokens") or k == "cost_nusd" for k in k2)
    assert h._requests == {}


def test_streaming_flag_suppresses_usage_at_completion(rec):
    h = hook_with(rec)
    h.handle(ctx(E.REQUEST_COMPLETED, data={"request_id": "s", "status_code": 200,
                                           "streaming": True, "usage": {"input_tokens": 3}}))
    assert "input_tokens" not in rec.calls[0][2]


def test_stream_end_remembered_while_detached():
    rec = Recorder(mask=0)
    h = hook_with(rec)
    h.handle(ctx(E.PROVIDER_STREAM_END, data={"request_id": "s",
                                             "usage_metrics": {"input_tokens": 1}}))
    rec.mask = (1 << len(plugin.PROBES)) - 1
    h.handle(ctx(E.REQUEST_COMPLETED, data={"request_id": "s", "status_code": 200,
                                           "usage": {"input_tokens": 1}}))
    assert rec.names() == ["request_complete"]
    assert "input_tokens" not in rec.calls[0][2]


def test_request_failed_error_type(rec):
    h = hook_with(rec)
    h.handle(ctx(E.REQUEST_FAILED, data={"request_id": 1, "endpoint": "/v1/messages"},
                 error=TimeoutError("x")))
    h.handle(ctx(E.REQUEST_FAILED, data={"request_id": 2}))
    assert rec.calls[0][:2] == ("request_fail", (1, "TimeoutError"))
    assert rec.calls[0][2]["endpoint"] == "/v1/messages"
    assert rec.calls[1][1] == (2, "unknown")


def test_provider_error(rec):
    h = hook_with(rec)
    h.handle(ctx(E.PROVIDER_ERROR, metadata={"request_id": "p"}, data={"model": "m"},
                 provider="claude_api", error=ConnectionError()))
    h.handle(ctx(E.PROVIDER_ERROR, data={"endpoint": "https://h/v1/x?q=1"}, provider="codex"))
    assert rec.calls[0] == ("provider_error", ("p", "provider_ConnectionError"),
                            {"endpoint": "/", "model": "m", "service_type": "claude_api"})
    assert rec.calls[1][1] == (0, "provider_unknown")
    assert rec.calls[1][2]["endpoint"] == "/v1/x"


def test_provider_events(rec):
    h = hook_with(rec)
    h.handle(ctx(E.PROVIDER_REQUEST_PREPARED, metadata={"request_id": "a"}, provider="codex"))
    h.handle(ctx(E.PROVIDER_REQUEST_SENT, metadata={"request_id": "a"}, provider="codex"))
    h.handle(ctx(E.PROVIDER_RESPONSE_RECEIVED, data={"status_code": 200},
                 metadata={"request_id": "a"}, provider="codex"))
    h.handle(ctx(E.PROVIDER_STREAM_START, data={"request_id": "a"}, provider="codex"))
    h.handle(ctx(E.PROVIDER_STREAM_CHUNK, data={"request_id": "a", "chunk": b"12345"}))
    h.handle(ctx(E.PROVIDER_STREAM_CHUNK, data={"request_id": "a", "chunk_size": 9}))
    assert rec.names() == ["provider_request_sent", "provider_request_sent",
                           "provider_response_received", "provider_stream_start",
                           "provider_stream_chunk", "provider_stream_chunk"]
    assert rec.calls[2][1] == ("a", 200)
    assert {c[2]["service_type"] for c in rec.calls} == {"codex"}
    assert rec.calls[4][1] == ("a", 5) and rec.calls[5][1] == ("a", 9)


def test_detached_fires_nothing():
    rec = Recorder(mask=0)
    h = hook_with(rec)
    for e in h.events:
        h.handle(ctx(HookEvent(e), data={"request_id": 1}))
    assert rec.calls == []


def test_only_enabled_probes_fire():
    rec = Recorder(mask=plugin._BIT["request_complete"])
    h = hook_with(rec)
    h.handle(ctx(E.REQUEST_STARTED, data={"request_id": 1}))
    h.handle(ctx(E.REQUEST_COMPLETED, data={"request_id": 1, "status_code": 200}))
    assert rec.names() == ["request_complete"]


def test_other_events_ignored(rec):
    hook_with(rec).handle(ctx(E.APP_STARTUP))
    assert rec.calls == []


def test_malformed_context_never_raises(rec):
    h = hook_with(rec)

    class Boom:
        def get(self, *a):
            raise RuntimeError("boom")

    h.handle(ctx(E.REQUEST_COMPLETED, data=Boom()))
    h.handle(ctx(E.REQUEST_COMPLETED, data={"request_id": 1, "status_code": "abc",
                                           "usage": {"input_tokens": "x",
                                                     "output_tokens": -3},
                                           "cost_usd": float("nan")}))
    assert h.dropped == 1
    kw = rec.calls[-1][2]
    assert rec.calls[-1][1] == (1, 0)
    assert kw["input_tokens"] == 0 and kw["output_tokens"] == 0 and kw["cost_nusd"] == 0


def test_announce_and_pool(rec):
    h = hook_with(rec, version="0.2.10")
    h.pool = plugin.PoolProbes(probes=rec)
    h.announce()  # no gauges yet
    h.pool.set_gauges(4, 3, 1)
    h.pool.acquired(0.0015)
    h.pool.released()
    h.pool.connection_created()
    h.pool.connection_closed()
    h.pool.health_check_failed()
    h.announce()
    assert rec.names() == ["info", "pool_gauges", "pool_acquire", "pool_release",
                           "pool_connection_created", "pool_connection_closed",
                           "pool_health_check_failed", "info", "pool_gauges"]
    assert rec.calls[2][1] == (1_500_000,)
    assert rec.calls[-1][1] == (4, 3, 1)


@pytest.mark.parametrize("value,path", [
    ("http://h:1/v1/messages?x=1", "/v1/messages"),
    ("/v1/chat/completions?a#f", "/v1/chat/completions"),
    ("v1/x", "/v1/x"),
    ("", ""),
    (None, ""),
    ("https://host", ""),
])
def test_route_path(value, path):
    assert plugin.route_path(value) == path


@pytest.mark.parametrize("usd,nusd", [
    (0.000123, 123_000), (1.5, 1_500_000_000), (0, 0), (-1, 0), (None, 0), ("0.25", 250_000_000),
    (float("inf"), 0), (3e-10, 0), (6e-10, 1),
])
def test_usd_to_nusd(usd, nusd):
    assert plugin.usd_to_nusd(usd) == nusd


# -- what ccproxy 0.2.10 really sends (see docs/ccproxy.md) -----------------------------

def _real_request(h, rid="r9", model="claude-sonnet-4-20250514", body=None, status=200):
    """The events of one unstreamed request as 0.2.10 emits them."""
    meta = {"request_id": rid, "service_type": "access_log", "path": "/claude/v1/messages"}
    url = "http://127.0.0.1:8000/claude/v1/messages"
    h.handle(ctx(E.REQUEST_STARTED, data={"request_id": rid, "method": "POST", "url": url},
                 metadata=meta))
    h.handle(ctx(E.PROVIDER_REQUEST_PREPARED, provider="claude-api",
                 data={"body": {"model": model}, "endpoint": "/v1/messages"},
                 metadata={"request_id": rid}))
    h.handle(ctx(E.HTTP_RESPONSE, data={"request_id": rid, "status_code": status,
                                        "is_provider_response": True, "response_body": body}))
    h.handle(ctx(E.HTTP_RESPONSE, data={"request_id": rid, "status_code": status,
                                        "is_client_response": True, "response_body": body}))
    h.handle(ctx(E.REQUEST_COMPLETED, metadata=meta, data={
        "request_id": rid, "duration": 0.5, "response_status": status,
        "streaming_completed": True, "method": "POST", "url": url}))


def test_real_ccproxy_request_gets_model_provider_and_usage(rec):
    h = hook_with(rec, pricer=lambda model, usage: 0.002 if model.startswith("claude") else None)
    body = {"model": "claude-sonnet-4-20250514", "usage": {
        "input_tokens": 10, "output_tokens": 20, "cache_read_input_tokens": 30,
        "cache_creation_input_tokens": 40}}
    _real_request(h, body=body)
    assert rec.names() == ["request_start", "provider_request_sent",
                           "provider_response_received", "request_complete"]
    assert rec.calls[0][2]["service_type"] is None  # "access_log" is no provider
    assert rec.calls[2][1] == ("r9", 200)
    assert rec.calls[2][2] == {"model": "claude-sonnet-4-20250514", "service_type": "claude_api"}
    name, args, kw = rec.calls[3]
    assert args == ("r9", 200)
    assert (kw["model"], kw["service_type"], kw["endpoint"]) == \
        ("claude-sonnet-4-20250514", "claude_api", "/claude/v1/messages")
    assert (kw["input_tokens"], kw["output_tokens"], kw["cache_read_tokens"],
            kw["cache_write_tokens"], kw["cost_nusd"]) == (10, 20, 30, 40, 2_000_000)
    assert h._requests == {}


def test_real_ccproxy_stream_usage_from_the_sse_the_client_got(rec):
    h = hook_with(rec)
    sse = ('event: message_start\ndata: {"type":"message_start","message":{"model":"m1",'
           '"usage":{"input_tokens":5,"output_tokens":1,"cache_read_input_tokens":6,'
           '"cache_creation_input_tokens":7}}}\n\nevent: message_delta\ndata: {"type":'
           '"message_delta","usage":{"output_tokens":42}}\n\ndata: [DONE]\n\n')
    _real_request(h, model="m1", body=sse)
    kw = rec.calls[-1][2]
    assert (kw["input_tokens"], kw["output_tokens"], kw["cache_read_tokens"],
            kw["cache_write_tokens"]) == (5, 42, 6, 7)
    assert "cost_nusd" not in kw or kw["cost_nusd"] == 0  # no pricer: no cost


def test_error_response_has_no_usage(rec):
    h = hook_with(rec)
    _real_request(h, body={"type": "error", "error": {"type": "api_error"}}, status=529)
    name, args, kw = rec.calls[-1]
    assert args == ("r9", 529) and kw["input_tokens"] == 0 and kw["output_tokens"] == 0


def test_pricer_failure_is_no_cost_and_no_drop(rec):
    def pricer(model, usage):
        return None

    h = hook_with(rec, pricer=pricer)
    _real_request(h, body={"usage": {"input_tokens": 3}})
    assert rec.calls[-1][2]["cost_nusd"] == 0 and h.dropped == 0


def test_detached_remembers_nothing():
    rec = Recorder(mask=0)
    h = hook_with(rec)
    _real_request(h, body={"usage": {"input_tokens": 3}})
    assert rec.calls == [] and h._requests == {}


def test_per_request_state_is_bounded(rec, monkeypatch):
    monkeypatch.setattr(plugin, "_REQUESTS_MAX", 8)
    h = hook_with(rec)
    for i in range(100):  # prepared, never completed
        h.handle(ctx(E.PROVIDER_REQUEST_PREPARED, provider="claude-api",
                     data={"body": {"model": "m"}}, metadata={"request_id": i}))
    assert len(h._requests) <= 8


class _Weird:
    def __getattr__(self, name):
        raise RuntimeError(name)


@pytest.mark.parametrize("make", [
    lambda: ctx(E.REQUEST_COMPLETED, data=None, metadata=None),
    lambda: ctx(E.REQUEST_COMPLETED, data={"request_id": ["x"], "response_status": "abc",
                                           "duration": "nan", "usage": "junk"}),
    lambda: ctx(E.HTTP_RESPONSE, data={"is_client_response": True, "request_id": "x",
                                       "response_body": b"\xff\xfe data: {usage"}),
    lambda: ctx(E.HTTP_RESPONSE, data={"is_client_response": True, "request_id": "x",
                                       "response_body": "data: " + "{" * 5000}),
    lambda: ctx(E.PROVIDER_REQUEST_PREPARED, provider=_Weird(), data={"body": "not a dict"}),
    lambda: ctx(E.REQUEST_STARTED, data={"request_id": "x" * 1_000_000, "method": b"\xff" * 99,
                                         "url": "\udcff" * 10}),
    lambda: ctx("no.such.event", data={}),
    lambda: _Weird(),
])
def test_bad_contexts_never_raise(rec, make):
    h = hook_with(rec)
    h.handle(make())
    asyncio.run(h(make()))


def test_what_cannot_be_read_is_counted(rec):
    h = hook_with(rec)
    h.handle(_Weird())
    asyncio.run(h(_Weird()))
    h.handle(ctx("no.such.event"))  # not ours: ignored, not a drop
    assert h.dropped == 2 and rec.calls == []


def _started(h, rid):
    h.handle(ctx(E.REQUEST_STARTED, data={"request_id": rid, "method": "POST",
                                          "url": "http://h/claude/v1/messages"}))
    h.handle(ctx(E.PROVIDER_REQUEST_PREPARED, provider="claude-api",
                 data={"body": {"model": "m"}}, metadata={"request_id": rid}))


def test_a_request_ccproxy_never_ends_is_failed_after_the_grace(rec):
    h = hook_with(rec)
    _started(h, "lost")
    _started(h, "late")
    h.request_ended("lost", now=100.0)
    h.request_ended("late", now=100.5)
    h.handle(ctx(E.REQUEST_COMPLETED, data={"request_id": "late", "response_status": 200}))
    h.sweep(now=100.0 + plugin.REQUEST_GRACE - 0.01)
    assert "request_fail" not in rec.names()
    h.sweep(now=100.0 + plugin.REQUEST_GRACE + 1)
    fails = [c for c in rec.calls if c[0] == "request_fail"]
    assert fails == [("request_fail", ("lost", "unknown"), {
        "method": "POST", "endpoint": "/claude/v1/messages", "model": "m",
        "service_type": "claude_api"})]
    assert h._requests == {} and h._ended == {}
    h.request_ended("lost", now=200.0)  # already failed: nothing more
    h.sweep(now=300.0)
    assert len([c for c in rec.calls if c[0] == "request_fail"]) == 1


def test_ended_unknown_ids_are_ignored(rec):
    h = hook_with(rec)
    h.request_ended("never-started", now=1.0)
    h.sweep(now=100.0)
    assert rec.calls == [] and h._ended == {}


# -- streams as 0.2.10 emits them: the stream events name "access_log" as their provider,
# -- provider.stream.end carries the upstream's SSE text and no usage_metrics.

_UPSTREAM_SSE = (
    'event: message_start\ndata: {"type":"message_start","message":{"model":"m1","usage":'
    '{"input_tokens":5,"output_tokens":1,"cache_read_input_tokens":6,'
    '"cache_creation_input_tokens":7}}}\n\n'
    'event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":42}}\n\n')


def _real_stream(h, rid="s9", status=200, chunks=(290, 117), end=True, text=_UPSTREAM_SSE):
    meta = {"request_id": rid, "service_type": "access_log"}
    url = "http://127.0.0.1:8000/claude/v1/messages"
    h.handle(ctx(E.REQUEST_STARTED, data={"request_id": rid, "method": "POST", "url": url},
                 metadata=meta))
    h.handle(ctx(E.PROVIDER_REQUEST_PREPARED, provider="claude-api",
                 data={"body": {"model": "m1"}}, metadata={"request_id": rid}))
    h.handle(ctx(E.HTTP_RESPONSE, data={"request_id": rid, "status_code": status,
                                        "is_provider_response": True, "streaming": True}))
    stream_meta = {"request_id": rid}
    h.handle(ctx(E.PROVIDER_STREAM_START, provider="access_log", data={"request_id": rid},
                 metadata=stream_meta))
    for n in chunks:
        h.handle(ctx(E.PROVIDER_STREAM_CHUNK, provider="access_log", metadata=stream_meta,
                     data={"request_id": rid, "chunk": b"x" * n, "chunk_size": n}))
    if end:
        h.handle(ctx(E.PROVIDER_STREAM_END, provider="access_log", metadata=stream_meta,
                     data={"request_id": rid, "upstream_stream_text": text}))
    h.handle(ctx(E.HTTP_RESPONSE, data={"request_id": rid, "status_code": status,
                                        "is_client_response": True, "response_body": text}))
    h.handle(ctx(E.REQUEST_COMPLETED, metadata=meta, data={
        "request_id": rid, "duration": 0.5, "response_status": status,
        "streaming_completed": True, "method": "POST", "url": url}))


def test_real_ccproxy_stream_fires_every_provider_probe_with_the_request_id(rec):
    h = hook_with(rec, pricer=lambda model, usage: 0.25)
    _real_stream(h)
    assert rec.names() == ["request_start", "provider_request_sent",
                           "provider_response_received", "provider_stream_start",
                           "provider_stream_chunk", "provider_stream_chunk",
                           "provider_stream_end", "request_complete"]
    assert {c[1][0] for c in rec.calls} == {"s9"}
    assert [c[1][1] for c in rec.calls if c[0] == "provider_stream_chunk"] == [290, 117]
    for name, _, kw in rec.calls[1:]:
        assert (kw["model"], kw["service_type"]) == ("m1", "claude_api"), name
    # The output tokens are known at the stream's end (time per output token), with the
    # rest of the usage and its cost; the completion reports none of it again.
    end = rec.calls[6][2]
    assert (end["input_tokens"], end["output_tokens"], end["cache_read_tokens"],
            end["cache_write_tokens"], end["cost_nusd"]) == (5, 42, 6, 7, 250_000_000)
    done = rec.calls[7]
    assert done[1] == ("s9", 200) and "input_tokens" not in done[2]
    assert h._requests == {}


def test_provider_error_answer_to_a_stream_is_no_stream(rec):
    """0.2.10 emits provider.stream.start for a 429 to a streamed request, then passes the
    error body on with neither chunk nor end: only the response probe fires."""
    h = hook_with(rec)
    _real_stream(h, status=429, chunks=(), end=False, text='{"type":"error"}')
    assert rec.names() == ["request_start", "provider_request_sent",
                           "provider_response_received", "request_complete"]
    assert rec.calls[2][1] == ("s9", 429) and rec.calls[3][1] == ("s9", 429)


def test_stream_without_end_reports_the_usage_the_client_got(rec):
    """An upstream that drops the stream: no provider.stream.end; the usage is the client's
    at completion, as before."""
    h = hook_with(rec)
    _real_stream(h, end=False)
    assert "provider_stream_end" not in rec.names()
    kw = rec.calls[-1][2]
    assert (kw["input_tokens"], kw["output_tokens"]) == (5, 42)


def test_stream_end_without_usage_leaves_it_to_the_completion(rec):
    h = hook_with(rec)
    _real_stream(h, text="data: [DONE]\n\n")
    end = [c for c in rec.calls if c[0] == "provider_stream_end"][0][2]
    assert "output_tokens" not in end
    assert rec.calls[-1][0] == "request_complete"


def test_stream_end_detached_parses_nothing(rec, monkeypatch):
    calls = []
    monkeypatch.setattr(plugin, "usage_from_body", lambda body: calls.append(body) or {})
    rec.mask = plugin._BIT["request_complete"]
    h = hook_with(rec)
    h.handle(ctx(E.PROVIDER_STREAM_END, data={"request_id": "d",
                                             "upstream_stream_text": _UPSTREAM_SSE}))
    assert calls == [] and rec.calls == []
