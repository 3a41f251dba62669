# SPDX-License-Identifier: BSD-2-Clause
"""ccproxy hook that fires the ccproxy USDT probes instead of updating prometheus_client.

ccproxy's hook system calls ``await hook(context)`` for each event in ``hook.events``; the
context carries ``event, timestamp, data, metadata, request, response, provider, plugin,
error``. UsdtMetricsHook maps the request.*, provider.* and http.* events to probes:

================================  ===========================  =============================
event                             probe                        what it reads
================================  ===========================  =============================
request.started                   request_start                request_id, method, endpoint
request.completed                 request_complete             + status, duration, usage, cost
request.failed                    request_fail                 + error (class name)
provider.request.prepared/.sent   provider_request_sent        request_id, model, provider
http.request to the provider      provider_request_sent        only for a request with no
                                                               provider.request.prepared:
                                                               the body's model, the route's
                                                               provider
provider.response.received        provider_response_received   + status_code
http.response from the provider   provider_response_received   + status_code
http.response to the client       (none: remembered)           usage and model of the body
provider.error                    provider_error               error -> "provider_<Class>"
provider.stream.start             provider_stream_start
provider.stream.chunk             provider_stream_chunk        chunk size in bytes
provider.stream.end               provider_stream_end          usage_metrics (tokens, cost),
                                                               else upstream_stream_text
================================  ===========================  =============================

A provider error answer (status >= 400) to a streamed request is no stream: 0.2.10 emits
provider.stream.start for it and nothing more, and no stream probe fires for it.

A stream ccproxy buffers into a plain answer (its stream events say ``buffered_mode``: the
codex provider's answers to unstreamed requests) is no stream either: no stream probe fires,
and provider_response_received fires at its provider.stream.end, when the whole body is read,
as for any plain answer (an error status still fires at the headers; a stream that breaks, at
its provider.error).

What ccproxy 0.2.10 really sends (docs/ccproxy.md): the model and the provider are only known
from provider.request.prepared (body["model"], context.provider), and usage only from the body
of the response the client got (http.response). So the hook remembers, per request id, the
model and provider of the upstream request and the usage of the client response, and uses
them at request.completed and for the provider.* probes of that request (whose
context.provider is unreliable in 0.2.10). Entries are dropped at completion and bounded.

Where values come from (first found wins):

- request_id: data["request_id"], metadata["request_id"]; str ids are hashed to u64
  (ccproxy_usdt.request_id_hash). Missing: 0.
- method: data["method"], request.method. endpoint: data["endpoint"], data["path"],
  data["url"], request.url.path -- always reduced to the route path (no scheme, host, query
  string or fragment), which bounds the label's cardinality unlike the Python plugin.
- model: data, the upstream request remembered, metadata. service_type: the provider of the
  upstream request remembered ("-" spelled "_", as ccproxy names its provider plugins), data,
  metadata, context.provider; "access_log", which 0.2.10 puts in every request's metadata,
  is no provider and ignored.
- status: data["response_status"], data["status_code"], data["status"], response.status_code.
- duration: data["duration"] (s) or data["duration_ms"]; absent: the tracer measures the time
  since request_start itself.
- usage: data["usage"] (Anthropic names: input_tokens, output_tokens,
  cache_read_input_tokens, cache_creation_input_tokens; OpenAI prompt_tokens and
  completion_tokens also read), else metadata (tokens_input, tokens_output,
  cache_read_tokens, cache_write_tokens), else the client response body remembered
  (ccproxy_usdt.usage). cost: data["cost_usd"], metadata["cost_usd"], else ``pricer(model,
  usage)`` when one is set (the plugin sets ccproxy's pricing service), USD as float, passed
  as round(usd * 1e9) nano-USD. provider.stream.end reads data["usage_metrics"] (same keys,
  plus cost_usd and model).
- Usage is reported once per request (probes.h): a streamed request (data or metadata
  "streaming" true, or one whose provider.stream.end carried usage or the upstream's SSE
  text with usage) reports it at provider.stream.end, priced there; request.completed then
  reports none.

ccproxy runs fire-and-forget hooks on a thread of its own, late: the plugin calls
``handle_inline`` where ccproxy emits (ccproxy_usdt.inline) and the registered hook then
ignores the queued copy.

The hook never raises into the proxy: a malformed context is counted in ``self.dropped``.
While no tracer is attached a call costs one enabled_mask() check (plus, for stream ends,
remembering that the request was streamed).

Info and pool gauges are states, not events, and a tracer may attach at any time: call
``hook.announce()`` periodically (every second or so) so a newly attached exporter learns them.
The ccproxy plugin (ccproxy_usdt.plugin) does both and feeds the pool probes
(ccproxy_usdt.pool); PoolProbes serves other proxies with a client pool of their own.
"""
from __future__ import annotations

