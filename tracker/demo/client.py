"""Talking to the service as its users do: the brand's JSON API, short links and signed webhooks, either
through the served WSGI stack in this process or over HTTP to a running server."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import click
from werkzeug.test import Client

from tracker.demo.traffic import Hit, signed


class Refused(click.ClickException):
    """The service answered a request with an unexpected status."""


class Http:
    """Plain HTTP/1.1 to a server on one kept-alive connection (redirects are not followed)."""

    def __init__(self, url: str, timeout: float = 10):
        parts = urlsplit(url)
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        self.conn = cls(parts.hostname, parts.port, timeout=timeout)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()  # the server closed a kept-alive connection: once more on a new one
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.conn.close()


Send = Callable[[str, str, bytes | None, dict[str, str]], tuple[int, dict[str, str], bytes]]


def in_process(client: Client) -> Send:
    """Requests through a WSGI app in this process (werkzeug's or Flask's test client)."""

    def send(method: str, path: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        resp = client.open(path, method=method, data=body, headers=headers)
        return resp.status_code, {k.lower(): v for k, v in resp.headers.items()}, resp.get_data()

    return send


class Api:
    """A brand's JSON API (`/api/v1`) with its key: `api("POST", "/links", body)` is the answer's JSON;
    any status but 200 and 201 raises Refused."""

    def __init__(self, send: Send, key: str):
        self.send = send
        self.headers = {"Authorization": f"Bearer {key}"}

    def raw(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode()
        headers = self.headers if data is None else {**self.headers, "Content-Type": "application/json"}
        status, _, answer = self.send(method, f"/api/v1{path}", data, headers)
        return status, answer

    def __call__(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        status, answer = self.raw(method, path, body)
        if status not in (200, 201):
            raise Refused(f"{method} /api/v1{path} answered {status}: {answer[:500].decode(errors='replace')}")
        return json.loads(answer)


def click_id(location: str) -> str:
    """The click id (`tid`) of a redirect's Location."""
    tids = parse_qs(urlsplit(location).query).get("tid", [])
    if len(tids) != 1:
        raise Refused(f"the redirect to {location!r} carries no click id")
    return tids[0]


class Sender:
    """Each event through the redirect's handler / the in-process stack, or to the live server."""

    def __init__(self, front: Any, client: Client, brand_id: str, live_url: str | None):
        self.front, self.post_local = front, in_process(client)
        self.secret = ""
        self.path = f"/webhooks/{brand_id}/generic"
        self.http = Http(live_url) if live_url else None

    def close(self) -> None:
        if self.http is not None:
            self.http.close()

    def click(self, hit: Hit, code: str) -> None:
        """The hit on link `code`, at its own past time through the redirect's handler unless live;
        keeps the click id it was answered with."""
        if hit.live:
            headers = {"User-Agent": hit.ua, **({"Referer": hit.referrer} if hit.referrer else {})}
            status, answer, _ = self.http.request(hit.method, f"/{code}", headers=headers)
            location = answer.get("location", "")
        else:
            environ = {"REQUEST_METHOD": hit.method, "PATH_INFO": f"/{code}", "REMOTE_ADDR": hit.ip,
                       "HTTP_USER_AGENT": hit.ua}  # fmt: skip
            if hit.referrer:
                environ["HTTP_REFERER"] = hit.referrer
            status_line, headers, _ = self.front.handle(environ, code, hit.at)
            status, location = int(status_line[:3]), dict(headers).get("Location", "")
        if status != 302:
            raise Refused(f"demo: the redirect of {code} answered {status}")
        hit.tid = click_id(location)

    def post(self, payload: dict[str, Any], live: bool) -> dict[str, Any]:
        """One signed webhook delivery; its answer."""
        body, headers = signed(self.secret, payload)
        send = self.http.request if live else self.post_local
        status, _, raw = send("POST", self.path, body, headers)
        if status != 200:
            raise Refused(f"demo: the webhook answered {status}: {raw.decode(errors='replace')}")
        return json.loads(raw)


def serves_brand(url: str, key: str, brand_id: str) -> bool:
    """Whether a server answers at `url` with this Redis's data (it knows the new brand's key)."""
    probe = Http(url, timeout=2)
    try:
        status, _, raw = probe.request("GET", "/api/v1/brand", headers={"Authorization": f"Bearer {key}"})
        return status == 200 and json.loads(raw).get("id") == brand_id
    except (OSError, http.client.HTTPException, ValueError):
        return False
    finally:
        probe.close()
