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


class JWKSCache:
    def __init__(self, url: str, ttl_seconds: int):
        self.url = url
        self.ttl = ttl_seconds
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at = 0.0
        self._missed: dict[str, float] = {}
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

    def _refresh(self) -> None:
        document = self._read()
        try:
            key_set = PyJWKSet.from_dict(document)
        except PyJWKSetError:
            raise Unavailable("The Forge JWKS holds no usable keys.")
        self._keys = {key.key_id: key for key in key_set.keys if key.key_id}
        self._fetched_at = time.monotonic()

    def get(self, kid: str) -> PyJWK:
        with self._lock:
            now = time.monotonic()
            if not self._keys or now - self._fetched_at > self.ttl:
                self._refresh()
            key = self._keys.get(kid)
            if key is None and now - self._missed.get(kid, -UNKNOWN_KID_BACKOFF) >= UNKNOWN_KID_BACKOFF:
                self._missed[kid] = now
                if len(self._missed) > 1000:
                    self._missed.clear()
                self._refresh()
                key = self._keys.get(kid)
            if key is None:
                raise Unauthorized("The Forge token is signed with an unknown key.", code="forge_token_invalid")
            return key
