"""Which backend gets a launch code or a permit: one the user configured, never one a link merely names."""
from __future__ import annotations

import ipaddress
from typing import Sequence
from urllib.parse import urlsplit

from .errors import LocalRefusal
from .launch import LaunchLink


def normalize(url: str) -> str:
    """``scheme://host[:port][/prefix]`` in lower case (the path prefix as written), without a trailing slash."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in: what a browser calls the origin."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or {"http": 80, "https": 443}.get(scheme)


def same_origin(first: str, second: str) -> bool:
    return origin(first) == origin(second)


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_backend_url(url: str) -> str:
    """The URL, normalized, if credentials may travel to it: https anywhere, plain http only on loopback
    (on any other network a permit sent in clear can be read and replayed by whoever is on the path)."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise LocalRefusal(f"The backend URL must be https://…, not {url!r}.", code="bad_base_url")
    if parts.scheme.lower() == "http" and not is_loopback(parts.hostname):
        raise LocalRefusal(f"Refusing plain http:// to {parts.hostname}: a permit sent in clear can be read on the "
                           "way. Use the backend's https:// URL (plain http is allowed only on this machine's "
                           "loopback).", code="insecure_backend")
    return normalize(url)


def choose_backend(link: LaunchLink, configured: str | None, remembered: Sequence[str] = (), *,
                   trust_link: bool = False) -> str:
    """The backend that gets the link's code (and later the permit and your files).

    ``configured`` is the user's choice (``--base-url`` / ``$SEECODES_BASE_URL``), ``remembered`` the
    backends of earlier confirmed opens, most recent last. A link is a message from whoever sent it, so
    the backend it names (an https launcher's own host, a vscode:// link's ``baseUrl``) is used only when
    it is one of those, or when the user confirms it (``trust_link``).
    """
    named = normalize(link.base_url) if link.base_url else None
    wanted = normalize(configured) if configured else None
    known = [normalize(url) for url in remembered]
    if named and not trust_link:
        if wanted and named != wanted:
            raise LocalRefusal(
                f"The launch link names the backend {named}, but the configured backend is {wanted}; refusing to "
                "send the code (and later your files) there. If you trust that backend, open the link again "
                "with --trust-link.", code="backend_mismatch")
        if not wanted and named not in known:
            raise LocalRefusal(
                f"The launch link names the backend {named}, which you have not configured. A link can name "
                "any server, and that server would get your task permit and later your files. If it is your "
                f"backend, open the link again with --base-url {named} (or $SEECODES_BASE_URL), or with "
                "--trust-link.", code="untrusted_backend")
    backend = named or wanted or (known[-1] if known else None)
    if not backend:
        raise LocalRefusal("This vscode:// link does not name its backend; pass the backend URL "
                           "(--base-url or SEECODES_BASE_URL).", code="backend_unknown")
    return check_backend_url(backend)
