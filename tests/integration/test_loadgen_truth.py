# SPDX-License-Identifier: BSD-2-Clause
"""Self-consistency of ccproxy-loadgen's truth file, and of truth.py's comparison.

Runs the load generator with no tracer attached (no root, no BPF needed): the truth is what an
exporter would have to serve had it been attached, so its invariants can be checked alone.
"""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
import families  # noqa: E402
import truth  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LOADGEN = os.path.join(ROOT, os.environ.get("OUTPUT", "build"), "ccproxy-loadgen")

PROBES = families.probes()
RESP_LE = families.le_values("ccproxy_response_duration_seconds")
POOL_LE = families.le_values("ccproxy_pool_acquisition_duration_seconds")
LABELS = families.sample_labels()
# The latency families (an extension: collect "latency"), their default bounds all alike.
LATENCY = [f["name"] for f in families.families()
           if f["collect"] == "latency" and f["type"] == "histogram"]
LAT_LE = families.le_values(LATENCY[0])
CASES = ["stream_full", "stream_no_chunk", "stream_no_end", "stream_failed", "stream_shared",
         "rate_limited"]
# Raw label values fired by tools/loadgen/mix.c that the exporter must rewrite; keep in sync.
RAW_BAD_MODEL = (b"bad-\xff-\xc3(-\xe2\x82-\xf0\x9f\x98-\xed\xa0\x80-\xc0\xaf-"
                 b"\xf4\x90\x80\x80-end")
RAW_LONG_MODEL = (b"claude-3-7-sonnet-extended-thinking-with-a-very-long-model-nam"
                  b"\xc3\xa9-and-then-some-more-text-that-is-cut")


@pytest.fixture(scope="module")
def loadgen():
    if not os.path.exists(LOADGEN):
        pytest.fail(f"{LOADGEN} is missing: run make")
    return LOADGEN


