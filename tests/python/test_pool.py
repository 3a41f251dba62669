# SPDX-License-Identifier: BSD-2-Clause
"""PoolInstrument with real httpx clients against a local HTTP server: acquisitions and
releases per request, connections created and closed as the wire sees them, the gauges, and
nothing at all while no tracer listens."""
import asyncio

import httpx
from usdt_testlib import Recorder, plugin, pool

POOL = ("pool_acquire", "pool_release", "pool_connection_created", "pool_connection_closed",
        "pool_gauges")


class Manager:
    """Stands for ccproxy's HTTPPoolManager: one client per base URL, made on demand."""

    def __init__(self):
        self._pools = {}
        self._shared_client = None

    async def get_client(self, base_url=None, **kw):
        if base_url not in self._pools:
            self._pools[base_url] = httpx.AsyncClient(base_url=base_url)
        return self._pools[base_url]

    async def get_shared_client(self):
        return await self.get_client(None)


async def serve():
    """HTTP/1.1 keep-alive server; returns (server, url, accepted connections list)."""
    conns = []

    async def handle(reader, writer):
        conns.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                close = b"close-me" in head
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n"
                             + (b"connection: close\r\n" if close else b"") + b"\r\nok")
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}", conns


def counts(rec):
    names = rec.names()
    return {n: names.count(n) for n in POOL}


def run(coro):
    return asyncio.run(coro)


def test_requests_acquire_release_and_connections():
    async def go():
        rec = Recorder()
        server, url, conns = await serve()
        m = Manager()
        inst = pool.PoolInstrument(rec)
        inst.attach(m)
        client = await m.get_client(url)
        await asyncio.gather(*(client.get("/x") for _ in range(3)))
        await client.get("/x")
        await client.get("/x", headers={"x": "close-me"})
        await asyncio.sleep(0.05)
        inst.refresh()
        c = counts(rec)
        assert c["pool_acquire"] == c["pool_release"] == 5
        assert c["pool_connection_created"] == len(conns) == 3
        total = [call[1] for call in rec.calls if call[0] == "pool_gauges"][-1]
        assert total[0] == c["pool_connection_created"] - c["pool_connection_closed"]
        assert total[2] == 0 and total[1] == total[0]  # all idle after the requests
        assert all(call[1][0] >= 0 for call in rec.calls if call[0] == "pool_acquire")
        inst.detach()
        assert "get_client" not in vars(m)
        await client.get("/x")
        assert counts(rec)["pool_acquire"] == 5  # detached: no more probes
        await client.aclose()
        server.close()

    run(go())


def test_nothing_tracked_while_no_tracer_listens():
    async def go():
        rec = Recorder(mask=0)
        server, url, _ = await serve()
        m = Manager()
        inst = pool.PoolInstrument(rec)
        inst.attach(m)
        client = await m.get_client(url)
        await client.get("/x")
        inst.refresh()
        assert rec.calls == [] and inst._conns == {}
        # A tracer attaches: connections that exist are the baseline, not "created".
        rec.mask = (1 << len(plugin.PROBES)) - 1
        inst.refresh()
        await client.get("/x")
        c = counts(rec)
        assert c["pool_connection_created"] == 0 and c["pool_acquire"] == 1
        await client.aclose()
        server.close()

    run(go())


def test_an_existing_trace_callback_still_runs():
    async def go():
        rec = Recorder()
        server, url, _ = await serve()
        m = Manager()
        pool.PoolInstrument(rec).attach(m)
        client = await m.get_client(url)
        seen = []

        async def mine(name, info):
            seen.append(name)

        await client.get("/x", extensions={"trace": mine})
        assert any(n.endswith("send_request_headers.started") for n in seen)
        assert counts(rec)["pool_acquire"] == 1
        await client.aclose()
        server.close()

    run(go())


def test_a_broken_client_is_counted_not_raised():
    rec = Recorder()
    inst = pool.PoolInstrument(rec)
    inst.instrument(object())
    assert inst.dropped == 1
