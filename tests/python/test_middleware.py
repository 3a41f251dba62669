# SPDX-License-Identifier: BSD-2-Clause
"""RequestEndMiddleware: tells the hook the request id when the server is done, however the
inner app ended, and passes everything else through."""
import asyncio

import pytest
from usdt_testlib import middleware


class Hook:
    def __init__(self):
        self.ended = []

    def request_ended(self, rid):
        self.ended.append(rid)


def run(app, scope):
    target = middleware.HookTarget()
    target.hook = Hook()
    mw = middleware.RequestEndMiddleware(app, target)

    async def receive():
        return {"type": "http.disconnect"}

    async def send(message):
        pass

    try:
        asyncio.run(mw(scope, receive, send))
    finally:
        return target.hook.ended


def app_setting(rid, exc=None):
    async def app(scope, receive, send):
        scope.setdefault("state", {})["request_id"] = rid
        if exc is not None:
            raise exc
    return app


@pytest.mark.parametrize("exc", [None, RuntimeError("boom"), asyncio.CancelledError()])
def test_the_end_is_told_however_the_app_ended(exc):
    assert run(app_setting("r1", exc), {"type": "http"}) == ["r1"]


def test_other_scopes_and_missing_ids_pass_through():
    assert run(app_setting("r2"), {"type": "lifespan"}) == []
    assert run(app_setting(None), {"type": "http"}) == []


def test_no_hook_yet_is_harmless():
    """Requests served before the plugin has a hook pass through untouched."""
    mw = middleware.RequestEndMiddleware(app_setting("r3"), middleware.HookTarget())
    scope = {"type": "http"}

    async def noop(*a):
        return {"type": "http.disconnect"}

    asyncio.run(mw(scope, noop, noop))
    assert scope["state"] == {"request_id": "r3"}
