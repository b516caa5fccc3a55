"""Commands packed here and sent on reused connections: for the two hot paths (redirect, webhook).

redis-py's generic command path (argument encoding, packing, pool checkout) costs more than the
rest of a redirect. This sends a command packed in one go on a connection from a free list
(list.pop/append are atomic, so any threading model works), and still reads and checks the
reply: nothing is acknowledged to a client before Redis has it.
"""

from __future__ import annotations

from typing import Any

import redis


def pack(args: list[bytes]) -> bytes:
    return b"".join([b"*%d\r\n" % len(args), *(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)])


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def command(*args: Any) -> bytes:
    """One command packed, its arguments bytes, str or numbers."""
    return pack([_bytes(a) for a in args])


class Raw:
    def __init__(self, r: redis.Redis):
        self.pool = r.connection_pool
        self.free: list[Any] = []
        self.shas: dict[str, bytes] = {}

    def call(self, *args: Any) -> Any:
        """Send one command, return its reply; ConnectionError on failure, ResponseError as Redis says."""
        packed = command(*args)
        try:
            conn = self.free.pop()
        except IndexError:
            conn = self.pool.make_connection()
        try:
            conn.send_packed_command([packed], check_health=False)
            reply = conn.read_response(disable_decoding=True)
        except redis.ResponseError:
            raise
        except (redis.RedisError, OSError) as exc:
            conn.disconnect()
            raise redis.ConnectionError(str(exc)) from exc
        finally:
            self.free.append(conn)
        return reply

    def script(self, source: str, keys: list[str], args: list[Any]) -> Any:
        """EVALSHA, loading the script first when Redis does not know it (after a restart)."""
        sha = self.shas.get(source)
        if sha is None:
            sha = self.shas[source] = self.call(b"SCRIPT", b"LOAD", source)
        try:
            return self.call(b"EVALSHA", sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            self.shas.pop(source, None)
            return self.script(source, keys, args)
