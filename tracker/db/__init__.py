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

Redis Cluster: `REDIS_URL=redis+cluster://host:port` (`rediss+cluster://` with TLS; any node
of the cluster) makes the data client a `redis.RedisCluster`; the RQ queue then needs a standalone
Redis of its own (`QUEUE_REDIS_URL`, `queue_url`). Everything here is bound to one key's node.
`node(r, key)` is `r` itself on a standalone server; on a cluster it is the plain `redis.Redis` of
the primary that owns the key's slot (`get_node_from_key`, `get_redis_connection`), so pipelines
with scripts, the hand-packed hot commands (free lists kept per node) and `Conn` run unchanged
there. A slot that moved is followed (`routed`): MOVED updates the client's slot map and sends
again to the new owner, ASK sends once to the importing node after ASKING; neither is an outage.
Every brand's keys share one slot (`{b:<brand>}` in tracker.keys) and every script takes its keys
in KEYS[], so a script, or a pipeline bound to one of a brand's keys, touches a single node.
"""

from __future__ import annotations

import weakref
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import redis
from hiredis import pack_command
from redis.backoff import NoBackoff
from redis.exceptions import AskError, MovedError, NoScriptError
from redis.retry import Retry

from tracker.db.scripts import Call

DEFAULT_URL = "redis://127.0.0.1:6479/0"  # where `tracker run` starts its embedded server
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")  # REDIS_URL naming a Redis Cluster (any of its nodes)
REDIRECTS = 5  # MOVED/ASK followed in a row for one command before giving up (a slot map in flux)

T = TypeVar("T")

__all__ = [
    "CLUSTER_SCHEMES",
    "DEFAULT_URL",
    "Call",
    "Conn",
    "Pipeline",
    "Redis",
    "command",
    "connect",
    "is_cluster",
    "node",
    "pipeline",
    "queue_url",
    "redirection",
    "routed",
    "run",
]


def is_cluster(url: str | None) -> bool:
    """Whether `url` names a Redis Cluster (`redis+cluster://host:port`)."""
    return bool(url) and url.split("://", 1)[0].lower() in CLUSTER_SCHEMES


def connect(url: str | None, **overrides: Any) -> redis.Redis:
    """A client that fails fast: the redirect must not hang on a Redis outage. A cluster URL gives a
    `redis.RedisCluster` (it reads the slot map from the node named, so the cluster must answer)."""
    options = {
        "socket_connect_timeout": 0.5,
        "socket_timeout": 5.0,
        "retry": Retry(NoBackoff(), 0),
        "health_check_interval": 30,
    }
    options.update(overrides)
    url = url or DEFAULT_URL
    if is_cluster(url):
        return redis.RedisCluster.from_url(url.replace("+cluster", "", 1), **options)
    return redis.Redis.from_url(url, **options)


def queue_url(config: dict[str, Any]) -> str | None:
    """The RQ queue's Redis: QUEUE_REDIS_URL, else the data Redis, which RQ cannot use when it is a
    cluster (ValueError saying so: a start-up error)."""
    if config.get("QUEUE_REDIS_URL"):
        return config["QUEUE_REDIS_URL"]
    if is_cluster(config.get("REDIS_URL")):
        raise ValueError(
            "REDIS_URL names a Redis Cluster, which RQ cannot use: set QUEUE_REDIS_URL to a standalone Redis for "
            "the job queue (e.g. redis://queue-host:6379/0)"
        )
    return config.get("REDIS_URL")


def node(r: redis.Redis, key: str) -> redis.Redis:
    """The client of the node that holds `key`: `r` itself unless `r` is a cluster client."""
    if isinstance(r, redis.RedisCluster):
        return r.get_redis_connection(r.get_node_from_key(key))
    return r


def routed(r: redis.Redis, key: str, send: Callable[[redis.Redis, bool], T]) -> T:
    """`send(client, asking)` to the node of `key`, following a slot that moved (cluster only): MOVED
    updates `r`'s slot map and sends again to the new owner; ASK sends once to the importing node
    with `asking` set (the command must follow ASKING on the same connection)."""
    client, asking = node(r, key), False
    for _ in range(REDIRECTS):
        try:
            return send(client, asking)
        except redis.ResponseError as exc:
            client, asking = redirection(r, key, exc)
    return send(client, asking)


def redirection(r: redis.Redis, key: str, exc: redis.ResponseError) -> tuple[redis.Redis, bool]:
    """Where a MOVED or ASK reply (`exc`, as redis-py parsed it or a bare "MOVED 3999 host:port")
    sends the command on `key` again: (the node's client, whether ASKING must go first). Any
    other error, or one from a server that is not a cluster's, is raised again."""
    text = str(exc)
    if not isinstance(r, redis.RedisCluster) or not (isinstance(exc, AskError) or text.startswith(("MOVED ", "ASK "))):
        raise exc
    if not isinstance(exc, AskError):
        kind, _, rest = text.partition(" ")
        exc = MovedError(rest) if kind == "MOVED" else AskError(rest)
    if isinstance(exc, MovedError):  # a MovedError is an AskError too
        r.nodes_manager.move_slot(exc)
        return node(r, key), False
    target = r.nodes_manager.get_node(host=exc.host, port=exc.port)
    if target is None:  # a node the map does not know yet
        r.nodes_manager.initialize()
        target = r.nodes_manager.get_node(host=exc.host, port=exc.port)
        if target is None:
            raise exc
    return r.get_redis_connection(target), True


def _asking(client: redis.Redis, asking: bool) -> Callable[..., Any]:
    """`client.execute_command`, behind ASKING on the same connection when `asking`."""
    if not asking:
        return client.execute_command

    def execute(*args: Any) -> Any:
        with client.pipeline(transaction=False) as p:
            p.execute_command(b"ASKING")
            p.execute_command(*args)
            return p.execute()[1]

    return execute


def command(*args: Any) -> bytes:
    """One command packed in the protocol, its arguments bytes, str or numbers (by hiredis, in C:
    the roll-up's scripts take thousands of arguments)."""
    try:
        return pack_command(args)
    except TypeError:  # what hiredis does not pack (bool, None...): as str() says
        pass
    parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    return b"".join([b"*%d\r\n" % len(parts), *(b"$%d\r\n%s\r\n" % (len(a), a) for a in parts)])


ASKING = command(b"ASKING")  # before a command sent after an ASK reply


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
    return call.parse(routed(r, call.keys[0], lambda client, asking: _evalsha(_asking(client, asking), call)))


class Pipeline:
    """Commands for one node sent in one round trip (redis-py's pipeline, no MULTI), scripts among
    them with `run`. A script Redis did not know is loaded and run again after the others, and a
    slot that moved gets the whole pipeline again on its new node: only for pipelines whose
    commands do not depend on each other's effects (reads)."""

    def __init__(self, r: redis.Redis, key: str):
        self.r, self.key = r, key
        self.pipe = node(r, key).pipeline(transaction=False)
        self.calls: dict[int, Call[Any]] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pipe, name)  # any command: queued

    def run(self, call: Call[Any]) -> None:
        self.calls[len(self.pipe.command_stack)] = call
        self.pipe.evalsha(call.script.sha, len(call.keys), *call.keys, *call.args)

    def execute(self) -> list[Any]:
        stack = list(self.pipe.command_stack)

        def send(client: redis.Redis, asking: bool) -> tuple[Callable[..., Any], list[Any]]:
            pipe = client.pipeline(transaction=False)
            for args, options in stack:
                if asking:  # a one-time flag: before each command
                    pipe.execute_command(b"ASKING")
                pipe.execute_command(*args, **options)
            replies = pipe.execute(raise_on_error=False)[1::2] if asking else pipe.execute(raise_on_error=False)
            if moved := next((reply for reply in replies if isinstance(reply, AskError)), None):
                raise moved
            return _asking(client, asking), replies

        execute, replies = routed(self.r, self.key, send)
        self.pipe.reset()
        for n, call in self.calls.items():
            if isinstance(replies[n], NoScriptError):
                replies[n] = _evalsha(execute, call)
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
    p = Pipeline(r, key)
    try:
        yield p
    finally:
        p.pipe.reset()


