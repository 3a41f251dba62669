# SPDX-License-Identifier: BSD-2-Clause
"""An ASGI middleware outside all of ccproxy's: it tells the hook when the server is done with
a request, whatever happened inside.

ccproxy 0.2.10 emits request.failed for a client that disconnects mid-stream only when the
disconnect shows up while writing; when Starlette notices it first and cancels the response,
the hook emission in its `finally` is cancelled too and the request is never ended (its own
metrics plugin then leaks an active request). This middleware's `finally` runs in every case,
synchronously, after ccproxy's; the hook ends what is still open (UsdtMetricsHook.request_ended).
"""
from __future__ import annotations

from typing import Any


class HookTarget:
    """Where the middleware finds the hook: filled by the plugin runtime once it has one. The
    middleware is built with the app, before any plugin runs."""

    __slots__ = ("hook",)

    def __init__(self) -> None:
        self.hook: Any = None


class RequestEndMiddleware:
    """Pure ASGI (not BaseHTTPMiddleware): it must see the end of the response body, not the
    return of a dispatch function."""

    def __init__(self, app: Any, target: HookTarget) -> None:
        self.app = app
        self.target = target

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            hook = self.target.hook
            state = scope.get("state")
            if hook is not None and isinstance(state, dict):
                rid = state.get("request_id")
                if rid is not None:
                    hook.request_ended(rid)
