# SPDX-License-Identifier: BSD-2-Clause
"""What a real Prometheus (Debian's 2.42, /usr/bin/prometheus) stores under each format.

One exporter, attached to one load generator, is scraped every second by three Prometheus
servers, all loopback only:
- native:   --enable-feature=native-histograms: asks for protobuf first, gets the native
            histograms (and the classic buckets, which it then ignores);
- text:     no feature, through a proxy that asks for text 0.0.4 only, as every scrape got
            before formats were negotiated;
- om:       no feature, straight to the exporter: asks for OpenMetrics 1.0.0 first, gets it.
A second exporter, run with --web.openmetrics-created-samples and attached to the same load
generator before it fires, is scraped by a fourth:
- om_created: as om, and gets a _created sample after every counter and histogram series.
Once every event has been fired and each server has scraped the final counts:
- text and om store the truth file's samples exactly, and the same series (names, labels,
  values) as each other, the exporter's own ccproxy_exporter_* families included (values of
  those change between scrapes, so only names and labels are compared);
- om_created stores those same series, and beside each counter and histogram series one
  <name>_created series (what Prometheus 2.42 makes of a _created sample), and nothing else;
  its values lie between the exporter's start (the overflow series, made at load) or the
  load generator's first event (all others) and the scrape; the first exporter, without the
  flag, sends those times as created_timestamp when asked for protobuf;
- native stores the same counters and gauges, and for every histogram series (the seed's two
  durations and the latency families) a native
  histogram whose count equals the truth's _count, whose sum lies in the truth's _sum range,
  and whose histogram_quantile lies within the schema's bound of the true quantile of the
  durations the load generator fired (it lists every exact one in the truth file).
A fifth Prometheus, with the feature, scrapes a third exporter run with
--no-native-histogram (and its own load generator): it gets protobuf without native buckets
and must store the classic series of the truth file, le and +Inf included. A sixth scrapes an
exporter whose native bucket map is too small: the series that lost a native bucket must
arrive classic, and every series must be exact either way.
"""
import contextlib
import json
import math
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from prometheus_client.openmetrics.parser import \
    text_string_to_metric_families as openmetrics_families

sys.path.insert(0, os.path.dirname(__file__))
import truth as truthlib  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
import families  # noqa: E402
from conftest import (LOADGEN, Procs, free_port, require_root,  # noqa: E402
                      start_exporter, start_loadgen, wait_truth, wait_until)

PROMETHEUS = Path("/usr/bin/prometheus")
# Every histogram family with native buckets: the seed's two durations and the latency ones.
HISTOGRAMS = tuple(f["name"] for f in families.families() if f.get("native"))
QUANTILES = (0.5, 0.9, 0.99)
SCHEMA = 3
ZERO_THRESHOLD = 0.0001
# What Prometheus 2.42 sends without the feature (scrape/scrape.go, scrapeAcceptHeader).
PROM_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
               "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
PROM_ACCEPT_PROTO = ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
                     "encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,"
                     "application/openmetrics-text;version=0.0.1;q=0.75,"
                     "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")

pytestmark = pytest.mark.skipif(not PROMETHEUS.exists(),
                                reason="/usr/bin/prometheus missing (Debian package prometheus)")


class Prometheus:
    def __init__(self, name, port):
        self.name = name
        self.url = f"http://127.0.0.1:{port}"

    def api(self, path, **params):
        url = f"{self.url}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.loads(r.read())
        if body.get("status") != "success":
            raise ValueError(f"{self.name} {path} {params}: {body}")
        return body["data"]

    def query(self, expr, at):
        return self.api("/api/v1/query", query=expr, time=f"{at:.3f}")["result"]

    def vector(self, expr, at, drop=("instance", "job")):
        """{(name, frozenset(labels)): value} of an instant query; name "" when dropped."""
        out = {}
        for r in self.query(expr, at):
            labels = {k: v for k, v in r["metric"].items() if k not in drop and k != "__name__"}
            key = (r["metric"].get("__name__", ""), frozenset(labels.items()))
            out[key] = float(r["value"][1]) if "value" in r else r["histogram"][1]
        return out


