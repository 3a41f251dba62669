# SPDX-License-Identifier: BSD-2-Clause
"""Fake LLM upstream: Anthropic-style POST /v1/messages, OpenAI-style POST
/v1/chat/completions and OpenAI Responses POST /v1/responses (what ccproxy's codex provider
calls), streaming (SSE) or not, with realistic usage blocks. Nothing of it leaves loopback;
ccproxy's claude_api and codex providers are pointed at it with their base_url settings.

Behaviour is chosen per request by headers, or, for clients behind a proxy that does not
forward them, by a directive anywhere in the messages' text, "[fake key=value ...]" with the
same keys (usage=1,2,3,4 latency_ms=5 status=429 chunks=4 chunk_delay_ms=5 first_chunk_ms=50
fail=reset):
  x-fake-usage: "in,out,cache_read,cache_write"   usage to report (default: derived from the
                                                  request; OpenAI has no cache write: 0)
  x-fake-latency-ms: N                            wait before answering
  x-fake-status: N                                answer with this HTTP error status
  x-fake-chunks: N, x-fake-chunk-delay-ms: N      shape of a stream
  x-fake-first-chunk-ms: N                        wait between a stream's headers and its
                                                  first event
  x-fake-fail: "reset"                            drop the connection mid-stream
Model names: "error-500" -> 500, "error-429" -> 429, "slow-*" -> 2 s latency.

GET /health answers 200 ({"status": "ok"}). GET /model_prices.json serves the prices of
pricing.py in LiteLLM's format (ccproxy's pricing plugin downloads it from its source_url).
GET /stats: the requests answered, by status, and the TCP connections accepted.

Run: python3 fake_upstream.py --port 18081
"""
import argparse
import asyncio
import hashlib
import json
import re
import time
from collections import Counter

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from pricing import litellm_table

STATS = {"status": Counter(), "peers": set()}
_DIRECTIVE = re.compile(r"\[fake ([^\]]*)\]")


def _text_of(body):
    """All message text of a request, wherever the API puts it (Responses: ``input``, a str
    or a list of items)."""
    parts = []
    items = body.get("input")
    if isinstance(items, str):
        parts.append(items)
        items = None
    for m in (body.get("messages") or []) + (items if isinstance(items, list) else []):
        c = m.get("content") if isinstance(m, dict) else None
        if isinstance(c, str):
            parts.append(c)
        elif isinstance(c, list):
            parts.extend(b.get("text", "") for b in c if isinstance(b, dict))
    return " ".join(parts)


def _directives(request, body):
    """x-fake-* headers, overridden by a "[fake k=v ...]" directive in the messages."""
    h = {k[7:].replace("-", "_"): v for k, v in request.headers.items()
         if k.startswith("x-fake-")}
    for m in _DIRECTIVE.finditer(_text_of(body)):
        for kv in m.group(1).split():
            k, _, v = kv.partition("=")
            h[k] = v
    return h


def _usage(req_headers, body):
    h = req_headers.get("usage")
    if h:
        a = [int(x) for x in h.split(",")]
        return (a + [0, 0, 0, 0])[:4]
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).digest()
    return [50 + digest[0] * 4, 20 + digest[1], digest[2] * 8, digest[3] * 2]


def _behaviour(request, body):
    h = _directives(request, body)
    model = str(body.get("model", ""))
    status = int(h.get("status", "0") or 0)
    if model.startswith("error-"):
        status = int(model[6:] or 500)
    latency = float(h.get("latency_ms", "0") or 0) / 1000
    if model.startswith("slow-"):
        latency = max(latency, 2.0)
    return {
        "model": model,
        "status": status,
        "latency": latency,
        "chunks": int(h.get("chunks", "5") or 5),
        "chunk_delay": float(h.get("chunk_delay_ms", "5") or 5) / 1000,
        "first_chunk": float(h.get("first_chunk_ms", "0") or 0) / 1000,
        "fail": h.get("fail", ""),
        "usage": _usage(h, body),
    }


def _error(b, api):
    if api == "anthropic":
        msg = {"type": "error", "error": {"type": "api_error", "message": "fake failure"}}
    else:
        msg = {"error": {"message": "fake failure", "type": "server_error"}}
    return JSONResponse(msg, status_code=b["status"])


def _sse(event, data):
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


async def _anthropic_stream(b):
    i, o, cr, cw = b["usage"]
    await asyncio.sleep(b["first_chunk"])
    yield _sse("message_start", {"type": "message_start", "message": {
        "id": "msg_fake", "type": "message", "role": "assistant", "model": b["model"],
        "content": [], "stop_reason": None,
        "usage": {"input_tokens": i, "output_tokens": 1, "cache_read_input_tokens": cr,
                  "cache_creation_input_tokens": cw}}})
    yield _sse("content_block_start", {"type": "content_block_start", "index": 0,
                                       "content_block": {"type": "text", "text": ""}})
    for n in range(b["chunks"]):
        await asyncio.sleep(b["chunk_delay"])
        if b["fail"] == "reset" and n == b["chunks"] // 2:
            raise ConnectionResetError("fake reset")
        yield _sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                           "delta": {"type": "text_delta", "text": f"word{n} "}})
    yield _sse("content_block_stop", {"type": "content_block_stop", "index": 0})
    yield _sse("message_delta", {"type": "message_delta",
                                 "delta": {"stop_reason": "end_turn"},
                                 "usage": {"output_tokens": o}})
    yield _sse("message_stop", {"type": "message_stop"})


