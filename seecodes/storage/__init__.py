"""Object storage: local files with app-signed URLs, or S3 through boto3."""
from typing import Protocol

from flask import current_app


class Storage(Protocol):
    """What runs need from a store; keys look like runs/<runId>/input/<name>."""

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