def start_prometheus(procs, tmp_path, name, target, *flags):
    port = free_port()
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [{"job_name": "formats", "static_configs": [{"targets": [target]}]}],
    }
    d = tmp_path / name
    d.mkdir()
    (d / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    log = open(d / "log", "wb")
    p = procs.start([PROMETHEUS, f"--config.file={d / 'prometheus.yml'}",
                     f"--storage.tsdb.path={d / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}",
                     "--log.level=warn", *flags], stdout=log, stderr=subprocess.STDOUT)
    log.close()
    prom = Prometheus(name, port)

    def ready():
        if p.poll() is not None:
            raise AssertionError(f"{name} exited: {(d / 'log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{prom.url}/-/ready", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    wait_until(ready, timeout=30, step=0.1, what=f"prometheus {name} to be ready")
    return prom


class TextOnlyProxy:
    """Forwards scrapes to the exporter asking for text 0.0.4; records the Accept it got."""

    def __init__(self, upstream_port):
        seen = self.accepts = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append(self.headers.get("Accept"))
                req = urllib.request.Request(
                    f"http://127.0.0.1:{upstream_port}{self.path}",
                    headers={"Accept": "text/plain;version=0.0.4"})
                with urllib.request.urlopen(req, timeout=5) as r:
                    body, ctype = r.read(), r.headers["Content-Type"]
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.address = f"127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def truth_total(truth, name):
    return sum(float(s["value"]) for s in truth["samples"] if s["name"] == name)


@pytest.fixture(scope="module")
def scraped(tmp_path_factory):
    require_root()
    tmp = tmp_path_factory.mktemp("formats")
    procs = Procs()
    proxy = None
    try:
        go = tmp / "go"
        lg, truth_path = start_loadgen(procs, tmp, "--events", "20000", "--threads", "2",
                                       "--seed", "14", "--go-file", go)
        flags = ("--native-histogram.schema", str(SCHEMA), "--native-histogram.zero-threshold",
                 str(ZERO_THRESHOLD), "--web.formats", "text,openmetrics,protobuf")
        loaded = time.time()
        ex = start_exporter(procs, [lg.pid], *flags)
        # Both count every event: the load generator fires once both are attached.
        ex_created = start_exporter(procs, [lg.pid], *flags, "--web.openmetrics-created-samples")
        fired = time.time()
        go.touch()
        wait_truth(lg, truth_path)
        truth = json.loads(truth_path.read_text())
        proxy = TextOnlyProxy(ex.port)
        target = f"127.0.0.1:{ex.port}"
        proms = {
            "native": start_prometheus(procs, tmp, "native", target,
                                       "--enable-feature=native-histograms"),
            "text": start_prometheus(procs, tmp, "text", proxy.address),
            "om": start_prometheus(procs, tmp, "om", target),
            "om_created": start_prometheus(procs, tmp, "om_created",
                                           f"127.0.0.1:{ex_created.port}"),
        }
        want = truth_total(truth, "ccproxy_requests_total")
        start = time.time()

        def all_final():
            at = time.time()
            for p in proms.values():
                got = p.query("sum(ccproxy_requests_total)", at)
                if not got or float(got[0]["value"][1]) != want:
                    return None
                # two scrapes at least since the first: the last value is not the first's
                if not p.query("count_over_time(up[1m]) >= 2", at):
                    return None
            return at

        at = wait_until(all_final, timeout=60, step=0.5, what="every Prometheus to scrape all")
        yield {"truth": truth, "proms": proms, "at": at, "start": start, "proxy": proxy,
               "exporter": ex, "exporter_created": ex_created, "loaded": loaded, "fired": fired}
    finally:
        if proxy:
            proxy.close()
        procs.stop_all()


def stored(prom, at):
    """Every ccproxy series but Prometheus' own up, as {(name, labels): value}."""
    return prom.vector('{__name__=~"ccproxy_.+"}', at)


def test_accept_headers_are_the_known_ones(scraped):
    """The text server's proxy saw the Accept of Prometheus without the feature; the exporter
    answers that header, and the one with the feature, with the format they prefer."""
    assert scraped["proxy"].accepts and set(scraped["proxy"].accepts) == {PROM_ACCEPT}
    ex = scraped["exporter"]
    for accept, ctype in ((PROM_ACCEPT, "application/openmetrics-text; version=1.0.0; "
                                        "charset=utf-8"),
                          (PROM_ACCEPT_PROTO, "application/vnd.google.protobuf; "
                                              "proto=io.prometheus.client.MetricFamily; "
                                              "encoding=delimited"),
                          (None, "text/plain; version=0.0.4; charset=utf-8"),
                          # hostile: huge, thousands of parameters, odd q-values
                          ("x/y;" + "a=b;" * 3000, "text/plain; version=0.0.4; charset=utf-8"),
                          (PROM_ACCEPT_PROTO.replace("delimited", "delimited;q=2"),
                           "application/openmetrics-text; version=1.0.0; charset=utf-8"),
                          (",;=\t" * 500, "text/plain; version=0.0.4; charset=utf-8")):
        status, headers, _ = ex.get(headers={"Accept": accept} if accept else {})
        assert status == 200 and headers["Content-Type"] == ctype


@pytest.mark.parametrize("name", ["text", "om"])
def test_classic_series_equal_the_truth(scraped, name):
    got = stored(scraped["proms"][name], scraped["at"])
    problems = truthlib.compare(scraped["truth"], got, ("ccproxy_exporter_", "up"))
    assert not problems, "\n".join(problems[:40])


def test_openmetrics_stores_what_text_stores(scraped):
    at, proms = scraped["at"], scraped["proms"]
    text, om = stored(proms["text"], at), stored(proms["om"], at)
    assert set(text) == set(om), (sorted(set(text) - set(om))[:10], sorted(set(om) - set(text))[:10])
    differ = [k for k in text if not k[0].startswith("ccproxy_exporter_") and text[k] != om[k]]
    assert not differ, differ[:10]


def om_types(text):
    """{family: type} of an OpenMetrics exposition's # TYPE lines."""
    return dict(line.split(" ")[2:4] for line in text.splitlines() if line.startswith("# TYPE "))


def created_owners(body):
    """The series of an OpenMetrics exposition that should have a _created sample: the _total
    of each counter and the _count of each histogram, the exporter's own families aside."""
    suffix = {"counter": "_total", "histogram": "_count"}
    names = {fam + suffix[t] for fam, t in om_types(body).items()
             if t in suffix and not fam.startswith("ccproxy_exporter_")}
    return {k for k in truthlib.parse_exposition(body) if k[0] in names}


def created_in_range(series, scraped, until):
    """(key, value) of the _created series outside [made, until]: the overflow series were
    made at the exporter's load, every other when its first event came."""
    eps = 0.05  # the clock offset, taken at each scrape, may move by NTP slewing (500 ppm)
    bad = []
    for key, v in series.items():
        overflow = any(val == "__overflow__" for _, val in key[1])
        lo = scraped["loaded"] if overflow else scraped["fired"]
        if not lo - eps <= v <= until + eps:
            bad.append((truthlib.format_key(key), v, lo, until))
    return bad


def test_openmetrics_created_samples_on_every_series(scraped):
    """The flag's exporter, scraped directly: a _created after every counter and histogram
    series (and after no other), of the time its first event came."""
    ex = scraped["exporter_created"]
    status, headers, body = ex.get(headers={"Accept": PROM_ACCEPT})
    now = time.time()
    assert status == 200 and headers["Content-Type"].startswith("application/openmetrics-text")
    body = body.decode()
    # prometheus_client's OpenMetrics parser checks the _created samples' names and places.
    assert len(list(openmetrics_families(body))) > 10
    samples = truthlib.parse_exposition(body)
    created = {k: v for k, v in samples.items() if k[0].endswith("_created")}
    owners = created_owners(body)
    stems = {(k[0].rsplit("_", 1)[0], k[1]) for k in owners}
    assert {(k[0][: -len("_created")], k[1]) for k in created} == stems
    assert len(created) == len(owners) > 100
    bad = created_in_range(created, scraped, now)
    assert not bad, bad[:5]
    # The same exporter's text 0.0.4 carries none.
    _, _, text = ex.get(headers={"Accept": "text/plain;version=0.0.4"})
    assert not [k for k in truthlib.parse_exposition(text.decode()) if k[0].endswith("_created")]


def test_openmetrics_created_stores_text_series_and_created_ones(scraped):
    """What Prometheus 2.42 stores from the flag's OpenMetrics: text 0.0.4's series, with the
    truth's values, and one <name>_created series per counter and histogram series: nothing
    else. (The values are checked against the truth, not against the text server's: sums of
    durations the kernel measured differ between two exporters within the truth's range.)"""
    at, proms = scraped["at"], scraped["proms"]
    text, omc = stored(proms["text"], at), stored(proms["om_created"], at)
    created = {k: v for k, v in omc.items() if k[0].endswith("_created")}
    rest = {k: v for k, v in omc.items() if k not in created}
    assert set(rest) == set(text), (sorted(set(text) - set(rest))[:10],
                                    sorted(set(rest) - set(text))[:10])
    problems = truthlib.compare(scraped["truth"], rest, ("ccproxy_exporter_", "up"))
    assert not problems, "\n".join(problems[:40])
    _, _, body = scraped["exporter_created"].get(headers={"Accept": PROM_ACCEPT})
    owners = created_owners(body.decode())
    assert {(k[0][: -len("_created")], k[1]) for k in created} == \
        {(k[0].rsplit("_", 1)[0], k[1]) for k in owners}
    bad = created_in_range(created, scraped, at)
    assert not bad, bad[:5]


def pb_varint(buf, pos):
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def pb_fields(buf):
    """(field number, value) of each field of one protobuf message, from the wire format
    alone: varints as ints, length-delimited fields as bytes, fixed ones as raw bytes."""
    pos = 0
    while pos < len(buf):
        key, pos = pb_varint(buf, pos)
        wire = key & 7
        if wire == 0:
            value, pos = pb_varint(buf, pos)
        elif wire == 2:
            n, pos = pb_varint(buf, pos)
            value, pos = buf[pos:pos + n], pos + n
        elif wire in (1, 5):
            n = 8 if wire == 1 else 4
            value, pos = buf[pos:pos + n], pos + n
        else:
            raise ValueError(f"wire type {wire}")
        yield key >> 3, value


# io.prometheus.client field numbers: MetricFamily name 1, type 3, metric 4; Metric label 1,
# counter 3, histogram 7; LabelPair name 1, value 2; Counter created_timestamp 3, Histogram
# created_timestamp 15; Timestamp seconds 1, nanos 2. Types: COUNTER 0, HISTOGRAM 4.
PB_CREATED = {3: 3, 7: 15}


def pb_created(body):
    """{(family, labels): created seconds, or None} of every counter and histogram series
    of a delimited protobuf exposition."""
    out, pos = {}, 0
    while pos < len(body):
        n, pos = pb_varint(body, pos)
        family, pos = dict.fromkeys((1, 3), None), pos + n
        metrics = []
        for num, value in pb_fields(body[pos - n:pos]):
            if num == 4:
                metrics.append(value)
            else:
                family[num] = value
        if family[3] not in (0, 4):
            continue
        for metric in metrics:
            labels, created = {}, None
            for num, value in pb_fields(metric):
                if num == 1:
                    pair = dict(pb_fields(value))
                    labels[pair[1].decode()] = pair.get(2, b"").decode()
                elif num in PB_CREATED:
                    for field, ts in pb_fields(value):
                        if field == PB_CREATED[num]:
                            ts = dict(pb_fields(ts))
                            created = ts.get(1, 0) + ts.get(2, 0) / 1e9
            out[(family[1].decode(), frozenset(labels.items()))] = created
    return out


def test_protobuf_carries_created_timestamps(scraped):
    """Protobuf carries created_timestamp whatever the flag: the exporter without it, asked for
    protobuf, sends one on every counter and histogram series, and none on its own."""
    ex = scraped["exporter"]
    status, headers, body = ex.get(headers={"Accept": PROM_ACCEPT_PROTO})
    now = time.time()
    assert status == 200 and headers["Content-Type"].startswith("application/vnd.google")
    series = pb_created(body)
    own = {k: v for k, v in series.items() if k[0].startswith("ccproxy_exporter_")}
    series = {k: v for k, v in series.items() if k not in own}
    assert own and not [k for k, v in own.items() if v is not None]
    _, _, om = ex.get(headers={"Accept": PROM_ACCEPT})
    want = {(k[0][: -len("_count")] if k[0].endswith("_count") else k[0], k[1])
            for k in created_owners(om.decode())}
    assert set(series) == want, (sorted(set(want) - set(series))[:5],
                                 sorted(set(series) - set(want))[:5])
    missing = [truthlib.format_key(k) for k, v in series.items() if v is None]
    assert not missing, missing[:5]
    bad = created_in_range(series, scraped, now)
    assert not bad, bad[:5]


def native_series(prom, at):
    """{(family, labels): native histogram} of the two histogram families."""
    out = {}
    for fam in HISTOGRAMS:
        for (name, labels), h in prom.vector(fam, at).items():
            assert isinstance(h, dict), f"{fam}{dict(labels)} is not a native histogram: {h}"
            out[(name, labels)] = h
    return out


def test_native_counters_and_gauges_equal_the_truth(scraped):
    truth = dict(scraped["truth"])
    truth["samples"] = [s for s in truth["samples"] if not s["name"].startswith(HISTOGRAMS)]
    got = stored(scraped["proms"]["native"], scraped["at"])
    got = {k: v for k, v in got.items() if not isinstance(v, dict)}
    problems = truthlib.compare(truth, got, ("ccproxy_exporter_", "up"))
    assert not problems, "\n".join(problems[:40])


def test_native_count_and_sum_equal_the_truth(scraped):
    at, prom, truth = scraped["at"], scraped["proms"]["native"], scraped["truth"]
    series = native_series(prom, at)
    want = {}
    for s in truth["samples"]:
        for fam in HISTOGRAMS:
            if s["name"] in (fam + "_count", fam + "_sum"):
                want.setdefault((fam, frozenset(s["labels"].items())), {})[s["name"][len(fam):]] = s
    assert set(series) == set(want), (sorted(set(want) - set(series))[:5],
                                      sorted(set(series) - set(want))[:5])
    for key, h in series.items():
        count, s = want[key]["_count"], want[key]["_sum"]
        assert float(h["count"]) == float(count["value"]), key
        lo, hi = s["range"] if "range" in s else (s["value"], s["value"])
        assert float(lo) * (1 - 1e-12) <= float(h["sum"]) <= float(hi) * (1 + 1e-12), key


def true_quantile(obs, q):
    """The least duration x with at least q * count observations <= x (Prometheus' rank)."""
    total = sum(n for _, n in obs)
    rank, seen = q * total, 0
    for ns, n in sorted(obs):
        seen += n
        if seen >= rank:
            return ns / 1e9
    return obs[-1][0] / 1e9


def bucket_ratio(h):
    """The growth factor of the stored buckets: 2^(2^-schema) (schema 0 when reduced)."""
    ratios = [float(b[2]) / float(b[1]) for b in h.get("buckets", [])
              if float(b[1]) > 0 and math.isfinite(float(b[2]))]
    return max(ratios) if ratios else 2 ** (2 ** -SCHEMA)


def test_native_quantiles_within_the_schema_bound(scraped):
    at, prom, truth = scraped["at"], scraped["proms"]["native"], scraped["truth"]
    exact = {}
    for d in truth["durations"]:
        exact.setdefault((d["name"], frozenset(d["labels"].items())), []).append((d["ns"], d["n"]))
    counts = {(s["name"][: -len("_count")], frozenset(s["labels"].items())): float(s["value"])
              for s in truth["samples"] if s["name"].endswith("_count")}
    series = native_series(prom, at)
    estimates = {q: {} for q in QUANTILES}
    for q in QUANTILES:
        for fam in HISTOGRAMS:
            for (_, labels), v in prom.vector(f"histogram_quantile({q}, {fam})", at).items():
                estimates[q][(fam, labels)] = v
    checked = fine = 0
    for key, h in series.items():
        obs = exact.get(key, [])
        if sum(n for _, n in obs) != counts[key]:
            continue  # kernel-measured durations: only their bounds are known
        ratio = bucket_ratio(h)
        fine += ratio < 1.1
        for q in QUANTILES:
            est, want = estimates[q][key], true_quantile(obs, q)
            if want <= ZERO_THRESHOLD * 2 ** (2 ** -SCHEMA):
                assert est <= ZERO_THRESHOLD * 2 ** (2 ** -SCHEMA), (key, q, est, want)
            else:
                assert abs(est - want) <= (ratio - 1) * want * (1 + 1e-9), (key, q, est, want, ratio)
            checked += 1
    # most series hold only durations of the fine buckets; one per thread holds 2^50 ns
    print(f"native: {len(series)} series, {fine} at schema {SCHEMA}, {checked} quantiles checked")
    assert fine >= 3 and checked >= 3 * len(QUANTILES), (fine, checked)


@contextlib.contextmanager
def native_prometheus(tmp_path_factory, name, seed, *exporter_flags):
    """An exporter run with exporter_flags, attached to its own load generator, and a
    Prometheus with the feature scraping it; yields (truth, prometheus, exporter, at) once
    Prometheus has scraped the final counts at least twice."""
    require_root()
    tmp = tmp_path_factory.mktemp(name)
    procs = Procs()
    try:
        # A copy of the load generator: the first exporter attaches to build/'s for every
        # process that maps it (raising their semaphores), so this one would fire unseen.
        loadgen = tmp / "ccproxy-loadgen"
        shutil.copy2(LOADGEN, loadgen)
        truth_path = tmp / "truth.json"
        lg = procs.start([loadgen, "--wait-attach", "20", "--linger", "--truth", truth_path,
                          "--events", "20000", "--threads", "2", "--seed", str(seed)])
        ex = start_exporter(procs, [lg.pid], *exporter_flags)
        wait_truth(lg, truth_path)
        truth = json.loads(truth_path.read_text())
        prom = start_prometheus(procs, tmp, name, f"127.0.0.1:{ex.port}",
                                "--enable-feature=native-histograms")
        want = truth_total(truth, "ccproxy_requests_total")

        def final():
            at = time.time()
            got = prom.query("sum(ccproxy_requests_total)", at)
            if got and float(got[0]["value"][1]) == want and \
                    prom.query("count_over_time(up[1m]) >= 2", at):
                return at
            return None

        at = wait_until(final, timeout=60, step=0.5, what="Prometheus to scrape all")
        yield truth, prom, ex, at
    finally:
        procs.stop_all()


@pytest.fixture(scope="module")
def classic_protobuf(tmp_path_factory):
    """A Prometheus with the feature, scraping an exporter without native histograms: it gets
    protobuf, and stores each histogram from its classic buckets."""
    with native_prometheus(tmp_path_factory, "native-classic", 15,
                           "--no-native-histogram") as (truth, prom, _, at):
        yield truth, prom, at


def test_protobuf_classic_buckets_equal_the_truth(classic_protobuf):
    """le spelled as text spells it, +Inf from the count: the same series as text 0.0.4."""
    truth, prom, at = classic_protobuf
    got = stored(prom, at)
    assert not any(isinstance(v, dict) for v in got.values())
    problems = truthlib.compare(truth, got, ("ccproxy_exporter_", "up"))
    assert not problems, "\n".join(problems[:40])


# Far fewer native buckets than the load generator's series spread over: the map fills early.
NATIVE_LIMIT = 1024


@pytest.fixture(scope="module")
def full_native_map(tmp_path_factory):
    """A Prometheus with the feature, scraping an exporter whose native buckets fill their
    map (--limits.native-buckets far too small): series that lost a bucket go classic."""
    with native_prometheus(tmp_path_factory, "native-full", 16, "--limits.native-buckets",
                           str(NATIVE_LIMIT)) as (truth, prom, ex, at):
        _, _, body = ex.get()
        yield truth, prom, at, body.decode()


def self_value(body, sample):
    for line in body.splitlines():
        if line.startswith(sample + " "):
            return float(line.split()[-1])
    raise AssertionError(f"no {sample} in the scrape")


def test_series_that_lost_native_buckets_are_classic_and_exact(full_native_map):
    """Every histogram series is stored exactly: natively while it lost nothing to the full
    map, else from its classic buckets, which count every observation."""
    truth, prom, at, body = full_native_map
    got = stored(prom, at)
    counts = {(s["name"][: -len("_count")], frozenset(s["labels"].items())): float(s["value"])
              for s in truth["samples"]
              if s["name"].endswith("_count") and s["name"][: -len("_count")] in HISTOGRAMS}
    native = classic = 0
    for (fam, labels), want in counts.items():
        h = got.get((fam, labels))
        if isinstance(h, dict):
            assert float(h["count"]) == want, (fam, labels)
            native += 1
        else:
            assert got.get((fam + "_count", labels)) == want, (fam, labels)
            classic += 1
    classic_truth = dict(truth)
    classic_truth["samples"] = [
        s for s in truth["samples"]
        if not (s["name"].startswith(HISTOGRAMS) and
                isinstance(got.get((s["name"].rsplit("_", 1)[0], frozenset(
                    {k: v for k, v in s["labels"].items() if k != "le"}.items()))), dict))]
    problems = truthlib.compare(classic_truth, {k: v for k, v in got.items()
                                                if not isinstance(v, dict)},
                                ("ccproxy_exporter_", "up"))
    assert not problems, "\n".join(problems[:40])
    print(f"full native map: {native} series native, {classic} classic")
    assert classic > 0
    assert self_value(body, 'ccproxy_exporter_events_dropped_total{reason="native_full"}') > 0
    # the native map is read, and its fill shown, by protobuf scrapes only
    assert 'map="native"' not in body
    assert prom.vector('ccproxy_exporter_map_entries{map="native"}', at) == \
        {("ccproxy_exporter_map_entries", frozenset({("map", "native")})): NATIVE_LIMIT}
