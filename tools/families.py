# SPDX-License-Identifier: BSD-2-Clause
"""The exporter's family table (`ccproxy_exporter --print-families json`): the one list of
families, labels, buckets and probes that the tests, the load generator's checks and the
benchmarks take, instead of copies of their own."""
import functools
import json
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXPORTER = ROOT / os.environ.get("OUTPUT", "build") / "ccproxy_exporter"


@functools.lru_cache(maxsize=None)
def table(*flags):
    """The table as the exporter started with these flags would serve it."""
    out = subprocess.run([str(EXPORTER), "--print-families", "json", *flags], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def families(*flags):
    return table(*flags)["families"]


def probes():
    return list(table()["probes"])


def family(name, *flags):
    return next(f for f in families(*flags) if f["name"] == name)


def le_values(name, *flags):
    """A histogram's `le` spellings, +Inf included, as the exporter prints them."""
    return [repr(float(b)) for b in family(name, *flags)["buckets"]] + ["+Inf"]


def sample_labels(*flags):
    """{sample name: its label names}: a histogram gives _bucket (with le), _count and _sum."""
    out = {}
    for f in families(*flags):
        labels = set(f["labels"])
        if f["type"] == "histogram":
            out[f["name"] + "_bucket"] = labels
            out[f["name"] + "_count"] = labels - {"le"}
            out[f["name"] + "_sum"] = labels - {"le"}
        else:
            out[f["name"]] = labels
    return out


def sample_names(*flags):
    return set(sample_labels(*flags))


def python_registry(*flags):
    """The Python plugin's labelled families as prometheus_client declares them (the baseline
    the benchmarks compare with): {name: metric}, in a fresh registry."""
    from prometheus_client import CollectorRegistry, Counter, Histogram

    reg = CollectorRegistry()
    metrics = {}
    for f in families(*flags):
        labels = [n for n in f["labels"] if n != "le"]
        # The plugin has no latency families: they are this exporter's extension.
        if not labels or f["name"] == "ccproxy_info" or f["collect"] == "latency":
            continue
        if f["type"] == "histogram":
            metrics[f["name"]] = Histogram(f["name"], f["help"], labels, registry=reg,
                                           buckets=f["buckets"])
        elif f["type"] == "counter":
            metrics[f["name"]] = Counter(f["name"], f["help"], labels, registry=reg)
    return reg, metrics
