# SPDX-License-Identifier: BSD-2-Clause
"""Discovery: proxies found without --pid, in other namespaces, sharing objects, dying, and
counters that survive an exporter restart through pinned maps.

Each test runs its own copy of the load generator under a unique name and narrows discovery
to it with --match-comm, so that other processes on the machine never count.
"""
import json
import os
import shutil
import signal
import subprocess
import time
import uuid

import pytest

from conftest import LOADGEN, http_get, require_root, start_exporter, wait_truth, wait_until
import truth as truthlib

ROOMY = ["--limits.requests", "16384", "--limits.errors", "8192", "--limits.usage", "4096"]


@pytest.fixture
def lg_copy(tmp_path):
    """The load generator under a unique 15-character comm."""
    name = "lg" + uuid.uuid4().hex[:13]
    path = tmp_path / name
    shutil.copy(LOADGEN, path)
    return name, path


def discovered(ex, comm):
    health = json.loads(ex.get("/metrics/health")[2])
    return [p["pid"] for p in health["processes"] if p["comm"] == comm and p["state"] == "attached"]


def run_lg(procs, ex, path, tmp_path, tag, *args, argv=None):
    """Starts a load generator and lets it fire once the exporter lists it: with --match-comm
    the programs count only processes discovery has found (up to one interval after start)."""
    truth = tmp_path / f"truth-{tag}.json"
    go = tmp_path / f"go-{tag}"
    seen = set(discovered(ex, path.name))
    cmd = [path, "--wait-attach", "20", "--linger", "--truth", truth, "--go-file", go,
           "--threads", "2", *args]
    p = procs.start(argv(cmd) if argv else cmd)
    wait_until(lambda: set(discovered(ex, path.name)) - seen, timeout=20,
               what=f"discovery of {path.name}")
    go.touch()
    return p, truth


def samples(ex):
    return truthlib.parse_exposition(ex.metrics())


def value(scraped, name, **labels):
    return scraped.get((name, frozenset(labels.items())))


def summed_truth(*truths):
    """Node totals of several processes: counters add up (gauges are checked separately)."""
    total = {}
    for t in truths:
        for s in t["samples"]:
            if "value" not in s:
                continue
            key = (s["name"], frozenset(s["labels"].items()))
            total[key] = total.get(key, 0) + s["value"]
    return total


COUNTERS = ("ccproxy_requests_total", "ccproxy_errors_total", "ccproxy_tokens_total",
            "ccproxy_response_duration_seconds_count", "ccproxy_pool_acquisitions_total")


def assert_counters(scraped, want):
    for key, v in want.items():
        if key[0] in COUNTERS:
            assert scraped.get(key) == pytest.approx(v, rel=0, abs=1e-9), key


def test_proxy_started_after_exporter(procs, tmp_path, lg_copy):
    require_root()
    name, path = lg_copy
    ex = start_exporter(procs, [], "--match-comm", f"^{name}$", *ROOMY)
    assert value(samples(ex), "up", job="ccproxy") == 0
    lg, truth = run_lg(procs, ex, path, tmp_path, "a", "--events", "50000", "--seed", "11")
    wait_truth(lg, truth)
    mismatches = truthlib.compare(json.loads(truth.read_text()), samples(ex))
    assert not mismatches, "\n".join(mismatches[:30])


def test_two_processes_share_one_attachment(procs, tmp_path, lg_copy):
    require_root()
    name, path = lg_copy
    ex = start_exporter(procs, [], "--match-comm", f"^{name}$", *ROOMY)
    a, ta = run_lg(procs, ex, path, tmp_path, "a", "--events", "20000", "--seed", "1")
    b, tb = run_lg(procs, ex, path, tmp_path, "b", "--events", "20000", "--seed", "2")
    wait_truth(a, ta)
    wait_truth(b, tb)
    scraped = samples(ex)
    assert value(scraped, "ccproxy_exporter_attached_processes") == 2
    assert value(scraped, "ccproxy_exporter_attached_objects") == 1
    assert_counters(scraped, summed_truth(json.loads(ta.read_text()), json.loads(tb.read_text())))
    health = json.loads(ex.get("/metrics/health")[2])
    assert sorted(p["pid"] for p in health["processes"]) == sorted([a.pid, b.pid])


