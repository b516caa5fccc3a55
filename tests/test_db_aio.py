"""tracker.db.aio: the hot paths' pipelined commands and scripts under asyncio, against real Redis servers."""

from __future__ import annotations

import asyncio

import pytest
import redis

from tests.conftest import free_port
from tracker import embedded, keys
from tracker.db import aio, scripts


def test_concurrent_commands_share_one_connection_and_each_gets_its_own_reply(r, redis_url):
    pipes = aio.Pipes(redis.Redis.from_url(redis_url))

    async def burst() -> list:
        try:
            return await asyncio.gather(*(pipes.call("s", b"XADD", "s", b"*", "n", str(i)) for i in range(300)))
        finally:
            await pipes.close()

    ids = asyncio.run(burst())
    entries = r.xrange("s")
    assert len(entries) == 300 and len(set(ids)) == 300
    assert [e[0] for e in entries] == ids  # each request got the id of its own entry, in order
    assert [e[1][b"n"] for e in entries] == [str(i).encode() for i in range(300)]
    assert len(pipes.pipes) == 1


def test_the_connection_selects_the_urls_database_and_reports_redis_errors(r, redis_url):
    pipes = aio.Pipes(redis.Redis.from_url(redis_url.rsplit("/", 1)[0] + "/3"))

    async def calls() -> tuple:
        try:
            added = await pipes.call("s", b"XADD", "s", b"*", "a", "1")
            with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
                await pipes.call("s", b"INCR", "s")
            return added, await pipes.call("n", b"INCR", "n")
        finally:
            await pipes.close()

    _, counted = asyncio.run(calls())
    assert counted == 1 and r.xlen("s") == 0  # not in database 0
    assert redis.Redis.from_url(redis_url.rsplit("/", 1)[0] + "/3").xlen("s") == 1


def test_a_redis_that_goes_away_fails_the_call_and_the_next_one_connects_again(tmp_path):
    port = free_port()
    pipes = aio.Pipes(redis.Redis(port=port, socket_connect_timeout=0.5))

    async def call() -> bytes:
        return await pipes.call("s", b"XADD", "s", b"*", "a", "1")

    with pytest.raises(redis.ConnectionError):  # nothing listens yet
        asyncio.run(call())
    proc = embedded.start(port, persist=False)
    try:
        loop = asyncio.new_event_loop()
        assert loop.run_until_complete(call())
        proc.kill()
        proc.wait()
        with pytest.raises(redis.ConnectionError):
            loop.run_until_complete(call())
        proc = embedded.start(port, persist=False)
        assert loop.run_until_complete(call())  # connected again
        loop.run_until_complete(pipes.close())
        loop.close()
        assert redis.Redis(port=port).xlen("s") == 1  # the new server's one entry
    finally:
        proc.kill()
        proc.wait()


def test_a_script_runs_with_its_array_reply_parsed_and_is_loaded_again_after_a_script_flush(r, redis_url):
    pipes = aio.Pipes(redis.Redis.from_url(redis_url))

    def order(conversion_id: str) -> scripts.Call:
        return scripts.record_order(
            brand_id="b1", source="generic", order_id="o-1", conversion_id=conversion_id, record="{}", amount=100,
            at_ms=1_700_000_000_000, event=[("kind", "order"), ("id", conversion_id)],
        )  # fmt: skip

    async def calls() -> list:
        try:
            first = await pipes.run(order("c1"))
            r.script_flush()  # Redis restarted or flushed: NOSCRIPT, loaded on the same node, run again
            return [first, await pipes.run(order("c2"))]
        finally:
            await pipes.close()

    assert asyncio.run(calls()) == [(True, "c1"), (False, "c1")]  # the second is the same order: its id
    assert r.hget(keys.order_index("b1"), "generic:o-1") == b"c1"
