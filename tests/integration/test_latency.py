# SPDX-License-Identifier: BSD-2-Clause
"""The latency, stream and provider-status families: switched off, and with their own buckets.

test_exporter.py's test_scrape_equals_truth compares them with the load generator's truth
sample by sample; here the switches that change them.
"""
import json
import os

from conftest import require_root, start_exporter, start_loadgen, wait_truth
import truth as truthlib

ROOMY = ["--limits.requests", "16384", "--limits.errors", "8192", "--limits.usage", "4096"]
NEW = ("ccproxy_time_to_first_token_seconds", "ccproxy_provider_duration_seconds",
       "ccproxy_proxy_overhead_seconds", "ccproxy_time_per_output_token_seconds",
       "ccproxy_stream_chunks_total", "ccproxy_stream_bytes_total",
       "ccproxy_provider_responses_total")


def is_new(name):
    return name.startswith(NEW)


def run(procs, tmp_path, *exporter_args, env=None):
    lg, truth = start_loadgen(procs, tmp_path, "--events", "30000", "--threads", "2",
                              "--seed", "5")
    ex = start_exporter(procs, [lg.pid], *ROOMY, *exporter_args, env=env)
    wait_truth(lg, truth)
    return ex, json.loads(truth.read_text())


def test_switched_off(procs, tmp_path):
    """--no-collect-latency-metrics, or its variable: no new family, the others unchanged."""
    require_root()
    env = dict(os.environ, PLUGINS__METRICS__COLLECT_LATENCY_METRICS="false")
    for name, args, e in (("flag", ["--no-collect-latency-metrics"], None),
                          ("env", [], env)):
        sub = tmp_path / name
        sub.mkdir()
        ex, truth = run(procs, sub, *args, env=e)
        text = ex.metrics()
        assert not [l for l in text.splitlines() if is_new(l.split("{")[0].split(" ")[-1])]
        truth["samples"] = [s for s in truth["samples"] if not is_new(s["name"])]
        mismatches = truthlib.compare(truth, truthlib.parse_exposition(text))
        assert not mismatches, (name, mismatches[:20])
        ex.stop()


def test_own_buckets(procs, tmp_path):
    """Each latency histogram takes its own bounds; counts and sums do not depend on them."""
    require_root()
    bounds = {
        "ccproxy_time_to_first_token_seconds": ("--time-to-first-token-buckets",
                                                ["0.0005", "0.003", "0.03"]),
        "ccproxy_provider_duration_seconds": ("--provider-duration-buckets", ["1e-05", "0.1"]),
        "ccproxy_proxy_overhead_seconds": ("--proxy-overhead-buckets", ["[0.5", "60]"]),
        "ccproxy_time_per_output_token_seconds": ("--time-per-output-token-buckets",
                                                  ["0.002"]),
    }
    args = [a for flag, les in bounds.values() for a in (flag, ",".join(les))]
    ex, truth = run(procs, tmp_path, *args)
    scraped = truthlib.parse_exposition(ex.metrics())
    for base, (_, les) in bounds.items():
        want = [repr(float(le.strip("[]"))) for le in les] + ["+Inf"]
        got = {dict(k[1])["le"] for k in scraped if k[0] == base + "_bucket"}
        assert got == set(want), base
        for suffix in ("_count", "_sum"):
            expected = {(s["name"], frozenset(s["labels"].items())): s
                        for s in truth["samples"] if s["name"] == base + suffix}
            assert expected
            for key, s in expected.items():
                lo, hi = s["range"] if "range" in s else (s["value"], s["value"])
                assert lo <= scraped[key] <= hi, key
            assert {k for k in scraped if k[0] == base + suffix} == set(expected)
    # Everything else is as with the default bounds.
    truth["samples"] = [s for s in truth["samples"]
                        if not s["name"].startswith(tuple(bounds))]
    rest = truthlib.Scrape()
    rest.update({k: v for k, v in scraped.items() if not k[0].startswith(tuple(bounds))})
    assert not truthlib.compare(truth, rest)


def test_per_process_labels(procs, tmp_path):
    """With --per-process-labels every new series carries the pid; without it, the same sums."""
    require_root()
    ex, truth = run(procs, tmp_path, "--per-process-labels")
    scraped = truthlib.parse_exposition(ex.metrics())
    pids = {dict(k[1]).get("pid") for k in scraped if is_new(k[0])}
    assert pids == {str(truth["pid"])}, pids
    # Dropping the pid gives back the truth, sample by sample (one process: nothing merges).
    flat = truthlib.Scrape()
    for (name, labels), v in scraped.items():
        if is_new(name):
            flat[(name, frozenset((k, x) for k, x in labels if k != "pid"))] = v
    truth["samples"] = [s for s in truth["samples"] if is_new(s["name"])]
    assert not truthlib.compare(truth, flat)
