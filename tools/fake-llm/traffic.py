# SPDX-License-Identifier: BSD-2-Clause
"""Light random traffic for the demo proxy: both APIs, several models, streaming and not,
some upstream errors and some clients that hang up mid-stream.

Run: python3 traffic.py --url http://127.0.0.1:18080 --rate 5 [--duration 60]
"""
import argparse
import asyncio
import random
import time

import httpx

MODELS = {
    "/v1/messages": ["claude-sonnet-4", "claude-haiku-3.5", "claude-opus-4"],
    "/v1/chat/completions": ["gpt-4o", "gpt-4o-mini"],
}


def body(path, model, stream):
    msgs = [{"role": "user", "content": "Say hello " + "please " * random.randint(1, 20)}]
    b = {"model": model, "messages": msgs, "max_tokens": 256, "stream": stream}
    if stream and path == "/v1/chat/completions":
        b["stream_options"] = {"include_usage": True}
    return b


async def one(client, url):
    path = random.choice(list(MODELS))
    model = random.choice(MODELS[path])
    stream = random.random() < 0.5
    headers = {"x-fake-latency-ms": str(random.randint(5, 400)),
               "x-fake-chunks": str(random.randint(3, 12)),
               "x-fake-chunk-delay-ms": str(random.randint(5, 60))}
    r = random.random()
    if r < 0.05:
        headers["x-fake-status"] = random.choice(["500", "429", "529"])
    elif r < 0.07:
        headers["x-fake-fail"] = "reset"
    try:
        if stream and random.random() < 0.05:  # hang up after the first chunk
            async with client.stream("POST", url + path, json=body(path, model, True),
                                     headers=headers) as resp:
                async for _ in resp.aiter_raw():
                    break
            return
        if stream:
            async with client.stream("POST", url + path, json=body(path, model, True),
                                     headers=headers) as resp:
                async for _ in resp.aiter_raw():
                    pass
        else:
            await client.post(url + path, json=body(path, model, False), headers=headers)
    except httpx.HTTPError:
        pass


async def run(url, rate, duration):
    end = time.monotonic() + duration if duration else None
    tasks = set()
    async with httpx.AsyncClient(timeout=60) as client:
        while end is None or time.monotonic() < end:
            t = asyncio.create_task(one(client, url))
            tasks.add(t)
            t.add_done_callback(tasks.discard)
            await asyncio.sleep(random.expovariate(rate))
        if tasks:
            await asyncio.wait(tasks)


def main():
    ap = argparse.ArgumentParser(description="demo traffic")
    ap.add_argument("--url", default="http://127.0.0.1:18080")
    ap.add_argument("--rate", type=float, default=5.0, help="requests per second")
    ap.add_argument("--duration", type=float, default=0, help="seconds, 0 = forever")
    a = ap.parse_args()
    try:
        asyncio.run(run(a.url, a.rate, a.duration))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
