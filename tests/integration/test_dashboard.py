# SPDX-License-Identifier: BSD-2-Clause
"""Static checks of grafana/dashboards/ccproxy-dashboard.json.

The dashboard is a contract with two sides: Grafana (ids, layout, datasource variable) and
the exporter (every metric a query names must be one the exporter serves). The PromQL helpers
here are also used by test_prometheus_e2e.py, which runs the same queries against Prometheus.
"""
import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import families  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "grafana" / "dashboards" / "ccproxy-dashboard.json"
DS = {"type": "prometheus", "uid": "${DS_VICTORIAMETRICS}"}

# The exporter's families (its own table) and self-metrics.
EXPORTER_METRICS = [
    "ccproxy_exporter_scrape_duration_seconds", "ccproxy_exporter_attached_processes",
    "ccproxy_exporter_map_entries", "ccproxy_exporter_map_capacity",
    "ccproxy_exporter_events_dropped_total", "ccproxy_exporter_probe_hits_total",
]
SERVED = families.sample_names() | set(EXPORTER_METRICS)
# Families labelled by service_type and model: the dashboard variables must filter them.
FILTERABLE = {name for name, labels in families.sample_labels().items()
              if {"model", "service_type"} <= labels}
# The exporter's latency extension (--collect-latency-metrics); the Python plugin has none.
LATENCY = {f["name"] + suffix for f in families.families() if f.get("collect") == "latency"
           for suffix in (("_bucket", "_sum", "_count") if f["type"] == "histogram" else ("",))}
LATENCY_PANELS = ["Time to First Token", "Provider vs Proxy Time", "Time per Output Token",
                  "Upstream 429/5xx Rate by Service"]

# Panel titles of the Python plugin's dashboard (spec section 6), kept verbatim.
SPEC_TITLES = [
    "Service Health", "Total Requests", "Input Tokens", "Output Tokens", "Cost",
    "Total Cache Tokens", "Active Requests", "Error Rate (15m)", "Request Activity by Service",
    "Request Activity by Model", "Status Distribution", "Response Time Percentiles by Service",
    "Average Response Time by Model", "Token Usage by Type", "Cost by Model and Service",
    "Cost Last Hour", "Cost Last 24 Hours", "Errors by Type", "Error Rate by Service",
]

_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
             "group_right", "bool", "offset", "inf", "nan"}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def load():
    with open(DASHBOARD, encoding="utf-8") as f:
        return json.load(f)


def panels(dash):
    """All panels, rows included, flattening collapsed rows."""
    for p in dash["panels"]:
        yield p
        yield from p.get("panels", [])


def targets(dash):
    for p in panels(dash):
        for t in p.get("targets", []):
            yield p, t


def expressions(dash):
    return [(p["title"], t["expr"]) for p, t in targets(dash)]


