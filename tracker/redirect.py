"""The redirect: `GET|HEAD /<code>`, a plain WSGI handler in front of the Flask app.

Its cost is the product, so it reads top to bottom: resolve the code (through the process's one
`tracker.resolve.LinkResolver`, which attribution shares: its rules are there), sign a click
id, append one event to the stream of the brand's click shard the visitor falls in (one round
trip), answer 302. Every other path goes to Flask. Bot classification happens in the worker.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import redis

from tracker import clickid, db, keys
from tracker.metrics import REDIRECT_BY_STATUS as REDIRECTS
from tracker.resolve import RESERVED, LinkResolver
from tracker.spool import Spool

log = logging.getLogger(__name__)

_PAGE = "<!doctype html><meta charset=utf-8><title>{0}</title><h1>{0}</h1><p>{1}</p>\n"
_404 = _PAGE.format("Link not found", "This short link does not exist.").encode()
_410 = _PAGE.format("Link no longer active", "This short link has been disabled or has expired.").encode()
_HTML = [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")]
_302 = [("Cache-Control", "private, no-store"), ("Content-Length", "0")]
# A user agent is kept whole up to this (in-app browsers' run past 300 characters; a bot's token
# may come late): the roll-up classifies what the stream holds.
MAX_USER_AGENT = 2048


class Redirector:
    def __init__(
        self, app: Any, rdb: db.Redis, config: dict[str, Any], secret: Callable[[], bytes], links: LinkResolver
    ):
        self.app = app  # the Flask app: every path that is not a short code
        self.db = rdb  # the process's Redis: its hot connections (shared with the webhooks) send the XADD
        self.r = r = rdb.data
        self.secret = secret
        self.links = links  # the process's one link resolver (attribution's too)
        self.country_header = "HTTP_" + config["COUNTRY_HEADER"].upper().replace("-", "_")
        self.proxy_count = int(config["PROXY_COUNT"])
        self.spool = Spool(config["SPOOL_DIR"], r)
        if self.spool.pending():
            self.spool.start()  # clicks spooled before a restart
        self.salt: tuple[int, bytes] = (-1, b"")

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        code = short_code(environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""))
        if code is None:
            return self.app(environ, start_response)
        status, headers, body = self.handle(environ, code, time.time())
        REDIRECTS[status[:3]].inc()
        start_response(status, headers)
        return [body]

    def handle(self, environ: dict[str, Any], code: str, now: float) -> tuple[str, list[tuple[str, str]], bytes]:
        """Resolve, log the click at `now` (the demo passes past times), and say what to answer."""
        status, headers, body, click = self.plan(environ, code, now)
        if click is not None:
            try:
                self.db.call(click[0], b"XADD", click[0], b"*", *click[1])
            except redis.RedisError:
                self.spool_click(*click)
        return status, headers, body

    def spool_click(self, stream: str, event: list[str]) -> None:
        """A click Redis did not take: to the disk spool, replayed when Redis is back."""
        self.spool.write(stream, dict(zip(event[::2], event[1::2], strict=True)))

    def plan(self, environ: dict[str, Any], code: str, now: float) -> tuple[str, list[tuple[str, str]], bytes, Any]:
        """What to answer, and the click to log before answering: (stream, XADD fields) or None.
        The caller sends the XADD (blocking here, awaited in tracker.asgi) and spools on failure."""
        try:
            link = self.links.get(code)
        except redis.RedisError:
            log.error("redis unreachable and no cached resolution for %s", code)
            return "503 Service Unavailable", [*_HTML, ("Retry-After", "5")], b"", None
        if link is None:
            return "404 Not Found", _HTML, _404, None
        ts = int(now * 1000)
        if link["d"] or (link["x"] and ts >= link["x"]):
            return "410 Gone", _HTML, _410, None
        tid = clickid.make(code, ts, self.secret())
        ua = _text(environ.get("HTTP_USER_AGENT", ""))[:MAX_USER_AGENT]
        v = self.visitor(environ, ua, now)
        event = ["id", tid, "l", link["l"], "p", link["p"], "t", str(ts), "v", v, "ua", ua]
        if referrer := environ.get("HTTP_REFERER"):
            event += ("r", _host(referrer))
        if country := environ.get(self.country_header):
            event += ("cc", country[:2])
        if environ["REQUEST_METHOD"] == "HEAD":
            event += ("m", "HEAD")
        # A visitor's clicks stay on one of the brand's click shards (their unique marker is there).
        n = link.get("n", 1)
        stream = keys.clicks_stream(link["b"], int(v[:8], 16) % n if n > 1 and v else 0)
        location = f"{link['u']}{link['s']}{link['q']}={tid}{link['f']}"
        return "302 Found", [("Location", location), *_302], b"", (stream, event)

    def visitor(self, environ: dict[str, Any], ua: str, now: float) -> str:
        """Salted SHA-256 of IP + user agent; the salt is random per UTC day and kept two days."""
        day = int(now // 86400)
        if self.salt[0] != day:
            name = datetime.fromtimestamp(now, UTC).strftime("%Y%m%d")
            try:
                self.r.set(keys.visitor_salt(name), os.urandom(16).hex(), nx=True, ex=2 * 86400)
                self.salt = (day, self.r.get(keys.visitor_salt(name)))
            except redis.RedisError:
                return ""  # no salt, no hash: the click counts but cannot be deduplicated
        ip = environ.get("REMOTE_ADDR", "")
        if self.proxy_count:
            hops = [h.strip() for h in environ.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
            if len(hops) >= self.proxy_count:
                ip = hops[-self.proxy_count]
        return hashlib.sha256(self.salt[1] + b"|" + ip.encode() + b"|" + ua.encode()).hexdigest()[:32]


def _text(value: str) -> str:
    """A header value as sent: PEP 3333 servers pass its bytes as latin-1; browsers send UTF-8."""
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode()
    except UnicodeError:
        return value  # not UTF-8 (latin-1 is the best reading), or a server that decoded it already


def short_code(method: str, path: str) -> str | None:
    """The code a request asks to be redirected by (`GET|HEAD /<code>`), or None: not a redirect."""
    code = path[1:]
    if method not in ("GET", "HEAD") or not code or "/" in code or code in RESERVED or "." in code:
        return None
    return code


def _host(referrer: str | None) -> str:
    if not referrer:
        return ""
    try:
        return (urlsplit(referrer).hostname or "")[:255]
    except ValueError:
        return ""