import json
import math
import time
from typing import Any, Iterable
from urllib.parse import urlsplit

from ._usdt import PROBES
from .inline import MARK as _INLINE
from .usage import usage_from_body

EVENT_NAMES = (
    "request.started",
    "request.completed",
    "request.failed",
    "provider.request.prepared",
    "provider.request.sent",
    "provider.response.received",
    "provider.error",
    "provider.stream.start",
    "provider.stream.chunk",
    "provider.stream.end",
    "http.request",
    "http.response",
)

# bit i of enabled_mask() is PROBES[i], in the ABI order of probes.h (the extension's).
_BIT = {name: 1 << i for i, name in enumerate(PROBES)}
_B_START = _BIT["request_start"]
_B_COMPLETE = _BIT["request_complete"]
_B_FAIL = _BIT["request_fail"]
_B_SENT = _BIT["provider_request_sent"]
_B_RECEIVED = _BIT["provider_response_received"]
_B_PERROR = _BIT["provider_error"]
_B_SSTART = _BIT["provider_stream_start"]
_B_SCHUNK = _BIT["provider_stream_chunk"]
_B_SEND = _BIT["provider_stream_end"]

# (probe keyword, keys in a usage dict, keys in ccproxy's request metadata)
_TOKEN_KEYS = (
    ("input_tokens", ("input_tokens", "prompt_tokens"), ("tokens_input",)),
    ("output_tokens", ("output_tokens", "completion_tokens"), ("tokens_output",)),
    ("cache_read_tokens", ("cache_read_input_tokens", "cache_read_tokens"),
     ("cache_read_tokens",)),
    ("cache_write_tokens", ("cache_creation_input_tokens", "cache_write_tokens"),
     ("cache_write_tokens",)),
)

# Per-request state is forgotten at completion; this bounds a leak when a proxy never
# completes some requests.
_REQUESTS_MAX = 65536
# Seconds after the server is done with a request before an unended one counts as failed.
REQUEST_GRACE = 2.0
_ANY_REQUEST_PROBE = (_B_START | _B_COMPLETE | _B_FAIL | _B_SENT | _B_RECEIVED | _B_PERROR
                      | _B_SSTART | _B_SCHUNK | _B_SEND)


_ROUTES: dict = {}
_ROUTES_MAX = 4096


def route_path(value: Any) -> str:
    """The route path of a URL or path: no scheme, host, query string or fragment. The
    paths of recent str values are remembered: a proxy sees few distinct URLs."""
    if type(value) is str:
        path = _ROUTES.get(value)
        if path is None:
            if len(_ROUTES) >= _ROUTES_MAX:
                _ROUTES.clear()
            path = _ROUTES[value] = _route_path(value)
        return path
    return _route_path(value)