def test_sigkill_mid_load(procs, tmp_path, lg_copy):
    require_root()
    name, path = lg_copy
    ex = start_exporter(procs, [], "--match-comm", f"^{name}$", *ROOMY)
    lg, truth = run_lg(procs, ex, path, tmp_path, "a", "--events", "20000", "--seed", "5",
                       "--leave-active", "4")
    wait_truth(lg, truth)
    before = samples(ex)
    assert value(before, "ccproxy_active_requests") == 4
    lg.send_signal(signal.SIGKILL)
    lg.wait(timeout=10)
    after = samples(ex)
    assert value(after, "up", job="ccproxy") == 0
    assert value(after, "ccproxy_active_requests") == 0
    assert_counters(after, {k: v for k, v in before.items()})
    # Its requests left in flight are deleted by the maintenance tick; totals stay.
    wait_until(lambda: value(samples(ex), "ccproxy_exporter_map_entries", map="inflight") == 0,
               timeout=10, what="the dead process's in-flight entries to go")
    assert_counters(samples(ex), {k: v for k, v in before.items()})
    # A new process brings it back.
    lg2, truth2 = run_lg(procs, ex, path, tmp_path, "b", "--events", "1000", "--seed", "6")
    wait_truth(lg2, truth2)
    assert value(samples(ex), "up", job="ccproxy") == 1


def test_proxy_in_its_own_namespaces(procs, tmp_path, lg_copy):
    """Mount and PID namespace of its own; its binary's path does not exist on the host."""
    require_root()
    name, path = lg_copy
    hidden = f"/srv/{name}"
    assert not os.path.exists(hidden)
    ex = start_exporter(procs, [], "--match-comm", f"^{name}$", *ROOMY)

    def in_namespaces(cmd):
        inner = " ".join(str(c) for c in cmd[1:])
        script = (f"mount -t tmpfs tmpfs /srv && mkdir {hidden} && cp {path} {hidden}/{name} "
                  f"&& exec {hidden}/{name} {inner}")
        return ["unshare", "--mount", "--pid", "--fork", "--mount-proc", "--propagation",
                "private", "sh", "-c", script]

    ns, truth = run_lg(procs, ex, path, tmp_path, "ns", "--events", "30000", "--seed", "21",
                       argv=in_namespaces)
    wait_truth(ns, truth)
    assert not os.path.exists(hidden)
    mismatches = truthlib.compare(json.loads(truth.read_text()), samples(ex))
    assert not mismatches, "\n".join(mismatches[:30])
    health = json.loads(ex.get("/metrics/health")[2])
    assert health["processes"][0]["objects"] == [f"{hidden}/{name}"]


def test_pinned_maps_survive_restart(procs, tmp_path, lg_copy, pin_dir):
    require_root()
    name, path = lg_copy
    flags = ["--match-comm", f"^{name}$", "--bpf-pin-path", pin_dir, *ROOMY]
    ex = start_exporter(procs, [], *flags)
    a, ta = run_lg(procs, ex, path, tmp_path, "a", "--events", "20000", "--seed", "31")
    wait_truth(a, ta)
    a.kill()
    a.wait(timeout=10)
    code, err = ex.stop()
    assert code == 0, err
    assert os.path.exists(f"{pin_dir}/requests")

    ex2 = start_exporter(procs, [], *flags)
    b, tb = run_lg(procs, ex2, path, tmp_path, "b", "--events", "20000", "--seed", "32")
    wait_truth(b, tb)
    assert_counters(samples(ex2),
                    summed_truth(json.loads(ta.read_text()), json.loads(tb.read_text())))


def test_pinned_maps_refuse_other_buckets_when_told(procs, pin_dir):
    require_root()
    ex = start_exporter(procs, [], "--match-comm", "^nothing-matches$", "--bpf-pin-path",
                        pin_dir)
    ex.stop()
    from conftest import EXPORTER, free_port
    for other in (("--histogram-buckets", "1,2"), ("--limits.requests", "100")):
        r = subprocess.run([str(EXPORTER), "--match-comm", "^nothing-matches$",
                            "--bpf-pin-path", pin_dir, "--no-bpf-pin-path.reset-mismatched",
                            *other, "--web.listen-address", f"127.0.0.1:{free_port()}"],
                           capture_output=True, timeout=30)
        assert r.returncode == 1 and b"other histogram buckets" in r.stderr, (other, r.stderr)


RESET_WARNING = "were written by another version of the exporter or with other buckets"


def test_pinned_maps_of_other_buckets_start_from_zero(procs, tmp_path, lg_copy, pin_dir):
    """By default a pinned set another configuration wrote is removed, with a warning, and
    counting starts from zero, as without pinning; the next exporter of the same
    configuration reuses the new set without a warning."""
    require_root()
    name, path = lg_copy
    flags = ["--match-comm", f"^{name}$", "--bpf-pin-path", pin_dir, *ROOMY]
    ex = start_exporter(procs, [], *flags)
    a, ta = run_lg(procs, ex, path, tmp_path, "a", "--events", "2000", "--seed", "41")
    wait_truth(a, ta)
    a.kill()
    a.wait(timeout=10)
    code, err = ex.stop()
    assert code == 0 and RESET_WARNING not in err, err

    other = [*flags, "--histogram-buckets", "0.5,1,2"]
    for run, warned in (("b", True), ("c", False)):
        ex = start_exporter(procs, [], *other)
        lg, truth = run_lg(procs, ex, path, tmp_path, run, "--events", "2000", "--seed", "42")
        wait_truth(lg, truth)
        truths = [json.loads(truth.read_text())]
        if run == "c":  # b's counts carried over the restart
            truths.append(json.loads((tmp_path / "truth-b.json").read_text()))
        got, want = samples(ex), summed_truth(*truths)
        assert_counters(got, want)
        # and nothing of a's: the requests counted are exactly these runs'
        assert sum(v for k, v in got.items() if k[0] == "ccproxy_requests_total") == \
            sum(v for k, v in want.items() if k[0] == "ccproxy_requests_total")
        lg.kill()
        lg.wait(timeout=10)
        code, err = ex.stop()
        assert code == 0 and (RESET_WARNING in err) == warned, (run, err)


