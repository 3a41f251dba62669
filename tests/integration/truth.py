# SPDX-License-Identifier: BSD-2-Clause
"""Compare a Prometheus scrape with the truth file written by ccproxy-loadgen --truth.

The truth is {"samples": [{"name", "labels", "value" | "range": [lo, hi]}, ...]}: every sample
the exporter must serve for the ccproxy families. "value" must match exactly (float equality),
"range" inclusively (kernel-measured durations).

    python3 tests/integration/truth.py TRUTH.json SCRAPE.txt
prints the mismatches and exits 1 if there are any.
"""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families


class Scrape(dict):
    """(name, frozenset(labels.items())) -> value, plus the keys seen more than once."""

    def __init__(self):
        super().__init__()
        self.duplicates = []


def parse_exposition(text):
    """Parse text exposition format into {(name, frozenset(labels.items())): float}."""
    out = Scrape()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            if key in out:
                out.duplicates.append(key)
            out[key] = float(sample.value)
    return out


def format_key(key):
    name, labels = key
    inner = ",".join(
        '%s="%s"' % (k, v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n"))
        for k, v in sorted(labels)
    )
    return "%s{%s}" % (name, inner) if inner else name


def _expected(sample):
    if "range" in sample:
        lo, hi = sample["range"]
        return "in [%r, %r]" % (float(lo), float(hi))
    return repr(float(sample["value"]))


def _matches(sample, got):
    if "range" in sample:
        lo, hi = sample["range"]
        return float(lo) <= got <= float(hi)
    return got == float(sample["value"])


def compare(truth, scraped, ignore_prefixes=("ccproxy_exporter_",)):
    """Return human-readable mismatches between a truth dict and parse_exposition()'s result.

    Samples whose name starts with one of ignore_prefixes are skipped on both sides.
    """
    ignored = lambda name: name.startswith(tuple(ignore_prefixes))
    problems = []
    expected = {}
    for sample in truth["samples"]:
        if ignored(sample["name"]):
            continue
        key = (sample["name"], frozenset(sample["labels"].items()))
        if key in expected:
            problems.append("duplicate in truth: %s" % format_key(key))
        expected[key] = sample
    for key, sample in sorted(expected.items(), key=lambda kv: format_key(kv[0])):
        if key not in scraped:
            problems.append("missing: %s (expected %s)" % (format_key(key), _expected(sample)))
        elif not _matches(sample, scraped[key]):
            problems.append(
                "wrong value: %s = %r (expected %s)"
                % (format_key(key), scraped[key], _expected(sample))
            )
    for key in sorted(scraped, key=format_key):
        if key not in expected and not ignored(key[0]):
            problems.append("unexpected: %s = %r" % (format_key(key), scraped[key]))
    for key in getattr(scraped, "duplicates", []):
        if not ignored(key[0]):
            problems.append("duplicate series in scrape: %s" % format_key(key))
    return problems


def main(argv):
    if len(argv) != 3:
        print("usage: truth.py TRUTH.json SCRAPE.txt", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        truth = json.load(f)
    with open(argv[2], encoding="utf-8") as f:
        scraped = parse_exposition(f.read())
    problems = compare(truth, scraped)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