async def _openai_stream(b):
    i, o, cr, _ = b["usage"]
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": b["model"]}
    await asyncio.sleep(b["first_chunk"])
    for n in range(b["chunks"]):
        await asyncio.sleep(b["chunk_delay"])
        if b["fail"] == "reset" and n == b["chunks"] // 2:
            raise ConnectionResetError("fake reset")
        chunk = dict(base, choices=[{"index": 0, "delta": {"content": f"word{n} "},
                                     "finish_reason": None}])
        yield f"data: {json.dumps(chunk)}\n\n".encode()
    final = dict(base, choices=[], usage={
        "prompt_tokens": i + cr, "completion_tokens": o, "total_tokens": i + cr + o,
        "prompt_tokens_details": {"cached_tokens": cr}})
    yield f"data: {json.dumps(final)}\n\n".encode()
    yield b"data: [DONE]\n\n"


def _responses_object(b, status, output, usage=None):
    return {"id": "resp_fake", "object": "response", "created_at": int(time.time()),
            "status": status, "model": b["model"], "output": output,
            "parallel_tool_calls": False, "error": None, "incomplete_details": None,
            "usage": usage}


def _responses_usage(b):
    i, o, cr, _ = b["usage"]
    return {"input_tokens": i + cr, "input_tokens_details": {"cached_tokens": cr},
            "output_tokens": o, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": i + cr + o}


def _responses_item(text, status):
    return {"id": "msg_fake", "type": "message", "role": "assistant", "status": status,
            "content": [] if status != "completed" else
            [{"type": "output_text", "text": text, "annotations": []}]}


async def _responses_stream(b):
    """The OpenAI Responses event sequence: created, in_progress, the message item and its
    text part, one output_text.delta per chunk, the closing events, and response.completed
    with the usage."""
    seq = iter(range(1 << 30))

    def ev(kind, **fields):
        return _sse(kind, dict({"type": kind, "sequence_number": next(seq)}, **fields))

    await asyncio.sleep(b["first_chunk"])
    yield ev("response.created", response=_responses_object(b, "in_progress", []))
    yield ev("response.in_progress", response=_responses_object(b, "in_progress", []))
    yield ev("response.output_item.added", output_index=0,
             item=_responses_item("", "in_progress"))
    part = {"type": "output_text", "text": "", "annotations": []}
    yield ev("response.content_part.added", item_id="msg_fake", output_index=0,
             content_index=0, part=part)
    text = ""
    for n in range(b["chunks"]):
        await asyncio.sleep(b["chunk_delay"])
        if b["fail"] == "reset" and n == b["chunks"] // 2:
            raise ConnectionResetError("fake reset")
        text += f"word{n} "
        yield ev("response.output_text.delta", item_id="msg_fake", output_index=0,
                 content_index=0, delta=f"word{n} ")
    yield ev("response.output_text.done", item_id="msg_fake", output_index=0,
             content_index=0, text=text)
    yield ev("response.content_part.done", item_id="msg_fake", output_index=0,
             content_index=0, part=dict(part, text=text))
    item = _responses_item(text, "completed")
    yield ev("response.output_item.done", output_index=0, item=item)
    yield ev("response.completed",
             response=_responses_object(b, "completed", [item], _responses_usage(b)))


def _responses_response(b):
    return _responses_object(b, "completed", [_responses_item("hello", "completed")],
                             _responses_usage(b))


def _anthropic_message(b):
    i, o, cr, cw = b["usage"]
    return {
        "id": "msg_fake", "type": "message", "role": "assistant", "model": b["model"],
        "content": [{"type": "text", "text": "hello from the fake upstream"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": i, "output_tokens": o, "cache_read_input_tokens": cr,
                  "cache_creation_input_tokens": cw}}


def _openai_completion(b):
    i, o, cr, _ = b["usage"]
    return {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
        "model": b["model"],
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "hello"}}],
        "usage": {"prompt_tokens": i + cr, "completion_tokens": o, "total_tokens": i + cr + o,
                  "prompt_tokens_details": {"cached_tokens": cr}}}


async def _answer(request, api, stream, message):
    body = await request.json()
    b = _behaviour(request, body)
    await asyncio.sleep(b["latency"])
    if b["status"]:
        return _error(b, api)
    if body.get("stream"):
        return StreamingResponse(stream(b), media_type="text/event-stream")
    return JSONResponse(message(b))


async def messages(request: Request):
    return await _answer(request, "anthropic", _anthropic_stream, _anthropic_message)


async def chat_completions(request: Request):
    return await _answer(request, "openai", _openai_stream, _openai_completion)


async def responses(request: Request):
    return await _answer(request, "openai", _responses_stream, _responses_response)


async def health(request: Request):
    return JSONResponse({"status": "ok"})


async def model_prices(request: Request):
    return JSONResponse(litellm_table())


async def stats(request: Request):
    return JSONResponse({"status": {str(k): v for k, v in STATS["status"].items()},
                         "requests": sum(STATS["status"].values()),
                         "connections": len(STATS["peers"])})


class Tally:
    """ASGI middleware: counts the API requests answered and the client connections seen."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            return await self.app(scope, receive, send)
        STATS["peers"].add(tuple(scope.get("client") or ()))

        async def counting_send(message):
            if message["type"] == "http.response.start":
                STATS["status"][message["status"]] += 1
            await send(message)

        await self.app(scope, receive, counting_send)


app = Starlette(routes=[
    Route("/v1/messages", messages, methods=["POST"]),
    Route("/v1/chat/completions", chat_completions, methods=["POST"]),
    Route("/v1/responses", responses, methods=["POST"]),
    Route("/health", health, methods=["GET"]),
    Route("/model_prices.json", model_prices, methods=["GET"]),
    Route("/stats", stats, methods=["GET"]),
])
app.add_middleware(Tally)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=18081)
    a = ap.parse_args()
    uvicorn.run(app, host=a.host, port=a.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