def metric_names(expr):
    """Metric names an expression selects (not functions, keywords or label names)."""
    s = _STRING.sub('""', expr)
    s = re.sub(r"\{[^}]*\}", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    s = _GROUPING.sub(" ", s)
    names = set()
    for m in _IDENT.finditer(s):
        if s[m.end():].lstrip().startswith("("):
            continue  # a function or an aggregation operator
        if m.group(0).lower() in _KEYWORDS:
            continue
        names.add(m.group(0))
    return names


def selectors(expr):
    """(metric name, matcher text or "") for each vector selector of expr."""
    s = _STRING.sub(lambda m: m.group(0).replace("{", "\0").replace("}", "\1"), expr)
    for m in re.finditer(r"\b(ccproxy_[A-Za-z0-9_]+|up)\b\s*(\{[^}]*\})?", s):
        yield m.group(1), (m.group(2) or "").replace("\0", "{").replace("\1", "}")


def substitute(expr, range_s, interval="15s", rate_interval="1m", service_type=".*", model=".*"):
    """Grafana's variables as it would expand them for a Prometheus datasource."""
    return (expr.replace("$__range", f"{int(range_s)}s")
            .replace("$__rate_interval", rate_interval)
            .replace("$__interval", interval)
            .replace("$service_type", service_type)
            .replace("$model", model))


# --- tests --------------------------------------------------------------------------------

def test_identity():
    d = load()
    assert d["title"] == "CCProxy API Dashboard"
    assert d["uid"] == "ccproxy-dashboard"
    assert 36 <= d["schemaVersion"] <= 39
    assert d.get("id") is None, "a provisioned dashboard must not carry a database id"


def test_panel_ids_unique():
    ids = [p["id"] for p in panels(load())]
    assert len(ids) == len(set(ids)), f"duplicate panel ids: {sorted(ids)}"
    assert all(isinstance(i, int) and i > 0 for i in ids)


def test_grid_layout_fits_and_does_not_overlap():
    cells = {}
    for p in panels(load()):
        g = p["gridPos"]
        assert g["x"] >= 0 and g["w"] > 0 and g["x"] + g["w"] <= 24, p["title"]
        assert g["y"] >= 0 and g["h"] > 0, p["title"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{p['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = p["title"]


def test_datasource_variable():
    var = {v["name"]: v for v in load()["templating"]["list"]}["DS_VICTORIAMETRICS"]
    assert var["type"] == "datasource"
    assert var["query"] == "prometheus"


def test_every_panel_and_target_uses_the_datasource_variable():
    d = load()
    for p in panels(d):
        assert p.get("datasource") == DS, f"panel {p['title']!r}: {p.get('datasource')}"
    n = 0
    for p, t in targets(d):
        assert t.get("datasource") == DS, f"target of {p['title']!r}: {t.get('datasource')}"
        n += 1
    for v in d["templating"]["list"]:
        if v["type"] == "query":
            assert v["datasource"] == DS, v["name"]
    assert n > 0
    assert "${DS_VICTORIAMETRICS}" in json.dumps(d)


@pytest.mark.parametrize("name", ["service_type", "model"])
def test_filter_variables(name):
    var = {v["name"]: v for v in load()["templating"]["list"]}[name]
    assert var["type"] == "query"
    query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
    assert query == f"label_values(ccproxy_requests_total, {name})"
    assert var["multi"] is True and var["includeAll"] is True
    assert var["allValue"] == ".*"


def test_every_metric_is_served_by_the_exporter():
    for title, expr in expressions(load()):
        names = metric_names(expr)
        assert names, f"{title}: no metric found in {expr}"
        unknown = names - SERVED
        assert not unknown, f"{title}: {sorted(unknown)} not served (query {expr})"


def test_metric_name_parser():
    assert metric_names('avg by (model, service_type) (a_sum{x=~"$m"} / a_count)') == {
        "a_sum", "a_count"}
    assert metric_names('sum(increase(r{t="or"}[$__range])) by (le) or on() vector(0)') == {"r"}


def test_spec_titles_present():
    titles = [p["title"] for p in panels(load())]
    missing = [t for t in SPEC_TITLES if t not in titles]
    assert not missing, f"panels missing: {missing}"
    assert len(titles) == len(set(titles)), "duplicate panel titles"


def test_variables_applied_to_every_filterable_selector():
    n = 0
    for title, expr in expressions(load()):
        for name, matchers in selectors(expr):
            if name not in FILTERABLE:
                continue
            n += 1
            assert 'service_type=~"$service_type"' in matchers, f"{title}: {expr}"
            assert 'model=~"$model"' in matchers, f"{title}: {expr}"
    assert n >= 20


def test_cache_tokens_fixed():
    d = load()
    exprs = [t["expr"] for p, t in targets(d) if p["title"] == "Total Cache Tokens"]
    assert len(exprs) == 1
    assert 'type=~"cache_read|cache_write"' in exprs[0]
    assert all('type="cache"' not in e for _, e in expressions(d))


def test_new_rows_cover_pool_and_exporter_health():
    d = load()
    rows = {p["title"] for p in panels(d) if p["type"] == "row"}
    assert {"Pool", "Exporter health"} <= rows
    used = set().union(*(metric_names(e) for _, e in expressions(d)))
    wanted = {
        "ccproxy_pool_clients_total", "ccproxy_pool_clients_available",
        "ccproxy_pool_clients_active", "ccproxy_pool_acquisitions_total",
        "ccproxy_pool_acquisition_duration_seconds_bucket",
        "ccproxy_pool_connections_created_total", "ccproxy_pool_connections_closed_total",
        "ccproxy_pool_health_check_failures_total",
    } | set(EXPORTER_METRICS)
    assert not wanted - used, f"not on the dashboard: {sorted(wanted - used)}"
    exprs = " ".join(e for _, e in expressions(d))
    for q in ("0.5", "0.95"):
        assert f"histogram_quantile({q}, sum(rate(ccproxy_pool_acquisition_duration_seconds_bucket" \
            in exprs
    assert "by (reason)" in exprs and "by (map)" in exprs


def row_of(dash, title):
    """The panels under the row called title, by their titles."""
    ps = sorted(panels(dash), key=lambda p: (p["gridPos"]["y"], p["gridPos"]["x"]))
    rows = [p["gridPos"]["y"] for p in ps if p["type"] == "row"]
    top = [p["gridPos"]["y"] for p in ps if p["type"] == "row" and p["title"] == title]
    assert len(top) == 1, f"one row {title!r}"
    end = min([y for y in rows if y > top[0]], default=10 ** 6)
    return {p["title"]: p for p in ps if top[0] < p["gridPos"]["y"] < end}


def test_latency_anatomy_row():
    inside = row_of(load(), "Latency anatomy")
    assert list(inside) == [t for t in LATENCY_PANELS if t in inside]
    assert set(inside) == set(LATENCY_PANELS)

    def exprs(title):
        return [t["expr"] for t in inside[title]["targets"]]

    ttft = exprs("Time to First Token")
    assert [e.split(",", 1)[0] for e in ttft] == [
        f"histogram_quantile({q}" for q in ("0.5", "0.95", "0.99")]
    assert all("ccproxy_time_to_first_token_seconds_bucket{" in e and
               "by (le, service_type)" in e for e in ttft)
    stacked = inside["Provider vs Proxy Time"]
    assert stacked["fieldConfig"]["defaults"]["custom"]["stacking"]["mode"] == "normal"
    assert [metric_names(e) for e in exprs("Provider vs Proxy Time")] == [
        {"ccproxy_provider_duration_seconds_sum", "ccproxy_provider_duration_seconds_count"},
        {"ccproxy_proxy_overhead_seconds_sum", "ccproxy_proxy_overhead_seconds_count"}]
    assert all("ccproxy_time_per_output_token_seconds_bucket{" in e
               for e in exprs("Time per Output Token"))
    (upstream,) = exprs("Upstream 429/5xx Rate by Service")
    assert 'status=~"429|5.."' in upstream and upstream.endswith("by (status, service_type)")
    for title in LATENCY_PANELS:
        assert inside[title]["fieldConfig"]["defaults"]["unit"] in ("s", "reqps"), title


def test_substitute_leaves_no_variable():
    for _, expr in expressions(load()):
        assert "$" not in substitute(expr, 600)
