"""The hot paths' Redis under asyncio: the commands of many requests in flight on one connection.

granian serves the app through `tracker.asgi` on one asyncio loop per worker process. A blocking
XADD there holds every other request of the worker for the whole round trip; here each redirect
writes its hand-packed command and awaits its own reply while the loop serves the next request.
Redis answers a connection's commands in order, so replies are matched first in, first out. A
connection that fails or times out fails every command still in flight (their redirects spool
their clicks, as on the blocking path) and the next command connects again. One connection per
node: on Redis Cluster the command goes to the primary that owns its key's slot (`node`), and
again where a MOVED or ASK reply says when the slot moves. The redirect sends its click's XADD
here, the webhook's native path its order's script (`Pipes.run`).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, TypeVar

import redis
from redis.exceptions import NoScriptError

from tracker.db import ASKING, REDIRECTS, Call, command, node, redirection

T = TypeVar("T")


class Pipe:
    """One pipelined connection to one Redis server."""

    def __init__(self, kwargs: dict[str, Any]):
        self.kwargs = kwargs
        self.timeout = kwargs.get("socket_timeout") or 5.0
        self.writer: asyncio.StreamWriter | None = None
        self.waiting: deque[asyncio.Future[Any]] = deque()
        self.connecting: asyncio.Future[None] | None = None
        self.outgoing: list[bytes] = []  # commands of this loop iteration, written together when it ends

    async def call(self, packed: bytes, asking: bool = False) -> Any:
        """Send one packed command, return its reply (bytes, int, None or a list); raises redis errors.
        `asking`: ASKING goes first, in the same write (no other command gets between them)."""
        if self.writer is None:
            await self._connect()
        assert self.writer is not None
        if asking:
            flag = asyncio.get_running_loop().create_future()
            flag.add_done_callback(lambda f: f.exception())  # its +OK is not awaited
            self.waiting.append(flag)
            packed = ASKING + packed
        loop = asyncio.get_running_loop()
        reply = loop.create_future()
        self.waiting.append(reply)
        writer = self.writer
        if not self.outgoing:  # requests resumed together (a journal batch) share one write
            loop.call_soon(self._flush)
        self.outgoing.append(packed)
        # No answer in time: the connection is dropped, failing this command and all behind it.
        timer = loop.call_later(self.timeout, self._expire, writer)
        try:
            return await reply  # cancelled (the client went away): its reply is still read, and dropped
        finally:
            timer.cancel()

    def _flush(self) -> None:
        data, self.outgoing = b"".join(self.outgoing), []
        writer = self.writer
        if data and writer is not None:
            try:
                writer.write(data)
            except Exception as exc:  # a broken pipe, as the loop's own error type (granian's: RuntimeError)
                self._fail(writer, redis.ConnectionError(f"cannot write to Redis: {exc}"))

    def _expire(self, writer: asyncio.StreamWriter) -> None:
        self._fail(writer, redis.TimeoutError("Redis did not answer in time"))

    async def _connect(self) -> None:
        """Open the connection (once, however many requests wait for it), AUTH and SELECT ahead."""
        if self.connecting is not None:
            return await asyncio.shield(self.connecting)
        self.connecting = asyncio.get_running_loop().create_future()
        kw = self.kwargs
        try:
            opening = (asyncio.open_unix_connection(kw["path"]) if kw.get("path")
                       else asyncio.open_connection(kw.get("host", "127.0.0.1"), kw.get("port", 6379)))  # fmt: skip
            reader, writer = await asyncio.wait_for(opening, kw.get("socket_connect_timeout") or 0.5)
        except Exception as exc:  # refused, timed out, or the loop's own error type for either
            failure = redis.ConnectionError(f"cannot connect to Redis: {exc}")
            self.connecting.set_exception(failure)
            self.connecting.exception()  # retrieved: no "never retrieved" warning when nobody else waits
            self.connecting = None
            raise failure from None
        self.writer = writer
        asyncio.get_running_loop().create_task(self._read(reader, writer))
        setup = []
        if kw.get("password"):
            setup.append(command(b"AUTH", *([kw["username"]] if kw.get("username") else []), kw["password"]))
        if kw.get("db"):
            setup.append(command(b"SELECT", kw["db"]))
        replies = [asyncio.get_running_loop().create_future() for _ in setup]
        self.waiting.extend(replies)
        if setup:
            writer.write(b"".join(setup))
        self.connecting.set_result(None)
        self.connecting = None
        for reply in replies:  # a wrong password fails this request and closes the connection
            await asyncio.wait_for(asyncio.shield(reply), self.timeout)

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Hand each reply to the oldest command waiting for one."""
        try:
            while True:
                value = await _reply(reader)
                reply = self.waiting.popleft()
                if not reply.done():
                    (reply.set_exception if isinstance(value, Exception) else reply.set_result)(value)
        except Exception as exc:  # any: a reader that died silently would leave every later command
            # waiting for its timeout (granian's loop reports a broken pipe as a RuntimeError)
            error = exc if isinstance(exc, redis.RedisError) else redis.ConnectionError(str(exc) or type(exc).__name__)
            self._fail(writer, error)

    async def close(self) -> None:
        writer = self.writer
        if writer is not None:
            self._fail(writer, redis.ConnectionError("closed"))
            await writer.wait_closed()

    def _fail(self, writer: asyncio.StreamWriter, error: redis.RedisError) -> None:
        """Drop the connection: every command still in flight on it fails."""
        if self.writer is writer:
            self.writer, self.outgoing = None, []
            waiting, self.waiting = self.waiting, deque()
            for reply in waiting:
                if not reply.done():
                    reply.set_exception(error)
                    reply.exception()
        writer.close()


