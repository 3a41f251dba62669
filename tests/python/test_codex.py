# SPDX-License-Identifier: BSD-2-Clause
"""UsdtMetricsHook on ccproxy 0.2.10's codex routes, whose events differ from claude_api's
(docs/ccproxy.md): no provider.request.prepared (the provider request is the upstream HTTP
client's http.request, its body JSON bytes), stream events naming "access_log" or, for a
stream ccproxy buffers into a plain answer, "codex" with ``buffered_mode``."""
import pytest
from ccproxy_standins import HookContext, HookEvent
from usdt_testlib import plugin, routes

E = HookEvent
URL = "http://127.0.0.1:8000/codex/v1/responses"
UPSTREAM = "http://127.0.0.1:9000/v1/responses"
_SSE = ('event: response.created\ndata: {"type":"response.created","response":{"model":'
        '"gpt-5.3-codex","usage":null}}\n\nevent: response.completed\ndata: {"type":'
        '"response.completed","response":{"model":"gpt-5.3-codex","usage":{"input_tokens":'
        '12,"input_tokens_details":{"cached_tokens":2},"output_tokens":7}}}\n\n')


def ctx(event, **kw):
    return HookContext(event=event, **kw)


@pytest.fixture
def hook(rec):
    h = plugin.UsdtMetricsHook(probes=rec)
    h.routes = routes.RouteServices([("/claude", "claude_api"), ("/codex", "codex")])
    return h


def _start(h, rid, url=URL):
    h.handle(ctx(E.REQUEST_STARTED, data={"request_id": rid, "method": "POST", "url": url},
                 metadata={"request_id": rid, "service_type": "access_log"}))


def _upstream_request(h, rid, body=b'{"model": "gpt-5.3-codex", "stream": true}'):
    h.handle(ctx(E.HTTP_REQUEST, data={
        "request_id": rid, "method": "POST", "url": UPSTREAM, "body": body,
        "is_provider_request": True, "origin": "upstream"}))


def _upstream_response(h, rid, status):
    h.handle(ctx(E.HTTP_RESPONSE, data={"request_id": rid, "url": UPSTREAM, "streaming": True,
                                        "status_code": status, "is_provider_response": True}))


def _complete(h, rid, status, body=None):
    h.handle(ctx(E.HTTP_RESPONSE, data={"request_id": rid, "status_code": status,
                                        "is_client_response": True, "response_body": body}))
    h.handle(ctx(E.REQUEST_COMPLETED, metadata={"request_id": rid}, data={
        "request_id": rid, "duration": 0.5, "response_status": status,
        "streaming_completed": True, "method": "POST", "url": URL}))


def _stream(h, rid, chunks, provider="access_log", buffered=False, end=True):
    extra = {"buffered_mode": True} if buffered else {}
    meta = {"request_id": rid}
    h.handle(ctx(E.PROVIDER_STREAM_START, provider=provider, metadata=meta,
                 data=dict(extra, request_id=rid, url=UPSTREAM)))
    if buffered:  # ccproxy's buffer service announces the stream before sending it
        _upstream_request(h, rid)
        _upstream_response(h, rid, 200)
    for n in chunks:
        h.handle(ctx(E.PROVIDER_STREAM_CHUNK, provider=provider, metadata=meta,
                     data=dict(extra, request_id=rid, chunk=b"x" * n, chunk_size=n)))
    if end:
        h.handle(ctx(E.PROVIDER_STREAM_END, provider=provider, metadata=meta,
                     data=dict(extra, request_id=rid, upstream_stream_text=_SSE)))


def test_streamed_request_gets_its_provider_request_model_and_provider(hook, rec):
    _start(hook, "s")
    _upstream_request(hook, "s")
    _upstream_response(hook, "s", 200)
    _stream(hook, "s", (243, 251, 566))
    _complete(hook, "s", 200, body=_SSE)
    assert rec.names() == ["request_start", "provider_request_sent",
                           "provider_response_received", "provider_stream_start",
                           "provider_stream_chunk", "provider_stream_chunk",
                           "provider_stream_chunk", "provider_stream_end", "request_complete"]
    for name, args, kw in rec.calls[1:]:
        assert args[0] == "s"
        assert (kw["model"], kw["service_type"]) == ("gpt-5.3-codex", "codex"), name
    end = rec.calls[7][2]
    assert (end["input_tokens"], end["output_tokens"], end["cache_read_tokens"]) == (12, 7, 2)
    assert rec.calls[-1][2]["endpoint"] == "/codex/v1/responses"
    assert "input_tokens" not in rec.calls[-1][2]  # reported once, at the stream's end
    assert hook._requests == {}