def run(loadgen, tmp_path, *args, name="truth.json"):
    path = tmp_path / name
    proc = subprocess.run([loadgen, *args, "--truth", str(path)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    with open(path, encoding="utf-8") as f:
        return json.load(f), proc.stdout


@pytest.fixture(scope="module")
def mixed(loadgen, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mixed")
    return run(loadgen, tmp, "--events", "60000", "--threads", "2", "--seed", "7",
               "--leave-active", "5")


def series(samples, name):
    return [s for s in samples if s["name"] == name]


def value(sample):
    return sample["value"] if "value" in sample else None


def total(samples, name):
    return sum(s["value"] for s in series(samples, name))


def lo_hi(sample):
    if "range" in sample:
        return tuple(sample["range"])
    return sample["value"], sample["value"]


def test_counts_add_up(mixed):
    data, out = mixed
    hits = data["probe_hits"]
    assert sorted(hits) == sorted(PROBES)
    assert sum(hits.values()) == data["events"] == 60000
    assert all(hits[p] > 0 for p in PROBES), hits
    assert data["invalid"] > 0 and data["leave_active"] == 5 and data["only"] is None
    first = out.splitlines()[0]
    assert first.startswith("events=60000 threads=2 ns_per_event=")
    for p in PROBES:
        assert "fired probe=%s count=%d" % (p, hits[p]) in out


def test_family_labels(mixed):
    samples = mixed[0]["samples"]
    for s in samples:
        assert s["name"] in LABELS, s
        assert set(s["labels"]) == LABELS[s["name"]], s
        for v in s["labels"].values():
            assert v and "\0" not in v, s
        assert ("value" in s) != ("range" in s), s
    keys = [(s["name"], frozenset(s["labels"].items())) for s in samples]
    assert len(keys) == len(set(keys)), "duplicate samples"


def test_histograms(mixed):
    samples = mixed[0]["samples"]
    for base, les in [("ccproxy_response_duration_seconds", RESP_LE),
                      ("ccproxy_pool_acquisition_duration_seconds", POOL_LE)] + \
            [(base, LAT_LE) for base in LATENCY]:
        groups = {}
        for s in series(samples, base + "_bucket"):
            labels = dict(s["labels"])
            le = labels.pop("le")
            groups.setdefault(frozenset(labels.items()), {})[le] = s
        assert groups
        counts = {frozenset(s["labels"].items()): s for s in series(samples, base + "_count")}
        sums = {frozenset(s["labels"].items()): s for s in series(samples, base + "_sum")}
        assert set(groups) == set(counts) == set(sums)
        for key, buckets in groups.items():
            assert list(buckets) and sorted(buckets, key=les.index) == les
            count = counts[key]["value"]
            assert value(buckets["+Inf"]) == count
            prev = (0, 0)
            for le in les:
                lo, hi = lo_hi(buckets[le])
                assert 0 <= lo <= hi <= count, (key, le)
                assert lo >= prev[0] and hi >= prev[1], (key, le)
                prev = (lo, hi)
            lo, hi = lo_hi(sums[key])
            assert 0 <= lo <= hi
            if base.startswith("ccproxy_response") and count:
                assert hi > 0


def test_measured_series_are_ranges(mixed):
    """Only what the kernel clock measures is a range: durations paired by the tracer, and the
    latency families (counts stay exact)."""
    samples = mixed[0]["samples"]
    ranged = [s for s in samples if "range" in s]
    assert ranged
    for s in ranged:
        assert s["labels"].get("endpoint") == "/v1/measured" or \
            s["name"].rsplit("_", 1)[0] in LATENCY, s
        assert not s["name"].endswith("_count"), s
    measured = [s for s in series(samples, "ccproxy_response_duration_seconds_count")
                if s["labels"]["endpoint"] == "/v1/measured"]
    assert measured and all("value" in s for s in measured)


def test_cross_family_totals(mixed):
    data = mixed[0]
    samples, hits = data["samples"], data["probe_hits"]
    assert total(samples, "ccproxy_requests_total") == \
        hits["request_complete"] + hits["request_fail"]
    errors = [s for s in series(samples, "ccproxy_requests_total")
              if s["labels"]["status"] == "error"]
    assert sum(s["value"] for s in errors) == hits["request_fail"]
    assert total(samples, "ccproxy_errors_total") == hits["request_fail"] + hits["provider_error"]
    assert series(samples, "ccproxy_active_requests")[0]["value"] == data["leave_active"] == 5
    for probe, name in (("pool_acquire", "ccproxy_pool_acquisitions_total"),
                        ("pool_release", "ccproxy_pool_releases_total"),
                        ("pool_connection_created", "ccproxy_pool_connections_created_total"),
                        ("pool_connection_closed", "ccproxy_pool_connections_closed_total"),
                        ("pool_health_check_failed",
                         "ccproxy_pool_health_check_failures_total")):
        assert total(samples, name) == hits[probe], name
    waits = total(samples, "ccproxy_pool_acquisition_duration_seconds_count")
    assert 0 < waits <= hits["pool_acquire"]
    observed = total(samples, "ccproxy_response_duration_seconds_count")
    assert 0 < observed <= hits["request_complete"]
    gauges = {n: total(samples, "ccproxy_pool_clients_" + n)
              for n in ("total", "available", "active")}
    assert gauges["total"] == gauges["available"] + gauges["active"] > 0
    assert series(samples, "ccproxy_info")[0]["labels"] == \
        {"metrics_enabled": "true", "version": "0.2.10-loadgen"}
    assert series(samples, "up") == [{"name": "up", "labels": {"job": "ccproxy"}, "value": 1}]
    types = {s["labels"]["type"] for s in series(samples, "ccproxy_tokens_total")}
    assert types == {"input", "output", "cache_read", "cache_write"}
    assert all(s["labels"]["cost_type"] == "total"
               for s in series(samples, "ccproxy_cost_usd_total"))


def test_label_normalisation(mixed):
    samples = mixed[0]["samples"]
    models = {s["labels"]["model"] for s in samples if "model" in s["labels"]}
    assert RAW_BAD_MODEL[:63].decode("utf-8", "replace") in models
    assert RAW_LONG_MODEL[:63].decode("utf-8", "replace") in models
    assert RAW_LONG_MODEL[:62].decode() + "\ufffd" in models
    assert 'odd "quoted" \\back\\slash\nnewline' in models
    assert "mistral-mod\u00e8le-\u2713" in models
    assert "unknown" in models
    assert all(len(m.encode()) <= 63 or "\ufffd" in m for m in models)
    services = {s["labels"]["service_type"] for s in samples if "service_type" in s["labels"]}
    assert services == {"claude_api", "claude_sdk", "codex", "copilot", "unknown"}
    methods = {s["labels"]["method"] for s in series(samples, "ccproxy_requests_total")}
    assert {"POST", "unknown", "PROPFIN"} <= methods
    statuses = {s["labels"]["status"] for s in series(samples, "ccproxy_requests_total")}
    assert statuses == {"200", "400", "429", "500", "529", "error"}
    error_eps = {s["labels"]["endpoint"] for s in series(samples, "ccproxy_errors_total")}
    assert {"/", "unknown"} <= error_eps
    provider = {s["labels"]["error_type"] for s in series(samples, "ccproxy_errors_total")
                if s["labels"]["error_type"].startswith("provider_")}
    assert len(provider) == 5 and all(len(e) <= 63 for e in provider)


def test_on_bound_durations(mixed):
    """10000000 ns is le="0.01": a bound value never lands in the next bucket only."""
    samples = mixed[0]["samples"]
    first = sum(lo_hi(s)[0] for s in series(samples, "ccproxy_response_duration_seconds_bucket")
                if s["labels"]["le"] == "0.01")
    assert first > 0
    over = [s for s in series(samples, "ccproxy_response_duration_seconds_bucket")
            if s["labels"]["le"] == "25.0"]
    inf = [s for s in series(samples, "ccproxy_response_duration_seconds_bucket")
           if s["labels"]["le"] == "+Inf"]
    assert sum(lo_hi(s)[1] for s in over) < sum(s["value"] for s in inf)


def exact_samples(data):
    """Samples that do not depend on timing: not the kernel-measured latency buckets and sums
    (their counts do not depend on it)."""
    timed = tuple(base + suffix for base in LATENCY for suffix in ("_bucket", "_sum"))
    return {(s["name"], frozenset(s["labels"].items())): s["value"]
            for s in data["samples"] if "value" in s and s["name"] not in timed}


def test_deterministic(loadgen, tmp_path, mixed):
    again, _ = run(loadgen, tmp_path, "--events", "60000", "--threads", "2", "--seed", "7",
                   "--leave-active", "5")
    a, b = exact_samples(mixed[0]), exact_samples(again)
    # Measured series may have one exact sample in one run and a range in the other.
    common = set(a) & set(b)
    assert len(common) > 0.95 * len(a)
    assert all(a[k] == b[k] for k in common)
    assert mixed[0]["probe_hits"] == again["probe_hits"]
    other, _ = run(loadgen, tmp_path, "--events", "60000", "--threads", "2", "--seed", "8",
                   "--leave-active", "5", name="other.json")
    assert other["probe_hits"] != again["probe_hits"]


def render(data, pick=lambda s: s["range"][0]):
    """A scrape that matches the truth, as an exporter would print it."""
    lines = []
    for s in data["samples"]:
        v = s["value"] if "value" in s else pick(s)
        labels = ",".join('%s="%s"' % (k, val.replace("\\", "\\\\").replace('"', '\\"')
                                       .replace("\n", "\\n"))
                          for k, val in sorted(s["labels"].items()))
        lines.append("%s%s %s" % (s["name"], "{%s}" % labels if labels else "",
                                  repr(float(v))))
    lines.append('ccproxy_exporter_probe_hits_total{probe="info"} 3.0')
    return "\n".join(lines) + "\n"


def test_compare(mixed, tmp_path):
    data = mixed[0]
    scrape = truth.parse_exposition(render(data))
    assert truth.compare(data, scrape) == []
    assert truth.compare(data, truth.parse_exposition(render(data, lambda s: s["range"][1]))) \
        == []
    first = data["samples"][0]
    key = (first["name"], frozenset(first["labels"].items()))
    bad = truth.Scrape()
    bad.update(scrape)
    bad[key] += 1
    del bad[("up", frozenset({("job", "ccproxy")}))]
    bad[("ccproxy_requests_total", frozenset({("status", "999")}))] = 1.0
    ranged = next(s for s in data["samples"] if "range" in s)
    bad[(ranged["name"], frozenset(ranged["labels"].items()))] = ranged["range"][1] + 1e-6
    problems = truth.compare(data, bad)
    assert len(problems) == 4, problems
    assert any(p.startswith("wrong value: " + first["name"]) for p in problems)
    assert 'missing: up{job="ccproxy"} (expected 1.0)' in problems
    assert 'unexpected: ccproxy_requests_total{status="999"} = 1.0' in problems
    # The command line form.
    (tmp_path / "t.json").write_text(json.dumps(data))
    (tmp_path / "s.txt").write_text(render(data))
    cli = [sys.executable, os.path.join(os.path.dirname(__file__), "truth.py"),
           str(tmp_path / "t.json"), str(tmp_path / "s.txt")]
    assert subprocess.run(cli).returncode == 0
    (tmp_path / "s.txt").write_text(render(data).replace('up{job="ccproxy"} 1.0', ""))
    proc = subprocess.run(cli, capture_output=True, text=True)
    assert proc.returncode == 1 and "missing: up" in proc.stdout


def test_only(loadgen, tmp_path):
    data, out = run(loadgen, tmp_path, "--events", "1000", "--threads", "1", "--seed", "1",
                    "--only", "request_complete")
    line = out.strip()
    assert line.startswith("probe=request_complete events=1000 ns_per_event=")
    assert float(line.rsplit("=", 1)[1]) >= 0
    assert data["probe_hits"]["request_complete"] == 1000
    assert sum(data["probe_hits"].values()) == 1000
    assert total(data["samples"], "ccproxy_requests_total") == 1000
    assert total(data["samples"], "ccproxy_response_duration_seconds_count") == 1000
    assert series(data["samples"], "ccproxy_info")[0]["labels"]["version"] == "unknown"


@pytest.mark.parametrize("args", [
    ["--threads", "0"], ["--events", "-1"], ["--events", "x"], ["--only", "no_such_probe"],
    ["--no-such-flag"], ["--seed"], ["--wait-attach", "-1"], ["extra"],
    ["--events", "3", "--leave-active", "2"], ["--only", "info", "--leave-active", "1"],
])
def test_bad_flags(loadgen, args):
    proc = subprocess.run([loadgen, *args], capture_output=True, text=True, timeout=10)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stdout == ""


def test_wait_attach_times_out(loadgen):
    proc = subprocess.run([loadgen, "--events", "100", "--wait-attach", "0.05"],
                          capture_output=True, text=True, timeout=10)
    assert proc.returncode == 2 and "no tracer attached" in proc.stderr


def test_linger(loadgen, tmp_path):
    ready, path = tmp_path / "ready", tmp_path / "truth.json"
    proc = subprocess.Popen([loadgen, "--events", "2000", "--threads", "2", "--seed", "3",
                             "--leave-active", "2", "--linger", "--ready-file", str(ready),
                             "--truth", str(path)], stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 10
        while not path.exists() and time.time() < deadline:
            time.sleep(0.01)
        assert int(ready.read_text()) == proc.pid
        assert json.loads(path.read_text())["pid"] == proc.pid
        time.sleep(0.1)
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert proc.stdout.read().startswith("events=2000 threads=2 ")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def doc_commands():
    """The bpftrace commands of docs/probes.md's sh blocks."""
    with open(os.path.join(ROOT, "docs", "probes.md"), encoding="utf-8") as f:
        text = f.read()
    commands = []
    for block in text.split("```sh\n")[1:]:
        for line in block.split("```")[0].splitlines():
            if commands and commands[-1].count("'") % 2:  # inside a quoted program
                commands[-1] += "\n" + line
            elif line.startswith("bpftrace"):
                commands.append(line)
    return commands


def need_bpftrace():
    if os.geteuid() != 0:
        pytest.skip("needs root to attach bpftrace to the probes")
    if subprocess.run(["sh", "-c", "command -v bpftrace"], capture_output=True).returncode:
        pytest.skip("bpftrace is not installed")


def test_doc_one_liners_cover_every_probe():
    commands = doc_commands()
    for p in PROBES:
        assert any(":ccproxy:%s " % p in c for c in commands), p


@pytest.mark.parametrize("command", doc_commands())
def test_doc_one_liners(loadgen, command):
    need_bpftrace()
    proc = subprocess.run(["sh", "-c", command], cwd=ROOT, capture_output=True, text=True,
                          errors="replace", timeout=120)
    # bpftrace 0.17 cannot remove uprobe_events without tracefs; that noise is harmless.
    errors = [l for l in proc.stderr.splitlines() if "ERROR" in l and
              "failed to detach" not in l and "RLIMIT_MEMLOCK" not in l]
    assert proc.returncode == 0 and not errors, proc.stderr
    values = [l for l in proc.stdout.splitlines() if l.startswith("@") or " version " in l]
    assert values, proc.stdout


def test_bpftrace_counts_match(loadgen):
    """Every hit the load generator reports reaches an attached tracer."""
    need_bpftrace()
    proc = subprocess.run(
        ["bpftrace", "-e", "usdt:%s:ccproxy:* { @[probe] = count(); }" % loadgen, "-c",
         "%s --events 5000 --threads 2 --seed 11 --wait-attach 10" % loadgen],
        capture_output=True, text=True, errors="replace", timeout=120)
    assert proc.returncode == 0, proc.stderr
    traced, fired = {}, {}
    for line in proc.stdout.splitlines():
        if line.startswith("@["):
            name, count = line.split("]: ")
            traced[name.rsplit(":", 1)[1]] = int(count)
        elif line.startswith("fired probe="):
            name, count = line[len("fired probe="):].split(" count=")
            fired[name] = int(count)
    assert sorted(fired) == sorted(PROBES)
    assert traced == fired


def test_latency_families(mixed):
    """Every stream ending is in the mix, and the new families add up across each other."""
    data = mixed[0]
    samples, hits, cases = data["samples"], data["probe_hits"], data["cases"]
    assert sorted(cases) == sorted(CASES) and all(cases[c] > 0 for c in CASES), cases
    assert cases["stream_shared"] == 8
    counts = {base: total(samples, base + "_count") for base in LATENCY}
    streams = cases["stream_full"] + cases["stream_no_end"] + cases["stream_failed"] + \
        cases["stream_shared"]
    # One TTFT per stream that sent a chunk, failed or not.
    assert counts["ccproxy_time_to_first_token_seconds"] == streams
    # A provider time per plain completion and per stream with an end that completed.
    assert counts["ccproxy_provider_duration_seconds"] > \
        cases["stream_full"] + cases["stream_no_chunk"]
    assert 0 < counts["ccproxy_proxy_overhead_seconds"] <= \
        counts["ccproxy_provider_duration_seconds"]
    assert 0 < counts["ccproxy_time_per_output_token_seconds"] <= cases["stream_full"] + 8
    # Filler chunks of untracked requests are not counted; the shared streams' are.
    chunks = total(samples, "ccproxy_stream_chunks_total")
    assert cases["stream_shared"] * 2 * 16 < chunks <= hits["provider_stream_chunk"]
    assert total(samples, "ccproxy_stream_bytes_total") >= chunks
    assert total(samples, "ccproxy_provider_responses_total") == \
        hits["provider_response_received"]
    statuses = {s["labels"]["status"] for s in series(samples, "ccproxy_provider_responses_total")}
    assert {"200", "429", "529"} <= statuses
    # The first-chunk delays put some TTFTs above the first bound, and they are exact there.
    first = [s for s in series(samples, "ccproxy_time_to_first_token_seconds_bucket")
             if s["labels"]["le"] == "0.001"]
    assert sum(lo_hi(s)[0] for s in first) < counts["ccproxy_time_to_first_token_seconds"]
