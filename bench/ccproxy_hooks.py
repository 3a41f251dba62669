# SPDX-License-Identifier: BSD-2-Clause
"""Run with the ccproxy venv's python: the cost of one hook call of ccproxy's own metrics
plugin (prometheus_client) and of ours (USDT probes), on the events of one real 0.2.10
request (those each plugin subscribes to, as ccproxy's HookManager calls them).

Prints one JSON line per phase: {"phase": ..., "<plugin>": ns per call, ...}. Phases:
"detached" at once; then it prints {"phase": "attach", "pid": N} and waits until a tracer
has raised request_complete's semaphore, and measures "attached" (ours only: theirs does not
change). Thread CPU time, pinned by the caller.
"""
import asyncio
import json
import logging
import os
import sys
import time

import ccproxy_usdt
from ccproxy.core.logging import configure_structlog
from ccproxy.core.plugins.hooks.base import HookContext
from ccproxy.core.plugins.hooks.events import HookEvent
from ccproxy.plugins.metrics.config import MetricsConfig
from ccproxy.plugins.metrics.hook import MetricsHook
from ccproxy_usdt.hook import UsdtMetricsHook

URL = "http://127.0.0.1:8000/claude/v1/messages"
BODY = {"id": "msg", "type": "message", "model": "claude-sonnet-4-20250514",
        "usage": {"input_tokens": 370, "output_tokens": 20, "cache_read_input_tokens": 648,
                  "cache_creation_input_tokens": 80}}


def request_events(i):
    """The contexts of request i, as ccproxy 0.2.10's middleware and adapter build them."""
    rid = f"req{i}"
    meta = {"request_id": rid, "method": "POST", "path": "/claude/v1/messages",
            "service_type": "access_log"}
    base = {"request_id": rid, "method": "POST", "url": URL, "headers": {}}
    return [
        HookContext(event=HookEvent.REQUEST_STARTED, timestamp=None, data=dict(base),
                    metadata=meta),
        HookContext(event=HookEvent.PROVIDER_REQUEST_PREPARED, timestamp=None,
                    provider="claude-api", metadata={"request_id": rid},
                    data={"method": "POST", "url": "http://up/v1/messages", "headers": {},
                          "body": {"model": BODY["model"]}, "endpoint": "/v1/messages",
                          "is_streaming": False}),
        HookContext(event=HookEvent.HTTP_RESPONSE, timestamp=None, metadata={},
                    data={"request_id": rid, "status_code": 200, "is_provider_response": True,
                          "response_body": BODY}),
        HookContext(event=HookEvent.HTTP_RESPONSE, timestamp=None, metadata={},
                    data={"request_id": rid, "status_code": 200, "is_client_response": True,
                          "response_body": BODY}),
        HookContext(event=HookEvent.REQUEST_COMPLETED, timestamp=None, metadata=meta,
                    data=dict(base, response_status=200, duration=0.08,
                              streaming_completed=True)),
    ]


def cost(hook, n):
    """ns of thread CPU per hook call, over n requests' events that the hook subscribes to."""
    wanted = set(hook.events)
    batches = [[c for c in request_events(i) if c.event in wanted] for i in range(n)]
    calls = sum(len(b) for b in batches)

    async def drive():
        t0 = time.thread_time_ns()
        for batch in batches:
            for c in batch:
                await hook(c)
        return time.thread_time_ns() - t0

    loop = asyncio.new_event_loop()
    try:
        best = min(loop.run_until_complete(drive()) for _ in range(3))
    finally:
        loop.close()
    return best / calls, calls / n


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    configure_structlog(logging.INFO)  # as `ccproxy serve` runs: debug calls filtered out
    theirs = MetricsHook(MetricsConfig())
    ours = UsdtMetricsHook(version="bench")
    t_ns, t_calls = cost(theirs, n)
    o_ns, o_calls = cost(ours, n)
    print(json.dumps({"phase": "detached", "theirs": t_ns, "theirs_calls": t_calls,
                      "ours": o_ns, "ours_calls": o_calls}), flush=True)
    print(json.dumps({"phase": "attach", "pid": os.getpid()}), flush=True)
    deadline = time.monotonic() + 60
    while not ccproxy_usdt.enabled("request_complete"):
        if time.monotonic() > deadline:
            sys.exit("no tracer attached within 60 s")
        time.sleep(0.05)
    time.sleep(1)  # every site of every probe attached
    o_ns, _ = cost(ours, n // 4)
    print(json.dumps({"phase": "attached", "ours": o_ns}), flush=True)


if __name__ == "__main__":
    main()
