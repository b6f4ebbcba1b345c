"""Conditional status polls answered from Redis: a poll whose `If-None-Match` is still current gets its 304
without a database round trip.

Every IDE polls its run every two seconds while it works; most of those polls find nothing changed. The
database path answers them right (`GET /v1/tasks/{runId}` reads the permit and the run in one query and answers
304 before it builds anything), but the query is most of a poll's cost. With Redis configured, a poll that came
back with a validator is answered from a *tag* that an earlier poll of the same permit and run left in Redis:

    tag   seecodes:poll:t:{permit id}:{run id} = "{installation generation}|{run generation}|{permit expiry}|
                                                  {run status}|{etag}"       (SEECODES_POLL_TAG_TTL_SECONDS)
    gen   seecodes:poll:i:{installation id}  and  seecodes:poll:r:{run id} = a random value

A tag holds only while both generations it was made under are still the current ones. Whatever changes what a
poll would answer deletes a generation after its transaction commits: a run's status document changes
(`state.move`, `queue_debited`, `claim`, the recorder's steps: the run's generation), its permits are revoked or
its installation uninstalled (the installation's generation). A poll that misses reads the generations *before*
its database read (creating a missing one with a fresh random value) and stores the tag under them after it, so
a change committed between the two deletes a generation the tag already names: no tag can outlive a change
that it does not show (a deleted generation never comes back, a new one is a new random value).

What this path still checks itself, as the database path does: the permit's signature and age (itsdangerous),
and the expiry stored with it. What bounds the rest is the tag's lifetime: a change whose invalidation could not
reach Redis (Redis down at that moment, a process killed between its commit and the delete) or that bypasses the
app (an operator's SQL that suspends an installation) shows on conditional polls within
SEECODES_POLL_TAG_TTL_SECONDS (default 10); unconditional polls and every other route see it at once. A
succeeded run's tag also ends with the presigned URL's half lifetime, as its ETag does (runs.service).

Without Redis (the embedded default) or while it fails, polls take the database path.
"""
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from redis.exceptions import RedisError

from . import after_commit, clock
from .queueing import redis_connection
from .settings import setting

log = logging.getLogger(__name__)

PREFIX = "seecodes:poll:"
# Generations outlive the tags made under them; an expired one only costs the next poll a database read.
GENERATION_SECONDS = 24 * 3600
# After a Redis failure, this process answers polls from the database for this many seconds.
REDIS_RETRY_SECONDS = 5.0
_redis_down_until = 0.0

# A missing generation is created before the database read (so that a change committed after that read deletes
# it), atomically, as the one that another poll may be creating at the same moment: answers both generations.
_CREATE_GENERATIONS = """
local answer = {}
for index = 1, 2 do
  local generation = redis.call('GET', KEYS[index])
  if not generation then
    generation = ARGV[1] .. index
    redis.call('SET', KEYS[index], generation, 'EX', ARGV[2])
  end
  answer[index] = generation
end
return answer
"""


def tag_key(permit_id: str, run_id: str) -> str:
    return f"{PREFIX}t:{permit_id}:{run_id}"


def installation_key(installation_id: str) -> str:
    return f"{PREFIX}i:{installation_id}"


def run_key(run_id: str) -> str:
    return f"{PREFIX}r:{run_id}"


@dataclass(frozen=True)
class Held:
    """What a conditional poll found in Redis: the tag (None when absent) and the current generations."""

    permit_id: str
    run_id: str
    entry: str | None
    installation_generation: str
    run_generation: str


@dataclass(frozen=True)
class Tag:
    installation_generation: str
    run_generation: str
    permit_expires: int
    status: str
    etag: str

    def encode(self) -> str:
        return "|".join((self.installation_generation, self.run_generation, str(self.permit_expires), self.status,
                         self.etag))


def decode_entry(entry: str | None) -> Tag | None:
    """The tag stored as `entry`; None for anything else (nothing stored, or a value this code did not write)."""
    if not entry:
        return None
    parts = entry.split("|")
    if len(parts) != 5 or not parts[2].isdigit() or not all(parts):
        return None
    return Tag(parts[0], parts[1], int(parts[2]), parts[3], parts[4])


def current(held: Held, now: float) -> Tag | None:
    """The held tag when both its generations are still the current ones and its permit has not expired."""
    tag = decode_entry(held.entry)
    if tag is None or tag.installation_generation != held.installation_generation \
            or tag.run_generation != held.run_generation or tag.permit_expires <= now:
        return None
    return tag