def test_nothing_pinned_without_pin_path(procs, tmp_path, lg_copy):
    require_root()
    if not os.path.ismount("/sys/fs/bpf"):
        pytest.skip("no bpffs mounted")
    before = set(os.listdir("/sys/fs/bpf"))
    name, path = lg_copy
    ex = start_exporter(procs, [], "--match-comm", f"^{name}$")
    ex.stop()
    assert set(os.listdir("/sys/fs/bpf")) == before


def test_per_process_labels(procs, tmp_path, lg_copy):
    require_root()
    name, path = lg_copy
    ex = start_exporter(procs, [], "--match-comm", f"^{name}$", "--per-process-labels", *ROOMY)
    a, ta = run_lg(procs, ex, path, tmp_path, "a", "--events", "5000", "--seed", "41")
    b, tb = run_lg(procs, ex, path, tmp_path, "b", "--events", "5000", "--seed", "42")
    wait_truth(a, ta)
    wait_truth(b, tb)
    scraped = samples(ex)
    for proc, truth in ((a, ta), (b, tb)):
        want = sum(s["value"] for s in json.loads(truth.read_text())["samples"]
                   if s["name"] == "ccproxy_requests_total")
        got = sum(v for (n, labels), v in scraped.items()
                  if n == "ccproxy_requests_total" and ("pid", str(proc.pid)) in labels)
        assert got == want
    # A process that is gone takes its series with it, at once; the maintenance tick then
    # deletes its entries, and the pool totals (no pid label) keep what it counted.
    pool = value(scraped, "ccproxy_pool_acquisitions_total")
    assert pool
    requests = value(scraped, "ccproxy_exporter_map_entries", map="requests")
    a.kill()
    a.wait(timeout=10)
    gone = [k for k in samples(ex) if ("pid", str(a.pid)) in k[1]]
    assert not gone
    wait_until(lambda: value(samples(ex), "ccproxy_exporter_map_entries", map="requests")
               < requests, timeout=10, what="the dead process's entries to go")
    after = samples(ex)
    assert not [k for k in after if ("pid", str(a.pid)) in k[1]]
    assert value(after, "ccproxy_pool_acquisitions_total") == pool


def test_scrapes_never_wait_for_detach(procs, tmp_path):
    """Killed processes leave their objects to detach, ~0.25 s per probe, one after the other:
    several seconds for three objects. Scrapes meanwhile read the maps and never wait for it."""
    require_root()
    paths = []
    for i in range(3):
        # Three files: three sets of uprobes, detached by the same maintenance tick.
        paths.append(tmp_path / f"lgdetach{i}")
        shutil.copy(LOADGEN, paths[-1])
    ex = start_exporter(procs, [], "--match-exe", f"^{tmp_path}/lgdetach[0-9]$")
    lgs = [run_lg(procs, ex, path, tmp_path, path.name, "--events", "2000",
                  "--seed", str(50 + i)) for i, path in enumerate(paths)]
    for lg, truth in lgs:
        wait_truth(lg, truth)
    assert value(samples(ex), "ccproxy_exporter_attached_objects") == 3
    for lg, _ in lgs:
        lg.kill()
        lg.wait(timeout=10)

    took, objects, start = [], 3, time.monotonic()
    while objects and time.monotonic() < start + 60:
        t0 = time.monotonic()
        status, _, body = http_get(ex.port, "/metrics", timeout=30)
        took.append(time.monotonic() - t0)
        assert status == 200
        scraped = truthlib.parse_exposition(body.decode())
        objects = value(scraped, "ccproxy_exporter_attached_objects")
        assert value(scraped, "up", job="ccproxy") == 0
        time.sleep(0.02)
    detach = time.monotonic() - start
    print(f"{len(took)} scrapes in {detach:.1f} s of detaching: max {max(took) * 1000:.1f} ms, "
          f"median {sorted(took)[len(took) // 2] * 1000:.1f} ms")
    assert objects == 0, "the objects were never detached"
    # The loop ran through the detach (seconds of it), not past its end.
    assert detach > 1.0
    assert max(took) < 0.1
