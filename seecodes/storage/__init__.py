"""Object storage: local files with app-signed URLs, or S3 through boto3."""
import os
from pathlib import Path
from typing import Protocol

from flask import current_app

from .local import LocalStorage
from .objects import ObjectChanged, ObjectVersion  # noqa: F401  (ObjectChanged: callers catch it from here)


class Storage(Protocol):
    """What runs need from a store; keys look like runs/<runId>/input/<name>. S3 adds `upload_form`, `check`
    and `ensure_usable` (used through the functions below, which know what local storage needs)."""

    bucket: str

    def upload_url(self, key: str) -> str:
        """A URL that a plain PUT of the raw bytes uploads to (S3: presigned put_object)."""

    def download_url(self, key: str) -> str: ...

    def size(self, key: str) -> int | None: ...

    def head(self, key: str) -> ObjectVersion | None: ...

    def read(self, key: str) -> bytes: ...

    def read_version(self, key: str, version: ObjectVersion) -> bytes:
        """The object's bytes if it still is `version` (ObjectChanged otherwise); never reads more than
        version.size + 1 bytes, so an object that grew is refused without being held in memory."""

    def write(self, key: str, data: bytes, content_type: str) -> None: ...

    def delete(self, key: str) -> None: ...

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under the prefix (a run's runs/<runId>/); answers how many there were."""


def get(app=None) -> Storage:
    """The configured backend; cheap to call, clients are cached per process."""
    app = app or current_app
    kind = app.config["SEECODES_STORAGE"]
    if kind == "s3":
        from .s3 import S3Storage  # boto3 is imported only where S3 is configured: local storage never pays it

        return S3Storage.from_config(app)
    if kind == "local":
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
    """Presigned POST forms per name, an optional extra beside the PUT URLs for clients that want S3 to enforce
    the size limit (the signed policy); None on local storage, whose PUT route bounds the size itself."""
    if not hasattr(store, "upload_form"):
        return None
    return {name: store.upload_form(key) for name, key in keys.items()}
