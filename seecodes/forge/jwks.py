"""The Forge signing keys, cached per process and refetched at most once per unknown kid.

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


class JWKSCache:
    def __init__(self, url: str, ttl_seconds: int):
        self.url = url
        self.ttl = ttl_seconds
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at = 0.0
        self._missed: dict[str, float] = {}
        self._last_miss_fetch: float | None = None
        self._lock = threading.Lock()

    def _read(self) -> dict:
        parsed = urlparse(self.url)
        if parsed.scheme in ("http", "https"):
            try:
                response = requests.get(self.url, timeout=5)
                response.raise_for_status()
                return response.json()
            except (requests.RequestException, ValueError) as error:
                raise Unavailable(f"Forge signing keys could not be fetched ({error.__class__.__name__}).")
        path = Path(url2pathname(parsed.path)) if parsed.scheme == "file" else Path(self.url)
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise Unavailable(f"Forge signing keys could not be read ({error.__class__.__name__}).")

    def _refresh(self, now: float) -> None:
        document = self._read()
        try:
            key_set = PyJWKSet.from_dict(document)
        except PyJWKSetError:
            raise Unavailable("The Forge JWKS holds no usable keys.")
        self._keys = {key.key_id: key for key in key_set.keys if key.key_id}
        self._fetched_at = now

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
            fresh = False
            if not self._keys or now - self._fetched_at > self.ttl:
                self._refresh_or_keep_stale(now)
                fresh = True
            key = self._keys.get(kid)
            if key is None and not fresh and self._may_refetch_for(kid, now):
                self._refresh(now)
                key = self._keys.get(kid)
            if key is None:
                raise Unauthorized("The Forge token is signed with an unknown key.", code="forge_token_invalid")
            return key

    def _refresh_or_keep_stale(self, now: float) -> None:
        """A failed periodic refresh keeps the keys we have (retried after a short pause), not a 503 per call."""
        try:
            self._refresh(now)
        except Unavailable:
            if not self._keys:
                raise
            self._fetched_at = now - self.ttl + UNKNOWN_KID_MIN_INTERVAL
