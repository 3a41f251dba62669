# SPDX-License-Identifier: BSD-2-Clause
"""Light random traffic for ccproxy in front of the fake upstream: its Anthropic and OpenAI
routes of the claude_api provider, several models, streaming and not, some upstream errors
(429, 500, 529), some streams the upstream drops and some clients that hang up mid-stream.
The fake's behaviour rides in the message text ("[fake ...]", see fake_upstream.py), since
ccproxy does not forward a client's own headers upstream.

Run: python3 traffic.py --url http://127.0.0.1:18080 --rate 5 [--duration 60]
"""
import argparse
import asyncio
import random
import time

import httpx

ROUTES = ("/claude/v1/messages", "/claude/v1/chat/completions")
MODELS = ("claude-sonnet-4-20250514", "claude-3-5-haiku-20241022", "claude-opus-4-20250514")


def body(path, model, stream, directive):
    text = "Say hello " + "please " * random.randint(1, 20) + f" [fake {directive}]"
    b = {"model": model, "messages": [{"role": "user", "content": text}], "max_tokens": 256,
         "stream": stream}
    if stream and path.endswith("/chat/completions"):
        b["stream_options"] = {"include_usage": True}
    return b


def directive():
    d = (f"latency_ms={random.randint(5, 400)} chunks={random.randint(3, 12)} "
         f"chunk_delay_ms={random.randint(5, 60)}")
    r = random.random()
    if r < 0.05:
        d += " status=" + random.choice(["500", "429", "529"])
    elif r < 0.07:
        d += " fail=reset"
    return d


async def one(client, url):
    path = random.choice(ROUTES)
    model = random.choice(MODELS)
    stream = random.random() < 0.5
    b = body(path, model, stream, directive())
    try:
        if stream:
            async with client.stream("POST", url + path, json=b) as resp:
                hang_up = random.random() < 0.05
                async for _ in resp.aiter_raw():
                    if hang_up:
                        break
        else:
            await client.post(url + path, json=b)
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
