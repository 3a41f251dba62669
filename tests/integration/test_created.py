# SPDX-License-Identifier: BSD-2-Clause
"""When each series was first counted (OpenMetrics _created, protobuf created_timestamp) is
kept in the maps, so with --bpf-pin-path it survives an exporter restart.

The load generators are a copy of build/'s in the test's own directory, attached by --pid.
"""
import json
import shutil
import subprocess
import time

from conftest import LOADGEN, require_root, start_exporter, wait_truth
import truth as truthlib

OM_ACCEPT = "application/openmetrics-text;version=1.0.0"
EPS = 0.05  # the clock offset, taken at each scrape, may move by NTP slewing (500 ppm)


def start_lg(procs, tmp_path, loadgen, tag, seed):
    """A load generator that fires once its go file exists (every exporter attached)."""
    truth, go = tmp_path / f"truth-{tag}.json", tmp_path / f"go-{tag}"
    p = procs.start([loadgen, "--wait-attach", "20", "--linger", "--truth", truth, "--go-file",
                     go, "--events", "5000", "--threads", "2", "--seed", str(seed)])
    return p, truth, go


def created_samples(ex):
    status, headers, body = ex.get(headers={"Accept": OM_ACCEPT})
    assert status == 200 and headers["Content-Type"].startswith("application/openmetrics-text")
    return {k: v for k, v in truthlib.parse_exposition(body.decode()).items()
            if k[0].endswith("_created")}


def test_created_survives_restart_with_pinned_maps(procs, tmp_path, pin_dir):
    require_root()
    loadgen = tmp_path / "ccproxy-loadgen"
    shutil.copy2(LOADGEN, loadgen)
    flags = ["--bpf-pin-path", pin_dir, "--web.openmetrics-created-samples"]

    a, truth_a, go_a = start_lg(procs, tmp_path, loadgen, "a", 51)
    loaded = time.time()
    ex = start_exporter(procs, [a.pid], *flags)
    go_a.touch()
    wait_truth(a, truth_a)
    before = created_samples(ex)
    scraped = time.time()
    assert len(before) > 100, sorted(before)[:5]
    early = [(truthlib.format_key(k), v) for k, v in before.items()
             if not loaded - EPS <= v <= scraped + EPS]
    assert not early, early[:5]
    a.kill()
    a.wait(timeout=10)
    code, err = ex.stop()
    assert code == 0, err

    restarted = time.time()
    b, truth_b, go_b = start_lg(procs, tmp_path, loadgen, "b", 52)
    ex2 = start_exporter(procs, [b.pid], *flags)
    go_b.touch()
    wait_truth(b, truth_b)
    after = created_samples(ex2)
    now = time.time()
    # Every series counted before the restart keeps its time: none was made again.
    lost = [truthlib.format_key(k) for k in before if k not in after]
    assert not lost, lost[:5]
    # Each scrape turns the monotonic stamp into wall-clock time anew: NTP slewing (500 ppm
    # at most) may move it by a few milliseconds between the two, a new stamp by seconds.
    moved = [(truthlib.format_key(k), before[k], after[k]) for k in before
             if abs(after[k] - before[k]) > 0.05 or after[k] > scraped + EPS]
    assert not moved, moved[:5]
    # Series shown only since the restart: those whose entry the second load generator made
    # were made after the restart. A family folded from the requests entries (tokens, cost,
    # latencies) may first show a series whose entry was made before it, by a request that
    # counted nothing in it then: it was 0 since, and keeps the entry's time.
    own = ("ccproxy_requests_created", "ccproxy_errors_created",
           "ccproxy_provider_responses_created")
    new = [(truthlib.format_key(k), v) for k, v in after.items() if k not in before and not (
        (restarted if k[0] in own else loaded) - EPS <= v <= now + EPS)]
    assert not new, new[:5]


def test_pinned_maps_of_another_layout_are_never_misread(procs, pin_dir):
    """Maps whose values an older exporter laid out (its meta records layout 1, the version
    before created times) are never misread: refused with --no-bpf-pin-path.reset-mismatched,
    else removed and made anew (with a warning), in this layout."""
    require_root()
    from conftest import EXPORTER, free_port
    flags = ["--match-comm", "^nothing-matches$", "--bpf-pin-path", pin_dir]
    code, err = start_exporter(procs, [], *flags).stop()
    assert code == 0, err
    meta = f"{pin_dir}/meta"
    got = json.loads(subprocess.run(["bpftool", "-j", "map", "lookup", "pinned", meta, "key",
                                     "0", "0", "0", "0"], check=True, capture_output=True).stdout)
    value = [int(b, 16) for b in got["value"]]
    # struct ccproxy_meta.layout, little-endian: CCPROXY_MAPS_LAYOUT, 2 or later
    assert int.from_bytes(bytes(value[12:16]), "little") >= 2, value[:16]
    value[12:16] = [1, 0, 0, 0]
    subprocess.run(["bpftool", "map", "update", "pinned", meta, "key", "0", "0", "0", "0",
                    "value", *[str(b) for b in value]], check=True)
    r = subprocess.run([str(EXPORTER), *flags, "--no-bpf-pin-path.reset-mismatched",
                        "--web.listen-address", f"127.0.0.1:{free_port()}"],
                       capture_output=True, timeout=30)
    assert r.returncode == 1 and b"another version of the exporter" in r.stderr, r.stderr
    code, err = start_exporter(procs, [], *flags).stop()
    assert code == 0 and "were written by another version of the exporter" in err, err
    got = json.loads(subprocess.run(["bpftool", "-j", "map", "lookup", "pinned", meta, "key",
                                     "0", "0", "0", "0"], check=True, capture_output=True).stdout)
    assert int.from_bytes(bytes(int(b, 16) for b in got["value"][12:16]), "little") >= 2
