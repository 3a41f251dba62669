# SPDX-License-Identifier: BSD-2-Clause
"""The pool_* probes, fed from the httpx clients of ccproxy's HTTPPoolManager.

ccproxy keeps one httpx.AsyncClient per upstream host (HTTPPoolManager); each pools its TCP
connections (httpcore). The pool families describe those connections, since they are what a
request waits for:

=====================  ============================================================
probe                  when
=====================  ============================================================
pool_acquire(wait)     a request got its connection and starts sending its headers;
                       wait = time from entering the client (event hook) until then,
                       connecting included when a new connection was needed
pool_release           the request's response was closed (the connection returns)
connection_created     a connection first seen in a client's pool
connection_closed      a connection gone from its pool, or closed in it
pool_gauges            total, available (idle) and active connections of all clients
health_check_failed    never: ccproxy does no pool health checks
=====================  ============================================================

Everything rides on public httpx/httpcore hooks: a request event hook (``event_hooks``) that
sets the httpcore ``trace`` extension on the request, and the pool's ``connections`` list.
The manager's ``get_client`` and ``get_shared_client`` are wrapped on the instance so that
clients created later are instrumented too; ccproxy's files are not touched.

While no tracer listens to any pool probe the request hook returns at once and nothing is
tracked; connections found when a tracer attaches are the baseline (not counted as created),
so ``created - closed`` counts the change since attach. Nothing here raises into ccproxy:
failures are counted in ``dropped``.
"""
from __future__ import annotations

import time
import weakref
from typing import Any

from .hook import PROBES

POOL_PROBES = ("pool_acquire", "pool_release", "pool_connection_created",
               "pool_connection_closed", "pool_gauges")
_WRAPPED = ("get_client", "get_shared_client")
# The httpcore trace events that matter, by their full names (one dict lookup per event).
_CONNECT, _ACQUIRE, _RELEASE = range(3)
_STEPS = {}
for _proto in ("http11", "http2"):
    _STEPS[f"{_proto}.send_request_headers.started"] = _ACQUIRE
    _STEPS[f"{_proto}.response_closed.complete"] = _RELEASE
    _STEPS[f"{_proto}.response_closed.failed"] = _RELEASE
_STEPS["connection.connect_tcp.started"] = _CONNECT
_MARK = "_ccproxy_usdt_pool_hook"


_POOL_BITS = sum(1 << PROBES.index(n) for n in POOL_PROBES)


def connection_pool(client: Any) -> Any:
    """The httpcore pool behind an httpx client (it has ``connections``), or None."""
    obj = getattr(client, "_transport", None)
    for _ in range(3):
        if obj is None or hasattr(obj, "connections"):
            return obj
        obj = getattr(obj, "_pool", None) or getattr(obj, "_transport", None)
    return None


class _RequestTrace:
    """httpcore trace callback for one request: acquire at its first header write, release
    when its response closes. Chains to a trace callback that was already set."""

    __slots__ = ("owner", "inner", "start_ns", "acquired", "released")

    def __init__(self, owner: "PoolInstrument", inner: Any) -> None:
        self.owner = owner
        self.inner = inner
        self.start_ns = time.monotonic_ns()
        self.acquired = False
        self.released = False

    async def __call__(self, name: str, info: dict) -> None:
        step = _STEPS.get(name)
        if step is not None:
            try:
                self.owner.on_step(self, step)
            except Exception:
                self.owner.dropped += 1
        if self.inner is not None:
            await self.inner(name, info)


