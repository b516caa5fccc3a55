"""What granian serves: the WSGI app (redirect, webhooks, Flask) behind a thin ASGI bridge.

Why not granian's WSGI interface: it hands the app an empty string for any header value with a
byte outside ASCII (granian issue #335, won't fix), and its RSGI interface drops such a header
altogether, so a browser saying `Versão/4.0` or `Galaxy™` looked like a bot with no user agent.
Its ASGI interface passes header bytes as they came. This bridge builds the PEP 3333 environ from
them (values as latin-1, as gunicorn does) and calls the WSGI app inline: one request at a time
per worker process, as granian's WSGI interface did with one blocking thread. Except two kinds.
A redirect runs tracker.redirect's own steps, but awaits its click's XADD on a pipelined
connection (tracker/db/aio.py) rather than blocking the loop for the round trip: the worker serves
the next redirects meanwhile, and the 302 still leaves only once Redis (or the spool) has the
click. A webhook delivery whose every lookup is in the process's caches runs the one intake
(tracker.webhooks.intake) on the loop too (`WebhookFront.ingest_async`, `recording.run_async`),
awaiting the journal's group commit and then its commands and scripts on those connections:
still fsync'd, then recorded, then 200. The other requests that carry orders (the rest of the
webhooks, conversions, postbacks) wait for the journal's fsync blocking, so they run on a pool
of threads, and
deliveries arriving together share one fsync (tracker/journal.py) instead of queueing behind
each other's. What they touch is thread-safe: redis-py's pool and the
hot path's connections (tracker/db), dict caches, Flask's per-request contexts.
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote_to_bytes

import redis

from tracker import create_wsgi
from tracker.db import aio
from tracker.metrics import REDIRECT_BY_STATUS as REDIRECTS
from tracker.redirect import Redirector, short_code
from tracker.webhooks.fast import WebhookFront

MAX_BODY = 2 * 1024 * 1024  # what Flask accepts (MAX_CONTENT_LENGTH); beyond it Flask answers 413
ORDER_THREADS = 16  # per worker process: order deliveries in flight at once, sharing an fsync

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def carries_orders(method: str, path: str) -> bool:
    """The requests that record orders and refunds (and so wait for the journal's fsync)."""
    if method == "POST":
        return path.startswith("/webhooks/") or path == "/api/v1/conversions"
    return path == "/postback"


class Bridge:
    def __init__(self, wsgi: Callable[..., Any], threads: int = ORDER_THREADS):
        self.wsgi = wsgi
        # The redirect's XADD is awaited on pipelined connections (tracker.db.aio), so the loop
        # serves other requests during the round trip; without them (TLS, another app) it blocks.
        # The plainest webhook deliveries await their journal fsync and scripts the same way.
        redirector = wsgi if isinstance(wsgi, Redirector) else None
        data = redirector.db.data if redirector else None
        self.redirector, self.pipes = (redirector, aio.Pipes(data)) if data and aio.supported(data) else (None, None)
        front = redirector.app if self.redirector else None
        self.webhooks = front if isinstance(front, WebhookFront) else None
        self.threads = threads
        self._pool: ThreadPoolExecutor | None = None
        self._pid = 0

    async def _redirect(self, environ: dict[str, Any], code: str, send: Send) -> None:
        """The redirect of tracker.redirect, its click's XADD awaited instead of blocking the loop."""
        assert self.redirector is not None and self.pipes is not None
        status, headers, body, click = self.redirector.plan(environ, code, time.time())
        if click is not None:
            try:
                await self.pipes.call(click[0], b"XADD", click[0], b"*", *click[1])
            except redis.RedisError:
                self.redirector.spool_click(*click)
        REDIRECTS[status[:3]].inc()
        head = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        await send({"type": "http.response.start", "status": int(status[:3]), "headers": head})
        await send({"type": "http.response.body", "body": body})

    def pool(self) -> ThreadPoolExecutor:
        """This process's threads for order requests (made on first use: a forked worker makes its own)."""
        if self._pool is None or self._pid != os.getpid():
            self._pool, self._pid = ThreadPoolExecutor(self.threads, thread_name_prefix="orders"), os.getpid()
        return self._pool

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await _lifespan(receive, send) if scope["type"] == "lifespan" else None  # no websockets
        environ = _environ(scope)
        if self.redirector and (code := short_code(environ["REQUEST_METHOD"], environ["PATH_INFO"])):
            return await self._redirect(environ, code, send)
        length = environ.get("CONTENT_LENGTH", "")
        too_long = length.isdigit() and int(length) > MAX_BODY  # not read: Flask answers 413 from the length
        body = b""
        if not too_long and (length not in ("", "0") or "HTTP_TRANSFER_ENCODING" in environ):
            body = await _read(receive, MAX_BODY + 1)
            if len(body) > MAX_BODY:  # chunked and too long: stopped reading, Flask answers 413
                environ["CONTENT_LENGTH"] = str(len(body))
            environ["wsgi.input"] = io.BytesIO(body)

        path = environ["PATH_INFO"]
        whole = bool(body) and length == str(len(body))
        if self.webhooks and whole and environ["REQUEST_METHOD"] == "POST" and path.startswith("/webhooks/"):
            if result := await self.webhooks.ingest_async(path, environ, body, self.pipes):
                headers, payload = self.webhooks.ok(path, result)
                head = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
                await send({"type": "http.response.start", "status": 200, "headers": head})
                return await send({"type": "http.response.body", "body": payload})
        if carries_orders(environ["REQUEST_METHOD"], path):
            environ["wsgi.multithread"] = True
            head, body = await asyncio.get_running_loop().run_in_executor(self.pool(), _whole, self.wsgi, environ)
            await send({"type": "http.response.start", "status": head[0], "headers": head[1]})
            return await send({"type": "http.response.body", "body": body})

        head: list[Any] = []  # status, headers; then True once sent

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
            if exc_info and len(head) > 2:
                raise exc_info[1].with_traceback(exc_info[2])  # too late to change what was sent
            head[:2] = int(status[:3]), [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
            return _write

        result = self.wsgi(environ, start_response)
        if type(result) is list:  # the redirect's and the webhooks' answers: one send of the whole body
            await send({"type": "http.response.start", "status": head[0], "headers": head[1]})
            return await send({"type": "http.response.body", "body": b"".join(result)})
        try:  # an iterable (Flask's): streamed, one chunk held back to mark the last one
            chunks = iter(result)
            held = next(chunks, b"")  # an app may call start_response as late as its first chunk
            await send({"type": "http.response.start", "status": head[0], "headers": head[1]})
            head.append(True)
            for chunk in chunks:
                await send({"type": "http.response.body", "body": held, "more_body": True})
                held = chunk
            await send({"type": "http.response.body", "body": held})
        finally:
            if hasattr(result, "close"):
                result.close()


def _whole(wsgi: Callable[..., Any], environ: dict[str, Any]) -> tuple[list[Any], bytes]:
    """Call the WSGI app and read its whole answer (small JSON: one send); (status, headers), body."""
    head: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
        head[:] = int(status[:3]), [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        return _write

    result = wsgi(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return head, body


def _write(data: bytes) -> None:
    raise NotImplementedError("write() is not supported: return the body instead (PEP 3333 deprecates it)")


def _environ(scope: dict[str, Any]) -> dict[str, Any]:
    """PEP 3333's environ: the path percent-decoded and, like every header value, as latin-1."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    path = scope.get("raw_path") or scope["path"].encode()
    environ = _CONSTANT.copy()
    environ["REQUEST_METHOD"] = scope["method"]
    environ["PATH_INFO"] = (unquote_to_bytes(path) if b"%" in path else path).decode("latin-1")
    environ["QUERY_STRING"] = scope["query_string"].decode("latin-1")
    environ["SERVER_NAME"], environ["SERVER_PORT"] = server[0], str(server[1])
    environ["SERVER_PROTOCOL"] = "HTTP/" + scope["http_version"]
    environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = client[0], str(client[1])
    environ["wsgi.url_scheme"] = scope.get("scheme", "http")
    environ["wsgi.input"] = io.BytesIO()
    for name, value in scope["headers"]:
        key = _NAMES.get(name)
        if key is None:
            if b"_" in name:  # X_Forwarded_For would pass for X-Forwarded-For: dropped, as gunicorn does
                continue
            key = "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
        text = value.decode("latin-1")
        environ[key] = f"{environ[key]},{text}" if key in environ else text
    return environ


_CONSTANT = {
    "SCRIPT_NAME": "",
    "wsgi.version": (1, 0),
    "wsgi.input_terminated": True,
    "wsgi.errors": sys.stderr,
    "wsgi.multithread": False,
    "wsgi.multiprocess": True,
    "wsgi.run_once": False,
}
# Names of the usual headers, computed once (any other is computed per request, never stored).
_NAMES = {
    b"content-type": "CONTENT_TYPE",
    b"content-length": "CONTENT_LENGTH",
    **{
        name.encode(): "HTTP_" + name.upper().replace("-", "_")
        for name in (
            "host", "user-agent", "accept", "accept-encoding", "accept-language", "connection", "referer",
            "cookie", "authorization", "cache-control", "upgrade-insecure-requests", "priority", "dnt",
            "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-real-ip", "cf-ipcountry",
            "sec-fetch-site", "sec-fetch-mode", "sec-fetch-user", "sec-fetch-dest", "sec-ch-ua",
            "sec-ch-ua-mobile", "sec-ch-ua-platform", "transfer-encoding", "origin", "if-none-match",
        )
    },
}  # fmt: skip


async def _read(receive: Receive, limit: int) -> bytes:
    """The request body, read no further than `limit` bytes (or the chunk that crosses it)."""
    chunks, size = [], 0
    while size <= limit:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


app = Bridge(create_wsgi())
