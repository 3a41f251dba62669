# SPDX-License-Identifier: BSD-2-Clause
"""Per-model prices of the demo and the tests, USD per million tokens (a LiteLLM excerpt).

cost_usd = (input*p_in + output*p_out + cache_read*p_cache_read + cache_write*p_cache_write)/1e6
Models not in the table have no cost (the proxy reports none).
"""

# model: (input, output, cache_read, cache_write)
PRICES = {
    "claude-sonnet-4-20250514": (3.0, 15.0, 0.30, 3.75),
    "claude-opus-4-20250514": (15.0, 75.0, 1.50, 18.75),
    "claude-3-5-haiku-20241022": (0.80, 4.0, 0.08, 1.0),
    "gpt-4o": (2.50, 10.0, 1.25, 0.0),
    "gpt-4o-mini": (0.15, 0.60, 0.075, 0.0),
}


def cost_usd(model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens):
    """The request's cost in USD, or None for a model without a price."""
    p = PRICES.get(model)
    if p is None:
        return None
    return (input_tokens * p[0] + output_tokens * p[1] + cache_read_tokens * p[2]
            + cache_write_tokens * p[3]) / 1e6


def litellm_table():
    """PRICES as LiteLLM's model_prices_and_context_window.json spells them (USD per token),
    the file ccproxy's pricing plugin downloads."""
    table = {}
    for model, (p_in, p_out, p_cr, p_cw) in PRICES.items():
        table[model] = {
            "litellm_provider": "anthropic" if model.startswith("claude") else "openai",
            "mode": "chat",
            "input_cost_per_token": p_in / 1e6,
            "output_cost_per_token": p_out / 1e6,
            "cache_read_input_token_cost": p_cr / 1e6,
            "cache_creation_input_token_cost": p_cw / 1e6,
        }
    return table