class Conn:
    """One connection of its own to the node of `key`, commands sent ahead of their replies
    (pipelined by hand): replies come back in the order the commands were sent. Replies are as
    the wire says (no redis-py callbacks). Close it when done."""

    def __init__(self, r: redis.Redis, key: str):
        self.r = r
        self.conn = node(r, key).connection_pool.make_connection()
        self.held: deque[Any] = deque()  # replies read off the wire before their turn

    def send(self, *commands: tuple[Any, ...]) -> None:
        self.conn.send_packed_command([command(*c) for c in commands], check_health=False)

    def read(self) -> Any:
        if self.held:
            return self.held.popleft()
        try:
            return self.conn.read_response(disable_decoding=True)
        except MovedError as exc:  # the slot moved: raised (the caller starts again), the map updated for then
            if isinstance(self.r, redis.RedisCluster):
                self.r.nodes_manager.move_slot(exc)
            raise

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
        """The clients `config` names; ValueError when the data is on a cluster and the queue has no Redis."""
        queue = queue_url(config)
        data = connect(config["REDIS_URL"])
        return cls(data, connect(queue) if queue != config["REDIS_URL"] else None)

    def call(self, key: str, *args: Any) -> Any:
        """Send one command packed in one go on a hot connection to the node of `key`, and return
        its reply (as the wire says); ConnectionError on failure, ResponseError as Redis says.
        list.pop/append are atomic: any threading model may share it."""
        packed = command(*args)
        if self._pool is not None:
            return self._send(self._pool, packed)
        return routed(self.data, key, lambda client, asking: self._send(client.connection_pool, packed, asking))

    def _send(self, pool: Any, packed: bytes, asking: bool = False) -> Any:
        free = self.free.get(pool)
        if free is None:
            free = self.free.setdefault(pool, [])
        try:
            conn = free.pop()
        except IndexError:
            conn = pool.make_connection()
        try:
            if asking:
                conn.send_packed_command([ASKING, packed], check_health=False)
                conn.read_response(disable_decoding=True)
            else:
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
        """Run a script now on a hot connection (one round trip; two after a NOSCRIPT)."""
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
