"""Object storage: local files with app-signed URLs, or S3 through boto3."""
import os
from pathlib import Path
from typing import Protocol

from flask import current_app


class Storage(Protocol):
    """What runs need from a store; keys look like runs/<runId>/input/<name>. S3 adds `upload_form`, `check`,
    `ensure_usable` and `delete` (used through the functions below, which know what local storage needs)."""

    bucket: str

    def upload_url(self, key: str) -> str: ...

    def download_url(self, key: str) -> str: ...

    def size(self, key: str) -> int | None: ...

    def read(self, key: str) -> bytes: ...

    def write(self, key: str, data: bytes, content_type: str) -> None: ...


def get(app=None) -> Storage:
    """The configured backend; cheap to call, clients are cached per process."""
    app = app or current_app
    kind = app.config.get("SEECODES_STORAGE", "local")
    if kind == "s3":
        from .s3 import S3Storage

        return S3Storage.from_config(app)
    if kind == "local":
        from .local import LocalStorage

        return LocalStorage.from_config(app)
    raise RuntimeError(f"SEECODES_STORAGE must be local or s3, not {kind!r}")


def check(app=None) -> str | None:
    """None when the configured store can be used, else what to fix (GET /readyz; `flask doctor` probes deeper:
    it writes a file or presigns a URL)."""
    app = app or current_app
    store = get(app)
    if hasattr(store, "check"):
        return store.check()
    root = Path(app.config["SEECODES_STORAGE_DIR"])
    existing = next((folder for folder in (root, *root.parents) if folder.exists()), None)
    if existing is None or not os.access(existing, os.W_OK | os.X_OK):
        return f"The storage folder {str(root)!r} cannot be written: create it, or fix its permissions."
    return None


def ensure_usable(store: Storage) -> None:
    """503 storage_unavailable (the detail says what to fix) when the store cannot hold a new run's files."""
    if hasattr(store, "ensure_usable"):
        store.ensure_usable()


def upload_forms(store: Storage, keys: dict[str, str]) -> dict[str, dict] | None:
    """Presigned POST forms per name (S3, where the size limit is part of the signed policy); None when the
    store takes signed PUTs (local storage bounds the size itself)."""
    if not hasattr(store, "upload_form"):
        return None
    return {name: store.upload_form(key) for name, key in keys.items()}


def discard(store: Storage, key: str) -> None:
    """Remove an object that must not stay (an oversized input); local storage never keeps one."""
    if hasattr(store, "delete"):
        store.delete(key)
