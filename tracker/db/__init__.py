"""One way to talk to Redis: the clients, the hot paths' hand-packed commands, and the Lua scripts.

A process builds one `Redis` context (`Redis.from_config`: the web app in `create_app`, which
closes it when the app is collected or the process exits; a worker builds its data client through
`connect`). It owns the data client, the queue client (RQ) and the hot connections (redirect XADD,
webhook scripts: commands packed in one go on connections kept per node, never through the pool's
checkout), and `close()` closes them all.

A Lua script is a `Call` built by its typed wrapper in `tracker.db.scripts` and run one of three
ways, all with the same rule (EVALSHA of the sha computed from the `.lua` file; on NOSCRIPT,
SCRIPT LOAD on that same node and EVALSHA again):
- `run(r, call)`: one round trip on the client `r`; `Redis.run(call)`: the same on a hot connection;
- `pipeline(r, key)`: a redis-py pipeline on the node of `key`, scripts among other commands;
- `Conn(r, key)`: commands sent ahead of their replies on one connection (the roll-up reads batch
  k+1 while Redis runs batch k's script).

Redis Cluster: everything here is bound to one key's node. `node(r, key)` is `r` itself on a
standalone server; on a `redis.RedisCluster` it is the plain `redis.Redis` of the primary that owns
the key's slot (`get_node_from_key`, `get_redis_connection`), so pipelines with scripts, the
hand-packed hot commands (free lists kept per node) and `Conn` run unchanged there. Every brand's
keys share one slot (`{b:<brand>}` in tracker.keys) and every script takes its keys in KEYS[], so
a script, or a pipeline bound to one of a brand's keys, touches a single node.
"""

from __future__ import annotations

import weakref
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import redis
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError
from redis.retry import Retry

from tracker.db.scripts import Call

DEFAULT_URL = "redis://127.0.0.1:6479/0"  # where `tracker run` starts its embedded server

T = TypeVar("T")

__all__ = ["DEFAULT_URL", "Call", "Conn", "Pipeline", "Redis", "command", "connect", "node", "pipeline", "run"]


def connect(url: str | None, **overrides: Any) -> redis.Redis:
    """A client that fails fast: the redirect must not hang on a Redis outage."""
    options = {
        "socket_connect_timeout": 0.5,
        "socket_timeout": 5.0,
        "retry": Retry(NoBackoff(), 0),
        "health_check_interval": 30,
    }
    options.update(overrides)
    return redis.Redis.from_url(url or DEFAULT_URL, **options)


def node(r: redis.Redis, key: str) -> redis.Redis:
    """The client of the node that holds `key`: `r` itself unless `r` is a cluster client."""
    if isinstance(r, redis.RedisCluster):
        return r.get_redis_connection(r.get_node_from_key(key))
    return r


def command(*args: Any) -> bytes:
    """One command packed in the protocol, its arguments bytes, str or numbers."""
    parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    return b"".join([b"*%d\r\n" % len(parts), *(b"$%d\r\n%s\r\n" % (len(a), a) for a in parts)])


def _evalsha(execute: Callable[..., Any], call: Call[Any]) -> Any:
    """EVALSHA through `execute` (one node); Redis does not know the script (restarted, flushed,
    another node): SCRIPT LOAD through the same `execute` and EVALSHA again."""
    evalsha = (b"EVALSHA", call.script.sha, len(call.keys), *call.keys, *call.args)
    try:
        return execute(*evalsha)
    except NoScriptError:
        execute(b"SCRIPT", b"LOAD", call.script.source)
        return execute(*evalsha)


def run(r: redis.Redis, call: Call[T]) -> T:
    """Run a script now, on the node of its first key."""
    return call.parse(_evalsha(node(r, call.keys[0]).execute_command, call))


class Pipeline:
    """Commands for one node sent in one round trip (redis-py's pipeline, no MULTI), scripts among
    them with `run`. A script Redis did not know is loaded and run again after the others: only
    for pipelines whose commands do not depend on each other's effects (reads)."""

    def __init__(self, client: redis.Redis):
        self.client = client
        self.pipe = client.pipeline(transaction=False)
        self.calls: dict[int, Call[Any]] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pipe, name)  # any command: queued

    def run(self, call: Call[Any]) -> None:
        self.calls[len(self.pipe.command_stack)] = call
        self.pipe.evalsha(call.script.sha, len(call.keys), *call.keys, *call.args)

    def execute(self) -> list[Any]:
        replies = self.pipe.execute(raise_on_error=False)
        for n, call in self.calls.items():
            if isinstance(replies[n], NoScriptError):
                replies[n] = _evalsha(self.client.execute_command, call)
            if not isinstance(replies[n], Exception):
                replies[n] = call.parse(replies[n])
        self.calls.clear()
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return replies


