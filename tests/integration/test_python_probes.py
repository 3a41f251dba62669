# SPDX-License-Identifier: BSD-2-Clause
"""The ccproxy_usdt extension fires every probe with the ABI's event layout (bpftrace, root).

A child Python process waits until bpftrace has raised all 16 semaphores, fires a known
sequence, checks argument validation while attached, and then waits for the semaphores to
drop once bpftrace is gone.
"""
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PYBUILD = ROOT / os.environ.get("OUTPUT", "build") / "python"
PY = "/usr/bin/python3"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for bpftrace"),
    pytest.mark.skipif(shutil.which("bpftrace") is None, reason="bpftrace not installed"),
]

CHILD = r'''
import json, sys, time
import ccproxy_usdt as u
ALL = (1 << len(u.PROBES)) - 1
print("ready", flush=True)
t = time.time() + 60
while u.enabled_mask() != ALL and time.time() < t:
    time.sleep(0.02)
res = {"mask": u.enabled_mask(), "enabled": u.enabled("info"), "any": u.any_enabled()}
u.request_start(7, "POST", "/v1/messages", "claude-sonnet-4", "claude_api")
u.request_complete("req-x", 200, "POST", "/v1/messages", "m\u00e9" * 40, "claude_api",
                   duration_ns=5, input_tokens=1, output_tokens=2, cache_read_tokens=3,
                   cache_write_tokens=4, cost_nusd=2**64 - 1)
u.request_fail(2**64 - 1, "TimeoutError", method="GETTTTTTTTT", endpoint=b"/x",
               model="\udcff", service_type=None)
u.provider_request_sent(1, model="a", service_type="codex")
u.provider_response_received(1, 429)
u.provider_error(3, "provider_X")
u.provider_stream_start(1)
u.provider_stream_chunk(4, 1234)
u.provider_stream_end(5, "claude-haiku", "claude_api", 10, 20, 30, 40, 50)
u.pool_acquire(999)
u.pool_release()
u.pool_connection_created()
u.pool_connection_closed()
u.pool_health_check_failed()
u.pool_gauges(4, 3, 1)
u.info("0.2.10")
errs = []
for call in ('u.request_complete(-1, 200)', 'u.request_complete(1, 2**32)',
             'u.request_complete(1, 200, model=5)', 'u.request_complete(1, 200, nope=1)',
             'u.request_complete(1)', 'u.request_start(1.5)', 'u.pool_acquire(2**64)',
             'u.request_start(1, 2, 3, 4, 5, 6)', 'u.request_complete(1, 200, cost_nusd=0.5)'):
    try:
        eval(call)
        errs.append([call, None])
    except Exception as e:
        errs.append([call, type(e).__name__])
res["errors"] = errs
print("done " + json.dumps(res), flush=True)
t = time.time() + 60
while u.enabled_mask() and time.time() < t:
    time.sleep(0.05)
print("detached %d" % u.enabled_mask(), flush=True)
'''

BT_STRUCTS = r'''
struct ccproxy_hdr { unsigned short abi; unsigned short size; unsigned int reserved; };
struct ccproxy_event { struct ccproxy_hdr hdr; unsigned long long request_id;
  unsigned long long duration_ns; unsigned long long bytes; unsigned long long tokens[4];
  unsigned long long cost_nusd; unsigned int status; unsigned int reserved; char method[8];
  char endpoint[64]; char model[64]; char service_type[32]; char error_type[64]; };
struct ccproxy_pool_event { struct ccproxy_hdr hdr; unsigned long long wait_ns;
  unsigned int total; unsigned int available; unsigned int active; unsigned int reserved; };
struct ccproxy_info_event { struct ccproxy_hdr hdr; char version[32]; };
'''
EV_PROBES = ["request_start", "request_complete", "request_fail", "provider_request_sent",
             "provider_response_received", "provider_error", "provider_stream_start",
             "provider_stream_chunk", "provider_stream_end"]


def bt_program(so):
    evs = ", ".join(f"usdt:{so}:ccproxy:{p}" for p in EV_PROBES)
    # One printf per string: the BPF stack (512 bytes) cannot hold them all at once.
    strs = "".join(f'  printf("S|%s|{f}|%r\\n", probe, buf($e->{f}, {n}));\n'
                   for f, n in (("method", 8), ("endpoint", 64), ("model", 64),
                                ("service_type", 32), ("error_type", 64)))
    return BT_STRUCTS + f'''
{evs} {{ $e = (struct ccproxy_event *)arg0;
  printf("E|%s|%u|%u|%llu|%llu|%llu|%llu|%llu|%llu|%llu|%llu|%u\\n", probe, $e->hdr.abi,
         $e->hdr.size, $e->request_id, $e->duration_ns, $e->bytes, $e->tokens[0],
         $e->tokens[1], $e->tokens[2], $e->tokens[3], $e->cost_nusd, $e->status);
{strs}}}
usdt:{so}:ccproxy:pool_* {{ $p = (struct ccproxy_pool_event *)arg0;
  printf("P|%s|%u|%u|%llu|%u|%u|%u\\n", probe, $p->hdr.abi, $p->hdr.size, $p->wait_ns,
         $p->total, $p->available, $p->active); }}
usdt:{so}:ccproxy:info {{ $i = (struct ccproxy_info_event *)arg0;
  printf("I|%s|%u|%u|%r\\n", probe, $i->hdr.abi, $i->hdr.size, buf($i->version, 32)); }}
'''


@pytest.fixture(scope="module")
def built():
    subprocess.run(["make", "-s", "python"], cwd=ROOT, check=True)
    return PYBUILD


