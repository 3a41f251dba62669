# SPDX-License-Identifier: BSD-2-Clause
"""Fires the probes where ccproxy emits an event, not later on ccproxy's hook thread.

ccproxy 0.2.10 emits every event but provider.request.prepared "fire and forget": its
BackgroundHookThreadManager queues the context and one thread runs the hooks after the emitter
has moved on. The probes time the intervals between events (time to first token, provider
time, proxy overhead), so a probe fired from that thread is late by the queue's delay, and
request.started can even run after the same request's provider.request.prepared, which ccproxy
emits synchronously. Measured on a loaded proxy with this hook alone on that thread: 0.1 ms
(median) to 10 ms late; every slower hook queued there (ccproxy's own metrics, its access log)
adds its time to all later events (docs/ccproxy.md).

InlineDispatch wraps the manager's ``emit_async`` on its instance (ccproxy's files are not
touched): the hook runs first, in the emitting thread, at the moment of the event, then ccproxy
queues the context as before. The context is marked, and the hook ignores a marked context
when the background thread delivers it again. Events emitted synchronously never pass through
``emit_async`` and reach the hook through ccproxy's registry as before.
"""
from __future__ import annotations

from typing import Any

# Attribute set on a context the hook has already seen (and on the wrapper itself).
MARK = "_ccproxy_usdt_inline"


class InlineDispatch:
    """Runs ``hook.handle_inline(context)`` inside a background manager's ``emit_async``."""

    def __init__(self, hook: Any) -> None:
        self.hook = hook
        self.manager: Any = None

    def attach(self, manager: Any) -> bool:
        """Wrap ``manager.emit_async``; False when it has none or is wrapped already."""
        emit_async = getattr(manager, "emit_async", None)
        if not callable(emit_async) or getattr(emit_async, MARK, False):
            return False
        handle_inline = self.hook.handle_inline

        def emit_inline(context: Any, *args: Any, **kwargs: Any) -> Any:
            handle_inline(context)  # never raises
            return emit_async(context, *args, **kwargs)

        setattr(emit_inline, MARK, True)
        manager.emit_async = emit_inline
        self.manager = manager
        return True

    def detach(self) -> None:
        """Give the manager its own ``emit_async`` back (the class's method)."""
        manager, self.manager = self.manager, None
        if manager is not None and getattr(manager.__dict__.get("emit_async"), MARK, False):
            del manager.emit_async