class PoolInstrument:
    """Instruments the clients of one HTTPPoolManager and fires the pool probes."""

    def __init__(self, probes: Any) -> None:
        self.probes = probes
        self.dropped = 0
        self._manager: Any = None
        self._clients: "weakref.WeakSet[Any]" = weakref.WeakSet()
        self._conns: dict[int, weakref.ref] = {}
        self._tracking = False
        self._gauges: tuple[int, int, int] | None = None

    # -- attaching to ccproxy ----------------------------------------------------------

    def attach(self, manager: Any) -> None:
        """Instrument the manager's clients, now and as it creates them."""
        self._manager = manager
        for name in _WRAPPED:
            original = getattr(manager, name, None)
            if original is not None:
                setattr(manager, name, self._wrap(original))
        for client in list(getattr(manager, "_pools", {}).values()):
            self.instrument(client)
        shared = getattr(manager, "_shared_client", None)
        if shared is not None:
            self.instrument(shared)

    def detach(self) -> None:
        """Undo attach(): the manager's own methods back, our hooks out of the clients."""
        if self._manager is not None:
            for name in _WRAPPED:
                self._manager.__dict__.pop(name, None)
            self._manager = None
        for client in list(self._clients):
            try:
                hooks = client.event_hooks
                hooks["request"] = [h for h in hooks["request"] if not hasattr(h, _MARK)]
                client.event_hooks = hooks
            except Exception:
                self.dropped += 1
        self._clients = weakref.WeakSet()

    def _wrap(self, original: Any) -> Any:
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            client = await original(*args, **kwargs)
            self.instrument(client)
            return client

        return wrapper

    def instrument(self, client: Any) -> None:
        """Add the request hook to one httpx client (once)."""
        try:
            if client in self._clients:
                return
            hooks = client.event_hooks
            hooks["request"] = [*hooks.get("request", []), self._request_hook()]
            client.event_hooks = hooks
            self._clients.add(client)
        except Exception:
            self.dropped += 1

    def _request_hook(self) -> Any:
        async def on_request(request: Any) -> None:
            try:
                if not self.probes.enabled_mask() & _POOL_BITS:
                    self._tracking = False
                    return
                if not self._tracking:
                    self.scan()  # the baseline, before this request may connect
                inner = request.extensions.get("trace")
                request.extensions["trace"] = _RequestTrace(self, inner)
            except Exception:
                self.dropped += 1

        setattr(on_request, _MARK, True)
        return on_request

    # -- events ------------------------------------------------------------------------

    def on_step(self, req: _RequestTrace, step: int) -> None:
        if step == _CONNECT:
            self.scan()
        elif step == _ACQUIRE and not req.acquired:
            req.acquired = True
            self.probes.pool_acquire(max(0, time.monotonic_ns() - req.start_ns))
            self.scan()
        elif step == _RELEASE and req.acquired and not req.released:
            req.released = True
            self.probes.pool_release()
            self.scan()

    def scan(self) -> None:
        """Compare the clients' connections with those known: fire created/closed for the
        difference and the gauges when they changed."""
        live: dict[int, Any] = {}
        idle = 0
        for client in list(self._clients):
            pool = connection_pool(client)
            for conn in list(getattr(pool, "connections", ()) or ()):
                if conn.is_closed():
                    continue
                live[id(conn)] = conn
                idle += 1 if conn.is_idle() else 0
        if not self._tracking:
            self._conns = {key: weakref.ref(conn) for key, conn in live.items()}
            self._tracking = True
        else:
            self._diff(live)
        gauges = (len(live), idle, len(live) - idle)
        if gauges != self._gauges:
            self._gauges = gauges
            self.probes.pool_gauges(*gauges)

    def _diff(self, live: dict[int, Any]) -> None:
        for key, ref in list(self._conns.items()):
            conn = live.get(key)
            if conn is None or conn is not ref():
                del self._conns[key]
                self.probes.pool_connection_closed()
        for key, conn in live.items():
            if key not in self._conns:
                self._conns[key] = weakref.ref(conn)
                self.probes.pool_connection_created()

    def refresh(self) -> None:
        """Periodic: catch connections closed while idle and re-fire the gauges."""
        try:
            if not self.probes.enabled_mask() & _POOL_BITS:
                self._tracking = False
                self._conns.clear()
                self._gauges = None
                return
            self.scan()
            if self._gauges is not None:
                self.probes.pool_gauges(*self._gauges)
        except Exception:
            self.dropped += 1
