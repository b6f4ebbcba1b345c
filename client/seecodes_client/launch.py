"""Launch links (vscode:// or https launcher) and the ledger that keeps a code from being exchanged twice."""
from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from .errors import LocalRefusal


@dataclass(frozen=True)
class LaunchLink:
    """What a launch link carries: the one-time code, its project/task, and the backend when the link says."""

    code: str
    project_id: str
    task_id: str
    base_url: str | None = None


def _one(query: dict, name: str) -> str | None:
    values = query.get(name) or []
    return values[0] if values else None


def parse_launch_url(url: str) -> LaunchLink:
    """Read ``vscode://<extension>/project/<p>/task/<t>?code=…[&baseUrl=…]`` or
    ``https://<backend>/v1/launch?p=…&t=…&c=…`` (the backend is then the link's own origin and path prefix)."""
    parts = urlsplit(url.strip())
    query = parse_qs(parts.query)
    if parts.scheme in ("http", "https"):
        marker = "/v1/launch"
        if not parts.path.endswith(marker):
            raise LocalRefusal("An https launch link ends in /v1/launch?p=…&t=…&c=….", code="bad_launch_url")
        code, project_id, task_id = _one(query, "c"), _one(query, "p"), _one(query, "t")
        base_url = f"{parts.scheme}://{parts.netloc}{parts.path[: -len(marker)]}"
    elif parts.scheme in ("vscode", "vscode-insiders", "cursor"):
        segments = [unquote(s) for s in parts.path.split("/") if s]
        if len(segments) != 4 or segments[0] != "project" or segments[2] != "task":
            raise LocalRefusal("A vscode:// launch link looks like vscode://<extension>/project/<p>/task/<t>?code=….",
                               code="bad_launch_url")
        project_id, task_id, code = segments[1], segments[3], _one(query, "code")
        base_url = _one(query, "baseUrl")
    else:
        raise LocalRefusal("A launch link starts with vscode:// or https://.", code="bad_launch_url")
    if not code or not project_id or not task_id:
        raise LocalRefusal("The launch link lacks its code, project or task.", code="bad_launch_url")
    return LaunchLink(code, project_id, task_id, base_url.rstrip("/") if base_url else None)


def code_fingerprint(code: str) -> str:
    """Codes are never written down: the ledger keeps their SHA-256."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


class CodeLedger:
    """Launch codes this client has already sent for exchange.

    A launch code works once, and a second exchange makes the server revoke the permit of the first,
    so a code is recorded *before* it is sent and a second attempt is refused locally, never sent.
    In memory by default; with ``path`` (one fingerprint per line, mode 0600) it holds across processes.
    """

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path else None
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def _load(self) -> set[str]:
        if self.path is None or not self.path.exists():
            return set()
        return {line.strip() for line in self.path.read_text().splitlines() if line.strip()}

    def claim(self, code: str) -> None:
        """Record the code as used; LocalRefusal if it already was."""
        fingerprint = code_fingerprint(code)
        with self._lock:
            if fingerprint in self._seen or fingerprint in self._load():
                raise LocalRefusal("This launch code was already exchanged by this client; a second exchange "
                                   "would revoke the permit it gave. Open a new launch link from Jira.",
                                   code="launch_code_already_used")
            self._seen.add(fingerprint)
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                with os.fdopen(fd, "a") as handle:
                    handle.write(fingerprint + "\n")


    def release(self, code: str) -> None:
        """Forget a code the server refused without consuming it (a 403 mismatch, a 429, a 503 envelope)."""
        fingerprint = code_fingerprint(code)
        with self._lock:
            self._seen.discard(fingerprint)
            if self.path is not None and self.path.exists():
                kept = [line for line in self.path.read_text().splitlines() if line.strip() != fingerprint]
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as handle:
                    handle.write("".join(line + "\n" for line in kept))


DEFAULT_LEDGER = CodeLedger()
