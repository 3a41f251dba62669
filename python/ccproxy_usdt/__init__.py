# SPDX-License-Identifier: BSD-2-Clause
"""ccproxy USDT probes for Python proxies (probe ABI of include/ccproxy/probes.h).

Each probe is a function. While no tracer (ccproxy_exporter, bpftrace) is attached to the
probe, a call returns None at once, **without looking at its arguments**: wrong arguments are
only reported (TypeError, ValueError) while a tracer listens. Probe functions never raise for
a well-typed call, whatever the string contents.

Arguments (positional in this order, or by keyword):

    request_start(request_id, method="", endpoint="", model="", service_type="")
    request_complete(request_id, status, method="", endpoint="", model="", service_type="",
                     duration_ns=0, input_tokens=0, output_tokens=0, cache_read_tokens=0,
                     cache_write_tokens=0, cost_nusd=0)
    request_fail(request_id, error_type="", method="", endpoint="", model="", service_type="")
    provider_request_sent(request_id, model="", service_type="", endpoint="")
    provider_response_received(request_id, status=0, model="", service_type="", endpoint="")
    provider_error(request_id, error_type="", model="", service_type="", endpoint="")
    provider_stream_start(request_id, model="", service_type="", endpoint="")
    provider_stream_chunk(request_id, bytes=0, model="", service_type="", endpoint="")
    provider_stream_end(request_id, model="", service_type="", input_tokens=0,
                        output_tokens=0, cache_read_tokens=0, cache_write_tokens=0,
                        cost_nusd=0, endpoint="")
    pool_acquire(wait_ns=0)
    pool_release()
    pool_connection_created()
    pool_connection_closed()
    pool_health_check_failed()
    pool_gauges(total, available, active)
    info(version)

Types:
- request_id: int in 0..2**64-1, or str/bytes, hashed to a u64 with FNV-1a 64 over its UTF-8
  bytes (request_id_hash(x) gives the value; the same in every process).
- Strings: str (encoded UTF-8; unencodable characters such as lone surrogates become "?"),
  bytes (copied as they are), or None (empty; the exporter shows "unknown"). Cut to the field's
  size - 1 bytes on a UTF-8 character boundary: method 7, endpoint 63, model 63,
  service_type 31, error_type 63, version 31 bytes.
- Integers: int (bool accepted, float not: TypeError). Negative values or values that do not
  fit the field (u64; u32 for status and pool gauges) raise ValueError. Values above the
  ABI's sanity limits (TOKENS_MAX, COST_NUSD_MAX, DURATION_NS_MAX) are passed on and the
  exporter drops them as invalid.
- duration_ns=0 in request_complete lets the tracer measure the time since request_start.
- status 0 in request_complete is rendered as status="error".
- cost_nusd: cost in nano-USD, round(cost_usd * 1e9).

Other functions: enabled(name) -> bool, enabled_mask() -> int (bit i for PROBES[i]),
any_enabled() -> bool, request_id_hash(id) -> int. Constants: PROBES, ABI_VERSION, *_MAX.

The hook adapter for ccproxy's hook system is ccproxy_usdt.ccproxy_plugin.
"""
from ._usdt import *  # noqa: F401,F403
from ._usdt import PROBES, enabled_mask  # noqa: F401

PROBE_BIT = {name: 1 << i for i, name in enumerate(PROBES)}
