#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Renders the dashboard's panels from a live Prometheus into one static HTML page.

No Grafana needed: each panel's queries are expanded as Grafana would (variables at All) and
fetched with /api/v1/query_range; stats show the last value, time series become SVG lines,
laid out on the dashboard's own 24-column grid. Used for docs/images/dashboard.png:

  grafana/tools/preview.py --prometheus http://127.0.0.1:9090 --minutes 5 > /tmp/p.html
  chromium --headless --no-sandbox --disable-gpu --screenshot=docs/images/dashboard.png \
      --window-size=1400,2400 file:///tmp/p.html
"""
import argparse
import html
import json
import math
import re
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

DASHBOARD = Path(__file__).resolve().parents[1] / "dashboards" / "ccproxy-dashboard.json"
COLORS = ["#73bf69", "#f2cc0c", "#8ab8ff", "#ff780a", "#f2495c", "#5794f2", "#b877d9",
          "#705da0", "#37872d", "#fade2a"]
COL_PX, ROW_PX = 56, 30


def query_range(url, expr, start, end, step):
    q = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    with urllib.request.urlopen(f"{url}/api/v1/query_range?{q}", timeout=10) as r:
        body = json.load(r)
    if body["status"] != "success":
        raise ValueError(body)
    return body["data"]["result"]


def legend(fmt, metric):
    if fmt in ("", "__auto"):
        return ",".join(f"{k}={v}" for k, v in sorted(metric.items()) if k != "__name__") or "value"
    out = fmt
    for k, v in metric.items():
        out = out.replace("{{" + k + "}}", v)
    return re.sub(r"\{\{\s*\w+\s*\}\}", "", out)  # Grafana leaves absent labels empty


def expand(expr, range_s, step):
    return (expr.replace("$__range", f"{range_s}s").replace("$__rate_interval", f"{4 * step}s")
            .replace("$__interval", f"{step}s").replace("$service_type", ".*")
            .replace("$model", ".*"))


def fmt_value(v, unit):
    if math.isnan(v):
        return "NaN"
    if unit == "currencyUSD":
        return f"${v:,.2f}"
    if unit == "percent":
        return f"{v:.2f}%"
    if unit == "s":
        return f"{v * 1000:.0f} ms" if v < 1 else f"{v:.2f} s"
    for div, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M")):
        if abs(v) >= div:
            return f"{v / div:.2f} {suffix}"
    if abs(v) >= 1e3:
        return f"{v / 1e3:.1f} k"
    return f"{v:.4g}"


def stat_text(v, unit, mapped):
    if v.is_integer() and str(int(v)) in mapped:
        return mapped[str(int(v))]
    return fmt_value(v, unit)


def svg_lines(series, unit, w, h, start, end):
    pts = [float(v) for s in series for _, v in s["values"] if not math.isnan(float(v))]
    lo, hi = (min(pts + [0.0]), max(pts + [0.0])) if pts else (0.0, 1.0)
    hi = hi if hi > lo else lo + 1
    out = [f'<svg width="{w}" height="{h}">']
    for i, s in enumerate(series):
        path = []
        for t, v in s["values"]:
            v = float(v)
            if math.isnan(v):
                continue
            x = (float(t) - start) / (end - start) * (w - 2) + 1
            y = h - 1 - (v - lo) / (hi - lo) * (h - 2)
            path.append(f"{x:.1f},{y:.1f}")
        if path:
            out.append(f'<polyline fill="none" stroke="{s["color"]}" stroke-width="1.5" '
                       f'points="{" ".join(path)}"/>')
    out.append(f'<text x="2" y="10" class="axis">{fmt_value(hi, unit)}</text></svg>')
    return "".join(out)


def render(url, minutes):
    dash = json.loads(DASHBOARD.read_text())
    end = time.time()
    start = end - minutes * 60
    step = max(1, int(minutes * 60 / 240))
    parts = []
    for p in dash["panels"]:
        g = p["gridPos"]
        style = (f"left:{g['x'] * COL_PX}px;top:{g['y'] * ROW_PX}px;"
                 f"width:{g['w'] * COL_PX - 6}px;height:{g['h'] * ROW_PX - 6}px")
        title = html.escape(p["title"])
        if p["type"] == "row":
            parts.append(f'<div class="row" style="{style}">{title}</div>')
            continue
        unit = p["fieldConfig"]["defaults"].get("unit", "")
        series = []
        for t in p["targets"]:
            for r in query_range(url, expand(t["expr"], int(end - start), step), start, end, step):
                series.append({"values": r["values"],
                               "name": legend(t.get("legendFormat", ""), r["metric"]),
                               "color": COLORS[len(series) % len(COLORS)]})
        if p["type"] == "stat":
            mapped = {}
            for m in p["fieldConfig"]["defaults"].get("mappings", []):
                mapped.update({k: o["text"] for k, o in m.get("options", {}).items()})
            vals = [stat_text(float(s["values"][-1][1]), unit, mapped) for s in series]
            vals = vals or ["No data"]
            body = f'<div class="stat">{html.escape(" / ".join(vals))}</div>'
        else:
            w, h = g["w"] * COL_PX - 16, g["h"] * ROW_PX - 70
            items = "".join(f'<span style="color:{s["color"]}">&#9632; {html.escape(s["name"])}</span> '
                            for s in series[:8])
            body = svg_lines(series, unit, w, h, start, end) + f'<div class="legend">{items}</div>'
        parts.append(f'<div class="panel" style="{style}"><div class="title">{title}</div>{body}</div>')
    height = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in dash["panels"]) * ROW_PX
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>
body{{background:#111217;color:#ccccdc;font:12px sans-serif;margin:0}}
h1{{font-size:16px;margin:8px 10px}}
#grid{{position:relative;margin:0 10px;height:{height}px}}
.panel,.row{{position:absolute;box-sizing:border-box}}
.panel{{background:#181b1f;border:1px solid #2c3235;border-radius:3px;padding:4px;overflow:hidden}}
.row{{font-weight:bold;font-size:14px;padding-top:6px}}
.title{{font-weight:bold;margin-bottom:4px}}
.stat{{font-size:26px;color:#73bf69;text-align:center;margin-top:10px}}
.legend{{font-size:10px;white-space:nowrap;overflow:hidden}}
.axis{{fill:#8e8e8e;font-size:9px}}
</style></head><body><h1>{html.escape(dash['title'])} &mdash; last {minutes} minutes
(rendered from Prometheus, all variables = All)</h1><div id="grid">{''.join(parts)}</div>
</body></html>"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prometheus", default="http://127.0.0.1:9090")
    ap.add_argument("--minutes", type=int, default=15)
    args = ap.parse_args()
    sys.stdout.write(render(args.prometheus.rstrip("/"), args.minutes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