def test_buffered_stream_is_a_plain_answer(hook, rec):
    """The client asked for no stream: ccproxy streams from the provider and buffers. No
    stream probe; the provider has answered once the whole stream is read; the usage is the
    client's JSON's, at completion."""
    _start(hook, "b")
    _stream(hook, "b", (316, 324, 639), provider="codex", buffered=True)
    _complete(hook, "b", 200, body={"model": "gpt-5.3-codex", "usage": {
        "input_tokens": 12, "output_tokens": 7}})
    assert rec.names() == ["request_start", "provider_request_sent",
                           "provider_response_received", "request_complete"]
    assert rec.calls[2][1] == ("b", 200)
    done = rec.calls[3][2]
    assert (done["model"], done["service_type"]) == ("gpt-5.3-codex", "codex")
    assert (done["input_tokens"], done["output_tokens"]) == (12, 7)


def test_buffered_response_is_timed_at_the_stream_end(hook, rec):
    _start(hook, "t")
    _stream(hook, "t", (10,), provider="codex", buffered=True, end=False)
    assert "provider_response_received" not in rec.names()  # headers only so far
    hook.handle(ctx(E.PROVIDER_STREAM_END, provider="codex", metadata={"request_id": "t"},
                    data={"request_id": "t", "buffered_mode": True}))
    assert rec.names()[-1] == "provider_response_received"


def test_buffered_error_answer_is_received_at_its_headers(hook, rec):
    """A 429 to a buffered request: ccproxy reads the error body and emits no stream end."""
    _start(hook, "e")
    hook.handle(ctx(E.PROVIDER_STREAM_START, provider="codex", metadata={"request_id": "e"},
                    data={"request_id": "e", "buffered_mode": True}))
    _upstream_request(hook, "e")
    _upstream_response(hook, "e", 429)
    _complete(hook, "e", 429, body={"error": {"type": "rate_limit"}})
    assert rec.names() == ["request_start", "provider_request_sent",
                           "provider_response_received", "request_complete"]
    assert rec.calls[2][1] == ("e", 429) and rec.calls[3][1] == ("e", 429)


def test_streamed_error_answer_is_no_stream(hook, rec):
    _start(hook, "x")
    _upstream_request(hook, "x")
    _upstream_response(hook, "x", 500)
    _stream(hook, "x", (), end=False)
    _complete(hook, "x", 500)
    assert rec.names() == ["request_start", "provider_request_sent",
                           "provider_response_received", "request_complete"]


def test_prepared_request_is_not_sent_twice(hook, rec):
    """claude_api announces its provider request with provider.request.prepared; the HTTP
    client's http.request for it fires nothing more."""
    _start(hook, "c", url="http://127.0.0.1:8000/claude/v1/chat/completions")
    hook.handle(ctx(E.PROVIDER_REQUEST_PREPARED, provider="claude-api",
                    data={"body": {"model": "claude-x"}}, metadata={"request_id": "c"}))
    _upstream_request(hook, "c", body=b'{"model": "other"}')
    assert rec.names() == ["request_start", "provider_request_sent"]
    assert rec.calls[1][2] == {"model": "claude-x", "service_type": "claude_api"}


def test_http_requests_of_no_request_are_ignored(hook, rec):
    """The pricing download and other traffic of the proxy's own: no request started."""
    _upstream_request(hook, "nobody")
    hook.handle(ctx(E.HTTP_REQUEST, data={"request_id": "c", "url": URL, "origin": "client"}))
    _start(hook, "c")
    hook.handle(ctx(E.HTTP_REQUEST, data={"request_id": "c", "url": URL, "origin": "client"}))
    assert rec.names() == ["request_start"]
    assert "nobody" not in hook._requests


def test_each_upstream_attempt_is_a_provider_request(hook, rec):
    _start(hook, "r")
    _upstream_request(hook, "r")
    _upstream_response(hook, "r", 429)
    _upstream_request(hook, "r")
    assert rec.names().count("provider_request_sent") == 2


def test_provider_from_the_event_before_the_route(hook, rec):
    _start(hook, "p")
    hook.handle(ctx(E.HTTP_REQUEST, provider="copilot", data={
        "request_id": "p", "body": {"model": "m"}, "is_provider_request": True}))
    assert rec.calls[-1][2] == {"model": "m", "service_type": "copilot"}


