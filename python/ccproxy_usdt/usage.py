# SPDX-License-Identifier: BSD-2-Clause
"""Token usage (and model) from an LLM response body, as ccproxy hands it to its hooks.

ccproxy 0.2.10 puts the body a client received into ``http.response`` events: a dict for a
JSON response, the SSE text for a stream. The usage blocks read:

- Anthropic Messages: ``usage`` of the message (JSON), or of ``message_start`` (input and cache
  tokens) and ``message_delta`` (output tokens, cumulative) in a stream.
- OpenAI Chat Completions: ``usage.prompt_tokens``/``completion_tokens`` (the last chunk of a
  stream with ``stream_options.include_usage``), cached tokens in ``prompt_tokens_details``.
- OpenAI Responses (Codex): ``response.usage`` of ``response.completed``, cached tokens in
  ``input_tokens_details``.

A later usage block overrides the fields it carries (stream totals are cumulative). Anything
unparseable is skipped: the result is whatever was found, possibly nothing.
"""
from __future__ import annotations

import json
from typing import Any

# usage dict key -> our token name; first match in this order wins within one block
_KEYS = (
    ("input_tokens", "input_tokens"),
    ("prompt_tokens", "input_tokens"),
    ("output_tokens", "output_tokens"),
    ("completion_tokens", "output_tokens"),
    ("cache_read_input_tokens", "cache_read_tokens"),
    ("cache_creation_input_tokens", "cache_write_tokens"),
)
_DETAILS = ("prompt_tokens_details", "input_tokens_details")


def _usage_block(obj: Any) -> tuple[Any, Any]:
    """(usage dict, model) of one JSON object, looking one level into message/response."""
    if not isinstance(obj, dict):
        return None, None
    for inner in (obj, obj.get("message"), obj.get("response")):
        if isinstance(inner, dict) and isinstance(inner.get("usage"), dict):
            return inner["usage"], inner.get("model") or obj.get("model")
    return None, obj.get("model")


def _merge(out: dict, usage: dict) -> None:
    seen = set()
    for key, name in _KEYS:
        v = usage.get(key)
        if name in seen or isinstance(v, bool) or not isinstance(v, int):
            continue
        seen.add(name)
        out[name] = v
    for key in _DETAILS:
        details = usage.get(key)
        if isinstance(details, dict) and isinstance(details.get("cached_tokens"), int):
            out["cache_read_tokens"] = details["cached_tokens"]


def _sse_objects(text: str):
    for line in text.splitlines():
        if not line.startswith("data:") or "usage" not in line and "model" not in line:
            continue
        try:
            yield json.loads(line[5:])
        except ValueError:
            continue


def usage_from_body(body: Any) -> dict:
    """Token counts (input_tokens, output_tokens, cache_read_tokens, cache_write_tokens) and
    ``model`` found in a response body (dict, JSON or SSE str, bytes); missing keys absent."""
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8", "replace")
    objects: Any = ()
    if isinstance(body, dict):
        objects = (body,)
    elif isinstance(body, str):
        stripped = body.lstrip()
        if stripped.startswith("{"):
            try:
                objects = (json.loads(stripped),)
            except ValueError:
                objects = ()
        else:
            objects = _sse_objects(body)
    out: dict = {}
    for obj in objects:
        usage, model = _usage_block(obj)
        if model and "model" not in out and isinstance(model, str):
            out["model"] = model
        if usage:
            _merge(out, usage)
    return out