def _route_path(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        path = getattr(value, "path", None)  # starlette URL, httpx URL
        value = path if isinstance(path, str) else str(value)
    if "://" in value:
        value = urlsplit(value).path
    else:
        value = value.split("?", 1)[0].split("#", 1)[0]
    if value and not value.startswith("/"):
        value = "/" + value
    return value


def usd_to_nusd(cost: Any) -> int:
    """USD (float, int, Decimal, numeric str) to integer nano-USD; anything else is 0."""
    try:
        v = float(cost)
    except (TypeError, ValueError):
        return 0
    if not math.isfinite(v) or v <= 0:
        return 0
    return int(round(v * 1e9))


def seconds_to_ns(seconds: Any) -> int:
    try:
        v = float(seconds)
    except (TypeError, ValueError):
        return 0
    if not math.isfinite(v) or v <= 0:
        return 0
    return int(round(v * 1e9))


def _count(v: Any) -> int:
    """A token count as a non-negative int; junk is 0 (token counts <= 0 are not recorded)."""
    if isinstance(v, bool) or v is None:
        return 0
    try:
        n = int(v)
    except (TypeError, ValueError, OverflowError):
        return 0
    return n if n > 0 else 0


def _first(d: Any, keys: Iterable[str]) -> Any:
    if not isinstance(d, dict):
        return None
    for k in keys:
        v = d.get(k)
        if v is not None:
            return v
    return None


def _get(d: Any, key: str) -> Any:
    return d.get(key) if type(d) is dict else None


def _text(v: Any) -> Any:
    """A label value as the probe takes it: str or bytes as is, other values str()'d."""
    if v is None or isinstance(v, (str, bytes)):
        return v
    return str(getattr(v, "value", v))


# Marks a usage dict that already has our names (ccproxy_usdt.usage's output).
_NORMALISED = "_normalised"


def usage_kwargs(usage: Any, metadata: Any = None) -> dict:
    """Probe keywords (input_tokens .. cache_write_tokens, cost_nusd) from a usage dict,
    falling back to ccproxy's request metadata keys."""
    if type(usage) is dict and usage.get(_NORMALISED):
        kw = {name: _count(usage.get(name)) for name, _, _ in _TOKEN_KEYS}
        kw["cost_nusd"] = 0
        return kw
    kw = {}
    for name, ukeys, mkeys in _TOKEN_KEYS:
        v = _first(usage, ukeys)
        if v is None:
            v = _first(metadata, mkeys)
        kw[name] = _count(v)
    cost = _first(usage, ("cost_usd",))
    if cost is None:
        cost = _first(metadata, ("cost_usd",))
    kw["cost_nusd"] = usd_to_nusd(cost)
    return kw


def _default_probes() -> Any:
    import ccproxy_usdt

    if tuple(ccproxy_usdt.PROBES) != PROBES:
        raise ImportError("ccproxy_usdt extension has another probe ABI order")
    return ccproxy_usdt


def body_model(body: Any) -> Any:
    """The "model" of a request body as ccproxy's upstream HTTP client holds it: a dict, or
    the JSON bytes or text about to be sent (parsed: once per provider request, and only for
    requests no provider.request.prepared announced)."""
    if type(body) is dict:
        return body.get("model")
    if isinstance(body, (bytes, bytearray, str)) and body.lstrip()[:1] in ("{", b"{"):
        try:
            body = json.loads(body)
        except (ValueError, RecursionError):
            return None
        return body.get("model") if type(body) is dict else None
    return None


def _event_name(event: Any) -> str:
    return getattr(event, "value", event)


class _Request:
    """What the hook learnt of one request before its completion."""

    __slots__ = ("model", "service", "usage", "streamed", "labels", "status", "prepared",
                 "buffered", "answered")

    def __init__(self) -> None:
        self.model: Any = None
        self.service: Any = None
        self.usage: dict | None = None
        self.streamed = False
        self.labels: dict | None = None  # set by request.started: the request is open
        self.status = 0  # the provider's HTTP status
        self.prepared = False  # provider.request.prepared/.sent seen
        self.buffered = False  # the provider streams, ccproxy buffers: a plain answer
        self.answered = False  # the buffered answer's provider_response_received fired


# ccproxy 0.2.10's RequestIDMiddleware puts service_type="access_log" into every request's
# metadata (a log category, not a provider); its stream events pass it on as the provider.
_NOT_A_SERVICE = ("access_log",)


def service_name(provider: Any) -> Any:
    """ccproxy's provider name as its plugins spell it ("claude-api" -> "claude_api"), or
    None for what is not a provider."""
    name = _text(provider)
    if isinstance(name, str):
        name = name.replace("-", "_")
    return None if name in _NOT_A_SERVICE else name


class UsdtMetricsHook:
    """ccproxy Hook: fires ccproxy USDT probes at request and provider events."""

    name = "usdt_metrics"
    # After ccproxy's own observation hooks (700), which complete provider.stream.end's
    # usage_metrics where they can.
    priority = 750

    def __init__(self, version: str | None = None, hook_event: Any = None,
                 probes: Any = None, pricer: Any = None) -> None:
        """version: announced by the info probe. hook_event: ccproxy's HookEvent enum, to
        list ``events`` as its members (default: the event names as str). probes: the probe
        module (tests pass a recorder). pricer: ``pricer(model, usage_kwargs) -> USD or
        None`` for requests whose cost ccproxy does not report."""
        self.version = version
        self.probes = probes if probes is not None else _default_probes()
        self.events = [hook_event(n) for n in EVENT_NAMES] if hook_event else list(EVENT_NAMES)
        self.pool: Any = None
        self.pricer = pricer
        # ccproxy_usdt.routes.RouteServices: the provider of a route, for requests whose
        # events name none (the plugin sets it).
        self.routes: Any = None
        self.dropped = 0
        self._requests: dict = {}
        self._ended: dict = {}  # request id -> when the server was done with it
        self._handlers = {
            "request.started": self._request_started,
            "request.completed": self._request_completed,
            "request.failed": self._request_failed,
            "provider.request.prepared": self._provider_request,
            "provider.request.sent": self._provider_request,
            "provider.response.received": self._provider_response,
            "http.response": self._http_response,
            "provider.error": self._provider_error,
            "provider.stream.start": self._stream_start,
            "provider.stream.chunk": self._stream_chunk,
            "provider.stream.end": self._stream_end,
            "http.request": self._http_request,
        }
        if hook_event is not None:  # an Enum hashes by name: key its members as well
            self._handlers.update({hook_event(n): h for n, h in list(self._handlers.items())})

    async def __call__(self, context: Any) -> None:
        try:
            if getattr(context, _INLINE, False):
                return  # handled when it was emitted
        except Exception:
            pass
        self.handle(context)

    def handle_inline(self, context: Any) -> None:
        """handle() at the moment ccproxy emits the event (ccproxy_usdt.inline); marks the
        context so that its later delivery by ccproxy's hook thread is ignored. A context
        that cannot be marked is left to that delivery."""
        try:
            setattr(context, _INLINE, True)
        except Exception:
            return
        self.handle(context)

    def handle(self, context: Any) -> None:
        """Synchronous entry point, usable where awaiting is impossible (a generator being
        closed by a client disconnect)."""
        try:
            event = context.event
            handler = self._handlers.get(event)
            if handler is None and not isinstance(event, str):
                handler = self._handlers.get(_event_name(event))
            if handler is not None:
                handler(context, self.probes.enabled_mask())
        except Exception:  # a metrics hook must never fail a request
            self.dropped += 1

    def announce(self) -> None:
        """Fire the state probes (info, pool gauges) again for tracers attached meanwhile."""
        try:
            if self.version is not None:
                self.probes.info(self.version)
            if self.pool is not None:
                self.pool.refresh()
            self.sweep()
        except Exception:
            self.dropped += 1

    # -- per-request state -------------------------------------------------------------

    def _request(self, rid: Any) -> _Request:
        req = self._requests.get(rid)
        if req is None:
            if len(self._requests) >= _REQUESTS_MAX:
                self._requests.clear()
                self._ended.clear()
            req = self._requests[rid] = _Request()
        return req

    # -- field extraction --------------------------------------------------------------

    @staticmethod
    def _rid(ctx: Any) -> Any:
        rid = _get(ctx.data, "request_id")
        if rid is None:
            rid = _get(ctx.metadata, "request_id")
            if rid is None:
                return 0
        if type(rid) is str or isinstance(rid, (int, bytes)) and not isinstance(rid, bool):
            return rid
        return str(rid)

    @staticmethod
    def _labels(ctx: Any, req: _Request | None = None) -> dict:
        data, meta = ctx.data, ctx.metadata
        if type(data) is not dict:
            data = {}
        method = data.get("method") or getattr(ctx.request, "method", None)
        endpoint = data.get("endpoint")
        if endpoint is None:
            endpoint = _first(data, ("path", "url"))
            if endpoint is None and ctx.request is not None:
                endpoint = getattr(ctx.request, "url", None)
        model = data.get("model")
        if model is None and req is not None:
            model = req.model
        if model is None:
            model = _get(meta, "model")
        service = req.service if req is not None else None
        if service is None:
            service = data.get("service_type")
            if service is None:
                service = service_name(_get(meta, "service_type"))
                if service is None:
                    service = service_name(ctx.provider)
        return {
            "method": _text(method),
            "endpoint": route_path(endpoint),
            "model": _text(model),
            "service_type": _text(service),
        }

    def _provider_labels(self, ctx: Any, usage: Any = None, rid: Any = None) -> dict:
        data = ctx.data
        if type(data) is not dict:
            data = {}
        req = self._requests.get(self._rid(ctx) if rid is None else rid)
        model = data.get("model")
        if model is None:
            model = _get(usage, "model")
            if model is None and req is not None:
                model = req.model
            if model is None:
                model = _get(ctx.metadata, "model")
        service = req.service if req is not None else None
        if service is None:
            service = service_name(ctx.provider or _first(data, ("provider", "service_type")))
        return {"model": _text(model), "service_type": _text(service)}

    @staticmethod
    def _status(ctx: Any) -> int:
        data = ctx.data
        v = None
        if type(data) is dict:
            v = data.get("response_status")
            if v is None:
                v = _first(data, ("status_code", "status"))
        if v is None:
            v = getattr(ctx.response, "status_code", None)
        if type(v) is not int:
            try:
                v = int(v)
            except (TypeError, ValueError):
                return 0
        return v if 0 < v < 1000 else 0

    @staticmethod
    def _streaming(ctx: Any) -> bool:
        v = _first(ctx.data, ("streaming", "stream"))
        if v is None:
            v = _first(ctx.metadata, ("streaming", "stream"))
        return v is True

    def _usage(self, ctx: Any, req: _Request | None, labels: dict) -> dict:
        """Probe keywords for the usage and cost of a completed, unstreamed request."""
        data = ctx.data or {}
        reported = data.get("usage")
        if not reported and req is not None and req.usage:
            reported = req.usage
        usage = usage_kwargs(reported, ctx.metadata)
        cost = _first(data, ("cost_usd",))
        if cost is None:
            cost = _first(ctx.metadata, ("cost_usd",))
        if cost is not None:
            usage["cost_nusd"] = usd_to_nusd(cost)
        elif self.pricer is not None and labels["model"]:
            usage["cost_nusd"] = usd_to_nusd(self.pricer(labels["model"], usage))
        return usage

    # -- handlers ----------------------------------------------------------------------

    def _request_started(self, ctx: Any, mask: int) -> None:
        if mask & (_B_START | _B_FAIL):
            rid = self._rid(ctx)
            labels = self._labels(ctx)
            self._request(rid).labels = labels
            if mask & _B_START:
                self.probes.request_start(rid, **labels)

    def request_ended(self, rid: Any, now: float | None = None) -> None:
        """The server has sent request `rid`'s response, or given up on it (called by the
        plugin's ASGI middleware, outside ccproxy's). ccproxy may still complete it: its
        inner middlewares run on after the response is out. A request still open
        REQUEST_GRACE seconds later was lost (0.2.10 drops request.failed when a client
        disconnect cancels the response) and is failed as ccproxy would have failed it:
        error_type "unknown"."""
        try:
            now = time.monotonic() if now is None else now
            req = self._requests.get(rid)
            if req is not None and req.labels is not None:
                self._ended[rid] = now
            self.sweep(now)
        except Exception:
            self.dropped += 1

    def sweep(self, now: float | None = None) -> None:
        """Fail the requests ended more than REQUEST_GRACE seconds ago and still open.
        ccproxy runs hooks on a thread of its own while the middleware and the announcer
        run on the server's loop: work on a copy, take entries with pop()."""
        now = time.monotonic() if now is None else now
        for rid, ended in list(self._ended.items()):
            if now - ended < REQUEST_GRACE:
                return
            if self._ended.pop(rid, None) is None:
                continue
            req = self._requests.pop(rid, None)
            if req is not None and req.labels is not None and \
                    self.probes.enabled_mask() & _B_FAIL:
                labels = dict(req.labels)
                labels["model"] = labels["model"] or _text(req.model)
                labels["service_type"] = req.service or labels["service_type"]
                self.probes.request_fail(rid, "unknown", **labels)

    def _request_completed(self, ctx: Any, mask: int) -> None:
        rid = self._rid(ctx)
        req = self._requests.pop(rid, None)
        self._ended.pop(rid, None)
        if not mask & _B_COMPLETE:
            return
        data = ctx.data or {}
        dur = data.get("duration")
        duration_ns = seconds_to_ns(dur) if dur is not None else \
            seconds_to_ns(_first(data, ("duration_ms",)) or 0) // 1000
        labels = self._labels(ctx, req)
        usage = {}
        if not (req is not None and req.streamed) and not self._streaming(ctx):
            usage = self._usage(ctx, req, labels)
        self.probes.request_complete(rid, self._status(ctx), duration_ns=duration_ns,
                                     **labels, **usage)

    def _request_failed(self, ctx: Any, mask: int) -> None:
        rid = self._rid(ctx)
        req = self._requests.pop(rid, None)
        self._ended.pop(rid, None)
        if mask & _B_FAIL:
            err = ctx.error
            error_type = type(err).__name__ if err is not None else "unknown"
            self.probes.request_fail(rid, error_type, **self._labels(ctx, req))

    def _provider_request(self, ctx: Any, mask: int) -> None:
        if not mask & _ANY_REQUEST_PROBE:
            return
        data = ctx.data or {}
        body = data.get("body")
        rid = self._rid(ctx)
        req = self._request(rid)
        model = _first(data, ("model",))
        if model is None:
            model = _first(body, ("model",))
        if model is not None:
            req.model = _text(model)
        if ctx.provider:
            req.service = service_name(ctx.provider)
        req.prepared = True
        if mask & _B_SENT:
            self.probes.provider_request_sent(rid, **self._provider_labels(ctx, rid=rid))

    def _http_request(self, ctx: Any, mask: int) -> None:
        """The upstream HTTP client is about to send a request. ccproxy 0.2.10's codex plugin
        emits no provider.request.prepared (its adapter hands streams and buffered answers
        straight to the client): for an open request that had none, this is its provider
        request; the model is the body's, the provider its route's (ccproxy_usdt.routes).
        Requests provider.request.prepared announced are not sent twice."""
        data = ctx.data
        if type(data) is not dict or not data.get("is_provider_request") or \
                not mask & _ANY_REQUEST_PROBE:
            return
        rid = self._rid(ctx)
        req = self._requests.get(rid)
        if req is None or req.prepared or req.labels is None:
            return  # announced already, or no request of the server's (a price download)
        model = body_model(data.get("body"))
        if model is not None:
            req.model = _text(model)
        service = service_name(ctx.provider)
        if service is None and self.routes is not None:
            service = self.routes.lookup(req.labels.get("endpoint"))
        if service is not None:
            req.service = service
        if mask & _B_SENT:
            self.probes.provider_request_sent(rid, **self._provider_labels(ctx, rid=rid))

    def _provider_response(self, ctx: Any, mask: int) -> None:
        if not mask & _ANY_REQUEST_PROBE:
            return
        rid = self._rid(ctx)
        status = self._status(ctx)
        req = self._requests.get(rid)
        if req is not None:
            req.status = status
            if req.buffered and 0 < status < 400:
                return  # answered when ccproxy has read the stream (_buffered_answer)
        if mask & _B_RECEIVED:
            self.probes.provider_response_received(rid, status,
                                                   **self._provider_labels(ctx, rid=rid))

    def _no_stream(self, rid: Any) -> bool:
        """The provider answered with an error: 0.2.10 still emits provider.stream.start
        for it, then passes the error body on with neither chunk nor end. It is a response,
        not a stream: no stream probe fires, and the provider's time ends at its headers."""
        req = self._requests.get(rid)
        return req is not None and (req.status >= 400 or req.buffered)

    def _http_response(self, ctx: Any, mask: int) -> None:
        data = ctx.data or {}
        if data.get("is_provider_response"):
            self._provider_response(ctx, mask)
        elif data.get("is_client_response") and mask & _B_COMPLETE:
            rid = self._rid(ctx)
            req = self._requests.get(rid)
            if req is not None and req.streamed:
                return  # its usage went with provider_stream_end
            found = usage_from_body(data.get("response_body"))
            if found:
                req = self._request(rid)
                if req.model is None:
                    req.model = found.get("model")
                found[_NORMALISED] = True
                req.usage = found

    def _provider_error(self, ctx: Any, mask: int) -> None:
        rid = self._rid(ctx)
        self._buffered_answer(ctx, rid, mask)
        if mask & _B_PERROR:
            err = ctx.error
            error_type = "provider_" + (type(err).__name__ if err is not None else "unknown")
            endpoint = route_path(_first(ctx.data, ("endpoint",))) or "/"
            self.probes.provider_error(rid, error_type, endpoint=endpoint,
                                       **self._provider_labels(ctx, rid=rid))

    def _stream_start(self, ctx: Any, mask: int) -> None:
        if _get(ctx.data, "buffered_mode") is True:
            if mask & _ANY_REQUEST_PROBE:
                self._request(self._rid(ctx)).buffered = True
            return
        if mask & _B_SSTART:
            rid = self._rid(ctx)
            if not self._no_stream(rid):
                self.probes.provider_stream_start(rid, **self._provider_labels(ctx, rid=rid))

    def _stream_chunk(self, ctx: Any, mask: int) -> None:
        if mask & _B_SCHUNK:
            rid = self._rid(ctx)
            if self._no_stream(rid):
                return
            data = ctx.data or {}
            size = data.get("chunk_size")
            if size is None:
                chunk = data.get("chunk")
                size = len(chunk) if isinstance(chunk, (bytes, bytearray, str)) else 0
            self.probes.provider_stream_chunk(rid, _count(size),
                                              **self._provider_labels(ctx, rid=rid))

    def _stream_end(self, ctx: Any, mask: int) -> None:
        rid = self._rid(ctx)
        if _get(ctx.data, "buffered_mode") is True:
            self._buffered_answer(ctx, rid, mask)
            return
        usage = _first(ctx.data, ("usage_metrics", "usage"))
        if usage:
            # Remembered even while detached: request.completed must not report it again.
            self._request(rid).streamed = True
        if not mask & _B_SEND or self._no_stream(rid):
            return
        if not usage:
            usage = self._upstream_usage(ctx, rid)
        kw = usage_kwargs(usage) if usage else {}
        labels = self._provider_labels(ctx, usage, rid)
        if usage and not kw["cost_nusd"] and self.pricer is not None and labels["model"]:
            kw["cost_nusd"] = usd_to_nusd(self.pricer(labels["model"], kw))
        self.probes.provider_stream_end(rid, **labels, **kw)

    def _buffered_answer(self, ctx: Any, rid: Any, mask: int) -> None:
        """ccproxy has read the whole stream it buffers into a plain answer (its
        provider.stream.end): the provider has answered, as a plain request's provider has
        once its body is read. Or the stream broke (provider.error): the provider had
        answered with the status of its headers, counted then. Once per request. The usage
        is the client's answer's, reported at completion."""
        req = self._requests.get(rid)
        if req is None or not req.buffered or req.answered or not 0 < req.status < 400:
            return
        req.answered = True
        if mask & _B_RECEIVED:
            self.probes.provider_response_received(rid, req.status,
                                                   **self._provider_labels(ctx, rid=rid))

    def _upstream_usage(self, ctx: Any, rid: Any) -> dict | None:
        """The usage of the stream ccproxy read from the provider (0.2.10 passes its text in
        provider.stream.end, and no usage_metrics): output tokens are known at the stream's
        end, where the tracer times the tokens. The request then reports none at completion."""
        found = usage_from_body(_first(ctx.data, ("upstream_stream_text",)))
        if not found or not any(k != "model" for k in found):
            return None
        found[_NORMALISED] = True
        self._request(rid).streamed = True
        return found


class PoolProbes:
    """The pool_* probes for a pool of upstream clients; keeps the last gauges to re-fire."""

    def __init__(self, probes: Any = None) -> None:
        self.probes = probes if probes is not None else _default_probes()
        self.gauges: tuple | None = None

    def acquired(self, wait_seconds: float = 0.0) -> None:
        self.probes.pool_acquire(seconds_to_ns(wait_seconds))

    def acquired_ns(self, wait_ns: int) -> None:
        self.probes.pool_acquire(wait_ns if wait_ns > 0 else 0)

    def released(self) -> None:
        self.probes.pool_release()

    def connection_created(self) -> None:
        self.probes.pool_connection_created()

    def connection_closed(self) -> None:
        self.probes.pool_connection_closed()

    def health_check_failed(self) -> None:
        self.probes.pool_health_check_failed()

    def set_gauges(self, total: int, available: int, active: int) -> None:
        self.gauges = (max(0, total), max(0, available), max(0, active))
        self.probes.pool_gauges(*self.gauges)

    def refresh(self) -> None:
        if self.gauges is not None:
            self.probes.pool_gauges(*self.gauges)


def now_ns() -> int:
    return time.monotonic_ns()
