# SPDX-License-Identifier: BSD-2-Clause
"""InlineDispatch: the hook fires when ccproxy emits an event, once, whatever its thread does."""
import asyncio
import importlib

from ccproxy_standins import HookContext, HookEvent
from usdt_testlib import PURE, Recorder, plugin

inline = importlib.import_module(PURE + ".inline")


class Background:
    """STAND-IN for ccproxy's BackgroundHookThreadManager: queues what it is given."""

    def __init__(self):
        self.queued = []

    def emit_async(self, context, registry):
        self.queued.append((context, registry))


def deliver(manager, hook):
    """What ccproxy's hook thread does later: await every registered hook."""
    for context, _ in manager.queued:
        asyncio.run(hook(context))


def started(rid):
    return HookContext(event=HookEvent.REQUEST_STARTED, data={"request_id": rid})


def test_fires_at_emit_and_not_again_on_delivery(rec):
    h = plugin.UsdtMetricsHook(probes=rec)
    bg = Background()
    assert inline.InlineDispatch(h).attach(bg)
    bg.emit_async(started("a"), "registry")
    assert rec.names() == ["request_start"]  # before anything was delivered
    assert bg.queued[0][1] == "registry"  # ccproxy still gets the context
    deliver(bg, h)
    assert rec.names() == ["request_start"]


def test_synchronous_events_still_come_through_the_registry(rec):
    h = plugin.UsdtMetricsHook(probes=rec)
    inline.InlineDispatch(h).attach(Background())
    asyncio.run(h(started("sync")))
    assert rec.names() == ["request_start"]


def test_a_context_that_cannot_be_marked_is_left_to_the_delivery(rec):
    class Slotted:
        __slots__ = ("event", "data", "metadata", "request", "response", "provider",
                     "error")

        def __init__(self):
            self.event, self.data, self.metadata = "request.started", {"request_id": 1}, {}
            self.request = self.response = self.provider = self.error = None

    h = plugin.UsdtMetricsHook(probes=rec)
    bg = Background()
    inline.InlineDispatch(h).attach(bg)
    bg.emit_async(Slotted(), None)
    assert rec.calls == []
    deliver(bg, h)
    assert rec.names() == ["request_start"] and h.dropped == 0


def test_attach_once_and_detach_restores_the_manager():
    h = plugin.UsdtMetricsHook(probes=Recorder())
    bg = Background()
    first = inline.InlineDispatch(h)
    assert first.attach(bg)
    assert not inline.InlineDispatch(h).attach(bg)  # already wrapped
    assert not inline.InlineDispatch(h).attach(object())  # no emit_async
    first.detach()
    assert "emit_async" not in vars(bg)
    bg.emit_async(started("x"), None)
    assert h.probes.calls == []


def test_a_failing_hook_never_stops_the_emit(rec):
    class Broken(Recorder):
        def enabled_mask(self):
            raise RuntimeError("boom")

    h = plugin.UsdtMetricsHook(probes=Broken())
    bg = Background()
    inline.InlineDispatch(h).attach(bg)
    bg.emit_async(started("b"), None)
    assert len(bg.queued) == 1 and h.dropped == 1