def test_route_of_no_provider_leaves_it_unknown(hook, rec):
    _start(hook, "u", url="http://127.0.0.1:8000/v1/responses")
    _upstream_request(hook, "u")
    assert rec.calls[-1][2] == {"model": "gpt-5.3-codex", "service_type": None}


def test_detached_keeps_no_state():
    from usdt_testlib import Recorder

    rec = Recorder(mask=0)
    h = plugin.UsdtMetricsHook(probes=rec)
    _start(h, "d")
    _stream(h, "d", (5,), provider="codex", buffered=True)
    _complete(h, "d", 200)
    assert rec.calls == [] and h._requests == {}


@pytest.mark.parametrize("body,model", [
    ({"model": "a"}, "a"),
    (b'{"model": "b", "input": []}', "b"),
    (bytearray(b'  {"model": "c"}'), "c"),
    ('{"model": "d"}', "d"),
    (b'{"input": []}', None),
    (b"[1, 2]", None),
    (b"{not json", None),
    (b"\xff\xfe{", None),
    ("[" * 100_000, None),
    ("{" + '"a":[' * 100_000, None),
    (None, None),
    (42, None),
])
def test_body_model(body, model):
    assert plugin.body_model(body) == model


def test_route_services_longest_prefix_on_a_segment():
    r = routes.RouteServices([("/copilot", "copilot"), ("/copilot/v1/", "copilot_v1"),
                              ("codex", "codex"), ("/claude", "claude-api"), ("/", "root"),
                              (None, "x"), ("/y", None)])
    assert r.lookup("/codex/v1/responses") == "codex"
    assert r.lookup("/codex") == "codex"
    assert r.lookup("/codexfoo/v1") is None
    assert r.lookup("/copilot/v1/chat/completions") == "copilot_v1"
    assert r.lookup("/copilot/usage") == "copilot"
    assert r.lookup("/claude/v1/messages") == "claude_api"
    assert r.lookup("/health") is None and r.lookup("") is None and r.lookup(None) is None
    assert r and not routes.RouteServices()


class _Manifest:
    def __init__(self, name, provider, prefixes):
        self.name, self.is_provider = name, provider
        self.routes = [type("R", (), {"prefix": p})() for p in prefixes]


class _Factory:
    def __init__(self, manifest):
        self.manifest = manifest

    def get_manifest(self):
        if self.manifest is None:
            raise RuntimeError("broken plugin")
        return self.manifest


def test_provider_prefixes_from_the_plugin_registry():
    registry = type("Registry", (), {"factories": {
        "codex": _Factory(_Manifest("codex", True, ["/codex"])),
        "copilot": _Factory(_Manifest("copilot", True, ["/copilot/v1", "/copilot"])),
        "metrics": _Factory(_Manifest("metrics", False, ["/metrics"])),
        "broken": _Factory(None)}})()
    assert routes.provider_prefixes(registry) == [
        ("/codex", "codex"), ("/copilot/v1", "copilot"), ("/copilot", "copilot")]
    assert routes.provider_prefixes(None) == []
    assert routes.provider_prefixes(object()) == []


def test_events_include_the_upstream_http_request():
    assert "http.request" in plugin.EVENT_NAMES


def test_buffered_stream_that_breaks_counts_its_status_once(hook, rec):
    """The upstream drops the buffered stream: ccproxy emits provider.error (and fails the
    request). Its 200 is counted there, once, even if an error follows a stream end."""
    _start(hook, "k")
    _stream(hook, "k", (50,), provider="codex", buffered=True, end=False)
    err = ctx(E.PROVIDER_ERROR, provider="codex", metadata={"request_id": "k"},
              data={"url": UPSTREAM, "phase": "streaming_buffer_service"},
              error=ConnectionResetError())
    hook.handle(err)
    hook.handle(err)
    assert rec.names() == ["request_start", "provider_request_sent",
                           "provider_response_received", "provider_error", "provider_error"]
    assert rec.calls[2][1] == ("k", 200)
    assert rec.calls[3][1] == ("k", "provider_ConnectionResetError")
    assert rec.calls[3][2]["service_type"] == "codex"


def test_error_after_a_buffered_end_fires_no_second_answer(hook, rec):
    _start(hook, "a")
    _stream(hook, "a", (50,), provider="codex", buffered=True)
    hook.handle(ctx(E.PROVIDER_ERROR, provider="codex", metadata={"request_id": "a"},
                    error=RuntimeError("Parsed streaming response is empty")))
    assert rec.names().count("provider_response_received") == 1
