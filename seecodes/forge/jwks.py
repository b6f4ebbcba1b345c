"""The Forge signing keys, cached per process and refetched at most once per unknown kid.

The fetch runs outside the lock, one at a time: a request whose kid is cached never waits for it (a
due periodic refresh runs in the background), only requests that need the answer join the fetch.
PyJWKClient only takes http(s) URLs, so a local file (file:// URL or plain path) is read into a
PyJWKSet directly; https URLs are fetched with requests.
"""
import json
import threading
import time
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import requests
from jwt import PyJWK, PyJWKSet
from jwt.exceptions import PyJWKSetError

from ..errors import Unauthorized, Unavailable

# A kid we refetched for and still did not find is not refetched again before this many seconds.
UNKNOWN_KID_BACKOFF = 60
# Nor is the JWKS refetched for any unknown kid more often than this: a caller inventing a new kid per
# request must not turn every request into a fetch.
UNKNOWN_KID_MIN_INTERVAL = 5
MAX_REMEMBERED_KIDS = 1000
FETCH_TIMEOUT = 5


class _Fetch:
    """One fetch in flight: who needs its outcome waits on ``done``."""

    def __init__(self):
        self.done = threading.Event()
        self.error: Unavailable | None = None


class JWKSCache:
    def __init__(self, url: str, ttl_seconds: int):
        self.url = url
        self.ttl = ttl_seconds
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at = 0.0
        self._missed: dict[str, float] = {}
        self._last_miss_fetch: float | None = None
        self._lock = threading.Lock()  # guards the fields above; never held during a fetch
        self._fetch: _Fetch | None = None

    def _read(self) -> dict:
        parsed = urlparse(self.url)
        if parsed.scheme in ("http", "https"):
            try:
                response = requests.get(self.url, timeout=FETCH_TIMEOUT)
                response.raise_for_status()
                return response.json()
            except (requests.RequestException, ValueError) as error:
                raise Unavailable(f"Forge signing keys could not be fetched ({error.__class__.__name__}).")
        path = Path(url2pathname(parsed.path)) if parsed.scheme == "file" else Path(self.url)
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise Unavailable(f"Forge signing keys could not be read ({error.__class__.__name__}).")

    def _load(self) -> dict[str, PyJWK]:
        try:
            key_set = PyJWKSet.from_dict(self._read())
        except PyJWKSetError:
            raise Unavailable("The Forge JWKS holds no usable keys.")
        return {key.key_id: key for key in key_set.keys if key.key_id}

    def _may_refetch_for(self, kid: str, now: float) -> bool:
        """Once per unknown kid (per backoff), and not more often than the minimum interval overall."""
        if now - self._missed.get(kid, now - UNKNOWN_KID_BACKOFF) < UNKNOWN_KID_BACKOFF:
            return False
        if self._last_miss_fetch is not None and now - self._last_miss_fetch < UNKNOWN_KID_MIN_INTERVAL:
            return False
        if len(self._missed) >= MAX_REMEMBERED_KIDS:
            self._missed.clear()
        self._missed[kid] = now
        self._last_miss_fetch = now
        return True

    def get(self, kid: str) -> PyJWK:
        with self._lock:
            now = time.monotonic()
            due = not self._keys or now - self._fetched_at > self.ttl
            key = self._keys.get(kid)
            if key is not None:
                if due:
                    self._start_fetch_locked(background=True)
                return key
            if not due and not self._may_refetch_for(kid, now):
                raise _unknown_key()
            fetch, lead = self._start_fetch_locked(background=False)
        if lead:
            self._run(fetch)
        else:
            fetch.done.wait(FETCH_TIMEOUT * 2)
        with self._lock:
            key = self._keys.get(kid)
        if key is not None:
            return key
        if fetch.error is not None and not self._keys:
            raise fetch.error
        raise _unknown_key()

    def _start_fetch_locked(self, background: bool) -> tuple[_Fetch, bool]:
        """Join the fetch in flight, or start one; True when the caller must run it itself."""
        if self._fetch is not None:
            return self._fetch, False
        fetch = self._fetch = _Fetch()
        if background:
            threading.Thread(target=self._run, args=(fetch,), name="jwks-refresh", daemon=True).start()
            return fetch, False
        return fetch, True

    def _run(self, fetch: _Fetch) -> None:
        try:
            keys, error = self._load(), None
        except Unavailable as failure:
            keys, error = None, failure
        except Exception as failure:  # a background thread must always finish its fetch
            keys, error = None, Unavailable(f"Forge signing keys could not be read ({failure.__class__.__name__}).")
        with self._lock:
            now = time.monotonic()
            if keys is not None:
                self._keys, self._fetched_at = keys, now
            elif self._keys and now - self._fetched_at > self.ttl:
                # A failed periodic refresh keeps the keys we have, retried after a short pause, not a 503 per call.
                self._fetched_at = now - self.ttl + UNKNOWN_KID_MIN_INTERVAL
            fetch.error = error
            self._fetch = None
        fetch.done.set()


def _unknown_key() -> Unauthorized:
    return Unauthorized("The Forge token is signed with an unknown key.", code="forge_token_invalid")