def so_path(pid):
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            if "ccproxy_usdt/_usdt" in line:
                return line.split()[-1]
    raise AssertionError("extension not mapped")


def unbuf(s):
    """bpftrace's %r of a char array -> the bytes up to the first NUL."""
    raw = re.sub(rb"\\x([0-9a-f]{2})", lambda m: bytes([int(m.group(1), 16)]), s.encode())
    return raw.split(b"\0", 1)[0]


def test_probes_fire_with_abi_layout(built):
    env = dict(os.environ, PYTHONPATH=str(built))
    child = subprocess.Popen([PY, "-c", CHILD], stdout=subprocess.PIPE, text=True, env=env)
    assert child.stdout.readline().strip() == "ready"
    so = so_path(child.pid)
    bt = subprocess.Popen(["bpftrace", "-p", str(child.pid), "-e", bt_program(so)],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = child.stdout.readline()
        assert line.startswith("done "), line
        res = json.loads(line[5:])
        time.sleep(1.0)  # let bpftrace drain its perf buffer
        bt.send_signal(signal.SIGINT)
        out, _ = bt.communicate(timeout=30)
        detached = child.stdout.readline().strip()
    finally:
        for p in (bt, child):
            if p.poll() is None:
                p.kill()
        child.wait()

    assert res["mask"] == 0xFFFF and res["enabled"] and res["any"]
    assert detached == "detached 0", "semaphores not lowered after bpftrace exit"
    errs = dict(res["errors"])
    assert errs == {
        'u.request_complete(-1, 200)': "ValueError",
        'u.request_complete(1, 2**32)': "ValueError",
        'u.request_complete(1, 200, model=5)': "TypeError",
        'u.request_complete(1, 200, nope=1)': "TypeError",
        'u.request_complete(1)': "TypeError",
        'u.request_start(1.5)': "TypeError",
        'u.pool_acquire(2**64)': "ValueError",
        'u.request_start(1, 2, 3, 4, 5, 6)': "TypeError",
        'u.request_complete(1, 200, cost_nusd=0.5)': "TypeError",
    }

    ev, strs, pool, info = {}, {}, {}, {}
    for line in out.splitlines():
        parts = line.split("|")
        if len(parts) < 3:
            continue
        name = parts[1].rsplit(":", 1)[-1]
        if parts[0] == "E":
            ev[name] = [int(x) for x in parts[2:]]
        elif parts[0] == "S":
            strs[(name, parts[2])] = unbuf(parts[3])
        elif parts[0] == "P":
            pool[name] = [int(x) for x in parts[2:]]
        elif parts[0] == "I":
            info[name] = (int(parts[2]), int(parts[3]), unbuf(parts[4]))

    assert sorted(ev) == sorted(EV_PROBES)
    sys.path.insert(0, str(built))
    import ccproxy_usdt
    hx = ccproxy_usdt.request_id_hash("req-x")
    # abi, size, request_id, duration, bytes, tokens x4, cost, status
    assert ev["request_start"] == [1, 312, 7, 0, 0, 0, 0, 0, 0, 0, 0]
    assert ev["request_complete"] == [1, 312, hx, 5, 0, 1, 2, 3, 4, 2**64 - 1, 200]
    assert ev["request_fail"][2] == 2**64 - 1
    assert ev["provider_response_received"][-1] == 429
    assert ev["provider_stream_chunk"][4] == 1234
    assert ev["provider_stream_end"][2:] == [5, 0, 0, 10, 20, 30, 40, 50, 0]
    assert strs[("request_start", "method")] == b"POST"
    assert strs[("request_start", "endpoint")] == b"/v1/messages"
    assert strs[("request_start", "service_type")] == b"claude_api"
    # 40 x "mé" is 120 bytes: cut to 63 bytes on a character boundary.
    assert strs[("request_complete", "model")] == ("m\u00e9" * 21).encode()
    assert strs[("request_fail", "method")] == b"GETTTTT"
    assert strs[("request_fail", "endpoint")] == b"/x"
    assert strs[("request_fail", "model")] == b"?"
    assert strs[("request_fail", "service_type")] == b""
    assert strs[("request_fail", "error_type")] == b"TimeoutError"
    assert strs[("provider_error", "error_type")] == b"provider_X"
    assert strs[("provider_stream_end", "model")] == b"claude-haiku"
    assert pool["pool_acquire"] == [1, 32, 999, 0, 0, 0]
    assert pool["pool_gauges"] == [1, 32, 0, 4, 3, 1]
    for p in ("pool_release", "pool_connection_created", "pool_connection_closed",
              "pool_health_check_failed"):
        assert pool[p][:2] == [1, 32]
    assert info["info"] == (1, 40, b"0.2.10")


def test_detached_calls_ignore_arguments(built):
    code = ("import ccproxy_usdt as u\n"
            "assert u.enabled_mask() == 0 and not u.any_enabled()\n"
            "assert u.request_complete() is None\n"
            "assert u.request_complete(-1, 'x', bogus=object()) is None\n"
            "assert u.pool_gauges() is None and u.info() is None\n"
            "assert u.request_id_hash('abc') == u.request_id_hash(b'abc')\n"
            "assert u.request_id_hash(5) == 5\n"
            "try:\n    u.enabled('nope')\nexcept ValueError:\n    pass\n"
            "else:\n    raise SystemExit('enabled(nope) did not raise')\n")
    subprocess.run([PY, "-c", code], check=True, env=dict(os.environ, PYTHONPATH=str(built)))
