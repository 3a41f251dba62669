# SPDX-License-Identifier: BSD-2-Clause
"""Usage blocks of the response bodies ccproxy hands its hooks (ccproxy_usdt.usage)."""
import json

import pytest
from usdt_testlib import usage

parse = usage.usage_from_body


def sse(*objs):
    return "".join(f"event: x\ndata: {json.dumps(o)}\n\n" for o in objs) + "data: [DONE]\n\n"


def test_anthropic_json():
    body = {"model": "m", "usage": {"input_tokens": 1, "output_tokens": 2,
                                    "cache_read_input_tokens": 3,
                                    "cache_creation_input_tokens": 4}}
    want = {"model": "m", "input_tokens": 1, "output_tokens": 2, "cache_read_tokens": 3,
            "cache_write_tokens": 4}
    assert parse(body) == want
    assert parse(json.dumps(body)) == want
    assert parse(json.dumps(body).encode()) == want


def test_anthropic_stream_output_is_the_last_cumulative_value():
    text = sse({"type": "message_start", "message": {"model": "m", "usage": {
        "input_tokens": 5, "output_tokens": 1, "cache_read_input_tokens": 6}}},
        {"type": "content_block_delta", "delta": {"text": "usage is a word"}},
        {"type": "message_delta", "usage": {"output_tokens": 9}},
        {"type": "message_delta", "usage": {"output_tokens": 11}})
    assert parse(text) == {"model": "m", "input_tokens": 5, "output_tokens": 11,
                           "cache_read_tokens": 6}


def test_openai_chat_stream_and_cached_tokens():
    text = sse({"model": "g", "choices": []},
               {"model": "g", "choices": [], "usage": {
                   "prompt_tokens": 10, "completion_tokens": 4,
                   "prompt_tokens_details": {"cached_tokens": 3}}})
    assert parse(text) == {"model": "g", "input_tokens": 10, "output_tokens": 4,
                           "cache_read_tokens": 3}


def test_openai_responses_completed_event():
    text = sse({"type": "response.completed", "response": {"model": "c", "usage": {
        "input_tokens": 7, "output_tokens": 8, "input_tokens_details": {"cached_tokens": 2}}}})
    assert parse(text) == {"model": "c", "input_tokens": 7, "output_tokens": 8,
                           "cache_read_tokens": 2}


@pytest.mark.parametrize("body", [
    None, 0, [], {}, "", "{", "data: {", "data: [DONE]", b"\xff\xfe", {"usage": "x"},
    {"usage": {"input_tokens": True, "output_tokens": "3"}}, "x" * 100000,
])
def test_junk_gives_nothing(body):
    assert {k: v for k, v in parse(body).items() if k != "model"} == {}