async def _reply(reader: asyncio.StreamReader) -> Any:
    """One RESP2 reply: bytes, int, None, a list of these (a script's table), or the error Redis
    said (NoScriptError for NOSCRIPT), returned, not raised."""
    line = await reader.readline()
    if not line.endswith(b"\r\n"):
        raise redis.ConnectionError("Redis closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind == b"$":
        size = int(rest)
        return (await reader.readexactly(size + 2))[:-2] if size >= 0 else None
    if kind == b":":
        return int(rest)
    if kind == b"+":
        return rest
    if kind == b"*":
        size = int(rest)
        return [await _reply(reader) for _ in range(size)] if size >= 0 else None
    if kind == b"-":
        text = rest.decode(errors="replace")
        return (NoScriptError if text.startswith("NOSCRIPT") else redis.ResponseError)(text)
    raise redis.ConnectionError(f"unexpected reply from Redis: {line[:40]!r}")  # RESP3: not ours to parse


def supported(r: redis.Redis) -> bool:
    """Plain TCP or unix-socket Redis: TLS connections keep the blocking path."""
    if isinstance(r, redis.RedisCluster):
        kwargs = r.get_connection_kwargs()
        return not kwargs.get("ssl") and not issubclass(kwargs.get("connection_class", object), redis.SSLConnection)
    return not issubclass(r.connection_pool.connection_class, redis.SSLConnection)


class Pipes:
    """The process's pipelined connections, one per Redis node, made on first use."""

    def __init__(self, r: redis.Redis):
        self.r = r
        self.pipes: dict[tuple, Pipe] = {}

    async def call(self, key: str, *args: Any) -> Any:
        """Run one command (bytes, str or numbers) on the node that holds `key`, following a slot
        that moved (MOVED, ASK: `tracker.db.redirection`)."""
        packed, client, asking = command(*args), node(self.r, key), False
        for _ in range(REDIRECTS):
            try:
                return await self._pipe(client).call(packed, asking)
            except redis.ResponseError as exc:
                client, asking = redirection(self.r, key, exc)
        return await self._pipe(client).call(packed, asking)

    async def run(self, call: Call[T]) -> T:
        """Run a script on the node of its first key (`tracker.db.run`'s rule: EVALSHA; on NOSCRIPT,
        SCRIPT LOAD on that same node and EVALSHA again)."""
        key = call.keys[0]
        evalsha = (b"EVALSHA", call.script.sha, len(call.keys), *call.keys, *call.args)
        try:
            return call.parse(await self.call(key, *evalsha))
        except NoScriptError:
            await self.call(key, b"SCRIPT", b"LOAD", call.script.source)
            return call.parse(await self.call(key, *evalsha))

    def _pipe(self, client: redis.Redis) -> Pipe:
        kwargs = client.connection_pool.connection_kwargs
        where = (kwargs.get("path"), kwargs.get("host"), kwargs.get("port"), kwargs.get("db"))
        pipe = self.pipes.get(where)
        if pipe is None:
            pipe = self.pipes[where] = Pipe(kwargs)
        return pipe

    async def close(self) -> None:
        """Close every connection (the process's loop ends with them)."""
        for pipe in self.pipes.values():
            await pipe.close()