@contextmanager
def pipeline(r: redis.Redis, key: str) -> Iterator[Pipeline]:
    """A pipeline on the node that holds `key` (on a cluster: every key it touches must share its slot)."""
    p = Pipeline(node(r, key))
    try:
        yield p
    finally:
        p.pipe.reset()


class Conn:
    """One connection of its own to the node of `key`, commands sent ahead of their replies
    (pipelined by hand): replies come back in the order the commands were sent. Replies are as
    the wire says (no redis-py callbacks). Close it when done."""

    def __init__(self, r: redis.Redis, key: str):
        self.conn = node(r, key).connection_pool.make_connection()
        self.held: deque[Any] = deque()  # replies read off the wire before their turn

    def send(self, *commands: tuple[Any, ...]) -> None:
        self.conn.send_packed_command([command(*c) for c in commands], check_health=False)

    def read(self) -> Any:
        if self.held:
            return self.held.popleft()
        return self.conn.read_response(disable_decoding=True)

    def send_call(self, call: Call[Any]) -> None:
        self.send((b"EVALSHA", call.script.sha, len(call.keys), *call.keys, *call.args))

    def call_reply(self, call: Call[T], pending_read: bool = False) -> T:
        """The reply of a call sent earlier with `send_call`. Redis did not know the script: load
        it and run the call again, after taking the reply of the one command sent behind it
        (`pending_read`), which is then read in its turn."""
        try:
            return call.parse(self.read())
        except NoScriptError:
            held = [self.read()] if pending_read else []  # that reply may be nil: kept all the same
            self.send((b"SCRIPT", b"LOAD", call.script.source))
            self.read()
            self.send_call(call)
            result = self.call_reply(call)
            self.held.extend(held)
            return result

    def run(self, call: Call[T]) -> T:
        self.send_call(call)
        return self.call_reply(call)

    def close(self) -> None:
        self.conn.disconnect()


class Redis:
    """A process's Redis: the data client, the queue client, and the hot paths' connections."""

    def __init__(self, data: redis.Redis, queue: redis.Redis | None = None):
        self.data = data
        self.queue = queue or data
        self.free: dict[Any, list[Any]] = {}  # per node's pool: idle hot connections
        self._pool = None if isinstance(data, redis.RedisCluster) else data.connection_pool

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Redis:
        data = connect(config["REDIS_URL"])
        queue_url = config.get("QUEUE_REDIS_URL")
        return cls(data, connect(queue_url) if queue_url else None)

    def call(self, key: str, *args: Any) -> Any:
        """Send one command packed in one go on a hot connection to the node of `key`, and return
        its reply (as the wire says); ConnectionError on failure, ResponseError as Redis says.
        list.pop/append are atomic: any threading model may share it."""
        pool = self._pool or node(self.data, key).connection_pool
        free = self.free.get(pool)
        if free is None:
            free = self.free.setdefault(pool, [])
        packed = command(*args)
        try:
            conn = free.pop()
        except IndexError:
            conn = pool.make_connection()
        try:
            conn.send_packed_command([packed], check_health=False)
            reply = conn.read_response(disable_decoding=True)
        except redis.ResponseError:
            raise
        except (redis.RedisError, OSError) as exc:
            conn.disconnect()
            raise redis.ConnectionError(str(exc)) from exc
        finally:
            free.append(conn)
        return reply

    def run(self, call: Call[T]) -> T:
        """Run a script now on a hot connection (one round trip)."""
        key = call.keys[0]
        return call.parse(_evalsha(lambda *args: self.call(key, *args), call))

    def close(self) -> None:
        """Disconnect everything this context opened."""
        for free in self.free.values():
            while free:
                free.pop().disconnect()
        self.data.close()
        if self.queue is not self.data:
            self.queue.close()

    def close_with(self, owner: Any) -> None:
        """Close when `owner` (the app) is collected, or at the latest when the process exits."""
        weakref.finalize(owner, self.close)