@dataclass(frozen=True)
class PollTags:
    """A permit route's conditional polls from Redis (given to auth.guards.task_permit): `run_id(view_kwargs)`
    names the run, `lifetime(status, now)` bounds a tag's seconds (besides SEECODES_POLL_TAG_TTL_SECONDS), and
    `not_modified(etag, status)` is the route's own 304, the same on both paths."""

    run_id: Callable[[dict], str]
    lifetime: Callable[[str, float], int]
    not_modified: Callable[[str, str], object]

    def look(self, claims: dict, view_kwargs: dict) -> Held | None:
        """The tag of this permit and run with the current generations (one round trip); None without Redis."""
        connection = _usable()
        if connection is None:
            return None
        permit_id, run_id = claims["pid"], self.run_id(view_kwargs)
        keys = (tag_key(permit_id, run_id), installation_key(str(claims.get("ins"))), run_key(run_id))
        try:
            entry, *generations = connection.mget(keys)  # the hit of a poll: one MGET
            if None in generations:
                generations = connection.register_script(_CREATE_GENERATIONS)(
                    keys=keys[1:], args=[secrets.token_hex(8), GENERATION_SECONDS])
        except (RedisError, ValueError) as error:
            _failed(error, "reading a tag")
            return None
        entry, installation_generation, run_generation = (
            value.decode("utf-8", "replace") if isinstance(value, bytes) else value
            for value in (entry, *generations))
        return Held(permit_id, run_id, entry or None, installation_generation, run_generation)

    def answer(self, held: Held | None, if_none_match):
        """The 304 for a poll whose validator the held tag still vouches for; None: take the database path."""
        tag = current(held, clock.epoch(clock.now())) if held is not None else None
        if tag is None or not if_none_match.contains_weak(tag.etag):
            return None
        return self.not_modified(tag.etag, tag.status)

    def remember(self, held: Held, read, etag: str) -> None:
        """Store the tag of an answer the database path just gave (`read`: the route's row, with the permit's
        `expires_at` and the `run_status`), under the generations read before it."""
        connection = _usable()
        now = clock.epoch(clock.now())
        expires, status = clock.epoch(read.expires_at), read.run_status
        if connection is None or expires <= now:
            return
        seconds = max(1, min(setting("SEECODES_POLL_TAG_TTL_SECONDS"), self.lifetime(status, now), expires - now))
        tag = Tag(held.installation_generation, held.run_generation, expires, status, etag)
        try:
            connection.set(tag_key(held.permit_id, held.run_id), tag.encode(), ex=int(seconds))
        except RedisError as error:
            _failed(error, "storing a tag")


def _usable():
    connection = redis_connection()
    if connection is None or time.monotonic() < _redis_down_until:
        return None
    return connection


def _failed(error: Exception, what: str) -> None:
    global _redis_down_until
    _redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
    log.warning("poll tags: Redis unavailable while %s (%s); polls read the database for %.0f s", what, error,
                REDIS_RETRY_SECONDS)


# --- invalidation ---------------------------------------------------------------------------------------------

def runs_changed(session, *run_ids: str) -> None:
    """These runs' status documents change in the session's transaction: their generations are deleted once it
    commits (at once without a session: an autocommit statement, committed already)."""
    _forget(session, [run_key(run_id) for run_id in run_ids if run_id])


def installation_changed(session, *installation_ids: str) -> None:
    """The installation's permits or status change in the session's transaction (see runs_changed)."""
    _forget(session, [installation_key(value) for value in installation_ids if value])


def _forget(session, keys: list[str]) -> None:
    connection = redis_connection()
    if keys and connection is not None:
        after_commit.call(session, lambda: _delete(connection, keys))


def _delete(connection, keys: list[str]) -> None:
    try:
        connection.delete(*keys)
    except RedisError as error:
        # Tags made under these generations now hold until they expire (SEECODES_POLL_TAG_TTL_SECONDS); this
        # process stops answering from Redis for a while, as nothing it reads there can be trusted meanwhile.
        _failed(error, f"deleting {len(keys)} generation(s)")


def reset_memory() -> None:
    """Forget a remembered Redis outage (tests)."""
    global _redis_down_until
    _redis_down_until = 0.0
