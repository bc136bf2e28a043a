"""The phone agent's store on Redis (``--store redis://host:port/db``), shared by a fleet.

Keys, all under ``phone_agent:``:

- ``webhook:<webhook-id>``: ``working`` while a worker handles the delivery (60 s), then
  ``done`` for four days: a redelivery anywhere is answered 200 and does nothing;
- ``calls``: the set of calls in progress (its size is the fleet's capacity in use);
- ``call:<call_id>``: the call's record (hash: ``started_at``, ``deadline``, ``webhook_at``,
  ``transfer_asked``, ``outcome``), kept four days after the call ends;
- ``lease:<call_id>``: the owning worker's id, expiring unless renewed;
- ``tools:<call_id>``: tool calls started and not yet answered (hash by tool call id);
- ``handed_over``: a list of calls given up by stopping workers, taken at once by others.

Whatever checks and then changes runs as one Lua script, so two workers never both win.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import redis
from redis.exceptions import RedisError
from store import (
    ENDED_TTL_SECONDS,
    WEBHOOK_TTL_SECONDS,
    WEBHOOK_WORKING_SECONDS,
    Reservation,
    StoreUnavailable,
    ToolRun,
)

PREFIX = "phone_agent:"
CALLS = PREFIX + "calls"
HANDED_OVER = PREFIX + "handed_over"
#: Seconds to wait for Redis before calling it unavailable.
SOCKET_TIMEOUT = 2.0
T = TypeVar("T")

# KEYS: calls, call record, lease. ARGV: call id, owner, max calls, lease ms, record fields.
_RESERVE = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 'held' end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 'busy' end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[4])
redis.call('HSET', KEYS[2], 'accepted_by', ARGV[2], unpack(ARGV, 5))
return 'reserved'
"""
# KEYS: calls. ARGV: owner, lease ms, key prefix, call ids. Returns the ids not owned.
_RENEW = """
local lost = {}
for i = 4, #ARGV do
  local lease = ARGV[3] .. 'lease:' .. ARGV[i]
  local holder = redis.call('GET', lease)
  if holder == ARGV[1] or (not holder and redis.call('SISMEMBER', KEYS[1], ARGV[i]) == 1) then
    redis.call('SET', lease, ARGV[1], 'PX', ARGV[2])
  else
    table.insert(lost, ARGV[i])
  end
end
return lost
"""
# KEYS: calls, lease. ARGV: call id, owner, lease ms.
_TAKE = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return 0 end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then return 1 end
return 0
"""
# KEYS: lease, handed over. ARGV: owner, call id.
_HAND_OVER = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('RPUSH', KEYS[2], ARGV[2])
return 1
"""
# KEYS: tools. ARGV: tool call id, expected ('' for none), new.
_SWAP_TOOL = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if (ARGV[2] == '' and not current) or current == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 1
end
return 0
"""


class RedisStore:
    """:class:`store.CallStore` on a Redis server; every worker of a fleet names the same."""

    def __init__(self, url: str) -> None:
        options: dict[str, Any] = {
            "socket_timeout": SOCKET_TIMEOUT,
            "socket_connect_timeout": SOCKET_TIMEOUT,
            "decode_responses": True,
        }
        self._redis = redis.Redis.from_url(url, **options)
        # Waiting for a handed-over call blocks a connection: a pool of its own, patient.
        self._waiting = redis.Redis.from_url(url, **{**options, "socket_timeout": None})
        self._reserve = self._redis.register_script(_RESERVE)
        self._renew = self._redis.register_script(_RENEW)
        self._take = self._redis.register_script(_TAKE)
        self._hand_over = self._redis.register_script(_HAND_OVER)
        self._swap_tool = self._redis.register_script(_SWAP_TOOL)

    def ping(self) -> None:
        _ask(self._redis.ping)

    def first_delivery(self, webhook_id: str) -> bool:
        key, ttl = _webhook(webhook_id), WEBHOOK_WORKING_SECONDS
        return bool(_ask(lambda: self._redis.set(key, "working", nx=True, ex=ttl)))

    def delivered(self, webhook_id: str) -> None:
        _ask(lambda: self._redis.set(_webhook(webhook_id), "done", ex=WEBHOOK_TTL_SECONDS))

    def undelivered(self, webhook_id: str) -> None:
        _ask(lambda: self._redis.delete(_webhook(webhook_id)))

    def reserve(
        self, call_id: str, owner: str, max_calls: int, lease: float, state: Mapping[str, str]
    ) -> Reservation:
        fields = [part for pair in state.items() for part in pair]
        keys = [CALLS, _record(call_id), _lease(call_id)]
        args: list[str | int] = [call_id, owner, max_calls, _ms(lease), *fields]
        return Reservation(_ask(lambda: self._reserve(keys=keys, args=args)))

    def end(self, call_id: str, outcome: str) -> None:
        def ending() -> None:
            with self._redis.pipeline(transaction=True) as pipe:
                pipe.srem(CALLS, call_id)
                pipe.delete(_lease(call_id), _tools(call_id))
                pipe.hset(_record(call_id), "outcome", outcome)
                pipe.expire(_record(call_id), ENDED_TTL_SECONDS)
                pipe.execute()

        _ask(ending)

    def unreserve(self, call_id: str) -> None:
        def forgetting() -> None:
            with self._redis.pipeline(transaction=True) as pipe:
                pipe.srem(CALLS, call_id)
                pipe.delete(_lease(call_id), _tools(call_id), _record(call_id))
                pipe.execute()

        _ask(forgetting)

    def hand_over(self, call_id: str, owner: str) -> bool:
        keys = [_lease(call_id), HANDED_OVER]
        return bool(_ask(lambda: self._hand_over(keys=keys, args=[owner, call_id])))

    def announce(self, call_id: str) -> None:
        _ask(lambda: self._redis.rpush(HANDED_OVER, call_id))

    def renew(self, call_ids: Iterable[str], owner: str, lease: float) -> set[str]:
        ids = list(call_ids)
        if not ids:
            return set()
        lost = _ask(lambda: self._renew(keys=[CALLS], args=[owner, _ms(lease), PREFIX, *ids]))
        return set(lost)

    def take(self, call_id: str, owner: str, lease: float) -> bool:
        keys = [CALLS, _lease(call_id)]
        return bool(_ask(lambda: self._take(keys=keys, args=[call_id, owner, _ms(lease)])))

    def unowned(self) -> list[str]:
        def looking() -> list[str]:
            calls = sorted(str(call_id) for call_id in self._redis.smembers(CALLS))
            with self._redis.pipeline(transaction=False) as pipe:
                for call_id in calls:
                    pipe.exists(_lease(call_id))
                held = pipe.execute()
            return [call_id for call_id, owned in zip(calls, held, strict=True) if not owned]

        return _ask(looking)

    def next_handed_over(self, timeout: float) -> str | None:
        found = _ask(lambda: self._waiting.blpop([HANDED_OVER], timeout=max(timeout, 0.01)))
        return str(found[1]) if found else None

    def owner(self, call_id: str) -> str | None:
        found = _ask(lambda: self._redis.get(_lease(call_id)))
        return None if found is None else str(found)

    def state(self, call_id: str) -> dict[str, str]:
        return _strings(_ask(lambda: self._redis.hgetall(_record(call_id))))

    def update(self, call_id: str, fields: Mapping[str, str]) -> None:
        mapping: dict[Any, Any] = dict(fields)
        _ask(lambda: self._redis.hset(_record(call_id), mapping=mapping))

    def live_calls(self) -> int:
        return int(_ask(lambda: self._redis.scard(CALLS)))

    def tool_runs(self, call_id: str) -> dict[str, ToolRun]:
        runs = _strings(_ask(lambda: self._redis.hgetall(_tools(call_id))))
        return {tool_call: ToolRun.decode(text) for tool_call, text in runs.items()}

    def swap_tool(self, call_id: str, tool_call_id: str, old: ToolRun | None, new: ToolRun) -> bool:
        args = [tool_call_id, old.encode() if old else "", new.encode()]
        return bool(_ask(lambda: self._swap_tool(keys=[_tools(call_id)], args=args)))

    def tool_answered(self, call_id: str, tool_call_id: str) -> None:
        _ask(lambda: self._redis.hdel(_tools(call_id), tool_call_id))

    def close(self) -> None:
        self._redis.close()
        self._waiting.close()


def _ask(request: Callable[[], T]) -> T:
    """Run one request; any Redis failure is :class:`StoreUnavailable` (never the URL, which
    may hold a password)."""
    try:
        return request()
    except RedisError as failure:
        raise StoreUnavailable(f"the store failed: {type(failure).__name__}") from None


def _strings(found: Mapping[Any, Any]) -> dict[str, str]:
    """A hash as read (the client decodes responses: text already)."""
    return {str(key): str(value) for key, value in found.items()}


def _webhook(webhook_id: str) -> str:
    return PREFIX + "webhook:" + webhook_id


def _record(call_id: str) -> str:
    return PREFIX + "call:" + call_id


def _lease(call_id: str) -> str:
    return PREFIX + "lease:" + call_id


def _tools(call_id: str) -> str:
    return PREFIX + "tools:" + call_id


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))
