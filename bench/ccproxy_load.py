# SPDX-License-Identifier: BSD-2-Clause
"""Fixed-concurrency load through ccproxy to the fake upstream, for `make bench` row 6:
N requests to the claude_api route, half streamed, all answered 200 with a usage block.

    python3 ccproxy_load.py URL N CONCURRENCY  ->  {"seconds": s, "ok": n, "failed": {...}}
"""
import asyncio
import json
import sys
import time
from collections import Counter

import httpx

ROUTE = "/claude/v1/messages"


def body(i):
    return {"model": "claude-sonnet-4-20250514", "max_tokens": 64, "stream": i % 2 == 1,
            "messages": [{"role": "user",
                          "content": f"bench {i} [fake usage=300,40,500,60 chunks=4 "
                                     "chunk_delay_ms=0]"}]}


async def run(url, n, concurrency):
    ok = 0
    next_i = 0
    failed = Counter()

    async def worker(client):
        nonlocal ok, next_i
        while next_i < n:
            i = next_i
            next_i += 1
            b = body(i)
            try:
                if b["stream"]:
                    async with client.stream("POST", url + ROUTE, json=b) as r:
                        async for _ in r.aiter_raw():
                            pass
                        status = r.status_code
                else:
                    status = (await client.post(url + ROUTE, json=b)).status_code
            except httpx.HTTPError as e:
                status = type(e).__name__
            ok += status == 200
            if status != 200:
                failed[str(status)] += 1

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        t0 = time.monotonic()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return time.monotonic() - t0, ok, dict(failed)


def main():
    url, n, conc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    seconds, ok, failed = asyncio.run(run(url, n, conc))
    print(json.dumps({"seconds": seconds, "ok": ok, "failed": failed}))


if __name__ == "__main__":
    main()
